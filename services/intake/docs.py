"""The OpenAPI document's shared parts: problem documents, Open311 errors, the native bodies.

Every route lists every status it can answer, with its media type, so a client (or
schemathesis) can check each response against the document."""

from __future__ import annotations

from typing import Any

from services.intake.adapters import ADAPTERS

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem document",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "one entry per invalid field",
            "items": {
                "type": "object",
                "required": ["pointer", "detail"],
                "properties": {"pointer": {"type": "string"}, "detail": {"type": "string"}},
            },
        },
    },
}

OPEN311_ERRORS_SCHEMA: dict[str, Any] = {
    "title": "Open311Errors",
    "type": "array",
    "items": {
        "type": "object",
        "required": ["code", "description"],
        "properties": {"code": {"type": "integer"}, "description": {"type": "string"}},
    },
}

_WHY = {
    400: "请求参数有误",
    401: "缺少或无效的凭据:来源密钥或令牌 (missing or invalid key or token)",
    403: "无权执行此操作,或 api_key 无效 (not permitted; invalid api_key)",
    404: "不存在 (not found)",
    409: "冲突:Idempotency-Key 已用于另一个更新,或同一 external_id 内容不同 (conflict)",
    413: "请求体超过 1 MiB,或批量超过上限 (body too large)",
    422: "字段无效,每个无效字段一条 (one entry per invalid field)",
    503: "Kafka 未确认写入,未保存任何内容,请按 Retry-After 重试 (retry later)",
}
_RETRY = {"Retry-After": {"description": "seconds", "schema": {"type": "string"}}}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Problem-document responses for ``statuses`` (413 and 503 are always possible)."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in sorted({*statuses, 413, 503}):
        entry: dict[str, Any] = {
            "description": _WHY[status],
            "content": {"application/problem+json": {"schema": PROBLEM_SCHEMA}},
        }
        if status == 503:
            entry["headers"] = _RETRY
        out[status] = entry
    return out


def open311_errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    out: dict[int | str, dict[str, Any]] = {}
    for status in sorted({*statuses, 413, 503}):
        entry: dict[str, Any] = {
            "description": _WHY[status],
            "content": {"application/json": {"schema": OPEN311_ERRORS_SCHEMA}},
        }
        if status == 503:
            entry["headers"] = _RETRY
        out[status] = entry
    return out


def native_body() -> dict[str, Any]:
    """``POST /v1/native``'s request body: one native format per source, each with an example."""
    return {
        "requestBody": {
            "required": True,
            "description": "上游系统的原生报文,原样提交;密钥所属来源决定用哪个适配器。"
            "The source of the key picks the adapter: "
            + "; ".join(f"`{s}`: {a.title}" for s, a in ADAPTERS.items()),
            "content": {
                "application/json": {
                    "schema": {
                        "oneOf": [
                            {"$ref": f"#/components/schemas/{a.model.__name__}"}
                            for a in ADAPTERS.values()
                        ]
                    },
                    "examples": {
                        s: {"summary": a.title, "value": a.example} for s, a in ADAPTERS.items()
                    },
                }
            },
        }
    }


def native_components() -> dict[str, Any]:
    """The JSON Schemas of the native formats, by their native (Chinese) field names."""
    found: dict[str, Any] = {}
    for adapter in ADAPTERS.values():
        schema = adapter.model.model_json_schema(
            by_alias=True, ref_template="#/components/schemas/{model}"
        )
        for name, sub in schema.pop("$defs", {}).items():
            found[name] = sub
        schema["description"] = f"{adapter.title} (source `{adapter.source}`)"
        found[adapter.model.__name__] = schema
    return found
