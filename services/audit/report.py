"""The audit's three outputs from one log (pure): timelines, SLA rows and the report."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from schemas import topics
from schemas.envelope import Decision
from schemas.words import CHINA
from services.audit.log import AuditLog
from services.audit.policies import PolicyBook, policy_book
from services.audit.sla import sla_rows, totals
from services.audit.timeline import timelines
from services.audit.verify import GRACE, Verification, verify
from services.router.kernel.version import logic_version

APPROXIMATIONS = (
    "a ticket's updates, links and repeated requests keep their partitions' order; a link "
    "goes among the updates where the ticketversion of the decision it caused puts it, else "
    "by event time (ties after the updates)",
    "tickets advance together in the order the router acted on them: the record time of the "
    "first decision an input caused, else the input's record time, else its event time; so a "
    "repeat report meets the open-ticket index as the router had it, as far as record times "
    "tell (several router hosts: their clocks must agree to the millisecond)",
    "a decision caused by a clock tick is re-decided after as many inputs as its "
    "ticketversion records, with the tick's time as now; an input the router dead-lettered "
    "is refused where the logic refuses it (a refusal changes no ticketversion)",
    "an escalation the router owes is missing only when the partition's last tick is at "
    f"least {GRACE.total_seconds():g} s past the deadline; inputs newer than the last tick "
    f"minus {GRACE.total_seconds():g} s are pending, not missing",
)


@dataclass(frozen=True)
class Audit:
    tickets: list[dict[str, Any]]
    sla: list[dict[str, Any]]
    report: dict[str, Any]

    @property
    def divergent(self) -> bool:
        return bool(self.report["divergences"])


def audit(log: AuditLog, *, check: bool, until: datetime | None = None) -> Audit:
    log = log.cut(until)
    book = policy_book(log)
    latest = until or log.latest()
    as_of = latest.astimezone(CHINA) if latest is not None else None
    lines = timelines(log, book, as_of)
    figures = totals(lines, log)
    verified = verify(log, book) if check else None
    report = {
        "as_of": as_of,
        "until": until,
        "topic_prefix": log.prefix,
        "records": {topic: len(records) for topic, records in sorted(log.records.items())},
        "unreadable": [{"at": u.at.label(log.prefix), "reason": u.reason} for u in log.unreadable],
        "totals": figures.counts,
        "rates": figures.rates,
        "policy_versions": _versions(log, book),
        "logic_versions": _logic(log),
        "verify": _verified(verified),
        "divergences": None
        if verified is None
        else [d.model_dump(mode="json") for d in verified.divergences],
    }
    return Audit(lines, sla_rows(lines), report)


def _versions(log: AuditLog, book: PolicyBook) -> dict[str, Any]:
    recorded = Counter(
        r.event.policyversion for r in log.of(topics.DECISIONS) if isinstance(r.event, Decision)
    )
    return {
        "recorded": dict(sorted(recorded.items())),
        "published": [
            {
                "version": version,
                "published_at": when,
                "name": book.by_version[version].name,
                "sla_scale": book.by_version[version].sla_scale,
            }
            for when, version in book.published
        ],
        "problems": list(book.problems),
    }


def _logic(log: AuditLog) -> dict[str, Any]:
    """Which decision logic the log's decisions name, and which this audit re-runs: a decision
    of another logic version cannot be re-run exactly (its divergences may be a logic change,
    not a forgery); the summary says so."""
    recorded = Counter(
        r.event.logicversion or "(none recorded)"
        for r in log.of(topics.DECISIONS)
        if isinstance(r.event, Decision)
    )
    running = logic_version()
    return {
        "recorded": dict(sorted(recorded.items())),
        "running": running,
        "other": sum(n for v, n in recorded.items() if v != running),
    }


def _verified(found: Verification | None) -> dict[str, Any] | None:
    if found is None:
        return None
    return {
        "recorded_decisions": found.recorded,
        "reproduced": found.reproduced,
        "refusals_confirmed": found.refusals,
        "divergences": len(found.divergences),
        "by_kind": dict(Counter(d.kind for d in found.divergences)),
        "last_tick": found.last_tick,
        "grace_seconds": GRACE.total_seconds(),
        "processes": found.processes,
        "pending": [p.model_dump(mode="json") for p in found.pending],
        "approximations": list(APPROXIMATIONS),
    }
