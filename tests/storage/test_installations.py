"""The app's installations in many workspaces, kept in our database with their tokens
sealed (CIRCLEBOT_SECRET_KEY), and the one-time OAuth states: on SQLite and on a real
PostgreSQL server (db_url runs both)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import inspect, select, text

from bot.domain.errors import AppError
from bot.ports.installations import (
    SECRET_KEY_ENV,
    STATE_TTL,
    Installation,
    LockedInstallation,
    SecretKeyError,
    SecretKeys,
    StoredInstallations,
    Tokens,
)
from storage import open_repository
from storage.models import SlackInstallationRow
from storage.repository import Repository

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
OLD_KEY, NEW_KEY = Fernet.generate_key().decode(), Fernet.generate_key().decode()
SECRETS = ("xoxb-one-secret-bot", "xoxe-one-refresh", "xoxp-one-user", "xoxe-user-refresh")


def installation(team: str = "T1AA", bot: str = SECRETS[0]) -> Installation:
    return Installation(
        team_id=team,
        team_name=f"Team {team}",
        app_id="A0APP",
        bot_id="B1",
        bot_user_id="UBOT1",
        bot_scopes=("chat:write", "commands"),
        user_id="UINSTALLER",
        installed_at=T0,
        tokens=Tokens(bot, SECRETS[1], SECRETS[2], SECRETS[3]),
    )


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def repo(db_url: str) -> Repository:
    return open_repository(db_url)


def store(repo: Repository, keys: str, clock: Clock | None = None) -> StoredInstallations:
    return StoredInstallations(
        repo.transaction, SecretKeys.from_env({SECRET_KEY_ENV: keys}), clock or Clock()
    )


def every_value(repo: Repository) -> list[str]:
    """Every value of every row of every table, as text."""
    found = []
    with repo.engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                found.extend(str(value) for value in row)
    return found


def test_saved_and_found_with_its_tokens_and_no_token_in_any_row(repo: Repository) -> None:
    kept = store(repo, NEW_KEY)
    kept.save_now(installation())
    found = kept.find_now("T1AA", None)
    assert found is not None
    assert found.tokens == Tokens(*SECRETS)
    assert found.bot_scopes == ("chat:write", "commands") and found.installed_at == T0
    values = every_value(repo)
    assert any("Team T1AA" in value for value in values)
    for secret in SECRETS:
        assert not any(secret in value for value in values), secret
    assert SECRETS[0] not in repr(found)  # nor in a repr (a log line)


def test_saving_again_replaces_and_other_workspaces_stay(repo: Repository) -> None:
    kept = store(repo, NEW_KEY)
    kept.save_now(installation("T1AA", "xoxb-first"))
    kept.save_now(installation("T2BB", "xoxb-second"))
    kept.save_now(installation("T1AA", "xoxb-reinstalled"))
    assert [i.team_id for i in kept.all_now().opened] == ["T1AA", "T2BB"]
    first = kept.find_now("T1AA", None)
    assert first is not None and first.tokens.bot == "xoxb-reinstalled"
    kept.delete_now("T1AA", None)
    assert kept.find_now("T1AA", None) is None
    assert kept.find_now("T2BB", None) is not None


def test_key_rotation_reads_old_rows_and_seals_them_again(repo: Repository) -> None:
    store(repo, OLD_KEY).save_now(installation())
    with repo.transaction() as tx:
        before = tx.installation("T1AA", None)
    assert before is not None
    # The new key first, the old one after it: the old row still opens...
    rotated = store(repo, f"{NEW_KEY}, {OLD_KEY}")
    found = rotated.find_now("T1AA", None)
    assert found is not None and found.tokens.bot == SECRETS[0]
    # ... and was sealed again with the new key on that first read.
    with repo.transaction() as tx:
        after = tx.installation("T1AA", None)
    assert after is not None and after.sealed != before.sealed
    assert Fernet(NEW_KEY.encode()).decrypt(after.sealed.encode())
    # So the old key can go now.
    again = store(repo, NEW_KEY).find_now("T1AA", None)
    assert again is not None and again.tokens.bot == SECRETS[0]


def test_a_row_no_key_opens_is_a_clear_error(repo: Repository) -> None:
    store(repo, OLD_KEY).save_now(installation())
    with pytest.raises(SecretKeyError, match=SECRET_KEY_ENV) as raised:
        store(repo, NEW_KEY).find_now("T1AA", None)
    assert isinstance(raised.value, LockedInstallation)
    assert raised.value.facts.team_id == "T1AA" and "T1AA" in str(raised.value)


def test_every_installation_is_listed_those_no_key_opens_apart(repo: Repository) -> None:
    store(repo, OLD_KEY).save_now(installation("T1AA"))
    store(repo, NEW_KEY).save_now(installation("T2BB"))
    found = store(repo, NEW_KEY).all_now()
    assert [i.team_id for i in found.opened] == ["T2BB"]
    assert found.opened[0].tokens.bot == SECRETS[0]
    assert [i.team_id for i in found.locked] == ["T1AA"]
    assert found.locked[0].tokens.bot is None  # facts only
    # The row no key opens is kept as it was: the old key back, it opens.
    assert store(repo, f"{NEW_KEY},{OLD_KEY}").find_now("T1AA", None) is not None


def test_states_are_consumed_once_and_expire(repo: Repository) -> None:
    clock = Clock()
    kept = store(repo, NEW_KEY, clock)
    state = kept.issue_state_now()
    assert state not in every_value(repo)  # only its digest is kept
    assert kept.consume_state_now(state)
    assert not kept.consume_state_now(state)  # reused
    assert not kept.consume_state_now("made-up")
    assert not kept.consume_state_now("")
    late = kept.issue_state_now()
    clock.now += STATE_TTL + timedelta(seconds=1)
    assert not kept.consume_state_now(late)
    kept.issue_state_now()  # issuing forgets what expired
    with repo.engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM oauth_states")).scalar() == 1


def test_the_async_port(repo: Repository) -> None:
    kept = store(repo, NEW_KEY)

    async def run() -> None:
        await kept.save(installation("T2BB"))
        found = await kept.find("T2BB")
        assert found is not None and found.tokens.bot == SECRETS[0]
        assert [i.team_id for i in (await kept.all()).opened] == ["T2BB"]
        state = await kept.issue_state()
        assert await kept.consume_state(state)
        assert not await kept.consume_state(state)
        await kept.delete("T2BB")
        assert await kept.find("T2BB") is None

    asyncio.run(run())


def test_rows_keep_no_enterprise_as_empty(repo: Repository) -> None:
    store(repo, NEW_KEY).save_now(installation())
    with repo.engine.connect() as connection:
        row = connection.execute(select(SlackInstallationRow)).one()
    assert row.enterprise_id == "" and row.team_id == "T1AA"


def test_a_grid_workspace_is_found_by_its_team_alone(repo: Repository) -> None:
    # Bolt saves an Enterprise Grid workspace under (E…, T…); the bot, finding a circle's
    # workspace, knows only T….
    kept = store(repo, NEW_KEY)
    grid = Installation(**{**installation("T3GRID").__dict__, "enterprise_id": "E0ORG"})
    kept.save_now(grid)
    found = kept.find_now("T3GRID", None)
    assert found is not None and found.enterprise_id == "E0ORG"
    assert kept.find_now("T3GRID", "E0ORG") is not None
    assert kept.find_now("T3GRID", "E9OTHER") is None


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "is not set"),
        ("   ", "is not set"),
        ("not-a-key", "its value is not a Fernet key"),
        (f"{NEW_KEY},short", "key 2 of 2 is not a Fernet key"),
    ],
)
def test_bad_secret_keys_name_the_variable_not_the_value(value: str, problem: str) -> None:
    with pytest.raises(AppError) as caught:
        SecretKeys.from_env({SECRET_KEY_ENV: value})
    message = str(caught.value)
    assert message.startswith(SECRET_KEY_ENV) and problem in message
    if value.strip():
        assert "not-a-key" not in message and "short" not in message


def test_several_keys() -> None:
    keys = SecretKeys.from_env({SECRET_KEY_ENV: f"{NEW_KEY},{OLD_KEY}"})
    assert keys.count == 2
    sealed = keys.seal("xoxb-x")
    assert keys.open(sealed) == ("xoxb-x", False)
    old = SecretKeys.from_env({SECRET_KEY_ENV: OLD_KEY}).seal("xoxb-y")
    assert keys.open(old) == ("xoxb-y", True)
