"""Bytes on the wire ⇄ event models: CloudEvents structured mode, JSON, orjson."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import ValidationError

from schemas.envelope import CONTENT_TYPE, CloudEvent
from schemas.events import EVENT_ADAPTER, Event

HEADERS: list[tuple[str, bytes]] = [("content-type", CONTENT_TYPE.encode())]


class EventDecodeError(ValueError):
    """Bytes that are not a valid event of the contract; ``errors`` lists each problem."""

    def __init__(self, reason: str, errors: list[str]) -> None:
        super().__init__(reason)
        self.reason = reason
        self.errors = errors


def to_dict(event: CloudEvent) -> dict[str, Any]:
    return event.model_dump(mode="python")


def encode(event: CloudEvent) -> bytes:
    """The structured-mode JSON of ``event`` (orjson renders datetimes as RFC 3339)."""
    return orjson.dumps(event.model_dump(mode="python"))


def key_of(event: CloudEvent) -> bytes:
    """Every ticket event is keyed by its ticket id, so a ticket's events stay in order."""
    return event.subject.encode()


def validation_errors(exc: ValidationError) -> list[str]:
    """One readable line per invalid field: ``data.description: Field required``."""
    lines = []
    for err in exc.errors(include_url=False):
        where = ".".join(str(part) for part in err["loc"]) or "(document)"
        lines.append(f"{where}: {err['msg']}")
    return lines


def decode(value: bytes) -> Event:
    """Parse one event; raises ``EventDecodeError`` with a reason a person can act on."""
    try:
        document = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise EventDecodeError(f"not JSON: {exc}", [str(exc)]) from exc
    if not isinstance(document, dict):
        raise EventDecodeError("not a CloudEvent: expected a JSON object", [])
    try:
        return EVENT_ADAPTER.validate_python(document)
    except ValidationError as exc:
        errors = validation_errors(exc)
        kind = document.get("type", "(no type)")
        raise EventDecodeError(f"invalid {kind} event: {'; '.join(errors[:5])}", errors) from exc
