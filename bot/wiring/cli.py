"""`circlebot run | check-config | doctor | simulate | export | report | backup`."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot import __version__
from bot.domain.i18n import DEFAULT_LANGUAGE, LANGUAGES
from bot.domain.redact import redact_text
from bot.runtime import logs
from bot.runtime.logs import RedactingFormatter as RedactingFormatter  # kept importable from here
from bot.runtime.stop_signal import StopSignal

if TYPE_CHECKING:
    from bot.config import Config

# bot.config (SQLAlchemy with it) and asyncio are imported where they are used:
# `circlebot run` catches SIGTERM before those imports, most of its first moments.

log = logging.getLogger("circlebot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="circlebot", description="Consent decisions under parity rules, in Slack and Matrix."
    )
    parser.add_argument("--version", action="version", version=f"circlebot {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the bot (console adapter unless [slack]/[matrix])")
    run.add_argument("--config", required=True, metavar="FILE", help="the TOML config file")
    run.add_argument("-v", "--verbose", action="store_true", help="log more")

    check = sub.add_parser("check-config", help="validate a config file and summarise it")
    check.add_argument("file", metavar="FILE")

    simulate = sub.add_parser("simulate", help="dry-run a scenario; prints JSON")
    simulate.add_argument("scenario", metavar="SCENARIO.toml")

    export = sub.add_parser("export", help="write the decision log")
    export.add_argument("--config", required=True, metavar="FILE")
    export.add_argument("--format", choices=("md", "csv", "json", "html", "ics"), default="md")
    export.add_argument("--output", metavar="FILE", help="default: standard output")
    export.add_argument("--circle", metavar="NAME", help="only this circle")
    export.add_argument(
        "--language",
        choices=LANGUAGES,
        default=DEFAULT_LANGUAGE,
        help="the language of the md and html log and the ics calendar "
        "(csv and json are the same in every language)",
    )

    report = sub.add_parser("report", help="the circle's own report, per side")
    report.add_argument("--config", required=True, metavar="FILE")
    report.add_argument("--circle", metavar="NAME", help="only this circle")
    report.add_argument(
        "--since", metavar="SINCE", help="a span back (30d, 6mo) or a date; default 90d"
    )
    report.add_argument("--format", choices=("text", "json"), default="text")

    doctor = sub.add_parser(
        "doctor", help="check the config, the database and each platform's setup (✓/✗)"
    )
    doctor.add_argument("--config", required=True, metavar="FILE")

    backup = sub.add_parser(
        "backup", help="copy the SQLite database, even while the bot runs (PostgreSQL: pg_dump)"
    )
    backup.add_argument("--config", required=True, metavar="FILE")
    backup.add_argument("out", metavar="OUT", help="the file to write")
    backup.add_argument(
        "--force",
        action="store_true",
        help="replace OUT if it is a regular file (never the database or a file beside it)",
    )
    return parser


def _error(message: object) -> None:
    # Every message passes through the redaction: an error raised deep down (a database
    # that cannot be reached) may quote a URL with a secret in it.
    print(f"circlebot: {redact_text(str(message))}", file=sys.stderr)


def _log_error(message: object) -> None:
    log.error("%s", message)  # the formatter masks secrets, as _error does


def _load(path: str, warn: bool = True) -> Config | None:
    from bot.config import ConfigError, load_config

    try:
        config = load_config(path)
    except ConfigError as exc:
        _error(exc)
        return None
    if warn:
        for warning in config.warnings:
            _error(f"warning: {warning}")
    return config


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "check-config":
        from bot.config import summary

        config = _load(args.file)
        if config is None:
            return 2
        print(summary(config))
        return 0
    if args.command == "simulate":
        return main_simulate(args.scenario)
    if args.command == "export":
        return main_export(args.config, args.format, args.output, args.circle, args.language)
    if args.command == "report":
        return main_report(args.config, args.circle, args.since, args.format)
    if args.command == "backup":
        return main_backup(args.config, args.out, args.force)
    if args.command == "doctor":
        return main_doctor(args.config)
    return _run(args.config, verbose=args.verbose)


def _run(path: str, verbose: bool) -> int:
    stop = StopSignal()
    stop.catch()  # first: a SIGTERM from now on, start-up included, is a clean stop
    try:
        return _serve(path, verbose, stop)
    finally:
        stop.restore()


def _serve(path: str, verbose: bool, stop: StopSignal) -> int:
    config = _load(path, warn=False)
    if config is None:
        return 2
    logs.configure(config.logging.format, config.logging.level, verbose)
    # Said once logging is set up, so a JSON log stays all JSON.
    text = config.logging.format == "text"
    say = _error if text else _log_error
    for warning in config.warnings:
        if text:
            _error(f"warning: {warning}")
        else:
            log.warning("%s", warning)
    if stop.asked:  # nothing opened yet: nothing to release
        log.info("stopping on SIGTERM before start-up")
        return 0
    import asyncio

    from bot.domain.errors import AppError, DatabaseReplaced
    from bot.wiring.app import build_runtime

    try:
        runtime = build_runtime(config)
    except AppError as exc:
        say(exc)
        return 2
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(runtime.run(stop))
    except AppError as exc:  # e.g. a token the homeserver refuses, found on connecting
        say(exc)
        return 2
    except DatabaseReplaced as exc:  # nothing more could be kept: stopped, said why
        say(exc)
        return 2
    return 0


def main_export(
    config_path: str,
    fmt: str,
    output: str | None,
    circle: str | None,
    language: str = DEFAULT_LANGUAGE,
) -> int:
    """`circlebot export --config FILE --format md|csv|json|html|ics [--output F]
    [--circle NAME] [--language en|es]`."""
    from bot.config import ConfigError, load_config
    from bot.domain.errors import AppError
    from bot.queries.export import FORMATS, ExportError, export_decisions
    from bot.wiring.app import opened_store

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        print(f"circlebot: {exc}", file=sys.stderr)
        return 2
    if fmt not in FORMATS:
        print(f"circlebot: unknown format {fmt!r}; use {', '.join(FORMATS)}", file=sys.stderr)
        return 2
    try:
        with opened_store(config.storage.url, config_path) as store:
            text = export_decisions(store, config.circles, fmt, circle, language)
    except (AppError, ExportError) as exc:
        print(f"circlebot: {exc}", file=sys.stderr)
        return 2
    if output is None or output == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return 0
    try:
        Path(output).write_text(text, encoding="utf-8", newline="")
    except OSError as exc:
        print(f"circlebot: cannot write {output}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    return 0


def main_report(config_path: str, circle: str | None, since: str | None, fmt: str) -> int:
    """`circlebot report --config FILE [--circle NAME] [--since SINCE] [--format
    text|json]`: each circle's report, as text in the circle's language or as JSON (the
    circle's object with --circle, else the list of them)."""
    from datetime import UTC, datetime

    from bot.domain.errors import AppError
    from bot.domain.i18n import of
    from bot.domain.refusal import Refusal
    from bot.handlers.report import read_since
    from bot.queries.report import circle_report
    from bot.text.report import report_message, report_text
    from bot.wiring.app import opened_store

    config = _load(config_path, warn=False)
    if config is None:
        return 2
    specs = [spec for spec in config.circles if circle is None or spec.name == circle]
    if not specs:
        known = ", ".join(spec.name for spec in config.circles)
        _error(f"no circle named {circle!r} in {config_path}; the circles are: {known}")
        return 2
    until = datetime.now(UTC)
    texts: list[str] = []
    data: list[dict[str, Any]] = []
    try:
        with opened_store(config.storage.url, config_path) as store:
            for spec in specs:
                start = read_since(since, until, spec.reader, of(spec.reader))
                found = circle_report(store, spec, start, until)
                data.append(found.to_json())
                message = report_message(found, of(spec.reader), spec.timezone)
                texts.append(report_text(message))
    except Refusal as exc:
        _error(exc)
        return 2
    except AppError as exc:
        _error(exc)
        return 2
    if fmt == "json":  # one circle asked for: its object; else the list of them
        print(json.dumps(data[0] if circle else data, indent=2, ensure_ascii=False))
    else:
        print("\n\n".join(texts))
    return 0


def main_backup(config_path: str, out: str, force: bool) -> int:
    """`circlebot backup --config FILE [--force] OUT`: one line on stdout, or one line
    on stderr and status 2."""
    from bot.domain.errors import AppError
    from bot.wiring.app import backup_database

    config = _load(config_path)
    if config is None:
        return 2
    try:
        line = backup_database(config.storage.url, config_path, out, force)
    except AppError as exc:
        _error(exc)
        return 2
    print(line)
    return 0


def main_doctor(config_path: str) -> int:
    """`circlebot doctor --config FILE`: one line per check; 0 only when all pass."""
    import asyncio

    from bot.domain.diagnosis import all_passed
    from bot.wiring.doctor import diagnose

    checks = asyncio.run(diagnose(config_path))
    for check in checks:
        print(redact_text(check.line()))  # no secret is meant to be there: be sure
    bad = sum(not check.ok for check in checks)
    print(f"{len(checks)} checks, {bad} failed" if bad else f"{len(checks)} checks, all passed")
    return 0 if all_passed(checks) else 1


def run_scenario(path: str | Path) -> dict[str, Any]:
    """Load, validate and run the scenario at `path`. Raises ScenarioError when invalid."""
    from bot.wiring.app import scratch_store
    from bot.wiring.simulate import ScenarioError, load_scenario, simulate

    scenario = load_scenario(path)
    try:
        with scratch_store() as store:
            return simulate(scenario, store)
    except ScenarioError as exc:
        raise exc.in_file(str(path)) from None


def main_simulate(path: str | Path) -> int:
    """`circlebot simulate FILE`: the JSON result on stdout, warnings on stderr.

    0 for any outcome; 2 for an invalid scenario; 1 if the engine itself failed."""
    from bot.wiring.simulate import ScenarioError

    try:
        result = run_scenario(path)
    except ScenarioError as exc:
        print(f"circlebot: {redact_text(str(exc))}", file=sys.stderr)
        return 2
    except Exception as exc:  # never a traceback: say what failed, briefly
        print(
            f"circlebot: {path}: internal error while running the scenario: "
            f"{type(exc).__name__}: {redact_text(str(exc))}",
            file=sys.stderr,
        )
        return 1
    for warning in result["warnings"]:
        print(f"circlebot: warning: {warning}", file=sys.stderr)
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
