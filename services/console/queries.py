"""The operators' questions of the ticket store: search with filters and pages, and the load of
every unit of the five-level grid (pure: the time is an argument)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from schemas.policy import Policy
from schemas.policy.grid import Placed, grid_of
from services.console.tickets import Ticket

WARN = timedelta(hours=1)
OPEN_STATUSES = ("assigned", "escalated", "claimed", "rejected", "reopened")


@dataclass(frozen=True)
class Filters:
    status: str = ""  # open, closed, or a status word (assigned, claimed …)
    tier: str = ""
    unit: str = ""
    source: str = ""
    overdue: bool = False
    pending: bool = False  # waiting for an operator's review
    emergency: bool = False
    q: str = ""
    page: int = 1
    size: int = 20


@dataclass(frozen=True)
class Page:
    items: list[Ticket]
    total: int
    page: int
    pages: int


def matches(t: Ticket, f: Filters, now: datetime) -> bool:
    if f.status == "open" and t.closed:
        return False
    if f.status == "closed" and not t.closed:
        return False
    if f.status not in ("", "open", "closed") and t.status != f.status:
        return False
    if f.tier and t.tier != f.tier:
        return False
    if f.unit and f.unit not in t.units:
        return False
    if f.source and t.source != f.source:
        return False
    if f.overdue and t.watch(now, WARN) != "overdue":
        return False
    if f.pending and not t.pending:
        return False
    if f.emergency and not t.emergency:
        return False
    if f.q:
        text = " ".join((t.ticket_id, t.description, t.address, t.category_name, t.assignee))
        return f.q.strip().lower() in text.lower()
    return True


def search(tickets: list[Ticket], f: Filters, now: datetime) -> Page:
    """The tickets matching ``f``, newest first, one page of them."""
    found = [t for t in tickets if matches(t, f, now)]
    size = max(1, min(f.size, 200))
    pages = max(1, -(-len(found) // size))
    page = max(1, min(f.page, pages))
    return Page(found[(page - 1) * size : page * size], len(found), page, pages)


@dataclass
class Load:
    unit: Placed
    open: int = 0
    overdue: int = 0
    due_soon: int = 0
    children: list[Load] = field(default_factory=list)
    own: int = 0  # open tickets held by the unit itself (not below it)

    @property
    def heat(self) -> int:
        """0-4, the colour of the unit: overdue work weighs three times an open ticket."""
        score = self.open + 3 * self.overdue
        return 0 if score == 0 else 1 if score < 3 else 2 if score < 8 else 3 if score < 20 else 4


def grid_load(policy: Policy, open_tickets: list[Ticket], now: datetime) -> Load:
    """The district's tree with the open / overdue / due-soon tickets held at or under each unit."""
    grid = grid_of(policy)
    loads = {uid: Load(unit) for uid, unit in grid.by_id.items()}
    for unit in grid.by_id.values():
        if unit.parent is not None:
            loads[unit.parent].children.append(loads[unit.id])
    for t in open_tickets:
        holder = t.assignee_id.removesuffix(":convener")
        if holder not in grid.by_id:
            continue  # a department: see department_load
        state = t.watch(now, WARN)
        loads[holder].own += 1
        for unit in grid.chain(holder):
            load = loads[unit.id]
            load.open += 1
            load.overdue += state == "overdue"
            load.due_soon += state == "due_soon"
    return loads[grid.root.id]


def department_load(
    policy: Policy, open_tickets: list[Ticket], now: datetime
) -> list[dict[str, object]]:
    """Open / overdue / due-soon per department of the policy."""
    rows = []
    for dep in policy.departments:
        held = [t for t in open_tickets if t.assignee_id == dep.id]
        states = [t.watch(now, WARN) for t in held]
        rows.append(
            {
                "id": dep.id,
                "name": dep.name,
                "open": len(held),
                "overdue": states.count("overdue"),
                "due_soon": states.count("due_soon"),
            }
        )
    return rows
