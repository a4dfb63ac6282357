"""The intake's snapshot (services/intake/store.py): what it wrote outlives the process, a file of
another deployment or layout starts afresh, one process owns a file, memory stays bounded."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from aiokafka import TopicPartition
from aiokafka.structs import ConsumerRecord

from schemas.codec import encode
from schemas.words import CHINA
from services.intake import readmodel
from services.intake.ledger import Ledger, LedgerEntry
from services.intake.models import RequestIn, received_event
from services.intake.readmodel import ReadModel
from services.intake.store import Store, digest

LEDGER = "t.dispatch.intake.ledger"
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=CHINA)
NOWHERE = "127.0.0.1:1"  # the tails are never started here: only what they derive is tested


def record(topic: str, offset: int, key: str, value: bytes | None) -> ConsumerRecord:  # type: ignore[type-arg]
    return ConsumerRecord(
        topic, 0, offset, 0, 0, key.encode(), value, None, len(key), len(value or b""), ()
    )


def entry(ticket: str, n: int) -> LedgerEntry:
    return LedgerEntry(
        ticket_id=ticket,
        source="hotline-12345",
        external_id=f"e-{n}",
        event_id=f"urn:e-{n}",
        channel="hotline",
        accepted_at=T0,
    )


def names(topic: str) -> str:
    return f"t.{topic}"


def followed() -> list[str]:
    return [LEDGER, *(names(t) for t in readmodel.FOLLOWED)]


def test_the_ledger_and_its_positions_outlive_the_store(tmp_path: Path) -> None:
    path = tmp_path / "intake" / "t.sqlite"
    store = Store(path, [LEDGER])
    ledger = Ledger(NOWHERE, LEDGER, store)
    kept, dropped = entry("T-1", 1), entry("T-2", 2)
    ledger._apply(record(LEDGER, 0, "T-1", kept.model_dump_json().encode()))
    ledger._apply(record(LEDGER, 1, "T-2", dropped.model_dump_json().encode()))
    ledger._apply(record(LEDGER, 2, "T-2", None))  # the window of T-2 is over
    at = {TopicPartition(LEDGER, 0): (3, digest(None))}
    ledger.checkpoint(at)
    store.close()

    again = Store(path, [LEDGER])
    assert again.lasting
    ledger = Ledger(NOWHERE, LEDGER, again)
    assert ledger.positions() == at
    assert (ledger.get("T-1"), ledger.get("T-2"), len(ledger)) == (kept, None, 1)
    again.close()


def test_a_store_of_other_topics_or_another_layout_starts_afresh(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    store = Store(path, [LEDGER])
    ledger = Ledger(NOWHERE, LEDGER, store)
    ledger._apply(record(LEDGER, 0, "T-1", entry("T-1", 1).model_dump_json().encode()))
    ledger.checkpoint({TopicPartition(LEDGER, 0): (1, "d")})
    store.close()

    other = Store(path, ["u.dispatch.intake.ledger"])
    assert other.positions(["u.dispatch.intake.ledger", LEDGER]) == {}
    assert other.db.execute("SELECT count(*) FROM ledger").fetchone() == (0,)
    other.close()


def test_a_second_process_on_the_same_file_keeps_its_state_apart(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite"
    owner = Store(path, [LEDGER])
    second = Store(path, [LEDGER])
    assert owner.lasting and not second.lasting and second.path != path
    Ledger(NOWHERE, LEDGER, second).checkpoint({TopicPartition(LEDGER, 0): (7, "d")})
    assert owner.positions([LEDGER]) == {}
    temporary = second.path
    second.close()
    assert not temporary.exists()
    owner.close()
    assert Store(path, [LEDGER]).lasting  # the lock went with its owner


def test_forgetting_drops_what_was_derived_from_the_followed_topics_only(tmp_path: Path) -> None:
    store = Store(tmp_path / "t.sqlite", followed())
    ledger = Ledger(NOWHERE, LEDGER, store)
    model = ReadModel(NOWHERE, names, store)
    ledger._apply(record(LEDGER, 0, "T-1", entry("T-1", 1).model_dump_json().encode()))
    ledger.checkpoint({TopicPartition(LEDGER, 0): (1, "d")})
    model.apply(request(1))
    model.checkpoint({TopicPartition(names("dispatch.requests"), 0): (1, "d")})

    model.forget()
    assert len(model) == 0 and model.positions() == {}
    assert len(ledger) == 1 and ledger.positions() == {TopicPartition(LEDGER, 0): (1, "d")}
    store.close()


def request(n: int):  # type: ignore[no-untyped-def]
    body = RequestIn.model_validate(
        {
            "external_id": f"12345-20260301-{n:05d}",
            "description": f"城北新村{n}幢楼道灯坏了",
            "reporter": {"name": "赖女士", "phone": "13905981234"},
        }
    )
    return received_event(body, "hotline-12345", T0 + timedelta(minutes=n))


def test_the_read_model_holds_a_bounded_number_of_states_and_reads_the_rest_from_disk(
    tmp_path: Path,
) -> None:
    store = Store(tmp_path / "t.sqlite", followed())
    model = ReadModel(NOWHERE, names, store)
    events = [request(n) for n in range(readmodel.CACHED + 300)]
    tp = TopicPartition(names("dispatch.requests"), 0)
    for offset, event in enumerate(events):
        model.apply(event)
        if offset % 500 == 499:
            model.checkpoint({tp: (offset + 1, digest(encode(event)))})
    model.checkpoint({tp: (len(events), digest(encode(events[-1])))})
    assert len(model._cache) <= readmodel.CACHED and not model._dirty
    assert len(model) == len(events)

    first = model.view(events[0].subject)  # long gone from memory: read back from the file
    assert first is not None and first.ticket_id == events[0].subject
    assert first.received_at == T0
    shown = model.reported_between(T0, T0 + timedelta(minutes=9))
    assert [v.ticket_id for v in shown] == [e.subject for e in reversed(events[:10])]
    store.close()

    again = ReadModel(NOWHERE, names, Store(tmp_path / "t.sqlite", followed()))
    assert again.positions() == {tp: (len(events), digest(encode(events[-1])))}
    assert again.view(events[-1].subject) is not None and len(again) == len(events)
    again.store.close()
