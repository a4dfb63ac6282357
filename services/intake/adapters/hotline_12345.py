"""``hotline-12345``: a work order (工单) of the 12345 government service hotline."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.events import Location, Reporter
from services.intake.adapters.common import (
    Address,
    Catalog,
    ChinaTime,
    Name,
    Native,
    Phone,
    Photos,
    join_text,
)
from services.intake.models import RequestIn

TITLE = "12345 政务服务便民热线工单"

EXAMPLE = {
    "工单编号": "SX12345-20260210-0042",
    "来电时间": "2026-02-10 19:20:31",
    "来电人": "赖女士",
    "来电号码": "13905981234",
    "诉求内容": "城北新村南区5幢没有路灯,晚上回家不安全,老人孩子走夜路容易摔",
    "诉求地址": "沙县区凤岗街道城北新村南区5幢",
    "诉求类型": "城乡建设/市政设施/路灯照明",
    "紧急程度": "一般",
    "所属街道": "凤岗街道",
    "所属社区": "城北社区",
    "来电次数": 2,
    "涉及户数": 30,
}


class WorkOrder(Native):
    order_id: str = Field(alias="工单编号", min_length=1, max_length=128)
    called_at: ChinaTime | None = Field(default=None, alias="来电时间")
    caller: Name | None = Field(default=None, alias="来电人")
    phone: Phone | None = Field(default=None, alias="来电号码")
    content: str = Field(alias="诉求内容", min_length=1, max_length=4000)
    address: Address | None = Field(default=None, alias="诉求地址")
    kind: str | None = Field(default=None, alias="诉求类型", max_length=200)
    urgency: Literal["一般", "紧急", "特急"] = Field(default="一般", alias="紧急程度")
    community: Name | None = Field(default=None, alias="所属社区")
    lat: float | None = Field(default=None, alias="纬度", ge=-90, le=90)
    lon: float | None = Field(default=None, alias="经度", ge=-180, le=180)
    calls: int = Field(default=1, alias="来电次数", ge=1, le=1000)
    households: int | None = Field(default=None, alias="涉及户数", ge=0, le=1_000_000)
    attachments: Photos = Field(default_factory=list, alias="附件")


def convert(order: WorkOrder, catalog: Catalog) -> RequestIn:
    repeat = f"群众反映多次(第{order.calls}次来电)" if order.calls > 1 else None
    return RequestIn(
        external_id=order.order_id,
        description=join_text(("", order.content), ("", repeat)),
        category=catalog.code_for(order.kind),
        location=Location(
            address=order.address, community=order.community, lat=order.lat, lon=order.lon
        ),
        reporter=Reporter(name=order.caller, phone=order.phone),
        urgent=order.urgency != "一般",
        households_affected=order.households,
        reported_at=order.called_at,
        attachments=order.attachments,
    )
