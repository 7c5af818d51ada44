"""Reading a TOML file (a config or a scenario) into plain data, bounded.

Every problem (missing, unreadable, too large, not UTF-8, bad syntax, nested too deeply)
is one error that names the file and, where known, the line, so that each command can
print it on one line instead of a traceback.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bot.config.errors import ConfigError
from bot.config.values import join_key

# Bounds that keep hostile or mistaken input from hanging or crashing the parser.
MAX_FILE_BYTES = 1_000_000  # a config or scenario is a few kilobytes
MAX_DEPTH = 20  # the deepest real key, circles[0].rules.emoji.consent[0], is 5 levels down


def read_toml(
    path: str | Path, error: type[ConfigError] = ConfigError, missing: str = "no such file"
) -> dict[str, Any]:
    """Read a TOML file; every problem is an `error` naming the file and, where known,
    the line. `missing` is the problem when there is no such file."""
    name = str(path)
    try:
        with Path(path).open("rb") as file:
            # Bounded, so that /dev/zero or a wrong multi-gigabyte file is refused, not read.
            raw = file.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise error(missing, file=name) from None
    except IsADirectoryError:
        raise error("is a directory, not a TOML file", file=name) from None
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror or exc}", file=name) from None
    if len(raw) > MAX_FILE_BYTES:
        raise error(
            f"too large for a TOML file of circlebot (more than {MAX_FILE_BYTES:,} bytes); "
            "is it the right file?",
            file=name,
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_line = raw[: exc.start].count(b"\n") + 1
        raise error("not valid UTF-8 text", file=name, line=bad_line) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = re.search(r"\(at line (\d+), column (\d+)\)$", message)
        line = int(match.group(1)) if match else None
        if match:
            message = f"{message[: match.start()].strip()} (column {match.group(2)})"
        elif "(at end of document)" in message:
            message = message.replace("(at end of document)", "(at the end of the file)")
        raise error(f"invalid TOML: {message}", file=name, line=line) from None
    except RecursionError:
        raise error("invalid TOML: arrays or tables nested too deeply to read", file=name) from None
    except ValueError:
        # Python refuses to read an integer of more than 4300 digits.
        long_number = re.search(r"[0-9A-Fa-f_]{1000,}", text)
        line = text[: long_number.start()].count("\n") + 1 if long_number else None
        raise error("invalid TOML: a number is too long", file=name, line=line) from None
    deep = _too_deep(data)
    if deep is not None:
        raise error(
            f"nested too deeply (more than {MAX_DEPTH} levels of arrays or tables)",
            key=deep,
            file=name,
        )
    return data


def _too_deep(data: Mapping[str, Any]) -> str | None:
    """The key of a value nested more than MAX_DEPTH levels down, or None. Walks without
    recursion, so it cannot fail where the parser just succeeded."""
    stack: list[tuple[object, str, int]] = [(data, "", 0)]
    while stack:
        value, where, depth = stack.pop()
        if depth > MAX_DEPTH:
            return where
        # The key names the tables and arrays of tables down to the nesting, not each of
        # a thousand brackets.
        if isinstance(value, Mapping):
            for key, item in value.items():
                stack.append((item, join_key(where, str(key)) if depth < 8 else where, depth + 1))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                named = depth < 8 and isinstance(item, Mapping)
                stack.append((item, join_key(where, index) if named else where, depth + 1))
    return None
