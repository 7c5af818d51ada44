"""The `[storage]` section, and what a chat platform's plug-in reads of the config: its
own section, and its keys on circles and members (`PlatformConfig`). The secrets these
need (tokens, passwords) come from environment variables, never from here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.config.errors import fail
from bot.config.secrets import URL_SECRET_HOME, refuse_url_secrets
from bot.config.values import check_keys, show, string, table
from bot.domain.circle import Channel, CircleSpec
from bot.domain.redact import redact_url

DEFAULT_STORAGE_URL = "sqlite:///circlebot.db"
STORAGE_KEYS = ("url",)


@dataclass(frozen=True)
class StorageConfig:
    url: str = DEFAULT_STORAGE_URL


@dataclass(frozen=True)
class MemberKeys:
    """What a platform read from one member's keys: their id there (`handle`), or what
    the platform looks it up by on start (`to_resolve`, an e-mail address), and the key
    it was given under (for messages)."""

    key: str
    handle: str | None = None
    to_resolve: str | None = None


class PlatformConfig:
    """What a platform's plug-in reads of the config; the core gets typed values
    (`CircleSpec.channels`, `MemberSpec.handles`) and never reads these keys itself.
    A platform with no section and no keys (the console) keeps the defaults."""

    name = ""  # its section (`[name]`), and its key in channels and handles
    title = ""  # how people call it, in messages
    circle_keys: tuple[str, ...] = ()  # its keys on a circle
    member_keys: tuple[str, ...] = ()  # its keys on a member
    channel_key = ""  # the circle key that binds a circle to it (in messages)
    channel_word = "channel"  # what a circle's place on it is called
    # A secret-looking key of its section -> the environment variable for it instead.
    secret_env: Mapping[str, str] = MappingProxyType({})
    secret_home = ""  # where a secret found in one of its URLs belongs instead

    def read_section(self, section: Mapping[str, Any]) -> object:
        """Its section (`[name]`), checked: its settings, which its adapter reads."""
        return section

    def read_channel(self, circle: Mapping[str, Any], where: str) -> Channel | None:
        """Where a circle is on this platform, from the circle's keys; None: not on it."""
        return None

    def read_member(self, member: Mapping[str, Any], where: str) -> MemberKeys | None:
        """Who a member is on this platform, from the member's keys; None: not given."""
        return None

    def check(self, settings: object, circles: Sequence[CircleSpec]) -> None:
        """What the circles must be together on this platform; fail() when they are not."""

    def describe(self, settings: object) -> str:
        """Its settings in words, for `circlebot check-config`."""
        return self.title or self.name

    def describe_channel(self, channel: Channel) -> str:
        """A circle's place on it in words, for `circlebot check-config`."""
        return f"{self.title or self.name} {self.channel_word} {channel.id}"


def parse_storage(data: Mapping[str, Any]) -> StorageConfig:
    """`[storage]`; the defaults when absent."""
    storage = table(data, "", "storage")
    if storage is None:
        return StorageConfig()
    check_keys(storage, "storage", STORAGE_KEYS)
    url = string(storage, "storage", "url", default=DEFAULT_STORAGE_URL)
    assert url is not None
    refuse_url_secrets("storage.url", url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        fail(
            "storage.url",
            f'{show(redact_url(url))} is not a database URL; use e.g. "sqlite:///circlebot.db" '
            'or "postgresql+psycopg://circlebot@localhost/circlebot"',
        )
    if parsed.password:  # how the driver reads it, in case it differs from ours
        fail(
            "storage.url",
            "contains a password; secrets do not belong in the config file: leave it out of "
            f"the URL and use {URL_SECRET_HOME['storage']}",
        )
    return StorageConfig(url=url)
