"""Where one ticket's replay stands: its state, the inputs taken, the tick decisions left."""

from __future__ import annotations

from dataclasses import dataclass

from schemas import topics
from schemas.policy import Policy
from services.audit.log import Logged
from services.audit.order import Plan
from services.router.kernel.state import Ticket


@dataclass
class Cursor:
    plan: Plan
    policy: Policy
    ticks: dict[int, list[Logged]]
    """recorded tick-caused decisions by ticketversion, not yet re-decided"""
    anchors: dict[str, int]
    state: Ticket | None = None
    started: bool = False
    updates_taken: int = 0
    others_taken: int = 0

    @property
    def weight(self) -> int:
        """How much replaying this ticket takes, in steps: its inputs and recorded ticks."""
        plan = self.plan
        return 1 + len(plan.updates) + len(plan.others) + sum(map(len, self.ticks.values()))

    @property
    def version(self) -> int:
        return self.state.version if self.state is not None else 0

    def next_update(self) -> Logged | None:
        updates = self.plan.updates
        return updates[self.updates_taken] if self.updates_taken < len(updates) else None

    def next_other(self) -> Logged | None:
        others = self.plan.others
        return others[self.others_taken] if self.others_taken < len(others) else None

    def next_input(self) -> Logged | None:
        """The next update, or what came on another topic: where the ticketversion of the
        decision it caused puts it, else by time (a tie after the update)."""
        update, other = self.next_update(), self.next_other()
        if update is None or other is None:
            return update or other
        anchor = self.anchors.get(other.event.id)
        if anchor is not None:
            return other if self.version >= anchor else update
        return other if other.event.time < update.event.time else update

    def due(self) -> Logged | None:
        """The first tick decision recorded at the ticket's current ticketversion."""
        due = self.ticks.get(self.version)
        return due[0] if due else None

    def take(self, kind: str, logged: Logged) -> None:
        if not self.started:
            self.started = True
        elif kind == "tick":
            self.ticks[self.version].pop(0)
        elif logged.at.topic == topics.UPDATES:
            self.updates_taken += 1
        else:
            self.others_taken += 1

    def left(self) -> list[Logged]:
        """Tick decisions never reached: recorded at a ticketversion the inputs do not give."""
        rest = [logged for due in self.ticks.values() for logged in due]
        return sorted(rest, key=lambda r: (r.event.time, r.at.offset))
