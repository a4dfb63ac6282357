"""A tail behind only by the records its own process wrote (and applied) is in sync."""

from __future__ import annotations

from aiokafka import TopicPartition

from services.intake.tail import Tail

TP = TopicPartition("dispatch.intake.ledger", 0)


def tail_at(position: int) -> Tail:
    tail = Tail("127.0.0.1:1", [TP.topic], lambda record: None, "ledger")
    tail._positions = {TP: position}
    return tail


def test_a_tail_behind_only_by_its_own_writes_has_reached_the_end() -> None:
    tail = tail_at(5)
    tail.wrote(TP, 5)
    tail.wrote(TP, 6)
    assert tail._reached({TP: 7})


def test_a_record_someone_else_wrote_in_between_must_be_read_first() -> None:
    tail = tail_at(5)
    tail.wrote(TP, 6)  # offset 5 is another instance's
    assert not tail._reached({TP: 7})


def test_an_own_write_already_read_counts_for_nothing() -> None:
    tail = tail_at(5)
    tail.wrote(TP, 3)
    assert not tail._reached({TP: 6})
    assert tail._reached({TP: 5})
