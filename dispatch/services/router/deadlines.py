"""Deadlines: when a ticket must be claimed (签收) and resolved (办结).

Pure: the start time comes from the event that caused the assignment, never from the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from dispatch.schemas.events import Tier
from dispatch.services.router.policy import Policy


@dataclass(frozen=True, slots=True)
class Due:
    claim_by: datetime
    resolve_by: datetime


def due(start: datetime, tier: Tier, emergency: bool, policy: Policy) -> Due:
    """Deadlines counted from ``start`` for a ticket of ``tier``, scaled by the SLA scale."""
    limits = policy.deadlines.for_ticket(tier, emergency)
    return Due(
        claim_by=start + policy.scaled(limits.claim),
        resolve_by=start + policy.scaled(limits.resolve),
    )
