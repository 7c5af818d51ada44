"""What the bot says, as a platform-neutral model. Each adapter renders it in its own
idiom (blocks, HTML with a plain body, console text)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.domain.i18n import Lang, Reader, of
from bot.domain.model import Role, Stance, Status
from bot.domain.stances import DEFAULT_EMOJI
from bot.domain.tally import SideTally, Tally
from bot.text.report import ReportMessage


@dataclass(frozen=True)
class Mention:
    """A person to notify; adapters turn it into a real mention on their platform."""

    member: str
    # Platform name -> the person's id there (what an adapter mentions them by).
    handles: Mapping[str, str] = field(default_factory=dict)
    # How this person reads what is sent to them alone (a reminder's direct message).
    reader: Reader = field(default_factory=Reader)


@dataclass(frozen=True)
class Notice:
    """A short message: text with mentions in between (`("Waiting on ", Mention(…))`)."""

    parts: tuple[str | Mention, ...]
    # The check-in this notice opens (its prompt): replies in its thread are counted.
    checkin: int | None = None

    @property
    def mentions(self) -> tuple[Mention, ...]:
        return tuple(part for part in self.parts if isinstance(part, Mention))

    def plain(self) -> str:
        return "".join(part if isinstance(part, str) else f"@{part.member}" for part in self.parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "notice": [
                part
                if isinstance(part, str)
                else {"member": part.member, "handles": dict(part.handles)}
                for part in self.parts
            ]
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Notice:
        return cls(
            tuple(
                part
                if isinstance(part, str)
                else Mention(part["member"], dict(part.get("handles") or {}))
                for part in data["notice"]
            )
        )

    @classmethod
    def text(cls, text: str) -> Notice:
        return cls((text,))


def listing(mentions: Sequence[Mention]) -> tuple[str | Mention, ...]:
    """Mentions separated by commas, as Notice parts."""
    parts: list[str | Mention] = []
    for index, mention in enumerate(mentions):
        if index:
            parts.append(", ")
        parts.append(mention)
    return tuple(parts)


@dataclass(frozen=True)
class Reply:
    """An answer to one person's command, shown to them alone (where the platform can:
    an ephemeral message)."""

    text: str
    ok: bool = True
    # The command was carried out before (its source is in the history): said only when
    # the command comes from what a stopped or dead process left, whose answer may be lost.
    repeat: bool = False
    # The circle's report (`text` is its plain form): adapters that can, draw it.
    report: ReportMessage | None = None


@dataclass(frozen=True)
class SideLine:
    side: str
    leaders: int
    responded: int
    consenting: int
    consents: bool
    quorum: bool
    objecting: tuple[str, ...]
    standing_aside: tuple[str, ...]
    concerns: tuple[str, ...]
    waiting: tuple[str, ...]
    # (away leader, proxy) for each leader of this side whose stance is their proxy's.
    proxied: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, side: SideTally, proxied: Mapping[str, str] | None = None) -> SideLine:
        mine = tuple(
            (name, (proxied or {})[name]) for name in side.leaders if name in (proxied or {})
        )
        return cls(
            side=side.side,
            leaders=len(side.leaders),
            responded=side.responded,
            consenting=side.consenting,
            consents=side.consents,
            quorum=side.quorum,
            objecting=side.objecting,
            standing_aside=side.stand_aside,
            concerns=side.concern,
            waiting=side.waiting,
            proxied=mine,
        )

    def names(self, names: Sequence[str], lang: Lang) -> str:
        """Names as people read them: `ben (for ana)` where ana's stance is ben's."""
        proxies = dict(self.proxied)
        return ", ".join(answered_for(name, proxies.get(name), lang) for name in names)

    @property
    def mark(self) -> str:
        if self.objecting:
            return "✋"
        if self.consents:
            return "✓"
        if not self.waiting:
            return "✗"  # everyone answered, yet this side has not consented
        return "…"

    def short(self) -> str:
        """`milpa 2/2 ✓`: leaders consenting out of leaders, and the side's state."""
        return f"{self.side} {self.consenting}/{self.leaders} {self.mark}"


def status_label(status: Status, lang: Lang) -> str:
    """A proposal's state as people read it: `passed`, `no quorum` / `aprobada`, …"""
    match status:
        case Status.DRAFT:
            return lang._("draft")
        case Status.OPEN:
            return lang._("open")
        case Status.PASSED:
            return lang._("passed")
        case Status.BLOCKED:
            return lang._("blocked")
        case Status.NO_QUORUM:
            return lang._("no quorum")
        case Status.WITHDRAWN:
            return lang._("withdrawn")


def stance_label(stance: Stance, lang: Lang) -> str:
    """A stance's name, capitalised as a label (`Stand aside`); `.lower()` it inside a
    sentence. The one word for the stance on every screen (card, buttons, help, outcome,
    exports), and a command too (bot.text.grammar.STANCE_PHRASES starts with it)."""
    match stance:
        case Stance.CONSENT:
            return lang._("Consent")
        case Stance.CONCERN:
            return lang._("Concern")
        case Stance.STAND_ASIDE:
            return lang._("Stand aside")
        case Stance.OBJECT:
            return lang._("Object")


def role_label(role: Role, lang: Lang) -> str:
    """`leader` (votes) or `member` (a voice, no vote)."""
    match role:
        case Role.LEADER:
            return lang._("leader")
        case Role.MEMBER:
            return lang._("member")


def answered_for(name: str, proxy: str | None, lang: Lang) -> str:
    """`ben (for ana)` when ana's stance is her proxy ben's; else `ana`."""
    return lang._("{proxy} (for {name})", proxy=proxy, name=name) if proxy else name


def by_proxy(lines: Sequence[SideLine], lang: Lang) -> str:
    """Every stance that came from a proxy, `ben (for ana), dee (for cy)`; empty if none."""
    return ", ".join(
        answered_for(away, proxy, lang) for line in lines for away, proxy in line.proxied
    )


def side_lines(result: Tally, proxied: Mapping[str, str] | None = None) -> tuple[SideLine, ...]:
    return tuple(SideLine.of(side, proxied) for side in result.sides)


def tally_line(lines: Sequence[SideLine]) -> str:
    """The per-side tally people see; never one head-count across sides."""
    return " · ".join(line.short() for line in lines)


LEGEND: tuple[tuple[Stance, tuple[str, ...]], ...] = tuple(DEFAULT_EMOJI.items())


@dataclass(frozen=True)
class StanceReason:
    """A reason given with a stance (`object 7 it breaks the budget`), while it stands."""

    name: str
    stance: Stance
    reason: str


def reasons_line(reasons: Sequence[StanceReason], lang: Lang) -> str:
    """`Reasons: dee (object): "it breaks the budget"`; empty when nobody gave one."""
    if not reasons:
        return ""
    # Each reason apart first: a text marked inside another's arguments is not extracted.
    each = [
        lang._(
            '{name} ({stance}): "{reason}"',
            name=r.name,
            stance=stance_label(r.stance, lang).lower(),
            reason=r.reason,
        )
        for r in reasons
    ]
    return lang._("Reasons: {reasons}", reasons="; ".join(each))


def stance_reasons(
    reasons: Mapping[str, str], stances: Mapping[str, Stance]
) -> tuple[StanceReason, ...]:
    """The reasons given, with the stance each is for, by name."""
    return tuple(
        StanceReason(name, stances[name], reasons[name])
        for name in sorted(reasons)
        if name in stances
    )


@dataclass(frozen=True)
class ProposalCard:
    proposal_id: int
    circle: str
    text: str
    author: str
    status: Status
    round: int
    deadline: datetime
    timezone: str
    sides: tuple[SideLine, ...]
    voices: tuple[tuple[str, Stance], ...] = ()  # non-voting members who answered
    legend: tuple[tuple[Stance, tuple[str, ...]], ...] = LEGEND
    decided_at: datetime | None = None
    review_at: datetime | None = None
    cosponsor: str | None = None
    needs_cosponsor: bool = False
    reader: Reader = field(default_factory=Reader)  # the circle's language and time zone
    statement: str | None = None  # the outcome statement, once written
    closed_by: str | None = None  # who closed it before its deadline
    reasons: tuple[StanceReason, ...] = ()  # reasons given with stances that stand

    @property
    def title(self) -> str:
        """`Proposal #1 by ana`, in the card's reader's language."""
        return card_title(self, of(self.reader))


def card_title(card: ProposalCard, lang: Lang) -> str:
    return lang._("Proposal #{number} by {author}", number=card.proposal_id, author=card.author)


@dataclass(frozen=True)
class Outcome:
    proposal_id: int
    text: str
    status: Status
    round: int
    sides: tuple[SideLine, ...]
    decided_at: datetime
    objectors: tuple[str, ...] = ()
    standing_aside: tuple[str, ...] = ()
    concerns: tuple[str, ...] = ()
    note: str = ""  # e.g. who withdrew it
    reader: Reader = field(default_factory=Reader)  # the circle's language and time zone
    reasons: tuple[StanceReason, ...] = ()  # reasons given with the stances counted

    def names(self, names: Sequence[str], lang: Lang) -> str:
        """Names as people read them: `ben (for ana)` where ana's stance was ben's."""
        proxies = {away: proxy for line in self.sides for away, proxy in line.proxied}
        return ", ".join(answered_for(name, proxies.get(name), lang) for name in names)

    def people_lines(self, lang: Lang) -> list[str]:
        """Who objected, stood aside and consented with a concern, a plain line each
        (none for an empty list); every platform renders them, escaped its own way."""
        lines = []
        if names := self.objectors:
            lines.append(
                lang.n_(
                    "Objected: {names}",
                    "Objected: {names}",
                    len(names),
                    names=self.names(names, lang),
                )
            )
        if names := self.standing_aside:
            lines.append(
                lang.n_(
                    "Stood aside: {names}",
                    "Stood aside: {names}",
                    len(names),
                    names=self.names(names, lang),
                )
            )
        if names := self.concerns:
            lines.append(
                lang.n_(
                    "Consented with a concern: {names}",
                    "Consented with a concern: {names}",
                    len(names),
                    names=self.names(names, lang),
                )
            )
        if reasons := reasons_line(self.reasons, lang):
            lines.append(reasons)
        return lines

    @property
    def headline(self) -> str:
        """`✅ Proposal #1 passed`, in the outcome's reader's language."""
        return outcome_headline(self, of(self.reader))


def outcome_headline(outcome: Outcome, lang: Lang) -> str:
    number = outcome.proposal_id
    match outcome.status:
        case Status.PASSED:
            return lang._("✅ Proposal #{number} passed", number=number)
        case Status.BLOCKED:
            return lang._("✋ Proposal #{number} is blocked", number=number)
        case Status.NO_QUORUM if outcome.round == 0:
            return lang._("⌛ Proposal #{number} closed before voting opened", number=number)
        case Status.NO_QUORUM if without_quorum(outcome.sides):
            return lang._("⌛ Proposal #{number} closed without quorum", number=number)
        case Status.NO_QUORUM:
            return lang._("⌛ Proposal #{number} closed without consent", number=number)
        case Status.WITHDRAWN:
            return lang._("↩️ Proposal #{number} was withdrawn", number=number)
    return lang._(
        "Proposal #{number}: {status}", number=number, status=status_label(outcome.status, lang)
    )


def headline_in_round(headline: str, round: int, lang: Lang) -> str:
    """`✅ Proposal #7 passed (round 2)`; a draft that never opened voting has no round."""
    if round == 0:
        return headline
    return lang._("{headline} (round {round})", headline=headline, round=round)


def without_quorum(sides: Sequence[SideLine]) -> tuple[SideLine, ...]:
    """The sides that lacked quorum: too few of their leaders answered."""
    return tuple(line for line in sides if not line.quorum)


def without_consent(sides: Sequence[SideLine]) -> tuple[SideLine, ...]:
    """The sides that had quorum and still did not consent (they stood aside, or too
    few consented)."""
    return tuple(line for line in sides if line.quorum and not line.consents)


def no_quorum_words(sides: Sequence[SideLine], round: int, lang: Lang) -> str:
    """What a card says of a proposal closed as `no_quorum`: exactly what was missing."""
    if round == 0:
        return lang._("Closed before voting opened")
    if without_quorum(sides):
        return lang._("Closed without quorum")
    return lang._("Closed without consent")


def missing_at_close(sides: Sequence[SideLine], lang: Lang) -> str:
    """Why a round closed as `no_quorum`, side by side, from its tally: `Without quorum:
    vera (1 of 2 leaders answered).` and/or `Without consent: milpa.`"""
    said = []
    if short := without_quorum(sides):
        counts = [
            lang.n_(
                "{side} ({responded} of {n} leader answered)",
                "{side} ({responded} of {n} leaders answered)",
                line.leaders,
                side=line.side,
                responded=line.responded,
            )
            for line in short
        ]
        said.append(lang._("Without quorum: {sides}.", sides=", ".join(counts)))
    if unwilling := without_consent(sides):
        names = ", ".join(line.side for line in unwilling)
        said.append(lang._("Without consent: {sides}.", sides=names))
    return " ".join(said)


@dataclass(frozen=True)
class Reminder:
    """Before a deadline: who has not answered yet. A platform sends each person a
    direct message, or mentions them in the thread; each says which sides are
    incomplete."""

    proposal_id: int
    text: str
    deadline: datetime
    timezone: str
    waiting: tuple[Mention, ...]  # leaders without a stance who are not away
    sides: tuple[SideLine, ...]
    late: bool = False  # it fell due while the bot was down
    reader: Reader = field(
        default_factory=Reader
    )  # the circle's (each Mention carries its person's)

    def incomplete(self, lang: Lang | None = None) -> str:
        """`Waiting on vera (1 of 2)`: sides with leaders yet to answer; in `lang`, else
        in the reminder's reader's language."""
        lang = lang or of(self.reader)
        parts = [
            lang._(
                "{side} ({waiting} of {leaders})",
                side=line.side,
                waiting=len(line.waiting),
                leaders=line.leaders,
            )
            for line in self.sides
            if line.waiting
        ]
        if not parts:
            return lang._("Everyone has answered")
        return lang._("Waiting on {sides}", sides=", ".join(parts))
