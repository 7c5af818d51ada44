"""A throw-away PostgreSQL server for the test suite.

``PostgresServer`` runs ``initdb`` into a temporary directory, starts the
cluster on a free loopback port (never on a public interface), creates the
``circlebot_test`` database and tears everything down again on exit::

    with PostgresServer() as server:
        engine = sqlalchemy.create_engine(server.url)

When the process runs as root (CI containers), ``initdb`` and ``pg_ctl`` are
run as the ``postgres`` OS user, because PostgreSQL refuses to run as root.

This is a helper module, not a test module.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import psycopg
from psycopg import sql

# Where Debian/Ubuntu put the server binaries, one directory per major version.
PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"
# OS user to run the server as when we are root.
PG_OS_USER = "postgres"
DEFAULT_DBNAME = "circlebot_test"
START_ATTEMPTS = 3
START_TIMEOUT_S = 60


class PostgresUnavailable(RuntimeError):
    """PostgreSQL binaries (or a way to run them) are missing."""


def _version_key(bindir: str) -> tuple[int, ...]:
    # /usr/lib/postgresql/15/bin -> (15,); 9.6 -> (9, 6)
    version = Path(bindir).parent.name
    return tuple(int(part) for part in re.findall(r"\d+", version)) or (0,)


def find_bindir() -> Path | None:
    """Directory holding initdb/pg_ctl: the newest under PG_BIN_GLOB, else PATH."""
    candidates = [d for d in glob.glob(PG_BIN_GLOB) if os.access(Path(d, "initdb"), os.X_OK)]
    if candidates:
        return Path(max(candidates, key=_version_key))
    initdb = shutil.which("initdb")
    if initdb is not None:
        return Path(initdb).resolve().parent
    return None


def _is_root() -> bool:
    return os.geteuid() == 0


def available() -> str | None:
    """None when a server can be started here, otherwise the reason why not."""
    bindir = find_bindir()
    if bindir is None:
        return (
            f"PostgreSQL server binaries not found (no {PG_BIN_GLOB}/initdb, no initdb on PATH); "
            "install them with: apt-get install -y postgresql"
        )
    missing = [tool for tool in ("initdb", "pg_ctl") if not os.access(bindir / tool, os.X_OK)]
    if missing:
        return f"{', '.join(missing)} missing from {bindir}"
    if _is_root():
        try:
            pwd.getpwnam(PG_OS_USER)
        except KeyError:
            return f"running as root but there is no {PG_OS_USER!r} OS user to run initdb as"
        if shutil.which("runuser") is None:
            return "running as root but `runuser` (util-linux) is not available"
    return None


def free_port() -> int:
    """A currently unused TCP port on 127.0.0.1 (may race; callers retry)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresServer:
    """A temporary PostgreSQL cluster on 127.0.0.1; use as a context manager."""

    def __init__(self, dbname: str = DEFAULT_DBNAME) -> None:
        self.dbname = dbname
        self.port: int | None = None
        self.startup_seconds: float | None = None
        self._bindir: Path | None = None
        self._tmpdir: Path | None = None
        self._admin: psycopg.Connection[Any] | None = None
        self._running = False

    # -- paths -------------------------------------------------------------

    @property
    def datadir(self) -> Path:
        assert self._tmpdir is not None, "server not started"
        return self._tmpdir / "data"

    @property
    def sockdir(self) -> Path:
        assert self._tmpdir is not None, "server not started"
        return self._tmpdir

    @property
    def logfile(self) -> Path:
        assert self._tmpdir is not None, "server not started"
        return self._tmpdir / "postgres.log"

    # -- URLs / connections -------------------------------------------------

    def url_for(self, dbname: str) -> str:
        """SQLAlchemy URL for database ``dbname`` on this server."""
        assert self.port is not None, "server not started"
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the default test database."""
        return self.url_for(self.dbname)

    def conninfo(self, dbname: str = "postgres") -> str:
        """libpq conninfo for psycopg.connect()."""
        assert self.port is not None, "server not started"
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={dbname} connect_timeout=10"

    @property
    def admin(self) -> psycopg.Connection[Any]:
        """An autocommit connection to the ``postgres`` maintenance database."""
        if self._admin is None or self._admin.closed:
            self._admin = psycopg.connect(self.conninfo("postgres"), autocommit=True)
        return self._admin

    def create_database(self, name: str) -> str:
        """CREATE DATABASE ``name``; returns its SQLAlchemy URL."""
        self.admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """DROP DATABASE ``name``, disconnecting anyone still connected."""
        self.admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )

    # -- lifecycle ------------------------------------------------------------

    def _run(self, *argv: str | os.PathLike[str], timeout: float = START_TIMEOUT_S) -> None:
        assert self._bindir is not None and self._tmpdir is not None
        cmd = [str(self._bindir / str(argv[0])), *(str(a) for a in argv[1:])]
        if _is_root():
            cmd = ["runuser", "-u", PG_OS_USER, "--", *cmd]
        # cwd: the postgres user may not be allowed into our current directory.
        result = subprocess.run(
            cmd,
            cwd=self._tmpdir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "LC_ALL": "C", "PGTZ": "UTC"},
        )
        if result.returncode != 0:
            raise subprocess.CalledProcessError(
                result.returncode, cmd, output=result.stdout, stderr=result.stderr
            )

    def _log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def start(self) -> PostgresServer:
        reason = available()
        if reason is not None:
            raise PostgresUnavailable(reason)
        began = time.monotonic()
        self._bindir = find_bindir()
        self._tmpdir = Path(tempfile.mkdtemp(prefix="circlebot-pg-"))
        try:
            if _is_root():
                shutil.chown(self._tmpdir, user=PG_OS_USER)
            self._run(
                "initdb",
                "-D",
                self.datadir,
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            )
            self._start_on_free_port()
            self.create_database(self.dbname)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def _start_on_free_port(self) -> None:
        errors: list[str] = []
        for _ in range(START_ATTEMPTS):
            port = free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {port} -k {self.sockdir} -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off"
            )
            try:
                # -w: pg_ctl returns once the server accepts connections (or has died).
                self._run(
                    "pg_ctl",
                    "start",
                    "-w",
                    "-t",
                    str(START_TIMEOUT_S),
                    "-D",
                    self.datadir,
                    "-l",
                    self.logfile,
                    "-o",
                    options,
                    timeout=START_TIMEOUT_S + 10,
                )
            except subprocess.CalledProcessError as exc:
                # Most likely someone grabbed the port between free_port() and bind().
                errors.append(f"port {port}: {exc.stderr.strip()}\n{self._log_tail()}")
                continue
            self.port = port
            self._running = True
            return
        raise RuntimeError(
            f"PostgreSQL did not start after {START_ATTEMPTS} attempts:\n" + "\n".join(errors)
        )

    def halt(self) -> None:
        """Stop the server as a crash would (immediate shutdown), keeping its data, so
        tests can watch the bot lose its database."""
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        self._run("pg_ctl", "stop", "-w", "-m", "immediate", "-D", self.datadir)
        self._running = False

    def resume(self) -> None:
        """Start the halted server again, on the same port."""
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.sockdir} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            "pg_ctl", "start", "-w", "-t", str(START_TIMEOUT_S), "-D", self.datadir,
            "-l", self.logfile, "-o", options, timeout=START_TIMEOUT_S + 10,
        )  # fmt: skip
        self._running = True

    def stop(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        try:
            if self._running:
                self._run("pg_ctl", "stop", "-w", "-m", "immediate", "-D", self.datadir)
                self._running = False
        finally:
            if self._tmpdir is not None:
                shutil.rmtree(self._tmpdir, ignore_errors=True)
                self._tmpdir = None

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
