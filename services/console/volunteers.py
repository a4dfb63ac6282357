"""五闪志愿者: what the console keeps for the volunteers' ranking (``/volunteers``): the router's
awards on ``dispatch.points`` and, for the tickets volunteers reported, the reporter's name
masked at once (黄*): no resident's name is ever held. The ranking itself is the reports' one
definition (services/reports/volunteers.py), the one the intake's ``GET /v1/volunteers/ranking``
answers with. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass, field

from schemas.envelope import CloudEvent
from schemas.events import PointsAwarded, RequestReceived
from services.common.privacy import mask_name
from services.reports.period import Period
from services.reports.volunteers import Award, Ranking, ranking


@dataclass
class Volunteers:
    awards: dict[str, Award] = field(default_factory=dict)  # by event id: counted once
    names: dict[str, str | None] = field(default_factory=dict)  # ticket id → masked name

    def fold(self, event: CloudEvent) -> None:
        if isinstance(event, PointsAwarded):
            self.awards.setdefault(event.id, Award(event.id, event.time, event.data))
        elif isinstance(event, RequestReceived) and event.data.volunteer_id:
            reporter = event.data.reporter
            self.names[event.data.ticket_id] = mask_name(reporter.name if reporter else None)

    def ranking(self, period: Period, limit: int) -> Ranking:
        """The standings of the awards made within ``period`` (China days)."""
        return ranking(self.awards.values(), self.names.get, period.start, period.end, limit)
