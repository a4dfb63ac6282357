"""The work order in the kernel and under the audit: 退单审核, 延期 and its limits, 改派,
reclassify, 无效件, merge and split, 催办 (an operator's and the router's own), 回访 not solved,
补充. A history using every action verifies with no divergence; a forged deadline change and a
reminder deleted are named."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from schemas import topics
from schemas.envelope import CloudEvent
from schemas.events import (
    TicketApproved,
    TicketClaimed,
    TicketDeadlineChanged,
    TicketExtensionRequested,
    TicketFeedback,
    TicketInvalidated,
    TicketMerged,
    TicketReassigned,
    TicketReclassified,
    TicketRefused,
    TicketRejected,
    TicketReminded,
    TicketRemindRequested,
    TicketResolved,
    TicketSplit,
    TicketSupplemented,
)
from schemas.policy import Policy, load_policy
from services.audit.log import AuditLog, Logged
from services.audit.policies import policy_book
from services.audit.verify import verify
from services.router.kernel.escalation import next_check, reminder_due
from tests.conftest import SMALL_POLICY
from tests.unit.test_audit_log import SCALE, T0, Recorder, decisions, plus, replaced, without

WORK_ORDER = """
lifecycle:
  reject_review: true
  extensions: 1
  extend_at_most: PT1H
  remind_at: 0.75
"""


@pytest.fixture(scope="module")
def policy(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    path = tmp_path_factory.mktemp("policy") / "work-order.yaml"
    path.write_text(SMALL_POLICY.read_text(encoding="utf-8") + WORK_ORDER, encoding="utf-8")
    return load_policy(path, SCALE)


def seconds(minute: float) -> datetime:
    return T0 + timedelta(seconds=minute * 60)


def refusal(r: Recorder, event_id: str) -> str | None:
    for ticket in r.tickets.values():
        found = ticket.refusal_of(event_id)
        if found is not None:
            return found
    return None


def test_a_reject_under_review_moves_only_when_approved(policy: Policy) -> None:
    r = Recorder(policy)
    ticket = r.request("城北新村南区7幢楼梯灯不亮", 0)
    holder = r.tickets[ticket].assignee
    asked = r.update(ticket, TicketRejected, 0.01, reason_code="not_our_area")
    waiting = r.tickets[ticket]
    assert [(p.kind, p.request) for p in waiting.pending] == [("reject", asked)]
    assert waiting.assignee == holder and waiting.rejects == 0
    again = r.update(ticket, TicketRejected, 0.011, reason_code="not_our_area")
    assert "awaiting review already" in (refusal(r, again) or "")
    r.update(ticket, TicketApproved, 0.02, request=asked)
    moved = r.tickets[ticket]
    assert moved.assignee != holder and moved.rejects == 1 and moved.pending == ()
    nothing = r.update(ticket, TicketRefused, 0.03, request=asked)
    assert "no pending request" in (refusal(r, nothing) or "")


def test_a_refused_reject_keeps_the_handler_and_the_deadlines(policy: Policy) -> None:
    r = Recorder(policy)
    ticket = r.request("城北新村南区7幢楼梯灯不亮", 0)
    before = r.tickets[ticket]
    asked = r.update(ticket, TicketRejected, 0.01, reason_code="not_our_duty")
    r.update(ticket, TicketRefused, 0.02, request=asked)
    after = r.tickets[ticket]
    assert (after.assignee, after.claim_by, after.resolve_by, after.pending) == (
        before.assignee,
        before.claim_by,
        before.resolve_by,
        (),
    )
    unknown = r.update(ticket, TicketRejected, 0.03, reason_code="too_busy")
    assert "no reject reason 'too_busy'" in (refusal(r, unknown) or "")


def test_extensions_are_limited_in_number_and_in_reach(policy: Policy) -> None:
    r = Recorder(policy)
    ticket = r.request("城北新村南区7幢楼梯灯不亮", 0)
    deadline = r.tickets[ticket].resolve_by
    assert deadline is not None
    too_far = r.update(
        ticket, TicketExtensionRequested, 0.01, resolve_by=deadline + timedelta(hours=2)
    )
    assert "past the policy's limit" in (refusal(r, too_far) or "")
    wanted = deadline + timedelta(minutes=30)
    asked = r.update(ticket, TicketExtensionRequested, 0.02, resolve_by=wanted)
    r.update(ticket, TicketApproved, 0.03, request=asked)
    [changed] = decisions(r.log(), "dispatch.ticket.deadline_changed", ticket)
    assert isinstance(changed, TicketDeadlineChanged)
    assert (changed.data.previous_resolve_by, changed.data.resolve_by) == (deadline, wanted)
    assert r.tickets[ticket].resolve_by == wanted == r.tickets[ticket].promised_by
    second = r.update(
        ticket, TicketExtensionRequested, 0.04, resolve_by=wanted + timedelta(minutes=5)
    )
    assert "allows 1" in (refusal(r, second) or "")


def test_the_router_reminds_once_per_window_before_the_deadline(policy: Policy) -> None:
    r = Recorder(policy)
    ticket = r.request("城北新村南区7幢楼梯灯不亮", 0)
    opened = r.tickets[ticket]
    reminder = reminder_due(opened, policy)
    assert reminder is not None and opened.claim_by is not None
    reason, at = reminder
    assert reason == "claim_due"
    assert at == T0 + (opened.claim_by - T0) * 0.75
    assert next_check(opened, policy) == at
    for n in range(1, 12):  # ticks up to the claim limit, twice past the reminder
        r.tick(n * 0.01)
        if seconds(n * 0.01) >= opened.claim_by:
            break
    reminded = decisions(r.log(), "dispatch.ticket.reminded", ticket)
    assert len(reminded) == 1
    assert isinstance(reminded[0], TicketReminded)
    assert (reminded[0].data.reason, reminded[0].data.due) == ("claim_due", opened.claim_by)
    assert reminded[0].time >= at


def history(policy: Policy) -> tuple[AuditLog, dict[str, str]]:
    """Every action of the work order, refusals among them, and ticks through the reminders
    and the escalations they precede."""
    r = Recorder(policy)
    t = {
        "approved": r.request("城北新村南区7幢楼梯灯不亮", 0),
        "refused": r.request("城北新村北区1幢楼道灯不亮", 0.001),
        "extended": r.request("洋坊新村3号楼下水道堵塞了", 0.002),
        "reassigned": r.request("府前9幢门口垃圾没人清运", 0.003),
        "reclassified": r.request("城北新村南区5幢楼道灯坏了", 0.004),
        "invalid": r.request("城北新村南区6幢楼道灯坏了", 0.005),
        "kept": r.request("翠竹小区3幢门口路灯坏了", 0.006),
        "merged": r.request("洋坊新村2号楼楼道灯坏了", 0.007),
        "unsolved": r.request("府前9幢门口路灯坏了一排", 0.008),
    }
    asked = r.update(t["approved"], TicketRejected, 0.01, reason_code="not_our_area")
    r.update(t["approved"], TicketApproved, 0.011, request=asked)
    asked = r.update(t["refused"], TicketRejected, 0.012, reason_code="not_our_duty")
    r.update(t["refused"], TicketRefused, 0.013, request=asked)
    deadline = r.tickets[t["extended"]].resolve_by
    assert deadline is not None
    asked = r.update(
        t["extended"], TicketExtensionRequested, 0.014, resolve_by=deadline + timedelta(minutes=9)
    )
    r.update(t["extended"], TicketApproved, 0.015, request=asked)
    r.update(t["reassigned"], TicketReassigned, 0.016, to="DEP-SW")
    r.update(t["reassigned"], TicketRemindRequested, 0.017)
    r.update(t["reclassified"], TicketReclassified, 0.018, tier="city")
    r.update(t["invalid"], TicketInvalidated, 0.019, reason_code="no_content")
    r.update(t["merged"], TicketMerged, 0.02, into=t["kept"])
    r.flush()
    r.update(t["merged"], TicketSplit, 0.021)
    r.update(t["unsolved"], TicketClaimed, 0.022)
    r.update(t["unsolved"], TicketResolved, 0.023)
    r.update(t["unsolved"], TicketFeedback, 0.024, satisfaction=4, solved=False, contacted=True)
    r.update(t["unsolved"], TicketSupplemented, 0.025, note="晚上最暗")
    t["refusal"] = r.update(t["kept"], TicketApproved, 0.026, request="nothing-pending")
    for n in range(1, 30):  # a tick every 1.2 s for 35 s: reminders, then escalations
        r.tick(n * 0.02)
    r.flush()
    return r.log(), t


@pytest.fixture(scope="module")
def recorded(policy: Policy) -> tuple[AuditLog, dict[str, str]]:
    return history(policy)


def test_a_history_of_every_action_verifies_without_divergence(
    recorded: tuple[AuditLog, dict[str, str]],
) -> None:
    log, tickets = recorded
    found = verify(log, policy_book(log))
    assert found.divergences == []
    assert found.reproduced == found.recorded
    assert found.refusals == 1
    types = {r.event.type for topic in (topics.DECISIONS, topics.LINKS) for r in log.of(topic)}
    assert types >= {
        "dispatch.ticket.review_requested",
        "dispatch.ticket.reviewed",
        "dispatch.ticket.deadline_changed",
        "dispatch.ticket.reminded",
        "dispatch.ticket.supplement_noticed",
        "dispatch.ticket.escalated",
        "dispatch.ticket.linked",
    }
    reasons = {
        r.event.data.reason for r in log.of(topics.DECISIONS) if isinstance(r.event, TicketReminded)
    }
    assert reasons == {"remind", "claim_due"}
    [invalid] = decisions(log, "dispatch.ticket.closed", tickets["invalid"])
    assert invalid.data.outcome == "invalid"  # type: ignore[attr-defined]
    split = decisions(log, "dispatch.ticket.assigned", tickets["merged"])
    assert [a.data.reason for a in split] == [None, "split"]  # type: ignore[attr-defined]


def forge(event: CloudEvent, **data: object) -> CloudEvent:
    return event.model_copy(update={"data": event.data.model_copy(update=data)})  # type: ignore[attr-defined]


def test_a_forged_deadline_change_is_caught(recorded: tuple[AuditLog, dict[str, str]]) -> None:
    log, tickets = recorded
    [changed] = decisions(log, "dispatch.ticket.deadline_changed", tickets["extended"])
    assert isinstance(changed, TicketDeadlineChanged)
    later = forge(changed, resolve_by=changed.data.resolve_by + timedelta(days=30))
    [found] = verify(replaced(log, changed.id, later), policy_book(log)).divergences
    assert (found.kind, found.decision_id, found.fields) == (
        "different",
        changed.id,
        ["data.resolve_by"],
    )
    # A deadline change nobody asked for, on a ticket that never applied for one:
    invented = changed.model_copy(update={"id": "forged-1", "subject": tickets["kept"]})
    at = next(r.at for r in log.of(topics.DECISIONS) if r.event.id == changed.id)
    [extra] = verify(plus(log, Logged(invented, at)), policy_book(log)).divergences
    assert (extra.kind, extra.decision_id) == ("extra", "forged-1")


def test_a_deleted_reminder_is_missing(recorded: tuple[AuditLog, dict[str, str]]) -> None:
    log, _ = recorded
    reminded = next(
        r.event
        for r in log.of(topics.DECISIONS)
        if isinstance(r.event, TicketReminded) and r.event.data.reason == "claim_due"
    )
    [found] = verify(without(log, reminded.id), policy_book(log)).divergences
    assert (found.kind, found.decision_id) == ("missing", reminded.id)


def test_the_sample_district_reviews_every_reject() -> None:
    sample = load_policy(None)
    assert sample.lifecycle.reject_review is True
    assert sample.lifecycle.remind_at == 0.75
    assert "not_our_area" in sample.lifecycle.reject_reasons
