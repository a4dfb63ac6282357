"""RFC 9457 problem documents: the one place HTTP errors take their shape.

Under ``/open311/`` errors take Open311's own shape instead (``[{"code", "description"}]``,
400/403/404, and 413/503 alike), as GeoReport v2 clients expect.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from services.intake.admission import BrokerUnavailableError
from services.intake.open311 import Open311Error
from services.intake.tail import TailUnavailableError

PROBLEM_TYPE = "application/problem+json"
OPEN311_PREFIX = "/open311/"
RETRY_AFTER_S = "5"

TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Invalid request",
    503: "Service unavailable",
}


class ProblemError(Exception):
    """Raise anywhere in a request to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        title: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}
        self.title = title or TITLES.get(status, "Error")


def problem_response(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    instance: str | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }
    if instance:
        body["instance"] = instance
    if errors is not None:
        body["errors"] = errors
    return Response(
        orjson.dumps(body), status_code=status, media_type=PROBLEM_TYPE, headers=headers
    )


def pointer(loc: tuple[Any, ...] | list[Any]) -> str:
    """A JSON pointer into the body for a pydantic error location."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        where, parts = parts[0], parts[1:]
        if where != "body":
            return f"{where}:{'/'.join(parts)}"
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def validation_entries(errors: list[Any]) -> list[dict[str, str]]:
    return [
        {"pointer": pointer(e.get("loc", ())), "detail": str(e.get("msg", "invalid"))}
        for e in errors
    ]


def open311_response(
    status: int, description: str, headers: dict[str, str] | None = None
) -> Response:
    body = Open311Error(status, description).body()
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


def error_response(
    path: str,
    status: int,
    detail: str,
    *,
    errors: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    title: str | None = None,
) -> Response:
    """A problem document, or Open311's error list under ``/open311/``."""
    if path.startswith(OPEN311_PREFIX):
        if errors:
            detail = "; ".join(f"{e['pointer']}: {e['detail']}" for e in errors)
        return open311_response(400 if status == 422 else status, detail, headers)
    return problem_response(
        status, detail, title=title, errors=errors, headers=headers, instance=path
    )


def install(app: FastAPI) -> None:
    """Map every error the API raises to a problem document (Open311's format under it)."""

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> Response:
        return error_response(
            request.url.path,
            exc.status,
            exc.detail,
            title=exc.title,
            errors=exc.errors,
            headers=dict(exc.headers or {}),
        )

    @app.exception_handler(Open311Error)
    async def _open311(request: Request, exc: Open311Error) -> Response:
        return open311_response(exc.status, exc.description, exc.headers or None)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        entries = validation_entries(list(exc.errors()))
        return error_response(
            request.url.path, 422, f"{len(entries)} invalid field(s)", errors=entries
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        return error_response(
            request.url.path, exc.status_code, str(exc.detail), headers=dict(exc.headers or {})
        )

    async def _unavailable(request: Request, exc: Exception) -> Response:
        return error_response(
            request.url.path,
            503,
            "Kafka did not acknowledge the write or did not answer; nothing was stored, "
            "retry later",
            headers={"Retry-After": RETRY_AFTER_S},
        )

    app.add_exception_handler(BrokerUnavailableError, _unavailable)
    app.add_exception_handler(TailUnavailableError, _unavailable)
