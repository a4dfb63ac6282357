"""``ehu``: a dispatch record of the "E呼即办" platform, including those relayed from a
小巷解忧屋 help point (a shop that takes residents' worries and reports them on)."""

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

TITLE = "E呼即办派单记录(含小巷解忧屋转报)"

EXAMPLE = {
    "事件编号": "EH20260212000123",
    "上报时间": "2026-02-12 09:05:12",
    "上报渠道": "小巷解忧屋",
    "解忧屋": {
        "名称": "老街五金店解忧屋",
        "编号": "XXJYW-FG-003",
        "联系人": "邓师傅",
        "联系电话": "13859871234",
    },
    "上报人": {"姓名": "王阿姨", "电话": "15880561234"},
    "事件描述": "北门小区3幢楼道灯坏了一个多星期,老人晚上上下楼看不见",
    "事件地点": "沙县区北门小区3幢",
    "所属社区": "城北社区",
    "所属网格": "城北社区第30微网格",
    "事件等级": "一般",
    "附件": [],
}


class HelpPoint(Native):
    name: Name = Field(alias="名称", min_length=1)
    code: str | None = Field(default=None, alias="编号", max_length=64)
    contact: Name | None = Field(default=None, alias="联系人")
    phone: Phone | None = Field(default=None, alias="联系电话")


class Person(Native):
    name: Name | None = Field(default=None, alias="姓名")
    phone: Phone | None = Field(default=None, alias="电话")


class DispatchRecord(Native):
    event_id: str = Field(alias="事件编号", min_length=1, max_length=128)
    reported_at: ChinaTime | None = Field(default=None, alias="上报时间")
    channel: str | None = Field(default=None, alias="上报渠道", max_length=40)
    help_point: HelpPoint | None = Field(default=None, alias="解忧屋")
    reporter: Person | None = Field(default=None, alias="上报人")
    content: str = Field(alias="事件描述", min_length=1, max_length=3800)
    address: Address | None = Field(default=None, alias="事件地点")
    community: Name | None = Field(default=None, alias="所属社区")
    microgrid: Name | None = Field(default=None, alias="所属网格")
    level: Literal["一般", "较急", "紧急", "特急"] = Field(default="一般", alias="事件等级")
    kind: str | None = Field(default=None, alias="事件类型", max_length=200)
    attachments: Photos = Field(default_factory=list, alias="附件")


def convert(record: DispatchRecord, catalog: Catalog) -> RequestIn:
    point = record.help_point
    relayed = f"经小巷解忧屋「{point.name}」转报" if point is not None else None
    person = record.reporter
    reporter = (
        Reporter(name=person.name, phone=person.phone)
        if person is not None and (person.name or person.phone)
        else Reporter(name=point.contact, phone=point.phone)
        if point is not None
        else None
    )
    return RequestIn(
        external_id=record.event_id,
        description=join_text(("", record.content), ("", relayed)),
        category=catalog.code_for(record.kind),
        location=Location(
            address=record.address, community=record.community, microgrid=record.microgrid
        ),
        reporter=reporter,
        urgent=record.level in ("紧急", "特急"),
        reported_at=record.reported_at,
        attachments=record.attachments,
    )
