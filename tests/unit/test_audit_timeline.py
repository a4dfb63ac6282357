"""Timelines, deadline compliance and the report, folded from a log the router core wrote."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from schemas import topics
from schemas.events import TicketClaimed, TicketFeedback, TicketInvalidated, TicketResolved
from services.audit.app import UntilError, parse_until, summary
from services.audit.log import AuditLog, build
from services.audit.policies import policy_book
from services.audit.report import audit
from services.audit.sla import sla_rows
from services.audit.timeline import timelines
from services.intake.models import RequestIn, received_event
from tests.unit.test_audit_log import CHINA, T0, Recorder, small_policy
from tests.unit.test_audit_verify import lifecycle


@pytest.fixture(scope="module")
def history() -> tuple[AuditLog, dict[str, str]]:
    recorder, tickets = lifecycle()
    tickets["phoned"] = recorder.request("罗布社区张大爷家门口路灯坏了,电话13905981234", 2.1)
    orphan = "T0000000000000"
    recorder.update(orphan, TicketClaimed, 2.2)  # its request never came
    tickets["orphan"] = orphan
    return recorder.log(), tickets


@pytest.fixture(scope="module")
def lines(history: tuple[AuditLog, dict[str, str]]) -> dict[str, dict[str, Any]]:
    log, _ = history
    return {t["ticket_id"]: t for t in timelines(log, policy_book(log), log.latest())}


def test_a_closed_ticket_has_its_whole_life_in_order(
    lines: dict[str, dict[str, Any]], history: tuple[AuditLog, dict[str, str]]
) -> None:
    line = lines[history[1]["closed"]]
    assert [e["type"] for e in line["events"]] == [
        "received",
        "classified",
        "assigned",
        "claimed",
        "resolved",
        "feedback",
        "closed",
    ]
    assert (line["status"], line["status_name"]) == ("closed", "已关闭")
    assert (line["tier"], line["tier_name"], line["community"]) == ("local", "小事", "城北社区")
    assert line["first_level"] == "microgrid"
    assert line["on_time"] is True and line["claimed_on_time"] is True
    assert line["satisfaction"] == 5
    assert line["closed_at"] > line["resolved_at"] > line["claimed_at"]
    assert line["events"][3]["actor"] == "赖清香 139****1234"


def test_a_refused_update_stays_in_the_timeline_marked_and_changes_nothing(
    lines: dict[str, dict[str, Any]], history: tuple[AuditLog, dict[str, str]]
) -> None:
    line = lines[history[1]["sewage"]]
    refused = [e for e in line["events"] if "refused" in e]
    assert [e["type"] for e in refused] == ["resolved"]
    assert "resolved is not allowed" in refused[0]["refused"]
    assert line["refused_inputs"] == 1
    assert line["resolved_at"] is None
    assert line["department"] is not None and line["department_name"]


def test_an_escalated_ticket_shows_each_move_with_its_reason_and_deadlines(
    lines: dict[str, dict[str, Any]], history: tuple[AuditLog, dict[str, str]]
) -> None:
    line = lines[history[1]["unclaimed"]]
    moves = [e for e in line["events"] if e["type"] == "escalated"]
    assert moves and line["escalations"] == len(moves)
    assert {m["reason"] for m in moves} >= {"claim_overdue", "repeat_report"}
    assert all(m["reason_name"] and m["claim_by"] and m["from_level"] for m in moves)
    assert line["claimed_on_time"] is False
    assert line["repeats"] == [history[1]["repeat"]]
    assert line["level"] == moves[-1]["level"]


def test_a_repeat_report_is_closed_as_merged_into_the_open_ticket(
    lines: dict[str, dict[str, Any]], history: tuple[AuditLog, dict[str, str]]
) -> None:
    line = lines[history[1]["repeat"]]
    assert (line["status"], line["merged_into"]) == ("closed", history[1]["unclaimed"])
    assert line["on_time"] is None and line["claimed_on_time"] is None


def test_phone_numbers_are_masked_in_what_the_auditor_reads(
    lines: dict[str, dict[str, Any]], history: tuple[AuditLog, dict[str, str]]
) -> None:
    line = lines[history[1]["phoned"]]
    assert "13905981234" not in str(line)
    assert "139****1234" in line["description"]


def test_updates_whose_request_never_came_are_listed_as_such(
    lines: dict[str, dict[str, Any]], history: tuple[AuditLog, dict[str, str]]
) -> None:
    line = lines[history[1]["orphan"]]
    assert line["status"] == "no_request"
    assert [e["type"] for e in line["events"]] == ["claimed"]


def test_sla_rows_count_by_tier_level_community_and_department(
    lines: dict[str, dict[str, Any]],
) -> None:
    rows = {(r["dimension"], r["value"]): r for r in sla_rows(lines.values())}
    everything = rows[("all", "all")]
    counted = [t for t in lines.values() if "source" in t and t["merged_into"] is None]
    assert everything["tickets"] == len(counted)
    assert everything["closed"] == sum(1 for t in counted if t["status"] == "closed")
    assert everything["on_time_rate"] == 1.0
    assert everything["satisfaction_rate"] == 1.0
    assert rows[("tier", "local")]["label"] == "小事"
    assert rows[("community", "CM-CB")]["label"] == "城北社区"
    for dimension in ("tier", "level", "community", "department"):
        assert sum(r["tickets"] for (d, _), r in rows.items() if d == dimension) == len(counted)


def test_the_report_has_totals_rates_and_divergences_only_when_verified(
    history: tuple[AuditLog, dict[str, str]],
) -> None:
    log, _ = history
    plain = audit(log, check=False).report
    assert plain["divergences"] is None and plain["verify"] is None
    checked = audit(log, check=True).report
    assert checked["divergences"] == []
    assert checked["verify"]["reproduced"] == checked["verify"]["recorded_decisions"]
    totals = checked["totals"]
    assert totals["merged"] == 1 and totals["dead_letters"] == 1
    assert totals["updates_without_request"] == 1
    assert checked["rates"]["on_time_closure"]["name"] == "按期办结率"
    assert checked["rates"]["satisfaction"] == {
        "name": "满意率",
        "value": 1.0,
        "numerator": 2,  # the closed ticket and the volunteer's
        "denominator": 2,
    }
    [published] = checked["policy_versions"]["published"]
    assert published["version"] == small_policy().version
    assert set(checked["policy_versions"]["recorded"]) == {small_policy().version}


def test_until_cuts_the_report_to_what_had_happened_then(
    history: tuple[AuditLog, dict[str, str]],
) -> None:
    log, tickets = history
    then = T0 + timedelta(seconds=5)
    report = audit(log, check=True, until=then)
    assert report.report["divergences"] == []
    assert report.report["as_of"] == then
    closed = next(t for t in report.tickets if t["ticket_id"] == tickets["closed"])
    assert closed["status"] == "closed"
    assert all(t["received_at"] <= then for t in report.tickets if "received_at" in t)


def test_a_resolved_ticket_past_its_promise_is_closed_late() -> None:
    r = Recorder(small_policy())
    ticket = r.request("城北新村南区7幢楼梯灯不亮", 0)
    r.update(ticket, TicketClaimed, 0.05)
    r.update(ticket, TicketResolved, 10)  # 3 working days scaled: 259 s; this is 600 s
    r.tick(30)  # no 回访 for the feedback window: the router closes it
    log = r.log()
    [line] = timelines(log, policy_book(log), log.latest())
    assert (line["status"], line["on_time"], line["satisfaction"]) == ("closed", False, None)
    assert audit(log, check=True).report["rates"]["on_time_closure"]["value"] == 0.0


def test_until_without_an_offset_is_china_time() -> None:
    assert parse_until("2026-03-02T09:00:00") == datetime(2026, 3, 2, 9, tzinfo=CHINA)
    assert parse_until("2026-03-02T01:00:00+00:00") == datetime(2026, 3, 2, 9, tzinfo=CHINA)
    assert parse_until(None) is None
    with pytest.raises(UntilError, match="not an ISO-8601 time"):
        parse_until("yesterday")


def test_the_summary_names_the_rates_and_each_divergence(
    history: tuple[AuditLog, dict[str, str]],
) -> None:
    log, _ = history
    kept = [
        r for rs in log.records.values() for r in rs if r.event.type != "dispatch.ticket.closed"
    ]
    result = audit(build(log.prefix, kept, log.unreadable, log.partitions), check=True)
    lines = summary(result, Path("audit-out"))
    assert "按期办结率" in lines[1] and "满意率" in lines[1] and "办结率" in lines[1]
    assert any(line.strip().startswith("missing") for line in lines)
    assert result.divergent
    assert lines[-1].startswith("written: audit-out/tickets.jsonl")


def test_no_record_is_read_twice_into_a_timeline(history: tuple[AuditLog, dict[str, str]]) -> None:
    log, _ = history
    every = timelines(log, policy_book(log), log.latest())
    ids = [e["id"] for t in every for e in t["events"]]
    inputs_and_decisions = sum(
        len(log.of(t))
        for t in (topics.REQUESTS, topics.UPDATES, topics.LINKS, topics.DECISIONS, topics.POINTS)
    )
    assert len(ids) == inputs_and_decisions


def test_updates_refused_after_overtaking_their_request_are_marked_not_the_request() -> None:
    r = Recorder(small_policy())
    body = RequestIn(external_id="OVERTAKE-3", description="府前9幢垃圾没人清运")
    request = received_event(body, "grid-patrol", T0 + timedelta(seconds=30))
    r.update(request.subject, TicketClaimed, 0.1)  # parked, applied after the request
    r.update(request.subject, TicketFeedback, 0.2, satisfaction=4)  # parked, then refused
    r.handle(r.append(topics.REQUESTS, request))
    log = r.log()
    [line] = timelines(log, policy_book(log), log.latest())
    assert line["status"] == "claimed" and line["source"] == "grid-patrol"
    marked = {e["type"]: e.get("refused") for e in line["events"]}
    assert marked["received"] is None and marked["claimed"] is None
    assert marked["feedback"].startswith("feedback is not allowed")
    assert line["refused_inputs"] == 1


def test_a_dissatisfied_rating_that_reopened_the_ticket_still_counts_in_the_satisfaction_rate() -> (
    None
):
    r = Recorder(small_policy())
    ticket = r.request("城北新村南区7幢楼梯灯不亮", 0)
    for start, stars in ((0.01, 2), (0.05, 5)):  # 不满意: back to the handler; then 满意
        r.update(ticket, TicketClaimed, start)
        r.update(ticket, TicketResolved, start + 0.01)
        r.update(ticket, TicketFeedback, start + 0.02, satisfaction=stars)
    log = r.log()
    [line] = timelines(log, policy_book(log), log.latest())
    assert (line["status"], line["satisfaction"], line["ratings"]) == ("closed", 5, [2, 5])
    rate = audit(log, check=True).report["rates"]["satisfaction"]
    assert (rate["numerator"], rate["denominator"], rate["value"]) == (1, 2, 0.5)


def test_an_audit_until_before_anything_happened_is_empty_and_clean(
    history: tuple[AuditLog, dict[str, str]],
) -> None:
    log, _ = history
    result = audit(log, check=True, until=T0 - timedelta(days=1))
    assert result.tickets == [] and result.sla == []
    assert result.report["divergences"] == []
    assert result.report["rates"]["on_time_closure"]["value"] is None
    assert "按期办结率 —" in summary(result, Path("out"))[1]


def test_an_invalid_ticket_is_counted_apart_and_left_out_of_the_rates() -> None:
    r = Recorder(small_policy())
    kept = r.request("城北新村南区7幢楼梯灯不亮", 0)
    r.update(kept, TicketClaimed, 0.05)
    r.update(kept, TicketResolved, 1)
    r.update(kept, TicketFeedback, 2, satisfaction=5)
    dropped = r.request("城北新村南区8幢楼道里有人贴小广告", 0.5)
    r.update(dropped, TicketInvalidated, 0.6, reason_code="outside_remit")
    log = r.log()
    lines = {t["ticket_id"]: t for t in timelines(log, policy_book(log), log.latest())}
    assert (lines[dropped]["status"], lines[dropped]["outcome"]) == ("closed", "invalid")
    checked = audit(log, check=True).report
    assert checked["totals"]["invalid"] == 1 and checked["totals"]["received"] == 2
    assert checked["rates"]["closure"]["value"] == 1.0  # 1 of 1: the invalid one is not owed
    [total] = [row for row in sla_rows(lines.values()) if row["dimension"] == "all"]
    assert total["tickets"] == 1
