"""The events a finished notification leaves behind: ``sent``, or ``failed`` plus the decision on
the dead-letter topic. Ids derive from the notification id, so a repeat emits the same ids."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

from schemas.envelope import derive_id
from schemas.events import (
    InputRejected,
    InputRejectedData,
    NotificationData,
    NotificationFailed,
    NotificationFailedData,
    NotificationSent,
    kafka_origin,
)
from services.notifier.delivery import Outcome
from services.notifier.recipients import Notifiable, Target

NOTIFIER_SOURCE = "/dispatch/notifier"


@dataclass(frozen=True, slots=True)
class Raw:
    """Where the decision came from, for the dead letter: the original bytes and position."""

    value: bytes
    key: bytes | None
    topic: str
    partition: int
    offset: int


def _common(target: Target, decision: Notifiable, outcome: Outcome) -> NotificationData:
    return NotificationData(
        ticket_id=decision.data.ticket_id,
        decision_id=decision.id,
        decision_type=decision.type,
        channel=target.channel,
        recipient=target.recipient,
        attempts=outcome.attempts,
        latency_ms=outcome.latency_ms,
    )


class Envelope(TypedDict):
    id: str
    source: str
    time: datetime
    subject: str
    causationid: str
    correlationid: str


def _envelope(target: Target, decision: Notifiable, purpose: str, when: datetime) -> Envelope:
    return {
        "id": derive_id(target.notification_id, purpose),
        "source": NOTIFIER_SOURCE,
        "time": when,
        "subject": decision.subject,
        "causationid": decision.id,
        "correlationid": decision.correlationid,
    }


def sent(
    target: Target, decision: Notifiable, outcome: Outcome, when: datetime
) -> NotificationSent:
    """``when``: the moment the receiver took it (an observation, not a decision)."""
    return NotificationSent(
        **_envelope(target, decision, "sent", when),
        data=_common(target, decision, outcome),
    )


def failed(
    target: Target, decision: Notifiable, outcome: Outcome, when: datetime
) -> NotificationFailed:
    common = _common(target, decision, outcome)
    return NotificationFailed(
        **_envelope(target, decision, "failed", when),
        data=NotificationFailedData(**common.model_dump(), error=outcome.error or "unknown"),
    )


def dead_letter(
    target: Target, decision: Notifiable, outcome: Outcome, raw: Raw, when: datetime
) -> InputRejected:
    """The decision on the dead-letter topic, naming the recipient it could not reach."""
    reason = (
        f"notification {target.notification_id} to {target.recipient} via {target.channel} "
        f"failed after {outcome.attempts} tries: {outcome.error}"
    )
    return InputRejected(
        **_envelope(target, decision, "dead-letter", when),
        data=InputRejectedData(
            reason=reason,
            errors=[outcome.error or "unknown"],
            origin=kafka_origin("notifier", raw),
            original=base64.b64encode(raw.value).decode(),
            original_key=base64.b64encode(raw.key).decode() if raw.key is not None else None,
        ),
    )
