"""The read model's shell: follows requests, updates, decisions and links into ``views`` states.

Rebuilt from Kafka at start-up (the intake is not healthy before it has caught up), so GET
answers survive restarts and show what any instance accepted and what the router decided.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from schemas import topics
from schemas.codec import EventDecodeError, decode
from schemas.envelope import CloudEvent
from schemas.events import InputRejected, PointsAwarded
from services.common.bus import Topics
from services.intake.tail import Record, Tail
from services.intake.views import TicketState, TicketView, apply, refused_update, view
from services.reports.volunteers import Award

log = logging.getLogger(__name__)


class ReadModel:
    def __init__(self, bootstrap: str, names: Topics) -> None:
        self._states: dict[str, TicketState] = {}
        self.awards: dict[str, Award] = {}  # 五闪积分 by award id: an award counted once
        followed = [
            names(topics.REQUESTS),
            names(topics.UPDATES),
            names(topics.DECISIONS),
            names(topics.LINKS),
            names(topics.DEADLETTER),  # the router's refusals of updates (views.refused_update)
            names(topics.POINTS),  # 五闪积分: the volunteers' ranking
        ]
        self.tail = Tail(bootstrap, followed, self._apply_record, "ticket read model")

    def __len__(self) -> int:
        return len(self._states)

    def _apply_record(self, record: Record) -> None:
        if record.value is None:
            return
        try:
            event = decode(record.value)
        except EventDecodeError:
            # Not ours to dead-letter: the router does that for the topics it consumes.
            log.debug("skipped an undecodable record at %s/%d", record.topic, record.offset)
            return
        self.apply(event)

    def apply(self, event: CloudEvent) -> None:
        if isinstance(event, PointsAwarded):
            self.awards.setdefault(event.id, Award(event.id, event.time, event.data))
        if isinstance(event, InputRejected) and refused_update(event) is None:
            return  # a dead letter that refuses no update: nothing of a ticket's
        ticket_id = event.subject
        state = self._states.get(ticket_id) or TicketState(ticket_id=ticket_id)
        self._states[ticket_id] = apply(state, event)

    def state(self, ticket_id: str) -> TicketState | None:
        state = self._states.get(ticket_id)
        return state if state is not None and state.request is not None else None

    def reporter_name(self, ticket_id: str) -> str | None:
        state = self._states.get(ticket_id)
        request = state.request if state is not None else None
        return request.reporter.name if request is not None and request.reporter else None

    def view(self, ticket_id: str) -> TicketView | None:
        state = self._states.get(ticket_id)
        return view(state) if state is not None else None

    def views(self) -> Iterator[TicketView]:
        for state in list(self._states.values()):
            shown = view(state)
            if shown is not None:
                yield shown
