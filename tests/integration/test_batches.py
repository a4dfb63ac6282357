"""Records sent as one batch per partition land where ``AIOKafkaProducer.send`` puts them, in
order, with their headers, and every batch's future resolves only once the broker has it."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from services.common.batches import Record, Sender
from services.common.bus import make_producer
from tests.kafka import read_until


async def _topics(bootstrap: str, *names: str, partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, partitions, 1) for n in names])
    finally:
        await admin.close()


async def test_batched_records_land_where_send_puts_them_in_order(kafka_bootstrap: str) -> None:
    run = uuid.uuid4().hex[:8]
    one_by_one, batched = f"t.{run}.send", f"t.{run}.batched"
    await _topics(kafka_bootstrap, one_by_one, batched, partitions=5)
    # a few hundred keys, several records each, some values large enough to fill batches
    keys = [f"ticket-{run}-{i}".encode() for i in range(300)]
    values = [
        (k, f"{n}:".encode() + b"x" * (20_000 if n % 7 == 0 else 40))
        for n in range(3)
        for k in keys
    ]
    producer = make_producer(kafka_bootstrap)
    await producer.start()
    try:
        await asyncio.gather(*[await producer.send(one_by_one, v, key=k) for k, v in values])
        sender = Sender(producer)
        records = [Record(batched, k, v, (("h", k),)) for k, v in values]
        records.append(Record(batched, None, b"pinned", partition=3))
        futures = await sender.send(records)
        # batches, not a send a record; more than one a partition (each holds 256 KiB)
        assert 5 < len(futures) < len(records) / 10
        await asyncio.gather(*futures)
    finally:
        await producer.stop()

    expected = await read_until(kafka_bootstrap, one_by_one, lambda rs: len(rs) == len(values))
    got = await read_until(kafka_bootstrap, batched, lambda rs: len(rs) == len(values) + 1)
    where = {(r.key, r.value): r.partition for r in expected}
    assert {(r.key, r.value): r.partition for r in got if r.key is not None} == where
    assert [r.partition for r in got if r.key is None] == [3]
    for key in keys:  # a key's records in the order they were given
        assert [r.value for r in got if r.key == key] == [v for k, v in values if k == key]
    assert all(list(r.headers) == [("h", r.key)] for r in got if r.key is not None)
