"""``dispatch watch``: the operators' terminal view, the shell around ``screen.render``.

Reads the deployment's topics from the beginning (``reader.py``), folds them with the console's
``Kpis.fold`` and draws the screen: full-screen and live, or once (``--once``) up to the end
offsets current at start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from aiokafka.errors import KafkaError
from rich.console import Console, RenderableType
from rich.live import Live
from rich.text import Text

from services.common.bus import Topics, make_consumer
from services.console.reader import DISCOVER_S, WATCHED, Reader, WatchError, catch_up
from services.console.screen import render, rows_for

ONCE_ROWS = (20, 50)  # feed lines and watch-list lines of a --once snapshot


class WarningLine(logging.Handler):
    """Keeps the last warning for the status line: a full screen has no room for logs."""

    def __init__(self, reader: Reader) -> None:
        super().__init__(logging.WARNING)
        self.reader = reader

    def emit(self, record: logging.LogRecord) -> None:
        self.reader.warning = record.getMessage()[:120]


@contextlib.contextmanager
def logs_to_status(reader: Reader) -> Iterator[None]:
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers = [WarningLine(reader)]
    try:
        yield
    finally:
        root.handlers = saved


@contextlib.contextmanager
def drawn_on(console: Console, reader: Reader) -> Iterator[Callable[[RenderableType], None]]:
    """Frames go full-screen on a terminal (logs to the status line: there is no room for
    them); elsewhere (a pipe, a file) the last frame is printed when the view ends."""
    if console.is_terminal:
        with (
            Live(console=console, screen=True, auto_refresh=False) as screen,
            logs_to_status(reader),
        ):
            yield lambda view: screen.update(view, refresh=True)
        return
    frames: list[RenderableType] = []
    try:
        yield frames.append
    finally:
        if frames:
            console.print(frames[-1])


async def live(reader: Reader, bootstrap: str, refresh: float, console: Console) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    with drawn_on(console, reader) as draw:
        draw(Text(f"正在读取 {bootstrap} 的历史事件…"))
        await reader.discover()
        if reader.subscribed:
            await catch_up(reader, stop)
        if not console.is_terminal:
            print(
                f"dispatch watch: {reader.folded} events read, following {bootstrap}; stdout is "
                "not a terminal, so the view is printed when Ctrl-C or SIGTERM ends it",
                file=sys.stderr,
                flush=True,
            )
        discovered, drawn = time.monotonic(), 0.0
        while not stop.is_set():
            reader.fold(await reader.fetch(min(refresh, 0.25)))
            if time.monotonic() - discovered > DISCOVER_S:
                try:
                    await reader.discover()
                except KafkaError as exc:  # the broker may come back: say so, keep watching
                    reader.warning = f"Kafka: {exc}"
                discovered = time.monotonic()
            if time.monotonic() - drawn >= refresh:
                feed_rows, watch_rows = rows_for(console.size.height)
                status = reader.status(bootstrap)
                draw(render(reader.kpis, datetime.now(UTC), status, feed_rows, watch_rows))
                drawn = time.monotonic()
        draw(render(reader.kpis, datetime.now(UTC), reader.status(bootstrap), *ONCE_ROWS))


async def once(reader: Reader, bootstrap: str, console: Console) -> None:
    if not await reader.discover():
        wanted = ", ".join(reader.names(t) for t in WATCHED)
        raise WatchError(
            f"none of the topics {wanted} exists at {bootstrap}; "
            "is DISPATCH_TOPIC_PREFIX the deployment's?"
        )
    await catch_up(reader, asyncio.Event())
    console.print(render(reader.kpis, datetime.now(UTC), reader.status(bootstrap), *ONCE_ROWS))


async def watch(bootstrap: str, prefix: str, is_once: bool, refresh: float) -> None:
    logging.getLogger("aiokafka").setLevel(logging.WARNING)  # a view for people, not a log
    consumer = make_consumer(bootstrap, group=None, metadata_max_age_ms=int(DISCOVER_S * 1000))
    try:
        await consumer.start()
    except KafkaError as exc:
        await consumer.stop()
        raise WatchError(f"cannot reach Kafka at {bootstrap}: {exc}") from exc
    reader = Reader(consumer, Topics(prefix))
    # A pipe or a file gets a snapshot wide enough to read, unless COLUMNS says otherwise.
    wide = sys.stdout.isatty() or "COLUMNS" in os.environ
    console = Console(width=None if wide else 160)
    try:
        if is_once:
            await once(reader, bootstrap, console)
        else:
            await live(reader, bootstrap, refresh, console)
    except KafkaError as exc:
        raise WatchError(f"reading from Kafka at {bootstrap} failed: {exc}") from exc
    finally:
        await consumer.stop()


def run_watch(bootstrap: str, prefix: str, is_once: bool, refresh: float) -> int:
    """``dispatch watch``: 0 when the snapshot was printed or the operator stopped the view."""
    asyncio.run(watch(bootstrap, prefix, is_once, refresh))
    return 0
