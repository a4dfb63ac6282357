"""The Faust floor: the router as it was (a Faust agent with tables), the core taken out.

The Faust app settings and transport the router ran with until it became a batched aiokafka
loop, the same state writes per request (a ticket in a changelogged table, a place in the
global table) and the same two sends (the classification and the assignment), but nothing
decoded, classified or modelled: what Faust itself costs per event on this broker, measured
in the same run as the router and the raw pass-through. Kept because it is the reason the
router left Faust: no per-event Faust agent gets near the target.
``python -m dispatch.bench.faust_floor SOURCE SINK``, with the settings in
``DISPATCH_*`` as for every service.
"""

from __future__ import annotations

import sys
from typing import Any

import faust

from schemas.codec import HEADERS
from services.common.settings import Settings
from services.router.faust_kafka import RAW, faust_app, serve

SENDS_PER_EVENT = 2


def build(settings: Settings, bootstrap: str, source: str, sink: str) -> faust.App:
    app = faust_app(settings, bootstrap, "dispatch-faust-floor")
    parts = settings.partitions
    tickets = app.Table("tickets", default=None, partitions=parts, **RAW)
    places = app.GlobalTable("places", default=None, partitions=parts, **RAW)

    async def forward(stream: Any) -> None:
        async for record in stream.events():
            message = record.message
            tickets[message.key] = message.value
            places[message.key] = message.key
            for _ in range(SENDS_PER_EVENT):
                await app.producer.send(sink, message.key, message.value, None, None, HEADERS)

    app.agent(app.topic(source, **RAW), name="forward")(forward)
    return app


def main(argv: list[str]) -> None:
    source, sink = argv
    settings = Settings()
    if not settings.kafka_bootstrap:
        raise SystemExit("faust_floor: set DISPATCH_KAFKA_BOOTSTRAP")
    serve(build(settings, settings.kafka_bootstrap, source, sink), settings)


if __name__ == "__main__":
    main(sys.argv[1:])
