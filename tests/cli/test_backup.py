"""`circlebot backup`: a consistent SQLite copy while the bot writes; pg_dump for
PostgreSQL; errors in one line with status 2."""

from __future__ import annotations

import os
import re
import sqlite3
import stat
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.wiring.cli import main
from storage import open_repository
from storage.backup import pg_dump_command
from storage.db import StorageError
from storage.process_lock import lock_single_process

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


# --------------------------------------------------------------------------- refused OUTs

# What OUT may never be, `--force` or not: (case, the reason the message gives).
REFUSED_OUTS = [
    ("the database", "is the database itself"),
    ("its -wal file", "is the database's write-ahead log"),
    ("its -shm file", "is the database's shared-memory index"),
    ("its -journal file", "is the database's rollback journal"),
    ("its lock file", "is the database's lock file"),
    ("the database spelled with ..", "is the database itself"),
    ("the -wal file spelled relative", "is the database's write-ahead log"),
    ("a symlink to the database", "leads to the database itself"),
    ("a symlink to the lock file", "leads to the database's lock file"),
    ("the -wal file through a symlinked folder", "leads to the database's write-ahead log"),
    ("a hard link to the database", "is a hard link to the database itself"),
    ("a hard link to the -wal file", "is a hard link to the database's write-ahead log"),
    ("/dev/null", "is not a regular file (it is a device)"),
    ("a symlink to /dev/null", "is not a regular file (it is a device)"),
    ("a FIFO", "is not a regular file (it is a pipe)"),
    ("a directory", "is a directory"),
]


def null_device(folder: Path) -> Path:
    """A character device to refuse. As root, a twin of /dev/null made in `folder`, so a
    backup that wrongly replaced it would never replace the system's; others cannot
    replace /dev/null (nor write in /dev), so the real one is safe to name."""
    if os.geteuid() != 0:
        return Path("/dev/null")
    twin = folder / "null"
    os.mknod(twin, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
    return twin


def fingerprint(paths: list[Path]) -> dict[Path, tuple[int, int, bytes | None]]:
    """(device, inode, bytes) of each path, as lstat sees it: a replaced file or link shows."""
    found = {}
    for path in paths:
        if os.path.lexists(path):
            info = os.lstat(path)
            data = path.read_bytes() if stat.S_ISREG(info.st_mode) else None
            found[path] = (info.st_dev, info.st_ino, data)
    return found


@pytest.mark.parametrize("force", [False, True], ids=["", "--force"])
@pytest.mark.parametrize(("case", "reason"), REFUSED_OUTS, ids=[c for c, _ in REFUSED_OUTS])
def test_out_is_never_the_database_nor_its_side_files_nor_a_special_file(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    case: str,
    reason: str,
    force: bool,
) -> None:
    database = tmp_path / "bot.db"
    url = f"sqlite:///{database}"
    config = write_config(tmp_path, url)
    # The bot is running: it holds the lock, and its connection keeps the -wal and -shm.
    lock = lock_single_process(url)
    repo = open_repository(url)
    try:
        with repo.transaction() as tx:
            tx.create_circle("council")
        wal = Path(f"{database}-wal")
        shm = Path(f"{database}-shm")
        assert lock is not None and wal.is_file() and shm.is_file()
        monkeypatch.chdir(tmp_path)
        out: Path | str
        match case:
            case "the database":
                out = database
            case "its -wal file":
                out = wal
            case "its -shm file":
                out = shm
            case "its -journal file":
                out = Path(f"{database}-journal")  # none in WAL mode: refused by its name
            case "its lock file":
                out = lock.path
            case "the database spelled with ..":
                out = f"{tmp_path}/no such folder/../bot.db"
            case "the -wal file spelled relative":
                out = "./bot.db-wal"
            case "a symlink to the database":
                out = tmp_path / "copy.db"
                out.symlink_to(database)
            case "a symlink to the lock file":
                out = tmp_path / "copy.db"
                out.symlink_to("bot.db.lock")
            case "the -wal file through a symlinked folder":
                (tmp_path / "alias").symlink_to(tmp_path, target_is_directory=True)
                out = "alias/bot.db-wal"
            case "a hard link to the database":
                out = tmp_path / "copy.db"
                os.link(database, out)
            case "a hard link to the -wal file":
                out = tmp_path / "copy.db"
                os.link(wal, out)
            case "/dev/null":
                out = null_device(tmp_path)
            case "a symlink to /dev/null":
                out = tmp_path / "copy.db"
                out.symlink_to(null_device(tmp_path))
            case "a FIFO":
                out = tmp_path / "copy.db"
                os.mkfifo(out)
            case "a directory":
                out = tmp_path / "copy.db"
                out.mkdir()
        watched = [database, wal, shm, lock.path, Path(out), *tmp_path.glob("null")]
        before = fingerprint(watched)
        listing = sorted(os.listdir(tmp_path))
        status = main(["backup", "--config", str(config), *(["--force"] * force), str(out)])
        captured = capsys.readouterr()
        assert status == 2
        assert captured.out == ""
        assert captured.err.startswith(f"circlebot: {config}: ")
        assert captured.err.count("\n") == 1 and "Traceback" not in captured.err
        assert reason in captured.err
        assert fingerprint(watched) == before  # same bytes, same inodes
        assert sorted(os.listdir(tmp_path)) == listing  # nothing written beside them
        # The running bot still holds its lock: no second bot could start.
        with pytest.raises(StorageError, match="in use by another circlebot"):
            lock_single_process(url)
    finally:
        repo.engine.dispose()
        if lock is not None:
            lock.release()
