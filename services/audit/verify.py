"""``--verify``: the router's pure core re-run over the recorded inputs, under the recorded
policy versions, and every recorded decision compared with what it decides (pure).

All tickets advance together in the order the router acted on them (record times), so a repeat
report meets the open-ticket index (place → ticket) as the router had it. A ticket's own order:
its request; its updates, links and repeated requests each in their partition's order, a link
where the ticketversion of the decision it caused puts it; a decision a clock tick caused where
its ticketversion puts it, with the tick's time as now; a refused input where it is refused.
"""

from __future__ import annotations

import gc
import heapq
import multiprocessing
import os
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from multiprocessing.connection import Connection

from schemas.envelope import Decision
from schemas.policy import Policy
from services.audit.cursor import Cursor
from services.audit.divergence import Divergence, Pending
from services.audit.groups import groups, share
from services.audit.ledger import Ledger
from services.audit.log import AuditLog, Logged
from services.audit.order import Plan, plans, tick_of
from services.audit.policies import PolicyBook
from services.audit.recorded import owner, recorded, router_clock
from services.router.kernel.escalation import next_check
from services.router.kernel.handle import Outcome, handle
from services.router.kernel.places import apply_changes

GRACE = timedelta(seconds=5)
"""How far the router may lag behind its clock before a decision it owes counts as missing."""
CATCH_UP = 8
"""Most decisions one tick can owe before the one recorded (escalations up the grid)."""
PARALLEL_FROM = 20_000
"""Records of a log from which a replay shares its tickets among processes (below, the fork
costs more than it saves)."""
MAX_WORKERS = 8


@dataclass
class Verification:
    divergences: list[Divergence] = field(default_factory=list)
    pending: list[Pending] = field(default_factory=list)
    recorded: int = 0
    reproduced: int = 0
    refusals: int = 0
    last_tick: datetime | None = None
    processes: int = 1
    """how many processes replayed the tickets (groups.py)"""


class _Replay:
    def __init__(self, log: AuditLog, book: PolicyBook, grace: timedelta) -> None:
        self.book = book
        self.recorded = recorded(log)
        self.clock = router_clock(log, grace)
        self.log = log
        self.ledger = Ledger(log, self.recorded, self.clock)
        self.index: dict[str, str] = {}
        self.plans = plans(log)

    def run(self, cursors: dict[str, Cursor]) -> None:
        """Every ticket of ``cursors`` re-decided, all advancing together in the router's
        order."""
        heap: list[tuple[datetime, datetime, int, str]] = []
        for seq, (ticket_id, cursor) in enumerate(cursors.items()):
            assert cursor.plan.request is not None
            heapq.heappush(heap, (*self.when(cursor.plan.request), seq, ticket_id))
        seq = len(heap)
        while heap:
            *_, ticket_id = heapq.heappop(heap)
            cursor = cursors[ticket_id]
            head = self.head(cursor)
            assert head is not None
            kind, logged = head
            cursor.take(kind, logged)
            if kind == "tick":
                self.redecide_tick(cursor, logged)
            else:
                self.apply_input(cursor, logged)
            head = self.head(cursor)
            if head is None:
                self.finish(cursor)
            else:
                heapq.heappush(heap, (*self.when(head[1]), seq, ticket_id))
                seq += 1

    def verification(self, pending: list[Pending]) -> Verification:
        return Verification(
            divergences=self.ledger.divergences,
            pending=pending,
            recorded=len(self.recorded.decisions),
            reproduced=self.ledger.reproduced,
            refusals=self.ledger.refusals,
            last_tick=self.clock.latest(),
        )

    def alone(self, cursors: dict[str, Cursor]) -> Verification:
        self.run(cursors)
        return self.verification(self.ledger.sweep())

    def in_parts(self, cursors: dict[str, Cursor], parts: list[list[str]]) -> Verification:
        """Each part (groups of tickets that never meet: groups.py) replayed in a process of
        its own, forked with the log read (this process takes the first); the verdicts joined
        in the order of the parts, then the decisions of no part's ticket. A part that matched
        a decision of another part's ticket (the grouping missed a way tickets meet) makes the
        whole replay run again in one process."""
        before = len(self.ledger.divergences)
        fork = multiprocessing.get_context("fork")
        children = []
        gc.freeze()  # and the replay's indexes: the children's collector leaves them uncopied
        for part in parts[1:]:
            mine, theirs = fork.Pipe(duplex=False)
            child = fork.Process(
                target=_child, args=(self, cursors, part, before, theirs), daemon=True
            )
            child.start()
            theirs.close()
            children.append((child, mine))
        try:
            taken = {ticket_id for part in parts for ticket_id in part}
            self.ledger.sweep(owners=lambda ticket_id: ticket_id not in taken)
            rest = self.ledger.divergences[before:]
            del self.ledger.divergences[before:]
            done = [_part(self, cursors, parts[0], before)]
            for child, conn in children:
                try:
                    found = conn.recv()
                except EOFError:
                    found = RuntimeError(f"a replay process ended with {child.exitcode}")
                child.join()
                if isinstance(found, BaseException):
                    raise found
                done.append(found)
        finally:  # on an error here or in a part, no process is left behind
            for child, conn in children:
                if child.is_alive():
                    child.terminate()
                    child.join()
                conn.close()
        if any(part.strays for part in done):
            again = _Replay(self.log, self.book, self.clock.grace)
            return again.alone(again.cursors())
        ledger = self.ledger
        ledger.divergences[before:] = [d for part in done for d in part.divergences] + rest
        ledger.reproduced = sum(part.reproduced for part in done)
        ledger.refusals = sum(part.refusals for part in done)
        found = self.verification([p for part in done for p in part.pending])
        found.processes = len(parts)
        return found

    def when(self, logged: Logged) -> tuple[datetime, datetime]:
        """When the router acted on it: the record time of the first decision it caused (of
        the decision itself, for a tick's); else when it was written; else its event time.
        Across partitions the router's order is its own, not the order of event times; only
        records of the same millisecond (one batch) are taken in the order of their events."""
        event = logged.event
        if isinstance(event, Decision):  # a tick-caused decision
            return (logged.timestamp or event.time, event.time)
        return (self.recorded.acted.get(event.id) or logged.timestamp or event.time, event.time)

    def cursors(self) -> dict[str, Cursor]:
        found = {}
        for ticket_id, plan in self.plans.items():
            if plan.request is None:
                continue  # the router holds updates until their request arrives
            policy = self.policy_for(plan)
            if policy is not None:
                ticks = self.recorded.by_tick.get(ticket_id, {})
                found[ticket_id] = Cursor(plan, policy, ticks, self.recorded.anchors)
        return found

    def policy_for(self, plan: Plan) -> Policy | None:
        """The version most of the ticket's recorded decisions name (a ticket keeps its
        creation-time policy); with none recorded, the version in force at its request."""
        assert plan.request is not None
        named: Counter[str] = Counter()
        for decision_id in self.recorded.owned.get(plan.ticket_id, []):
            event = self.recorded.decisions[decision_id].event
            if isinstance(event, Decision):
                named[event.policyversion] += 1
        if not named:
            found = self.book.in_force_at(plan.request.event.time)
            if found is None:
                self.ledger.cannot(plan.ticket_id, "no policy is on dispatch.policies")
            return found
        version = named.most_common(1)[0][0]
        found = self.book.get(version)
        if found is None:
            self.ledger.cannot(plan.ticket_id, f"its policy {version} is not on dispatch.policies")
        return found

    def head(self, cursor: Cursor) -> tuple[str, Logged] | None:
        """The ticket's next step: its request first. Then an input the router refused (a dead
        letter) and the logic refuses now: a refusal applies nothing, so no ticketversion
        tells when it came, and it is refused here as there. Then the tick decisions recorded
        at the current ticketversion; then the next input (``Cursor.next_input``)."""
        if not cursor.started:
            assert cursor.plan.request is not None
            return "input", cursor.plan.request
        for waiting in (cursor.next_update(), cursor.next_other()):
            if (
                waiting is not None
                and self.ledger.letter(waiting.at)
                and self.refuses(cursor, waiting)
            ):
                return "input", waiting
        due = cursor.due()
        if due is not None:
            return "tick", due
        after = cursor.next_input()
        return ("input", after) if after is not None else None

    def refuses(self, cursor: Cursor, logged: Logged) -> bool:
        return handle(cursor.state, logged.event, cursor.policy, self.index).refusal is not None

    def apply_input(self, cursor: Cursor, logged: Logged) -> None:
        """The kernel's outcome, as the router's shell takes it: a refusal (or a fault of the
        logic) is a dead letter, a park waits for the request, the rest is decided."""
        event, plan = logged.event, cursor.plan
        outcome = handle(cursor.state, event, cursor.policy, self.index)
        if outcome.parked:
            return
        if outcome.refusal is not None:
            cursor.state = outcome.ticket
            self.ledger.refused(plan, logged, outcome.refusal)
            return
        self.ledger.accepted(plan, logged)
        self.advance(cursor, outcome)
        for decision in outcome.decisions:
            self.ledger.expect(plan, decision, event)

    def redecide_tick(self, cursor: Cursor, logged: Logged) -> None:
        """Re-decide at the recorded tick; decisions the logic owes first are missing."""
        recorded = logged.event
        assert isinstance(recorded, Decision)
        clock = tick_of(recorded)
        assert clock is not None
        for _ in range(CATCH_UP):
            outcome = handle(cursor.state, clock, cursor.policy, self.index)
            decided = outcome.decisions
            ids = [d.id for d in decided]
            if not decided:
                self.recorded.why[recorded.id] = (
                    f"re-decided after {recorded.ticketversion} inputs with the tick at "
                    f"{clock.time.isoformat()}: nothing was due"
                )
                return
            if recorded.id not in ids and any(i in self.recorded.decisions for i in ids):
                self.recorded.why[recorded.id] = f"that tick calls for {', '.join(ids)} instead"
                return
            for decision in decided:
                self.ledger.expect(cursor.plan, decision, clock)
            self.advance(cursor, outcome)
            if recorded.id in ids:
                return

    def finish(self, cursor: Cursor) -> None:
        """Tick decisions never reached (at another ticketversion: compared if the logic
        makes them now), then what the clock should have escalated after the last input."""
        if cursor.state is None:
            return
        for logged in cursor.left():
            recorded = logged.event
            assert isinstance(recorded, Decision)
            clock = tick_of(recorded)
            assert clock is not None
            outcome = handle(cursor.state, clock, cursor.policy, self.index)
            if recorded.id in [d.id for d in outcome.decisions]:
                for decision in outcome.decisions:
                    self.ledger.expect(cursor.plan, decision, clock)
                self.advance(cursor, outcome)
            else:
                self.recorded.why[recorded.id] = (
                    f"recorded after {recorded.ticketversion} inputs of the ticket; "
                    f"its inputs give {cursor.version}"
                )
        self.owed(cursor)

    def owed(self, cursor: Cursor) -> None:
        state, last = cursor.state, self.clock.of(cursor.plan.partition)
        if state is None or last is None:
            return
        check = next_check(state, cursor.policy)
        if check is None or check > last.time - self.clock.grace:
            return
        for decision in handle(state, last, cursor.policy, self.index).decisions:
            self.ledger.owed(state.ticket_id, decision, check.isoformat(), last.time.isoformat())

    def advance(self, cursor: Cursor, outcome: Outcome) -> None:
        """The ticket's new state, and the open-place index with it, as the kernel says."""
        cursor.state = outcome.ticket
        apply_changes(self.index, outcome.places)


@dataclass
class _Done:
    """What one part's process found (divergences after those found before the fork)."""

    divergences: list[Divergence]
    pending: list[Pending]
    reproduced: int
    refusals: int
    strays: bool
    """whether it matched a decision owned by a ticket of another part"""


def _part(replay: _Replay, cursors: dict[str, Cursor], part: list[str], before: int) -> _Done:
    """Replay the tickets of ``part``: what it finds after the ``before`` divergences found
    before the parts were dealt."""
    mine = set(part)
    replay.run({ticket_id: cursors[ticket_id] for ticket_id in part})
    ledger = replay.ledger
    pending = ledger.sweep(owners=mine.__contains__, unreadable=False)
    strays = any(owner(replay.recorded.decisions[i].event) not in mine for i in ledger.matched)
    return _Done(ledger.divergences[before:], pending, ledger.reproduced, ledger.refusals, strays)


def _child(
    replay: _Replay, cursors: dict[str, Cursor], part: list[str], before: int, conn: Connection
) -> None:
    """A forked process's part, sent back (or the error that stopped it)."""
    try:
        found: _Done | BaseException = _part(replay, cursors, part, before)
    except BaseException as error:  # the parent raises it
        found = error
    conn.send(found)
    conn.close()


def workers_for(log: AuditLog) -> int:
    """Processes for a replay of ``log``: one per usable core, for a log big enough to gain."""
    if sum(len(records) for records in log.records.values()) < PARALLEL_FROM:
        return 1
    return min(len(os.sched_getaffinity(0)), MAX_WORKERS)


def verify(
    log: AuditLog, book: PolicyBook, grace: timedelta = GRACE, workers: int | None = None
) -> Verification:
    """Every recorded decision that does not follow from the recorded inputs and policies.

    With ``workers`` > 1 (by default: one per core for a log of ``PARALLEL_FROM`` records or
    more) the tickets are replayed in groups that never meet, in that many processes; the
    verdicts are those of one replay of all (groups.py), in another order."""
    # The log and its indexes live as long as the replay: kept out of the collector's scans
    # (each full collection would walk all of them) and, forked, from its copy-on-write.
    gc.freeze()
    try:
        replay = _Replay(log, book, grace)
        cursors = replay.cursors()
        count = workers_for(log) if workers is None else workers
        if count > 1:
            weights = {t: c.weight for t, c in cursors.items()}
            parts = share(groups(cursors, replay.recorded), weights, count)
            if len(parts) > 1:
                return replay.in_parts(cursors, parts)
        return replay.alone(cursors)
    finally:
        gc.unfreeze()
