"""Builds a runnable bot from a config: storage, core, and the adapters it names."""

from __future__ import annotations

from sqlalchemy.exc import SQLAlchemyError

from bot.clock import SystemClock
from bot.config import Config
from bot.core import Core
from bot.ports import Adapter
from bot.runtime import Runtime
from storage import open_repository
from storage.db import StorageError, safe_url


class AppError(Exception):
    """The bot cannot start; the message says why."""


def build_adapters(config: Config) -> list[Adapter]:
    if config.slack is not None or config.matrix is not None:
        platforms = [
            name for name, part in (("slack", config.slack), ("matrix", config.matrix)) if part
        ]
        raise AppError(
            f"the {' and '.join(platforms)} adapter(s) are not part of this version yet; "
            "remove those sections to run on the console"
        )
    from adapters.console import ConsoleAdapter

    return [ConsoleAdapter(config.circles)]


def build_runtime(config: Config) -> Runtime:
    adapters = build_adapters(config)
    try:
        repo = open_repository(config.storage.url)
    except StorageError as exc:
        raise AppError(str(exc)) from exc
    except SQLAlchemyError as exc:
        raise AppError(
            f"storage.url: cannot open {safe_url(config.storage.url)}: {exc.__class__.__name__}: "
            f"{str(exc).splitlines()[0]}"
        ) from exc
    core = Core(repo, config.circles, SystemClock(), [a.platform for a in adapters])
    return Runtime(core, adapters)
