"""The figures operators watch, folded from the event streams (pure: no I/O)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from dispatch.schemas.envelope import CloudEvent
from dispatch.schemas.events import (
    InputRejected,
    NotificationFailed,
    NotificationSent,
    RequestReceived,
    TicketAssigned,
    TicketClassified,
    TicketClosed,
    TicketEscalated,
)


@dataclass
class Kpis:
    received: int = 0
    assigned: int = 0
    escalated: int = 0
    closed: int = 0
    closed_on_time: int = 0
    merged: int = 0
    notified: int = 0
    notify_failed: int = 0
    rejected_inputs: int = 0
    emergencies: int = 0
    by_tier: Counter[str] = field(default_factory=Counter)
    by_source: Counter[str] = field(default_factory=Counter)
    satisfaction: list[int] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    def fold(self, event: CloudEvent) -> bool:
        """Count ``event`` once (redeliveries are recognised by id); True when it counted."""
        if event.id in self.seen:
            return False
        self.seen.add(event.id)
        if isinstance(event, RequestReceived):
            self.received += 1
            self.by_source[event.data.source] += 1
        elif isinstance(event, TicketClassified):
            self.by_tier[event.data.tier] += 1
            self.emergencies += int(event.data.emergency)
        elif isinstance(event, TicketAssigned):
            self.assigned += 1
        elif isinstance(event, TicketEscalated):
            self.escalated += 1
        elif isinstance(event, TicketClosed):
            if event.data.outcome == "merged":
                self.merged += 1
                return True
            self.closed += 1
            self.closed_on_time += int(bool(event.data.on_time))
            if event.data.satisfaction is not None:
                self.satisfaction.append(event.data.satisfaction)
        elif isinstance(event, NotificationSent):
            self.notified += 1
        elif isinstance(event, NotificationFailed):
            self.notify_failed += 1
        elif isinstance(event, InputRejected):
            self.rejected_inputs += 1
        return True

    def as_json(self) -> dict[str, Any]:
        satisfied = sum(1 for s in self.satisfaction if s >= 4)
        return {
            "received": self.received,
            "assigned": self.assigned,
            "escalated": self.escalated,
            "closed": self.closed,
            "merged": self.merged,
            "on_time_rate": round(self.closed_on_time / self.closed, 4) if self.closed else None,
            "satisfaction_rate": round(satisfied / len(self.satisfaction), 4)
            if self.satisfaction
            else None,
            "emergencies": self.emergencies,
            "notified": self.notified,
            "notify_failed": self.notify_failed,
            "rejected_inputs": self.rejected_inputs,
            "by_tier": dict(self.by_tier),
            "by_source": dict(self.by_source),
        }
