"""Stances and the emoji that express them, with skin tones folded onto their base."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from bot.domain.model import Stance

# Short names and their unicode forms; both are accepted everywhere.
DEFAULT_EMOJI: Mapping[Stance, tuple[str, ...]] = {
    Stance.CONSENT: ("+1", "white_check_mark"),
    Stance.CONCERN: ("thinking_face",),
    Stance.STAND_ASIDE: ("neutral_face",),
    Stance.OBJECT: ("raised_hand", "octagonal_sign"),
}

# Short names <-> unicode, for the emoji the bot knows by name.
UNICODE_BY_NAME: Mapping[str, str] = {
    "+1": "👍",
    "thumbsup": "👍",
    "white_check_mark": "✅",
    "thinking_face": "🤔",
    "neutral_face": "😐",
    "raised_hand": "✋",
    "hand": "✋",
    "octagonal_sign": "🛑",
    "handshake": "🤝",
    "-1": "👎",
    "heart": "❤️",
    "tada": "🎉",
    "eyes": "👀",
}
_NAME_BY_UNICODE = {v: k for k, v in reversed(list(UNICODE_BY_NAME.items()))}

HANDSHAKE = "handshake"

_SKIN_TONE = re.compile(r"::skin-tone-\d$")
_UNICODE_SKIN_TONES = "".join(chr(c) for c in range(0x1F3FB, 0x1F400))
_VARIATION_SELECTORS = "\ufe0e\ufe0f"


def normalize_emoji(emoji: str) -> str:
    """One key per emoji: the short name when the bot knows it, without skin tone,
    colons or variation selectors. `+1::skin-tone-3`, `:+1:`, 👍 and 👍🏽 all give `+1`."""
    key = emoji.strip()
    if key.startswith(":") and key.endswith(":") and len(key) > 2:
        key = key[1:-1]
    key = _SKIN_TONE.sub("", key)
    stripped = "".join(ch for ch in key if ch not in _UNICODE_SKIN_TONES + _VARIATION_SELECTORS)
    if stripped in _NAME_BY_UNICODE:
        return _NAME_BY_UNICODE[stripped]
    for name, char in UNICODE_BY_NAME.items():
        if char.rstrip(_VARIATION_SELECTORS) == stripped:
            return _NAME_BY_UNICODE.get(char, name)
    if key == "thumbsup":
        return "+1"
    if key == "hand":
        return "raised_hand"
    return stripped or key


def build_emoji_map(overrides: Mapping[Stance, Iterable[str]] | None = None) -> dict[str, Stance]:
    """Emoji key -> stance. `overrides` replaces the emoji of the stances it names."""
    chosen = dict(DEFAULT_EMOJI)
    if overrides:
        chosen.update({stance: tuple(emojis) for stance, emojis in overrides.items()})
    result: dict[str, Stance] = {}
    for stance, emojis in chosen.items():
        for emoji in emojis:
            result[normalize_emoji(emoji)] = stance
    return result


def display_emoji(key: str) -> str:
    """The unicode form of an emoji key, for plain-text renderings."""
    return UNICODE_BY_NAME.get(key, f":{key}:")


def latest_reasons(
    entries: Iterable[tuple[str | None, str | None, str | None]],
    holding: Mapping[str, Stance],
) -> dict[str, str]:
    """Each member's reason for the stance they hold: from a round's stance commands in
    recorded order, (member, stance, reason) each, the latest of each member's, if it
    came with a reason and is for the stance they hold now (`holding`): a reason was
    given for one stance, and a later answer another way leaves it behind."""
    latest: dict[str, tuple[str | None, str | None]] = {}
    for member, stance, reason in entries:
        if member is not None:
            latest[member] = (stance, reason)
    return {
        member: reason
        for member, (stance, reason) in latest.items()
        if reason and member in holding and holding[member].value == stance
    }
