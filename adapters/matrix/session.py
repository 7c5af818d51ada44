"""Who the bot is on the homeserver: its nio client, logged in with an access token, or
with a password. A password login keeps its device, and its token sealed with the
password (saved_session.py), in the cursor store (the bot's database), so restarts reuse
the same device (and its encryption keys, kept at matrix.store_path)."""

from __future__ import annotations

import logging

import nio

from adapters.matrix import e2e
from adapters.matrix.config import MatrixConfig
from adapters.matrix.cursors import CursorStore
from adapters.matrix.errors import FatalMatrixError, MatrixError
from adapters.matrix.http import CountingClient
from adapters.matrix.saved_session import SavedSession, open_saved, seal
from bot.domain.api_calls import ApiCalls

log = logging.getLogger("adapters.matrix")


class Session:
    def __init__(
        self,
        config: MatrixConfig,
        *,
        access_token: str | None,
        password: str | None,
        request_timeout: float,
        calls: ApiCalls | None = None,
    ) -> None:
        if not access_token and not password:
            raise ValueError("an access token or a password is needed")
        self.config = config
        self.user_id = config.user_id
        self.access_token = access_token
        self.password = password
        self.request_timeout = request_timeout
        self.calls = calls if calls is not None else ApiCalls()  # the client counts here
        self.cursors: CursorStore | None = None  # set on start
        self.client: nio.AsyncClient | None = None
        self.logged_in = False

    @property
    def session_name(self) -> str:
        """The password login's device and token, under this name in the cursor store."""
        return f"matrix:{self.user_id}:session"

    def open(self) -> nio.AsyncClient:
        store = self.config.store_path
        config = nio.AsyncClientConfig(
            # We retry ourselves: nio would sleep forever on 429s and timeouts.
            max_limit_exceeded=0,
            max_timeouts=0,
            request_timeout=self.request_timeout,
            # nio would save the sync position before our handlers ran: see sync.py.
            store_sync_tokens=False,
            encryption_enabled=e2e.E2E_AVAILABLE and bool(store),
        )
        self.client = CountingClient(
            self.config.homeserver,
            self.user_id,
            store_path=store or "",
            config=config,
            calls=self.calls,
        )
        return self.client

    async def close(self) -> None:
        if self.client is not None:
            await self.client.close()

    async def login(self) -> None:
        client = self.client
        assert client is not None and self.cursors is not None
        if self.access_token:
            client.access_token = self.access_token
            await self._whoami(client)
        else:
            assert self.password is not None
            saved = open_saved(await self.cursors.get(self.session_name), self.password)
            if saved.access_token:
                client.access_token = saved.access_token
                client.device_id = saved.device_id
                try:
                    await self._whoami(client)
                except MatrixError as exc:
                    if not exc.unauthorized:
                        raise
                    log.info("matrix: stored session expired; logging in again")
                    client.access_token = ""
            if not client.access_token:
                client.device_id = saved.device_id  # keep the same device
                answer = await client.login(
                    password=self.password, device_name=self.config.device_name
                )
                if not isinstance(answer, nio.LoginResponse):
                    error = MatrixError.of(answer, f"logging in as {self.user_id}")
                    if error.transient:
                        raise error
                    raise FatalMatrixError(
                        f"matrix: cannot log in as {self.user_id} with MATRIX_PASSWORD: "
                        f"{error.errcode or ''} {getattr(answer, 'message', '')}".strip()
                    )
                await self.cursors.set(
                    self.session_name,
                    seal(SavedSession(answer.device_id, answer.access_token), self.password),
                )
                log.info("matrix: logged in as %s (device %s)", self.user_id, answer.device_id)
        if client.olm is None and e2e.E2E_AVAILABLE and self.config.store_path and client.device_id:
            client.load_store()
        self.logged_in = True

    async def _whoami(self, client: nio.AsyncClient) -> None:
        answer = await client.whoami()
        if not isinstance(answer, nio.WhoamiResponse):
            error = MatrixError.of(answer, "checking the access token")
            if error.transient or (error.unauthorized and not self.access_token):
                raise error
            raise FatalMatrixError(
                f"matrix: the homeserver refused MATRIX_ACCESS_TOKEN for {self.user_id}: "
                f"{error.errcode or ''} {getattr(answer, 'message', '')}".strip()
            )
        if answer.user_id != self.user_id:
            raise FatalMatrixError(
                f"matrix: MATRIX_ACCESS_TOKEN belongs to {answer.user_id}, but matrix.user_id "
                f"is {self.user_id}; set matrix.user_id to the bot's own id"
            )
        client.user_id = answer.user_id
        if answer.device_id:
            client.device_id = answer.device_id

    async def ended(self, why: MatrixError) -> None:
        """The homeserver no longer accepts our token. With a token from the environment
        that is fatal; after a password login, forget the token (keep the device) and
        log in again on the next step."""
        if self.access_token:
            raise FatalMatrixError(
                f"matrix: the homeserver no longer accepts MATRIX_ACCESS_TOKEN "
                f"for {self.user_id} ({why})"
            ) from why
        log.warning("matrix: session ended (%s); logging in again", why)
        if self.cursors is not None and self.password:
            saved = open_saved(await self.cursors.get(self.session_name), self.password)
            forgotten = SavedSession(saved.device_id, None)
            await self.cursors.set(self.session_name, seal(forgotten, self.password))
        if self.client is not None:
            self.client.access_token = ""
        self.logged_in = False
