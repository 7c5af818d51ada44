"""The TOML configuration file: loading, validation and a human summary.

Everything that could break parity (a circle with one side, a side with no leader, a
member on an unknown side, a quorum outside (0, 1]) is refused at start-up, with a
message that names the file and the key. Secrets never live in the file: they come from
environment variables.

One concern per module: `toml` reads a file, `values` reads one value at a key path,
`secrets` refuses credentials, `circles` (with `rules` and `checkins`) reads a circle,
`platforms` the `[storage]` section and what a platform's plug-in reads (its own
section and keys), `plugins` finds the installed platforms, `operations` the
`[server]` and `[logging]` sections, `loading` the whole file,
`summary` says what `check-config` prints, and `scenario` reads a `simulate` scenario with
the same readers.
"""

from bot.config.checkins import CHECKIN_KEYS, DEFAULT_CHECKIN_OPEN_FOR
from bot.config.circles import CIRCLE_KEYS, MEMBER_KEYS, parse_circle
from bot.config.errors import ConfigError
from bot.config.loading import TOP_KEYS, load_config, parse_config
from bot.config.operations import LOGGING_KEYS, SERVER_KEYS, LoggingConfig, ServerConfig
from bot.config.platforms import (
    DEFAULT_STORAGE_URL,
    STORAGE_KEYS,
    MemberKeys,
    PlatformConfig,
    StorageConfig,
)
from bot.config.rules import RULE_KEYS, STANCE_KEYS
from bot.config.settings import Config
from bot.config.summary import summary
from bot.config.toml import MAX_DEPTH, MAX_FILE_BYTES, read_toml

__all__ = [
    "CHECKIN_KEYS",
    "CIRCLE_KEYS",
    "DEFAULT_CHECKIN_OPEN_FOR",
    "DEFAULT_STORAGE_URL",
    "LOGGING_KEYS",
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MEMBER_KEYS",
    "RULE_KEYS",
    "SERVER_KEYS",
    "STANCE_KEYS",
    "STORAGE_KEYS",
    "TOP_KEYS",
    "Config",
    "ConfigError",
    "LoggingConfig",
    "MemberKeys",
    "PlatformConfig",
    "ServerConfig",
    "StorageConfig",
    "load_config",
    "parse_circle",
    "parse_config",
    "read_toml",
    "summary",
]
