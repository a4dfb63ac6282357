"""What the intake's routes and its raw consumer share in one process: settings, keys, the
producer, the idempotency ledger, the ticket read model, the policy's catalog, metrics.
Built in ``api.create_app`` (the composition root), started and stopped by its lifespan."""

from __future__ import annotations

import logging
from pathlib import Path

from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry, Counter, Histogram

from schemas import topics
from schemas.policy import Policy
from services.common import status
from services.common.bus import Topics
from services.common.identity import Credentials
from services.common.settings import Settings
from services.intake.adapters import Catalog
from services.intake.admission import Admission
from services.intake.ledger import Ledger
from services.intake.open311 import Service
from services.intake.readmodel import FOLLOWED, ReadModel
from services.intake.store import Store

log = logging.getLogger(__name__)


def state_file(settings: Settings) -> Path:
    """Where the intake keeps its snapshot: one file per deployment (topic prefix) under the
    state directory."""
    name = f"{settings.topic_prefix.rstrip('.') or 'dispatch'}.sqlite"
    return settings.state_dir / "intake" / name


PUBLISH_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""seconds: an acknowledged write takes milliseconds on a healthy cluster"""


class Intake:
    def __init__(self, settings: Settings, bootstrap: str, policy: Policy) -> None:
        self.settings = settings
        self.bootstrap = bootstrap
        self.names = Topics(settings.topic_prefix)
        self.credentials = Credentials(settings.keys_by_source(), settings.token_secret)
        self.policy = policy
        self.catalog = Catalog.of((c.code, c.name) for c in policy.categories)
        self.services = [
            Service(c.code, c.name, c.description, c.tier, c.keywords) for c in policy.categories
        ]
        self.departments = {d.id: d.name for d in policy.departments}
        followed = [self.names(t) for t in (topics.INTAKE_LEDGER, *FOLLOWED)]
        self.store = Store(state_file(settings), followed)
        self.ledger = Ledger(bootstrap, self.names(topics.INTAKE_LEDGER), self.store)
        self.readmodel = ReadModel(bootstrap, self.names, self.store)
        self.producer: AIOKafkaProducer | None = None
        self.raw_running = False
        self.registry = CollectorRegistry()
        self.accepted = Counter(
            "dispatch_intake_accepted_total",
            "requests by source and outcome (accepted, duplicate, invalid, rejected)",
            ["source", "outcome", "channel"],
            registry=self.registry,
        )
        self.updates = Counter(
            "dispatch_intake_updates_total",
            "ticket updates by action and outcome",
            ["action", "outcome"],
            registry=self.registry,
        )
        self.publish_seconds = Histogram(
            "dispatch_intake_publish_seconds",
            "time until the broker acknowledged a write of new requests (and their ledger entries)",
            buckets=PUBLISH_BUCKETS,
            registry=self.registry,
        )
        self.admission = Admission(self.names, self.ledger, self.readmodel, self.publish_seconds)
        # The supervisor's restart counts (dispatch up), beside the intake's own metrics.
        self.registry.register(status.RestartCollector(settings.state_dir))

    def attach(self, producer: AIOKafkaProducer | None) -> None:
        self.producer = producer
        self.admission.producer = producer

    @property
    def ready(self) -> bool:
        return (
            self.producer is not None
            and self.ledger.tail.ready.is_set()
            and self.readmodel.tail.ready.is_set()
            and self.raw_running
        )

    def source_for(self, key: str) -> str | None:
        """The source whose key this is; compares in constant time, never logs the key."""
        return self.credentials.source_for(key)
