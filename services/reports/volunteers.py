"""五闪积分: the volunteers' ranking from the router's awards on ``dispatch.points``, one
definition for the intake (``GET /v1/volunteers/ranking``) and the console (``/volunteers``).
Pure: awards in, standings out; the caller's ``name_of`` gives names already masked."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, Field

from schemas.events import PointsAwardedData, VolunteerKind


@dataclass(frozen=True, slots=True)
class Award:
    id: str
    time: datetime
    data: PointsAwardedData


class Standing(BaseModel):
    rank: int = Field(description="1 for the most points; equal points share a rank")
    volunteer_id: str
    name: str | None = Field(default=None, description="the volunteer's name, masked (黄*)")
    points: int
    reports: int = Field(description="resolved reports that earned points")
    by_kind: dict[VolunteerKind, int] = Field(description="points by kind (闪帮, 闪拍 …)")


class Ranking(BaseModel):
    from_: AwareDatetime | None = Field(default=None, alias="from", serialization_alias="from")
    to: AwareDatetime | None = None
    total: int = Field(description="volunteers with points in the window")
    volunteers: list[Standing]


def ranking(
    awards: Iterable[Award],
    name_of: Callable[[str], str | None],
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> Ranking:
    """Each volunteer's points from the awards made in ``[start, end)``, most first (ties by
    reports, then id); ``name_of`` gives the reporter's masked name for a ticket id."""
    points: dict[str, int] = {}
    reports: dict[str, int] = {}
    kinds: dict[str, dict[VolunteerKind, int]] = {}
    names: dict[str, str | None] = {}
    for award in awards:
        if (start is not None and award.time < start) or (end is not None and award.time >= end):
            continue
        d = award.data
        points[d.volunteer_id] = points.get(d.volunteer_id, 0) + d.points
        reports[d.volunteer_id] = reports.get(d.volunteer_id, 0) + 1
        by_kind = kinds.setdefault(d.volunteer_id, {})
        by_kind[d.kind] = by_kind.get(d.kind, 0) + d.points
        if names.get(d.volunteer_id) is None:
            names[d.volunteer_id] = name_of(d.ticket_id)
    order = sorted(points, key=lambda v: (-points[v], -reports[v], v))
    standings: list[Standing] = []
    for index, volunteer in enumerate(order[:limit]):
        tied = standings and standings[-1].points == points[volunteer]
        standings.append(
            Standing(
                rank=standings[-1].rank if tied else index + 1,
                volunteer_id=volunteer,
                name=names.get(volunteer),
                points=points[volunteer],
                reports=reports[volunteer],
                by_kind=kinds[volunteer],
            )
        )
    return Ranking.model_validate(
        {"from": start, "to": end, "total": len(order), "volunteers": standings}
    )
