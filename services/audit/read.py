"""Read every topic of a deployment from the beginning into an ``AuditLog`` (the shell).

Consistent while the system runs: what the router wrote is read first, then links, then what
it reads (requests, updates, policies). A decision is written after its cause, so every cause
of a decision read is read as well; an input newer than its decisions is pending (verify.py).

Where a partition ends: the larger of the broker's end offset and the high watermark of the
first fetch. Tansu 0.6 answers ListOffsets with the last batch's base offset + 1, which hides
the rest of a batch of several records (the router's decisions come in such batches).

The clock is read from its last ticks only: a decision names the tick that caused it, and the
tick can be rebuilt from that (order.tick_of), so the audit needs no week of ticks.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from schemas import topics
from schemas.codec import EventDecodeError, decode
from services.audit.log import AuditLog, Logged, Position, Unreadable, build
from services.common.bus import Topics, make_consumer

PHASES = (
    (topics.DECISIONS, topics.POINTS, topics.DEADLETTER, topics.NOTIFICATIONS, topics.CLOCK),
    (topics.LINKS,),
    (topics.REQUESTS, topics.UPDATES, topics.POLICIES),
)
CLOCK_TAIL = 8
"""Records read from the end of each clock partition: its last ticks."""


class AuditReadError(RuntimeError):
    """The log cannot be read: the broker does not answer, or holds no dispatch topics."""


async def read_log(
    bootstrap: str, prefix: str = "", connect_timeout: float = 15.0, stall_timeout: float = 30.0
) -> AuditLog:
    # Tansu holds a fetch for its whole max wait even when data is there: keep it short.
    consumer = make_consumer(bootstrap, group=None, request_timeout_ms=10_000, fetch_max_wait_ms=50)
    try:
        async with asyncio.timeout(connect_timeout):
            await consumer.start()
    except (KafkaError, TimeoutError, OSError) as err:
        await consumer.stop()
        raise AuditReadError(f"cannot reach Kafka at {bootstrap}: {err or 'timed out'}") from err
    try:
        names = Topics(prefix)
        if names(topics.REQUESTS) not in await consumer.topics():
            raise AuditReadError(
                f"no topic {names(topics.REQUESTS)} on {bootstrap}: is this the deployment's "
                f"broker, and DISPATCH_TOPIC_PREFIX ({prefix!r}) its prefix?"
            )
        # Every topic's partitions before any assignment: the metadata then covers only
        # the topics assigned.
        parts = {
            topic: sorted(consumer.partitions_for_topic(names(topic)) or ())
            for phase in PHASES
            for topic in phase
        }
        logged: list[Logged] = []
        unreadable: list[Unreadable] = []
        for phase in PHASES:
            catalog = {
                TopicPartition(names(topic), p): topic for topic in phase for p in parts[topic]
            }
            await _phase(consumer, catalog, logged, unreadable, stall_timeout)
        return build(prefix, logged, unreadable, {t: len(p) for t, p in parts.items()})
    except KafkaError as err:
        raise AuditReadError(f"reading from {bootstrap} failed: {err}") from err
    finally:
        await consumer.stop()


async def _phase(
    consumer: AIOKafkaConsumer,
    catalog: dict[TopicPartition, str],
    logged: list[Logged],
    unreadable: list[Unreadable],
    stall_timeout: float,
) -> None:
    """Read the partitions of ``catalog`` (physical partition → catalog topic) to their end."""
    if not catalog:
        return
    consumer.assign(list(catalog))
    begins = await consumer.beginning_offsets(list(catalog))
    ends = await consumer.end_offsets(list(catalog))
    for tp, topic in catalog.items():
        tail = topic == topics.CLOCK
        consumer.seek(tp, max(begins[tp], ends[tp] - CLOCK_TAIL) if tail else begins[tp])
    left = {tp for tp in catalog if ends[tp] > begins[tp]}
    watermarked: set[TopicPartition] = set()
    loop = asyncio.get_running_loop()
    progress = loop.time()
    while left:
        batch = await consumer.getmany(*left, timeout_ms=200, max_records=10_000)
        for tp, records in batch.items():
            progress = loop.time()
            if tp not in watermarked:
                watermarked.add(tp)
                ends[tp] = max(ends[tp], consumer.highwater(tp) or 0)
            for record in records:
                if record.offset < ends[tp]:
                    at = Position(catalog[tp], tp.partition, record.offset)
                    _keep(record.value or b"", at, record.timestamp, logged, unreadable)
        for tp in list(left):
            if tp in watermarked and await consumer.position(tp) >= ends[tp]:
                left.discard(tp)
        if left and loop.time() - progress > stall_timeout:
            raise AuditReadError(f"the broker stopped answering: {len(left)} partitions unread")


def _keep(
    value: bytes,
    at: Position,
    timestamp: int | None,
    logged: list[Logged],
    unreadable: list[Unreadable],
) -> None:
    when = datetime.fromtimestamp(timestamp / 1000, UTC) if timestamp else None
    try:
        logged.append(Logged(decode(value), at, when))
    except EventDecodeError as err:
        unreadable.append(Unreadable(at, err.reason, when))
