"""吹哨报到 decided by the pure kernel: a community whistles in a department or one of its
part-time committee members (兼职委员), who must report in within the policy's limit."""

from __future__ import annotations

from datetime import datetime, timedelta

import orjson
import pytest

from schemas.codec import encode
from schemas.envelope import CloudEvent, derive_id
from schemas.events import (
    ClockTicked,
    Principal,
    RequestReceived,
    TicketClaimed,
    TicketEscalated,
    TicketReminded,
    TicketReportedIn,
    TicketResolved,
    TicketSummoned,
    TicketWhistled,
    UpdateData,
    WhistleData,
)
from schemas.policy import Policy, load_policy
from schemas.words import CHINA
from services.intake.models import RequestIn, received_event
from services.intake.views import TicketState, apply, facts_of, view
from services.reports import Ledger, Period, assessment
from services.router.kernel.assign import command_center
from services.router.kernel.core import TransitionError, decide, step
from services.router.kernel.escalation import next_check, reminder_due
from services.router.kernel.state import Ticket
from tests.conftest import SMALL_POLICY
from tests.unit.ticks import tick as clock_tick

T0 = datetime(2026, 2, 10, 9, 0, tzinfo=CHINA)  # a Tuesday, in working hours


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(SMALL_POLICY)


def received(text: str, n: int = 0) -> RequestReceived:
    return received_event(RequestIn(external_id=f"W-{n}", description=text), "grid-patrol", T0)


def opened(
    policy: Policy, text: str = "城北新村南区7幢电梯困人,物业电话打不通", n: int = 0
) -> Ticket:
    ticket, _ = step(None, received(text, n), policy)
    assert ticket is not None and ticket.assignee is not None
    return ticket


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def common(ticket: Ticket, name: str, minutes: int) -> dict[str, object]:
    return {
        "id": derive_id(f"{ticket.ticket_id}:{name}:{minutes}", "update"),
        "source": "/dispatch/intake/handler",
        "time": at(minutes),
        "subject": ticket.ticket_id,
        "causationid": f"urn:test:{name}:{minutes}",
        "correlationid": ticket.correlationid,
    }


def whistle(
    ticket: Ticket, minutes: int, *, member: str | None = None, department: str | None = None
) -> TicketWhistled:
    data = WhistleData(
        ticket_id=ticket.ticket_id,
        actor="城北社区书记",
        principal=Principal(kind="handler", name="书记", unit="CM-CB"),
        member=member,
        department=department,
    )
    return TicketWhistled(**common(ticket, f"whistle:{member or department}", minutes), data=data)  # type: ignore[arg-type]


def report_in(ticket: Ticket, minutes: int, unit: str) -> TicketReportedIn:
    data = UpdateData(
        ticket_id=ticket.ticket_id,
        actor="物业项目经理",
        principal=Principal(kind="handler", name="经理", unit=unit),
    )
    return TicketReportedIn(**common(ticket, f"report:{unit}", minutes), data=data)  # type: ignore[arg-type]


def claim(ticket: Ticket, minutes: int) -> TicketClaimed:
    data = UpdateData(ticket_id=ticket.ticket_id, actor="赖清香")
    return TicketClaimed(**common(ticket, "claim", minutes), data=data)  # type: ignore[arg-type]


def tick(minutes: float) -> ClockTicked:
    return clock_tick(T0 + timedelta(minutes=minutes))


def run(policy: Policy, ticket: Ticket, event: CloudEvent) -> tuple[Ticket, list[object]]:
    after, decisions = step(ticket, event, policy)
    assert after is not None
    return after, list(decisions)


def claimed(policy: Policy) -> Ticket:
    ticket = opened(policy)
    assert ticket.assignee is not None and ticket.assignee.id == "MG-CB-01-01"
    ticket, _ = run(policy, ticket, claim(ticket, 5))
    return ticket


def test_a_member_is_summoned_with_a_report_deadline_and_the_ticket_stays_put(
    policy: Policy,
) -> None:
    ticket = claimed(policy)
    after, [summoned] = run(policy, ticket, whistle(ticket, 10, member="JZ-CB-01"))
    assert isinstance(summoned, TicketSummoned)
    assert summoned.data.member.id == "JZ-CB-01" and summoned.data.member.kind == "member"
    assert summoned.data.community == "CM-CB"
    assert summoned.data.report_by == at(10 + 30)
    assert after.assignee == ticket.assignee and after.status == "claimed"
    assert next_check(after, policy) is not None and next_check(after, policy) <= at(40)


def test_a_member_who_reports_in_in_time_stops_the_whistle(policy: Policy) -> None:
    ticket = claimed(policy)
    ticket, _ = run(policy, ticket, whistle(ticket, 10, member="JZ-CB-01"))
    ticket, out = run(policy, ticket, report_in(ticket, 25, "JZ-CB-01"))
    assert out == [] and ticket.summons == ()
    _, late = run(policy, ticket, tick(41))
    assert not [d for d in late if isinstance(d, TicketEscalated)]
    with pytest.raises(TransitionError, match="no whistle to answer"):
        decide(ticket, report_in(ticket, 30, "JZ-CB-01"), policy)  # reported in already


def test_a_whistle_nobody_answers_goes_a_level_up_once(policy: Policy) -> None:
    ticket = claimed(policy)
    ticket, [_] = run(policy, ticket, whistle(ticket, 10, member="JZ-CB-01"))
    quiet, out = run(policy, ticket, tick(39))
    assert out == []
    after, [up] = run(policy, quiet, tick(41))
    assert isinstance(up, TicketEscalated)
    assert up.data.reason == "whistle"
    assert up.data.assignee.id == "AG-CB-01"  # the micro-grid's area grid
    assert after.summons == ()
    # another tick noticing the same lapse decides the same id; after it, nothing more
    _, [again] = run(policy, quiet, tick(50))
    assert again.id == up.id
    _, later = run(policy, after, tick(45))
    assert not [d for d in later if isinstance(d, TicketEscalated)]


def test_only_the_holding_communitys_members_may_be_whistled_and_only_once(
    policy: Policy,
) -> None:
    ticket = claimed(policy)
    with pytest.raises(TransitionError, match="JZ-CB-01, JZ-CB-02"):
        decide(ticket, whistle(ticket, 10, member="JZ-FQ-01"), policy)  # 府前's member
    ticket, _ = run(policy, ticket, whistle(ticket, 10, member="JZ-CB-01"))
    with pytest.raises(TransitionError, match="whistled in already"):
        decide(ticket, whistle(ticket, 12, member="JZ-CB-01"), policy)
    ticket, [second] = run(policy, ticket, whistle(ticket, 12, member="JZ-CB-02"))
    assert isinstance(second, TicketSummoned)
    assert {s.member for s in ticket.summons} == {"JZ-CB-01", "JZ-CB-02"}


def test_only_who_was_whistled_in_may_report_in(policy: Policy) -> None:
    ticket = claimed(policy)
    ticket, _ = run(policy, ticket, whistle(ticket, 10, member="JZ-CB-01"))
    for unit in ("JZ-CB-02", "MG-CB-01-01", "DEP-CG"):
        with pytest.raises(TransitionError, match="no whistle to answer"):
            decide(ticket, report_in(ticket, 20, unit), policy)


def test_a_department_whistled_in_reports_in_as_its_claim(policy: Policy) -> None:
    ticket = claimed(policy)
    ticket, [called] = run(policy, ticket, whistle(ticket, 10, department="DEP-CG"))
    assert isinstance(called, TicketEscalated) and called.data.assignee.id == "DEP-CG"
    assert ticket.status == "assigned"
    ticket, out = run(policy, ticket, report_in(ticket, 20, "DEP-CG"))
    assert out == [] and ticket.status == "claimed"
    _, late = run(policy, ticket, tick(45))  # past the report limit: reported, so nothing
    assert not [d for d in late if isinstance(d, TicketEscalated)]


def test_a_resolved_ticket_forgets_its_summons(policy: Policy) -> None:
    ticket = claimed(policy)
    ticket, _ = run(policy, ticket, whistle(ticket, 10, member="JZ-CB-01"))
    resolved = TicketResolved(
        **common(ticket, "resolve", 20),  # type: ignore[arg-type]
        data=UpdateData(ticket_id=ticket.ticket_id, actor="赖清香"),
    )
    ticket, _ = run(policy, ticket, resolved)
    assert ticket.summons == ()
    _, late = run(policy, ticket, tick(45))
    assert not [d for d in late if isinstance(d, TicketEscalated)]


def test_the_view_shows_who_was_whistled_in_and_a_departments_report_as_its_claim(
    policy: Policy,
) -> None:
    first = received("城北新村南区7幢电梯困人,物业电话打不通", 7)
    ticket, decided = step(None, first, policy)
    assert ticket is not None
    events: list[CloudEvent] = [first, *decided]
    for event in (
        claim(ticket, 5),
        whistle(ticket, 10, member="JZ-CB-01"),
        report_in(ticket, 20, "JZ-CB-01"),
        whistle(ticket, 25, department="DEP-CG"),
        report_in(ticket, 30, "DEP-CG"),
    ):
        ticket, out = step(ticket, event, policy)
        assert ticket is not None
        events += [event, *out]
    state = TicketState(ticket_id=ticket.ticket_id)
    for event in events:
        state = apply(state, event)
    shown = view(state)
    assert shown is not None and shown.status == "claimed"
    assert shown.assignee is not None and shown.assignee.id == "DEP-CG"
    summoned = [e for e in shown.timeline if e.type == "dispatch.ticket.summoned"]
    assert [e.member for e in summoned] == ["JZ-CB-01"]
    assert "兼职委员" in summoned[0].summary and "09:40前报到" in summoned[0].summary
    reported = [e.member for e in shown.timeline if e.type == "dispatch.ticket.reported_in"]
    assert reported == ["JZ-CB-01", "DEP-CG"]
    facts = facts_of(state)
    assert facts is not None and set(facts.whistled) == {"JZ-CB-01", "DEP-CG"}


def test_the_assessment_by_member_counts_each_whistle_and_its_report_in_time(
    policy: Policy,
) -> None:
    events: list[CloudEvent] = []
    for n, reports in ((11, True), (12, False)):
        first = received("城北新村南区7幢楼道堆满杂物,物业不清理", n)
        ticket, out = step(None, first, policy)
        assert ticket is not None
        events += [first, *out]
        steps: list[CloudEvent] = [claim(ticket, 5), whistle(ticket, 10, member="JZ-CB-01")]
        if reports:
            steps.append(report_in(ticket, 20, "JZ-CB-01"))
        for event in steps:
            ticket, out = step(ticket, event, policy)
            assert ticket is not None
            events += [event, *out]
    period = Period.parse("2026-02-10", "2026-02-10")
    facts = Ledger().extend(events).facts()
    from_json = Ledger()
    for event in events:
        from_json.add_json(orjson.loads(encode(event)))
    assert from_json.facts() == facts  # the log's documents fold to the same facts
    report = assessment(facts, period, "member", policy)
    [row] = report["rows"]
    assert row["unit_id"] == "JZ-CB-01" and "物业" in row["unit_name"]
    assert (row["received"], row["responded"], row["response_rate"]) == (2, 1, 0.5)
    assert report["total"]["received"] == 2


@pytest.fixture(scope="module")
def reminding(tmp_path_factory: pytest.TempPathFactory) -> Policy:
    """The small policy, with reminders at 75 % of each window."""
    path = tmp_path_factory.mktemp("policy") / "reminding.yaml"
    text = SMALL_POLICY.read_text(encoding="utf-8") + "\nlifecycle:\n  remind_at: 0.75\n"
    path.write_text(text, encoding="utf-8")
    return load_policy(path)


def test_a_whistle_that_lapses_at_the_top_does_not_silence_the_reminders_to_come(
    reminding: Policy,
) -> None:
    """At the command center nobody is above: the lapse decides nothing, and the ticket's next
    check is the reminder still to come, not the lapsed report time (a check in the past is
    never looked at again, so the reminder would never be sent)."""
    ticket = claimed(reminding)
    ticket, [_] = run(reminding, ticket, whistle(ticket, 10, member="JZ-CB-01"))
    top = command_center(reminding)
    ticket = ticket.model_copy(update={"assignee": top.assignee, "level": top.level})
    after, out = run(reminding, ticket, tick(41))
    assert out == [] and after.summons  # nobody to escalate to: the summons stands
    reminder = reminder_due(after, reminding)
    assert reminder is not None and reminder[1] > at(41)
    assert next_check(after, reminding) == reminder[1]
    _, [sent] = run(reminding, after, clock_tick(reminder[1]))
    assert isinstance(sent, TicketReminded)
