"""``dispatch simulate``: a realistic year of the sample district, decided by the router's kernel.

Residents' requests arrive by hour and weekday with seasonal categories at places of uneven
propensity (hot spots); handlers claim, mostly in time and sometimes late, now and then send a
ticket back (退单, reviewed by the centre) or ask for more time (延期); the centre marks a few
invalid (无效件); residents give feedback (回访) at realistic rates. Every request and update
is stepped through the router's pure kernel (``services.router.kernel.handle.handle``) in time
order, so the decisions are the router's own: ``dispatch audit replay --verify`` reproduces
them. Written to ``OUT/history.jsonl`` (one encoded event per line, in time order); with a
Kafka bootstrap also published to the topics.
"""

from __future__ import annotations

import asyncio
import heapq
import math
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from schemas.codec import HEADERS, encode, key_of
from schemas.envelope import CloudEvent, derive_id, ticket_id_for
from schemas.events import (
    ExtendData,
    FeedbackData,
    InvalidateData,
    Location,
    Principal,
    RejectData,
    RequestReceived,
    RequestReceivedData,
    ReviewData,
    TicketAdopted,
    TicketApproved,
    TicketClaimed,
    TicketExtensionRequested,
    TicketFeedback,
    TicketInvalidated,
    TicketLinked,
    TicketRefused,
    TicketRejected,
    TicketResolved,
    TicketReviewRequested,
    UpdateData,
)
from schemas.policy import Policy, load_policy
from schemas.words import CHINA
from services.common.bus import Topics, ensure_topics, make_producer
from services.common.settings import Settings
from services.router.kernel.handle import Outcome, handle
from services.router.kernel.places import apply_changes
from services.router.kernel.state import Ticket
from services.router.registry import published

ADOPTERS = ("城北社区党员志愿者", "府前物业服务中心", "爱心企业联合会", "社区能人志愿队")
"""Who adopts the shelf's worries in the simulation (helpers: party members, providers)."""
HOURS = [1, 1, 1, 1, 1, 2, 4, 8, 14, 16, 15, 12, 8, 9, 13, 14, 13, 11, 9, 10, 9, 6, 3, 2]
WEEKDAYS = [1.15, 1.1, 1.05, 1.05, 1.0, 0.8, 0.75]  # Monday first: Monday carries the weekend
SEASONS: dict[str, tuple[int, ...]] = {  # the months a category is 2x as frequent
    "waterlogging": (5, 6, 7, 8), "power": (6, 7, 8), "water_supply": (7, 8),
    "public_noise": (6, 7, 8, 9), "square_dance": (5, 6, 7, 8, 9), "pest_control": (5, 6, 7, 8),
    "gas": (11, 12, 1, 2), "elderly_care": (12, 1, 2), "wage_arrears": (12, 1),
    "school_enrollment": (6, 7, 8), "greening": (3, 4), "streetlight": (11, 12, 1),
}  # fmt: skip
SOURCES = (("hotline-12345", 0.62), ("ehu", 0.14), ("grid-patrol", 0.12), ("miniprogram", 0.07),
           ("shopfront", 0.05))  # fmt: skip
FEEDBACK_RATE = 0.88
"""Share of resolved tickets the 12345 回访 reaches."""
REJECT_RATE, EXTEND_RATE, INVALID_RATE = 0.03, 0.04, 0.01
"""Shares of assignments sent back (退单), of claimed tickets asking for more time (延期), and of
tickets the centre marks invalid (无效件)."""
APPROVE_RATE = 0.7
"""Share of rejects and extensions the centre approves."""


@dataclass(order=True)
class Due:
    at: datetime
    seq: int
    ticket_id: str = field(compare=False)
    action: str = field(compare=False)
    expect: tuple[str, int] = field(compare=False)
    """The ticket's (status, attempt) when scheduled: an action that no longer fits is dropped."""
    request: str = field(default="", compare=False)
    """approve / refuse: the event id of the reject or extension judged"""


class Simulation:
    def __init__(self, policy: Policy, seed: int) -> None:
        self.policy, self.rng = policy, random.Random(seed)
        self.tickets: dict[str, Ticket] = {}
        self.places: dict[str, str] = {}
        self.queue: list[Due] = []
        self.seq = 0
        self.micros = [
            (c, m)
            for s in policy.district.streets
            for c in s.communities
            for a in c.areagrids
            for m in a.microgrids
        ]
        self.propensity = [self.rng.lognormvariate(0, 0.9) for _ in self.micros]
        self.late = {m.id: self.rng.uniform(0.02, 0.15) for _, m in self.micros}
        self.categories = [c for c in policy.categories if c.code != policy.default_category]

    def arrivals(self, first: date, days: int, per_year: int) -> Iterator[datetime]:
        for d in range(days):
            day = first + timedelta(days=d)
            mean = per_year / 365 * WEEKDAYS[day.weekday()] * (1.1 if day.month in (7, 8) else 1)
            n = max(0, round(self.rng.gauss(mean, math.sqrt(mean))))
            hours = self.rng.choices(range(24), weights=HOURS, k=n)
            start = datetime(day.year, day.month, day.day, tzinfo=CHINA)
            yield from sorted(start + timedelta(hours=h + self.rng.random()) for h in hours)

    def request(self, n: int, when: datetime) -> RequestReceived:
        rng = self.rng
        month = when.month
        weights = [
            c.weight * (2 if month in SEASONS.get(c.code, ()) else 1) for c in self.categories
        ]
        category = rng.choices(self.categories, weights=weights)[0]
        community, micro = rng.choices(self.micros, weights=self.propensity)[0]
        source = rng.choices([s for s, _ in SOURCES], weights=[w for _, w in SOURCES])[0]
        external_id = f"SIM-{when:%Y%m%d}-{n:06d}"
        ticket = ticket_id_for(source, external_id)
        cause = f"urn:dispatch:{source}:{external_id}"
        word = rng.choice(category.keywords) if category.keywords else category.name
        address = micro.addresses[0] if micro.addresses else community.name
        return RequestReceived(
            id=derive_id(cause, "received"),
            source=f"/dispatch/intake/{source}",
            time=when,
            subject=ticket,
            causationid=cause,
            correlationid=derive_id(cause, "received"),
            data=RequestReceivedData(
                ticket_id=ticket,
                source=source,
                external_id=external_id,
                description=f"{address}附近{word},{category.name}方面的问题,请尽快处理",
                category=category.code,
                location=Location(address=address, community=community.name),
                received_at=when,
            ),
        )

    def schedule(self, ticket: Ticket, now: datetime) -> None:
        """What the ticket's holder (or its resident) does next, and when."""
        rng, status = self.rng, ticket.status
        if status == "assigned" and ticket.claim_by is not None:
            window = (ticket.claim_by - now).total_seconds()
            if rng.random() < INVALID_RATE:
                self._due(
                    ticket, now + timedelta(seconds=rng.uniform(0.05, 0.5) * window), "invalidate"
                )
            elif rng.random() < REJECT_RATE and ticket.rejects == 0:
                self._due(
                    ticket, now + timedelta(seconds=rng.uniform(0.05, 0.4) * window), "reject"
                )
            late = rng.random() < self.late.get(ticket.unit_id or "", 0.06)
            after = window + rng.uniform(600, 6 * 3600) if late else rng.uniform(0.05, 0.9) * window
            self._due(ticket, now + timedelta(seconds=max(after, 60)), "claim")
        elif status == "claimed":
            resolving = timedelta(hours=rng.lognormvariate(2.5, 0.9))
            if rng.random() < EXTEND_RATE and ticket.extensions == 0:
                self._due(ticket, now + resolving * rng.uniform(0.2, 0.8), "extend")
            self._due(ticket, now + resolving, "resolve")
        elif status == "shelved":  # 解忧超市: adopted (认领/认购) within its time on the shelf
            hours = self.policy.shelf.shelf_hours * rng.uniform(0.05, 0.9)
            self._due(ticket, now + timedelta(hours=hours), "adopt")
        elif status == "resolved" and rng.random() < FEEDBACK_RATE:
            self._due(ticket, now + timedelta(hours=rng.uniform(2, 40)), "feedback")

    def _due(self, ticket: Ticket, at: datetime, action: str, request: str = "") -> None:
        self.seq += 1
        expect = (ticket.status, ticket.attempt)
        heapq.heappush(self.queue, Due(at, self.seq, ticket.ticket_id, action, expect, request))

    def review(self, asked: TicketReviewRequested) -> None:
        """The centre judges a reject or an extension a few working hours later."""
        ticket = self.tickets[asked.subject]
        verdict = "approve" if self.rng.random() < APPROVE_RATE else "refuse"
        at = asked.time + timedelta(hours=self.rng.uniform(0.5, 6))
        self._due(ticket, at, verdict, request=asked.data.request)

    def update(self, due: Due) -> CloudEvent:
        cause = f"urn:dispatch:update:{due.ticket_id}:sim:{due.seq}"
        envelope = {
            "id": derive_id(cause, "update"),
            "source": "/dispatch/intake/hotline-12345",
            "time": due.at,
            "subject": due.ticket_id,
            "causationid": cause,
            "correlationid": cause,
        }
        base = UpdateData(
            ticket_id=due.ticket_id, actor="网格员" if due.action != "feedback" else "12345回访员"
        )
        if due.action == "claim":
            return TicketClaimed(**envelope, data=base)
        if due.action == "adopt":
            name = self.rng.choice(ADOPTERS)
            helper = Principal(kind="helper", name=name)
            adopted = UpdateData(ticket_id=due.ticket_id, actor=name, principal=helper)
            return TicketAdopted(**{**envelope, "source": "/dispatch/intake/helper"}, data=adopted)
        if due.action == "resolve":
            return TicketResolved(**envelope, data=base)
        if due.action == "reject":
            reason = self.rng.choice(sorted(self.policy.lifecycle.reject_reasons))
            return TicketRejected(
                **envelope, data=RejectData(**base.model_dump(), reason_code=reason)
            )
        if due.action == "extend":
            ticket = self.tickets[due.ticket_id]
            assert ticket.resolve_by is not None
            wanted = ticket.resolve_by + timedelta(days=self.rng.choice([1, 2, 3]))
            data_e = ExtendData(**base.model_dump(), resolve_by=wanted)
            return TicketExtensionRequested(**envelope, data=data_e)
        if due.action in ("approve", "refuse"):
            centre = {**envelope, "source": "/dispatch/intake/operator"}
            judged = ReviewData(ticket_id=due.ticket_id, actor="值班长", request=due.request)
            kind = TicketApproved if due.action == "approve" else TicketRefused
            return kind(**centre, data=judged)
        if due.action == "invalidate":
            centre = {**envelope, "source": "/dispatch/intake/operator"}
            reason = self.rng.choice(sorted(self.policy.lifecycle.invalid_reasons))
            data_i = InvalidateData(ticket_id=due.ticket_id, actor="值班长", reason_code=reason)
            return TicketInvalidated(**centre, data=data_i)
        solved = self.rng.choices([True, False, None], weights=[0.91, 0.06, 0.03])[0]
        stars = [5, 4, 3, 2, 1]
        weights = [78, 16, 4, 1.5, 0.5] if solved is not False else [2, 8, 30, 30, 30]
        satisfaction = self.rng.choices(stars, weights=weights)[0]
        data = FeedbackData(
            **base.model_dump(), satisfaction=satisfaction, solved=solved, contacted=True
        )
        return TicketFeedback(**envelope, data=data)

    def feed(self, event: CloudEvent) -> list[CloudEvent]:
        """Hand ``event`` to the kernel (and a repeat's link to the ticket it joins), as the
        router does: ``handle`` decides, and the place index changes as it says."""
        outcome = handle(self.tickets.get(event.subject), event, self.policy, self.places)
        if outcome.refusal is not None or outcome.parked:
            return []  # the router would dead-letter (or hold) it; a resident's late word
        out: list[CloudEvent] = [event, *outcome.decisions]
        self._keep(outcome, event.time)
        for decision in outcome.decisions:
            if isinstance(decision, TicketReviewRequested):
                self.review(decision)
            if isinstance(decision, TicketLinked):
                later = handle(
                    self.tickets.get(decision.subject), decision, self.policy, self.places
                )
                if later.refusal is None and not later.parked:
                    out.extend(later.decisions)
                    self._keep(later, event.time)
        return out

    def _keep(self, outcome: Outcome, now: datetime) -> None:
        ticket = outcome.ticket
        apply_changes(self.places, outcome.places)
        if ticket is None:
            return
        before = self.tickets.get(ticket.ticket_id)
        self.tickets[ticket.ticket_id] = ticket
        moved = before is None or (before.status, before.attempt) != (ticket.status, ticket.attempt)
        if moved and ticket.merged_into is None:
            self.schedule(ticket, now)

    def run(self, first: date, days: int, per_year: int) -> Iterator[CloudEvent]:
        begin = datetime.combine(first, datetime.min.time(), CHINA)
        yield published(self.policy).model_copy(update={"time": begin})  # time from the story
        end = begin + timedelta(days=days)
        for n, when in enumerate(self.arrivals(first, days, per_year)):
            yield from self._until(when)
            yield from self.feed(self.request(n, when))
        yield from self._until(end)

    def _until(self, when: datetime) -> Iterator[CloudEvent]:
        while self.queue and self.queue[0].at <= when:
            due = heapq.heappop(self.queue)
            ticket = self.tickets.get(due.ticket_id)
            if ticket is None:
                continue
            if due.request:  # a review: while the request is still pending
                if ticket.pending_request(due.request) is None:
                    continue
            elif (ticket.status, ticket.attempt) != due.expect:
                continue
            yield from self.feed(self.update(due))


async def publish_all(bootstrap: str, names: Topics, path: Path, settings: Settings) -> int:
    await ensure_topics(bootstrap, names.prefix, settings.partitions, settings.replication_factor)
    producer = make_producer(bootstrap, linger_ms=20)
    await producer.start()
    sent = 0
    try:
        from schemas.codec import decode

        pending = []
        with path.open("rb") as lines:
            for line in lines:
                event = decode(line)
                pending.append(
                    await producer.send(
                        names.of(event), line.rstrip(b"\n"), key=key_of(event), headers=HEADERS
                    )
                )
                if len(pending) >= 5000:
                    await asyncio.gather(*pending)
                    sent += len(pending)
                    pending = []
        await asyncio.gather(*pending)
        sent += len(pending)
    finally:
        await producer.stop()
    return sent


def run(settings: Settings, days: int, start: str, per_year: int, seed: int, out: Path) -> int:
    began = time.perf_counter()
    policy = load_policy(settings.policy, settings.sla_scale)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "history.jsonl"
    counts: dict[str, int] = {}
    with path.open("wb") as lines:
        for event in Simulation(policy, seed).run(date.fromisoformat(start), days, per_year):
            counts[event.type] = counts.get(event.type, 0) + 1
            lines.write(encode(event) + b"\n")
    total = sum(counts.values())
    print(
        f"simulated {days} days: {counts.get('dispatch.request.received', 0)} requests, "
        f"{total} events in {time.perf_counter() - began:.1f} s → {path}"
    )
    for kind, n in sorted(counts.items()):
        print(f"  {kind:<36} {n:>7}")
    if settings.kafka_bootstrap:
        sent = asyncio.run(
            publish_all(settings.kafka_bootstrap, Topics(settings.topic_prefix), path, settings)
        )
        print(f"published {sent} events to {settings.kafka_bootstrap}")
    return 0
