"""The 12345 work order on the broker, through the intake's HTTP and the router: 退单审核,
延期, 改派, reclassify, 无效件, merge and split, 催办, 回访 not solved, 补充; each action's happy
path and its refusals (a 4xx at the door, or the router's dead letter shown in the timeline)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from dispatch.stack import Stack
from tests.kafka import settled
from tests.stacks import assigned, bearer, handler, operator, running

GRID = bearer("demo-grid-patrol")
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def stack(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with running(kafka_bootstrap, tmp_path_factory.mktemp("work-order"), ("intake", "router")) as s:
        yield s


def submit(stack: Stack, description: str) -> str:
    body = {"external_id": f"wo-{uuid.uuid4().hex[:10]}", "description": description}
    response = httpx.post(f"{stack.intake_url}/v1/requests", json=body, headers=GRID)
    assert response.status_code == 202, response.text
    ticket: str = response.json()["ticket_id"]
    assigned(stack, ticket)
    return ticket


def shown(stack: Stack, ticket: str) -> dict[str, Any]:
    response = httpx.get(f"{stack.intake_url}/v1/tickets/{ticket}", headers=operator(stack))
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def post(stack: Stack, ticket: str, body: dict[str, Any], who: dict[str, str]) -> httpx.Response:
    return httpx.post(
        f"{stack.intake_url}/v1/tickets/{ticket}/updates",
        json={"actor": "值班长", **body},
        headers=who,
    )


def accepted(stack: Stack, ticket: str, body: dict[str, Any], who: dict[str, str]) -> str:
    response = post(stack, ticket, body, who)
    assert response.status_code == 202, response.text
    event: str = response.json()["event_id"]
    return event


def by_handler(stack: Stack, ticket: str) -> dict[str, str]:
    return handler(stack, shown(stack, ticket)["assignee"]["id"], "赖清香")


def until(
    stack: Stack, ticket: str, holds: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    last: list[dict[str, Any]] = []

    def check() -> dict[str, Any] | None:
        last[:] = [shown(stack, ticket)]
        return last[0] if holds(last[0]) else None

    return settled(check, lambda: f"{what}: {last[0]['timeline'] if last else ''}", 30.0)


def has(kind: str) -> Callable[[dict[str, Any]], bool]:
    return lambda t: any(e["type"] == kind for e in t["timeline"])


def refused(event_id: str) -> Callable[[dict[str, Any]], bool]:
    return lambda t: any(e["id"] == event_id and e.get("refused") for e in t["timeline"])


def entry(ticket: dict[str, Any], event_id: str) -> dict[str, Any]:
    return next(e for e in ticket["timeline"] if e["id"] == event_id)


def field_errors(response: httpx.Response) -> list[str]:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    return [e["pointer"] for e in response.json()["errors"]]


def reject(stack: Stack, ticket: str) -> str:
    body = {"action": "reject", "reason_code": "not_our_duty", "note": "不属于本网格职责"}
    rejected = accepted(stack, ticket, body, by_handler(stack, ticket))
    until(stack, ticket, lambda t: bool(t["pending"]), "the reject awaits review")
    return rejected


# ---------------------------------------------------------------- 退单审核


def test_a_reject_waits_for_review_and_an_approval_moves_it_up(stack: Stack) -> None:
    ticket = submit(stack, "城北新村南区5幢楼道灯坏了,晚上看不见")
    before = shown(stack, ticket)
    rejected = reject(stack, ticket)
    waiting = shown(stack, ticket)
    assert waiting["pending"] == [
        {
            "request": rejected,
            "kind": "reject",
            "at": waiting["pending"][0]["at"],
            "reason_code": "not_our_duty",
            "resolve_by": None,
        }
    ]
    assert waiting["assignee"] == before["assignee"]  # nothing moved before the review
    assert waiting["status"] == "assigned"
    approve = {"action": "approve", "request": rejected}
    approval = accepted(stack, ticket, approve, operator(stack))
    moved = until(stack, ticket, has("dispatch.ticket.escalated"), "the approved reject moved")
    assert moved["pending"] == []
    assert moved["assignee"]["id"] != before["assignee"]["id"]
    assert entry(moved, approval)["by"] == "operator:值班长"
    assert any(e["type"] == "dispatch.ticket.reviewed" for e in moved["timeline"])


def test_a_refused_reject_stays_with_the_handler_and_its_clock_never_stopped(
    stack: Stack,
) -> None:
    ticket = submit(stack, "城北新村南区6幢门口路灯不亮")
    before = shown(stack, ticket)
    rejected = reject(stack, ticket)
    accepted(stack, ticket, {"action": "refuse", "request": rejected}, operator(stack))
    after = until(stack, ticket, has("dispatch.ticket.reviewed"), "the reject judged")
    assert after["pending"] == []
    assert after["assignee"] == before["assignee"]
    assert (after["claim_by"], after["resolve_by"]) == (before["claim_by"], before["resolve_by"])


def test_an_approve_of_a_reject_can_name_where_it_goes(stack: Stack) -> None:
    ticket = submit(stack, "城北新村南区7幢楼道灯不亮")
    assert shown(stack, ticket)["assignee"]["id"] != "DEP-CG"
    rejected = reject(stack, ticket)
    body = {"action": "approve", "request": rejected, "to": "DEP-CG"}
    accepted(stack, ticket, body, operator(stack))
    moved = until(stack, ticket, has("dispatch.ticket.escalated"), "sent to the department")
    assert moved["assignee"]["id"] == "DEP-CG"


def test_a_reject_needs_a_reason_of_the_policy(stack: Stack) -> None:
    ticket = submit(stack, "城北新村南区8幢楼道灯不亮")
    mine = by_handler(stack, ticket)
    assert field_errors(post(stack, ticket, {"action": "reject"}, mine)) == ["#/reason_code"]
    unknown = {"action": "reject", "reason_code": "too_busy"}
    assert field_errors(post(stack, ticket, unknown, mine)) == ["#/reason_code"]


def test_approving_or_refusing_nothing_pending_is_a_422(stack: Stack) -> None:
    ticket = submit(stack, "城北新村北区1幢楼道灯不亮")
    for action in ("approve", "refuse"):
        body = {"action": action, "request": str(uuid.uuid4())}
        assert field_errors(post(stack, ticket, body, operator(stack))) == ["#/request"]
    assert field_errors(post(stack, ticket, {"action": "approve"}, operator(stack))) == [
        "#/request"
    ]


def test_only_an_operator_judges_a_review(stack: Stack) -> None:
    ticket = submit(stack, "城北新村北区2幢楼道灯不亮")
    rejected = reject(stack, ticket)
    response = post(stack, ticket, {"action": "approve", "request": rejected}, GRID)
    assert response.status_code == 403
    mine = by_handler(stack, ticket)
    assert post(stack, ticket, {"action": "approve", "request": rejected}, mine).status_code == 403


# ---------------------------------------------------------------- 延期


def iso(moment: datetime) -> str:
    return moment.isoformat()


def deadline(ticket: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(ticket["resolve_by"])


def test_an_approved_extension_changes_the_deadline(stack: Stack) -> None:
    ticket = submit(stack, "城北新村北区3幢楼道灯不亮")
    before = deadline(shown(stack, ticket))
    wanted = before + timedelta(days=3)
    body = {"action": "extend", "resolve_by": iso(wanted), "note": "需采购灯具"}
    asked = accepted(stack, ticket, body, by_handler(stack, ticket))
    waiting = until(stack, ticket, lambda t: bool(t["pending"]), "the extension awaits review")
    assert [(p["kind"], p["request"]) for p in waiting["pending"]] == [("extend", asked)]
    assert deadline(waiting) == before  # not in force until approved
    accepted(stack, ticket, {"action": "approve", "request": asked}, operator(stack))
    changed = until(stack, ticket, has("dispatch.ticket.deadline_changed"), "deadline changed")
    assert deadline(changed) == wanted
    assert changed["pending"] == []


def test_an_extension_past_the_policys_limit_is_refused_by_the_router(stack: Stack) -> None:
    ticket = submit(stack, "城北新村北区4幢楼道灯不亮")
    too_far = deadline(shown(stack, ticket)) + timedelta(days=8)  # the policy allows 7
    body = {"action": "extend", "resolve_by": iso(too_far)}
    asked = accepted(stack, ticket, body, by_handler(stack, ticket))
    after = until(stack, ticket, refused(asked), "the extension refused")
    assert "limit" in entry(after, asked)["refused"]
    assert after["pending"] == []
    earlier = {"action": "extend", "resolve_by": iso(deadline(after) - timedelta(hours=1))}
    sooner = accepted(stack, ticket, earlier, by_handler(stack, ticket))
    assert "not later" in entry(until(stack, ticket, refused(sooner), "refused"), sooner)["refused"]


def test_an_extension_needs_a_wanted_time_and_only_the_handler_asks(stack: Stack) -> None:
    ticket = submit(stack, "城北新村北区5幢楼道灯不亮")
    assert field_errors(post(stack, ticket, {"action": "extend"}, by_handler(stack, ticket))) == [
        "#/resolve_by"
    ]
    later = iso(deadline(shown(stack, ticket)) + timedelta(days=1))
    response = post(stack, ticket, {"action": "extend", "resolve_by": later}, operator(stack))
    assert response.status_code == 403


# ---------------------------------------------------------------- 改派, reclassify, 无效件


def test_reassign_gives_it_to_the_named_unit_with_new_deadlines(stack: Stack) -> None:
    ticket = submit(stack, "城北新村北区6幢楼道灯不亮")
    assert shown(stack, ticket)["assignee"]["id"] != "DEP-CG"
    moved = accepted(stack, ticket, {"action": "reassign", "to": "DEP-CG"}, operator(stack))
    after = until(stack, ticket, lambda t: t["assignee"]["id"] == "DEP-CG", "reassigned")
    assert "改派" in entry(after, moved)["summary"]
    last = [e for e in after["timeline"] if e["type"] == "dispatch.ticket.assigned"][-1]
    assert last["summary"].startswith("改派:")


def test_reassign_to_an_unknown_unit_or_by_a_handler_is_refused(stack: Stack) -> None:
    ticket = submit(stack, "城北新村北区7幢楼道灯不亮")
    body = {"action": "reassign", "to": "NOWHERE-1"}
    assert field_errors(post(stack, ticket, body, operator(stack))) == ["#/to"]
    good = {"action": "reassign", "to": "DEP-CG"}
    assert post(stack, ticket, good, by_handler(stack, ticket)).status_code == 403


def test_reclassify_classifies_again_and_assigns_under_the_new_tier(stack: Stack) -> None:
    ticket = submit(stack, "城北新村北区8幢楼道灯不亮")
    assert shown(stack, ticket)["tier"] != "city"
    accepted(stack, ticket, {"action": "reclassify", "tier": "city"}, operator(stack))
    after = until(stack, ticket, lambda t: t["tier"] == "city", "reclassified")
    assert after["level"] == "district"
    kinds = [e["type"] for e in after["timeline"]]
    assert kinds.count("dispatch.ticket.classified") == 2
    assert field_errors(
        post(stack, ticket, {"action": "reclassify", "category": "nope"}, operator(stack))
    ) == ["#/category"]
    assert field_errors(post(stack, ticket, {"action": "reclassify"}, operator(stack))) == [
        "#/tier"
    ]


def test_invalidate_closes_it_as_invalid(stack: Stack) -> None:
    ticket = submit(stack, "城北新村北区9幢楼道灯不亮")
    body = {"action": "invalidate", "reason_code": "nonsense"}
    assert field_errors(post(stack, ticket, body, operator(stack))) == ["#/reason_code"]
    accepted(stack, ticket, {"action": "invalidate", "reason_code": "no_content"}, operator(stack))
    after = until(stack, ticket, lambda t: t["status"] == "closed", "closed as invalid")
    closed = [e for e in after["timeline"] if e["type"] == "dispatch.ticket.closed"][-1]
    assert (closed["outcome"], closed["reason_code"]) == ("invalid", "no_content")


# ---------------------------------------------------------------- merge and split


def test_a_merge_closes_it_into_another_and_a_split_undoes_it(stack: Stack) -> None:
    first = submit(stack, "翠竹小区3幢门口路灯坏了")
    second = submit(stack, "洋坊新村3幢楼道灯坏了")
    accepted(stack, second, {"action": "merge", "into": first}, operator(stack))
    merged = until(stack, second, lambda t: t["status"] == "closed", "merged")
    closed = [e for e in merged["timeline"] if e["type"] == "dispatch.ticket.closed"][-1]
    assert (closed["outcome"], closed["into"]) == ("merged", first)
    until(stack, first, has("dispatch.ticket.linked"), "the link on the ticket merged into")
    accepted(stack, second, {"action": "split"}, operator(stack))
    split = until(stack, second, lambda t: t["status"] == "assigned", "split off again")
    assert split["assignee"] is not None
    assert shown(stack, first)["status"] == "assigned"  # its own life goes on


def test_merge_into_itself_or_no_ticket_and_split_of_an_unmerged_one_are_refused(
    stack: Stack,
) -> None:
    ticket = submit(stack, "府前9幢门口路灯坏了一排")
    me = operator(stack)
    assert field_errors(post(stack, ticket, {"action": "merge", "into": ticket}, me)) == ["#/into"]
    assert field_errors(post(stack, ticket, {"action": "merge", "into": "T-NONE"}, me)) == [
        "#/into"
    ]
    split = accepted(stack, ticket, {"action": "split"}, me)
    after = until(stack, ticket, refused(split), "the split refused")
    assert "merged" in entry(after, split)["refused"]


# ---------------------------------------------------------------- 催办, 回访, 补充


def test_remind_tells_the_assignee_again(stack: Stack) -> None:
    ticket = submit(stack, "罗布社区路灯不亮了好几天")
    accepted(stack, ticket, {"action": "remind", "note": "请尽快处理"}, operator(stack))
    after = until(stack, ticket, has("dispatch.ticket.reminded"), "reminded")
    reminded = [e for e in after["timeline"] if e["type"] == "dispatch.ticket.reminded"][-1]
    assert reminded["summary"].startswith("催办:")
    assert post(stack, ticket, {"action": "remind"}, GRID).status_code == 403


def test_feedback_not_solved_sends_it_back_to_the_handler(stack: Stack) -> None:
    ticket = submit(stack, "城西社区幸福路路灯不亮")
    mine = by_handler(stack, ticket)
    unit = shown(stack, ticket)["assignee"]["id"]
    accepted(stack, ticket, {"action": "claim"}, mine)
    accepted(stack, ticket, {"action": "resolve"}, mine)
    until(stack, ticket, lambda t: t["status"] == "resolved", "resolved")
    body = {"action": "feedback", "satisfaction": 4, "solved": False, "contacted": True}
    accepted(stack, ticket, body, GRID)
    again = until(stack, ticket, lambda t: t["status"] == "assigned", "back to the handler")
    assert again["assignee"]["id"] == unit
    last = [e for e in again["timeline"] if e["type"] == "dispatch.ticket.assigned"][-1]
    assert last["summary"].startswith("重新办理:")


def test_a_supplement_is_on_the_timeline_and_the_assignee_is_told(stack: Stack) -> None:
    ticket = submit(stack, "城西社区健康路路灯不亮")
    body = {"action": "supplement", "note": "晚上7点后最暗,电话13905981234"}
    added = accepted(stack, ticket, body, GRID)
    after = until(stack, ticket, has("dispatch.ticket.supplement_noticed"), "noticed")
    assert "13905981234" not in entry(after, added)["note"]
    assert field_errors(post(stack, ticket, {"action": "supplement"}, GRID)) == ["#/note"]


# ---------------------------------------------------------------- the audit


def test_the_audit_reproduces_every_decision_of_this_history(stack: Stack, tmp_path: Path) -> None:
    """Last in the module: every action above, as the router decided it, replayed by the
    auditor's ``--verify`` with no divergence."""
    env = {
        **os.environ,
        "DISPATCH_TOPIC_PREFIX": stack.settings.topic_prefix,
        "DISPATCH_KAFKA_BOOTSTRAP": stack.bootstrap,
    }
    out = tmp_path / "audit"
    done = subprocess.run(
        [sys.executable, "-m", "dispatch", "audit", "replay", "--verify", "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=170,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["divergences"] == []
    lines = (out / "tickets.jsonl").read_text(encoding="utf-8").splitlines()
    kinds = {e["type"] for t in map(json.loads, lines) for e in t["events"]}
    assert {"review_requested", "reviewed", "deadline_changed", "reminded"} <= kinds, kinds
