"""Open311 GeoReport v2 (``/open311/v2``): services, posting a request, reading requests.

``api_key`` (form field) or the bearer header authenticates a POST; GETs are public, as in
GeoReport v2, and show no reporter data. Errors are Open311's ``[{"code", "description"}]``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Form, Query, Request, Response

from services.intake import docs
from services.intake.auth import IntakeDep, bearer_key
from services.intake.models import now
from services.intake.open311 import (
    MAX_RESULTS,
    Open311Error,
    form_request,
    parse_query,
    request_document,
    select,
    services_document,
    window,
)
from services.intake.open311 import Query as Filters
from services.intake.readmodel import ReadModel
from services.intake.routes import find_view
from services.intake.runtime import Intake
from services.intake.views import TicketView

router = APIRouter(prefix="/open311/v2", tags=["Open311 GeoReport v2"])

SERVICE = {
    "type": "object",
    "required": ["service_code", "service_name", "metadata", "type"],
    "properties": {
        "service_code": {"type": "string"},
        "service_name": {"type": "string"},
        "description": {"type": ["string", "null"]},
        "metadata": {"type": "boolean"},
        "type": {"type": "string", "enum": ["realtime", "batch", "blackbox"]},
        "keywords": {"type": ["string", "null"]},
        "group": {"type": ["string", "null"]},
    },
}
NULLABLE_TEXT = {"type": ["string", "null"]}
SERVICE_REQUEST = {
    "type": "object",
    "required": ["service_request_id", "status", "service_code", "requested_datetime"],
    "properties": {
        "service_request_id": {"type": "string"},
        "status": {"type": "string", "enum": ["open", "closed"]},
        "status_notes": NULLABLE_TEXT,
        "service_name": NULLABLE_TEXT,
        "service_code": {"type": "string"},
        "description": NULLABLE_TEXT,
        "agency_responsible": NULLABLE_TEXT,
        "service_notice": NULLABLE_TEXT,
        "requested_datetime": {"type": "string", "format": "date-time"},
        "updated_datetime": {"type": ["string", "null"], "format": "date-time"},
        "expected_datetime": {"type": ["string", "null"], "format": "date-time"},
        "address": NULLABLE_TEXT,
        "address_id": NULLABLE_TEXT,
        "zipcode": NULLABLE_TEXT,
        "lat": {"type": ["number", "null"]},
        "long": {"type": ["number", "null"]},
        "media_url": NULLABLE_TEXT,
    },
}
POSTED = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["service_request_id"],
        "properties": {
            "service_request_id": {"type": "string"},
            "service_notice": NULLABLE_TEXT,
            "account_id": NULLABLE_TEXT,
        },
    },
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _render(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _documents(intake: Intake, views: list[Any]) -> list[dict[str, Any]]:
    default = intake.policy.default_category
    return [request_document(v, intake.catalog.names, default) for v in views]


@router.get(
    "/services.json",
    summary="服务类别(诉求分类)",
    response_class=Response,
    responses={200: _json({"type": "array", "items": SERVICE}, "the policy's categories")},
)
async def services(
    intake: IntakeDep,
    jurisdiction_id: Annotated[str | None, Query(description="可省略:本系统只服务一个辖区")] = None,
) -> Response:
    """Every category of the policy in force, with its Chinese name, as an Open311 service."""
    return _render(services_document(intake.services))


@router.post(
    "/requests.json",
    summary="提交服务请求(表单编码)",
    status_code=201,
    response_class=Response,
    responses={
        201: _json(POSTED, "受理:service_request_id 即工单号"),
        200: _json(POSTED, "重复提交:同一工单"),
        **docs.open311_errors(400, 403, 404),
    },
)
async def post_request(
    request: Request,
    intake: IntakeDep,
    service_code: Annotated[str | None, Form(description="见 services.json")] = None,
    api_key: Annotated[str | None, Form(description="来源密钥,可代替 Bearer 头")] = None,
    jurisdiction_id: Annotated[str | None, Form()] = None,
    lat: Annotated[str | None, Form(description="纬度 WGS-84")] = None,
    long: Annotated[str | None, Form(description="经度 WGS-84")] = None,
    address_string: Annotated[str | None, Form(description="地址")] = None,
    address_id: Annotated[str | None, Form()] = None,
    email: Annotated[str | None, Form()] = None,
    device_id: Annotated[str | None, Form()] = None,
    account_id: Annotated[str | None, Form()] = None,
    first_name: Annotated[str | None, Form()] = None,
    last_name: Annotated[str | None, Form()] = None,
    phone: Annotated[str | None, Form()] = None,
    description: Annotated[str | None, Form(description="诉求内容")] = None,
    media_url: Annotated[str | None, Form()] = None,
    external_id: Annotated[
        str | None, Form(description="扩展:上游自己的编号,用于去重;缺省时按内容摘要去重")
    ] = None,
) -> Response:
    """A service request, form-encoded, as GeoReport v2 defines it; 201 with the ticket id
    once Kafka acknowledged it, 200 with the same id when it was posted before."""
    key = api_key or bearer_key(request)
    source = intake.source_for(key) if key else None
    if source is None:
        raise Open311Error(403, "api_key 无效或缺失 (invalid or missing api_key)")
    form = {
        "service_code": service_code,
        "lat": lat,
        "long": long,
        "address_string": address_string,
        "address_id": address_id,
        "email": email,
        "device_id": device_id,
        "account_id": account_id,
        "first_name": first_name,
        "last_name": last_name,
        "phone": phone,
        "description": description,
        "media_url": media_url,
        "external_id": external_id,
    }
    body = form_request(form, intake.catalog.names)
    [result] = await intake.admission.admit([body], source, "open311", now())
    if result.conflict:
        raise Open311Error(409, "external_id 已受理过且内容不同,以首次为准 (different body)")
    intake.accepted.labels(source, "duplicate" if result.duplicate else "accepted", "open311").inc()
    notice = "该请求此前已受理,工单号不变" if result.duplicate else "已受理,将按接诉即办流程派单"
    answer = [
        {"service_request_id": result.ticket_id, "service_notice": notice, "account_id": None}
    ]
    return _render(answer, 200 if result.duplicate else 201)


@router.get(
    "/requests/{service_request_id}.json",
    summary="查询一个服务请求",
    response_class=Response,
    responses={
        200: _json({"type": "array", "items": SERVICE_REQUEST}, "the ticket as a service request"),
        **docs.open311_errors(404),
    },
)
async def get_request(
    service_request_id: str,
    intake: IntakeDep,
    jurisdiction_id: Annotated[str | None, Query(description="可省略:本系统只服务一个辖区")] = None,
) -> Response:
    """One ticket: status open/closed, status_notes, agency_responsible, expected_datetime."""
    found = await find_view(intake, service_request_id)
    if found is None:
        raise Open311Error(404, f"service_request_id {service_request_id[:40]!r} 不存在")
    return _render(_documents(intake, [found]))


@router.get(
    "/requests.json",
    summary="查询服务请求列表",
    response_class=Response,
    responses={
        200: _json({"type": "array", "items": SERVICE_REQUEST}, "newest first, at most 1000"),
        **docs.open311_errors(400),
    },
)
async def list_requests(
    intake: IntakeDep,
    service_request_id: Annotated[
        str | None, Query(description="逗号分隔;给出时忽略其他条件")
    ] = None,
    service_code: Annotated[str | None, Query(description="逗号分隔")] = None,
    start_date: Annotated[str | None, Query(description="W3C 时间")] = None,
    end_date: Annotated[str | None, Query(description="W3C 时间;缺省为现在")] = None,
    status: Annotated[str | None, Query(description="open、closed,逗号分隔")] = None,
    jurisdiction_id: Annotated[str | None, Query(description="可省略:本系统只服务一个辖区")] = None,
) -> Response:
    """Tickets filtered as GeoReport v2 says: by ids, or by codes, status and a date window
    (default: the 90 days before ``end_date``)."""
    query = parse_query(service_request_id, service_code, status, start_date, end_date)
    at = now()
    chosen = select(candidates(intake.readmodel, query, at), query, at)
    return _render(_documents(intake, chosen))


def candidates(model: ReadModel, query: Filters, at: datetime) -> list[TicketView]:
    """The tickets ``select`` chooses from, narrowed in the read model's store: by ids, else by
    the window, the status and the codes, newest first."""
    if query.ids:
        return model.of_ids(query.ids)
    start, end = window(query, at)
    wanted = set(query.statuses)
    closed = None if len(wanted) != 1 else wanted == {"closed"}
    return model.reported_between(start, end, closed, query.codes, MAX_RESULTS)
