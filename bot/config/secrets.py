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

# Environment variables that carry the secrets the adapters need.
SECRET_ENV = {
    "slack.token": "SLACK_BOT_TOKEN",
    "slack.bot_token": "SLACK_BOT_TOKEN",
    "slack.app_token": "SLACK_APP_TOKEN",
    "slack.signing_secret": "SLACK_SIGNING_SECRET",
    "slack.secret": "SLACK_SIGNING_SECRET",
    "slack.client_secret": "SLACK_CLIENT_SECRET",
    "matrix.token": "MATRIX_ACCESS_TOKEN",
    "matrix.access_token": "MATRIX_ACCESS_TOKEN",
    "matrix.password": "MATRIX_PASSWORD",
    "storage.password": "PGPASSWORD",
}
# Where a secret found inside a URL belongs instead, by the URL's section.
URL_SECRET_HOME = {
    "storage": "the PGPASSWORD environment variable (or ~/.pgpass) for PostgreSQL",
    "slack": "the SLACK_BOT_TOKEN, SLACK_APP_TOKEN and SLACK_SIGNING_SECRET environment variables",
    "matrix": "the MATRIX_ACCESS_TOKEN or MATRIX_PASSWORD environment variable",
}


def refuse_url_secrets(key: str, url: str) -> None:
    """Refuse a URL that carries a password, a login or a token; show it masked."""
    found = url_secrets(url)
    if not found:
        return
    section = key.split(".", 1)[0].split("[", 1)[0]
    home = URL_SECRET_HOME.get(section, "an environment variable")
    fail(
        key,
        f"{show(redact_url(url.strip()))} contains {' and '.join(found)}; secrets do not "
        f"belong in the config file: leave it out of the URL and use {home}",
    )


def refuse_secrets(data: object, where: str) -> None:
    """Refuse any key, at any depth, that looks like it holds a secret, and any URL
    (whatever its key) with credentials in it."""
    if isinstance(data, str) and is_url(data):
        refuse_url_secrets(where, data)
    if isinstance(data, Mapping):
        for key, value in data.items():
            path = join_key(where, key)
            if is_secret_name(str(key)):
                env = SECRET_ENV.get(path.lower())
                how = (
                    f"set the {env} environment variable instead"
                    if env
                    else "set it through an environment variable instead"
                )
                fail(path, f"secrets do not belong in the config file; {how}")
            refuse_secrets(value, path)
    elif isinstance(data, list):
        for index, item in enumerate(data):
            refuse_secrets(item, join_key(where, index))
