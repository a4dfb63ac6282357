"""The routing policy as versioned data: categories, lexicon, tier rules, deadlines, grid directory.

A policy file (YAML) is validated by these models; its version is ``name@<content hash>``, and
with a ``DISPATCH_SLA_SCALE`` other than 1 the scale is part of the version, because it changes
every deadline the router decides.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import date, time, timedelta
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Literal, get_args

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.events import Level, Resolution, Source, Tier, VolunteerKind

TIER_ORDER: dict[str, int] = {"local": 0, "consultation": 0, "department": 1, "city": 2}


class PolicyError(ValueError):
    """A policy file that cannot be loaded or does not hold together."""


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Channel(Frozen):
    """Where a unit's notifications go: a webhook, or a text gateway (SMS, WeCom group)."""

    kind: Literal["webhook", "sms", "wecom"]
    address: str = Field(description="URL for webhook; phone number or group id otherwise")
    secret_env: str | None = Field(
        default=None,
        pattern=r"^[A-Z_][A-Z0-9_]*$",
        description="the environment variable holding this channel's own signing secret "
        "(the policy is published on Kafka: it names the secret, never holds it); unset: "
        "DISPATCH_WEBHOOK_SECRET",
    )


class Handler(Frozen):
    name: str
    phone: str | None = None
    channel: Channel | None = None


class MicroGrid(Frozen):
    id: str
    name: str
    leader: Handler
    addresses: tuple[str, ...] = Field(default=(), description="address fragments located here")
    lat: float | None = Field(default=None, ge=-90, le=90, description="centre (WGS-84)")
    lon: float | None = Field(default=None, ge=-180, le=180, description="centre (WGS-84)")


class AreaGrid(Frozen):
    id: str
    name: str
    leader: Handler
    microgrids: tuple[MicroGrid, ...]


class Member(Handler):
    """A part-time committee member (兼职委员) of a community: the property company's manager,
    a school's or a utility's representative. A community may whistle one in (吹哨报到); the
    member is reached through its own channel."""

    id: str = Field(min_length=1, max_length=100, description="unique in the policy")
    org: str = Field(default="", description="where the member works: XX物业, 供电所")


class Community(Frozen):
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    secretary: Handler
    convener: Handler = Field(description="convener of the 近邻恳谈会 (consultation meetings)")
    members: tuple[Member, ...] = Field(
        default=(), description="兼职委员: part-time committee members a whistle may call in"
    )
    areagrids: tuple[AreaGrid, ...]


class Street(Frozen):
    id: str
    name: str
    aliases: tuple[str, ...] = ()
    handler: Handler
    communities: tuple[Community, ...]


class Department(Frozen):
    id: str
    name: str
    short: str
    handler: Handler
    level: Level = "district"


class District(Frozen):
    id: str
    name: str
    command_center: Handler
    streets: tuple[Street, ...]


class Duplicates(Frozen):
    """When a new request of a category is a repeat of an open ticket (多次反映).

    ``building``: the same building (corridor lights, a leak, an elevator); ``microgrid``: the
    same micro-grid (power, water); ``radius_m``: within ``radius_m`` metres of it, both with
    lat/lon (street lights, a pothole), else the same micro-grid. Only within ``window`` of the
    open ticket's report, and never for a request located only to a community or the district.
    A repeat raises its ticket at most one level, once per ``window``.
    """

    scope: Literal["building", "microgrid", "radius_m"]
    radius_m: float | None = Field(default=None, gt=0, description="with scope radius_m")
    window: timedelta = timedelta(days=7)

    @model_validator(mode="after")
    def _radius_given(self) -> Duplicates:
        if (self.scope == "radius_m") != (self.radius_m is not None):
            raise ValueError("radius_m is given exactly when scope is radius_m")
        return self


class Category(Frozen):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    description: str = ""
    tier: Tier
    resolution: Resolution
    department: str | None = Field(default=None, description="id of the responsible department")
    keywords: tuple[str, ...] = ()
    weight: float = 1.0
    duplicates: Duplicates | None = Field(
        default=None, description="the repeat-report rule; none: every request is its own case"
    )


class Pattern(Frozen):
    """Life-safety by co-occurrence: a word of every group, close together in one sentence.

    A person word and a critical-state word (老人 + 倒地), a gas and a leak (煤气 + 漏): each
    alone is everyday, together they report a danger.
    """

    id: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    description: str = ""
    groups: tuple[tuple[str, ...], ...] = Field(min_length=1)
    within: int = Field(
        default=24, ge=1, description="characters from the start of the first word to the last"
    )
    ordered: bool = Field(
        default=False, description="the groups' words must stand in the groups' order"
    )
    acute: bool = Field(
        default=False,
        description="reports a state seen now: an inquiry does not defuse it (a past time, a "
        "resolution or a hypothetical clause still does)",
    )
    category: str | None = Field(
        default=None,
        description="the category of a request this pattern finds live when no category's "
        "keyword is in its text (老人 + 爬不起来 → medical_emergency, not the default)",
    )

    @cached_property
    def search_order(self) -> tuple[int, ...]:
        """The groups, fewest words first: the likeliest to be absent, so searched first."""
        return tuple(sorted(range(len(self.groups)), key=lambda i: len(self.groups[i])))


class Lexicon(Frozen):
    """Words that change a classification; ``exclude`` phrases are removed before matching.

    Life-safety signals are ``emergency`` words (a kind of danger: 着火, 中风), ``acute`` words
    (a danger seen now: 叫不醒, 救命) and ``patterns``. A signal is defused when the nearest time
    word before it is ``past`` (昨天, 去年), when a ``resolved`` phrase follows it in its sentence
    (已扑灭, 送到医院了), and, unless acute, when its clause is ``hypothetical`` (万一, 隐患,
    经常) or the request is an ``inquiry`` (申请, 想问) with no ``urgency`` word (快来, 马上).
    A ``live`` time word (现在, 正在) nearest before a signal keeps it live.
    """

    emergency: tuple[str, ...] = ()
    acute: tuple[str, ...] = Field(default=(), description="life-safety words that report now")
    patterns: tuple[Pattern, ...] = ()
    dispute: tuple[str, ...] = ()
    exclude: tuple[str, ...] = Field(
        default=(), description="negated phrases such as 无人受伤, removed before matching"
    )
    live: tuple[str, ...] = Field(default=(), description="time words of now: 现在 正在 刚才")
    past: tuple[str, ...] = Field(default=(), description="time words of the past: 昨天 去年")
    resolved: tuple[str, ...] = Field(default=(), description="the danger is over: 已扑灭")
    hypothetical: tuple[str, ...] = Field(
        default=(), description="in a signal's clause, it is not happening: 万一 隐患 差点 经常"
    )
    inquiry: tuple[str, ...] = Field(
        default=(), description="anywhere, the caller asks about a service: 申请 想问 补贴"
    )
    urgency: tuple[str, ...] = Field(
        default=(), description="the caller asks for help now: 快来 马上 救命 (overrides inquiry)"
    )
    related_share: float = Field(
        default=0.5,
        ge=0.0,
        le=1.0,
        description="a category other than the best counts as involved (its department joins "
        "the ticket, departments_at_least counts it) when its score is at least this share of "
        "the best score (0 counts every category with a keyword)",
    )
    related_min: float = Field(
        default=0.0,
        ge=0.0,
        description="and at least this score: one incidental two-character word (报警, 电线) "
        "does not bring in a department",
    )


class When(Frozen):
    keywords_any: tuple[str, ...] = ()
    lexicon: Literal["emergency", "dispute"] | None = Field(
        default=None,
        description="emergency: a live life-safety signal (words and patterns, not defused); "
        "dispute: a dispute word",
    )
    households_at_least: int | None = None
    departments_at_least: int | None = None
    urgent: bool | None = None
    categories: tuple[str, ...] = ()


class Then(Frozen):
    tier: Tier | None = None
    raise_to: Tier | None = None
    emergency: bool | None = None


class TierRule(Frozen):
    id: str
    description: str = ""
    when: When
    then: Then


class Deadline(Frozen):
    claim: timedelta
    resolve: timedelta
    clock: Literal["working", "wall"] = Field(
        default="working",
        description="working: whole days count working days, hours count working hours; "
        "wall: plain elapsed time (emergencies)",
    )


class Hours(Frozen):
    start: time
    end: time

    @model_validator(mode="after")
    def _ordered(self) -> Hours:
        if self.end <= self.start:
            raise ValueError(f"working hours end {self.end} is not after start {self.start}")
        return self


class Calendar(Frozen):
    """Working time: hours of a working day, statutory holidays, and 调休 make-up workdays.

    Days not listed follow the week (Monday–Friday work). The State Council publishes each
    year's arrangement late in the year before: add it here (tools/gen_sample_district.py
    takes it from the chinese-calendar package).
    """

    hours: tuple[Hours, ...] = (Hours(start=time(8, 30), end=time(17, 30)),)
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()
    known_until: date | None = Field(default=None, description="the lists cover dates to here")

    def is_workday(self, day: date) -> bool:
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays


class Deadlines(Frozen):
    local: Deadline
    department: Deadline
    city: Deadline
    consultation: Deadline
    emergency: Deadline

    def for_ticket(self, tier: Tier, emergency: bool) -> Deadline:
        """The limits for a ticket; life-safety always runs on the wall clock."""
        if emergency:
            return self.emergency.model_copy(update={"clock": "wall"})
        found: Deadline = getattr(self, tier)
        return found


class Lifecycle(Frozen):
    """How a ticket moves after its first assignment."""

    satisfied_at_least: int = Field(
        default=3, ge=1, le=5, description="feedback below this reopens the ticket"
    )
    rejects_before_street: int = Field(
        default=3, ge=1, description="the n-th 退单 goes to the street (提级督办)"
    )
    whistle_report: timedelta = Field(
        default=timedelta(minutes=30), description="吹哨报到: the department must report within"
    )
    meeting_record: timedelta = Field(
        default=timedelta(hours=24),
        description="近邻恳谈会: a scheduled meeting's outcome is recorded (hold) within this "
        "after its time, else the ticket goes a level up (reason meeting_overdue)",
    )
    feedback_window: timedelta = Field(
        default=timedelta(days=3),
        description="a resolved ticket without 回访 feedback closes after this (working time)",
    )
    warn_before: timedelta = Field(
        default=timedelta(hours=1), description="a deadline this close is shown as due soon"
    )
    closed_retention: timedelta = Field(
        default=timedelta(days=7),
        gt=timedelta(0),
        description="a closed ticket leaves the router's working set after this (kept cold: "
        "an input naming it warms it again)",
    )
    reject_review: bool = Field(
        default=False,
        description="退单审核: a reject waits for an operator's approve or refuse before it moves",
    )
    reject_reasons: dict[str, str] = Field(
        default_factory=lambda: {
            "not_our_area": "属地不符",
            "not_our_duty": "职责不符",
            "duplicate": "重复诉求",
            "need_more_info": "诉求信息不全",
        },
        description="退单 reason codes → names; a reject must name one",
    )
    invalid_reasons: dict[str, str] = Field(
        default_factory=lambda: {
            "outside_remit": "不属于受理范围",
            "malicious_repeat": "恶意重复诉求",
            "unreasonable": "不合理诉求",
            "no_content": "无实质内容",
        },
        description="无效件 reason codes → names",
    )
    extensions: int = Field(
        default=2, ge=0, description="延期: approved extensions a ticket may have"
    )
    extend_at_most: timedelta = Field(
        default=timedelta(days=7),
        description="延期: how far past the current resolve_by one extension may go",
    )
    remind_at: float | None = Field(
        default=None,
        gt=0,
        lt=1,
        description="催办: remind the assignee at this share of each claim and resolve window "
        "(null: never by itself)",
    )


class Weights(Frozen):
    """三率考核: how much each rate weighs in a unit's score; they add up to 1."""

    response: float = Field(default=0.30, ge=0, le=1, description="响应率 (claimed in time)")
    resolution: float = Field(default=0.35, ge=0, le=1, description="解决率 (feedback: solved)")
    satisfaction: float = Field(default=0.35, ge=0, le=1, description="满意率 (feedback ≥ 4)")

    @model_validator(mode="after")
    def _add_up_to_one(self) -> Weights:
        total = self.response + self.resolution + self.satisfaction
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"assessment weights add up to {total:g}, not 1")
        return self


class Assessment(Frozen):
    """The monthly 三率考核 of streets, communities and departments (services/reports)."""

    weights: Weights = Weights()


DEFAULT_POINTS: dict[VolunteerKind, int] = {
    "help": 5,
    "photo": 2,
    "publicity": 2,
    "remove": 2,
    "report": 10,
}


class Volunteers(Frozen):
    """五闪 (贵阳): riders and couriers 闪帮, 闪拍, 闪宣, 闪除, 闪报 and earn points (积分),
    ranked for rewards. Points are earned when the ticket of a report is resolved, never for
    an invalid or merged-away (repeat) report."""

    points: dict[VolunteerKind, int] = Field(
        default_factory=lambda: dict(DEFAULT_POINTS),
        description="points per kind for a report whose ticket was resolved",
    )

    @model_validator(mode="after")
    def _every_kind(self) -> Volunteers:
        missing = set(get_args(VolunteerKind)) - set(self.points)
        if missing:
            raise ValueError(f"volunteers.points: no points for {sorted(missing)}")
        if any(p < 0 for p in self.points.values()):
            raise ValueError("volunteers.points: points are never negative")
        return self


class Shelf(Frozen):
    """解忧超市 (北海): residents put a worry on a shelf, sorted 政府解决类 / 市场解决类 /
    爱心救助类, and departments, party members and market providers adopt (认领/认购) it:
    pull, not push. Life-safety requests never wait on the shelf."""

    sources: tuple[Source, ...] = Field(
        default=(), description="the sources whose requests go on the shelf (routing shelf)"
    )
    shelf_hours: float = Field(
        default=24, gt=0, le=24 * 30, description="unadopted after this, assigned as usual"
    )


class Policy(Frozen):
    name: str
    timezone: str = "Asia/Shanghai"
    district: District
    departments: tuple[Department, ...]
    categories: tuple[Category, ...]
    default_category: str
    lexicon: Lexicon
    rules: tuple[TierRule, ...]
    deadlines: Deadlines
    calendar: Calendar = Calendar()
    lifecycle: Lifecycle = Lifecycle()
    volunteers: Volunteers = Volunteers()
    shelf: Shelf = Shelf()
    assessment: Assessment = Assessment()
    content_hash: str = ""
    sla_scale: float = 1.0
    document: str = Field(default="", repr=False, description="the source text, verbatim")

    @model_validator(mode="after")
    def _references_resolve(self) -> Policy:
        codes = {c.code for c in self.categories}
        if self.default_category not in codes:
            raise ValueError(f"default_category {self.default_category!r} is not a category")
        for pattern in self.lexicon.patterns:
            if pattern.category is not None and pattern.category not in codes:
                raise ValueError(f"pattern {pattern.id}: unknown category {pattern.category!r}")
        dep_ids = {d.id for d in self.departments}
        for cat in self.categories:
            if cat.department is not None and cat.department not in dep_ids:
                raise ValueError(f"category {cat.code}: unknown department {cat.department!r}")
        members = [m.id for s in self.district.streets for c in s.communities for m in c.members]
        ids = [unit.id for unit in self.units()] + members + sorted(dep_ids)
        dupes = {i for i in ids if ids.count(i) > 1} if len(ids) != len(set(ids)) else set()
        if dupes:
            raise ValueError(f"unit, member or department ids used twice: {sorted(dupes)[:5]}")
        return self

    @property
    def version(self) -> str:
        base = f"{self.name}@{self.content_hash[:12]}"
        return base if self.sla_scale == 1.0 else f"{base}~x{self.sla_scale:g}"

    def units(self) -> Iterator[Street | Community | AreaGrid | MicroGrid]:
        for street in self.district.streets:
            yield street
            for community in street.communities:
                yield community
                for area in community.areagrids:
                    yield area
                    yield from area.microgrids

    @cached_property
    def category_by_code(self) -> dict[str, Category]:
        return {c.code: c for c in self.categories}

    @cached_property
    def department_by_id(self) -> dict[str, Department]:
        return {d.id: d for d in self.departments}

    def scaled(self, duration: timedelta) -> timedelta:
        return duration * self.sla_scale


def parse_policy(text: bytes, sla_scale: float = 1.0) -> Policy:
    """Validate a policy document; the version hashes the exact bytes."""
    try:
        document = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise PolicyError(f"policy is not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise PolicyError("policy must be a mapping at the top level")
    digest = hashlib.sha256(text).hexdigest()
    try:
        return Policy.model_validate(
            {
                **document,
                "content_hash": digest,
                "sla_scale": sla_scale,
                "document": text.decode("utf-8"),
            }
        )
    except ValueError as exc:
        raise PolicyError(f"invalid policy: {exc}") from exc


def bundled_policy_bytes() -> bytes:
    return resources.files("schemas.policy").joinpath("sample-district.yaml").read_bytes()


def load_policy(path: Path | None, sla_scale: float = 1.0) -> Policy:
    """The policy at ``path``, or the bundled sample district when ``path`` is None."""
    if path is None:
        return parse_policy(bundled_policy_bytes(), sla_scale)
    try:
        text = path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"cannot read policy {path}: {exc.strerror}") from exc
    return parse_policy(text, sla_scale)
