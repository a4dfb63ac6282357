"""Deadline compliance and the published figures, from the timelines (pure).

A ticket closed as a repeat report (merged) is counted once, in the ticket it joined: the SLA
rows and rates leave merged tickets out, and the totals count them apart. A ticket the centre
closed as invalid (无效件: outside the remit, malicious repeats) is left out of the rates too, as
the 三率 assessment leaves it out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from schemas import topics
from schemas.events import InputRejected, NotificationFailed, NotificationSent
from schemas.words import LEVEL_NAMES, TIER_NAMES
from services.audit.log import AuditLog

DIMENSIONS = ("all", "tier", "level", "community", "department")
COLUMNS = (
    "dimension",
    "value",
    "label",
    "tickets",
    "closed",
    "closure_rate",
    "closed_on_time",
    "on_time_rate",
    "claimed_on_time",
    "claim_on_time_rate",
    "escalated",
    "overdue",
    "rated",
    "satisfied",
    "satisfaction_rate",
)
SATISFIED_AT_LEAST = 4
"""满意率: ratings of 4 and 5 (满意, 非常满意) among every 回访 rating the router accepted."""


def rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@dataclass
class Tally:
    tickets: int = 0
    closed: int = 0
    closed_on_time: int = 0
    claimed_on_time: int = 0
    claim_judged: int = 0
    escalated: int = 0
    overdue: int = 0
    rated: int = 0
    satisfied: int = 0

    def add(self, ticket: dict[str, Any]) -> None:
        self.tickets += 1
        if ticket["status"] == "closed":
            self.closed += 1
            self.closed_on_time += ticket["on_time"] is True
        if ticket["claimed_on_time"] is not None:
            self.claim_judged += 1
            self.claimed_on_time += ticket["claimed_on_time"] is True
        self.escalated += ticket["escalations"] > 0
        self.overdue += ticket["overdue"] is True
        for rating in ticket["ratings"]:  # every 回访, a dissatisfied one that reopened too
            self.rated += 1
            self.satisfied += rating >= SATISFIED_AT_LEAST

    def row(self) -> dict[str, Any]:
        return {
            "tickets": self.tickets,
            "closed": self.closed,
            "closure_rate": rate(self.closed, self.tickets),
            "closed_on_time": self.closed_on_time,
            "on_time_rate": rate(self.closed_on_time, self.closed),
            "claimed_on_time": self.claimed_on_time,
            "claim_on_time_rate": rate(self.claimed_on_time, self.claim_judged),
            "escalated": self.escalated,
            "overdue": self.overdue,
            "rated": self.rated,
            "satisfied": self.satisfied,
            "satisfaction_rate": rate(self.satisfied, self.rated),
        }


def counted(timelines: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tickets the figures count: received, not merged into another, not invalid."""
    return [
        t
        for t in timelines
        if "source" in t and t.get("merged_into") is None and t.get("outcome") != "invalid"
    ]


def _values(ticket: dict[str, Any]) -> dict[str, tuple[str, str]]:
    tier = ticket["tier"] or "-"
    level = ticket["first_level"] or "-"
    return {
        "all": ("all", "全部"),
        "tier": (tier, TIER_NAMES.get(tier, "未分类")),
        "level": (level, LEVEL_NAMES.get(level, "未派单")),
        "community": (ticket["community_id"] or "-", ticket["community"] or "未定位到社区"),
        "department": (ticket["department"] or "-", ticket["department_name"] or "无主责部门"),
    }


def sla_rows(timelines: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per dimension (tier, first level, community, department) and value, plus one total."""
    tallies: dict[tuple[str, str], Tally] = {}
    labels: dict[tuple[str, str], str] = {}
    for ticket in counted(timelines):
        for dimension, (value, label) in _values(ticket).items():
            tallies.setdefault((dimension, value), Tally()).add(ticket)
            labels[(dimension, value)] = label
    rows = [
        {"dimension": dim, "value": value, "label": labels[(dim, value)], **tally.row()}
        for (dim, value), tally in tallies.items()
    ]
    rows.sort(key=lambda r: (DIMENSIONS.index(r["dimension"]), -r["tickets"], r["value"]))
    return rows


@dataclass
class Totals:
    counts: dict[str, int] = field(default_factory=dict)
    rates: dict[str, dict[str, Any]] = field(default_factory=dict)


def totals(timelines: list[dict[str, Any]], log: AuditLog) -> Totals:
    received = [t for t in timelines if "source" in t]
    tally = Tally()
    for ticket in counted(timelines):
        tally.add(ticket)
    kinds = Counter(r.event.type for r in log.of(topics.DECISIONS))
    letters = [r.event for r in log.of(topics.DEADLETTER) if isinstance(r.event, InputRejected)]
    notes = [r.event for r in log.of(topics.NOTIFICATIONS)]
    counts = {
        "received": len(received),
        "assigned": sum(1 for t in received if t["first_level"] is not None),
        "escalated": kinds["dispatch.ticket.escalated"],
        "escalated_tickets": tally.escalated,
        "closed": tally.closed,
        "closed_on_time": tally.closed_on_time,
        "merged": sum(1 for t in received if t.get("merged_into") is not None),
        "invalid": sum(1 for t in received if t.get("outcome") == "invalid"),
        "open": sum(1 for t in received if t["status"] in ("assigned", "claimed")),
        "overdue": tally.overdue,
        "dead_letters": len(letters),
        "dead_letters_router": sum(1 for e in letters if e.data.origin.service == "router"),
        "notifications_sent": sum(1 for e in notes if isinstance(e, NotificationSent)),
        "notifications_failed": sum(1 for e in notes if isinstance(e, NotificationFailed)),
        "updates_without_request": sum(1 for t in timelines if "source" not in t),
    }
    rates = {
        "on_time_closure": _rate("按期办结率", tally.closed_on_time, tally.closed),
        "satisfaction": _rate("满意率", tally.satisfied, tally.rated),
        "closure": _rate("办结率", tally.closed, tally.tickets),
        "claim_on_time": _rate("按时签收率", tally.claimed_on_time, tally.claim_judged),
    }
    return Totals(counts, rates)


def _rate(name: str, part: int, whole: int) -> dict[str, Any]:
    return {"name": name, "value": rate(part, whole), "numerator": part, "denominator": whole}
