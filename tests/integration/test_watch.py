"""``dispatch watch`` against a running stack: the snapshot of ``--once``, and the live screen
on a real pseudo-terminal, stopped by a signal."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import uuid
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from dispatch.stack import Stack
from tests.kafka import read_until, with_type

HOTLINE = {"Authorization": "Bearer demo-hotline-12345"}


def watch_env(bootstrap: str | None, prefix: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPATCH_")}
    if bootstrap:
        env["DISPATCH_KAFKA_BOOTSTRAP"] = bootstrap
    env["DISPATCH_TOPIC_PREFIX"] = prefix
    env.pop("COLUMNS", None)
    return env


async def run_once(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dispatch",
        "watch",
        "--once",
        *args,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.fixture(scope="module")
async def assigned(stack: Stack) -> AsyncIterator[str]:
    """A request with a phone number in its text, posted and assigned: its ticket id."""
    body = {
        "external_id": f"watch-{uuid.uuid4().hex[:8]}",
        "description": "城北新村南区5幢没有路灯,晚上回家不安全,请回电13905981234",
        "reporter": {"name": "王阿姨", "phone": "15880561234"},
    }
    async with httpx.AsyncClient(base_url=stack.intake_url, timeout=15) as client:
        response = await client.post("/v1/requests", json=body, headers=HOTLINE)
    assert response.status_code == 202
    ticket_id: str = response.json()["ticket_id"]
    await read_until(
        stack.bootstrap,
        f"{stack.settings.topic_prefix}dispatch.decisions",
        lambda rs: bool(with_type(rs, "dispatch.ticket.assigned", ticket_id)),
    )
    yield ticket_id


def headline(text: str) -> dict[str, str]:
    lines = [line.replace("│", " ").split() for line in text.splitlines()]
    [at] = [i for i, words in enumerate(lines) if "按期办结率" in words]
    return dict(zip(lines[at], lines[at + 1], strict=True))


async def test_once_prints_the_assigned_ticket_and_the_figures(stack: Stack, assigned: str) -> None:
    code, out, err = await run_once(watch_env(stack.bootstrap, stack.settings.topic_prefix))

    assert code == 0, err
    [line] = [ln for ln in out.splitlines() if assigned in ln and "派单" in ln]
    assert "中事" in line
    figures = headline(out)
    assert int(figures["受理"]) >= 1 and int(figures["在办"]) >= 1
    assert figures["拒收输入"] == "0"
    assert "12345热线" in out and stack.bootstrap in out
    assert "13905981234" not in out and "15880561234" not in out


async def test_without_a_bootstrap_it_says_where_to_find_one() -> None:
    code, out, err = await run_once(watch_env(None, ""))
    assert code == 2 and out == ""
    assert "DISPATCH_KAFKA_BOOTSTRAP" in err and "dispatch up" in err


async def test_a_prefix_with_no_topics_is_an_error_not_an_empty_screen(stack: Stack) -> None:
    code, out, err = await run_once(watch_env(stack.bootstrap, "no-such-deployment."))
    assert code == 1 and out == ""
    assert "no-such-deployment.dispatch.requests" in err and "DISPATCH_TOPIC_PREFIX" in err


@contextlib.contextmanager
def on_a_terminal(env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """``dispatch watch`` on a 50×160 pseudo-terminal: the process and the terminal's fd."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
    os.set_blocking(master, False)
    process = subprocess.Popen(
        [sys.executable, "-m", "dispatch", "watch", "--refresh", "0.2"],
        env={**env, "TERM": "xterm-256color"},
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
    )
    os.close(slave)
    try:
        yield process, master
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)


async def readable(fd: int, within: float) -> None:
    """Return once ``fd`` has something to read, or after ``within`` seconds."""
    loop = asyncio.get_running_loop()
    ready = asyncio.Event()
    loop.add_reader(fd, ready.set)
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ready.wait(), within)
    finally:
        loop.remove_reader(fd)


async def read_until_seen(process: subprocess.Popen[bytes], fd: int, wanted: bytes) -> bytes:
    """What the terminal showed, once ``wanted`` is among it (or the process ended)."""
    seen = b""
    async with asyncio.timeout(60):
        while wanted not in seen:
            try:
                seen += os.read(fd, 65536)
            except BlockingIOError:
                assert process.poll() is None, seen.decode(errors="replace")[-2000:]
                await readable(fd, within=1.0)
    return seen


async def drain_until_exit(process: subprocess.Popen[bytes], fd: int, timeout: float) -> bytes:
    """Everything the terminal shows until the process has ended and its output is read."""
    seen = b""
    async with asyncio.timeout(timeout):
        while True:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                if process.poll() is not None:
                    return seen
                await readable(fd, within=1.0)
                continue
            except OSError:  # EIO: the process ended and its side of the terminal is closed
                process.wait()
                return seen
            seen += chunk


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_the_live_screen_shows_the_ticket_and_a_signal_ends_it_cleanly(
    stack: Stack, assigned: str, signum: signal.Signals
) -> None:
    env = watch_env(stack.bootstrap, stack.settings.topic_prefix)
    with on_a_terminal(env) as (process, terminal):
        shown = await read_until_seen(process, terminal, assigned.encode())
        assert "接诉即办 · 实时态势".encode() in shown
        assert b"\x1b[?1049h" in shown  # the alternate screen: full-screen

        process.send_signal(signum)
        rest = await drain_until_exit(process, terminal, timeout=5)

        assert process.returncode == 0
        assert b"\x1b[?1049l" in rest  # the operator's terminal is given back
        assert b"13905981234" not in shown + rest


async def test_piped_to_a_file_it_prints_the_last_view_when_sigterm_ends_it(
    stack: Stack, assigned: str
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "dispatch",
        "watch",
        env=watch_env(stack.bootstrap, stack.settings.topic_prefix),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    notice = await asyncio.wait_for(process.stderr.readline(), 60)
    assert b"events read, following" in notice  # the history is folded

    process.terminate()
    out, err = await asyncio.wait_for(process.communicate(), 5)

    assert process.returncode == 0, err.decode()
    assert assigned in out.decode() and "按期办结率" in out.decode()
