"""The notifier alone on the real broker, with real local HTTP receivers for each channel:
signed webhooks, the SMS/WeCom text gateway, a receiver that recovers, one that is down for
good, and one that is slow. Decisions are written to ``dispatch.decisions`` as the router would.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from dispatch.broker import free_port
from dispatch.stack import Stack
from schemas.codec import HEADERS, encode
from schemas.envelope import derive_id
from schemas.events import (
    AssignedData,
    Assignee,
    ClassifiedData,
    EscalatedData,
    TicketAssigned,
    TicketClassified,
    TicketEscalated,
    TicketReminded,
    TicketReviewRequested,
    Unit,
    data_type,
)
from schemas.words import CHINA
from services.common.settings import Settings
from tests.conftest import SMALL_POLICY
from tests.kafka import Record, eventually, produce, read_until, with_type

SECRET = "notifier-test-secret"
TRIES = 4

DEP_CG = Assignee(id="DEP-CG", kind="department", name="区城市管理局")  # → fast webhook
DEP_SW = Assignee(id="DEP-SW", kind="department", name="区水务局")  # no channel
SMS_GRID = Assignee(id="MG-CB-01-01", kind="microgrid_leader", name="城北社区第1微网格·赖清香")
WECOM_GRID = Assignee(id="MG-FQ-01-05", kind="microgrid_leader", name="府前社区第5微网格·谭秀清")
FLAKY_GRID = Assignee(id="MG-CB-01-02", kind="microgrid_leader", name="城北社区第2微网格·网格长")
DEAD_GRID = Assignee(id="MG-LB-01-01", kind="microgrid_leader", name="罗布社区洋坊新村微网格")
SLOW_AREA = Assignee(id="AG-CB-01", kind="areagrid_leader", name="城北社区第1片区·网格员")
COMMUNITY = Assignee(id="CM-CB", kind="community", name="城北社区·城北社区书记")  # no channel


# ---------------------------------------------------------------- a real receiver


@dataclass
class Hit:
    headers: dict[str, str]
    body: bytes
    verified: bool  # the receiver checked X-Dispatch-Signature against the shared secret
    status: int | None = None  # None while the receiver still holds the request

    @property
    def document(self) -> dict[str, Any]:
        parsed: dict[str, Any] = orjson.loads(self.body)
        return parsed

    @property
    def ticket(self) -> str:
        doc = self.document
        return str(doc.get("subject") or doc.get("ticket_id"))


@dataclass
class Receiver:
    url: str = ""
    hits: list[Hit] = field(default_factory=list)
    script: list[int] = field(default_factory=list)  # statuses to answer first, then 200
    open: threading.Event = field(default_factory=threading.Event)  # cleared: hold requests

    def of(self, ticket: str) -> list[Hit]:
        return [hit for hit in list(self.hits) if hit.ticket == ticket]


@pytest.fixture(scope="module")
def receivers() -> Iterator[dict[str, Receiver]]:
    names = ("center", "gateway", "fast", "flaky", "slow")
    made: dict[str, Receiver] = {}
    servers = []
    for name in names:
        state = Receiver()
        state.open.set()
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            receiver = state
            guard = lock

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                given = self.headers.get("X-Dispatch-Signature", "")
                hit = Hit(dict(self.headers.items()), body, hmac.compare_digest(given, expected))
                with self.guard:
                    self.receiver.hits.append(hit)
                self.receiver.open.wait(60)
                with self.guard:
                    status = self.receiver.script.pop(0) if self.receiver.script else 200
                    hit.status = status
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        state.url = f"http://127.0.0.1:{server.server_address[1]}/{name}"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        made[name] = state
        servers.append(server)
    try:
        yield made
    finally:
        for state in made.values():
            state.open.set()
        for server in servers:
            server.shutdown()
            server.server_close()


def policy_with_channels(receivers: dict[str, Receiver], dead_url: str, path: Path) -> Path:
    """The small test district, its units' channels pointed at the receivers of this test."""
    doc = yaml.safe_load(SMALL_POLICY.read_text(encoding="utf-8"))
    units: dict[str, dict[str, Any]] = {}
    for street in doc["district"]["streets"]:
        for community in street["communities"]:
            for area in community["areagrids"]:
                units[area["id"]] = area["leader"]
                for micro in area["microgrids"]:
                    units[micro["id"]] = micro["leader"]
    departments = {dep["id"]: dep["handler"] for dep in doc["departments"]}
    departments["DEP-CG"]["channel"] = {"kind": "webhook", "address": receivers["fast"].url}
    units["MG-CB-01-02"]["channel"] = {"kind": "webhook", "address": receivers["flaky"].url}
    units["MG-LB-01-01"]["channel"] = {"kind": "webhook", "address": dead_url}
    units["AG-CB-01"]["channel"] = {"kind": "webhook", "address": receivers["slow"].url}
    root = doc["district"]["command_center"]  # reviews rejects and extensions
    root["channel"] = {"kind": "webhook", "address": receivers["fast"].url + "/root"}
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def notifier(
    kafka_bootstrap: str,
    receivers: dict[str, Receiver],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    state: Path = tmp_path_factory.mktemp("notifier")
    dead_url = f"http://127.0.0.1:{free_port()}/nobody-listens"
    settings = Settings(
        kafka_bootstrap=kafka_bootstrap,
        topic_prefix=f"t{uuid.uuid4().hex[:10]}.",
        state_dir=state,
        partitions=1,  # every decision on one partition: a held one must not hold the rest
        policy=policy_with_channels(receivers, dead_url, state / "policy.yaml"),
        notify_webhook=receivers["center"].url,
        webhook_secret=SECRET,
        text_gateway=receivers["gateway"].url,
        notify_tries=TRIES,
        notify_backoff_s=0.05,
        notify_backoff_max_s=0.2,
        notify_timeout_s=30.0,
        notify_rate_per_minute=600.0,
        notify_rate_burst=20,
        notify_commit_interval_s=0.2,
    )
    stack = Stack(settings, services=("notifier",))
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


# ---------------------------------------------------------------- decisions, as the router writes


def _envelope(ticket: str, purpose: str) -> dict[str, Any]:
    extra = {"ticketversion": 1} if "ticketversion" in TicketAssigned.model_fields else {}
    cause = f"request-{ticket}"
    return {
        "id": derive_id(cause, purpose),
        "source": "/dispatch/router",
        "time": datetime.now(CHINA),
        "subject": ticket,
        "causationid": cause,
        "correlationid": cause,
        "policyversion": "small-district@test",
        **extra,
    }


def assignment(assignee: Assignee, copied: list[Assignee] | None = None) -> TicketAssigned:
    ticket = f"T{uuid.uuid4().hex[:13].upper()}"
    now = datetime.now(CHINA)
    return TicketAssigned(
        **_envelope(ticket, "assigned:1"),
        data=AssignedData(
            ticket_id=ticket,
            summary="城北新村南区5幢缺路灯",
            tier="department",
            level="district",
            assignee=assignee,
            claim_by=now + timedelta(hours=4),
            resolve_by=now + timedelta(days=5),
            attempt=1,
            copied_to=copied or [],
            rule="assign:department",
        ),
    )


def whistle(assignee: Assignee) -> TicketEscalated:
    ticket = f"T{uuid.uuid4().hex[:13].upper()}"
    now = datetime.now(CHINA)
    return TicketEscalated(
        **_envelope(ticket, "escalated:whistle"),
        data=EscalatedData(
            ticket_id=ticket,
            summary="洋坊新村污水管堵塞",
            from_level="community",
            to_level="district",
            reason="whistle",
            assignee=assignee,
            claim_by=now + timedelta(minutes=30),
            resolve_by=now + timedelta(days=1),
            attempt=1,
        ),
    )


def classified(ticket: str) -> TicketClassified:
    return TicketClassified(
        **_envelope(ticket, "classified"),
        data=ClassifiedData(
            ticket_id=ticket,
            category="streetlight",
            category_name="路灯照明",
            tier="department",
            emergency=False,
            resolution="government",
            department="DEP-CG",
            unit=Unit(id="MG-CB-01-01", level="microgrid", name="城北社区第1微网格"),
            rule="category",
        ),
    )


def work_order(event_type: type[Any], purpose: str, **data: Any) -> Any:
    """A decision of the work order (催办, 待审核 …) for a new ticket."""
    ticket = f"T{uuid.uuid4().hex[:13].upper()}"
    fields = {"ticket_id": ticket, "summary": "城北新村南区5幢缺路灯", **data}
    return event_type(**_envelope(ticket, purpose), data=data_type(event_type)(**fields))


async def publish(
    stack: Stack,
    decision: TicketAssigned | TicketEscalated | TicketClassified | TicketReminded,
) -> None:
    topic = f"{stack.settings.topic_prefix}dispatch.decisions"
    await produce(stack.bootstrap, topic, encode(decision), decision.subject.encode(), HEADERS)


def outcomes(records: list[Record], kind: str, ticket: str) -> dict[str, dict[str, Any]]:
    """``dispatch.notification.<kind>`` data of ``ticket``, by recipient."""
    found: dict[str, dict[str, Any]] = {}
    for record in with_type(records, f"dispatch.notification.{kind}", ticket):
        data = orjson.loads(record.value)["data"]
        found[data["recipient"]] = data
    return found


async def notifications(stack: Stack, ticket: str, recipients: set[str]) -> list[Record]:
    """Every notification record, once each of ``recipients`` of ``ticket`` has an outcome."""

    def done(records: list[Record]) -> bool:
        seen = set(outcomes(records, "sent", ticket)) | set(outcomes(records, "failed", ticket))
        return recipients <= seen

    topic = f"{stack.settings.topic_prefix}dispatch.notifications"
    return await read_until(stack.bootstrap, topic, done, timeout=60)


# ---------------------------------------------------------------- behaviour


async def test_signed_cloudevent_reaches_the_unit_webhook_and_the_command_center(
    notifier: Stack, receivers: dict[str, Receiver]
) -> None:
    decision = assignment(DEP_CG)
    await publish(notifier, decision)
    records = await notifications(notifier, decision.subject, {"DEP-CG", "command-center-webhook"})

    for name in ("fast", "center"):
        [hit] = receivers[name].of(decision.subject)
        assert hit.verified, f"{name}: signature does not verify"
        assert hit.headers["content-type"] == "application/cloudevents+json"
        assert hit.document["id"] == decision.id
        assert hit.document["type"] == "dispatch.ticket.assigned"
        assert hit.headers["Idempotency-Key"]
    sent = outcomes(records, "sent", decision.subject)
    assert sent["DEP-CG"]["attempts"] == sent["command-center-webhook"]["attempts"] == 1
    assert sent["DEP-CG"]["channel"] == "webhook"


async def test_classification_is_not_notified_the_assignment_is(
    notifier: Stack, receivers: dict[str, Receiver]
) -> None:
    decision = assignment(DEP_SW)  # no channel: the command center's webhook, and the log
    await publish(notifier, classified(decision.subject))  # same ticket: read before it
    await publish(notifier, decision)
    records = await notifications(notifier, decision.subject, {"command-center-webhook", "DEP-SW"})

    types = [hit.document["type"] for hit in receivers["center"].of(decision.subject)]
    assert types == ["dispatch.ticket.assigned"]
    sent = outcomes(records, "sent", decision.subject)
    assert set(sent) == {"command-center-webhook", "DEP-SW"}
    assert sent["DEP-SW"]["channel"] == "log"


async def test_sms_and_wecom_texts_reach_the_gateway_and_units_without_channel_are_logged(
    notifier: Stack, receivers: dict[str, Receiver]
) -> None:
    decision = assignment(SMS_GRID, copied=[WECOM_GRID, COMMUNITY])
    await publish(notifier, decision)
    records = await notifications(
        notifier,
        decision.subject,
        {SMS_GRID.id, WECOM_GRID.id, COMMUNITY.id, "command-center-webhook"},
    )

    texts = {hit.document["channel"]: hit for hit in receivers["gateway"].of(decision.subject)}
    assert set(texts) == {"sms", "wecom"}
    sms, wecom = texts["sms"].document, texts["wecom"].document
    assert sms["to"] == "13905981234"
    assert sms["text"].startswith("【派单】城北新村南区5幢缺路灯(中事·城北社区第1微网格),请于")
    assert wecom["to"] == "fuqian-mg05"
    assert wecom["text"].startswith("【抄送】城北新村南区5幢缺路灯(中事·已派城北社区第1微网格)")
    assert all(hit.verified for hit in texts.values())
    assert texts["sms"].headers["Idempotency-Key"] == sms["id"]
    recorded = outcomes(records, "sent", decision.subject)
    assert recorded[COMMUNITY.id]["channel"] == "log"  # no channel: recorded, never nothing
    assert {recorded[g.id]["channel"] for g in (SMS_GRID, WECOM_GRID)} == {"sms", "wecom"}
    assert not outcomes(records, "failed", decision.subject)


async def test_receiver_failing_several_times_then_recovering_gets_it_once(
    notifier: Stack, receivers: dict[str, Receiver]
) -> None:
    flaky = receivers["flaky"]
    flaky.script[:] = [503, 500, 503]
    decision = assignment(FLAKY_GRID)
    await publish(notifier, decision)
    records = await notifications(notifier, decision.subject, {FLAKY_GRID.id})

    statuses = [hit.status for hit in flaky.of(decision.subject)]
    assert statuses == [503, 500, 503, 200]
    assert outcomes(records, "sent", decision.subject)[FLAKY_GRID.id]["attempts"] == 4
    assert FLAKY_GRID.id not in outcomes(records, "failed", decision.subject)


async def test_receiver_down_for_good_fails_and_dead_letters_while_others_are_served(
    notifier: Stack, receivers: dict[str, Receiver]
) -> None:
    decision = whistle(DEAD_GRID)
    await publish(notifier, decision)
    records = await notifications(
        notifier, decision.subject, {DEAD_GRID.id, "command-center-webhook"}
    )

    failed = outcomes(records, "failed", decision.subject)[DEAD_GRID.id]
    assert failed["attempts"] == TRIES
    assert failed["error"]
    assert "command-center-webhook" in outcomes(records, "sent", decision.subject)
    assert [hit.status for hit in receivers["center"].of(decision.subject)] == [200]

    def dead_lettered(rs: list[Record]) -> bool:
        return bool(with_type(rs, "dispatch.input.rejected", decision.subject))

    topic = f"{notifier.settings.topic_prefix}dispatch.deadletter"
    letters = with_type(
        await read_until(notifier.bootstrap, topic, dead_lettered),
        "dispatch.input.rejected",
        decision.subject,
    )
    [letter] = [orjson.loads(r.value)["data"] for r in letters]
    assert base64.b64decode(letter["original"]) == encode(decision)
    assert DEAD_GRID.id in letter["reason"]
    assert letter["origin"]["service"] == "notifier"


async def test_slow_receiver_does_not_delay_another_receivers_notifications(
    notifier: Stack, receivers: dict[str, Receiver]
) -> None:
    slow = receivers["slow"]
    slow.open.clear()
    try:
        held = assignment(SLOW_AREA)
        await publish(notifier, held)

        async def arrived() -> bool:
            return bool(slow.of(held.subject))

        await eventually(arrived, "the slow receiver has the first notification")
        later = assignment(DEP_CG)
        await publish(notifier, later)
        records = await notifications(notifier, later.subject, {"DEP-CG", "command-center-webhook"})
        assert [hit.status for hit in slow.of(held.subject)] == [None]  # still held
        assert not outcomes(records, "sent", held.subject).get(SLOW_AREA.id)
        assert [hit.status for hit in receivers["fast"].of(later.subject)] == [200]
    finally:
        slow.open.set()
    records = await notifications(notifier, held.subject, {SLOW_AREA.id})
    assert outcomes(records, "sent", held.subject)[SLOW_AREA.id]["attempts"] == 1


async def test_a_reminder_reaches_the_assignee_and_a_review_the_command_center(
    notifier: Stack, receivers: dict[str, Receiver]
) -> None:
    due = datetime.now(CHINA) + timedelta(hours=1)
    reminded = work_order(
        TicketReminded, "reminded", assignee=SMS_GRID, reason="claim_due", due=due
    )
    await publish(notifier, reminded)
    await notifications(notifier, reminded.subject, {SMS_GRID.id, "command-center-webhook"})
    [text] = receivers["gateway"].of(reminded.subject)
    assert text.document["to"] == "13905981234"
    assert text.document["text"].startswith("【催办】城北新村南区5幢缺路灯,签收时限将到,请于")

    asked = work_order(
        TicketReviewRequested, "review_requested", request="e-1", kind="extend",
        resolve_by=due + timedelta(days=2), requested_by=SMS_GRID,
    )  # fmt: skip
    await publish(notifier, asked)
    records = await notifications(notifier, asked.subject, {"D-SX", "command-center-webhook"})
    [root] = receivers["fast"].of(asked.subject)  # the district's command center
    assert root.verified and root.document["type"] == "dispatch.ticket.review_requested"
    assert set(outcomes(records, "sent", asked.subject)) == {"D-SX", "command-center-webhook"}
