"""The platform plug-ins: what a `circlebot.adapters` entry point gives. Each says how
it reads its own part of the config (`PlatformConfig`), what the core knows of it
(`PlatformTraits`: how a person is written there) and how its adapter is built; the
core never names a platform."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points

from bot.config.platforms import PlatformConfig
from bot.config.settings import Config
from bot.domain.errors import AppError
from bot.ports.platform import Adapter, PlatformTraits

ADAPTER_GROUP = "circlebot.adapters"  # entry points: platform name -> its Platform


@dataclass(frozen=True)
class Platform:
    """One platform's plug-in. `build_adapter` raises AppError (a missing environment
    variable) when it cannot build its adapter."""

    config: PlatformConfig
    traits: PlatformTraits
    build_adapter: Callable[[Config, Mapping[str, str]], Adapter]

    @property
    def name(self) -> str:
        return self.traits.name


def load_platform(name: str) -> Platform:
    """The installed plug-in of `name`; AppError naming the platform when there is none
    or it cannot be loaded."""
    found = entry_points(group=ADAPTER_GROUP, name=name)
    if not found:
        raise AppError(
            f"[{name}]: no {name} adapter is installed (no {name!r} entry point "
            f"in {ADAPTER_GROUP}); reinstall circlebot"
        )
    point = next(iter(found))
    try:
        platform = point.load()
    except Exception as exc:  # an ImportError, or any error while importing its module
        raise AppError(f"[{name}]: the {name} adapter cannot be loaded: {exc}") from exc
    if not isinstance(platform, Platform):
        raise AppError(f"[{name}]: the entry point {point.value} is not a platform plug-in")
    return platform


@functools.cache
def installed() -> tuple[Platform, ...]:
    """Every installed platform, in the order of their entry points."""
    names = dict.fromkeys(point.name for point in entry_points(group=ADAPTER_GROUP))
    return tuple(load_platform(name) for name in names)


def installed_configs() -> tuple[PlatformConfig, ...]:
    return tuple(platform.config for platform in installed())
