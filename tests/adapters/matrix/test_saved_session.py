"""A password login's session as kept in the database: the device in clear, the token
sealed with the password."""

from __future__ import annotations

import json

from adapters.matrix.saved_session import SavedSession, open_saved, seal

TOKEN = "syt_Y2lyY2xlYm90_secretsecretsecret_0abc12"


def test_the_token_is_sealed_and_the_password_opens_it() -> None:
    kept = seal(SavedSession("DEVICE1", TOKEN), "correct horse")
    assert TOKEN not in kept and "secretsecret" not in kept
    assert json.loads(kept)["device_id"] == "DEVICE1"
    assert open_saved(kept, "correct horse") == SavedSession("DEVICE1", TOKEN)


def test_another_password_keeps_the_device_but_not_the_token() -> None:
    kept = seal(SavedSession("DEVICE1", TOKEN), "old password")
    assert open_saved(kept, "new password") == SavedSession("DEVICE1", None)


def test_each_seal_is_different() -> None:  # a fresh salt each time
    session = SavedSession("DEVICE1", TOKEN)
    assert seal(session, "pw") != seal(session, "pw")


def test_an_older_clear_session_is_still_read() -> None:
    older = json.dumps({"device_id": "DEVICE1", "access_token": TOKEN})
    assert open_saved(older, "pw") == SavedSession("DEVICE1", TOKEN)


def test_nothing_or_nonsense_kept_is_no_session() -> None:
    for kept in (None, "", "not json", "[]", '{"sealed_token": "x", "salt": "!!"}'):
        assert open_saved(kept, "pw") == SavedSession(None, None)
    assert open_saved(seal(SavedSession("D", None), "pw"), "pw") == SavedSession("D", None)
