"""What `circlebot check-config` prints: each setting as the bot will use it, in words."""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.config.plugins import installed
from bot.config.settings import Config
from bot.config.values import show
from bot.domain.circle import CircleSpec, leaders_by_side
from bot.domain.cron import cron_schedule
from bot.domain.model import Stance
from bot.domain.redact import redact_url
from bot.domain.stances import UNICODE_BY_NAME


def summary(config: Config, now: datetime | None = None) -> str:
    """Human text for `circlebot check-config`."""
    lines = [f"Configuration: {config.path}", f"Storage: {redact_url(config.storage.url)}"]
    lines.append(_platforms(config))
    for circle in config.circles:
        lines.append("")
        lines.extend(_circle(circle, now))
    if config.warnings:
        lines.append("")
        lines.append(f"Warnings ({len(config.warnings)}):")
        lines.extend(f"  - {warning}" for warning in config.warnings)
    return "\n".join(lines)


def _platforms(config: Config) -> str:
    plugins = {plugin.name: plugin for plugin in installed()}
    platforms = [
        plugins[name].config.describe(settings) for name, settings in config.platforms.items()
    ]
    if platforms:
        return "Platforms: " + "; ".join(platforms)
    return "Platforms: none configured; `circlebot run` starts the console adapter"


def _circle(circle: CircleSpec, now: datetime | None) -> list[str]:
    lines = [
        f"Circle {show(circle.name)} (time zone {circle.timezone}, language {circle.language})"
    ]
    plugins = {plugin.name: plugin for plugin in installed()}
    bound = [
        plugins[name].config.describe_channel(channel) for name, channel in circle.channels.items()
    ]
    keys = " or ".join(p.config.channel_key for p in plugins.values() if p.config.channel_key)
    lines.append("  Where: " + (", ".join(bound) if bound else f"console only (no {keys})"))
    lines.append(f"  Sides ({len(circle.sides)}, each weighs the same):")
    width = max(len(side) for side in circle.sides)
    leaders_of = leaders_by_side(circle.sides, circle.members)
    for side in circle.sides:
        leaders = leaders_of[side]
        voices = [m.name for m in circle.members if m.side == side and not m.is_leader]
        text = f"    {side.ljust(width)}  leaders: {', '.join(leaders)}"
        if voices:
            text += f"; members (voice, no vote): {', '.join(voices)}"
        lines.append(text)
    own = [
        f"{m.name} ({', '.join(v for v in (m.language, m.timezone) if v)})"
        for m in circle.members
        if m.language or m.timezone
    ]
    if own:
        lines.append("  Their own language or time zone: " + ", ".join(own))
    lines.append("  Admins: " + (", ".join(circle.admins) if circle.admins else "none"))
    lines.extend(_rules(circle))
    lines.extend(_checkins(circle, now))
    return lines


def _rules(circle: CircleSpec) -> list[str]:
    rules = circle.rules
    reminders = ", ".join(str(r) for r in rules.reminders)
    by_stance: dict[Stance, list[str]] = {stance: [] for stance in Stance}
    for key, stance in rules.emoji.items():
        by_stance[stance].append(_emoji_label(key))
    return [
        "  Rules:",
        f"    quorum: {_quorum_text(circle)}",
        f"    min consent per side: {rules.min_consent_per_side}",
        f"    early close: {_yes(rules.early_close)}",
        f"    co-sponsor required: {_yes(rules.require_cosponsor)}",
        f"    proxies allowed: {_yes(rules.allow_proxy)}",
        f"    default deadline: {rules.default_deadline}",
        f"    reminders: {reminders} before the deadline" if reminders else "    reminders: none",
        "    reactions: "
        + "; ".join(
            f"{stance.value} {' '.join(labels) or '(none)'}" for stance, labels in by_stance.items()
        ),
    ]


def _checkins(circle: CircleSpec, now: datetime | None) -> list[str]:
    checkins = circle.checkins
    if checkins is None:
        return ["  Check-ins: none scheduled"]
    remind = f", reminder after {checkins.remind_after}" if checkins.remind_after else ""
    lines = [
        f"  Check-ins: {show(checkins.schedule)} ({circle.timezone}), "
        f"open for {checkins.open_for}{remind}, "
        f"{len(checkins.questions)} question(s) used in turn"
    ]
    zone = ZoneInfo(circle.timezone)
    start = (now or datetime.now(zone)).astimezone(zone)
    fires = cron_schedule(checkins.schedule, zone).next_fires(start, 1)
    if fires:
        lines.append(f"    next: {fires[0].astimezone(zone).strftime('%a %Y-%m-%d %H:%M %Z')}")
    return lines


def _quorum_text(circle: CircleSpec) -> str:
    quorum = circle.rules.quorum
    leaders = {
        side: len(names) for side, names in leaders_by_side(circle.sides, circle.members).items()
    }
    need = ", ".join(
        f"{side} {math.ceil(quorum * count)} of {count}" for side, count in leaders.items()
    )
    share = "every leader" if quorum == 1 else f"{quorum} of the leaders"
    return f"{quorum} ({share} of each side must answer: {need})"


def _emoji_label(key: str) -> str:
    if key in UNICODE_BY_NAME:
        return f"{UNICODE_BY_NAME[key]} :{key}:"
    if key.isascii():
        return f":{key}:"
    return key


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"
