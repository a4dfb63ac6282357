"""Every policy version in force, kept in Kafka (``dispatch.policies``, compacted by version).

The router publishes the policy it starts with and loads every version ever published, so a
ticket keeps the policy it was created under across upgrades, and the audit can replay under
the recorded versions.
"""

from __future__ import annotations

import logging
from typing import Any

from aiokafka import TopicPartition

from schemas import topics
from schemas.codec import EventDecodeError, decode
from schemas.envelope import derive_id
from schemas.events import PolicyData, PolicyPublished
from schemas.policy import Policy, PolicyError, parse_policy
from services.common.bus import Topics, make_consumer, make_producer, publish
from services.router.kernel.emit import ROUTER_SOURCE

log = logging.getLogger(__name__)


class PolicyRegistry:
    def __init__(self, current: Policy, known: dict[str, Policy] | None = None) -> None:
        self.current = current
        self.by_version = {current.version: current, **(known or {})}

    def for_version(self, version: str | None) -> Policy:
        """The policy a ticket was created under; the current one for a new ticket.

        A version this router never saw (its document is gone from Kafka) falls back to the
        current policy, and the decision then records the current version: honest, not silent.
        """
        if version is None:
            return self.current
        found = self.by_version.get(version)
        if found is None:
            log.warning(
                "policy %s is unknown here; deciding under %s", version, self.current.version
            )
            return self.current
        return found


def published(policy: Policy) -> PolicyPublished:
    from datetime import UTC, datetime

    return PolicyPublished(
        id=derive_id(f"policy:{policy.version}", "published"),
        source=ROUTER_SOURCE,
        time=datetime.now(UTC),
        subject=policy.version,
        causationid=f"policy:{policy.version}",
        correlationid=f"policy:{policy.version}",
        data=PolicyData(
            version=policy.version,
            name=policy.name,
            sla_scale=policy.sla_scale,
            content_hash=policy.content_hash,
            document=policy.document,
        ),
    )


async def read_policies(bootstrap: str, names: Topics) -> dict[str, Policy]:
    """Every policy version on ``dispatch.policies``."""
    topic = names(topics.POLICIES)
    consumer = make_consumer(bootstrap, group=None)
    await consumer.start()
    found: dict[str, Policy] = {}
    try:
        await consumer.topics()
        parts = [
            TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not parts:
            return found
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        while not await _caught_up(consumer, ends):
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    _keep(found, record.value)
    finally:
        await consumer.stop()
    return found


async def _caught_up(consumer: Any, ends: dict[TopicPartition, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return False
    return True


def _keep(found: dict[str, Policy], value: bytes) -> None:
    try:
        event = decode(value)
    except EventDecodeError as err:
        log.warning("skipping an unreadable policy record: %s", err.reason)
        return
    if not isinstance(event, PolicyPublished):
        return
    try:
        policy = parse_policy(event.data.document.encode(), event.data.sla_scale)
    except PolicyError as err:
        log.warning("skipping policy %s: %s", event.data.version, err)
        return
    found[policy.version] = policy


async def load(bootstrap: str, names: Topics, current: Policy) -> PolicyRegistry:
    """Publish the current policy (once per version) and load every version in force."""
    known = await read_policies(bootstrap, names)
    if current.version not in known:
        producer = make_producer(bootstrap)
        await producer.start()
        try:
            await publish(producer, names, published(current))
        finally:
            await producer.stop()
    return PolicyRegistry(current, known)
