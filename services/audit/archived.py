"""Read the history from an archive of the log (``DISPATCH_STATE_DIR/archive``, written by
``dispatch archive``) into an ``AuditLog``: the same records as read.py gets from Kafka, with
the same positions, so ``dispatch audit replay --archive DIR`` needs no broker and no retention.
"""

from __future__ import annotations

from pathlib import Path

from schemas import topics
from services.archive import files
from services.audit.log import AuditLog, Logged, Position, Unreadable, build
from services.audit.read import CLOCK_TAIL, PHASES, AuditReadError
from services.audit.read import _keep as keep  # one decoding of a record, for both readers
from services.common.bus import Topics


def read_archive(root: Path, prefix: str = "") -> AuditLog:
    names = Topics(prefix)
    if not (root / names(topics.REQUESTS)).is_dir():
        raise AuditReadError(
            f"no archive of {names(topics.REQUESTS)} under {root}: is this the "
            f"DISPATCH_STATE_DIR/archive of the deployment, and {prefix!r} its topic prefix?"
        )
    counts: dict[str, int] = files.read_json(root / files.TOPICS_FILE)
    logged: list[Logged] = []
    unreadable: list[Unreadable] = []
    partitions: dict[str, int] = {}
    for topic in (t for phase in PHASES for t in phase):
        rows = list(files.read_topic(root, names(topic)))
        partitions[topic] = counts.get(names(topic), 0)
        if topic == topics.CLOCK:
            rows = _tail(rows, CLOCK_TAIL)
        for row in rows:
            at = Position(topic, row.partition, row.offset)
            keep(row.value or b"", at, row.timestamp, logged, unreadable)
    return build(prefix, logged, unreadable, partitions)


def _tail(rows: list[files.Row], count: int) -> list[files.Row]:
    by_partition: dict[int, list[files.Row]] = {}
    for row in rows:
        by_partition.setdefault(row.partition, []).append(row)
    return [r for part in by_partition.values() for r in part[-count:]]
