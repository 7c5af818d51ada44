"""`Config`: the whole config file, read and checked (bot.config.loading reads it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.config.operations import LoggingConfig, ServerConfig
from bot.config.platforms import StorageConfig
from bot.domain.circle import CircleSpec


@dataclass(frozen=True)
class Config:
    storage: StorageConfig
    # Platform name -> its section's settings, as its plug-in read them (only the
    # platforms whose section the file has); its adapter reads them.
    platforms: Mapping[str, object]
    circles: tuple[CircleSpec, ...]
    warnings: tuple[str, ...]
    path: str
    server: ServerConfig | None = None
    logging: LoggingConfig = field(default_factory=LoggingConfig)
