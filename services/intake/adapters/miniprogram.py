"""``miniprogram``: a post on the 解忧超市 mini-program: a resident "puts a worry on the shelf"
(心事 or 心愿) on the government, market or charity shelf (政府/市场/爱心)."""

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

TITLE = "解忧超市小程序帖子(心事/心愿)"

SHELVES: dict[str, Literal["government", "market", "charity"]] = {
    "政府": "government",
    "政府解决类": "government",
    "市场": "market",
    "市场解决类": "market",
    "爱心": "charity",
    "爱心救助类": "charity",
}

EXAMPLE = {
    "帖子编号": "JYCS-2026-0214-0031",
    "发布时间": "2026-02-14T08:15:00+08:00",
    "类型": "心愿",
    "货架": "爱心",
    "内容": "独居老人想请志愿者帮忙在网上做养老金资格认证,自己不会用智能手机",
    "发布人": {"昵称": "金城嘉园·林奶奶", "手机号": "13605984047"},
    "所在小区": "金城嘉园",
    "详细地址": "沙县区金城嘉园6幢102",
    "照片": ["https://img.example.cn/jycs/0031-1.jpg"],
}


class Poster(Native):
    nickname: Name | None = Field(default=None, alias="昵称")
    phone: Phone | None = Field(default=None, alias="手机号")


class Post(Native):
    post_id: str = Field(alias="帖子编号", min_length=1, max_length=128)
    posted_at: ChinaTime | None = Field(default=None, alias="发布时间")
    kind: Literal["心事", "心愿"] = Field(alias="类型")
    shelf: Literal["政府", "市场", "爱心", "政府解决类", "市场解决类", "爱心救助类"] | None = Field(
        default=None, alias="货架"
    )
    content: str = Field(alias="内容", min_length=1, max_length=3900)
    poster: Poster | None = Field(default=None, alias="发布人")
    estate: Name | None = Field(default=None, alias="所在小区")
    address: Address | None = Field(default=None, alias="详细地址")
    photos: Photos = Field(default_factory=list, alias="照片")


def convert(post: Post, catalog: Catalog) -> RequestIn:
    poster = post.poster
    return RequestIn(
        external_id=post.post_id,
        description=join_text((f"【{post.kind}】", post.content)),
        location=Location(address=post.address or post.estate),
        reporter=Reporter(name=poster.nickname, phone=poster.phone) if poster else None,
        resolution_hint=SHELVES[post.shelf] if post.shelf else None,
        reported_at=post.posted_at,
        attachments=post.photos,
    )
