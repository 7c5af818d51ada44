"""`circlebot backup`: a consistent SQLite copy while the bot writes; pg_dump for
PostgreSQL; errors in one line with status 2."""

from __future__ import annotations

import re
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from storage import open_repository
from storage.backup import pg_dump_command

CONFIG = """\
[storage]
url = "{url}"

[[circles]]
name = "council"
timezone = "UTC"
sides = ["milpa", "vera"]
[[circles.members]]
name = "ana"
side = "milpa"
[[circles.members]]
name = "ben"
side = "vera"
"""
MARKER = "pw-marker-3f9a71"


def write_config(folder: Path, url: str) -> Path:
    path = folder / "config.toml"
    path.write_text(CONFIG.format(url=url))
    return path


def copy_facts(path: Path) -> tuple[str, int]:
    """integrity_check and the number of proposals of a copy, opened afresh."""
    with sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True) as copy:
        check = copy.execute("PRAGMA integrity_check").fetchone()[0]
        count = copy.execute("SELECT count(*) FROM proposals").fetchone()[0]
    copy.close()
    return check, count


def backup(config: Path, out: Path, *flags: str) -> int:
    return main(["backup", "--config", str(config), *flags, str(out)])


def test_a_copy_while_another_thread_keeps_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/bot.db"
    config = write_config(tmp_path, url)
    repo = open_repository(url)  # the real store, as the running bot writes it
    with repo.transaction() as tx:
        circle = tx.create_circle("council")
    committed = 0
    stop = threading.Event()
    writing = threading.Event()
    failures: list[BaseException] = []

    def writer() -> None:
        nonlocal committed
        now = datetime.now(UTC)
        try:
            while not stop.is_set():
                with repo.transaction() as tx:
                    tx.create_proposal(
                        circle_id=circle,
                        author="ana",
                        text=f"proposal {committed + 1}",
                        status="open",
                        created_at=now,
                        deadline=now + timedelta(days=2),
                        review=None,
                    )
                committed += 1  # after the commit: never more than what is in the file
                if committed >= 25:
                    writing.set()
        except BaseException as exc:
            failures.append(exc)
            writing.set()
            raise

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert writing.wait(60)
        before = committed  # committed before the backup began
        status = backup(config, tmp_path / "copy.db")
        still_writing = not stop.is_set() and thread.is_alive()
    finally:
        stop.set()
        thread.join(60)
        repo.engine.dispose()
    assert not failures, failures  # the bot's writes went on undisturbed
    assert still_writing
    out, err = capsys.readouterr()
    assert status == 0, err
    check, count = copy_facts(tmp_path / "copy.db")
    assert check == "ok"
    assert before <= count <= committed
    # One line saying what was copied: the path, its size, the proposals it holds.
    assert out.count("\n") == 1
    size = (tmp_path / "copy.db").stat().st_size
    assert f"to {tmp_path / 'copy.db'}: {size} bytes, {count} proposal(s)" in out
    # A self-contained file: nothing beside it but what was there.
    assert sorted(p.name for p in tmp_path.glob("copy.db*")) == ["copy.db"]


def test_out_is_not_overwritten_without_force(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}/bot.db"
    config = write_config(tmp_path, url)
    open_repository(url).engine.dispose()
    out = tmp_path / "copy.db"
    out.write_text("precious")
    assert backup(config, out) == 2
    _, err = capsys.readouterr()
    assert err == f"circlebot: {config}: {out} exists; use --force to replace it\n"
    assert out.read_text() == "precious"
    assert backup(config, out, "--force") == 0
    assert copy_facts(out) == ("ok", 0)
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("missing database", "there is no database at"),
        ("unwritable out", "cannot write"),
        ("out is a directory", "is a directory"),
        ("not a circlebot database", "is not a circlebot database"),
        ("not a database", "cannot copy"),
    ],
)
def test_errors_are_one_line_and_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, expected: str
) -> None:
    database = tmp_path / "bot.db"
    config = write_config(tmp_path, f"sqlite:///{database}")
    out = tmp_path / "copy.db"
    if case != "missing database":
        open_repository(f"sqlite:///{database}").engine.dispose()
    if case == "unwritable out":
        out = tmp_path / "no such folder" / "copy.db"
    elif case == "out is a directory":
        out.mkdir()
    elif case == "not a circlebot database":
        database.unlink()
        sqlite3.connect(database).close()  # an empty SQLite file
    elif case == "not a database":
        database.unlink()
        database.write_bytes(b"not a database at all, just some bytes" * 200)
    assert backup(config, out) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("circlebot: ") and captured.err.count("\n") == 1
    assert expected in captured.err
    assert "Traceback" not in captured.err
    if case != "out is a directory":
        assert not out.exists()
    assert not list(tmp_path.rglob("*.part"))  # nothing half-written left behind
    if case == "missing database":
        assert not database.exists()  # the backup did not create an empty one


def test_postgresql_prints_the_pg_dump_command_without_the_password(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPASSWORD", MARKER)
    config = write_config(tmp_path, "postgresql+psycopg://circlebot@db.example.org:5433/circle")
    out = tmp_path / "circle dump.pgc"
    assert backup(config, out) == 0
    captured = capsys.readouterr()
    assert captured.out == (
        "pg_dump --format=custom --host=db.example.org --port=5433 --username=circlebot "
        f"--dbname=circle '--file={out}'\n"
    )
    assert MARKER not in captured.out + captured.err
    assert not out.exists()


def test_the_pg_dump_command_never_holds_a_password() -> None:
    command = pg_dump_command(f"postgresql://bot:{MARKER}@localhost/circle?sslmode=require", "o")
    assert (
        command
        == "pg_dump --format=custom --host=localhost --username=bot --dbname=circle --file=o"
    )
    assert pg_dump_command("sqlite:///bot.db", "o") is None
    socket = pg_dump_command("postgresql+psycopg://bot@/circle?host=/run/postgresql", "o")
    assert socket is not None and re.search(r"--host=/run/postgresql\b", socket)
