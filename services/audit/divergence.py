"""A recorded decision that does not follow from the inputs and the policy, as the report
lists it: missing (recomputed, not recorded), extra (recorded, not recomputed), different
(the same id, other content), unverifiable (no policy on the log to re-decide it under)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from schemas.envelope import CloudEvent, Model

Kind = Literal["missing", "extra", "different", "unverifiable"]


class Divergence(Model):
    ticket_id: str | None
    kind: Kind
    decision_id: str | None = Field(description="the decision's id (a dead letter's, for one)")
    type: str | None = Field(default=None, description="the decision's event type")
    detail: str = Field(description="what does not follow, for a person to act on")
    fields: list[str] = Field(default_factory=list, description="what differs (different)")
    expected: Any = Field(default=None, description="what the router's logic decides")
    recorded: Any = Field(default=None, description="what the log holds")


class Pending(Model):
    """An input newer than the router's last tick minus the grace: not decided yet is no
    divergence (a live system is always a little behind its log)."""

    ticket_id: str
    input_id: str
    time: str
    awaiting: list[str] = Field(description="ids of the decisions not recorded yet")


def as_json(event: CloudEvent) -> dict[str, Any]:
    dumped: dict[str, Any] = event.model_dump(mode="json")
    return dumped


def differences(expected: CloudEvent, recorded: CloudEvent) -> list[str]:
    """Dotted names of every attribute and data field that differs (times by instant)."""
    return _diff(expected.model_dump(), recorded.model_dump(), "")


def _diff(a: Any, b: Any, path: str) -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for key in sorted(a.keys() | b.keys()):
            out += _diff(a.get(key), b.get(key), f"{path}.{key}" if path else str(key))
        return out
    return [] if a == b else [path or "(event)"]


def different(ticket_id: str, expected: CloudEvent, recorded: CloudEvent) -> Divergence | None:
    if expected == recorded:  # the common case, without dumping both (times compare by instant)
        return None
    fields = differences(expected, recorded)
    if not fields:
        return None
    return Divergence(
        ticket_id=ticket_id,
        kind="different",
        decision_id=recorded.id,
        type=recorded.type,
        detail=f"recorded {recorded.type} differs from the recomputed one in {', '.join(fields)}",
        fields=fields,
        expected=as_json(expected),
        recorded=as_json(recorded),
    )
