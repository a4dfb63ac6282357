"""三率考核 and 每月一题 over a history built by hand: every figure of both reports, to the digit.

Two communities of the sample district (城北 CM-CB, 府前 CM-FQ) and a department (区水务局):
tickets claimed on time and late, feedback solved / unsolved / silent, satisfied or not, one
invalid ticket and one repeat report; the period is March 2026 (China time).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count
from pathlib import Path

import orjson
import pytest

from schemas.envelope import CloudEvent
from schemas.events import (
    AssignedData,
    Assignee,
    ClassifiedData,
    ClosedData,
    FeedbackData,
    RequestReceived,
    RequestReceivedData,
    TicketAssigned,
    TicketClaimed,
    TicketClassified,
    TicketClosed,
    TicketFeedback,
    Unit,
    UpdateData,
)
from schemas.policy import Policy, load_policy
from services.reports import Ledger, Period, PeriodError, assessment, hotspots
from services.reports.output import write_assessment, write_hotspots

MG_CB = Unit(id="MG-CB-01-01", level="microgrid", name="城北社区第1微网格")
MG_FQ = Unit(id="MG-FQ-01-01", level="microgrid", name="府前社区第1微网格")
SEWAGE = Assignee(id="DEP-SW", kind="department", name="区水务局")
NAMES = {"corridor_light": "楼道照明", "garbage": "垃圾清运", "sewage": "排水管网"}
MARCH = Period.parse("2026-03-01", "2026-03-31")
ids = count()


def at(day: str, hour: int = 9) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02d}:00:00+08:00")


def envelope(ticket: str, when: datetime, decision: bool = False) -> dict[str, object]:
    base: dict[str, object] = {
        "id": f"e-{next(ids)}",
        "source": "/test",
        "time": when,
        "subject": ticket,
        "causationid": "c",
        "correlationid": "c",
    }
    return {**base, "policyversion": "test", "ticketversion": 0} if decision else base


def received(ticket: str, when: datetime, category: str, unit: Unit) -> list[CloudEvent]:
    request = RequestReceived(
        **envelope(ticket, when),
        data=RequestReceivedData(
            ticket_id=ticket,
            source="hotline-12345",
            external_id=ticket,
            description="诉求",
            received_at=when,
        ),
    )
    classified = TicketClassified(
        **envelope(ticket, when, True),
        data=ClassifiedData(
            ticket_id=ticket,
            category=category,
            category_name=NAMES[category],
            tier="local",
            emergency=False,
            resolution="government",
            unit=unit,
            rule="test",
        ),
    )
    return [request, classified]


def assigned(ticket: str, when: datetime, to: Assignee) -> TicketAssigned:
    return TicketAssigned(
        **envelope(ticket, when, True),
        data=AssignedData(
            ticket_id=ticket,
            summary="诉求",
            tier="local",
            level="microgrid",
            assignee=to,
            claim_by=when + timedelta(hours=2),
            resolve_by=when + timedelta(days=3),
            attempt=1,
            rule="test",
        ),
    )


def leader(unit: Unit) -> Assignee:
    return Assignee(id=unit.id, kind="microgrid_leader", name=unit.name)


def claimed(ticket: str, when: datetime) -> TicketClaimed:
    return TicketClaimed(
        **envelope(ticket, when), data=UpdateData(ticket_id=ticket, actor="网格长")
    )


def feedback(ticket: str, when: datetime, satisfaction: int, solved: bool | None) -> TicketFeedback:
    data = FeedbackData(ticket_id=ticket, actor="回访员", satisfaction=satisfaction, solved=solved)
    return TicketFeedback(**envelope(ticket, when), data=data)


def closed(ticket: str, when: datetime, outcome: str) -> TicketClosed:
    data = ClosedData(
        ticket_id=ticket,
        outcome=outcome,  # type: ignore[arg-type]
        merged_into="A1" if outcome == "merged" else None,
        on_time=None,
    )
    return TicketClosed(**envelope(ticket, when, True), data=data)


def ticket(
    tid: str,
    day: str,
    category: str,
    unit: Unit,
    *,
    claim_after: float | None,
    feedbacks: tuple[tuple[int, bool | None], ...] = (),
    to: Assignee | None = None,
) -> list[CloudEvent]:
    t0 = at(day)
    events = [*received(tid, t0, category, unit), assigned(tid, t0, to or leader(unit))]
    if claim_after is not None:
        events.append(claimed(tid, t0 + timedelta(hours=claim_after)))
    for i, (satisfaction, solved) in enumerate(feedbacks):
        events.append(feedback(tid, t0 + timedelta(days=2, hours=i), satisfaction, solved))
    return events


def history() -> list[CloudEvent]:
    events = [
        # 城北: on time, solved and satisfied
        *ticket("A1", "2026-03-02", "corridor_light", MG_CB, claim_after=1, feedbacks=((5, True),)),
        # late; first feedback unsolved and unhappy, the latest solved and satisfied
        *ticket(
            "A2",
            "2026-03-03",
            "corridor_light",
            MG_CB,
            claim_after=3,
            feedbacks=((2, False), (4, True)),
        ),
        # on time, no feedback yet
        *ticket("A3", "2026-03-04", "garbage", MG_CB, claim_after=2),
        # on time; feedback satisfied but silent on solved: not counted as solved
        *ticket("A4", "2026-03-05", "garbage", MG_CB, claim_after=0.5, feedbacks=((4, None),)),
        # invalid (无效件): excluded from everything
        *ticket(
            "A5", "2026-03-06", "corridor_light", MG_CB, claim_after=1, feedbacks=((1, False),)
        ),
        closed("A5", at("2026-03-06", 12), "invalid"),
        # a repeat report merged into A1: no assignment of its own
        *received("A6", at("2026-03-07"), "corridor_light", MG_CB),
        closed("A6", at("2026-03-07"), "merged"),
        # 府前: late, solved but only 3 stars
        *ticket(
            "B1", "2026-03-02", "corridor_light", MG_FQ, claim_after=2.5, feedbacks=((3, True),)
        ),
        # never claimed; unsolved, unhappy
        *ticket(
            "B2", "2026-03-10", "corridor_light", MG_FQ, claim_after=None, feedbacks=((1, False),)
        ),
        # the previous period, and after the period
        *ticket("B3", "2026-02-20", "corridor_light", MG_FQ, claim_after=1),
        *ticket("B4", "2026-04-01", "corridor_light", MG_FQ, claim_after=1),
        # a department ticket located in 城北: in the district's total, in no community's row
        *ticket(
            "D1", "2026-03-08", "sewage", MG_CB, claim_after=1, feedbacks=((5, True),), to=SEWAGE
        ),
    ]
    return list(reversed(events))  # read out of order: the fold must not care


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(None)


def facts():  # type: ignore[no-untyped-def]
    return Ledger().extend(history()).facts()


def test_assessment_by_community_counts_every_figure(policy: Policy) -> None:
    report = assessment(facts(), MARCH, "community", policy)
    assert report["weights"] == {"response": 0.3, "resolution": 0.35, "satisfaction": 0.35}
    cb, fq = report["rows"]
    assert cb == {
        "unit_id": "CM-CB", "unit_name": "城北社区", "rank": 1,
        "received": 4, "adopted": 0, "responded": 3, "response_rate": 0.75,
        "with_feedback": 3, "solved": 2, "resolution_rate": 0.6667,
        "satisfied": 3, "satisfaction_rate": 1.0, "score": 80.83,
    }  # fmt: skip
    assert fq == {
        "unit_id": "CM-FQ", "unit_name": "府前社区", "rank": 2,
        "received": 2, "adopted": 0, "responded": 0, "response_rate": 0.0,
        "with_feedback": 2, "solved": 1, "resolution_rate": 0.5,
        "satisfied": 0, "satisfaction_rate": 0.0, "score": 17.5,
    }  # fmt: skip
    assert report["total"] == {
        "received": 7, "adopted": 0, "responded": 4, "response_rate": 0.5714,
        "with_feedback": 6, "solved": 4, "resolution_rate": 0.6667,
        "satisfied": 4, "satisfaction_rate": 0.6667, "score": 63.81,
    }  # fmt: skip
    assert report["excluded"] == {"invalid": 1, "not_in_any_unit": 1}
    assert any("按未解决计" in n and " 1 件" in n for n in report["notes"])


def test_assessment_trend_has_every_day_of_the_period(policy: Policy) -> None:
    trend = assessment(facts(), MARCH, "community", policy)["trend"]
    assert [t["bucket"] for t in trend][:3] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert len(trend) == 31
    second = trend[1]
    assert (second["received"], second["responded"], second["solved"]) == (2, 1, 2)
    assert sum(t["received"] for t in trend) == 7


def test_assessment_by_street_and_department(policy: Policy) -> None:
    street = assessment(facts(), MARCH, "street", policy)
    assert [(r["unit_id"], r["received"], r["score"]) for r in street["rows"]] == [
        ("ST-FG", 6, 57.0)
    ]
    department = assessment(facts(), MARCH, "department", policy)
    assert [(r["unit_name"], r["received"], r["score"], r["rank"]) for r in department["rows"]] == [
        ("区水务局", 1, 100.0, 1)
    ]
    assert department["excluded"] == {"invalid": 1, "not_in_any_unit": 6}


def test_hotspots_counts_change_and_repeats(policy: Policy) -> None:
    report = hotspots(facts(), MARCH, policy)
    rows = [
        (r["rank"], r["category"], r["place_id"], r["count"], r["previous"], r["change"],
         r["change_rate"], r["repeats"], r["repeat_share"], r["candidate"])
        for r in report["rows"]
    ]  # fmt: skip
    assert rows == [
        (1, "corridor_light", "CM-CB", 3, 0, 3, None, 1, 0.3333, True),
        (2, "corridor_light", "CM-FQ", 2, 1, 1, 1.0, 0, 0.0, False),
        (3, "garbage", "CM-CB", 2, 0, 2, None, 0, 0.0, False),
        (4, "sewage", "CM-CB", 1, 0, 1, None, 0, 0.0, False),
    ]
    assert report["rows"][0]["place_name"] == "城北社区"
    assert report["rows"][0]["street_name"] == "凤岗街道"
    assert (report["total"], report["previous_total"], report["repeats"]) == (8, 1, 1)
    assert report["invalid_excluded"] == 1
    assert report["previous_period"] == {"from": "2026-01-29", "to": "2026-02-28", "days": 31}
    top = report["trend"]["series"][0]
    assert (top["category"], top["place_id"], sum(top["counts"])) == ("corridor_light", "CM-CB", 3)


def test_reports_write_csv_json_and_html(policy: Policy, tmp_path: Path) -> None:
    written = write_assessment(assessment(facts(), MARCH, "community", policy), tmp_path)
    written += write_hotspots(hotspots(facts(), MARCH, policy), tmp_path)
    assert sorted(p.name for p in written) == sorted(
        f"{n}.{x}" for n in ("assessment", "hotspots") for x in ("csv", "json", "html")
    )
    lines = (tmp_path / "assessment.csv").read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("rank,unit_id,unit_name,received,adopted,responded,response_rate")
    assert lines[1] == "1,CM-CB,城北社区,4,0,3,0.75,3,2,0.6667,3,1.0,80.83"
    page = (tmp_path / "hotspots.html").read_text(encoding="utf-8")
    assert "每月一题" in page and "Chart.js v4" in page and "<script src" not in page


def test_a_period_must_be_two_dates_in_order() -> None:
    with pytest.raises(PeriodError):
        Period.parse("2026-03-31", "2026-03-01")
    with pytest.raises(PeriodError):
        Period.parse("March", "2026-03-01")
    assert Period.parse("2026-01-01", "2026-12-31").grain == "month"


def test_the_log_documents_fold_to_the_same_facts_as_the_events() -> None:
    from schemas.codec import encode

    events = history()
    from_json = Ledger()
    for event in events:
        from_json.add_json(orjson.loads(encode(event)))
    by_id = {t.ticket_id: t for t in from_json.facts()}
    assert by_id == {t.ticket_id: t for t in Ledger().extend(events).facts()}
    assert len(by_id) == 11
