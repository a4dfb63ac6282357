"""What every source adapter shares: the category catalog, native-field errors, Chinese times.

Adapters are pure: a native document (already parsed JSON) and the catalog in, a ``RequestIn``
out, or an ``AdapterError`` that names each wrong field as the upstream system spells it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from schemas.words import CHINA, EARLIEST, LATEST

DESCRIPTION_MAX = 4000


@dataclass(frozen=True)
class FieldProblem:
    """One wrong native field: ``field`` is its path in the native payload (``店铺.名称``)."""

    field: str
    detail: str

    @property
    def pointer(self) -> str:
        parts = self.field.split(".") if self.field else []
        return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)

    def line(self) -> str:
        return f"{self.field or '(整个报文)'}: {self.detail}"


class AdapterError(ValueError):
    """A native payload that cannot become a request; ``problems`` lists every wrong field."""

    def __init__(self, source: str, problems: list[FieldProblem]) -> None:
        self.source = source
        self.problems = problems
        lines = "; ".join(p.line() for p in problems[:5])
        more = f" (另有 {len(problems) - 5} 处)" if len(problems) > 5 else ""
        super().__init__(f"{source} 报文有误: {lines}{more}")

    @property
    def reason(self) -> str:
        return str(self)


@dataclass(frozen=True)
class Catalog:
    """The policy's categories as adapters need them: service codes and their Chinese names."""

    names: dict[str, str]  # code → 中文名称

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]]) -> Catalog:
        return cls(dict(pairs))

    def code_for(self, text: str | None) -> str | None:
        """A code from a code, a Chinese name, or a path ending in one (``城市管理/路灯照明``)."""
        if not text:
            return None
        wanted = text.strip()
        if wanted in self.names:
            return wanted
        by_name = {name: code for code, name in self.names.items()}
        for part in reversed([p.strip() for p in wanted.replace("-", "/").split("/")]):
            if part in by_name:
                return by_name[part]
        longest = sorted(by_name, key=len, reverse=True)
        return next((by_name[name] for name in longest if name in wanted), None)


class Native(BaseModel):
    """Base of native payload models: frozen, fields by their native (Chinese) names,
    unknown fields ignored: upstream formats carry more than the dispatch needs."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=False)


def parse_china_time(value: Any) -> Any:
    """``2026-02-10 19:20:31``, ``2026/02/10 19:20``, ``2026年2月10日 19时20分``, ISO-8601,
    or epoch milliseconds; a time without offset is China time."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10_000_000_000 else value
        try:
            return datetime.fromtimestamp(seconds, CHINA)
        except (OverflowError, OSError, ValueError) as exc:
            raise ValueError("时间戳超出范围 (timestamp out of range)") from exc
    if not isinstance(value, str):
        return value
    text = value.strip()
    for old, new in (("年", "-"), ("月", "-"), ("日", " "), ("时", ":"), ("分", ":"), ("秒", "")):
        text = text.replace(old, new)
    text = " ".join(text.replace("/", "-").split()).rstrip(":")
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=CHINA)
        except ValueError:
            continue
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(
            "时间格式无法识别,应为 2026-02-10 19:20:31 或 ISO-8601 (unrecognised time)"
        ) from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=CHINA)


def parse_yes_no(value: Any) -> Any:
    """``是``/``否``, ``1``/``0``, ``true``/``false`` → bool."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("是", "1", "true", "y", "yes"):
            return True
        if text in ("否", "0", "false", "n", "no", ""):
            return False
    raise ValueError("应为 是/否、1/0 或 true/false (expected a yes/no value)")


def china_time_in_range(moment: datetime) -> datetime:
    if not EARLIEST <= moment <= LATEST:
        raise ValueError("时间超出范围,应在 1970 年到 2100 年之间 (time out of range)")
    return moment


ChinaTime = Annotated[
    datetime, BeforeValidator(parse_china_time), AfterValidator(china_time_in_range)
]
YesNo = Annotated[bool, BeforeValidator(parse_yes_no)]


def phone_text(value: Any) -> Any:
    """Upstream systems often send a phone number as a JSON number: keep its digits."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


Phone = Annotated[str, BeforeValidator(phone_text), Field(max_length=40)]
Name = Annotated[str, Field(max_length=100)]
Address = Annotated[str, Field(max_length=300)]
Url = Annotated[str, Field(min_length=1, max_length=500)]
Photos = Annotated[list[Url], Field(max_length=20)]

_MESSAGES: dict[str, Callable[[dict[str, Any]], str]] = {
    "missing": lambda c: "缺少必填字段",
    "string_type": lambda c: "应为文本",
    "string_too_short": lambda c: "不能为空",
    "string_too_long": lambda c: f"过长,最多 {c.get('max_length')} 个字符",
    "too_long": lambda c: f"过多,最多 {c.get('max_length')} 项",
    "literal_error": lambda c: f"取值无效,应为 {c.get('expected')} 之一",
    "int_parsing": lambda c: "应为整数",
    "int_type": lambda c: "应为整数",
    "int_from_float": lambda c: "应为整数",
    "float_parsing": lambda c: "应为数字",
    "float_type": lambda c: "应为数字",
    "greater_than_equal": lambda c: f"不能小于 {c.get('ge')}",
    "less_than_equal": lambda c: f"不能大于 {c.get('le')}",
    "list_type": lambda c: "应为数组",
    "dict_type": lambda c: "应为对象",
    "model_type": lambda c: "应为对象",
    "model_attributes_type": lambda c: "应为对象",
    "datetime_type": lambda c: "应为时间",
    "bool_type": lambda c: "应为 是/否",
}


def problems_from(exc: ValidationError) -> list[FieldProblem]:
    """Each pydantic error as a native field and a message in Chinese (English in brackets)."""
    found = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(part) for part in err["loc"])
        context = err.get("ctx") or {}
        english = str(err["msg"])
        if err["type"] == "value_error":
            detail = english.removeprefix("Value error, ")
        elif err["type"] in _MESSAGES:
            detail = f"{_MESSAGES[err['type']](context)} ({english})"
        else:
            detail = english
        found.append(FieldProblem(where, detail))
    return found


def join_text(*parts: tuple[str, str | None]) -> str:
    """Labelled parts joined into one description, clipped to the request's limit."""
    text = ";".join(f"{label}{value.strip()}" for label, value in parts if value and value.strip())
    return text if len(text) <= DESCRIPTION_MAX else text[: DESCRIPTION_MAX - 1] + "…"
