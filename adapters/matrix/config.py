"""What the Matrix platform reads of the config: the `[matrix]` section, a circle's
`matrix_room`, a member's `matrix` id, and how a person is written in a command
(`@ana:example.org`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from bot.config.errors import fail
from bot.config.platforms import MemberKeys, PlatformConfig
from bot.config.secrets import refuse_url_secrets
from bot.config.values import (
    check_keys,
    join_key,
    no_hidden,
    one_word,
    required_string,
    show,
    string,
)
from bot.domain.circle import Channel, Placed
from bot.domain.identity import Handled
from bot.domain.redact import redact_url

PLATFORM = "matrix"
MATRIX_KEYS = ("homeserver", "user_id", "command_prefix", "device_name", "store_path")
SECRET_HOME = "the MATRIX_ACCESS_TOKEN or MATRIX_PASSWORD environment variable"
_MATRIX_USER = re.compile(r"^@[^\s:]+:[^\s:]+(:\d+)?$")
# Room ids of room version 12 have no server part ("!abc…"); aliases always do.
_MATRIX_ROOM = re.compile(r"^(![^\s:]+(:[^\s:]+(:\d+)?)?|#[^\s:]+:[^\s:]+(:\d+)?)$")
# What a command may name a person by: anything that reads as @local:server.
_TYPED_ID = re.compile(r"@[^\s:@]+:[^\s]+")


def person_in(token: str) -> str | None:
    """The Matrix user a command names: their id (`@ana:example.org`)."""
    return token if _TYPED_ID.fullmatch(token) else None


@dataclass(frozen=True)
class MatrixConfig:
    homeserver: str
    user_id: str
    command_prefix: str = "!"
    device_name: str = "circlebot"
    store_path: str | None = None


def matrix_user_id(key: str, value: str, example: str) -> str:
    """A Matrix user id (`@name:server`), refused with `example` as the model."""
    no_hidden(key, value, "a Matrix user id")
    if not _MATRIX_USER.match(value):
        fail(key, f'{show(value)} is not a Matrix user id (like "{example}")')
    return value


def parse_matrix(matrix: Mapping[str, Any]) -> MatrixConfig:
    """`[matrix]`."""
    check_keys(matrix, "matrix", MATRIX_KEYS)
    homeserver = required_string(
        matrix, "matrix", "homeserver", 'the homeserver URL, e.g. "https://matrix.example.org"'
    )
    refuse_url_secrets("matrix.homeserver", homeserver, SECRET_HOME)
    if not homeserver.startswith(("http://", "https://")):
        fail(
            "matrix.homeserver",
            f"{show(redact_url(homeserver))} must start with http:// or https:// "
            '(e.g. "https://matrix.example.org")',
        )
    user_id = required_string(
        matrix, "matrix", "user_id", 'the bot\'s Matrix id, e.g. "@circlebot:example.org"'
    )
    matrix_user_id("matrix.user_id", user_id, "@circlebot:example.org")
    prefix = string(matrix, "matrix", "command_prefix", default="!")
    assert prefix is not None
    one_word("matrix.command_prefix", prefix, "the command prefix")
    device_name = string(matrix, "matrix", "device_name", default="circlebot")
    assert device_name is not None
    store_path = string(matrix, "matrix", "store_path")
    return MatrixConfig(
        homeserver=homeserver,
        user_id=user_id,
        command_prefix=prefix,
        device_name=device_name,
        store_path=store_path,
    )


class MatrixPlatformConfig(PlatformConfig):
    name = PLATFORM
    title = "Matrix"
    circle_keys = ("matrix_room",)
    member_keys = ("matrix",)
    channel_key = "matrix_room"
    channel_word = "room"
    secret_env: Mapping[str, str] = MappingProxyType(
        {
            "token": "MATRIX_ACCESS_TOKEN",
            "access_token": "MATRIX_ACCESS_TOKEN",
            "password": "MATRIX_PASSWORD",
        }
    )
    secret_home = SECRET_HOME

    def read_section(self, section: Mapping[str, Any]) -> MatrixConfig:
        return parse_matrix(section)

    def read_channel(self, circle: Mapping[str, Any], where: str) -> Channel | None:
        matrix_room = string(circle, where, "matrix_room")
        if matrix_room is None:
            return None
        no_hidden(join_key(where, "matrix_room"), matrix_room, "a Matrix room id")
        if not _MATRIX_ROOM.match(matrix_room):
            fail(
                join_key(where, "matrix_room"),
                f"{show(matrix_room)} is not a Matrix room id or alias "
                '(like "!roomid:example.org" or "#council:example.org")',
            )
        return Channel(matrix_room)

    def read_member(self, member: Mapping[str, Any], where: str) -> MemberKeys | None:
        matrix = string(member, where, "matrix")
        if matrix is None:
            return None
        matrix_user_id(join_key(where, "matrix"), matrix, "@ana:example.org")
        return MemberKeys("matrix", handle=matrix)

    def describe(self, settings: object) -> str:
        assert isinstance(settings, MatrixConfig)
        return (
            f"Matrix ({settings.user_id} on {redact_url(settings.homeserver)}, "
            f"command prefix {show(settings.command_prefix)})"
        )

    def describe_channel(self, channel: Channel) -> str:
        return f"Matrix room {channel.id}"


def matrix_settings(settings: Mapping[str, object]) -> MatrixConfig | None:
    """The `[matrix]` settings of a config's platforms (None: the file has no [matrix])."""
    found = settings.get(PLATFORM)
    assert found is None or isinstance(found, MatrixConfig)
    return found


def room_of(circle: Placed) -> str | None:
    """The circle's Matrix room (None: not on Matrix)."""
    found = circle.channels.get(PLATFORM)
    return found.id if found is not None else None


def handle_of(person: Handled) -> str | None:
    """A person's Matrix id (None: none known)."""
    return person.handles.get(PLATFORM)
