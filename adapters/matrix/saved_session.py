"""A password login's session as the bot keeps it in its database: the device id in
clear (so restarts reuse the same device and its encryption keys) and the access token
sealed with a key derived from MATRIX_PASSWORD (scrypt, then Fernet from `cryptography`),
so the database alone never gives away a token. The password is the secret that could
make a token anyway; when it changes, the sealed token cannot be opened and the bot
logs in again on the same device."""

from __future__ import annotations

import base64
import json
import os
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

SALT_BYTES = 16
# scrypt's cost: about 50 ms once per start, for a key no one can guess quickly.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


@dataclass(frozen=True)
class SavedSession:
    device_id: str | None
    access_token: str | None  # None: none kept, or it could not be opened


def _fernet(password: str, salt: bytes) -> Fernet:
    key = Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(
        password.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(key))


def seal(session: SavedSession, password: str) -> str:
    """The text to keep: the device id, and the token sealed with the password."""
    kept: dict[str, str | None] = {"device_id": session.device_id}
    if session.access_token:
        salt = os.urandom(SALT_BYTES)
        token = _fernet(password, salt).encrypt(session.access_token.encode("utf-8"))
        kept["salt"] = base64.urlsafe_b64encode(salt).decode("ascii")
        kept["sealed_token"] = token.decode("ascii")
    return json.dumps(kept)


def open_saved(text: str | None, password: str) -> SavedSession:
    """What was kept; the token only if this password opens it. A session kept in
    clear by an older version is read once (the next save seals it)."""
    try:
        kept = json.loads(text) if text else {}
    except ValueError:
        kept = {}
    if not isinstance(kept, dict):
        kept = {}
    device = kept.get("device_id")
    device_id = device if isinstance(device, str) and device else None
    token: str | None = None
    sealed, salt = kept.get("sealed_token"), kept.get("salt")
    if isinstance(sealed, str) and isinstance(salt, str):
        try:
            fernet = _fernet(password, base64.urlsafe_b64decode(salt))
            token = fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError):
            token = None  # another password: log in again
    elif isinstance(kept.get("access_token"), str) and kept["access_token"]:
        token = kept["access_token"]  # an older version's clear token
    return SavedSession(device_id, token)
