"""What upstream systems POST, and how it becomes a ``dispatch.request.received`` event."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from schemas.envelope import derive_id, ticket_id_for
from schemas.events import (
    Location,
    Reporter,
    RequestReceived,
    RequestReceivedData,
    VolunteerId,
    VolunteerKind,
)
from schemas.words import CHINA, EARLIEST, LATEST

INTAKE_SOURCE = "/dispatch/intake"
VOLUNTEER_SOURCE = "volunteer"


def refuse_surrogates(value: Any) -> Any:
    """Text must be valid Unicode: a lone surrogate (``\\ud800``) cannot be stored as UTF-8."""
    if isinstance(value, str):
        if any("\ud800" <= c <= "\udfff" for c in value):
            raise ValueError("text is not valid Unicode (lone surrogate)")
    elif isinstance(value, dict):
        for key, item in value.items():
            refuse_surrogates(key)
            refuse_surrogates(item)
    elif isinstance(value, list | tuple):
        for item in value:
            refuse_surrogates(item)
    return value


def in_range(moment: datetime | None) -> datetime | None:
    """A time between 1970 and 2100 (China time when it has no offset)."""
    found = aware(moment)
    if found is not None and not EARLIEST <= found <= LATEST:
        raise ValueError("time out of range: expected a year between 1970 and 2100")
    return found


class RequestIn(BaseModel):
    """``POST /v1/requests``: only ``external_id`` and ``description`` are required."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "external_id": "12345-20260210-0042",
                    "description": "城北新村南区5幢没有路灯,晚上回家不安全",
                    "category": "streetlight",
                    "location": {
                        "address": "沙县城北新村南区5幢",
                        "community": "城北社区",
                        "lat": 26.39,
                        "lon": 117.79,
                    },
                    "reporter": {"name": "赖女士", "phone": "13905981234"},
                    "urgent": False,
                    "households_affected": 30,
                    "reported_at": "2026-02-10T19:20:00+08:00",
                }
            ]
        },
    )

    external_id: str = Field(min_length=1, max_length=128, description="the upstream's own id")
    description: str = Field(min_length=1, max_length=4000, description="诉求内容")
    category: str | None = Field(
        default=None, max_length=64, description="a service_code of /open311/v2/services.json"
    )
    location: Location | None = None
    reporter: Reporter | None = None
    urgent: bool = False
    households_affected: int | None = Field(default=None, ge=0, le=1_000_000)
    reported_at: datetime | None = Field(
        default=None, description="ISO-8601; without offset: China time"
    )
    resolution_hint: Literal["government", "market", "charity"] | None = Field(
        default=None, description="解忧超市货架: government 政府, market 市场, charity 爱心"
    )
    attachments: list[Annotated[str, Field(max_length=500)]] = Field(
        default_factory=list, max_length=20, description="photo URLs"
    )
    volunteer_id: VolunteerId | None = Field(
        default=None, description="五闪: the volunteer's id (source volunteer only, with kind)"
    )
    kind: VolunteerKind | None = Field(
        default=None,
        description="五闪: help 闪帮, photo 闪拍, publicity 闪宣, remove 闪除, report 闪报",
    )

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: Any) -> Any:
        return refuse_surrogates(data)

    @field_validator("reported_at")
    @classmethod
    def _reported_in_range(cls, value: datetime | None) -> datetime | None:
        return in_range(value)


class Accepted(BaseModel):
    ticket_id: str


def aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=CHINA)


def received_event(
    body: RequestIn,
    source: str,
    now: datetime,
    channel: Literal["http", "kafka", "open311"] = "http",
) -> RequestReceived:
    """The event for an upstream request; ids derive from (source, external_id)."""
    ticket_id = ticket_id_for(source, body.external_id)
    cause = f"urn:dispatch:{source}:{body.external_id}"
    return RequestReceived(
        id=derive_id(cause, "received"),
        source=f"{INTAKE_SOURCE}/{source}",
        time=now,
        subject=ticket_id,
        causationid=cause[:256],
        correlationid=derive_id(cause, "received"),
        data=RequestReceivedData(
            ticket_id=ticket_id,
            source=source,  # the key's source, one of the Source literals
            external_id=body.external_id,
            description=body.description,
            category=body.category,
            location=body.location,
            reporter=body.reporter,
            urgent=body.urgent,
            households_affected=body.households_affected,
            reported_at=aware(body.reported_at),
            received_at=now,
            resolution_hint=body.resolution_hint,
            attachments=body.attachments,
            channel=channel,
            volunteer_id=body.volunteer_id,
            kind=body.kind,
        ),
    )


def source_errors(body: RequestIn, source: str) -> list[dict[str, str]]:
    """What the request's source rules out: only the ``volunteer`` source reports for a 五闪
    volunteer, and then with both ``volunteer_id`` and ``kind``."""
    named = [n for n in ("volunteer_id", "kind") if getattr(body, n) is not None]
    if named and source != VOLUNTEER_SOURCE:
        return [
            {"pointer": f"#/{n}", "detail": f"{n} 只用于志愿者来源(volunteer),本来源是 {source}"}
            for n in named
        ]
    if len(named) == 1:
        other = "kind" if named[0] == "volunteer_id" else "volunteer_id"
        return [{"pointer": f"#/{other}", "detail": f"{named[0]} 需要与 {other} 一起提交"}]
    return []


def now() -> datetime:
    """The intake's clock (China time): the shell stamps events, the core never reads a clock."""
    return datetime.now(CHINA)
