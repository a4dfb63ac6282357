"""The small pure pieces of issue 13: a refused update in the intake's view, JSON depth, the
masking of a number cut by an ellipsis and of uvicorn's own logs, Standard Webhooks headers
as its library checks them, a channel's own secret, and the command's refusals."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook

from dispatch.cli import main
from schemas.codec import encode
from schemas.events import Origin, TicketResolved, UpdateData
from services.common.bus import rejected
from services.common.privacy import install_log_masking, mask_text
from services.intake.limits import MAX_JSON_DEPTH, json_depth, too_deep
from services.intake.views import MAX_PENDING_REFUSALS, apply, facts_of, view
from services.notifier.recipients import Target
from services.notifier.webhook import secret_for, standard_headers
from tests.unit.test_intake_views import T0, fold, lifecycle


def refusal_of(event: TicketResolved, reason: str):  # type: ignore[no-untyped-def]
    origin = Origin(transport="kafka", topic="dispatch.updates", partition=0, offset=7,
                    service="router")  # fmt: skip
    return rejected(encode(event), event.subject.encode(), reason, [], origin, event.time)


def early_resolve(ticket: str) -> TicketResolved:
    return TicketResolved(
        id="resolve-early",
        source="/dispatch/intake/handler",
        time=T0 + timedelta(minutes=5),
        subject=ticket,
        causationid="urn:x",
        correlationid="urn:x",
        data=UpdateData(ticket_id=ticket, actor="赖清香"),
    )


@pytest.mark.parametrize("refusal_first", [False, True])
def test_a_refused_update_stays_in_the_timeline_and_changes_nothing(refusal_first: bool) -> None:
    first, classified, assigned = lifecycle()[:3]
    resolve = early_resolve(first.subject)  # type: ignore[attr-defined]
    letter = refusal_of(resolve, "resolve is not allowed: it is assigned")
    events = [
        first,
        classified,
        assigned,
        *((letter, resolve) if refusal_first else (resolve, letter)),
    ]
    state = fold(events)
    shown = view(state)
    assert shown is not None and shown.status == "assigned"
    [entry] = [e for e in shown.timeline if e.id == "resolve-early"]
    assert entry.refused == "resolve is not allowed: it is assigned"
    assert entry.summary.endswith("(未生效)")
    facts = facts_of(state)
    assert facts is not None and facts.assignee == "MG-CB-01-01"
    assert apply(state, letter) == state  # the same refusal again changes nothing
    assert state.refusals == ()  # its update is seen: nothing left waiting for it


def test_refusals_waiting_for_their_update_are_bounded() -> None:
    first = lifecycle()[0]
    state = fold([first])
    for n in range(MAX_PENDING_REFUSALS + 10):
        update = early_resolve(first.subject).model_copy(update={"id": f"resolve-{n}"})  # type: ignore[attr-defined]
        state = apply(state, refusal_of(update, "resolve is not allowed"))
    assert len(state.refusals) == MAX_PENDING_REFUSALS
    assert state.refusals[-1][0] == f"resolve-{MAX_PENDING_REFUSALS + 9}"


def test_json_depth_is_measured_without_recursion() -> None:
    assert json_depth({"a": [1, {"b": []}]}) == 4 and json_depth(5) == 0
    assert too_deep(b"[" * 1000 + b"]" * 1000)
    assert too_deep(b"[" * 5000 + b"]" * 5000)  # past orjson's own limit too
    assert not too_deep(b'{"requests": [{"location": {"address": "x"}}]}')
    assert not too_deep(b"not json")  # left to the route's own 422
    assert MAX_JSON_DEPTH >= 4


def test_a_number_cut_by_a_summarys_ellipsis_is_masked() -> None:
    assert mask_text("请回电139 0598 …") == "请回电139 **** …"
    assert mask_text("联系１３９０５…") == "联系１３９**…"
    assert mask_text("共30户…") == "共30户…"


def test_uvicorns_error_logger_is_masked_though_it_does_not_propagate() -> None:
    logger = logging.getLogger("uvicorn.error")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    logger.propagate, before = False, logger.propagate
    try:
        install_log_masking()
        logger.error("bad request from +86 139 0598 1234, 身份证 %s", "350402198001011234")
    finally:
        logger.removeHandler(handler)
        logger.propagate = before
    text = stream.getvalue()
    assert "0598" not in text and "19800101" not in text and "139****1234" in text


def test_standard_webhooks_headers_verify_with_its_library() -> None:
    body = b'{"id":"e1","type":"dispatch.ticket.assigned"}'
    now = int(datetime.now(UTC).timestamp())
    headers = standard_headers(body, "plain-secret", "n-1", now)
    assert Webhook(b"plain-secret").verify(body, headers)["id"] == "e1"
    headers = standard_headers(body, "whsec_c2VjcmV0LWJ5dGVz", "n-1", now)
    assert Webhook("whsec_c2VjcmV0LWJ5dGVz").verify(body, headers)["id"] == "e1"


def test_a_channel_signs_with_its_own_secret_when_the_policy_names_one() -> None:
    own = Target("n", "assignee", "MG-1", "webhook", "http://x", secret_env="HOOK_MG_1")
    shared = Target("n", "assignee", "MG-2", "webhook", "http://y")
    env = {"HOOK_MG_1": "its-own"}
    assert secret_for(own, "default", env) == "its-own"
    assert secret_for(shared, "default", env) == "default"
    assert secret_for(own, "default", {}) == "default"


def test_the_intake_alone_refuses_to_start_on_demo_keys(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DISPATCH_SOURCE_KEYS", raising=False)
    assert main(["intake", "--bootstrap", "127.0.0.1:1"]) == 2
    assert "DISPATCH_SOURCE_KEYS" in capsys.readouterr().err


def test_dispatch_token_needs_a_secret_and_prints_a_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DISPATCH_TOKEN_SECRET", raising=False)
    assert main(["token", "--role", "operator"]) == 2
    monkeypatch.setenv("DISPATCH_TOKEN_SECRET", "x" * 40)
    assert main(["token", "--role", "handler"]) == 2  # a handler needs --unit
    capsys.readouterr()
    assert main(["token", "--role", "handler", "--unit", "MG-CB-01-01", "--ttl", "1h"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed.count(".") == 2
