"""The one exception every configuration or scenario problem is reported with."""

from __future__ import annotations

from typing import NoReturn, Self


class ConfigError(Exception):
    """A configuration problem. `str()` gives `FILE: KEY: PROBLEM` (file and key when known)."""

    def __init__(
        self,
        problem: str,
        *,
        key: str | None = None,
        file: str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(problem)
        self.problem = problem
        self.key = key or None
        self.file = file
        self.line = line

    def in_file(self, file: str) -> Self:
        """The same problem, attributed to `file` (used when a parser ran on loaded data)."""
        return type(self)(self.problem, key=self.key, file=file, line=self.line)

    def __str__(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(self.file if self.line is None else f"{self.file}, line {self.line}")
        if self.key:
            parts.append(self.key)
        parts.append(self.problem)
        return ": ".join(parts)


def fail(key: str, problem: str) -> NoReturn:
    """Stop reading: `problem` at `key` (the file is added by whoever read the file)."""
    raise ConfigError(problem, key=key)
