"""The policy versions in force, rebuilt from ``dispatch.policies`` exactly as the router does:
``parse_policy(document, sla_scale)``, kept only when it reproduces the recorded version."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from schemas import topics
from schemas.events import PolicyPublished
from schemas.policy import Policy, PolicyError, parse_policy
from services.audit.log import AuditLog


@dataclass(frozen=True)
class PolicyBook:
    by_version: dict[str, Policy] = field(default_factory=dict)
    published: tuple[tuple[datetime, str], ...] = ()
    """(time published, version), oldest first."""
    problems: tuple[str, ...] = ()

    def get(self, version: str | None) -> Policy | None:
        return self.by_version.get(version) if version is not None else None

    def in_force_at(self, when: datetime) -> Policy | None:
        """The newest version published by ``when`` (else the oldest): for a ticket that has
        no recorded decision to name its version."""
        usable = [(t, v) for t, v in self.published if v in self.by_version]
        if not usable:
            return None
        before = [v for t, v in usable if t <= when]
        return self.by_version[before[-1] if before else usable[0][1]]


def policy_book(log: AuditLog) -> PolicyBook:
    found: dict[str, Policy] = {}
    published: list[tuple[datetime, str]] = []
    problems: list[str] = []
    for logged in log.of(topics.POLICIES):
        event = logged.event
        if not isinstance(event, PolicyPublished):
            problems.append(f"{logged.at.label(log.prefix)}: {event.type} is not a policy")
            continue
        data = event.data
        try:
            policy = parse_policy(data.document.encode(), data.sla_scale)
        except PolicyError as err:
            problems.append(f"policy {data.version}: {err}")
            continue
        if policy.version != data.version:
            problems.append(
                f"policy {data.version}: its document parses to version {policy.version}"
            )
            continue
        found.setdefault(policy.version, policy)
        published.append((event.time, policy.version))
    published.sort()
    return PolicyBook(found, tuple(published), tuple(problems))
