"""What the intake refuses before any route reads a body: more than 1 MiB, declared or streamed
(413), and JSON nested deeper than ``MAX_JSON_DEPTH`` (422): a 1,000-deep document would
otherwise exhaust the recursion of whatever walks it next."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import orjson

from services.intake import problems

MAX_BODY_BYTES = 1_048_576
MAX_JSON_DEPTH = 32


def json_depth(document: Any) -> int:
    """How deep arrays and objects nest in ``document`` (a scalar is 0); no recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(document, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            deepest = max(deepest, depth + 1)
            stack.extend((child, depth + 1) for child in node if isinstance(child, dict | list))
    return deepest


def too_deep(body: bytes) -> bool:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        message = str(exc).lower()  # orjson stops at 1024 levels
        return "depth" in message or "recursion" in message
    return json_depth(document) > MAX_JSON_DEPTH


class BodyLimit:
    """ASGI middleware: the whole body read first (at most ``limit`` bytes), then checked, then
    handed on; 413 for a longer one, declared or chunked, 422 for JSON nested too deep."""

    def __init__(self, app: Any, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit
        headers = dict(scope.get("headers", []))
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, 413, f"body over {limit} bytes")
            return
        chunks: list[bytes] = []
        seen = 0
        more = True
        while more:
            message: MutableMapping[str, Any] = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > limit:
                await self._refuse(scope, receive, send, 413, f"body over {limit} bytes")
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        if b"json" in headers.get(b"content-type", b"") and too_deep(body):
            detail = f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
            await self._refuse(scope, receive, send, 422, detail)
            return
        delivered = False

        async def replay() -> MutableMapping[str, Any]:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return dict(await receive())

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(
        scope: MutableMapping[str, Any], receive: Any, send: Any, status: int, detail: str
    ) -> None:
        response = problems.error_response(scope["path"], status, detail)
        await response(scope, receive, send)
