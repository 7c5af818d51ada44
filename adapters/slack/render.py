"""Slack renderings of the message model: Block Kit cards, thread posts, the App Home tab
and the proposal modal. Pure functions, no I/O.

People's text is data: everything that did not come from this module is escaped
(`&`, `<`, `>`), so `<!channel>`, `<!here>`, `<!everyone>`, `<!subteam^…>` and `<@U…>`
written by a person show as text and ping nobody; bare `@channel`/`@here`/`@everyone`
are broken with a word joiner, and user text goes out with `verbatim` so Slack does not
auto-link it either. Only mentions the core asked for (bot.text.messages.Mention) ping.

Every text is written in its reader's language (bot.domain.i18n): what the circle sees (cards,
outcomes, the thread's reminder line) in the circle's, what one person sees (a reminder's
direct message, their Home tab, the proposal form) in theirs. Dates are Slack's own
`<!date^…>`, which each viewer's client shows in their own time zone, with the reader's
date and time as the fallback text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from adapters.slack.config import handle_of
from bot.domain.i18n import Lang, Reader, of
from bot.domain.model import Stance, Status
from bot.text import messages
from bot.text.home import Home, HomeCircle, HomeProposal
from bot.text.messages import (
    Mention,
    Notice,
    Outcome,
    ProposalCard,
    Reminder,
    Reply,
    SideLine,
    answered_for,
    by_proxy,
    headline_in_round,
    no_quorum_words,
    reasons_line,
    stance_label,
    status_label,
)
from bot.text.parsing import Draft
from bot.text.render_text import card_text
from bot.text.report import ReportMessage, report_text, text_bar

Block = dict[str, Any]

SECTION_LIMIT = 3000  # characters in one section's text (Block Kit)
HEADER_LIMIT = 150  # characters in a header block
TEXT_LIMIT = 3000  # the plain fallback `text` we send with blocks (notifications)
MESSAGE_LIMIT = 39_000  # Slack truncates a message's text at 40,000 characters
HOME_BLOCK_LIMIT = 100  # blocks in a Home tab view
ACTION_PREFIX = "circlebot_stance:"  # action_id of a stance button: prefix + stance value
COSPONSOR_ACTION = "circlebot_cosponsor"  # action_id of a draft's co-sponsor button

STATUS_EMOJI = {
    Status.DRAFT: "📝",
    Status.OPEN: "🗳️",
    Status.PASSED: "✅",
    Status.BLOCKED: "✋",
    Status.NO_QUORUM: "⌛",
    Status.WITHDRAWN: "↩️",
}

_BARE_MASS_MENTION = re.compile(r"@(channel|here|everyone)\b", re.IGNORECASE)
_WORD_JOINER = "\u2060"


# --------------------------------------------------------------------------- safety


def escape(text: str) -> str:
    """Make a person's text safe for mrkdwn: Slack's three control characters escaped,
    and bare mass mentions broken so they cannot notify a channel."""
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BARE_MASS_MENTION.sub(lambda m: "@" + _WORD_JOINER + m.group(1), escaped)


def unescape(text: str) -> str:
    """Slack sends typed `&`, `<`, `>` escaped (in slash commands, messages): the real text.
    Slack's own markup (`<@U1|ana>` from an escaped command) has real brackets and is kept."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """Split (already escaped) mrkdwn into pieces of at most `limit` characters, at a line
    break or a space when there is one, and never inside an `&amp;`-style entity."""
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = window.rfind("\n")
        if cut < limit // 2:
            cut = window.rfind(" ")
        if cut < limit // 2:
            cut = limit
        amp = window.rfind("&", max(0, cut - 5), cut)
        if amp != -1 and ";" not in window[amp:cut]:
            cut = amp  # do not split "&amp;" in two
        piece, rest = rest[:cut], rest[cut:]
        if piece.strip():
            pieces.append(piece)
        if rest.startswith("\n"):
            rest = rest[1:]  # the break between two sections
    if rest.strip() or not pieces:
        pieces.append(rest)
    return pieces


def clip(text: str, limit: int) -> str:
    """At most `limit` characters, ending in … when cut (never inside an entity)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&", max(0, len(cut) - 5))
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"


def mrkdwn(text: str, verbatim: bool = True) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": verbatim}


def plain(text: str, limit: int = HEADER_LIMIT) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, limit), "emoji": True}


# --------------------------------------------------------------------------- pieces


def slack_date(moment: datetime, reader: Reader) -> str:
    """A date Slack shows in each viewer's own time zone; the reader's date and time, in
    their language and zone, as the fallback for clients that cannot. English keeps
    Slack's "today"/"tomorrow"; in other languages the words around the date need the
    date itself ("antes del 5 ene", never "antes del mañana")."""
    fallback = of(reader).when(moment, reader.timezone)
    shape = "{date_short_pretty} {time}" if reader.language == "en" else "{date_short} {time}"
    return f"<!date^{int(moment.timestamp())}^{shape}|{fallback}>"


def mention(person: Mention) -> str:
    """A real ping when the member has a Slack id; their name otherwise."""
    if handle_of(person):
        return f"<@{handle_of(person)}>"
    return escape(person.member)


def tally_mrkdwn(lines: Sequence[SideLine]) -> str:
    """`*milpa* 2/2 ✓ · *vera* 1/2 …`: per side, never one head-count across sides."""
    return " · ".join(
        f"*{escape(line.side)}* {line.consenting}/{line.leaders} {line.mark}" for line in lines
    )


def stance_words(stance: Stance, t: Lang) -> str:
    """`consent`, `consent with a concern`: a stance inside a sentence."""
    return stance_label(stance, t).lower()


def legend(card: ProposalCard) -> str:
    t = of(card.reader)
    return " · ".join(
        f"{' '.join(f':{escape(e)}:' for e in emojis)} {escape(stance_words(stance, t))}"
        for stance, emojis in card.legend
    )


def names(people: Sequence[str]) -> str:
    return ", ".join(escape(name) for name in people)


def side_names(sides: Sequence[SideLine], pick: str, t: Lang) -> list[str]:
    """The names in one list of every side (`objecting`, …), as people read them:
    `ben (for ana)` where ana's stance is her proxy's."""
    return [
        answered_for(name, dict(side.proxied).get(name), t)
        for side in sides
        for name in getattr(side, pick)
    ]


def snippet(text: str, limit: int = 120) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= limit and first == text.strip() else first[: limit - 1] + "…"


def permalink(workspace_url: str | None, channel: str, ts: str) -> str | None:
    """A link to a message (`https://team.slack.com/archives/C…/p…`)."""
    if not workspace_url:
        return None
    return f"{workspace_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"


# --------------------------------------------------------------------------- the card


def status_words(status: Status, t: Lang, sides: Sequence[SideLine], round: int) -> str:
    """`✅ Passed`: a card's state, in its language; closed without consent or without
    quorum, the one it was (from its `sides`' tally)."""
    if status is Status.NO_QUORUM:
        words = no_quorum_words(sides, round, t)
    else:
        label = status_label(status, t)
        words = label[:1].upper() + label[1:]
    return f"{STATUS_EMOJI[status]} {words}"


def card_title(card: ProposalCard) -> str:
    """`Proposal #7 by ana`, in the circle's language (plain text: the header's)."""
    return of(card.reader)._(
        "Proposal #{number} by {author}", number=card.proposal_id, author=card.author
    )


def card_blocks(card: ProposalCard) -> list[Block]:
    """The proposal card, in the circle's language: text, author, deadline, legend,
    per-side tally and, while it is open, the stance buttons (they behave exactly like the
    reactions); while it is a draft, a co-sponsor button (like the `cosponsor` command)."""
    reader = card.reader
    t = of(reader)
    blocks: list[Block] = [{"type": "header", "text": plain(card_title(card))}]
    # The core limits text to 3000 characters; escaped it may be longer: several sections.
    for piece in split_text(escape(card.text)):
        blocks.append({"type": "section", "text": mrkdwn(piece)})
    state = f"*{status_words(card.status, t, card.sides, card.round)}*"
    if card.status is Status.OPEN:
        state += " · " + t._(
            "round {round} · answer by {when}",
            round=card.round,
            when=slack_date(card.deadline, reader),
        )
    elif card.status is Status.DRAFT:
        state += " · " + t._(
            "needs a co-sponsor from another side (react :handshake: or press Co-sponsor) "
            "before voting opens"
        )
    elif card.decided_at is not None:
        when = slack_date(card.decided_at, reader)
        state += " · " + (
            t._("closed {when} (round {round})", when=when, round=card.round)
            if card.round
            else t._("closed {when}", when=when)  # a draft: voting never opened
        )
    blocks.append({"type": "context", "elements": [mrkdwn(state)]})
    tally = t._("*Tally*  {tally}", tally=tally_mrkdwn(card.sides))
    blocks.append({"type": "section", "text": mrkdwn(tally)})
    if card.statement:
        outcome = t._("*Outcome statement*  {text}", text=escape(card.statement))
        blocks.append({"type": "section", "text": mrkdwn(clip(outcome, SECTION_LIMIT))})
    details: list[str] = []
    waiting = [name for side in card.sides for name in side.waiting]
    if waiting and card.status is Status.OPEN:
        details.append(t._("Waiting on: {names}", names=names(waiting)))
    objecting = side_names(card.sides, "objecting", t)
    if objecting:
        details.append(
            t.n_("Objecting: {names}", "Objecting: {names}", len(objecting), names=names(objecting))
        )
    aside = side_names(card.sides, "standing_aside", t)
    if aside:
        details.append(
            t.n_(
                "Standing aside: {names}", "Standing aside: {names}", len(aside), names=names(aside)
            )
        )
    concerns = side_names(card.sides, "concerns", t)
    if concerns:
        details.append(
            t.n_("Concerns: {names}", "Concerns: {names}", len(concerns), names=names(concerns))
        )
    if card.voices:
        voices = ", ".join(
            t._("{name} ({stance})", name=escape(name), stance=escape(stance_words(stance, t)))
            for name, stance in card.voices
        )
        details.append(t._("Voices (not counted): {voices}", voices=voices))
    if reasons := reasons_line(card.reasons, t):
        details.append(escape(reasons))
    if proxied := by_proxy(card.sides, t):
        details.append(t._("By proxy: {names}", names=escape(proxied)))
    if card.cosponsor:
        details.append(t._("Co-sponsored by {name}", name=escape(card.cosponsor)))
    if card.closed_by:
        details.append(t._("Closed before its deadline by {name}.", name=escape(card.closed_by)))
    if card.review_at is not None:
        details.append(t._("Review on {when}", when=slack_date(card.review_at, reader)))
    if details:
        text = clip("\n".join(details), SECTION_LIMIT)
        blocks.append({"type": "context", "elements": [mrkdwn(text)]})
    if card.status is Status.OPEN:
        blocks.append({"type": "context", "elements": [mrkdwn(clip(legend(card), 3000))]})
        buttons = stance_buttons(card.proposal_id, str(card.proposal_id), t)
        blocks.append({"type": "actions", "block_id": "stances", "elements": buttons})
    elif card.status is Status.DRAFT:
        cosponsor: Block = {
            "type": "button",
            "action_id": COSPONSOR_ACTION,
            "text": plain(t._("🤝 Co-sponsor"), 75),
            "value": str(card.proposal_id),
            "style": "primary",
        }
        blocks.append({"type": "actions", "block_id": "cosponsor", "elements": [cosponsor]})
    return blocks


def _button_labels(t: Lang) -> tuple[tuple[Stance, str, str | None], ...]:
    """Each stance's button: its label in `t`'s language, and its style."""
    # The stance's own label, so a button says what the card, help and commands say.
    return (
        (Stance.CONSENT, f"👍 {stance_label(Stance.CONSENT, t)}", "primary"),
        (Stance.CONCERN, f"🤔 {stance_label(Stance.CONCERN, t)}", None),
        (Stance.STAND_ASIDE, f"😐 {stance_label(Stance.STAND_ASIDE, t)}", None),
        (Stance.OBJECT, f"✋ {stance_label(Stance.OBJECT, t)}", "danger"),
    )


def stance_buttons(proposal_id: int, value: str, t: Lang) -> list[Block]:
    """Consent, Concern, Stand aside, Object. `value` says which card they answer: on the
    card itself its proposal id; on the Home tab the card's place (see home_answer_value)."""
    buttons: list[Block] = []
    for stance, label, style in _button_labels(t):
        button: Block = {
            "type": "button",
            "action_id": ACTION_PREFIX + stance.value,
            "text": plain(label, 75),
            "value": value,
        }
        if style:
            button["style"] = style
        if stance is Stance.OBJECT:
            button["confirm"] = {
                "title": plain(t._("Object?"), 100),
                "text": plain(
                    t._(
                        "An objection blocks proposal #{number} until it is resolved. You "
                        "will be asked for your reason in the thread.",
                        number=proposal_id,
                    ),
                    300,
                ),
                "confirm": plain(f"✋ {stance_label(Stance.OBJECT, t)}", 30),
                "deny": plain(t._("Cancel"), 30),
                "style": "danger",
            }
        buttons.append(button)
    return buttons


def card_fallback(card: ProposalCard) -> str:
    """The message's plain `text` (notifications, screen readers, old clients)."""
    return clip(escape(card_text(card)), TEXT_LIMIT)


def stance_of_action(action_id: str) -> Stance | None:
    if not action_id.startswith(ACTION_PREFIX):
        return None
    try:
        return Stance(action_id.removeprefix(ACTION_PREFIX))
    except ValueError:
        return None


# --------------------------------------------------------------------------- thread posts


def notice_text(notice: Notice) -> str:
    """Text with real pings for the mentions the core asked for."""
    return clip(
        "".join(escape(p) if isinstance(p, str) else mention(p) for p in notice.parts),
        MESSAGE_LIMIT,
    )


def outcome_headline(outcome: Outcome) -> str:
    """`✅ Proposal #7 passed`, in the circle's language."""
    return messages.outcome_headline(outcome, of(outcome.reader))


def outcome_text(outcome: Outcome) -> str:
    """The outcome, in the card's thread and the circle's language."""
    t = of(outcome.reader)
    headline = "*" + escape(outcome_headline(outcome)) + "*"
    lines = [
        headline_in_round(headline, outcome.round, t),
        tally_mrkdwn(outcome.sides),
    ]
    lines += [escape(line) for line in outcome.people_lines(t)]
    if outcome.note:
        lines.append(escape(outcome.note))  # the core's words, in the circle's language
    return clip("\n".join(lines), MESSAGE_LIMIT)


def incomplete(reminder: Reminder, t: Lang) -> str:
    """`Waiting on vera (1 of 2)`: the sides with leaders yet to answer (escaped)."""
    sides = [
        t._(
            "{side} ({waiting} of {leaders})",
            side=escape(line.side),
            waiting=len(line.waiting),
            leaders=line.leaders,
        )
        for line in reminder.sides
        if line.waiting
    ]
    if not sides:
        return t._("Everyone has answered")
    return t._("Waiting on {sides}", sides=", ".join(sides))


def reminder_thread_text(reminder: Reminder) -> str:
    """The thread's line, in the circle's language: which sides are incomplete, and who,
    by name: no pings (each person gets a direct message instead)."""
    reader = reminder.reader
    t = of(reader)
    late = ""
    if reminder.late:
        late = " _" + t._(" (late: the bot was offline when it was due)").strip() + "_"
    return t._(
        "⏰ Proposal #{number} closes {deadline}. {waiting}: {people}{late}",
        number=reminder.proposal_id,
        deadline=slack_date(reminder.deadline, reader),
        waiting=incomplete(reminder, t),
        people=names([person.member for person in reminder.waiting]),
        late=late,
    )


def reminder_direct_text(reminder: Reminder, link: str | None, reader: Reader | None = None) -> str:
    """What one waiting person is sent directly, in their own language (`reader`: theirs,
    from their Mention; the circle's when not given)."""
    reader = reader or reminder.reader
    t = of(reader)
    text = t._(
        "⏰ Proposal #{number} closes {deadline} and your answer is missing:",
        number=reminder.proposal_id,
        deadline=slack_date(reminder.deadline, reader),
    )
    text += f"\n>{escape(snippet(reminder.text, 300))}"
    if link:
        label = t._("Open the proposal and answer")
        text += f"\n<{link}|{label}>"
    return clip(text, MESSAGE_LIMIT)


def report_blocks(report: ReportMessage) -> list[Block]:
    """The circle's report in Block Kit: a header, a section of fields per side (each
    figure's name, its bar and its words), the plain sentences, and the note."""
    blocks: list[Block] = [{"type": "header", "text": plain(report.title)}]
    for side in report.sides:
        blocks.append({"type": "divider"})
        blocks.append({"type": "section", "text": mrkdwn(f"*{escape(side.side)}*")})
        fields = [
            mrkdwn(clip(f"*{escape(bar.label)}*\n`{text_bar(bar.fill)}` {escape(bar.value)}", 2000))
            for bar in side.bars
        ]
        for start in range(0, len(fields), 10):  # at most 10 fields in a section
            blocks.append({"type": "section", "fields": fields[start : start + 10]})
    if report.sentences:
        said = "\n".join(f"• {escape(line)}" for line in report.sentences)
        blocks.append({"type": "section", "text": mrkdwn(clip(said, SECTION_LIMIT))})
    if report.note:
        blocks.append({"type": "context", "elements": [mrkdwn(escape(report.note))]})
    return blocks


def report_fallback(report: ReportMessage) -> str:
    """The plain `text` sent with the report's blocks (notifications, screen readers)."""
    return clip(escape(report_text(report)), TEXT_LIMIT)


def reply_text(reply: Reply) -> str:
    return clip(("" if reply.ok else "⚠️ ") + escape(reply.text), MESSAGE_LIMIT)


# --------------------------------------------------------------------------- App Home


def home_view(home: Home, link: Callable[[HomeProposal], str | None]) -> dict[str, Any]:
    """The Home tab, in this person's language: their answers still to give, then every
    open proposal of their circles with its per-side tally and the stance buttons to
    answer it. Times fall back to their time zone in each circle."""
    t = of(home.reader)
    blocks: list[Block] = [{"type": "header", "text": plain(t._("Your circles"))}]
    if not home.circles:
        blocks.append(
            {
                "type": "section",
                "text": mrkdwn(
                    t._(
                        "You are not a member of any circle yet. Ask a circle's admin to add "
                        "you (`/circle add @you SIDE`)."
                    )
                ),
            }
        )
        return {"type": "home", "blocks": blocks}
    pending = home.pending
    if pending:
        lines = [
            t._(
                "• {proposal} in *{circle}* — answer by {when}",
                proposal=_proposal_link(p, link),
                circle=escape(c.name),
                when=slack_date(p.deadline, _reader_in(home, c)),
            )
            for c, p in pending
        ]
        heading = t.n_(
            "*Waiting for your answer ({n})*", "*Waiting for your answer ({n})*", len(pending)
        )
        text = heading + "\n" + "\n".join(lines)
        blocks.append({"type": "section", "text": mrkdwn(clip(text, SECTION_LIMIT))})
    else:
        nothing = t._("✅ Nothing is waiting for your answer.")
        blocks.append({"type": "section", "text": mrkdwn(nothing)})
    shown = 0
    total = sum(len(c.proposals) for c in home.circles)
    for home_circle in home.circles:
        if len(blocks) > HOME_BLOCK_LIMIT - 6:
            break
        reader = _reader_in(home, home_circle)
        side = escape(home_circle.side)
        if home_circle.role == "leader":
            about = t._("You are a leader of *{side}*", side=side)
        else:
            about = t._("You are a member of *{side}*, with a voice and no vote", side=side)
        if home_circle.away_until is not None:
            away = slack_date(home_circle.away_until, reader)
            about += " · " + t._("away until {when}", when=away)
        blocks.append({"type": "divider"})
        blocks.append(
            {
                "type": "section",
                "text": mrkdwn(f"*{escape(home_circle.name)}* · {about}"),
            }
        )
        if not home_circle.proposals:
            none = t._("No open proposals.")
            blocks.append({"type": "context", "elements": [mrkdwn(none)]})
        for proposal in home_circle.proposals:
            if len(blocks) >= HOME_BLOCK_LIMIT - 3:
                break
            blocks.append(
                {
                    "type": "section",
                    "text": mrkdwn(_home_line(proposal, reader, link)),
                }
            )
            if proposal.status is Status.OPEN and proposal.channel and proposal.message_ref:
                # Answer from here: the buttons act on the card, exactly like on it.
                value = home_answer_value(proposal.channel, proposal.message_ref)
                blocks.append(
                    {
                        "type": "actions",
                        "block_id": f"home_stances:{proposal.proposal_id}",
                        "elements": stance_buttons(proposal.proposal_id, value, t),
                    }
                )
            shown += 1
    if shown < total:
        more = t.n_(
            "…and {n} more: use `/circle proposals` in the circle's channel.",
            "…and {n} more: use `/circle proposals` in the circle's channel.",
            total - shown,
        )
        blocks.append({"type": "context", "elements": [mrkdwn(more)]})
    return {"type": "home", "blocks": blocks[:HOME_BLOCK_LIMIT]}


def _reader_in(home: Home, circle: HomeCircle) -> Reader:
    """The Home's language (one per tab), with this person's time zone in that circle."""
    return Reader(home.reader.language, circle.reader.timezone, home.reader.locale)


def home_answer_value(channel: str, message_ref: str) -> str:
    """A Home tab answer button's value: the card it answers, as a reaction would."""
    return f"{channel} {message_ref}"


def card_of_home_answer(value: str) -> tuple[str, str] | None:
    """(channel, message ts) from a Home answer button's value; None if malformed."""
    parts = value.split()
    if len(parts) != 2 or not all(parts):
        return None
    return parts[0], parts[1]


def _proposal_link(proposal: HomeProposal, link: Callable[[HomeProposal], str | None]) -> str:
    url = link(proposal)
    label = f"#{proposal.proposal_id} {escape(snippet(proposal.text, 80))}"
    return f"<{url}|{label}>" if url else label


def _home_line(
    proposal: HomeProposal, reader: Reader, link: Callable[[HomeProposal], str | None]
) -> str:
    t = of(reader)
    lines = [
        t._(
            "*{proposal}* by {author}",
            proposal=_proposal_link(proposal, link),
            author=escape(proposal.author),
        )
    ]
    if proposal.status is Status.DRAFT:
        lines.append(t._("📝 Draft: waiting for a co-sponsor from another side"))
    else:
        lines.append(
            t._(
                "{tally} · until {when}",
                tally=tally_mrkdwn(proposal.sides),
                when=slack_date(proposal.deadline, reader),
            )
        )
    if proposal.awaiting_me:
        lines.append(t._("⏳ *Your answer is needed*"))
    elif proposal.my_stance is not None:
        stance = escape(stance_words(proposal.my_stance, t))
        if proposal.counted:
            lines.append(t._("Your answer: {stance}", stance=stance))
        else:
            lines.append(t._("Your answer: {stance} (a voice: not counted)", stance=stance))
    return clip("\n".join(lines), SECTION_LIMIT)


# --------------------------------------------------------------------------- the modal

MODAL_CALLBACK = "circlebot_propose"
TITLE_BLOCK, TEXT_BLOCK, DEADLINE_BLOCK, REVIEW_BLOCK = "title", "text", "deadline", "review"
MAX_TITLE = 150


def propose_modal(
    channel: str, max_text: int, reader: Reader | None = None, draft: Draft | None = None
) -> dict[str, Any]:
    """`/propose` with no text: a form whose submission becomes the same command, in the
    language of the person who opens it (`reader`); with `draft`, filled with a proposal
    as typed whose WHEN could not be read."""
    reader = reader or Reader()
    given = draft or Draft("")

    def initial(value: str | None) -> dict[str, str]:
        return {"initial_value": value} if value else {}

    t = of(reader)
    # Babel has no people's name for UTC itself ("Unknown Region (UTC) Time").
    zone = "UTC" if reader.timezone in ("UTC", "Etc/UTC") else t.zone_name(reader.timezone)

    def field(
        block_id: str, label: str, hint: str, optional: bool, **element: Any
    ) -> dict[str, Any]:
        return {
            "type": "input",
            "block_id": block_id,
            "optional": optional,
            "label": plain(label, 2000),
            "hint": plain(hint, 2000),
            "element": {"type": "plain_text_input", "action_id": "value", **element},
        }

    return {
        "type": "modal",
        "callback_id": MODAL_CALLBACK,
        "private_metadata": channel,
        "title": plain(t._("New proposal"), 24),
        "submit": plain(t._("Propose"), 24),
        "close": plain(t._("Cancel"), 24),
        "blocks": [
            field(
                TITLE_BLOCK,
                t._("Title"),
                t._("A short first line people will recognise it by."),
                True,
                max_length=MAX_TITLE,
            ),
            field(
                TEXT_BLOCK,
                t._("Proposal"),
                t._("What you propose the circle decides."),
                False,
                multiline=True,
                max_length=max_text,
                **initial(given.text[:max_text]),
            ),
            field(
                DEADLINE_BLOCK,
                t._("Deadline"),
                t._(
                    'A day and time in your time zone, {zone}, like "Friday 5pm" or "Dec 15 '
                    "17:00\", or a span such as 3d or 2 weeks. Empty: the circle's default.",
                    zone=zone,
                ),
                True,
                placeholder=plain(t._("Friday 5pm"), 150),
                **initial(given.by),
            ),
            field(
                REVIEW_BLOCK,
                t._("Review"),
                t._("Optional: when to bring a passed decision back (6mo, 2027-01-15)."),
                True,
                placeholder=plain(t._("6mo"), 150),
                **initial(given.review),
            ),
        ],
    }


def modal_values(view: dict[str, Any]) -> dict[str, str]:
    """The submitted fields (block id -> trimmed value; empty when left blank)."""
    values: dict[str, Any] = view.get("state", {}).get("values", {})
    found: dict[str, str] = {}
    for block_id in (TITLE_BLOCK, TEXT_BLOCK, DEADLINE_BLOCK, REVIEW_BLOCK):
        value = values.get(block_id, {}).get("value", {}).get("value")
        found[block_id] = value.strip() if isinstance(value, str) else ""
    return found
