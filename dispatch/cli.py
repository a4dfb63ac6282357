"""The ``dispatch`` command (CONTRACT.md, "Running it"). Settings from ``DISPATCH_*``; flags win."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import ValidationError

from services.common.privacy import install_log_masking
from services.common.settings import Settings, SourceKeysError

EXIT_USAGE = 2


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bootstrap",
        dest="kafka_bootstrap",
        help="bootstrap servers of an existing cluster (DISPATCH_KAFKA_BOOTSTRAP)",
    )
    parser.add_argument("--http-port", type=int, help="intake API port (DISPATCH_HTTP_PORT)")
    parser.add_argument("--console-port", type=int, help="console port (DISPATCH_CONSOLE_PORT)")
    parser.add_argument("--policy", help="policy file (DISPATCH_POLICY)")
    parser.add_argument("--sla-scale", type=float, help="deadline factor (DISPATCH_SLA_SCALE)")
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING (DISPATCH_LOG_LEVEL)")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="dispatch", description="接诉即办 dispatch engine")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    helps = {
        "up": "run every service (embedded broker when no Kafka is configured)",
        "demo": "up plus a scripted scenario from the seeds, shown live",
        "intake": "the intake HTTP API alone",
        "router": "the router alone",
        "notifier": "the notifier alone",
        "console": "the operator console alone",
        "broker": "the embedded broker alone; prints its bootstrap address",
        "archive": "write every topic to Parquet under DISPATCH_STATE_DIR/archive (run by up)",
        "bench": "the benchmark suite: throughput and latency beside their ceilings, as JSON",
    }
    for name, text in helps.items():
        cmd = sub.add_parser(name, help=text, description=text)
        _common(cmd)
        if name == "demo":
            cmd.add_argument("--keep", action="store_true", help="stay up after the scenario")
            cmd.add_argument(
                "--timeout",
                type=float,
                default=180.0,
                help="seconds to wait for every request to be assigned",
            )
        if name == "router":
            cmd.add_argument(
                "--spare",
                action="store_true",
                help="import everything, then start on a line on stdin (dispatch up's warm spare)",
            )
        if name == "bench":
            cmd.add_argument("--quick", action="store_true", help="smaller runs (about a minute)")
            cmd.add_argument("--out", default="bench-out/results.json", help="the JSON file")
            cmd.add_argument(
                "--only",
                choices=["classification"],
                help="classification: the classifier's figures on the labelled sets, no broker",
            )
    _audit_parser(sub)
    _watch_parser(sub)
    _token_parser(sub)
    _report_parser(sub)
    _simulate_parser(sub)
    return top


def _token_parser(sub: Any) -> None:
    """``dispatch token --role handler --unit MG-CB-01-01 [--sub NAME] [--ttl 8h]``."""
    text = "print a signed token for a handler, operator or helper (key: DISPATCH_TOKEN_SECRET)"
    token = sub.add_parser("token", help=text, description=text)
    token.add_argument("--role", required=True, choices=("handler", "operator", "helper"))
    token.add_argument(
        "--unit", help="a handler's unit: a grid unit, department or committee member (JZ-…) id"
    )
    token.add_argument("--sub", help="who: a name or staff id (default: the role)")
    token.add_argument("--ttl", default="8h", help="lifetime: 8h, 30m, 2d (default 8h)")
    token.add_argument("--log-level", help=argparse.SUPPRESS)


def _report_parser(sub: Any) -> None:
    """``dispatch report assess|hotspots --from DATE --to DATE [--by …] [--out DIR]``."""
    from services.reports.assess import BY_VALUES

    text = "三率考核 and 每月一题 hot spots over a period of the history"
    report = sub.add_parser("report", help=text, description=text)
    kinds = report.add_subparsers(dest="report_command", required=True, metavar="REPORT")
    texts = {
        "assess": "三率考核: received, response, resolution and satisfaction rates, score, rank",
        "hotspots": "诉求热点: (category, place) clusters, change, repeats, 每月一题 candidates",
    }
    for name, text in texts.items():
        cmd = kinds.add_parser(name, help=text, description=text)
        _common(cmd)
        cmd.add_argument("--from", dest="first", required=True, metavar="DATE")
        cmd.add_argument("--to", dest="last", required=True, metavar="DATE")
        if name == "assess":
            cmd.add_argument(
                "--by", choices=list(BY_VALUES), default="street",
                help="member: the communities' part-time committee members (吹哨报到)",
            )  # fmt: skip
        cmd.add_argument("--out", default="report-out", metavar="DIR", help="output directory")
        cmd.add_argument(
            "--history",
            metavar="FILE",
            help="read a history file of `dispatch simulate` instead of Kafka",
        )


def _simulate_parser(sub: Any) -> None:
    """``dispatch simulate --days N --out DIR [--bootstrap …]``."""
    text = (
        "a realistic year (or N days) of the sample district through the router's kernel: "
        "writes DIR/history.jsonl; with --bootstrap also publishes it to the topics"
    )
    cmd = sub.add_parser("simulate", help=text, description=text)
    _common(cmd)
    cmd.add_argument("--days", type=int, default=365)
    cmd.add_argument("--start", default="2026-01-01", metavar="DATE", help="the first day")
    cmd.add_argument("--per-year", type=int, default=21_000, help="requests a year (seeds: 21,140)")
    cmd.add_argument("--seed", type=int, default=2026)
    cmd.add_argument("--out", default="simulate-out", metavar="DIR")


def _audit_parser(sub: Any) -> None:
    """``dispatch audit replay [--verify] [--until ISO-TIME] [--out DIR]``."""
    text = "the auditor's replay of the event history"
    audit = sub.add_parser("audit", help=text, description=text)
    actions = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    text = (
        "read every topic from the beginning; write each ticket's timeline, deadline "
        "compliance and a report (needs DISPATCH_KAFKA_BOOTSTRAP or --bootstrap)"
    )
    replay = actions.add_parser("replay", help=text, description=text)
    _common(replay)
    replay.add_argument(
        "--verify",
        action="store_true",
        help="re-run the router's decisions over the recorded inputs and policy versions; "
        "exit 1 when any recorded decision does not follow",
    )
    replay.add_argument(
        "--until", metavar="ISO-TIME", help="ignore events after this time (no offset: +08:00)"
    )
    replay.add_argument("--out", default="audit-out", metavar="DIR", help="output directory")
    replay.add_argument(
        "--archive",
        metavar="DIR",
        help="replay from an archive of the log (DISPATCH_STATE_DIR/archive) instead of Kafka",
    )


def _seconds(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected seconds > 0, got {text}")
    return value


def _watch_parser(sub: Any) -> None:
    """``dispatch watch [--once] [--refresh SECONDS]``."""
    text = (
        "live terminal view of the streams for operators (needs DISPATCH_KAFKA_BOOTSTRAP or "
        "--bootstrap: the address `dispatch up` prints)"
    )
    watch = sub.add_parser("watch", help=text, description=text)
    _common(watch)
    watch.add_argument(
        "--once",
        action="store_true",
        help="print one snapshot of the topics as they are now, then exit (for scripts)",
    )
    watch.add_argument(
        "--refresh", type=_seconds, default=0.25, metavar="SECONDS", help="redraw interval"
    )


def settings_from(args: argparse.Namespace) -> Settings:
    overrides = {
        key: value
        for key in (
            "kafka_bootstrap",
            "http_port",
            "console_port",
            "policy",
            "sla_scale",
            "log_level",
        )
        if (value := getattr(args, key, None)) is not None
    }
    return Settings(**overrides)


def cmd_broker(settings: Settings, args: argparse.Namespace) -> int:
    from dispatch.broker import EmbeddedBroker
    from dispatch.stack import wait_for_signal
    from services.common.bus import ensure_topics

    broker = EmbeddedBroker()
    bootstrap = broker.start()
    try:
        asyncio.run(
            ensure_topics(
                bootstrap, settings.topic_prefix, settings.partitions, settings.replication_factor
            )
        )
        print(bootstrap, flush=True)
        wait_for_signal()
    finally:
        broker.stop()
    return 0


def cmd_up(settings: Settings, args: argparse.Namespace) -> int:
    from dispatch.stack import UP_SERVICES, Stack, StackError, wait_for_signal

    stack = Stack(settings, services=UP_SERVICES, supervised=True)
    try:
        stack.start()
        print("\n".join(stack.banner()), flush=True)
        print("Ctrl-C stops every service and the broker.", flush=True)
        wait_for_signal(stack.supervise)
    except StackError as exc:
        print(f"dispatch up: {exc}", file=sys.stderr)
        return 1
    finally:
        stack.stop()
    return 0


def cmd_demo(settings: Settings, args: argparse.Namespace) -> int:
    from dispatch.demo import run_demo

    return run_demo(settings, keep=args.keep, timeout=args.timeout)


def _bootstrap(settings: Settings) -> str:
    if not settings.kafka_bootstrap:
        raise SystemExit(
            "DISPATCH_KAFKA_BOOTSTRAP (or --bootstrap) is required for one service "
            "alone; `dispatch up` starts the embedded broker for you"
        )
    return settings.kafka_bootstrap


def cmd_token(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from services.common.identity import mint, parse_ttl

    if not settings.token_secret:
        print(
            "dispatch token: DISPATCH_TOKEN_SECRET is unset: set it to the secret every "
            "intake and console of the deployment shares (at least 32 bytes)",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        ttl = parse_ttl(args.ttl)
        print(
            mint(
                settings.token_secret,
                args.role,
                args.sub or args.role,
                args.unit,
                ttl,
                datetime.now(UTC),
            )
        )
    except ValueError as exc:
        print(f"dispatch token: {exc}", file=sys.stderr)
        return EXIT_USAGE
    return 0


def cmd_intake(settings: Settings, args: argparse.Namespace) -> int:
    from services.intake.api import create_app

    if settings.uses_demo_keys:
        print(
            "dispatch intake: no API keys configured: set DISPATCH_SOURCE_KEYS "
            "(source=key,source=key…); the demo keys are only for `dispatch up` and "
            "`dispatch demo`",
            file=sys.stderr,
        )
        return EXIT_USAGE

    return _serve(create_app(settings, _bootstrap(settings)), settings, settings.http_port)


KEEP_ALIVE_S = 75
"""How long the HTTP services keep an idle connection open (nginx's default). Longer than any
client keeps one for reuse (httpx, 5 s) and than a load balancer's idle timeout (60 s is
common): uvicorn's own default, 5 s, equals httpx's, and a request sent on a connection the
server is closing at that moment fails with a reset (uvicorn/httpx keep-alive race)."""


def _serve(app: Any, settings: Settings, port: int) -> int:
    """Run an HTTP service (the intake, the console) until it is stopped."""
    import uvicorn

    uvicorn.run(
        app,
        host=settings.http_host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_keep_alive=KEEP_ALIVE_S,
    )
    return 0


def cmd_console(settings: Settings, args: argparse.Namespace) -> int:
    from services.console.app import create_app

    return _serve(create_app(settings, _bootstrap(settings)), settings, settings.console_port)


def cmd_router(settings: Settings, args: argparse.Namespace) -> int:
    from schemas.policy import load_policy
    from services.router.app import run

    if getattr(args, "spare", False) and not sys.stdin.readline():
        return 0  # the supervisor went away before it needed this spare
    run(settings, _bootstrap(settings), load_policy(settings.policy, settings.sla_scale))
    return 0


def cmd_notifier(settings: Settings, args: argparse.Namespace) -> int:
    from services.notifier.app import run

    run(settings, _bootstrap(settings))
    return 0


def cmd_archive(settings: Settings, args: argparse.Namespace) -> int:
    from services.archive.app import run

    run(settings, _bootstrap(settings))
    return 0


def cmd_bench(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from dispatch.bench.run import run, run_classification

    if args.only == "classification":
        return run_classification(settings, Path(args.out))
    return run(settings, quick=args.quick, out=Path(args.out))


def cmd_audit(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from services.audit.app import replay

    archive = Path(args.archive) if args.archive else None
    return replay(
        settings, check=args.verify, until=args.until, out=Path(args.out), archive=archive
    )


def cmd_report(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from dispatch.report import run

    history = Path(args.history) if args.history else None
    by = getattr(args, "by", "street")
    return run(settings, args.report_command, args.first, args.last, by, Path(args.out), history)


def cmd_simulate(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from dispatch.simulate import run

    return run(settings, args.days, args.start, args.per_year, args.seed, Path(args.out))


def cmd_watch(settings: Settings, args: argparse.Namespace) -> int:
    from services.console.reader import WatchError
    from services.console.watch import run_watch

    if not settings.kafka_bootstrap:
        print(
            "dispatch watch: no Kafka to watch: set DISPATCH_KAFKA_BOOTSTRAP or pass --bootstrap "
            "HOST:PORT; `dispatch up` (and `dispatch broker`) print the embedded broker's "
            "address on their `bootstrap` line: pass that",
            file=sys.stderr,
        )
        return EXIT_USAGE
    try:
        return run_watch(settings.kafka_bootstrap, settings.topic_prefix, args.once, args.refresh)
    except WatchError as exc:
        print(f"dispatch watch: {exc}", file=sys.stderr)
        return 1


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "bench": cmd_bench,
    "up": cmd_up,
    "demo": cmd_demo,
    "broker": cmd_broker,
    "intake": cmd_intake,
    "router": cmd_router,
    "notifier": cmd_notifier,
    "archive": cmd_archive,
    "console": cmd_console,
    "audit": cmd_audit,
    "watch": cmd_watch,
    "token": cmd_token,
    "report": cmd_report,
    "simulate": cmd_simulate,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = settings_from(args)
        settings.keys_by_source()
    except (ValidationError, SourceKeysError) as exc:
        print(f"dispatch: invalid settings: {exc}", file=sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    install_log_masking()  # every command and service, uvicorn's loggers included
    # httpx logs each request at INFO ("HTTP Request: POST …"): thousands a bench or a
    # demo; their failures still show (as warnings and errors, or raised to the caller).
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.root.level))
    handler: Callable[[Settings, Any], int] = COMMANDS[args.command]
    try:
        return handler(settings, args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
