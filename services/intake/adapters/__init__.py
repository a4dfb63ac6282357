"""One adapter per upstream source (CONTRACT.md, "Sources"): native payload → ``RequestIn``.

The same adapters serve the native HTTP route (``POST /v1/native``) and the consumer of
``dispatch.intake.raw``; each names a wrong field as the upstream system spells it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import orjson
from pydantic import ValidationError

from services.intake.adapters import (
    ehu,
    grid_patrol,
    hotline_110,
    hotline_12345,
    miniprogram,
    shopfront,
    volunteer,
)
from services.intake.adapters.common import (
    AdapterError,
    Catalog,
    FieldProblem,
    Native,
    problems_from,
)
from services.intake.models import RequestIn

__all__ = ["ADAPTERS", "Adapter", "AdapterError", "Catalog", "FieldProblem", "parse_json"]


@dataclass(frozen=True)
class Adapter:
    source: str
    title: str
    model: type[Native]
    convert: Callable[[Any, Catalog], RequestIn]
    example: dict[str, Any]

    def adapt(self, document: Any, catalog: Catalog) -> RequestIn:
        """The request in ``document``; ``AdapterError`` names every wrong native field."""
        if not isinstance(document, dict):
            kind = type(document).__name__
            raise AdapterError(
                self.source,
                [FieldProblem("", f"应为 JSON 对象,收到的是 {kind} (expected a JSON object)")],
            )
        try:
            native = self.model.model_validate(document)
        except ValidationError as exc:
            raise AdapterError(self.source, problems_from(exc)) from exc
        try:
            return self.convert(native, catalog)
        except ValidationError as exc:  # a mapped value broke a limit of the request itself
            problems = [FieldProblem(f"(转换后){p.field}", p.detail) for p in problems_from(exc)]
            raise AdapterError(self.source, problems) from exc

    def adapt_bytes(self, raw: bytes, catalog: Catalog) -> RequestIn:
        return self.adapt(parse_json(self.source, raw), catalog)


def _adapter(source: str, module: ModuleType, model: type[Native]) -> Adapter:
    return Adapter(source, module.TITLE, model, module.convert, module.EXAMPLE)


ADAPTERS: dict[str, Adapter] = {
    a.source: a
    for a in (
        _adapter("hotline-12345", hotline_12345, hotline_12345.WorkOrder),
        _adapter("hotline-110", hotline_110, hotline_110.CaseRecord),
        _adapter("ehu", ehu, ehu.DispatchRecord),
        _adapter("shopfront", shopfront, shopfront.ShopReport),
        _adapter("miniprogram", miniprogram, miniprogram.Post),
        _adapter("grid-patrol", grid_patrol, grid_patrol.LedgerEntry),
        _adapter("volunteer", volunteer, volunteer.Snapshot),
    )
}


def parse_json(source: str, raw: bytes) -> Any:
    """The JSON document in ``raw``; ``AdapterError`` when it is not UTF-8 JSON."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise AdapterError(
            source, [FieldProblem("", f"不是合法的 UTF-8 JSON (not JSON: {exc})")]
        ) from exc
