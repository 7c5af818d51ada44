"""`[server]` and `[logging]`: defaults, values, and errors that name the key."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, LoggingConfig, ServerConfig, parse_config

CIRCLE = {
    "circles": [
        {
            "name": "c",
            "sides": ["a", "b"],
            "members": [{"name": "x", "side": "a"}, {"name": "y", "side": "b"}],
        }
    ]
}


def test_absent_sections_take_their_defaults() -> None:
    config = parse_config(CIRCLE)
    assert config.server is None
    assert config.logging == LoggingConfig(format="text", level="warning")


def test_given_values_are_read() -> None:
    config = parse_config(
        {**CIRCLE, "server": {"port": 9100}, "logging": {"format": "json", "level": "INFO"}}
    )
    assert config.server == ServerConfig(host="127.0.0.1", port=9100)
    assert config.logging == LoggingConfig(format="json", level="info")


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"server": {"port": 70000}}, "server.port"),
        ({"server": {"port": "80"}}, "server.port"),
        ({"server": {"hots": "x"}}, "server.hots"),
        ({"logging": {"format": "xml"}}, 'logging.format: "xml" is not a format'),
        ({"logging": {"level": "loud"}}, 'logging.level: "loud" is not a level'),
    ],
)
def test_mistakes_name_the_key(section: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config({**CIRCLE, **section})
    assert message in str(refused.value)
