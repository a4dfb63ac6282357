"""``hotline-110``: a case record (案卷) of the city-management 110 hotline (城管110)."""

from __future__ import annotations

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
    YesNo,
)
from services.intake.models import RequestIn

TITLE = "城管110热线案卷"

EXAMPLE = {
    "案卷编号": "CG110-2026-000731",
    "受理时间": "2026/02/11 21:47",
    "举报人": "陈先生",
    "联系电话": "0598-5823317",
    "问题大类": "市容环境",
    "问题小类": "占道经营",
    "问题描述": "府前路夜市烧烤摊把桌椅摆到人行道上,油烟很大,行人只能走机动车道",
    "案发地址": "沙县区凤岗街道府前路68号前",
    "所属社区": "府前社区",
    "经度": 117.7921,
    "纬度": 26.3968,
    "是否紧急": "否",
    "现场照片": ["https://img.example.cn/cg110/000731-1.jpg"],
}


class CaseRecord(Native):
    case_id: str = Field(alias="案卷编号", min_length=1, max_length=128)
    accepted_at: ChinaTime | None = Field(default=None, alias="受理时间")
    informant: Name | None = Field(default=None, alias="举报人")
    phone: Phone | None = Field(default=None, alias="联系电话")
    major: str | None = Field(default=None, alias="问题大类", max_length=100)
    minor: str | None = Field(default=None, alias="问题小类", max_length=100)
    content: str = Field(alias="问题描述", min_length=1, max_length=4000)
    address: Address | None = Field(default=None, alias="案发地址")
    community: Name | None = Field(default=None, alias="所属社区")
    lon: float | None = Field(default=None, alias="经度", ge=-180, le=180)
    lat: float | None = Field(default=None, alias="纬度", ge=-90, le=90)
    urgent: YesNo = Field(default=False, alias="是否紧急")
    photos: Photos = Field(default_factory=list, alias="现场照片")


def convert(case: CaseRecord, catalog: Catalog) -> RequestIn:
    return RequestIn(
        external_id=case.case_id,
        description=case.content,
        category=catalog.code_for(case.minor) or catalog.code_for(case.major),
        location=Location(
            address=case.address, community=case.community, lat=case.lat, lon=case.lon
        ),
        reporter=Reporter(name=case.informant, phone=case.phone),
        urgent=case.urgent,
        reported_at=case.accepted_at,
        attachments=case.photos,
    )
