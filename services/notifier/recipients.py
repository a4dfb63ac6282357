"""Who hears about a decision, and through which channel: a pure function of the decision, the
grid directory of the policy and the command-center webhook.

Every notification has an id derived from ``(decision id, channel, recipient)``, stable across
restarts: it is the key of the ledger of what was sent (``ledger.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from schemas.envelope import derive_id
from schemas.events import (
    Assignee,
    TicketAssigned,
    TicketDeadlineChanged,
    TicketEscalated,
    TicketReminded,
    TicketReviewed,
    TicketReviewRequested,
    TicketSummoned,
    TicketSupplementNoticed,
)
from schemas.policy import Handler, Policy
from schemas.policy.grid import grid_of

Notifiable = (
    TicketAssigned
    | TicketEscalated
    | TicketReminded
    | TicketReviewRequested
    | TicketReviewed
    | TicketDeadlineChanged
    | TicketSupplementNoticed
    | TicketSummoned
)
NOTIFIABLE = (
    TicketAssigned,
    TicketEscalated,
    TicketReminded,
    TicketReviewRequested,
    TicketReviewed,
    TicketDeadlineChanged,
    TicketSupplementNoticed,
    TicketSummoned,
)
Role = Literal["assignee", "copy", "center"]

CENTER = "command-center-webhook"
CONVENER_SUFFIX = ":convener"


def notification_id(decision_id: str, channel: str, recipient: str) -> str:
    """The stable id of one notification: the same decision, channel and recipient → same id."""
    return derive_id(decision_id, f"notification:{channel}:{recipient}")


@dataclass(frozen=True, slots=True)
class Target:
    """One notification to send: a recipient reached through one channel."""

    notification_id: str
    role: Role
    recipient: str  # the assignee id, or CENTER
    channel: str  # webhook, sms, wecom
    address: str  # URL, phone number or group id
    secret_env: str | None = None  # the variable holding this channel's own signing secret


@dataclass(frozen=True, slots=True)
class Unreachable:
    """A recipient the decision names who has no channel: logged, never attempted."""

    assignee: Assignee
    role: Role
    why: str


@dataclass(frozen=True, slots=True)
class Plan:
    who: str  # short Chinese label of the assignee, for the text: 城管, 城北社区第1微网格
    targets: tuple[Target, ...]
    unreachable: tuple[Unreachable, ...]


@dataclass(frozen=True, slots=True)
class Contact:
    label: str
    handler: Handler | None  # None: the id is not in the grid directory


def contact(assignee: Assignee, policy: Policy) -> Contact:
    """The handler behind an assignee id: a department, a community's convener, a grid unit or
    a community's committee member."""
    department = policy.department_by_id.get(assignee.id)
    if department is not None:
        return Contact(department.short, department.handler)
    directory = grid_of(policy)
    if assignee.id.endswith(CONVENER_SUFFIX):
        community_id = assignee.id.removesuffix(CONVENER_SUFFIX)
        community = directory.by_id.get(community_id)
        convener = directory.conveners.get(community_id)
        if community is not None and convener is not None:
            return Contact(f"{community.name}近邻恳谈会", convener)
    unit = directory.by_id.get(assignee.id)
    if unit is not None:
        return Contact(unit.name, unit.handler)
    member = directory.members.get(assignee.id)
    if member is not None:
        return Contact(member[1].name, member[1])
    return Contact(assignee.name, None)


def _to(assignee: Assignee, role: Role, decision_id: str, policy: Policy) -> Target | Unreachable:
    found = contact(assignee, policy)
    if found.handler is None:
        return Unreachable(assignee, role, "not in the grid directory of the policy in force")
    channel = found.handler.channel
    if channel is None:
        return Unreachable(assignee, role, "no channel in the grid directory")
    return Target(
        notification_id(decision_id, channel.kind, assignee.id),
        role,
        assignee.id,
        channel.kind,
        channel.address,
        channel.secret_env,
    )


def command_center(policy: Policy) -> Assignee:
    """The district's command center (the grid's root): it reviews rejects and extensions."""
    root = grid_of(policy).root
    return Assignee(id=root.id, kind="command_center", name=root.name)


def addressed(decision: Notifiable, policy: Policy) -> Assignee | None:
    """Who must act on ``decision``: its assignee; for a review, the command center that
    judges it; for a verdict, the unit that asked; for a summons, the member called in (None:
    nobody is named)."""
    if isinstance(decision, TicketReviewRequested):
        return command_center(policy)
    if isinstance(decision, TicketSummoned):
        return decision.data.member
    if isinstance(decision, TicketReviewed):
        return decision.data.assignee
    return decision.data.assignee


def is_emergency(decision: Notifiable) -> bool:
    """Life-safety: its notifications go before every other (``ratelimit.py``)."""
    return bool(getattr(decision.data, "emergency", False))


def plan(decision: Notifiable, policy: Policy, center_url: str | None) -> Plan:
    """Every notification ``decision`` calls for: the one who must act (``addressed``), each
    copied unit, and the command-center webhook when one is configured. A recipient named
    twice is notified once."""
    first = addressed(decision, policy)
    named: list[tuple[Assignee, Role]] = [(first, "assignee")] if first is not None else []
    if isinstance(decision, TicketAssigned):
        named += [(copied, "copy") for copied in decision.data.copied_to]
    targets: dict[str, Target] = {}
    unreachable: list[Unreachable] = []
    seen: set[str] = set()
    for assignee, role in named:
        if assignee.id in seen:
            continue
        seen.add(assignee.id)
        resolved = _to(assignee, role, decision.id, policy)
        if isinstance(resolved, Unreachable):
            unreachable.append(resolved)
        else:
            targets.setdefault(resolved.notification_id, resolved)
    if center_url:
        center = Target(
            notification_id(decision.id, "webhook", CENTER), "center", CENTER, "webhook", center_url
        )
        targets.setdefault(center.notification_id, center)
    who = contact(first, policy).label if first is not None else ""
    return Plan(who, tuple(targets.values()), tuple(unreachable))
