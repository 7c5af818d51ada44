"""Builds a runnable bot from a config: storage, core, and the adapters it names."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from bot.config import Config
from bot.config.plugins import Platform, load_platform
from bot.domain.clock import SystemClock
from bot.domain.diagnosis import Check, failed, passed
from bot.domain.errors import AppError, StorageUnavailable
from bot.domain.redact import redact_url
from bot.handlers.core import Core
from bot.ports.installations import Installation, Installed, SecretKeys, StoredInstallations
from bot.ports.leadership import Leadership, SingleProcess
from bot.ports.platform import Adapter, KeepsInstallations
from bot.ports.store import Store
from bot.runtime.runner import Runtime
from storage import open_repository
from storage.backup import BackupError, backup_sqlite, pg_dump_command
from storage.db import StorageError, make_engine, sqlite_file, unavailable_reason
from storage.leadership import PostgresLeadership
from storage.migrate import schema_state, upgrade
from storage.process_lock import lock_single_process
from storage.repository import Repository


def used_platforms(config: Config) -> list[Platform]:
    """The platforms the config asks for (those whose section it has); without a chat
    platform, the console (to try the bot in a terminal)."""
    return [load_platform(name) for name in config.platforms] or [load_platform("console")]


def platforms(config: Config) -> list[str]:
    return [platform.name for platform in used_platforms(config)]


def build_adapters(config: Config, env: Mapping[str, str] | None = None) -> list[Adapter]:
    env = os.environ if env is None else env
    return [platform.build_adapter(config, env) for platform in used_platforms(config)]


def installation_keys(adapters: list[Adapter], env: Mapping[str, str]) -> SecretKeys | None:
    """CIRCLEBOT_SECRET_KEY, when an adapter installs its app through OAuth (AppError
    naming it when missing or wrong); None when none does."""
    if any(isinstance(a, KeepsInstallations) and a.needs_installations for a in adapters):
        return SecretKeys.from_env(env)
    return None


def give_installations(adapters: list[Adapter], installations: StoredInstallations) -> None:
    for adapter in adapters:
        if isinstance(adapter, KeepsInstallations) and adapter.needs_installations:
            adapter.keep_installations_in(installations)


def build_runtime(config: Config, env: Mapping[str, str] | None = None) -> Runtime:
    env = os.environ if env is None else env
    used = used_platforms(config)
    adapters = [platform.build_adapter(config, env) for platform in used]
    keys = installation_keys(adapters, env)
    try:
        # Before anything is written: a second bot on the same SQLite file stops here.
        lock = lock_single_process(config.storage.url)
    except StorageError as exc:
        raise AppError(str(exc)) from exc
    try:
        # Connects to nothing yet: the runtime migrates as its first step, waiting for a
        # database that does not answer while its operators' pages say so.
        repo = Repository(make_engine(config.storage.url))
    except StorageError as exc:
        if lock is not None:
            lock.release()
        raise AppError(str(exc)) from exc
    if keys is not None:
        give_installations(adapters, StoredInstallations(repo.transaction, keys))
    core = Core(repo, config.circles, SystemClock(), [platform.traits for platform in used])
    return Runtime(
        core,
        adapters,
        closers=[lock.release] if lock else [],
        server=config.server,
        leadership=leadership_for(repo),
        prepare_store=lambda: migrate(repo.engine, config.storage.url),
    )


def migrate(engine: Engine, url: str) -> None:
    """Bring the schema to this code's newest. StorageUnavailable when the database does
    not answer (start-up waits for it); AppError, with the message to print, when it
    refuses otherwise."""
    try:
        upgrade(engine)
    except OperationalError as exc:
        raise StorageUnavailable(unavailable_reason(exc)) from exc
    except SQLAlchemyError as exc:
        raise AppError(
            f"storage.url: cannot open {redact_url(url)}: {exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0]}"
        ) from exc


def leadership_for(repo: Repository) -> Leadership:
    """Replicas on PostgreSQL take turns leading; one process on SQLite always leads."""
    if repo.engine.dialect.name == "postgresql":
        return PostgresLeadership(repo.engine, f"{socket.gethostname()}:{os.getpid()}")
    return SingleProcess()


def missing_sqlite_file(url: str) -> str | None:
    """The path of a SQLite database that does not exist (None if it does, or for other
    databases): reading commands must not create an empty one."""
    database = sqlite_file(url)
    return None if database is None or database.exists() else str(database)


@contextmanager
def opened_store(url: str, config_path: str) -> Iterator[Store]:
    """An existing database, for commands that only read it (export); closed after.
    Raises AppError with the message to print."""
    missing = missing_sqlite_file(url)
    if missing is not None:
        raise AppError(
            f"{config_path}: storage.url: there is no database at {missing} "
            "(nothing has been decided there yet, or the path is wrong)"
        )
    try:
        repo = open_repository(url)
    except StorageError as exc:
        raise AppError(f"{config_path}: {exc}") from exc
    except SQLAlchemyError as exc:
        raise AppError(f"cannot open the database {redact_url(url)}: {_first_line(exc)}") from exc
    try:
        yield repo
    except SQLAlchemyError as exc:
        raise AppError(f"cannot read the database {redact_url(url)}: {_first_line(exc)}") from exc
    finally:
        repo.engine.dispose()


def _first_line(exc: SQLAlchemyError) -> str:
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


@contextmanager
def scratch_store() -> Iterator[Store]:
    """A throw-away database (`circlebot simulate`), gone after."""
    with tempfile.TemporaryDirectory(prefix="circlebot-sim-") as folder:
        repo = open_repository(f"sqlite:///{Path(folder) / 'simulation.db'}")
        try:
            yield repo
        finally:
            repo.engine.dispose()


def backup_database(url: str, config_path: str, out: str, force: bool = False) -> str:
    """`circlebot backup`: copy a SQLite database (the bot may be running) and return
    the line that says what was copied; for PostgreSQL, the pg_dump command to use.
    Raises AppError with the message to print."""
    command = pg_dump_command(url, out)
    if command is not None:
        return command
    try:
        done = backup_sqlite(url, Path(out), force=force)
    except BackupError as exc:
        raise AppError(f"{config_path}: {exc}") from exc
    return (
        f"copied {done.source} to {done.path}: {done.size} bytes, "
        f"{done.proposals} proposal(s), integrity ok"
    )


def stored_cursor(url: str, name: str) -> str | None:
    """An adapter's stored value, read without creating or migrating anything (None when
    there is no database or no such value yet)."""
    if missing_sqlite_file(url) is not None:
        return None
    engine = make_engine(url)
    try:
        with Repository(engine).transaction() as tx:
            return tx.cursor(name)
    except (SQLAlchemyError, StorageUnavailable):
        return None
    finally:
        engine.dispose()


class _NoneYet:
    """Installations when there is no database yet (doctor creates none)."""

    async def save(self, installation: Installation) -> None:
        raise AppError("doctor changes nothing")

    async def find(
        self, team_id: str | None, enterprise_id: str | None = None
    ) -> Installation | None:
        return None

    async def delete(self, team_id: str | None, enterprise_id: str | None = None) -> None:
        return None

    async def all(self) -> Installed:
        return Installed()

    async def issue_state(self) -> str:
        raise AppError("doctor changes nothing")

    async def consume_state(self, state: str) -> bool:
        return False


def keep_installations(adapter: Adapter, url: str, env: Mapping[str, str]) -> None:
    """`circlebot doctor`: the installations as the database has them, read only (no
    database is created or migrated, no row sealed again). AppError naming
    CIRCLEBOT_SECRET_KEY when it is missing or wrong."""
    if not (isinstance(adapter, KeepsInstallations) and adapter.needs_installations):
        return
    keys = SecretKeys.from_env(env)
    if missing_sqlite_file(url) is not None:
        adapter.keep_installations_in(_NoneYet())
        return
    try:
        engine = make_engine(url)
    except StorageError as exc:
        raise AppError(str(exc)) from exc
    adapter.keep_installations_in(
        StoredInstallations(Repository(engine).transaction, keys, reseal=False)
    )


def database_checks(url: str) -> list[Check]:
    """`circlebot doctor`: the database answers and its schema is this code's newest.
    Changes nothing: a missing SQLite file is not created, no migration is applied."""
    where = redact_url(url)
    missing = missing_sqlite_file(url)
    if missing is not None:  # a first start makes it, if it can write there
        folder = Path(missing).parent
        if not folder.is_dir():
            return [
                failed(
                    f"database: the folder {folder} does not exist", "create it, or fix storage.url"
                )
            ]
        if not os.access(folder, os.W_OK | os.X_OK):
            return [
                failed(
                    f"database: {folder} cannot be written by this user",
                    "run the bot as a user who may write there, or fix storage.url",
                )
            ]
        return [passed(f"database: none yet at {missing}; the first start creates it")]
    try:
        engine = make_engine(url)
    except StorageError as exc:
        return [failed("database: storage.url is not usable", str(exc))]
    try:
        state = schema_state(engine)
    except SQLAlchemyError as exc:
        return [
            failed(
                f"database: {where} does not answer ({unavailable_reason(exc)})",
                "check that the database server runs and that storage.url and PGPASSWORD "
                "(or ~/.pgpass) are right",
            )
        ]
    finally:
        engine.dispose()
    answers = passed(f"database: {where} answers")
    if not state.known:
        return [
            answers,
            failed(
                f"database schema: at {state.current}, newer than this circlebot ({state.head})",
                "run the circlebot version that last used this database, or upgrade",
            ),
        ]
    if state.behind:
        return [
            answers,
            failed(
                f"database schema: {state.behind} migration(s) behind ({state.current or 'empty'}"
                f" → {state.head})",
                "start the bot (`circlebot run`): it applies them on start",
            ),
        ]
    return [answers, passed(f"database schema: up to date ({state.head})")]
