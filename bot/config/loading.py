"""The whole config file → `Config`: its sections, its circles, and the warnings about
circles nobody can reach or whose leaders' reactions could not be counted."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from bot.config.circles import parse_circles
from bot.config.errors import ConfigError
from bot.config.operations import parse_logging, parse_server
from bot.config.platforms import PlatformConfig, parse_storage
from bot.config.secrets import SECRET_ENV, refuse_secrets
from bot.config.settings import Config
from bot.config.toml import read_toml
from bot.config.values import check_keys, join_key, show, table
from bot.domain.circle import CircleSpec

# The sections every config may have; each platform's plug-in adds its own (`[name]`).
TOP_KEYS = ("storage", "server", "logging", "circles")


def parse_config(
    data: Mapping[str, Any],
    path: str = "<config>",
    platforms: Sequence[PlatformConfig] | None = None,
) -> Config:
    """Validate already-loaded TOML data; `platforms` read their own sections and keys
    (None: the installed platforms). Errors name `path` and the key."""
    if platforms is None:
        from bot.config.plugins import installed_configs

        platforms = installed_configs()
    try:
        refuse_secrets(
            data,
            "",
            {
                **SECRET_ENV,
                **{f"{p.name}.{key}": env for p in platforms for key, env in p.secret_env.items()},
            },
            {p.name: p.secret_home for p in platforms if p.secret_home},
        )
        check_keys(data, "", TOP_KEYS + tuple(p.name for p in platforms if p.name))
        storage = parse_storage(data)
        settings: dict[str, object] = {}
        by_name = {platform.name: platform for platform in platforms if platform.name}
        for key in data:  # in the file's order
            if key in by_name:
                section = table(data, "", key)
                assert section is not None
                settings[key] = by_name[key].read_section(section)
        server = parse_server(data)
        logging = parse_logging(data)
        circles, warnings = parse_circles(data, platforms)
        used = [by_name[name] for name in settings]
        for platform in used:
            platform.check(settings[platform.name], circles)
        warnings.extend(_platform_warnings(circles, used))
    except ConfigError as exc:
        raise exc.in_file(path) from None
    return Config(
        storage=storage,
        platforms=settings,
        circles=circles,
        warnings=tuple(warnings),
        path=path,
        server=server,
        logging=logging,
    )


def load_config(path: str | Path, platforms: Sequence[PlatformConfig] | None = None) -> Config:
    """Read and validate the TOML file at `path`. Every problem is a ConfigError."""
    missing = "no such file (config.example.toml is a documented starting point)"
    return parse_config(read_toml(path, ConfigError, missing), str(path), platforms)


def _platform_warnings(
    circles: Iterable[CircleSpec], platforms: Sequence[PlatformConfig]
) -> list[str]:
    warnings: list[str] = []
    if not platforms:
        return warnings
    for index, circle in enumerate(circles):
        where = join_key("circles", index)
        bound = [p for p in platforms if p.name in circle.channels]
        if not bound:
            enabled = " or ".join(p.channel_key for p in platforms if p.channel_key)
            warnings.append(
                f"{where}: circle {show(circle.name)} has no {enabled}, so nobody can reach it"
            )
        for platform in bound:
            # A handle to be looked up on start (bot.handlers.email_identities) makes the
            # member reachable too.
            missing = [
                m.name
                for m in circle.members
                if m.is_leader
                and platform.name not in m.handles
                and platform.name not in m.to_resolve
            ]
            if missing:
                key = platform.member_keys[0] if platform.member_keys else platform.name
                warnings.append(
                    f"{where}.members: leader(s) {', '.join(missing)} have no {key} id; "
                    f"their reactions on {platform.title or platform.name} cannot be counted"
                )
    return warnings
