"""``dispatch watch``'s screen, rendered from a state the router's pure core decided."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
from rich.console import Console

from schemas.envelope import CloudEvent, derive_id
from schemas.events import (
    ClockData,
    ClockTicked,
    TicketClaimed,
    TicketFeedback,
    TicketResolved,
    data_type,
)
from schemas.policy import Policy, load_policy
from schemas.words import CHINA
from services.console.kpis import Kpis
from services.console.screen import render, rows_for, span
from services.intake.models import RequestIn, received_event
from services.router.kernel.core import step
from services.router.kernel.state import Ticket
from tests.conftest import SMALL_POLICY

T0 = datetime(2026, 3, 10, 9, 0, tzinfo=CHINA)  # a Tuesday: a local ticket is claimed by 11:00


class Desk:
    """The router's core deciding, the console's fold counting: every event goes through both."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.kpis = Kpis()
        self.tickets: dict[str, Ticket] = {}

    def feed(self, event: CloudEvent) -> None:
        self.kpis.fold(event)
        before = self.tickets.get(event.subject)
        after, decisions = step(before, event, self.policy)
        if after is not None:
            self.tickets[after.ticket_id] = after
        for decision in decisions:
            self.kpis.fold(decision)

    def request(self, source: str, text: str, when: datetime, ref: str) -> str:
        event = received_event(RequestIn(external_id=ref, description=text), source, when)
        self.feed(event)
        return event.subject

    def tick(self, when: datetime) -> None:
        for ticket in list(self.tickets.values()):
            self.feed(
                ClockTicked(
                    id=derive_id(f"clock:{ticket.ticket_id}", when.isoformat()),
                    source="/dispatch/router",
                    time=when,
                    subject=ticket.ticket_id,
                    causationid="clock:0",
                    correlationid="clock:0",
                    data=ClockData(partition=0),
                )
            )

    def update(self, kind: type[CloudEvent], ticket_id: str, when: datetime, **extra: int) -> None:
        model = data_type(kind)
        self.feed(
            kind(  # type: ignore[call-arg]
                id=derive_id(f"{ticket_id}:{kind.__name__}", "update"),
                source="/dispatch/intake/x",
                time=when,
                subject=ticket_id,
                causationid="u",
                correlationid="u",
                data=model(ticket_id=ticket_id, actor="网格员", **extra),
            )
        )


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_policy(SMALL_POLICY)


def screen(kpis: Kpis, now: datetime, **limits: int) -> str:
    console = Console(record=True, width=160, file=io.StringIO())
    console.print(render(kpis, now, status="127.0.0.1:9092", **limits))
    return console.export_text()


def headline(text: str) -> dict[str, str]:
    """The headline panel's figures: label → value."""
    lines = [line.replace("│", " ").split() for line in text.splitlines()]
    [at] = [i for i, words in enumerate(lines) if "按期办结率" in words]
    return dict(zip(lines[at], lines[at + 1], strict=True))


def test_the_headline_shows_what_came_in_what_is_open_and_the_rates(policy: Policy) -> None:
    desk = Desk(policy)
    light = desk.request("grid-patrol", "城北新村南区7幢楼梯灯不亮", T0, "W-1")
    desk.request("hotline-12345", "城北新村南区5幢没有路灯,晚上回家不安全", T0, "W-2")
    desk.update(TicketClaimed, light, T0 + timedelta(minutes=10))
    desk.update(TicketResolved, light, T0 + timedelta(minutes=50))
    desk.update(TicketFeedback, light, T0 + timedelta(hours=2), satisfaction=5)

    text = screen(desk.kpis, T0 + timedelta(hours=2))

    assert "接诉即办 · 实时态势" in text and "2026-03-10 11:00:00 北京时间" in text
    figures = headline(text)
    assert list(figures) == [
        "受理", "在办", "已超时", "1小时内到期", "提级督办", "办结",
        "按期办结率", "满意率", "紧急", "通知失败", "拒收输入",
    ]  # fmt: skip
    assert figures == {
        "受理": "2",
        "在办": "1",
        "已超时": "0",
        "1小时内到期": "0",
        "提级督办": "0",
        "办结": "1",
        "按期办结率": "100.0%",
        "满意率": "100.0%",
        "紧急": "0",
        "通知失败": "0",
        "拒收输入": "0",
    }


def test_counts_by_tier_and_by_source_name_every_tier_and_source_in_chinese(
    policy: Policy,
) -> None:
    desk = Desk(policy)
    desk.request("grid-patrol", "城北新村南区7幢楼梯灯不亮", T0, "S-1")
    desk.request("grid-patrol", "城北新村北区1幢楼道灯坏了", T0, "S-2")
    desk.request("hotline-12345", "城北新村南区5幢没有路灯,晚上回家不安全", T0, "S-3")

    text = screen(desk.kpis, T0)

    assert _row(text, "小事")[:3] == ["小事", "2", "67%"]
    assert _row(text, "中事")[:2] == ["中事", "1"]
    assert _row(text, "大事")[:2] == ["大事", "0"] and _row(text, "杂事")[:2] == ["杂事", "0"]
    assert _row(text, "网格员民情账本")[:2] == ["网格员民情账本", "2"]
    assert _row(text, "12345热线")[:2] == ["12345热线", "1"]
    assert _row(text, "小巷解忧屋")[:2] == ["小巷解忧屋", "0"]


def _row(text: str, first: str) -> list[str]:
    """The words of the left-hand table row that starts with ``first``."""
    for line in text.splitlines():
        words = line.replace("│", " ").split()
        if words and words[0] == first:
            return words
    raise AssertionError(f"no row starting with {first!r}")


def test_the_feed_shows_the_newest_decision_first_and_marks_emergencies(policy: Policy) -> None:
    desk = Desk(policy)
    light = desk.request("grid-patrol", "城北新村南区7幢楼梯灯不亮", T0, "F-1")
    faint = desk.request(
        "shopfront", "超市门口一位老人突然晕倒,叫不醒", T0 + timedelta(minutes=5), "F-2"
    )

    text = screen(desk.kpis, T0 + timedelta(minutes=6))
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines) if faint in line and "派单" in line)
    second = next(i for i, line in enumerate(lines) if light in line and "派单" in line)
    assert first < second
    assert "09:05:00" in lines[first] and "大事·紧急" in lines[first]
    assert "小事" in lines[second] and "城北社区第1微网格·赖清香" in lines[second]
    assert "03-10 11:00 / 03-13 09:00" in lines[second]
    assert headline(text)["紧急"] == "1"

    styled = Console(record=True, width=160, color_system="truecolor", file=io.StringIO())
    styled.print(render(desk.kpis, T0 + timedelta(minutes=6)))
    marked = styled.export_text(styles=True)
    [emergency_line] = [ln for ln in marked.splitlines() if faint in ln and "派单" in ln]
    assert "\x1b[1;31m" in emergency_line  # bold red


def test_an_overdue_ticket_is_escalated_in_the_feed_and_listed_as_overdue(
    policy: Policy,
) -> None:
    desk = Desk(policy)
    light = desk.request("grid-patrol", "城北新村南区7幢楼梯灯不亮", T0, "O-1")
    street = desk.request(
        "hotline-12345", "城北新村南区5幢没有路灯", T0 + timedelta(minutes=30), "O-2"
    )
    desk.tick(T0 + timedelta(hours=2, minutes=1))  # the local ticket was due at 11:00

    text = screen(desk.kpis, T0 + timedelta(hours=2, minutes=1))
    [escalation] = [ln for ln in text.splitlines() if light in ln and "提级督办" in ln]
    assert "超时未签收" in escalation and "城北社区第1片区·城北第1片区网格员" in escalation
    assert headline(text)["提级督办"] == "1"

    later = T0 + timedelta(hours=7)  # past the new claim deadline and the department's
    text = screen(desk.kpis, later)
    listed = text[text.index("超时与即将到期") :].splitlines()
    rows = [ln for ln in listed if "已超时" in ln and "T" in ln]
    assert [light in rows[0], street in rows[1]] == [True, True]  # soonest deadline first
    assert "超时" in rows[0] and "待签收" in rows[0]
    assert "2 件超时" in text


def test_a_due_soon_ticket_shows_how_long_is_left(policy: Policy) -> None:
    desk = Desk(policy)
    light = desk.request("grid-patrol", "城北新村南区7幢楼梯灯不亮", T0, "D-1")
    text = screen(desk.kpis, T0 + timedelta(hours=1, minutes=25))
    [row] = [ln for ln in text.splitlines() if light in ln and "将到期" in ln]
    assert "剩35分" in row and "11:00" in row


def test_the_watch_list_says_how_many_did_not_fit(policy: Policy) -> None:
    desk = Desk(policy)
    for n in range(5):
        desk.request("grid-patrol", "城北新村南区7幢楼梯灯不亮", T0, f"N-{n}")
    text = screen(desk.kpis, T0 + timedelta(hours=3), watch_rows=2)
    assert "另有 3 件未显示" in text


def test_a_phone_number_in_a_description_never_reaches_the_screen(policy: Policy) -> None:
    desk = Desk(policy)
    desk.request(
        "grid-patrol", "城北新村南区7幢楼梯灯不亮,请回电13905981234或0598-5821234", T0, "P-1"
    )
    text = screen(desk.kpis, T0 + timedelta(hours=3))
    assert "13905981234" not in text and "5821234" not in text
    assert "楼梯灯不亮" in text


def test_an_empty_state_renders_placeholders_not_errors() -> None:
    text = screen(Kpis(), T0)
    assert "尚无派单决定" in text and "没有超时或1小时内到期的工单" in text
    assert headline(text)["按期办结率"] == "—"


def test_durations_read_in_days_hours_and_minutes() -> None:
    assert span(timedelta(hours=26, minutes=5)) == "1天2小时"
    assert span(timedelta(minutes=-95)) == "1小时35分"
    assert span(timedelta(seconds=20)) == "不足1分"


@pytest.mark.parametrize("height", [26, 40, 60])
def test_the_live_screen_fills_the_terminal_height_exactly(policy: Policy, height: int) -> None:
    desk = Desk(policy)
    for n in range(60):
        desk.request("grid-patrol", "城北新村南区7幢楼梯灯不亮", T0, f"H-{n}")
    feed_rows, watch_rows = rows_for(height)
    console = Console(record=True, width=160, height=height, file=io.StringIO())
    console.print(render(desk.kpis, T0 + timedelta(hours=3), "", feed_rows, watch_rows))
    printed = console.export_text().rstrip("\n").splitlines()
    assert len(printed) == height
