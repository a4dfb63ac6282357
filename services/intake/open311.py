"""Open311 GeoReport v2 in terms of the dispatch: services from the policy's categories,
tickets as service requests, the form of ``POST requests.json``. Pure: the routes are in
``open311_routes.py``. Responses validate against the GeoReport v2 JSON Schemas."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from schemas.events import Location, Reporter
from schemas.words import CHINA, EARLIEST, LATEST, TIER_NAMES
from services.intake.adapters.common import parse_china_time
from services.intake.models import RequestIn
from services.intake.views import TicketView

MAX_RESULTS = 1000
DEFAULT_WINDOW = timedelta(days=90)


class Open311Error(Exception):
    """An error answered in Open311's own format: ``[{"code": …, "description": …}]``."""

    def __init__(
        self, status: int, description: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.headers = headers or {}

    def body(self) -> list[dict[str, Any]]:
        return [{"code": self.status, "description": self.description}]


@dataclass(frozen=True)
class Service:
    code: str
    name: str
    description: str
    tier: str
    keywords: tuple[str, ...]


def services_document(services: Iterable[Service]) -> list[dict[str, Any]]:
    """``GET services.json``: one realtime service per category, named in Chinese."""
    return [
        {
            "service_code": s.code,
            "service_name": s.name,
            "description": s.description or None,
            "metadata": False,
            "type": "realtime",
            "keywords": ",".join(s.keywords[:12]) or None,
            "group": TIER_NAMES.get(s.tier, s.tier),
        }
        for s in services
    ]


def request_document(
    view: TicketView, names: Mapping[str, str], default_code: str
) -> dict[str, Any]:
    """One ticket as an Open311 service request: the public view, so no reporter name, phone
    or ID number anywhere (the view's texts are masked; the reporter's own name is starred
    wherever a text quotes it)."""
    code = view.category or default_code
    public = without_name(view.reporter.name if view.reporter else None)
    agency = view.assignee.name if view.assignee is not None else None
    notes = public(view.timeline[-1].summary) if view.timeline else None
    location = view.location or Location()
    media = next((a for a in view.attachments if a.startswith(("http://", "https://"))), None)
    return {
        "service_request_id": view.ticket_id,
        "status": "closed" if view.status == "closed" else "open",
        "status_notes": notes,
        "service_name": view.category_name or names.get(code),
        "service_code": code,
        "description": public(view.description),
        "agency_responsible": agency,
        "service_notice": None,
        "requested_datetime": _w3c(view.reported_at or view.received_at),
        "updated_datetime": _w3c(view.updated_at),
        "expected_datetime": _w3c(view.resolve_by) if view.resolve_by else None,
        "address": public(location.address) if location.address else None,
        "address_id": None,
        "zipcode": None,
        "lat": location.lat,
        "long": location.lon,
        "media_url": media,
    }


def without_name(name: str | None) -> Callable[[str], str]:
    """``text`` with every quote of the reporter's ``name`` starred (names of two or more)."""
    wanted = (name or "").strip()
    if len(wanted) < 2:
        return lambda text: text
    return lambda text: text.replace(wanted, "*" * len(wanted))


def _w3c(moment: datetime) -> str:
    return moment.astimezone(CHINA).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Query:
    """The filters of ``GET requests.json``."""

    ids: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    start: datetime | None = None
    end: datetime | None = None


def parse_query(
    service_request_id: str | None,
    service_code: str | None,
    status: str | None,
    start_date: str | None,
    end_date: str | None,
) -> Query:
    statuses = _split(status)
    wrong = [s for s in statuses if s not in ("open", "closed")]
    if wrong:
        raise Open311Error(400, f"status 只能是 open 或 closed,收到 {wrong[0]!r}")
    start, end = _date("start_date", start_date), _date("end_date", end_date)
    if start and end and start > end:
        raise Open311Error(400, "start_date 晚于 end_date")
    return Query(_split(service_request_id), _split(service_code), statuses, start, end)


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(p.strip() for p in (text or "").split(",") if p.strip())


def _date(name: str, text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = parse_china_time(text)
    except ValueError:
        moment = None
    if not isinstance(moment, datetime):
        raise Open311Error(400, f"{name} 应为 W3C 时间,例如 2026-02-10T00:00:00+08:00")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA)
    if not EARLIEST <= moment <= LATEST:  # and the 90-day window before it stays a date
        raise Open311Error(400, f"{name} 应在 1970 至 2100 年之间")
    return moment


def window(query: Query, now: datetime) -> tuple[datetime, datetime]:
    """The reporting window of a query without ids: the 90 days before ``end`` (default now)."""
    end = query.end or now
    return query.start or end - DEFAULT_WINDOW, end


def select(views: Iterable[TicketView], query: Query, now: datetime) -> list[TicketView]:
    """Open311's rules: ids win over every other filter; otherwise the window is the 90 days
    before ``end_date`` (default: now); newest first, at most 1000."""
    if query.ids:
        wanted = set(query.ids)
        return [v for v in views if v.ticket_id in wanted][:MAX_RESULTS]
    start, end = window(query, now)
    chosen = [
        v
        for v in views
        if start <= (v.reported_at or v.received_at) <= end
        and (not query.codes or (v.category or "") in query.codes)
        and (not query.statuses or ("closed" if v.status == "closed" else "open") in query.statuses)
    ]
    chosen.sort(key=lambda v: v.reported_at or v.received_at, reverse=True)
    return chosen[:MAX_RESULTS]


def form_request(form: Mapping[str, str | None], codes: Iterable[str]) -> RequestIn:
    """``POST requests.json`` as a request; ``Open311Error(400)`` names what is wrong.

    Open311 has no upstream id: ``external_id`` (an extension) is used when sent, otherwise a
    digest of the content, so the same submission posted twice is one ticket."""
    code = (form.get("service_code") or "").strip()
    if not code:
        raise Open311Error(400, "service_code 必填 (required)")
    if code not in set(codes):
        raise Open311Error(404, f"service_code {code!r} 不存在,见 services.json")
    lat, lon = _coordinate(form, "lat", 90), _coordinate(form, "long", 180)
    address = (form.get("address_string") or "").strip() or None
    if (lat is None or lon is None) and address is None and not form.get("address_id"):
        raise Open311Error(400, "需要位置: lat 与 long,或 address_string,或 address_id")
    description = (form.get("description") or "").strip()
    if not description:
        raise Open311Error(400, "description 必填:请描述诉求")
    name = " ".join(p for p in (form.get("last_name"), form.get("first_name")) if p) or None
    external_id = (form.get("external_id") or "").strip() or _digest(form)
    phone, media = form.get("phone") or None, form.get("media_url") or None
    for field, value, limit in (
        ("external_id", external_id, 128),
        ("description", description, 4000),
        ("address_string", address, 300),
        ("first_name/last_name", name, 100),
        ("phone", phone, 40),
        ("media_url", media, 500),
    ):
        if value is not None and len(value) > limit:
            raise Open311Error(400, f"{field} 过长,最多 {limit} 个字符")
    fields = {
        "external_id": external_id,
        "description": description,
        "category": code,
        "location": Location(address=address, lat=lat, lon=lon),
        "reporter": Reporter(name=name, phone=phone),
        "attachments": [media] if media else [],
    }
    return RequestIn.model_validate(fields)


def _coordinate(form: Mapping[str, str | None], name: str, bound: float) -> float | None:
    text = (form.get(name) or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise Open311Error(400, f"{name} 应为数字") from exc
    if not -bound <= value <= bound:
        raise Open311Error(400, f"{name} 超出范围 ±{bound:g}")
    return value


def _digest(form: Mapping[str, str | None]) -> str:
    keys = (
        "service_code",
        "description",
        "lat",
        "long",
        "address_string",
        "address_id",
        "email",
        "phone",
        "device_id",
        "account_id",
    )
    text = "\x1f".join(str(form.get(k) or "") for k in keys)
    return "open311-" + hashlib.sha256(text.encode()).hexdigest()[:24]
