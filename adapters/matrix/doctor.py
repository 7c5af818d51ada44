"""`circlebot doctor` for Matrix: what an operator can get wrong, checked against the
homeserver without syncing.

Plain client-server API calls (aiohttp), not nio: the doctor makes a handful of
read-only requests, some of which nio has no helper for (the room summary, members by
membership), and it must never touch the bot's client, device or sync position. The only
thing it may create is a device of its own, when it has to log in with the password to
look at the rooms; it logs that device out again before it returns."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from adapters.matrix.config import MatrixConfig, handle_of, room_of
from adapters.matrix.cursors import CursorStore
from adapters.matrix.errors import CONNECTION_ERRORS, MatrixError
from adapters.matrix.saved_session import open_saved
from adapters.matrix.session import Session
from bot.domain.circle import CircleSpec
from bot.domain.diagnosis import Check, failed, passed

CLIENT = "/_matrix/client/v3"
RATE_LIMIT_TRIES = 4  # per request: M_LIMIT_EXCEEDED is waited out up to 3 times
LONGEST_WAIT = 10.0  # seconds: the most the doctor waits on one retry_after_ms
TROUBLE: tuple[type[BaseException], ...] = (MatrixError, *CONNECTION_ERRORS)
AGAIN = "the homeserver is failing or unreachable; run `circlebot doctor` again later"


def _q(part: str) -> str:
    """One path segment: room ids, aliases and user ids hold `!`, `#`, `:` and `@`."""
    return quote(part, safe="")


def _trouble(exc: BaseException) -> str:
    """What went wrong, in a few words (never a token: errors carry paths and codes)."""
    if isinstance(exc, MatrixError):
        return f"HTTP {exc.status} {exc.errcode or ''}".strip()
    return type(exc).__name__


class Homeserver:
    """Client-server API calls, as `token` (None: unauthenticated); each answer as JSON."""

    def __init__(self, http: aiohttp.ClientSession, url: str) -> None:
        self.http = http
        self.url = url
        self.token: str | None = None

    async def call(
        self, method: str, path: str, body: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The JSON object answered ({} when there is none); MatrixError when refused."""
        for attempt in range(RATE_LIMIT_TRIES):
            headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
            async with self.http.request(
                method, self.url + path, json=body, headers=headers
            ) as response:
                status = response.status
                try:
                    data = await response.json(content_type=None)
                except ValueError:  # not JSON: not a homeserver, or a proxy's error page
                    data = None
            answer: dict[str, Any] = data if isinstance(data, dict) else {}
            if 200 <= status < 300:
                return answer
            code, wait = answer.get("errcode"), answer.get("retry_after_ms")
            error = MatrixError(
                f"{method} {path.split('?', 1)[0]}",
                status,
                code if isinstance(code, str) else None,
                str(answer.get("error", "")),
                wait if isinstance(wait, int) else None,
            )
            if error.rate_limited and attempt + 1 < RATE_LIMIT_TRIES:
                await asyncio.sleep(
                    min(max((error.retry_after_ms or 1000) / 1000, 0.05), LONGEST_WAIT)
                )
                continue
            raise error
        raise AssertionError("unreachable")


@dataclass(frozen=True)
class Login:
    """How the credentials check went, and the device the doctor made for itself (a
    password login without a saved session), to log out at the end."""

    check: Check
    own_device: str | None = None


async def diagnose(
    config: MatrixConfig,
    circles: Sequence[CircleSpec],
    *,
    access_token: str | None,
    password: str | None,
    cursors: CursorStore,
    timeout: float = 30.0,
) -> list[Check]:
    """The homeserver, the credentials, then each circle's room and members; stops at the
    first of the homeserver and the credentials that fails (nothing after can work)."""
    url = config.homeserver.rstrip("/")
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http:
        server = Homeserver(http, url)
        answers = await _answers(server)
        if not answers.ok:
            return [answers]
        try:
            login = await _log_in(server, config, access_token, password, cursors, timeout)
        except CONNECTION_ERRORS as exc:
            return [answers, failed(f"Matrix credentials not checked ({_trouble(exc)})", AGAIN)]
        checks = [answers, login.check]
        try:
            if login.check.ok:
                checks += await _rooms(server, config, circles)
        finally:
            if login.own_device is not None:
                left = await _log_out(server, config, login.own_device)
                if left is not None:
                    checks.append(left)
        return checks


async def _answers(server: Homeserver) -> Check:
    where = f"Matrix homeserver {server.url}"
    fix = (
        "set matrix.homeserver to the homeserver's client API URL (e.g. "
        "https://matrix.example.org: what https://SERVER-NAME/.well-known/matrix/client names)"
    )
    try:
        answer = await server.call("GET", "/_matrix/client/versions")
    except CONNECTION_ERRORS as exc:
        return failed(
            f"{where} does not answer ({_trouble(exc)})",
            f"check that the homeserver is up and reachable from here; {fix}",
        )
    except MatrixError as exc:
        return failed(f"{where} answers {_trouble(exc)} to /_matrix/client/versions", fix)
    versions = answer.get("versions")
    if not isinstance(versions, list) or not versions:
        return failed(f"{server.url} answers, but not as a Matrix homeserver", fix)
    return passed(f"{where} answers")


# -- the credentials -----------------------------------------------------------------


async def _log_in(
    server: Homeserver,
    config: MatrixConfig,
    access_token: str | None,
    password: str | None,
    cursors: CursorStore,
    timeout: float,
) -> Login:
    """Check the credentials the way Session.login uses them (the token first; else the
    password's saved session; else the password) and leave `server` logged in."""
    bot = config.user_id
    if access_token:
        server.token = access_token
        return Login(await _token(server, config))
    if not password:
        return Login(
            failed(
                "no Matrix credentials", f"set MATRIX_ACCESS_TOKEN (or MATRIX_PASSWORD) of {bot}"
            )
        )
    # The bot's own name for where it keeps its password login (device and token).
    name = Session(config, access_token=None, password=password, request_timeout=timeout)
    saved = open_saved(await cursors.get(name.session_name), password).access_token
    note = "logged in and out again"
    if saved is not None:
        server.token = saved
        try:
            me = await server.call("GET", f"{CLIENT}/account/whoami")
        except MatrixError as exc:
            if not exc.unauthorized:
                return Login(failed(f"Matrix session not checked ({_trouble(exc)})", AGAIN))
            note = "its saved session has ended: the bot logs in again on start"
        else:
            return Login(
                _identity(
                    me,
                    config,
                    f"Matrix password: {bot} on {server.url} (the bot's saved session)",
                    "the saved Matrix session",
                    lambda found: (
                        f"remove that session of {found} (e.g. in Element: Settings, Sessions); "
                        "the bot then logs in with MATRIX_PASSWORD"
                    ),
                )
            )
    return await _password(server, config, password, note)


async def _token(server: Homeserver, config: MatrixConfig) -> Check:
    bot = config.user_id
    try:
        me = await server.call("GET", f"{CLIENT}/account/whoami")
    except MatrixError as exc:
        if exc.transient:
            return failed(f"Matrix token not checked ({_trouble(exc)})", AGAIN)
        return failed(
            f"Matrix token refused by {server.url} ({exc.errcode or f'HTTP {exc.status}'})",
            f"put a current access token of {bot} in MATRIX_ACCESS_TOKEN "
            f"(log in as {bot} and copy the session's access token)",
        )
    return _identity(
        me,
        config,
        f"Matrix token: {bot} on {server.url}",
        "Matrix token",
        lambda found: (
            f"put an access token of {bot} in MATRIX_ACCESS_TOKEN, or set matrix.user_id to "
            f"{found} if that is the bot"
        ),
    )


async def _password(server: Homeserver, config: MatrixConfig, password: str, note: str) -> Login:
    """Log in with the password as a new device of the doctor's own. Never the saved
    device: logging that out would delete the bot's device and its encryption keys."""
    bot = config.user_id
    server.token = None
    try:
        answer = await server.call(
            "POST",
            f"{CLIENT}/login",
            {
                "type": "m.login.password",
                "identifier": {"type": "m.id.user", "user": bot},
                "password": password,
                "initial_device_display_name": f"{config.device_name} doctor",
            },
        )
    except MatrixError as exc:
        if exc.transient:
            return Login(failed(f"Matrix password not checked ({_trouble(exc)})", AGAIN))
        if exc.errcode == "M_FORBIDDEN":
            return Login(
                failed(
                    f"Matrix password refused for {bot} (M_FORBIDDEN)",
                    f"set MATRIX_PASSWORD to the password of {bot} (and check matrix.user_id)",
                )
            )
        return Login(
            failed(
                f"Matrix password login refused for {bot} ({_trouble(exc)})",
                f"check that {bot} exists and may log in with a password; "
                "else give the bot an access token in MATRIX_ACCESS_TOKEN",
            )
        )
    token, device = answer.get("access_token"), answer.get("device_id")
    if not isinstance(token, str) or not isinstance(device, str):
        return Login(failed(f"Matrix password login of {bot} gave no session", AGAIN))
    server.token = token
    check = _identity(
        answer,
        config,
        f"Matrix password: {bot} on {server.url} ({note})",
        "MATRIX_PASSWORD",
        lambda found: f"set matrix.user_id to {found}, the id the homeserver gives the bot",
    )
    return Login(check, own_device=device)


def _identity(
    me: Mapping[str, Any],
    config: MatrixConfig,
    ok: str,
    whose: str,
    fix: Callable[[str], str],
) -> Check:
    """Passed (`ok`) when the homeserver says the session is matrix.user_id's; else what
    to do, given whose it is."""
    found = str(me.get("user_id"))
    if found == config.user_id:
        return passed(ok)
    return failed(f"{whose} belongs to {found}, not to matrix.user_id {config.user_id}", fix(found))


async def _log_out(server: Homeserver, config: MatrixConfig, device: str) -> Check | None:
    """End the doctor's own login; None when done, else what the operator should clean up."""
    try:
        await server.call("POST", f"{CLIENT}/logout")
    except TROUBLE as exc:
        return failed(
            f"the doctor's own Matrix login (device {device}) not logged out ({_trouble(exc)})",
            f"remove the session {device} of {config.user_id} (e.g. in Element: Settings, "
            "Sessions)",
        )
    server.token = None
    return None


# -- the circles' rooms ---------------------------------------------------------------


async def _rooms(
    server: Homeserver, config: MatrixConfig, circles: Sequence[CircleSpec]
) -> list[Check]:
    in_rooms = [circle for circle in circles if room_of(circle)]
    if not in_rooms:
        return []
    try:
        listed = (await server.call("GET", f"{CLIENT}/joined_rooms")).get("joined_rooms")
    except TROUBLE as exc:
        return [failed(f"the bot's Matrix rooms not listed ({_trouble(exc)})", AGAIN)]
    rooms = listed if isinstance(listed, list) else []
    joined = {room for room in rooms if isinstance(room, str)}
    checks: list[Check] = []
    for circle in in_rooms:
        try:
            checks += await _circle(server, config, circle, joined)
        except TROUBLE as exc:
            checks.append(
                failed(
                    f"circle {circle.name}: room {room_of(circle)} not checked ({_trouble(exc)})",
                    AGAIN,
                )
            )
    return checks


async def _circle(
    server: Homeserver, config: MatrixConfig, circle: CircleSpec, joined: set[str]
) -> list[Check]:
    """The circle's room resolves, the bot is in it, and so are the members."""
    configured = room_of(circle)
    assert configured is not None
    where = f"circle {circle.name}"
    room = configured
    if configured.startswith("#"):  # an alias: resolved on start, as rooms.py does
        try:
            answer = await server.call("GET", f"{CLIENT}/directory/room/{_q(configured)}")
        except MatrixError as exc:
            if exc.transient:
                raise
            return [
                failed(
                    f"{where}: room alias {configured} not found ({_trouble(exc)})",
                    f"publish the address {configured} on the circle's room, or set the "
                    "circle's matrix_room to the room's id (!…)",
                )
            ]
        room = str(answer.get("room_id", ""))
    shown = configured if room == configured else f"{configured} ({room})"
    if room not in joined:
        return [await _outside(server, config, where, room, shown)]
    return [passed(f"{where}: the bot is in {shown}"), *await _members(server, circle, room)]


async def _outside(
    server: Homeserver, config: MatrixConfig, where: str, room: str, shown: str
) -> Check:
    """The bot is not in the room: on start it joins every circle's room (rooms.py), which
    works when it is invited or the room is public. The room summary says which."""
    bot = config.user_id
    later = "its members are checked once it is in"
    try:
        summary = await server.call("GET", f"/_matrix/client/v1/room_summary/{_q(room)}")
        known = True
    except MatrixError as exc:
        if exc.transient:
            raise
        # Not found: a private room the bot is not invited to (or no such room).
        # Anything else (an older homeserver without room summaries): cannot tell.
        summary, known = {}, exc.errcode == "M_NOT_FOUND" or exc.status == 403
    membership, join_rule = summary.get("membership"), summary.get("join_rule")
    if membership == "invite":
        return passed(f"{where}: the bot is invited to {shown} and joins it on start ({later})")
    if membership == "ban":
        return failed(f"{where}: the bot is banned from {shown}", f"unban {bot} in the room")
    if join_rule == "public":
        return passed(f"{where}: {shown} is public; the bot joins it on start ({later})")
    id_hint = "" if room != shown else f"; check that {room} is the room's id"
    if known:
        return failed(
            f"{where}: the bot is not in {shown} and not invited",
            f"invite {bot} to the room (it joins on start){id_hint}",
        )
    return failed(
        f"{where}: the bot is not in {shown}",
        f"invite {bot} to the room, unless it is invited already (it joins on start){id_hint}",
    )


async def _members(server: Homeserver, circle: CircleSpec, room: str) -> list[Check]:
    """One line when every member with a Matrix id has joined; else one per absentee."""
    where = f"circle {circle.name}"
    expected = [
        (member.name, user) for member in circle.members if (user := handle_of(member)) is not None
    ]
    if not expected:
        return []
    answer = await server.call("GET", f"{CLIENT}/rooms/{_q(room)}/joined_members")
    joined = answer.get("joined")
    present = joined if isinstance(joined, dict) else {}
    absent = [(name, user) for name, user in expected if user not in present]
    if not absent:
        return [passed(f"{where}: all {len(expected)} members are in the room")]
    invited = await _invited(server, room)
    checks: list[Check] = []
    for name, user in absent:
        if user in invited:
            checks.append(
                failed(
                    f"{where}: {name} ({user}) is invited but has not joined yet",
                    f"ask {name} to accept the invitation to the room",
                )
            )
        elif not await _has_profile(server, user):
            checks.append(
                failed(
                    f"{where}: {name} ({user}) is not in the room, and the homeserver knows "
                    "no profile of that id",
                    f"check `matrix` of member {name} in circle {circle.name}; if it is "
                    f"right, invite {user} to the room",
                )
            )
        else:
            checks.append(
                failed(f"{where}: {name} ({user}) is not in the room", f"invite {user} to it")
            )
    return checks


async def _invited(server: Homeserver, room: str) -> set[str]:
    answer = await server.call("GET", f"{CLIENT}/rooms/{_q(room)}/members?membership=invite")
    chunk = answer.get("chunk")
    events = chunk if isinstance(chunk, list) else []
    return {
        event["state_key"]
        for event in events
        if isinstance(event, dict) and isinstance(event.get("state_key"), str)
    }


async def _has_profile(server: Homeserver, user: str) -> bool:
    """False when the homeserver has no profile for `user`: most often a mistyped id (a
    real user who cleared their name and avatar has none either, hence "check")."""
    try:
        await server.call("GET", f"{CLIENT}/profile/{_q(user)}")
    except MatrixError as exc:
        # 404: Synapse says M_NOT_FOUND, or M_UNKNOWN for a user it never had.
        return not (exc.status == 404 and exc.errcode != "M_UNRECOGNIZED")
    return True
