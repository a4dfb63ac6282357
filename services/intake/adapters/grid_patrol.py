"""``grid-patrol``: an entry of a grid worker's patrol ledger (民情账本): the household
visited, what was seen, the resident's request (诉求) and the proposed solution (解决办法)."""

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
    join_text,
)
from services.intake.models import RequestIn

TITLE = "网格员民情账本条目"

EXAMPLE = {
    "台账编号": "MQZB-CB-01-03-20260215-02",
    "网格员": {"姓名": "乐秀建", "所属网格": "城北社区第3微网格", "所属社区": "城北社区"},
    "走访日期": "2026年2月15日",
    "走访对象": {
        "户主": "张大爷",
        "门牌地址": "城北新村南区2幢401",
        "联系电话": "13905986677",
        "家庭人数": 2,
    },
    "走访情况": "老两口独居,儿女在外地",
    "诉求": "楼下化粪池污水外溢,味道很大,整栋楼都受影响",
    "解决办法": "联系水务部门疏通污水管,社区先组织清扫",
    "涉及户数": 24,
    "照片": [],
}


class Worker(Native):
    name: Name = Field(alias="姓名", min_length=1)
    grid: Name | None = Field(default=None, alias="所属网格")
    community: Name | None = Field(default=None, alias="所属社区")


class Household(Native):
    head: Name | None = Field(default=None, alias="户主")
    address: Address | None = Field(default=None, alias="门牌地址")
    phone: Phone | None = Field(default=None, alias="联系电话")
    size: int | None = Field(default=None, alias="家庭人数", ge=0, le=100)


class LedgerEntry(Native):
    entry_id: str = Field(alias="台账编号", min_length=1, max_length=128)
    worker: Worker = Field(alias="网格员")
    visited_on: ChinaTime | None = Field(default=None, alias="走访日期")
    household: Household | None = Field(default=None, alias="走访对象")
    visit: str | None = Field(default=None, alias="走访情况", max_length=1000)
    request: str = Field(alias="诉求", min_length=1, max_length=2000)
    solution: str | None = Field(default=None, alias="解决办法", max_length=900)
    households: int | None = Field(default=None, alias="涉及户数", ge=0, le=1_000_000)
    photos: Photos = Field(default_factory=list, alias="照片")


def convert(entry: LedgerEntry, catalog: Catalog) -> RequestIn:
    home, worker = entry.household, entry.worker
    return RequestIn(
        external_id=entry.entry_id,
        description=join_text(
            ("", entry.request),
            ("走访情况:", entry.visit),
            ("网格员拟解决办法:", entry.solution),
            ("记录人:网格员", worker.name),
        ),
        location=Location(
            address=home.address if home else None,
            community=worker.community,
            microgrid=worker.grid,
        ),
        reporter=Reporter(name=home.head, phone=home.phone) if home else None,
        households_affected=entry.households,
        reported_at=entry.visited_on,
        attachments=entry.photos,
    )
