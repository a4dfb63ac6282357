"""The verdicts of ``--verify`` (pure): each recomputed decision against the recorded one of
its id, each refusal against its dead letter, and what is left over at the end."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from schemas.envelope import CloudEvent, Decision, derive_id
from schemas.events import InputRejected
from services.audit.divergence import Divergence, Pending, as_json, different
from services.audit.log import INPUT_TOPICS, AuditLog, Logged, Position
from services.audit.order import Plan
from services.audit.recorded import Recorded, RouterClock, owner


def _reason(event: CloudEvent) -> str:
    return event.data.reason if isinstance(event, InputRejected) else ""


@dataclass
class Ledger:
    log: AuditLog
    recorded: Recorded
    clock: RouterClock
    divergences: list[Divergence] = field(default_factory=list)
    reproduced: int = 0
    refusals: int = 0
    matched: set[str] = field(default_factory=set)
    explained: set[Position] = field(default_factory=set)
    admitted: list[tuple[str, Logged]] = field(default_factory=list)
    waiting: dict[str, Pending] = field(default_factory=dict)
    unverifiable: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.divergences.extend(self.recorded.problems)

    def add(self, **found: object) -> None:
        self.divergences.append(Divergence.model_validate(found))

    def cannot(self, ticket_id: str, reason: str) -> None:
        """A ticket whose decisions cannot be re-decided: one divergence naming them all."""
        if ticket_id in self.unverifiable:
            return
        self.unverifiable[ticket_id] = reason
        mine = self.recorded.owned.get(ticket_id, [])
        self.add(
            ticket_id=ticket_id,
            kind="unverifiable",
            decision_id=None,
            detail=f"cannot re-decide ticket {ticket_id}: {reason}",
            recorded=sorted(mine),
        )

    def is_pending(self, plan: Plan, cause: CloudEvent) -> bool:
        horizon = self.clock.horizon(plan.partition)
        return horizon is None or cause.time > horizon

    def wait(self, plan: Plan, cause: CloudEvent, what: str) -> None:
        pending = self.waiting.get(cause.id) or Pending(
            ticket_id=plan.ticket_id, input_id=cause.id, time=cause.time.isoformat(), awaiting=[]
        )
        self.waiting[cause.id] = pending.model_copy(update={"awaiting": [*pending.awaiting, what]})

    def expect(self, plan: Plan, decision: Decision, cause: CloudEvent) -> None:
        """A decision the logic makes: recorded with the same content, or a divergence."""
        found = self.recorded.decisions.get(decision.id)
        if found is None:
            if self.is_pending(plan, cause):
                self.wait(plan, cause, decision.id)
                return
            self.add(
                ticket_id=owner(decision),
                kind="missing",
                decision_id=decision.id,
                type=decision.type,
                detail=f"{cause.type} {cause.id} calls for it; the log does not have it",
                expected=as_json(decision),
            )
            return
        self.matched.add(decision.id)
        differs = different(owner(decision), decision, found.event)
        if differs is None:
            self.reproduced += 1
        else:
            self.divergences.append(differs)

    def owed(self, ticket_id: str, decision: Decision, due: str, ticked: str) -> None:
        if decision.id in self.recorded.decisions:
            return
        self.add(
            ticket_id=ticket_id,
            kind="missing",
            decision_id=decision.id,
            type=decision.type,
            detail=f"due at {due}; the router ticked until {ticked} and decided nothing",
            expected=as_json(decision),
        )

    # ------------------------------------------------------------ refusals

    def letter(self, at: Position, reason: str | None = None) -> Logged | None:
        """A dead letter for the input at ``at`` not yet matched to a refusal."""
        key = (self.log.physical(at.topic), at.partition, at.offset)
        for letter in self.recorded.letters.get(key, []):
            if letter.at not in self.explained and reason in (None, _reason(letter.event)):
                return letter
        return None

    def refused(self, plan: Plan, logged: Logged, reason: str) -> None:
        """The logic refuses an input: the router must have dead-lettered it."""
        letter = self.letter(logged.at)
        if letter is None and plan.request is not None:
            # A refused update that had overtaken its request is dead-lettered under the
            # request's position (the router's unpark passes the request's message on).
            letter = self.letter(plan.request.at, reason)
        if letter is not None:
            self.explained.add(letter.at)
            self.refusals += 1
            return
        if self.is_pending(plan, logged.event):
            self.wait(plan, logged.event, "dispatch.input.rejected")
            return
        where = logged.at.label(self.log.prefix)
        self.add(
            ticket_id=plan.ticket_id,
            kind="missing",
            decision_id=derive_id(f"router:{where}", "rejected"),  # bus.rejected's id
            type="dispatch.input.rejected",
            detail=f"{logged.event.type} {logged.event.id} ({where}) is refused by the "
            f"router's logic, and the log has no dead letter for it: {reason}",
            expected={"reason": reason, "origin": where},
        )

    def accepted(self, plan: Plan, logged: Logged) -> None:
        """Judged at the end, once every refusal has found its letter."""
        self.admitted.append((plan.ticket_id, logged))

    # ------------------------------------------------------------ what is left

    def sweep(
        self, owners: Callable[[str], bool] | None = None, unreadable: bool = True
    ) -> list[Pending]:
        """Dead letters for inputs the logic accepts; recorded decisions never recomputed
        (of the tickets ``owners`` takes, else of all); unreadable inputs the router did not
        dead-letter (unless ``unreadable`` is false). Returns what is still pending."""
        for ticket_id, logged in self.admitted:
            letter = self.letter(logged.at)
            if letter is None:
                continue
            self.explained.add(letter.at)
            self.add(
                ticket_id=ticket_id,
                kind="extra",
                decision_id=letter.event.id,
                type=letter.event.type,
                detail=f"{logged.event.type} {logged.event.id} was dead-lettered, but the "
                f"router's logic accepts it: {_reason(letter.event)}",
                recorded=as_json(letter.event),
            )
        for decision_id, logged in self.recorded.decisions.items():
            ticket_id = owner(logged.event)
            if decision_id in self.matched or ticket_id in self.unverifiable:
                continue
            if owners is not None and not owners(ticket_id):
                continue
            self.add(
                ticket_id=ticket_id,
                kind="extra",
                decision_id=decision_id,
                type=logged.event.type,
                detail=self.recorded.why.get(decision_id, "no recorded input or tick calls for it"),
                recorded=as_json(logged.event),
            )
        for bad in self.log.unreadable if unreadable else ():
            key = (self.log.physical(bad.at.topic), bad.at.partition, bad.at.offset)
            if bad.at.topic in INPUT_TOPICS and key not in self.recorded.letters:
                where = bad.at.label(self.log.prefix)
                self.add(
                    ticket_id=None,
                    kind="missing",
                    decision_id=derive_id(f"router:{where}", "rejected"),
                    type="dispatch.input.rejected",
                    detail=f"{where} is no event ({bad.reason}) and was not dead-lettered",
                )
        return list(self.waiting.values())
