"""The ledger of finished notifications and the committable offsets (pure, no broker)."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import orjson

from schemas.codec import decode, encode
from schemas.events import (
    InputRejected,
    NotificationFailed,
    NotificationSent,
    TicketAssigned,
)
from schemas.policy import load_policy
from services.notifier.delivery import Outcome
from services.notifier.ledger import Ledger, finished_notification
from services.notifier.outcomes import Raw, dead_letter, failed, sent
from services.notifier.progress import PartitionProgress, Progress
from services.notifier.recipients import Target, plan
from tests.conftest import SMALL_POLICY
from tests.unit.test_notifier_recipients import CITY_MGMT, HOOK, MICROGRID, assigned

NOW = datetime(2026, 2, 10, 9, 0, 1, tzinfo=timezone(timedelta(hours=8)))


def targets() -> tuple[TicketAssigned, tuple[Target, ...]]:
    decision = assigned(CITY_MGMT, copied=[MICROGRID])
    return decision, plan(decision, load_policy(SMALL_POLICY), HOOK).targets


def test_sent_and_failed_records_rebuild_the_ledger_by_notification_id() -> None:
    decision, (sms, center) = targets()
    records = [
        encode(sent(sms, decision, Outcome(1, 12.5, None), NOW)),
        encode(failed(center, decision, Outcome(5, 900.0, "receiver answered 503"), NOW)),
    ]
    ledger = Ledger()
    for value in records:
        ledger.record_value(value)
    assert sms.notification_id in ledger
    assert center.notification_id in ledger
    assert len(ledger) == 2


def test_records_that_are_not_outcomes_are_ignored_not_fatal() -> None:
    ledger = Ledger()
    for value in (b"not json", b"[]", orjson.dumps({"type": "dispatch.ticket.assigned"}), None):
        ledger.record_value(value)
    assert len(ledger) == 0
    assert ledger.ignored == 4
    assert finished_notification(orjson.dumps({"type": "dispatch.notification.sent"})) is None


def test_outcome_events_are_valid_contract_events_with_ids_from_the_notification() -> None:
    decision, (sms, _) = targets()
    event = decode(encode(sent(sms, decision, Outcome(2, 40.0, None), NOW)))
    assert isinstance(event, NotificationSent)
    assert event.causationid == decision.id
    assert (event.data.attempts, event.data.channel, event.data.recipient) == (
        2,
        "sms",
        MICROGRID.id,
    )
    again = sent(sms, decision, Outcome(3, 80.0, None), NOW)
    assert again.id == event.id  # the same notification: the same event id
    gone = decode(encode(failed(sms, decision, Outcome(5, 1.0, "timeout"), NOW)))
    assert isinstance(gone, NotificationFailed)
    assert gone.data.error == "timeout"
    assert gone.id != event.id


def test_dead_letter_carries_the_original_decision_and_names_the_recipient() -> None:
    decision, (sms, center) = targets()
    raw = Raw(encode(decision), b"T0000000000001", "dispatch.decisions", 2, 41)
    outcome = Outcome(5, 1.0, "ConnectError")
    letter = decode(encode(dead_letter(sms, decision, outcome, raw, NOW)))
    assert isinstance(letter, InputRejected)
    assert base64.b64decode(letter.data.original) == encode(decision)
    assert MICROGRID.id in letter.data.reason
    assert "13905981234" not in letter.data.reason
    assert (letter.data.origin.partition, letter.data.origin.offset) == (2, 41)
    other = dead_letter(center, decision, outcome, raw, NOW)
    assert other.id != letter.id


def test_commit_stops_at_the_lowest_decision_still_in_flight() -> None:
    part = PartitionProgress()
    for offset in (10, 11, 12, 13):
        part.begin(offset)
    assert part.committable() == 10
    part.finish(11)
    part.finish(13)
    assert part.committable() == 10
    part.finish(10)
    assert part.committable() == 12
    part.finish(12)
    assert part.committable() == 14
    assert part.in_flight == 0


def test_redelivered_offsets_are_not_tracked_twice() -> None:
    part = PartitionProgress()
    part.begin(5)
    part.begin(5)
    part.finish(5)
    assert (part.committable(), part.in_flight) == (6, 0)


def test_progress_commits_only_partitions_that_moved() -> None:
    progress: Progress[int] = Progress()
    progress.of(0).begin(0)
    progress.of(1).begin(7)
    progress.of(1).finish(7)
    offsets = progress.to_commit()
    assert offsets == {0: 0, 1: 8}
    progress.mark(offsets)
    assert progress.to_commit() == {}
    progress.of(0).finish(0)
    assert progress.to_commit() == {0: 1}
    assert progress.in_flight == 0
