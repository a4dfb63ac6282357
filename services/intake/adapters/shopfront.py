"""``shopfront``: a report from a shopfront help point (小巷解忧屋: a hardware shop, a
supermarket, a clinic): the shop, who asked, what for; emergencies included."""

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
    join_text,
)
from services.intake.models import RequestIn

TITLE = "小巷解忧屋(沿街店铺)求助报告"

EXAMPLE = {
    "报告编号": "JYW-FMD-20260213-007",
    "报告时间": "2026-02-13 16:42:00",
    "店铺": {
        "名称": "福满多超市",
        "类型": "超市",
        "地址": "沙县区凤岗街道西门路12号",
        "店主": "罗国燕",
        "店主电话": "19205988666",
    },
    "求助人": {"姓名": "路人(未留姓名)", "电话": None, "情况": "六十多岁男性"},
    "求助事项": "一位老人在超市门口突然晕倒,叫不醒",
    "是否紧急": "是",
    "已采取措施": "已拨打120,店员在旁看护",
    "照片": [],
}


class Shop(Native):
    name: Name = Field(alias="名称", min_length=1)
    kind: str | None = Field(default=None, alias="类型", max_length=40)
    address: Address | None = Field(default=None, alias="地址")
    owner: Name | None = Field(default=None, alias="店主")
    owner_phone: Phone | None = Field(default=None, alias="店主电话")


class Asker(Native):
    name: Name | None = Field(default=None, alias="姓名")
    phone: Phone | None = Field(default=None, alias="电话")
    about: str | None = Field(default=None, alias="情况", max_length=200)


class ShopReport(Native):
    report_id: str = Field(alias="报告编号", min_length=1, max_length=128)
    reported_at: ChinaTime | None = Field(default=None, alias="报告时间")
    shop: Shop = Field(alias="店铺")
    asker: Asker | None = Field(default=None, alias="求助人")
    matter: str = Field(alias="求助事项", min_length=1, max_length=3000)
    urgent: YesNo = Field(default=False, alias="是否紧急")
    done: str | None = Field(default=None, alias="已采取措施", max_length=500)
    photos: Photos = Field(default_factory=list, alias="照片")


def convert(report: ShopReport, catalog: Catalog) -> RequestIn:
    shop, asker = report.shop, report.asker
    who = asker.about if asker is not None else None
    reporter = (
        Reporter(name=asker.name, phone=asker.phone)
        if asker is not None and asker.phone
        else Reporter(name=shop.owner, phone=shop.owner_phone)
    )
    return RequestIn(
        external_id=report.report_id,
        description=join_text(
            ("", report.matter),
            ("求助人:", who),
            ("已采取措施:", report.done),
            ("报告点:", f"{shop.name}({shop.kind})" if shop.kind else shop.name),
        ),
        location=Location(address=shop.address),
        reporter=reporter,
        urgent=report.urgent,
        reported_at=report.reported_at,
        attachments=report.photos,
    )
