"""The intake's own routes (``/v1``): requests one by one, in batches, in a source's native
format; a ticket's state; handlers' and reporters' updates; the 五闪 volunteers' ranking."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Annotated, Any

from aiokafka.errors import KafkaError
from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from schemas.events import Resolution
from services.common.bus import publish
from services.common.identity import label
from services.common.privacy import mask_name
from services.intake import docs
from services.intake.adapters import ADAPTERS, AdapterError
from services.intake.admission import BrokerUnavailableError
from services.intake.auth import Caller, IntakeDep, Source
from services.intake.guard import Permitted, state_errors, visible_view
from services.intake.models import RequestIn, aware, now, source_errors
from services.intake.problems import ProblemError, validation_entries
from services.intake.runtime import Intake
from services.intake.shelf import ShelfPage, shelf_page
from services.intake.updates import (
    EVENT_TYPE,
    UpdateAccepted,
    UpdateIn,
    rule_errors,
    update_cause,
    update_event,
)
from services.intake.views import TicketView
from services.reports.volunteers import Ranking, ranking

MAX_BATCH = 100
CONFLICT = (
    "this external_id was accepted before with a different body; the first one stands "
    "(send changes as a new external_id, or as an update to the ticket)"
)
router = APIRouter(prefix="/v1")


class Accepted(BaseModel):
    ticket_id: str = Field(examples=["T0G8Z3K7QW2M4X"])


class BatchIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "requests": [
                        {
                            "external_id": "12345-20260210-0042",
                            "description": "城北新村南区5幢没有路灯,晚上回家不安全",
                        },
                        {
                            "external_id": "12345-20260210-0043",
                            "description": "金城嘉园3幢楼上邻居半夜拖椅子,噪音很大",
                            "location": {"address": "沙县区金城嘉园3幢"},
                        },
                    ]
                }
            ]
        },
    )

    requests: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_BATCH,
        description=f"至多 {MAX_BATCH} 条,每条的格式同 POST /v1/requests;逐条校验,逐条给出结果",
    )


class ItemResult(BaseModel):
    index: int
    status: int = Field(description="202 新受理, 200 重复(同一工单), 409 同号异文, 422 无效")
    ticket_id: str | None = None
    errors: list[dict[str, str]] | None = None


class BatchResult(BaseModel):
    accepted: int
    duplicates: int
    invalid: int
    results: list[ItemResult]


async def admit_one(intake: Intake, body: RequestIn, source: str, response: Response) -> Accepted:
    [result] = await intake.admission.admit([body], source, "http", now())
    if result.conflict:
        intake.accepted.labels(source, "conflict", "http").inc()
        raise ProblemError(409, CONFLICT)
    outcome = "duplicate" if result.duplicate else "accepted"
    intake.accepted.labels(source, outcome, "http").inc()
    response.status_code = 200 if result.duplicate else 202
    return Accepted(ticket_id=result.ticket_id)


@router.post(
    "/requests",
    status_code=202,
    response_model=Accepted,
    summary="提交一条诉求",
    responses={
        200: {"model": Accepted, "description": "同一 (source, external_id) 已受理过:同一工单"},
        **docs.problems(401, 403, 409, 422),
    },
)
async def post_request(
    body: RequestIn, src: Source, intake: IntakeDep, response: Response
) -> Accepted:
    """One request → 202 with its ticket id, once Kafka acknowledged it; the same
    ``(source, external_id)`` again → 200 with the same ticket id, or 409 when its body differs.
    ``volunteer_id`` and ``kind`` (五闪) come from the ``volunteer`` source only, together."""
    errors = source_errors(body, src)
    if errors:
        raise ProblemError(422, f"{len(errors)} invalid field(s)", errors=errors)
    return await admit_one(intake, body, src, response)


@router.post(
    "/requests:batch",
    response_model=BatchResult,
    summary="批量提交诉求",
    responses=docs.problems(401, 403, 422),
)
async def post_batch(body: BatchIn, src: Source, intake: IntakeDep) -> BatchResult:
    """Up to 100 requests; one result per item (202 accepted, 200 duplicate, 422 invalid).
    When Kafka does not acknowledge, the whole batch is 503: retrying it is safe."""
    valid: list[tuple[int, RequestIn]] = []
    results: dict[int, ItemResult] = {}
    for index, item in enumerate(body.requests):
        try:
            request = RequestIn.model_validate(item)
        except ValidationError as exc:
            entries = validation_entries(list(exc.errors()))
        else:
            entries = source_errors(request, src)
            if not entries:
                valid.append((index, request))
                continue
        prefixed = [{**e, "pointer": f"#/requests/{index}/" + e["pointer"][2:]} for e in entries]
        results[index] = ItemResult(index=index, status=422, errors=prefixed)
    admitted = await intake.admission.admit([r for _, r in valid], src, "http", now())
    for (index, _), result in zip(valid, admitted, strict=True):
        if result.conflict:
            errors = [{"pointer": f"#/requests/{index}/external_id", "detail": CONFLICT}]
            results[index] = ItemResult(
                index=index, status=409, ticket_id=result.ticket_id, errors=errors
            )
            intake.accepted.labels(src, "conflict", "http").inc()
            continue
        status = 200 if result.duplicate else 202
        results[index] = ItemResult(index=index, status=status, ticket_id=result.ticket_id)
        intake.accepted.labels(src, "duplicate" if result.duplicate else "accepted", "http").inc()
    ordered = [results[i] for i in range(len(body.requests))]
    return BatchResult(
        accepted=sum(r.status == 202 for r in ordered),
        duplicates=sum(r.status == 200 for r in ordered),
        invalid=sum(r.status == 422 for r in ordered),
        results=ordered,
    )


@router.post(
    "/native",
    status_code=202,
    response_model=Accepted,
    summary="按来源原生格式提交",
    responses={
        200: {"model": Accepted, "description": "已受理过:同一工单"},
        **docs.problems(401, 403, 409, 422),
    },
    openapi_extra=docs.native_body(),
)
async def post_native(
    request: Request, src: Source, intake: IntakeDep, response: Response
) -> Accepted:
    """The source's own payload, as it is (the key's source picks the adapter); a payload the
    adapter cannot read is a 422 naming each wrong native field (``#/来电号码``)."""
    raw = await request.body()
    try:
        body = ADAPTERS[src].adapt_bytes(raw, intake.catalog)
    except AdapterError as exc:
        intake.accepted.labels(src, "invalid", "http").inc()
        errors = [{"pointer": p.pointer, "detail": p.detail} for p in exc.problems]
        raise ProblemError(422, exc.reason, errors=errors) from exc
    return await admit_one(intake, body, src, response)


async def find_view(intake: Intake, ticket_id: str) -> TicketView | None:
    """The ticket, also when another instance accepted it a moment ago."""
    found = intake.readmodel.view(ticket_id)
    if found is None:
        await intake.readmodel.tail.sync()
        found = intake.readmodel.view(ticket_id)
    return found


@router.get(
    "/tickets/{ticket_id}",
    response_model=TicketView,
    summary="工单当前状态与时间线",
    responses=docs.problems(401, 404),
)
async def get_ticket(ticket_id: str, caller: Caller, intake: IntakeDep) -> TicketView:
    """Current state and timeline (phone and ID numbers masked), for the source that submitted
    it, the handlers on its assignment path and operators; 404 for anyone else."""
    return await visible_view(intake, ticket_id, caller)


@router.post(
    "/tickets/{ticket_id}/updates",
    status_code=202,
    response_model=UpdateAccepted,
    summary="处置人或上报人的更新",
    responses={
        200: {"model": UpdateAccepted, "description": "同一 Idempotency-Key:同一事件"},
        **docs.problems(401, 403, 404, 409, 422),
    },
)
async def post_update(
    ticket_id: str,
    body: UpdateIn,
    caller: Permitted,
    intake: IntakeDep,
    response: Response,
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=200,
            description="同一工单同一个键 → 同一事件 id,第二次答 200",
        ),
    ] = None,
) -> UpdateAccepted:
    """claim 签收, reject 退单 (``reason_code``), resolve 办结, feedback 回访评价
    (``satisfaction``, ``solved``, ``contacted``), reopen 重新办理, whistle 吹哨报到
    (``department``), and the work order: extend 延期申请 (``resolve_by``), approve 批准 /
    refuse 驳回 (``request``, approve of a reject optionally ``to``), reassign 改派 (``to``),
    reclassify (``tier``/``category``), invalidate 无效件 (``reason_code``), split, merge
    (``into``), remind 催办, supplement 补充 (``note``); the seeds' own: report_in 报到 (the one
    whistled in), schedule 约定近邻恳谈会 (``at``, ``place``) and hold 召开 (``outcome``,
    ``minutes``, ``handoff``) by the convener; 202 once Kafka acknowledged.
    Who may do which action: README, "Who may do what" (403 otherwise). The event records
    the authenticated caller (``principal``) beside the free-text ``actor``."""
    errors = rule_errors(body, intake.policy, now()) or await state_errors(intake, ticket_id, body)
    if errors:
        raise ProblemError(422, f"{len(errors)} invalid field(s)", errors=errors)
    state = intake.readmodel.state(ticket_id)
    assert state is not None and state.request is not None  # permitted_update found it
    ticket = state.ticket_id
    cause = update_cause(ticket, label(caller), idempotency_key or str(uuid.uuid4()))
    event = update_event(
        ticket, body, caller, cause, state.request.correlationid, intake.policy, now()
    )
    if idempotency_key is not None:
        if not state.has(event.id):
            await intake.readmodel.tail.sync()
            state = intake.readmodel.state(ticket) or state
        seen = state.entry(event.id)
        if seen is not None:
            if seen.type != EVENT_TYPE[body.action]:
                raise ProblemError(409, "this Idempotency-Key was used for another update")
            response.status_code = 200
            return UpdateAccepted(ticket_id=ticket, event_id=event.id)
    producer = intake.producer
    if producer is None:
        raise BrokerUnavailableError("the intake is starting")
    try:
        await asyncio.wait_for(publish(producer, intake.names, event), 10.0)
    except (KafkaError, TimeoutError) as exc:
        intake.updates.labels(body.action, "unavailable").inc()
        raise BrokerUnavailableError("the update was not acknowledged") from exc
    intake.readmodel.apply(event)
    intake.updates.labels(body.action, "accepted").inc()
    return UpdateAccepted(ticket_id=ticket, event_id=event.id)


@router.get(
    "/volunteers/ranking",
    response_model=Ranking,
    response_model_by_alias=True,
    summary="五闪志愿者积分排行",
    responses=docs.problems(401, 422),
)
async def volunteers_ranking(
    caller: Caller,
    intake: IntakeDep,
    start: Annotated[
        datetime | None,
        Query(alias="from", description="awards from (ISO date or time; without offset: China)"),
    ] = None,
    end: Annotated[datetime | None, Query(alias="to", description="awards before")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="at most this many")] = 100,
) -> Ranking:
    """Volunteers by the points their resolved reports earned in ``[from, to)`` (an invalid or
    merged-away report earns none); names masked. Any valid credential may read it."""
    start, end = aware(start), aware(end)
    if start is not None and end is not None and end <= start:
        raise ProblemError(
            422, "to must be later than from", errors=[{"pointer": "#/to", "detail": "须晚于 from"}]
        )
    await intake.readmodel.tail.sync()  # an award a moment old is counted
    model = intake.readmodel
    return ranking(
        model.awards(start, end), lambda t: mask_name(model.reporter_name(t)), start, end, limit
    )


@router.get(
    "/shelf",
    response_model=ShelfPage,
    summary="解忧超市货架:待认领的诉求",
    responses=docs.problems(401, 422),
)
async def get_shelf(
    caller: Caller,
    intake: IntakeDep,
    kind: Annotated[
        Resolution | None,
        Query(
            alias="type", description="government 政府解决类, market 市场解决类, charity 爱心救助类"
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ShelfPage:
    """The worries on the shelf (oldest first), masked as the public view: a handler or a
    helper adopts one with ``POST /v1/tickets/{id}/updates`` ``{"action": "adopt"}``. Any
    valid credential may read it."""
    await intake.readmodel.tail.sync()  # a worry shelved a moment ago is listed
    return shelf_page(intake.readmodel.with_status("shelved"), kind, limit, offset)
