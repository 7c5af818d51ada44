"""Secrets inside URLs: finding them (the config refuses them) and masking them in anything
shown to people or written to logs.

This is the one place that decides what counts as a secret in a URL: a password in the
user part, any user part at all in an http(s) URL (that is a login), and query or fragment
parameters named like a credential (`password`, `pwd`, `token`, `access_token`,
`sslpassword`, …, in any case).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_plus

MASK = "***"

# Key names that hold a secret, in the config file and in URL parameters.
SECRET_NAMES = frozenset(
    {
        "token",
        "password",
        "passwd",
        "pwd",
        "secret",
        "signing_secret",
        "access_token",
        "app_token",
        "bot_token",
        "api_key",
        "private_key",
        "sslpassword",
        "client_secret",
    }
)
SECRET_SUFFIXES = ("_token", "_secret", "_password", "_passwd", "_api_key", "_private_key")
# Short names that, in a URL's parameters, are credentials too (`?key=…` of an API).
_URL_ONLY_SECRET_NAMES = frozenset({"pass", "apikey", "key", "auth", "sig", "signature"})

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
# A URL inside free text: up to whitespace, a quote or an angle bracket.
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[^\s\"'<>`]+")
# How SQLAlchemy reads `user:password@` (its password may hold "/" and "?"): for database
# URLs this is what the driver would send, so it is what we look for.
_SQLALCHEMY_USERINFO = re.compile(r"([^:/]*):([^@]*)@")


def is_secret_name(name: str) -> bool:
    """True for a key name such as `token`, `Signing-Secret` or `chat_password`."""
    key = name.strip().lower().replace("-", "_")
    return key in SECRET_NAMES or key.endswith(SECRET_SUFFIXES)


def _is_secret_param(name: str) -> bool:
    key = unquote_plus(name).strip().lower().replace("-", "_")
    return is_secret_name(key) or key in _URL_ONLY_SECRET_NAMES


def is_url(text: str) -> bool:
    """True when the whole of `text` is written as a URL (`scheme://…`)."""
    return bool(_SCHEME.match(text.strip()))


@dataclass(frozen=True)
class _Found:
    spans: tuple[tuple[int, int], ...]  # [start, end) of each secret in the URL
    what: tuple[str, ...]  # a phrase for each kind found, for messages


def _find(url: str) -> _Found:
    match = _SCHEME.match(url)
    if match is None:
        return _Found((), ())
    start = match.end()
    web = match.group(0).lower() in ("http://", "https://")
    spans: list[tuple[int, int]] = []
    what: list[str] = []

    # The user part. In http(s) it ends the authority (RFC 3986): any user part is a login.
    authority_end = len(url)
    for stop in "/?#":
        found = url.find(stop, start)
        if found != -1:
            authority_end = min(authority_end, found)
    at = url.rfind("@", start, authority_end)
    userinfo_end = at if at != -1 else start
    if at != -1:
        user, colon, password = url[start:at].partition(":")
        if colon and password:
            spans.append((start + len(user) + 1, at))
            what.append("a password")
        elif web and url[start:at]:
            spans.append((start, at))
            what.append("a login before the @")
    if not web:
        loose = _SQLALCHEMY_USERINFO.match(url, start)
        if loose is not None and loose.group(2):
            span = (loose.start(2), loose.end(2))
            if not any(a <= span[0] and span[1] <= b for a, b in spans):
                spans = [s for s in spans if not (span[0] <= s[0] and s[1] <= span[1])]
                spans.append(span)
                if "a password" not in what:
                    what.append("a password")
            userinfo_end = max(userinfo_end, loose.end())

    # Query and fragment parameters.
    query = url.find("?", userinfo_end)
    fragment = url.find("#", userinfo_end)
    for begin, end in (
        (query + 1 if query != -1 else -1, fragment if fragment > query else len(url)),
        (fragment + 1 if fragment != -1 else -1, len(url)),
    ):
        if begin <= 0:
            continue
        position = begin
        for part in re.split(r"[&;]", url[begin:end]):
            name, equals, value = part.partition("=")
            if equals and value and _is_secret_param(name):
                value_start = position + len(name) + 1
                spans.append((value_start, value_start + len(value)))
                what.append(f'the "{unquote_plus(name).strip()}" parameter')
            position += len(part) + 1
    return _Found(tuple(spans), tuple(what))


def url_secrets(url: str) -> list[str]:
    """What secrets `url` holds, as phrases for a message ("a password", `the "token"
    parameter`); empty when there are none."""
    return list(_find(url.strip()).what)


def redact_url(url: str) -> str:
    """`url` with every secret replaced by ***; any other text is returned unchanged."""
    found = _find(url)
    for begin, end in sorted(found.spans, reverse=True):
        url = url[:begin] + MASK + url[end:]
    return url


# A chat platform's tokens (bot, user, app, refresh: xoxb-…, xoxp-…, xapp-…, xoxe.xoxb-…, xoxe-…):
# recognisable by their shape wherever they turn up.
CHAT_TOKEN = re.compile(r"\b(?:xox[a-z]|xapp|xoxe)[.-][A-Za-z0-9.-]+")
TOKEN_MASK = "xox…(redacted)"


def redact_tokens(text: str) -> str:
    """`text` with every chat platform token in it masked."""
    return CHAT_TOKEN.sub(TOKEN_MASK, text)


def redact_text(text: str) -> str:
    """`text` (an error message, a log line) with the secrets of every URL in it, and
    every chat platform token, masked."""

    def one(match: re.Match[str]) -> str:
        # Punctuation that ends a sentence or closes a bracket is not part of the URL.
        url = match.group(0)
        core = url.rstrip(").,;:!?]}")
        return redact_url(core) + url[len(core) :]

    return redact_tokens(_URL_IN_TEXT.sub(one, text))
