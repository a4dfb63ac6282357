"""The order in which the router applied a ticket's inputs, rebuilt from the log.

The request first (an update that overtakes it is parked and applied right after it); then the
ticket's updates, in their partition's order, merged with what reached it on other topics
(repeat-report links, a request for the same ticket again): where the recorded decision it
caused says (its ``ticketversion``), else by event time, a tie going after the updates. Clock
ticks are no inputs: a tick-caused decision is re-decided where its ``ticketversion`` says
(verify.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas import topics
from schemas.envelope import Decision
from schemas.events import ClockTicked, RequestReceived
from services.audit.log import AuditLog, Logged
from services.router.kernel.ticks import tick

CLOCK_CAUSE = "clock:"


@dataclass
class Plan:
    ticket_id: str
    request: Logged | None = None
    updates: list[Logged] = field(default_factory=list)
    """in their partition's order"""
    others: list[Logged] = field(default_factory=list)
    """links and repeated requests, each in its partition's order"""
    partition: int | None = None

    @property
    def inputs(self) -> list[Logged]:
        """Every input after the request, merged by time (without other evidence of order)."""
        return merge(self.updates, self.others)


def merge(updates: list[Logged], others: list[Logged]) -> list[Logged]:
    """Both sequences keep their own order; ``others`` go in by time, after equal times."""
    out: list[Logged] = []
    i = j = 0
    while i < len(updates) or j < len(others):
        if j < len(others) and (i == len(updates) or others[j].event.time < updates[i].event.time):
            out.append(others[j])
            j += 1
        else:
            out.append(updates[i])
            i += 1
    return out


def plans(log: AuditLog) -> dict[str, Plan]:
    """Every ticket the router was given input for, keyed by ticket id."""
    found: dict[str, Plan] = {}
    again: dict[str, list[Logged]] = {}
    for logged in log.of(topics.REQUESTS):
        subject = logged.event.subject
        plan = found.setdefault(subject, Plan(subject))
        if plan.request is None and isinstance(logged.event, RequestReceived):
            plan.request = logged
            plan.partition = logged.at.partition
        else:
            again.setdefault(subject, []).append(logged)
    updates = _by_subject(log.of(topics.UPDATES))
    links = _by_subject(log.of(topics.LINKS))
    for subject in updates.keys() | links.keys() | again.keys():
        plan = found.setdefault(subject, Plan(subject))
        plan.updates = updates.get(subject, [])
        # Each topic's records of one ticket are in one partition: their order stands.
        plan.others = merge(links.get(subject, []), again.get(subject, []))
        if plan.partition is None:
            plan.partition = (plan.updates or plan.others)[0].at.partition
    return found


def _by_subject(records: tuple[Logged, ...]) -> dict[str, list[Logged]]:
    found: dict[str, list[Logged]] = {}
    for logged in records:
        found.setdefault(logged.event.subject, []).append(logged)
    return found


def tick_of(decision: Decision) -> ClockTicked | None:
    """The clock tick a decision names as its cause, rebuilt from the decision alone: a tick's
    id derives from its partition and time, so the rebuild is the tick itself or no tick at all
    (the clock topic keeps ticks for 7 days only; decisions are kept for ever)."""
    cause = decision.correlationid
    if not cause.startswith(CLOCK_CAUSE):
        return None
    number = cause.removeprefix(CLOCK_CAUSE)
    if not number.isdigit():
        return None
    rebuilt = tick(int(number), decision.time)
    return rebuilt if rebuilt.id == decision.causationid else None
