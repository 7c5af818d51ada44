"""What a circle is: its sides, members, rules and check-in schedule (as configured)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import time
from fractions import Fraction
from typing import Any, Protocol

from bot.domain.durations import DAY_ENDS, Duration, parse_duration
from bot.domain.i18n import DEFAULT_LANGUAGE, Reader
from bot.domain.model import Role, Stance
from bot.domain.stances import build_emoji_map


@dataclass(frozen=True)
class Rules:
    """A circle's decision rules. Frozen into each round when it opens."""

    # Exact fraction: 0.7 x 10 leaders must need 7, not ceil(7.000000000000001) = 8.
    quorum: Fraction = Fraction(1)
    min_consent_per_side: int = 1
    early_close: bool = True
    require_cosponsor: bool = False
    allow_proxy: bool = False  # an away leader may name a leader of their side to answer
    default_deadline: Duration = field(default_factory=lambda: Duration(seconds=72 * 3600))
    reminders: tuple[Duration, ...] = field(
        default_factory=lambda: (Duration(seconds=24 * 3600), Duration(seconds=3600))
    )
    # Emoji key (normalised) -> stance.
    emoji: Mapping[str, Stance] = field(default_factory=build_emoji_map)
    # The time a day named without one stands for (`by Friday`), on the reader's clock.
    # Not part of a round's frozen rules: it is read when the WHEN is typed.
    day_ends: time = DAY_ENDS

    def to_json(self) -> dict[str, Any]:
        return {
            "quorum": str(self.quorum),
            "min_consent_per_side": self.min_consent_per_side,
            "early_close": self.early_close,
            "require_cosponsor": self.require_cosponsor,
            "allow_proxy": self.allow_proxy,
            "default_deadline": str(self.default_deadline),
            "reminders": [str(r) for r in self.reminders],
            "emoji": dict(sorted(self.emoji.items())),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Rules:
        return cls(
            quorum=Fraction(data["quorum"]),
            min_consent_per_side=int(data["min_consent_per_side"]),
            early_close=bool(data["early_close"]),
            require_cosponsor=bool(data["require_cosponsor"]),
            allow_proxy=bool(data.get("allow_proxy", False)),  # rounds frozen before it
            default_deadline=parse_duration(data["default_deadline"]),
            reminders=tuple(parse_duration(r) for r in data["reminders"]),
            emoji={k: Stance(v) for k, v in data["emoji"].items()},
        )


@dataclass(frozen=True)
class Channel:
    """Where a circle is on one platform: its channel or room id, and the workspace it
    is in when the platform's app serves several (None: its only one)."""

    id: str
    workspace: str | None = None


class Placed(Protocol):
    """Whatever says where it is on each platform (a circle's spec, its directory entry)."""

    @property
    def channels(self) -> Mapping[str, Channel]: ...


@dataclass(frozen=True)
class MemberSpec:
    name: str
    side: str
    role: Role = Role.LEADER
    # Platform name -> the person's id there, as each platform's adapter read it from
    # the member's keys. The core compares them, never reads them.
    handles: Mapping[str, str] = field(default_factory=dict)
    # Platform name -> what that platform looks the person's id up by once, on start
    # (an e-mail address); the id found is kept in the database.
    to_resolve: Mapping[str, str] = field(default_factory=dict)
    # What only this person reads (private replies, reminders, the Home tab) is in their
    # language and time zone; None: the circle's.
    language: str | None = None
    timezone: str | None = None
    locale: str | None = None  # how their dates and times are written; None: the circle's

    @property
    def is_leader(self) -> bool:
        return self.role is Role.LEADER


@dataclass(frozen=True)
class CheckinSpec:
    schedule: str  # cron, in the circle's time zone
    questions: tuple[str, ...]
    open_for: Duration
    remind_after: Duration | None = None


@dataclass(frozen=True)
class ReportSpec:
    """When the circle's own report is posted, and how far back it looks."""

    schedule: str  # cron, in the circle's time zone
    period: Duration = field(default_factory=lambda: Duration(seconds=90 * 86400))


@dataclass(frozen=True)
class CircleSpec:
    name: str
    sides: tuple[str, ...]
    members: tuple[MemberSpec, ...]
    timezone: str = "UTC"
    admins: tuple[str, ...] = ()
    rules: Rules = field(default_factory=Rules)
    # Platform name -> where the circle is on it, as that platform's adapter read it
    # from the circle's keys.
    channels: Mapping[str, Channel] = field(default_factory=dict)
    checkins: CheckinSpec | None = None
    report: ReportSpec | None = None  # `[circles.report]`: the report posted on a schedule
    language: str = DEFAULT_LANGUAGE  # what the circle sees: cards, outcomes, notices
    locale: str | None = None  # how its dates and times are written (CLDR); None: the default

    @property
    def reader(self) -> Reader:
        """How the circle reads what is posted for everyone."""
        return Reader(self.language, self.timezone, self.locale)

    def reader_of(self, name: str) -> Reader:
        """How one member reads what only they see (the circle's, unless they set their
        own language or time zone); the circle's for a name not in the config."""
        member = next((m for m in self.members if m.name == name), None)
        if member is None:
            return self.reader
        language = member.language or self.language
        # A member's own language comes with its default locale unless they set one.
        locale = member.locale or (self.locale if language == self.language else None)
        return Reader(language, member.timezone or self.timezone, locale)


class _Person(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def side(self) -> str: ...
    @property
    def is_leader(self) -> bool: ...


def leaders_by_side(sides: Iterable[str], people: Iterable[_Person]) -> dict[str, list[str]]:
    """Each side's leaders by name, in the order given: what a round opening now
    freezes, and what parity checks (every side needs one)."""
    everyone = list(people)
    return {side: [p.name for p in everyone if p.side == side and p.is_leader] for side in sides}
