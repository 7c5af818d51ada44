"""A throw-away Synapse homeserver for the test suite (and bench/matrix_latency.py).

``SynapseServer`` installs matrix-synapse into its own virtual environment under the
repository (``.cache/synapse-venv``, reused when present), generates an SQLite config in
a temporary directory, patches it to listen on a free 127.0.0.1 port with only the
``client`` resource, and starts it::

    with SynapseServer() as server:
        bot = server.register("circlebot")          # shared-secret admin registration
        print(server.url, bot.user_id, bot.access_token)

``stop(keep=True)`` + ``start()`` restarts the same homeserver (same data, same port),
for tests of the bot riding out a homeserver outage.

Rate limits are raised for tests; ``override_ratelimit`` (the admin API) tightens them
again for one user when a test wants to provoke M_LIMIT_EXCEEDED.

This is a helper module, not a test module.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

REPO = Path(__file__).resolve().parent.parent
VENV = REPO / ".cache" / "synapse-venv"
REQUIREMENT = "matrix-synapse~=1.163.0"
SERVER_NAME = "localhost"
INSTALL_TIMEOUT_S = 900
START_TIMEOUT_S = 90
START_ATTEMPTS = 3

# Every client-side limit raised far beyond what a test does; the fault tests use the
# admin API to put a tight limit back on one user.
_OPEN = {"per_second": 10_000, "burst_count": 10_000}
RATE_LIMITS: dict[str, Any] = {
    "rc_message": _OPEN,
    "rc_registration": _OPEN,
    "rc_registration_token_validity": _OPEN,
    "rc_login": {"address": _OPEN, "account": _OPEN, "failed_attempts": _OPEN},
    "rc_admin_redaction": _OPEN,
    "rc_joins": {"local": _OPEN, "remote": _OPEN},
    "rc_joins_per_room": _OPEN,
    "rc_3pid_validation": _OPEN,
    "rc_invites": {"per_room": _OPEN, "per_user": _OPEN, "per_issuer": _OPEN},
    "rc_third_party_invite": _OPEN,
    "rc_media_create": _OPEN,
    "rc_presence": {"per_user": _OPEN},
    "rc_delayed_event_mgmt": _OPEN,
    "rc_reports": _OPEN,
    "rc_room_creation": _OPEN,
}


class SynapseUnavailable(RuntimeError):
    """Synapse cannot be installed or started here; the message says why."""


@dataclass(frozen=True)
class Account:
    user_id: str
    access_token: str
    device_id: str
    password: str


def python_in(venv: Path) -> Path:
    return venv / "bin" / "python"


def _installed(venv: Path) -> bool:
    python = python_in(venv)
    if not python.exists():
        return False
    probe = subprocess.run(
        [str(python), "-c", "import synapse.app.homeserver"],
        capture_output=True,
        timeout=120,
        check=False,
    )
    return probe.returncode == 0


def ensure_installed(venv: Path = VENV) -> Path:
    """The Python of a virtual environment with Synapse in it, installing it the first
    time (about 20-45 s). Serialised with a lock file so parallel runs don't collide."""
    venv.parent.mkdir(parents=True, exist_ok=True)
    with open(venv.parent / "synapse-venv.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _installed(venv):
            return python_in(venv)
        base = getattr(sys, "_base_executable", None) or sys.executable
        steps = [
            [base, "-m", "venv", "--clear", str(venv)],
            [str(python_in(venv)), "-m", "pip", "install", "--quiet", REQUIREMENT],
        ]
        began = time.monotonic()
        for step in steps:
            left = INSTALL_TIMEOUT_S - (time.monotonic() - began)
            try:
                done = subprocess.run(
                    step, capture_output=True, text=True, timeout=max(left, 1), check=False
                )
            except subprocess.TimeoutExpired:
                raise SynapseUnavailable(
                    f"installing {REQUIREMENT} took over {INSTALL_TIMEOUT_S} s"
                ) from None
            if done.returncode != 0:
                tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
                raise SynapseUnavailable(
                    f"could not install {REQUIREMENT} into {venv} ({' '.join(step[:3])}…):\n{tail}"
                )
        if not _installed(venv):
            raise SynapseUnavailable(f"{REQUIREMENT} installed into {venv} but cannot be imported")
        return python_in(venv)


def free_port() -> int:
    """A currently unused TCP port on 127.0.0.1 (may race; callers retry)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class SynapseServer:
    """A temporary Synapse homeserver on 127.0.0.1; use as a context manager."""

    def __init__(self, venv: Path = VENV) -> None:
        self.venv = venv
        self.port: int | None = None
        self.startup_seconds: float | None = None
        self.shared_secret = hashlib.sha256(os.urandom(32)).hexdigest()
        self._python: Path | None = None
        self._dir: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: Any = None
        self._admin: Account | None = None

    # -- addresses -------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self.port is not None, "server not started"
        return f"http://127.0.0.1:{self.port}"

    @property
    def directory(self) -> Path:
        assert self._dir is not None, "server not started"
        return self._dir

    @property
    def logfile(self) -> Path:
        return self.directory / "synapse.out"

    def user_id(self, localpart: str) -> str:
        return f"@{localpart}:{SERVER_NAME}"

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> SynapseServer:
        """Start (or, after stop(keep=True), restart on the same port and data)."""
        began = time.monotonic()
        if self._python is None:
            self._python = ensure_installed(self.venv)
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="circlebot-synapse-"))
            self._generate()
        try:
            self._start_process()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def _generate(self) -> None:
        assert self._python is not None
        done = subprocess.run(
            [
                str(self._python),
                "-m",
                "synapse.app.homeserver",
                "--generate-config",
                "--server-name",
                SERVER_NAME,
                "--report-stats=no",
                "-c",
                str(self.directory / "homeserver.yaml"),
            ],
            cwd=self.directory,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise SynapseUnavailable(f"synapse --generate-config failed:\n{done.stderr[-2000:]}")

    def _write_overrides(self, port: int) -> Path:
        # A second config file: Synapse merges the files given with -c, later ones win.
        # JSON is YAML, so no YAML library is needed here.
        overrides = {
            "listeners": [
                {
                    "port": port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "registration_shared_secret": self.shared_secret,
            "enable_registration": False,
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "report_stats": False,
            "presence": {"enabled": False},
            "url_preview_enabled": False,
            "enable_metrics": False,
            **RATE_LIMITS,
        }
        path = self.directory / "overrides.yaml"
        path.write_text(json.dumps(overrides, indent=2))
        return path

    def _start_process(self) -> None:
        assert self._python is not None
        errors: list[str] = []
        ports = [self.port] * START_ATTEMPTS if self.port else [None] * START_ATTEMPTS
        for wanted in ports:
            port = wanted or free_port()
            overrides = self._write_overrides(port)
            self._log = open(self.logfile, "ab")  # noqa: SIM115 - closed in stop()
            self._proc = subprocess.Popen(
                [
                    str(self._python),
                    "-m",
                    "synapse.app.homeserver",
                    "-c",
                    str(self.directory / "homeserver.yaml"),
                    "-c",
                    str(overrides),
                ],
                cwd=self.directory,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C in the test run does not reach it first
            )
            self.port = port
            if self._wait_ready():
                return
            errors.append(f"port {port}:\n{self._log_tail()}")
            self._terminate()
        raise SynapseUnavailable(
            f"Synapse did not start after {START_ATTEMPTS} attempts:\n" + "\n".join(errors)
        )

    def _wait_ready(self) -> bool:
        """True once the client API answers; False if the process died or timed out."""
        assert self._proc is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        delay = 0.05
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            if self.is_up():
                return True
            time.sleep(delay)  # polling a condition, with a deadline
            delay = min(delay * 1.5, 0.5)
        return False

    def is_up(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/_matrix/client/versions", timeout=2) as answer:
                return bool(answer.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    def _log_tail(self, lines: int = 30) -> str:
        try:
            text = self.logfile.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def _terminate(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def kill(self) -> None:
        """Stop the homeserver abruptly (SIGKILL), keeping its data for start()."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait(timeout=10)
        self._terminate()

    def stop(self, keep: bool = False) -> None:
        """Stop the server; with `keep`, leave its data so start() brings it back."""
        self._terminate()
        if not keep and self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
            self.port = None
            self._admin = None

    def __enter__(self) -> SynapseServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- HTTP -----------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        token: str | None = None,
    ) -> dict[str, Any]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as answer:
                result: dict[str, Any] = json.loads(answer.read() or b"{}")
                return result
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            raise RuntimeError(f"{method} {path}: HTTP {exc.code}: {detail}") from None

    # -- accounts -----------------------------------------------------------------

    def register(self, localpart: str, admin: bool = False, password: str = "") -> Account:
        """Create a user with the shared-secret admin registration API (HMAC nonce)."""
        password = password or f"pw-{localpart}-{self.shared_secret[:8]}"
        nonce = self.request("GET", "/_synapse/admin/v1/register")["nonce"]
        message = "\x00".join((nonce, localpart, password, "admin" if admin else "notadmin"))
        mac = hmac.new(self.shared_secret.encode(), message.encode(), hashlib.sha1)
        answer = self.request(
            "POST",
            "/_synapse/admin/v1/register",
            {
                "nonce": nonce,
                "username": localpart,
                "password": password,
                "admin": admin,
                "mac": mac.hexdigest(),
            },
        )
        return Account(answer["user_id"], answer["access_token"], answer["device_id"], password)

    def login(self, account: Account, device_id: str | None = None) -> Account:
        """A new device (and access token) for an existing user."""
        body: dict[str, Any] = {
            "type": "m.login.password",
            "identifier": {"type": "m.id.user", "user": account.user_id},
            "password": account.password,
        }
        if device_id:
            body["device_id"] = device_id
        answer = self.request("POST", "/_matrix/client/v3/login", body)
        return Account(
            account.user_id, answer["access_token"], answer["device_id"], account.password
        )

    @property
    def admin(self) -> Account:
        if self._admin is None:
            self._admin = self.register(f"admin{os.getpid()}", admin=True)
        return self._admin

    def override_ratelimit(self, user_id: str, per_second: int, burst: int) -> None:
        """Tighten (or with 0/0, lift) the message rate limit of one user."""
        quoted = urllib.parse.quote(user_id, safe="")
        self.request(
            "POST",
            f"/_synapse/admin/v1/users/{quoted}/override_ratelimit",
            {"messages_per_second": per_second, "burst_count": burst},
            token=self.admin.access_token,
        )

    def clear_ratelimit(self, user_id: str) -> None:
        quoted = urllib.parse.quote(user_id, safe="")
        with contextlib.suppress(RuntimeError):
            self.request(
                "DELETE",
                f"/_synapse/admin/v1/users/{quoted}/override_ratelimit",
                token=self.admin.access_token,
            )
