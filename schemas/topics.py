"""The topic catalog: names, partitioning, retention. The one place topic names live."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass(frozen=True)
class TopicSpec:
    name: str
    holds: str
    written_by: str
    cleanup: Literal["delete", "compact"] = "delete"
    # -1: keep forever. Kafka is the system of record: the audit replays from the beginning.
    retention_ms: int = -1
    configs: dict[str, str] = field(default_factory=dict)

    def topic_configs(self) -> dict[str, str]:
        return {
            "cleanup.policy": self.cleanup,
            "retention.ms": str(self.retention_ms),
            **self.configs,
        }


INTAKE_RAW = "dispatch.intake.raw"
REQUESTS = "dispatch.requests"
UPDATES = "dispatch.updates"
DECISIONS = "dispatch.decisions"
NOTIFICATIONS = "dispatch.notifications"
DEADLETTER = "dispatch.deadletter"
LINKS = "dispatch.links"
POLICIES = "dispatch.policies"
CLOCK = "dispatch.clock"
INTAKE_LEDGER = "dispatch.intake.ledger"
POINTS = "dispatch.points"

CATALOG: tuple[TopicSpec, ...] = (
    TopicSpec(
        INTAKE_RAW,
        "raw source payloads; header `dispatch-source` names the adapter",
        "upstream systems",
    ),
    TopicSpec(REQUESTS, "dispatch.request.received", "intake"),
    TopicSpec(
        UPDATES,
        "dispatch.ticket.claimed/.rejected/.resolved/.feedback/.reopened/.whistled",
        "intake",
    ),
    TopicSpec(DECISIONS, "dispatch.ticket.classified/.assigned/.escalated/.closed", "router"),
    TopicSpec(NOTIFICATIONS, "dispatch.notification.sent/.failed", "notifier"),
    TopicSpec(
        POINTS,
        "dispatch.points.awarded: a 五闪 volunteer's points for a report its ticket resolved",
        "router",
    ),
    TopicSpec(DEADLETTER, "dispatch.input.rejected", "any service"),
    TopicSpec(
        LINKS,
        "dispatch.ticket.linked: a repeat report joined to the open ticket "
        "(keyed by the open ticket; router-internal)",
        "router",
    ),
    TopicSpec(
        CLOCK,
        "dispatch.clock.ticked: the router's only clock, one tick per partition about once a "
        "second; deadlines are checked on ticks, so a replay escalates at the same logical time",
        "router (the leader's ticker)",
        retention_ms=7 * 24 * 3600 * 1000,
    ),
    TopicSpec(
        POLICIES,
        "dispatch.policy.published: every policy version in force, keyed by "
        "version (for tickets created under it, and for the audit)",
        "router",
        cleanup="compact",
    ),
    TopicSpec(
        INTAKE_LEDGER,
        "the intake's idempotency ledger: one small record per accepted (source, external_id), "
        "keyed by ticket id, so an intake restart reads a bounded amount",
        "intake",
        cleanup="compact",
    ),
)


def topic_name(name: str, prefix: str = "") -> str:
    """The physical name of a catalog topic under an optional deployment prefix."""
    return f"{prefix}{name}"
