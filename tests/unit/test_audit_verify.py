"""``--verify``: a log the router's core wrote verifies clean; every tampering is named."""

from __future__ import annotations

import multiprocessing
import os
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import topics
from schemas.envelope import Decision, derive_id
from schemas.events import (
    Assignee,
    ClosedData,
    TicketClaimed,
    TicketClosed,
    TicketFeedback,
    TicketRejected,
    TicketReopened,
    TicketResolved,
    TicketWhistled,
    WhistleData,
)
from schemas.policy import load_policy
from services.audit import verify as verify_module
from services.audit.divergence import Divergence
from services.audit.groups import groups
from services.audit.log import AuditLog, Logged, Position
from services.audit.policies import policy_book
from services.audit.verify import GRACE, Verification, _Replay, verify
from services.intake.models import RequestIn, received_event
from services.router.kernel.emit import ROUTER_SOURCE
from tests.unit.test_audit_log import (
    PREFIX,
    T0,
    Recorder,
    decisions,
    plus,
    replaced,
    small_policy,
    without,
)


def lifecycle() -> tuple[Recorder, dict[str, str]]:
    """Tickets of every kind: closed, escalated on ticks, a repeat, a refusal, a whistle."""
    r = Recorder(small_policy())
    t = {
        "closed": r.request("城北新村南区7幢楼梯灯不亮", 0),
        "unclaimed": r.request("城北新村北区1幢楼道灯不亮", 0.01),
        "sewage": r.request("洋坊新村3号楼下水道堵塞了", 0.02),
        "whistled": r.request("府前9幢门口垃圾没人清运", 0.03),
    }
    r.update(t["closed"], TicketClaimed, 0.05)
    r.update(t["closed"], TicketResolved, 0.06)
    r.update(t["closed"], TicketFeedback, 0.07, satisfaction=5)
    t["refused"] = r.update(t["sewage"], TicketResolved, 0.08)  # before its claim
    r.update(t["sewage"], TicketClaimed, 0.09)
    r.update(t["sewage"], TicketRejected, 0.1)
    whistle = TicketWhistled(
        id=derive_id(t["whistled"], "whistle"),
        source="/dispatch/intake/grid-patrol",
        time=T0 + timedelta(seconds=7),
        subject=t["whistled"],
        causationid="urn:test",
        correlationid="urn:test",
        data=WhistleData(ticket_id=t["whistled"], actor="府前社区", department="DEP-CG"),
    )
    r.process(r.append(topics.UPDATES, whistle))
    rider = {"source": "volunteer", "volunteer_id": "WS-0231", "kind": "photo"}
    t["volunteered"] = r.request("城北新村南区6幢门口垃圾桶满了没人清运", 0.11, **rider)
    r.update(t["volunteered"], TicketClaimed, 0.12)
    r.update(t["volunteered"], TicketResolved, 0.13)
    r.update(t["volunteered"], TicketFeedback, 0.14, satisfaction=4)
    for n in range(1, 40):  # a tick every 3 s for two minutes
        r.tick(n * 0.05)
        if n == 5:
            t["repeat"] = r.request("城北新村北区1幢的楼道灯还是坏的,多次反映", 0.26)
    return r, t


def verdicts(found: Verification) -> tuple[object, ...]:
    """What a verification says, regardless of the order it found it in."""
    return (
        sorted(d.model_dump_json() for d in found.divergences),
        sorted(p.model_dump_json() for p in found.pending),
        (found.recorded, found.reproduced, found.refusals, found.last_tick),
    )


def run(log: AuditLog) -> Verification:
    """One replay of all tickets; replayed in groups by two and three processes too, which
    must say the same."""
    book = policy_book(log)
    found = verify(log, book, workers=1)
    replay = _Replay(log, book, GRACE)
    apart = len(groups(replay.cursors(), replay.recorded))
    for workers in (2, 3):
        grouped = verify(log, book, workers=workers)
        assert verdicts(grouped) == verdicts(found), workers
        assert grouped.processes == (min(workers, apart) if apart > 1 else 1)
    return found


def kinds(found: Verification) -> list[tuple[str, str | None]]:
    return [(d.kind, d.decision_id) for d in found.divergences]


def only(found: Verification) -> Divergence:
    assert len(found.divergences) == 1, found.divergences
    return found.divergences[0]


@pytest.fixture(scope="module")
def recorded() -> tuple[AuditLog, dict[str, str]]:
    recorder, tickets = lifecycle()
    return recorder.log(), tickets


def test_a_log_written_by_the_router_core_verifies_without_divergence(
    recorded: tuple[AuditLog, dict[str, str]],
) -> None:
    log, tickets = recorded
    found = run(log)
    assert found.divergences == []
    assert found.pending == []
    assert found.reproduced == found.recorded
    assert found.refusals == 1
    escalated = decisions(log, "dispatch.ticket.escalated", tickets["unclaimed"])
    reasons = [e.data.reason for e in escalated]
    assert "claim_overdue" in reasons and "repeat_report" in reasons
    [merged] = decisions(log, "dispatch.ticket.closed", tickets["repeat"])
    assert merged.data.merged_into == tickets["unclaimed"]
    [award] = [r.event for r in log.of(topics.POINTS)]
    assert award.subject == tickets["volunteered"]
    assert (award.data.volunteer_id, award.data.points) == ("WS-0231", 2)  # type: ignore[attr-defined]


def test_a_deleted_award_is_missing(recorded: tuple[AuditLog, dict[str, str]]) -> None:
    log, tickets = recorded
    [award] = [r.event for r in log.of(topics.POINTS)]
    found = only(run(without(log, award.id)))
    assert (found.kind, found.decision_id, found.ticket_id) == (
        "missing",
        award.id,
        tickets["volunteered"],
    )
    inflated = award.model_copy(update={"data": award.data.model_copy(update={"points": 50})})
    changed = only(run(replaced(log, award.id, inflated)))
    assert (changed.kind, changed.fields) == ("different", ["data.points"])


def test_a_tampered_decision_is_different_and_names_the_field(
    recorded: tuple[AuditLog, dict[str, str]],
) -> None:
    log, tickets = recorded
    [assigned] = decisions(log, "dispatch.ticket.assigned", tickets["closed"])
    forged_assignee = Assignee(id="MG-X", kind="microgrid_leader", name="别人")
    forged = assigned.model_copy(
        update={"data": assigned.data.model_copy(update={"assignee": forged_assignee})}
    )
    found = only(run(replaced(log, assigned.id, forged)))
    assert (found.kind, found.decision_id, found.ticket_id) == (
        "different",
        assigned.id,
        tickets["closed"],
    )
    assert found.fields == ["data.assignee.id", "data.assignee.name"]
    assert found.recorded["data"]["assignee"]["name"] == "别人"


def test_a_deleted_decision_is_missing(recorded: tuple[AuditLog, dict[str, str]]) -> None:
    log, tickets = recorded
    [closed] = decisions(log, "dispatch.ticket.closed", tickets["closed"])
    found = only(run(without(log, closed.id)))
    assert (found.kind, found.decision_id, found.type) == (
        "missing",
        closed.id,
        "dispatch.ticket.closed",
    )
    assert found.expected["data"]["satisfaction"] == 5


def test_an_injected_decision_is_extra(recorded: tuple[AuditLog, dict[str, str]]) -> None:
    log, tickets = recorded
    [assigned] = decisions(log, "dispatch.ticket.assigned", tickets["unclaimed"])
    injected = TicketClosed(
        id="forged-close-1",
        source=ROUTER_SOURCE,
        time=assigned.time + timedelta(seconds=1),
        subject=tickets["unclaimed"],
        causationid=assigned.causationid,
        correlationid=assigned.correlationid,
        policyversion=assigned.policyversion,
        ticketversion=1,
        data=ClosedData(ticket_id=tickets["unclaimed"], outcome="resolved", on_time=True),
    )
    found = only(run(plus(log, Logged(injected, Position(topics.DECISIONS, 0, 10_000)))))
    assert (found.kind, found.decision_id) == ("extra", "forged-close-1")


def test_the_last_escalation_deleted_is_missing_as_owed_by_the_clock(
    recorded: tuple[AuditLog, dict[str, str]],
) -> None:
    log, tickets = recorded
    escalated = decisions(log, "dispatch.ticket.escalated", tickets["unclaimed"])
    last = escalated[-1]
    assert last.data.reason == "claim_overdue"
    found = only(run(without(log, last.id)))
    assert (found.kind, found.decision_id) == ("missing", last.id)
    assert "ticked until" in found.detail


def test_an_escalation_with_a_forged_ticketversion_is_different(
    recorded: tuple[AuditLog, dict[str, str]],
) -> None:
    log, tickets = recorded
    last = decisions(log, "dispatch.ticket.escalated", tickets["unclaimed"])[-1]
    forged = last.model_copy(update={"ticketversion": last.ticketversion + 3})
    found = only(run(replaced(log, last.id, forged)))
    assert (found.kind, found.decision_id, found.fields) == (
        "different",
        last.id,
        ["ticketversion"],
    )


def test_a_merge_into_another_ticket_than_the_open_one_is_different(
    recorded: tuple[AuditLog, dict[str, str]],
) -> None:
    log, tickets = recorded
    [merged] = decisions(log, "dispatch.ticket.closed", tickets["repeat"])
    forged = merged.model_copy(
        update={"data": merged.data.model_copy(update={"merged_into": tickets["closed"]})}
    )
    found = only(run(replaced(log, merged.id, forged)))
    assert (found.kind, found.decision_id, found.fields) == (
        "different",
        merged.id,
        ["data.merged_into"],
    )


def test_a_refused_input_without_its_dead_letter_is_missing(
    recorded: tuple[AuditLog, dict[str, str]],
) -> None:
    log, tickets = recorded
    [letter] = [r.event for r in log.of(topics.DEADLETTER)]
    found = only(run(without(log, letter.id)))
    assert (found.kind, found.decision_id, found.type) == (
        "missing",
        letter.id,
        "dispatch.input.rejected",
    )
    assert tickets["refused"] in found.detail


def test_a_dead_letter_for_an_input_the_logic_accepts_is_extra(
    recorded: tuple[AuditLog, dict[str, str]],
) -> None:
    log, tickets = recorded
    [letter] = [r for r in log.of(topics.DEADLETTER)]
    claim = next(
        r
        for r in log.of(topics.UPDATES)
        if r.event.subject == tickets["closed"] and isinstance(r.event, TicketClaimed)
    )
    origin = letter.event.data.origin.model_copy(update={"offset": claim.at.offset})  # type: ignore[attr-defined]
    wrong = letter.event.model_copy(
        update={
            "id": "letter-2",
            "subject": tickets["closed"],
            "data": letter.event.data.model_copy(update={"origin": origin}),  # type: ignore[attr-defined]
        }
    )
    assert origin.partition == claim.at.partition
    found = only(run(plus(log, Logged(wrong, Position(topics.DEADLETTER, 0, 99)))))
    assert (found.kind, found.decision_id) == ("extra", "letter-2")


def test_an_identical_copy_of_a_decision_is_no_divergence_but_a_changed_copy_is(
    recorded: tuple[AuditLog, dict[str, str]],
) -> None:
    log, tickets = recorded
    [assigned] = decisions(log, "dispatch.ticket.assigned", tickets["sewage"])
    again = Logged(assigned, Position(topics.DECISIONS, 1, 50_000))
    assert run(plus(log, again)).divergences == []
    changed = assigned.model_copy(update={"ticketversion": 7})
    found = only(run(plus(log, Logged(changed, Position(topics.DECISIONS, 1, 50_001)))))
    assert (found.kind, found.decision_id, found.fields) == (
        "different",
        assigned.id,
        ["ticketversion"],
    )


def test_decisions_under_a_policy_missing_from_the_log_are_unverifiable(
    recorded: tuple[AuditLog, dict[str, str]],
) -> None:
    log, _ = recorded
    [policy] = [r.event for r in log.of(topics.POLICIES)]
    found = run(without(log, policy.id))
    assert {d.kind for d in found.divergences} == {"unverifiable"}
    assert all("not on dispatch.policies" in d.detail for d in found.divergences)


def test_inputs_newer_than_the_last_tick_are_pending_not_missing() -> None:
    recorder, _ = lifecycle()
    late = recorder.request("府前9幢楼道灯坏了", 10)  # long after the last tick
    log = recorder.log()
    undecided = [
        r for r in log.of(topics.DECISIONS) if r.event.subject == late
    ]  # the router has not got to it
    for r in undecided:
        log = without(log, r.event.id)
    found = run(log)
    assert found.divergences == []
    [pending] = found.pending
    assert pending.ticket_id == late and len(pending.awaiting) == 2


def test_a_decision_caused_by_nothing_in_the_log_is_extra(
    recorded: tuple[AuditLog, dict[str, str]],
) -> None:
    log, tickets = recorded
    [assigned] = decisions(log, "dispatch.ticket.assigned", tickets["closed"])
    orphan = assigned.model_copy(update={"id": "orphan-1", "causationid": "urn:nothing"})
    found = only(run(plus(log, Logged(orphan, Position(topics.DECISIONS, 0, 60_000)))))
    assert (found.kind, found.decision_id) == ("extra", "orphan-1")
    assert "urn:nothing" in found.detail


def test_a_log_cut_at_any_time_still_verifies(
    recorded: tuple[AuditLog, dict[str, str]],
) -> None:
    log, _ = recorded
    for seconds in (1, 5, 13, 40, 200):
        assert run(log.cut(T0 + timedelta(seconds=seconds))).divergences == [], seconds


def test_every_decision_type_is_checked(recorded: tuple[AuditLog, dict[str, str]]) -> None:
    log, _ = recorded
    types = {r.event.type for t in (topics.DECISIONS, topics.LINKS) for r in log.of(t)}
    assert types == {
        "dispatch.ticket.classified",
        "dispatch.ticket.assigned",
        "dispatch.ticket.escalated",
        "dispatch.ticket.closed",
        "dispatch.ticket.linked",
    }
    assert all(isinstance(r.event, Decision) for r in log.of(topics.DECISIONS))


def test_refused_updates_that_overtook_their_request_verify_by_the_requests_position() -> None:
    """The router dead-letters such refusals under its request's position (app.py unpark)."""
    r = Recorder(small_policy())
    body = RequestIn(external_id="OVERTAKE-2", description="府前9幢垃圾没人清运")
    request = received_event(body, "grid-patrol", T0 + timedelta(seconds=30))
    r.update(request.subject, TicketResolved, 0.1)  # parked, then refused: not claimed
    r.update(request.subject, TicketFeedback, 0.2, satisfaction=4)  # parked, then refused
    r.handle(r.append(topics.REQUESTS, request))
    r.tick(1)
    log = r.log()
    origins = {
        (e.data.origin.topic, e.data.origin.offset)  # type: ignore[attr-defined]
        for e in (x.event for x in log.of(topics.DEADLETTER))
    }
    assert origins == {(f"{PREFIX}{topics.REQUESTS}", 0)}
    found = run(log)
    assert found.divergences == []
    assert found.refusals == 2


def test_a_repeat_of_a_resolved_ticket_reopens_it_and_verifies() -> None:
    r = Recorder(small_policy())
    first = r.request("城北新村南区7幢楼梯灯不亮", 0)
    r.update(first, TicketClaimed, 0.02)
    r.update(first, TicketResolved, 0.03)
    again = r.request("城北新村南区7幢的楼梯灯还是不亮,多次反映", 0.05)
    r.update(first, TicketClaimed, 0.06)
    r.update(again, TicketReopened, 0.07)  # a merged ticket cannot be reopened: refused
    r.tick(0.5)
    log = r.log()
    reopened = decisions(log, "dispatch.ticket.assigned", first)
    assert [a.data.rule for a in reopened][-1] == "reopen:repeat_report"
    found = run(log)
    assert found.divergences == []
    assert found.refusals == 1


def test_the_same_request_again_under_another_event_id_counts_as_an_input() -> None:
    r = Recorder(small_policy())
    ticket = r.request("城北新村北区1幢楼道灯坏了", 0, external_id="SAME-1")
    first = next(x.event for x in r.records if x.event.subject == ticket)
    again = first.model_copy(update={"id": "again-1", "time": T0 + timedelta(seconds=2)})
    r.handle(r.append(topics.REQUESTS, again))
    r.update(ticket, TicketRejected, 0.05)
    found = run(r.log())
    assert found.divergences == []
    [moved] = decisions(r.log(), "dispatch.ticket.escalated", ticket)
    assert moved.ticketversion == 2


TEXTS = [
    "城北新村南区7幢楼梯灯不亮",
    "城北新村南区7幢的楼梯灯还是不亮,多次反映",
    "城北新村北区1幢楼道灯坏了",
    "洋坊新村下水道堵塞",
    "罗布社区邻居噪音扰民,邻里矛盾",
    "超市门口有人晕倒",
    "府前9幢停电了",
]
UPDATES = {
    "claim": TicketClaimed,
    "reject": TicketRejected,
    "resolve": TicketResolved,
    "feedback": TicketFeedback,
    "reopen": TicketReopened,
    "whistle": TicketWhistled,
}
ACTIONS = ["claim", "claim", "resolve", "resolve", "feedback", "reopen", "reject", "whistle"]


Step = tuple[float, str, int, int, float]
"""(when the router handles it, what, which request, satisfaction, its event time in s)"""


@st.composite
def histories(draw: st.DrawFn) -> tuple[list[Step], int]:
    """What the router saw, in the order it handled it: requests on other partitions out of
    the order of their times, ticks late (a lagging router), links a few inputs after the
    repeat that caused them."""
    requests = draw(st.lists(st.integers(0, 60), min_size=1, max_size=6))
    late = draw(st.lists(st.sampled_from([0, 0, 1, 3]), min_size=6, max_size=6))
    steps: list[Step] = [
        (s + late[n] + n / 1000, "request", n, 0, s + n / 1000) for n, s in enumerate(requests)
    ]
    for second, what, which, stars in draw(
        st.lists(
            st.tuples(
                st.integers(0, 400),
                st.sampled_from(ACTIONS),
                st.integers(0, 5),
                st.integers(1, 5),
            ),
            max_size=30,
        )
    ):
        steps.append((second + 0.5, what, which % len(requests), stars, second + 0.5))
    lag = draw(st.sampled_from([0, 0, 2, 7, 20]))
    ticks = draw(st.lists(st.integers(0, 700), max_size=40))
    steps += [(t + 0.25 + lag, "tick", 0, 0, t + 0.25) for t in ticks]
    steps.sort(key=lambda s: s[0])
    return steps, draw(st.sampled_from([0, 0, 1, 3]))


def record(history: list[Step], link_lag: int = 0) -> AuditLog:
    r = Recorder(small_policy(), link_lag=link_lag)
    tickets: list[str] = []
    for n, (handled, what, which, stars, second) in enumerate(history):
        r.now = T0 + timedelta(seconds=handled, microseconds=n)  # stamps what it writes
        minute = second / 60
        if what == "request":
            text = TEXTS[which % len(TEXTS)]
            tickets.append(r.request(text, minute, external_id=f"P-{which}"))
        elif what == "tick":
            r.tick(minute)
        elif which < len(tickets):
            if what == "whistle":
                event = TicketWhistled(
                    id=derive_id(f"{tickets[which]}:{second}", "whistle"),
                    source="/dispatch/intake/grid-patrol",
                    time=T0 + timedelta(seconds=second),
                    subject=tickets[which],
                    causationid="urn:test",
                    correlationid="urn:test",
                    data=WhistleData(ticket_id=tickets[which], actor="社区", department="DEP-CG"),
                )
                r.handle(r.append(topics.UPDATES, event))
            elif what == "feedback":
                r.update(tickets[which], TicketFeedback, minute, satisfaction=stars)
            else:
                r.update(tickets[which], UPDATES[what], minute)
    r.flush()
    r.tick(720 / 60)
    return r.log()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_any_history_the_router_core_wrote_verifies_without_divergence(
    history: tuple[list[Step], int],
) -> None:
    """Requests handled out of time order, lagging ticks, late links: the recorded record
    times and ticketversions place them."""
    log = record(*history)
    found = run(log)
    assert found.divergences == []
    assert found.reproduced == found.recorded
    assert found.refusals == len(log.of(topics.DEADLETTER))


def street_lights() -> tuple[AuditLog, list[str]]:
    """Street lights (a radius rule) reported along one road: each report 60 m north of the
    last, so that neighbours are repeats and the road's reports fall in neighbouring cells."""
    r = Recorder(load_policy(None))
    lights = [
        r.request("路灯不亮", n * 30, location={"lat": 26.4 + n * 0.00054, "lon": 117.779})
        for n in range(8)
    ]
    far = r.request("路灯不亮", 1, location={"lat": 26.5, "lon": 117.779})
    r.tick(8 * 30)  # the router's clock past every report: a decision not recorded is missing
    return r.log(), [*lights, far]


def test_tickets_that_can_meet_in_the_open_place_index_are_replayed_together() -> None:
    log, tickets = street_lights()
    replay = _Replay(log, policy_book(log), GRACE)
    together = groups(replay.cursors(), replay.recorded)
    [road] = [g for g in together if tickets[0] in g]
    assert set(tickets[:-1]) <= set(road)  # repeats, and reports whose cells touch
    assert [tickets[-1]] in together  # 11 km away: a group of its own
    found = run(log)
    assert found.divergences == [] and found.reproduced == found.recorded
    links = [r.event for r in log.of(topics.LINKS)]
    assert links  # the road's repeats were linked: the groups matter
    for link in links:  # a link lost is found by a replay in groups as by one of all
        cut = without(log, link.id)
        assert any(d.decision_id == link.id for d in run(cut).divergences)


def test_an_error_in_a_replay_process_is_raised_and_leaves_no_process(
    recorded: tuple[AuditLog, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    log, _ = recorded
    parent, replayed = os.getpid(), verify_module._part

    def failing(*args: Any) -> Any:
        if os.getpid() != parent:
            raise ValueError("a fault of the logic in a forked part")
        return replayed(*args)

    monkeypatch.setattr(verify_module, "_part", failing)
    with pytest.raises(ValueError, match="forked part"):
        verify(log, policy_book(log), workers=3)
    assert multiprocessing.active_children() == []
