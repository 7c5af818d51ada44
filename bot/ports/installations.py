"""A chat app installed in many workspaces (installed through OAuth): its installations and
the one-time states of installs under way, kept in the bot's database.

- `Installation`: one workspace's installation as the adapter uses it (tokens in the
  clear, in memory only; never in a repr, a log line or a row).
- `Installations`: the port the adapter is given (bot.ports.platform.KeepsInstallations);
  `StoredInstallations` implements it over the database, sealing every token with
  `SecretKeys` before a row is written.
- `SecretKeys`: CIRCLEBOT_SECRET_KEY, one or several comma-separated Fernet keys; the
  first seals, all open (cryptography's MultiFernet), so keys can be rotated: put the new
  key first and keep the old one after it until every installation was sealed again
  (each is, the first time it is read).
- `InstallationRecords`: what the storage does, on sealed values only.

An installation sealed with a key that is no longer given (a lost or dropped
CIRCLEBOT_SECRET_KEY) cannot be used: `find` raises `LockedInstallation` for it, and
`all` lists it apart (`Installed.locked`), so that its workspace is said and answered as
not installed while every other is served.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import secrets
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bot.domain.errors import AppError

SECRET_KEY_ENV = "CIRCLEBOT_SECRET_KEY"
STATE_TTL = timedelta(minutes=10)  # an install must come back within this (as Bolt's default)


class SecretKeyError(AppError):
    """A sealed value that none of the keys opens (a key was dropped too early)."""


def unopened_fix(workspace: str) -> str:
    """What an operator does about an installation no key opens (never a key's value)."""
    return (
        f"the token of workspace {workspace} cannot be opened with the keys in "
        f"{SECRET_KEY_ENV}: put the old key back in {SECRET_KEY_ENV} (comma-separated, the "
        "new key first) or install the app in that workspace again"
    )


class LockedInstallation(SecretKeyError):
    """The installation of one workspace, sealed with a key that is not given."""

    def __init__(self, facts: Installation) -> None:
        self.facts = facts
        super().__init__(unopened_fix(workspace_name(facts)))


class SecretKeys:
    """The keys from CIRCLEBOT_SECRET_KEY: the first seals, every one opens."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("at least one key")
        self._first = Fernet(keys[0])
        self._all = MultiFernet([Fernet(key) for key in keys])
        self.count = len(keys)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SecretKeys:
        """The keys in the environment; AppError naming the variable when it is missing
        or holds something that is not a Fernet key (the value is never shown)."""
        value = (env.get(SECRET_KEY_ENV) or "").strip()
        how = (
            'generate one with: python -c "from cryptography.fernet import Fernet; '
            'print(Fernet.generate_key().decode())"'
        )
        if not value:
            raise AppError(
                f"{SECRET_KEY_ENV} is not set: tokens of the workspaces the app is installed "
                f"in are kept encrypted with it; {how}"
            )
        keys: list[bytes] = []
        parts = [part.strip() for part in value.split(",")]
        for number, part in enumerate(parts, start=1):
            try:
                Fernet(part.encode())
            except (ValueError, TypeError):
                which = f"key {number} of {len(parts)}" if len(parts) > 1 else "its value"
                raise AppError(
                    f"{SECRET_KEY_ENV}: {which} is not a Fernet key (32 bytes in url-safe "
                    f"base64; several keys are separated by commas, the newest first); {how}"
                ) from None
            keys.append(part.encode())
        return cls(keys)

    def seal(self, text: str) -> str:
        return self._first.encrypt(text.encode()).decode()

    def open(self, sealed: str) -> tuple[str, bool]:
        """The text, and whether it was sealed with an older key than the first (then
        seal it again). SecretKeyError when no key opens it."""
        try:
            return self._first.decrypt(sealed.encode()).decode(), False
        except InvalidToken:
            pass
        try:
            return self._all.decrypt(sealed.encode()).decode(), True
        except InvalidToken:
            raise SecretKeyError(
                f"an installation's tokens cannot be decrypted with {SECRET_KEY_ENV}: the key "
                "they were sealed with is not among its keys (keep the old key after the new "
                "one while rotating)"
            ) from None


@dataclass(frozen=True)
class Tokens:
    """An installation's secrets. Never shown."""

    bot: str | None = field(default=None, repr=False)
    bot_refresh: str | None = field(default=None, repr=False)
    user: str | None = field(default=None, repr=False)
    user_refresh: str | None = field(default=None, repr=False)

    def to_json(self) -> str:
        return json.dumps(
            {
                "bot": self.bot,
                "bot_refresh": self.bot_refresh,
                "user": self.user,
                "user_refresh": self.user_refresh,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Tokens:
        data = json.loads(text)
        return cls(
            data.get("bot"), data.get("bot_refresh"), data.get("user"), data.get("user_refresh")
        )


@dataclass(frozen=True)
class Installation:
    """The app in one workspace (or, installed org-wide, one Enterprise Grid org)."""

    team_id: str | None
    enterprise_id: str | None = None
    team_name: str | None = None
    app_id: str | None = None
    bot_id: str | None = None
    bot_user_id: str | None = None
    bot_scopes: tuple[str, ...] = ()
    user_id: str | None = None  # who installed it
    user_scopes: tuple[str, ...] = ()
    bot_token_expires_at: datetime | None = None
    user_token_expires_at: datetime | None = None
    is_enterprise_install: bool = False
    installed_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    tokens: Tokens = field(default_factory=Tokens, repr=False)


def workspace_name(installation: Installation) -> str:
    """How logs and doctor name an installation's workspace: its id, and its name."""
    which = installation.team_id or installation.enterprise_id or "?"
    return f"{which} ({installation.team_name})" if installation.team_name else which


@dataclass(frozen=True)
class Installed:
    """Every installation: those the keys open, and those sealed with a key that is not
    given (`locked`: their facts only, without tokens)."""

    opened: list[Installation] = field(default_factory=list)
    locked: list[Installation] = field(default_factory=list)


@dataclass(frozen=True)
class SealedInstallation:
    """An installation as the database keeps it: `facts` without tokens, and the tokens
    sealed with the first secret key."""

    facts: Installation
    sealed: str = field(repr=False)


class InstallationRecords(Protocol):
    """The storage's operations (storage.installations), inside one transaction."""

    def save_installation(self, installation: SealedInstallation) -> None:
        """Insert or replace the installation of (enterprise_id, team_id)."""

    def installation(
        self, team_id: str | None, enterprise_id: str | None
    ) -> SealedInstallation | None: ...

    def installations(self) -> list[SealedInstallation]:
        """Every installation, oldest first."""

    def delete_installation(self, team_id: str | None, enterprise_id: str | None) -> None: ...

    def add_oauth_state(self, digest: str, expires_at: datetime) -> None:
        """A state handed to an installer's browser (its SHA-256, never the state)."""

    def consume_oauth_state(self, digest: str, now: datetime) -> bool:
        """Remove the state; True only if it was there and had not expired."""

    def forget_oauth_states(self, now: datetime) -> int:
        """Remove the states that expired; how many."""


class Installations(Protocol):
    """The port: where an adapter keeps its app's installations (bot.ports.platform)."""

    async def save(self, installation: Installation) -> None: ...

    async def find(
        self, team_id: str | None, enterprise_id: str | None = None
    ) -> Installation | None:
        """The installation, None if there is none; LockedInstallation when its tokens
        cannot be opened with the keys given."""

    async def delete(self, team_id: str | None, enterprise_id: str | None = None) -> None: ...

    async def all(self) -> Installed:
        """Every installation, those no key opens apart (doctor names them; the adapter
        says them at start and connects to the others)."""

    async def issue_state(self) -> str:
        """A new one-time state for an install that begins now."""

    async def consume_state(self, state: str) -> bool:
        """True once for a state issued within STATE_TTL; False for any other."""


def state_digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


Records = Callable[[], AbstractContextManager[InstallationRecords]]


class StoredInstallations:
    """`Installations` in the bot's database, each token sealed with `keys`. The
    database work runs off the event loop."""

    def __init__(
        self,
        records: Records,
        keys: SecretKeys,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        reseal: bool = True,
    ) -> None:
        self._records = records
        self.keys = keys
        self.clock = clock
        self.reseal = reseal  # False: read only (circlebot doctor)

    def _seal(self, installation: Installation) -> SealedInstallation:
        facts = replace(installation, tokens=Tokens())
        return SealedInstallation(facts, self.keys.seal(installation.tokens.to_json()))

    def _open(self, sealed: SealedInstallation) -> tuple[Installation, bool]:
        """The installation with its tokens, and whether to seal it again; raises
        LockedInstallation when no key opens it."""
        try:
            text, stale = self.keys.open(sealed.sealed)
        except SecretKeyError:
            raise LockedInstallation(sealed.facts) from None
        return replace(sealed.facts, tokens=Tokens.from_json(text)), stale

    def save_now(self, installation: Installation) -> None:
        with self._records() as tx:
            tx.save_installation(self._seal(installation))

    def find_now(self, team_id: str | None, enterprise_id: str | None) -> Installation | None:
        with self._records() as tx:
            sealed = tx.installation(team_id, enterprise_id)
            if sealed is None:
                return None
            installation, stale = self._open(sealed)
            if stale and self.reseal:  # sealed with an older key: sealed again with the newest
                tx.save_installation(self._seal(installation))
            return installation

    def all_now(self) -> Installed:
        found = Installed()
        with self._records() as tx:
            for sealed in tx.installations():
                try:
                    installation, stale = self._open(sealed)
                except LockedInstallation:
                    found.locked.append(sealed.facts)
                    continue
                if stale and self.reseal:
                    tx.save_installation(self._seal(installation))
                found.opened.append(installation)
        return found

    def delete_now(self, team_id: str | None, enterprise_id: str | None) -> None:
        with self._records() as tx:
            tx.delete_installation(team_id, enterprise_id)

    def issue_state_now(self) -> str:
        state = secrets.token_urlsafe(32)
        now = self.clock()
        with self._records() as tx:
            tx.forget_oauth_states(now)
            tx.add_oauth_state(state_digest(state), now + STATE_TTL)
        return state

    def consume_state_now(self, state: str) -> bool:
        if not state:
            return False
        with self._records() as tx:
            return tx.consume_oauth_state(state_digest(state), self.clock())

    async def save(self, installation: Installation) -> None:
        await asyncio.to_thread(self.save_now, installation)

    async def find(
        self, team_id: str | None, enterprise_id: str | None = None
    ) -> Installation | None:
        return await asyncio.to_thread(self.find_now, team_id, enterprise_id)

    async def delete(self, team_id: str | None, enterprise_id: str | None = None) -> None:
        await asyncio.to_thread(self.delete_now, team_id, enterprise_id)

    async def all(self) -> Installed:
        return await asyncio.to_thread(self.all_now)

    async def issue_state(self) -> str:
        return await asyncio.to_thread(self.issue_state_now)

    async def consume_state(self, state: str) -> bool:
        return await asyncio.to_thread(self.consume_state_now, state)
