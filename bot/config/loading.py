"""The whole config file → `Config`: its sections, its circles, and the warnings about
circles nobody can reach or whose leaders' reactions could not be counted."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.config.circles import parse_circles
from bot.config.errors import ConfigError, fail
from bot.config.operations import LoggingConfig, ServerConfig, parse_logging, parse_server
from bot.config.platforms import (
    MatrixConfig,
    SlackConfig,
    StorageConfig,
    parse_matrix,
    parse_slack,
    parse_storage,
)
from bot.config.secrets import refuse_secrets
from bot.config.toml import read_toml
from bot.config.values import check_keys, show
from bot.domain.circle import CircleSpec, MemberSpec

TOP_KEYS = ("storage", "slack", "matrix", "server", "logging", "circles")


@dataclass(frozen=True)
class Config:
    storage: StorageConfig
    slack: SlackConfig | None
    matrix: MatrixConfig | None
    circles: tuple[CircleSpec, ...]
    warnings: tuple[str, ...]
    path: str
    server: ServerConfig | None = None
    logging: LoggingConfig = field(default_factory=LoggingConfig)


def parse_config(data: Mapping[str, Any], path: str = "<config>") -> Config:
    """Validate already-loaded TOML data. Errors name `path` and the key."""
    try:
        refuse_secrets(data, "")
        check_keys(data, "", TOP_KEYS)
        storage = parse_storage(data)
        slack = parse_slack(data)
        matrix = parse_matrix(data)
        server = parse_server(data)
        logging = parse_logging(data)
        circles, warnings = parse_circles(data)
        _check_workspaces(circles, slack)
        warnings.extend(_platform_warnings(circles, slack, matrix))
    except ConfigError as exc:
        raise exc.in_file(path) from None
    return Config(
        storage=storage,
        slack=slack,
        matrix=matrix,
        circles=circles,
        warnings=tuple(warnings),
        path=path,
        server=server,
        logging=logging,
    )


def load_config(path: str | Path) -> Config:
    """Read and validate the TOML file at `path`. Every problem is a ConfigError."""
    missing = "no such file (config.example.toml is a documented starting point)"
    return parse_config(read_toml(path, ConfigError, missing), str(path))


def _check_workspaces(circles: Iterable[CircleSpec], slack: SlackConfig | None) -> None:
    """Many workspaces ([slack] client_id): each circle on Slack names its workspace. One
    workspace (SLACK_BOT_TOKEN): a channel is one circle's, whatever slack_team says."""
    if slack is None:
        return
    seen: dict[str, str] = {}
    for index, circle in enumerate(circles):
        if circle.slack_channel is None:
            continue
        if slack.workspaces and circle.slack_team is None:
            fail(
                f"circles[{index}].slack_team",
                "missing; with slack.client_id the app serves many workspaces, so each "
                'circle with a slack_channel names its workspace id, e.g. slack_team = "T0123ABCD"',
            )
        if not slack.workspaces:
            other = seen.setdefault(circle.slack_channel, circle.name)
            if other != circle.name:
                fail(
                    f"circles[{index}].slack_channel",
                    f"{show(circle.slack_channel)} is already the channel of circle {show(other)};"
                    " circles in several workspaces need slack.client_id (the app installed "
                    "through OAuth)",
                )


def _platform_warnings(
    circles: Iterable[CircleSpec], slack: SlackConfig | None, matrix: MatrixConfig | None
) -> list[str]:
    warnings: list[str] = []
    if slack is None and matrix is None:
        return warnings
    for index, circle in enumerate(circles):
        where = f"circles[{index}]"
        on_slack = slack is not None and circle.slack_channel is not None
        on_matrix = matrix is not None and circle.matrix_room is not None
        if not on_slack and not on_matrix:
            enabled = " or ".join(
                key for key, on in (("slack_channel", slack), ("matrix_room", matrix)) if on
            )
            warnings.append(
                f"{where}: circle {show(circle.name)} has no {enabled}, so nobody can reach it"
            )
        for platform, attr, bound, has_id in (
            ("Slack", "slack", on_slack, _has_slack_id),
            ("Matrix", "matrix", on_matrix, _has_matrix_id),
        ):
            if not bound:
                continue
            missing = [m.name for m in circle.members if m.is_leader and not has_id(m)]
            if missing:
                warnings.append(
                    f"{where}.members: leader(s) {', '.join(missing)} have no {attr} id; "
                    f"their reactions on {platform} cannot be counted"
                )
    return warnings


def _has_slack_id(member: MemberSpec) -> bool:
    # An e-mail address is a Slack id to be: it is looked up once at start
    # (bot.handlers.email_identities), so the member is reachable.
    return member.slack is not None or member.slack_email is not None


def _has_matrix_id(member: MemberSpec) -> bool:
    return member.matrix is not None
