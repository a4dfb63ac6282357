"""The kernel's one entry point (``handle``): refusals remembered with their reason and capped,
a fault of the logic refused for one input only, parks, the open-place index, cold tickets,
and the changelog record the shell writes."""

from __future__ import annotations

import zlib
from datetime import timedelta

import orjson
import pytest

from schemas.envelope import derive_id
from schemas.events import Location, TicketClaimed, TicketResolved, UpdateData
from schemas.policy import Policy, load_policy
from services.router.engine import Part
from services.router.kernel.handle import MAX_REFUSED, handle
from services.router.kernel.places import apply_changes
from services.router.kernel.repeats import Holder
from services.router.kernel.retention import CLOSED_RETENTION, is_cold, slim
from services.router.kernel.state import Ticket
from services.router.store import Entry
from tests.conftest import SMALL_POLICY
from tests.unit.test_router_core import WHEN, request


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(SMALL_POLICY)


def resolve(ticket_id: str, n: int) -> TicketResolved:
    return TicketResolved(
        id=derive_id(f"{ticket_id}:{n}", "resolve"),
        source="/dispatch/intake/x",
        time=WHEN + timedelta(minutes=n),
        subject=ticket_id,
        causationid="urn:t",
        correlationid="urn:t",
        data=UpdateData(ticket_id=ticket_id, actor="a"),
    )


def test_a_refused_input_is_refused_again_for_the_same_reason(policy: Policy) -> None:
    first = handle(None, request("城北新村南区5幢没有路灯"), policy, {})
    assert first.ticket is not None
    early = resolve(first.ticket.ticket_id, 1)
    refused = handle(first.ticket, early, policy, {})
    assert refused.refusal is not None and not refused.failed
    again = handle(refused.ticket, early, policy, {})
    assert again.refusal == refused.refusal
    assert again.ticket == refused.ticket


def test_a_ticket_remembers_only_its_latest_refusals(policy: Policy) -> None:
    ticket = handle(None, request("城北新村南区5幢没有路灯"), policy, {}).ticket
    for n in range(MAX_REFUSED + 5):
        assert ticket is not None
        ticket = handle(ticket, resolve(ticket.ticket_id, n), policy, {}).ticket
    assert ticket is not None and len(ticket.refused) == MAX_REFUSED


def test_a_fault_of_the_policy_refuses_that_input_with_the_error(policy: Policy) -> None:
    broken = policy.model_copy(
        update={"calendar": policy.calendar.model_copy(update={"hours": ()})}
    )
    outcome = handle(None, request("城北新村南区5幢没有路灯"), broken, {})
    assert outcome.failed and outcome.refusal is not None
    assert outcome.refusal.startswith("the router's logic failed on dispatch.request.received")


def test_an_update_before_its_request_is_parked(policy: Policy) -> None:
    claim = TicketClaimed(
        id="c-1",
        source="/dispatch/intake/x",
        time=WHEN,
        subject="T0000000000000",
        causationid="urn:t",
        correlationid="urn:t",
        data=UpdateData(ticket_id="T0000000000000", actor="a"),
    )
    assert handle(None, claim, policy, {}).parked


def test_a_new_ticket_takes_its_place_and_a_repeat_joins_it(policy: Policy) -> None:
    places: dict[str, str] = {}
    where = Location(address="城北新村南区5幢")
    first = handle(None, request("楼道灯坏了", location=where), policy, places)
    apply_changes(places, first.places)
    assert first.ticket is not None
    assert [Holder.parse(v).ticket_id for v in places.values()] == [first.ticket.ticket_id]
    repeat = handle(None, request("楼道灯坏了", external_id="X-2", location=where), policy, places)
    assert repeat.ticket is not None and repeat.ticket.merged_into == first.ticket.ticket_id
    assert repeat.places == ()


def test_a_closed_ticket_goes_cold_after_the_retention_and_keeps_what_reopen_needs(
    policy: Policy,
) -> None:
    ticket = handle(None, request("城北新村南区5幢没有路灯"), policy, {}).ticket
    assert ticket is not None
    closed = ticket.model_copy(update={"status": "closed", "closed_at": WHEN})
    assert not is_cold(closed, WHEN + CLOSED_RETENTION - timedelta(seconds=1))
    assert is_cold(closed, WHEN + CLOSED_RETENTION)
    assert CLOSED_RETENTION == policy.lifecycle.closed_retention == timedelta(days=7)
    shorter = policy.model_copy(
        update={"lifecycle": policy.lifecycle.model_copy(update={"closed_retention": timedelta(1)})}
    )  # a district that keeps less hot: its policy says so
    assert is_cold(closed, WHEN + timedelta(days=1), shorter.lifecycle.closed_retention)
    cold = slim(closed)
    assert (cold.status, cold.assignee, cold.attempt) == (
        closed.status,
        closed.assignee,
        closed.attempt,
    )


def test_a_changelog_record_round_trips_and_knows_when_its_outbox_is_unsent(
    policy: Policy,
) -> None:
    ticket = handle(None, request("城北新村南区5幢没有路灯"), policy, {}).ticket
    entry = Entry(ticket, [], [("p.dispatch.requests", 1, 41)], [("t", b"k", b'{"a":1}')])
    again = Entry.decode(entry.encode())
    assert again == entry
    assert again.unsent({("p.dispatch.requests", 1): 41})
    assert not again.unsent({("p.dispatch.requests", 1): 42})
    assert orjson.loads(entry.encode())["ticket"]["ticket_id"] == ticket.ticket_id  # type: ignore[union-attr]


def test_derived_ids_are_the_uuid5_of_cause_and_purpose() -> None:
    import uuid

    from schemas.envelope import ID_NAMESPACE

    for cause, purpose in (("a", "b"), ("事件-1", "assigned:2"), ("", "x" * 300)):
        assert derive_id(cause, purpose) == str(uuid.uuid5(ID_NAMESPACE, f"{cause}\x1f{purpose}"))


def test_a_partition_sweeps_closed_tickets_into_compressed_cold_storage_and_brings_them_back(
    policy: Policy,
) -> None:
    part = Part()
    for n, text in enumerate(("城北新村南区5幢没有路灯", "城北新村南区7幢楼梯灯不亮")):
        ticket = handle(None, request(text, external_id=f"X-cold-{n}"), policy, {}).ticket
        assert ticket is not None
        closed = ticket.model_copy(update={"status": "closed", "closed_at": WHEN})
        part.tickets[closed.ticket_id] = closed
    key = next(iter(part.tickets))
    part.sweep(WHEN + CLOSED_RETENTION, lambda _: CLOSED_RETENTION)
    assert part.tickets == {} and len(part.cold) == 2
    stored = part.cold[key]
    plain = slim(Ticket.model_validate_json(zlib.decompress(stored))).model_dump_json()
    assert len(stored) < len(plain)
    back = part.get(key)
    assert back is not None and back.ticket_id == key and back.status == "closed"
    assert key in part.tickets and key not in part.cold
