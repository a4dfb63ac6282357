"""解忧超市: the shelf as the public sees it (``GET /v1/shelf?type=``): the worries waiting to be
adopted, by resolution type, masked like Open311's public view (no reporter name, phone or ID
number). Pure: views in, a page out."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import AwareDatetime, BaseModel, Field

from schemas.events import Resolution
from schemas.words import RESOLUTION_NAMES
from services.intake.open311 import without_name
from services.intake.views import TicketView


class ShelfItem(BaseModel):
    ticket_id: str
    type: Resolution = Field(
        description="government 政府解决类, market 市场解决类, charity 爱心救助类"
    )
    type_name: str
    category: str | None = None
    category_name: str | None = None
    description: str = Field(description="masked: no name, phone or ID number")
    place: str | None = Field(default=None, description="the community or grid unit it lies in")
    received_at: AwareDatetime
    until: AwareDatetime = Field(description="unadopted by then, it is assigned as usual")


class ShelfPage(BaseModel):
    total: int = Field(description="worries on the shelf of this type")
    items: list[ShelfItem] = Field(description="oldest first")


def shelf_item(view: TicketView) -> ShelfItem | None:
    if view.status != "shelved" or view.resolution is None:
        return None
    shelved = next(
        (e for e in reversed(view.timeline) if e.type == "dispatch.ticket.shelved"), None
    )
    if shelved is None or shelved.until is None:
        return None
    public = without_name(view.reporter.name if view.reporter else None)
    return ShelfItem(
        ticket_id=view.ticket_id,
        type=view.resolution,
        type_name=RESOLUTION_NAMES[view.resolution],
        category=view.category,
        category_name=view.category_name,
        description=public(view.description),
        place=shelved.place,
        received_at=view.received_at,
        until=shelved.until,
    )


def shelf_page(
    views: Iterable[TicketView], kind: Resolution | None, limit: int, offset: int
) -> ShelfPage:
    items = [i for v in views if (i := shelf_item(v)) is not None]
    wanted = sorted(
        (i for i in items if kind is None or i.type == kind),
        key=lambda i: (i.received_at, i.ticket_id),
    )
    return ShelfPage(total=len(wanted), items=wanted[offset : offset + limit])
