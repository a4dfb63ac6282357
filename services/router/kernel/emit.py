"""How the router stamps what it decides: ids from the cause, time from the cause, the policy
version in force for the ticket, the ticket's version (inputs applied so far), and the version
of the logic that decided (``logicversion``, see version.py)."""

from __future__ import annotations

from typing import Any

from schemas.envelope import CloudEvent, derive_id
from schemas.policy import Policy
from services.router.kernel.version import logic_version

ROUTER_SOURCE = "/dispatch/router"
SUMMARY_CHARS = 40


def summarise(description: str) -> str:
    """The first words of a request, on one line, for notification text."""
    line = " ".join(description.split())
    return line if len(line) <= SUMMARY_CHARS else line[: SUMMARY_CHARS - 1] + "…"


def envelope(
    event: CloudEvent,
    purpose: str,
    policy: Policy,
    version: int,
    subject: str | None = None,
    cause_key: str | None = None,
) -> dict[str, Any]:
    """The attributes of a decision caused by ``event``; the id derives from ``cause_key``
    when given (a deadline passing for an attempt: the same whichever tick noticed it)."""
    return {
        "id": derive_id(cause_key or event.id, purpose),
        "source": ROUTER_SOURCE,
        "time": event.time,
        "subject": subject or event.subject,
        "causationid": event.id,
        "correlationid": event.correlationid,
        "policyversion": policy.version,
        "ticketversion": version,
        "logicversion": logic_version(),
    }
