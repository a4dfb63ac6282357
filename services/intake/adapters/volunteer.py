"""``volunteer``: a volunteer's 随手拍 (snapshot) or one of the 五闪 (贵阳's delivery riders and
couriers: 闪帮 help, 闪拍 photograph, 闪宣 publicise, 闪除 remove ads, 闪报 report emergencies)
with photos and a place; with the volunteer's 志愿者编号 it earns points (积分) once resolved."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.events import Location, Reporter, VolunteerId, VolunteerKind
from services.intake.adapters.common import (
    Address,
    Catalog,
    ChinaTime,
    Name,
    Native,
    Phone,
    Photos,
    YesNo,
    join_text,
)
from services.intake.models import RequestIn

TITLE = "志愿者随手拍/闪报"

EXAMPLE = {
    "上报编号": "SSP-20260216-0588",
    "上报类型": "随手拍",
    "上报时间": "2026-02-16 07:31:09",
    "志愿者": {
        "编号": "WS-RIDER-0231",
        "姓名": "黄明",
        "手机": "18805988182",
        "队伍": "五闪骑手志愿队",
    },
    "描述": "长泰花园门口垃圾桶满了没人清运,垃圾堆到路边",
    "位置": {"地址": "沙县区长泰花园南门", "经度": 117.7893, "纬度": 26.3991},
    "是否紧急": False,
    "照片": ["https://img.example.cn/ssp/0588-1.jpg", "https://img.example.cn/ssp/0588-2.jpg"],
}


KINDS: dict[str, VolunteerKind] = {
    "随手拍": "photo",
    "闪拍": "photo",
    "闪帮": "help",
    "闪宣": "publicity",
    "闪除": "remove",
    "闪报": "report",
}


class Volunteer(Native):
    volunteer_id: VolunteerId | None = Field(default=None, alias="编号")
    name: Name | None = Field(default=None, alias="姓名")
    phone: Phone | None = Field(default=None, alias="手机")
    team: Name | None = Field(default=None, alias="队伍")


class Place(Native):
    address: Address | None = Field(default=None, alias="地址")
    lon: float | None = Field(default=None, alias="经度", ge=-180, le=180)
    lat: float | None = Field(default=None, alias="纬度", ge=-90, le=90)


class Snapshot(Native):
    report_id: str = Field(alias="上报编号", min_length=1, max_length=128)
    kind: Literal["随手拍", "闪拍", "闪帮", "闪宣", "闪除", "闪报"] = Field(alias="上报类型")
    reported_at: ChinaTime | None = Field(default=None, alias="上报时间")
    volunteer: Volunteer | None = Field(default=None, alias="志愿者")
    content: str = Field(alias="描述", min_length=1, max_length=3800)
    place: Place | None = Field(default=None, alias="位置")
    urgent: YesNo = Field(default=False, alias="是否紧急")
    photos: Photos = Field(default_factory=list, alias="照片")


def convert(snap: Snapshot, catalog: Catalog) -> RequestIn:
    person, place = snap.volunteer, snap.place
    team = f"志愿者({person.team})上报" if person and person.team else None
    return RequestIn(
        external_id=snap.report_id,
        description=join_text((f"【{snap.kind}】", snap.content), ("", team)),
        location=Location(address=place.address, lat=place.lat, lon=place.lon) if place else None,
        reporter=Reporter(name=person.name, phone=person.phone) if person else None,
        urgent=snap.urgent,
        reported_at=snap.reported_at,
        attachments=snap.photos,
        volunteer_id=person.volunteer_id if person else None,
        kind=KINDS[snap.kind] if person and person.volunteer_id else None,
    )
