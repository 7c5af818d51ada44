"""Secrets never live in a config file: they come from environment variables.

A key named like a secret is refused wherever it stands, and so is a URL (under any key)
that carries a password, a login or a token; the message shows the URL masked and says
where the secret belongs instead.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.config.errors import fail
from bot.config.values import join_key, show
from bot.domain.redact import is_secret_name, is_url, redact_url, url_secrets

# Environment variables that carry the secrets storage needs; each platform's plug-in
# names its own (PlatformConfig.secret_env), which the config reader adds.
SECRET_ENV = {"storage.password": "PGPASSWORD"}
# Where a secret found inside a URL belongs instead, by the URL's section.
URL_SECRET_HOME = {
    "storage": "the PGPASSWORD environment variable (or ~/.pgpass) for PostgreSQL",
}


def refuse_url_secrets(key: str, url: str, home: str | None = None) -> None:
    """Refuse a URL that carries a password, a login or a token; show it masked. `home`:
    where the secret belongs instead (else by the key's section)."""
    found = url_secrets(url)
    if not found:
        return
    section = key.split(".", 1)[0].split("[", 1)[0]
    home = home or URL_SECRET_HOME.get(section, "an environment variable")
    fail(
        key,
        f"{show(redact_url(url.strip()))} contains {' and '.join(found)}; secrets do not "
        f"belong in the config file: leave it out of the URL and use {home}",
    )


def refuse_secrets(
    data: object, where: str, env: Mapping[str, str] = SECRET_ENV, homes: Mapping[str, str] = {}
) -> None:
    """Refuse any key, at any depth, that looks like it holds a secret (`env`: the
    variable that holds it instead, by key path), and any URL (whatever its key) with
    credentials in it (`homes`: where they belong, by section)."""
    if isinstance(data, str) and is_url(data):
        refuse_url_secrets(where, data, homes.get(where.split(".", 1)[0].split("[", 1)[0]))
    if isinstance(data, Mapping):
        for key, value in data.items():
            path = join_key(where, key)
            if is_secret_name(str(key)):
                variable = env.get(path.lower())
                how = (
                    f"set the {variable} environment variable instead"
                    if variable
                    else "set it through an environment variable instead"
                )
                fail(path, f"secrets do not belong in the config file; {how}")
            refuse_secrets(value, path, env, homes)
    elif isinstance(data, list):
        for index, item in enumerate(data):
            refuse_secrets(item, join_key(where, index), env, homes)
