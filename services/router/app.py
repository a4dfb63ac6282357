"""The router's composition root: topics, the policy registry, and the engine (``engine.py``)
until SIGINT/SIGTERM.

The router was a Faust app; it is now a batched aiokafka loop with state the kernel owns (see
README, "Performance", for the numbers side by side). Faust remains only where it serves: the
bench's Faust floor (``faust_kafka.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from schemas import topics
from schemas.policy import Policy
from services.common.bus import Topics, ensure_topics, kafka_security
from services.common.privacy import install_log_masking
from services.common.settings import Settings
from services.router import registry as registry_module
from services.router.engine import STATE, Router
from services.router.places import PLACES

log = logging.getLogger(__name__)

COMPACTED = {"cleanup.policy": "compact", "retention.ms": "-1"}


def state_topic_configs(settings: Settings) -> dict[str, str]:
    """The router's own topics: compacted, kept, as durable as the catalog's."""
    configs = dict(COMPACTED)
    if settings.min_insync_replicas:
        configs["min.insync.replicas"] = str(settings.min_insync_replicas)
    return configs


async def ensure_state_topics(settings: Settings, bootstrap: str) -> None:
    """The catalog's topics, and the router's own two (compacted), partitioned like the
    requests: a ticket's changelog partition is its inputs' partition."""
    names = Topics(settings.topic_prefix)
    security = kafka_security(settings)
    await ensure_topics(
        bootstrap,
        settings.topic_prefix,
        settings.partitions,
        settings.replication_factor,
        min_insync_replicas=settings.min_insync_replicas,
        security=security,
    )
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000, **security)
    await admin.start()
    try:
        described = await admin.describe_topics([names(topics.REQUESTS)])
        count = len(described[0]["partitions"]) or settings.partitions
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                names(name),
                count,
                settings.replication_factor,
                topic_configs=state_topic_configs(settings),
            )
            for name in (STATE, PLACES)
            if names(name) not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(wanted)
    finally:
        await admin.close()


async def serve(settings: Settings, bootstrap: str, policy: Policy) -> None:
    names = Topics(settings.topic_prefix)
    await ensure_state_topics(settings, bootstrap)
    policies = await registry_module.load(bootstrap, names, policy)
    router = Router(settings, bootstrap, policies)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, router.stopping.set)
    log.info(
        "router on %s with policy %s (%d versions known)",
        bootstrap,
        policy.version,
        len(policies.by_version),
    )
    await router.run()


def run(settings: Settings, bootstrap: str, policy: Policy) -> None:
    """Run the router until SIGINT/SIGTERM."""
    install_log_masking()
    asyncio.run(serve(settings, bootstrap, policy))
