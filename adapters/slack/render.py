"""Slack renderings of the message model: Block Kit cards, thread posts, the App Home tab
and the proposal modal. Pure functions, no I/O.

People's text is data: everything that did not come from this module is escaped
(`&`, `<`, `>`), so `<!channel>`, `<!here>`, `<!everyone>`, `<!subteam^…>` and `<@U…>`
written by a person show as text and ping nobody; bare `@channel`/`@here`/`@everyone`
are broken with a word joiner, and user text goes out with `verbatim` so Slack does not
auto-link it either. Only mentions the core asked for (bot.messages.Mention) ping.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from bot.home import Home, HomeProposal
from bot.messages import Mention, Notice, Outcome, ProposalCard, Reminder, Reply, SideLine
from bot.model import Stance, Status
from bot.render_text import card_text, local_time
from bot.tally import stance_key

Block = dict[str, Any]

SECTION_LIMIT = 3000  # characters in one section's text (Block Kit)
HEADER_LIMIT = 150  # characters in a header block
TEXT_LIMIT = 3000  # the plain fallback `text` we send with blocks (notifications)
MESSAGE_LIMIT = 39_000  # Slack truncates a message's text at 40,000 characters
HOME_BLOCK_LIMIT = 100  # blocks in a Home tab view
ACTION_PREFIX = "circlebot_stance:"  # action_id of a stance button: prefix + stance value
COSPONSOR_ACTION = "circlebot_cosponsor"  # action_id of a draft's co-sponsor button

BUTTONS: tuple[tuple[Stance, str, str | None], ...] = (
    (Stance.CONSENT, "👍 Consent", "primary"),
    (Stance.CONCERN, "🤔 Concern", None),
    (Stance.STAND_ASIDE, "😐 Stand aside", None),
    (Stance.OBJECT, "✋ Object", "danger"),
)

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


def slack_date(moment: datetime, timezone: str) -> str:
    """A date Slack shows in each reader's own time zone; the circle's local time as the
    fallback for clients that cannot."""
    fallback = local_time(moment, timezone)
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def mention(person: Mention) -> str:
    """A real ping when the member has a Slack id; their name otherwise."""
    if person.slack:
        return f"<@{person.slack}>"
    return escape(person.member)


def tally_mrkdwn(lines: Sequence[SideLine]) -> str:
    """`*milpa* 2/2 ✓ · *vera* 1/2 …`: per side, never one head-count across sides."""
    return " · ".join(
        f"*{escape(line.side)}* {line.consenting}/{line.leaders} {line.mark}" for line in lines
    )


def legend(card: ProposalCard) -> str:
    return " · ".join(
        f"{' '.join(f':{escape(e)}:' for e in emojis)} {stance.label.lower()}"
        for stance, emojis in card.legend
    )


def names(people: Sequence[str]) -> str:
    return ", ".join(escape(name) for name in people)


def snippet(text: str, limit: int = 120) -> str:
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= limit and first == text.strip() else first[: limit - 1] + "…"


def permalink(workspace_url: str | None, channel: str, ts: str) -> str | None:
    """A link to a message (`https://team.slack.com/archives/C…/p…`)."""
    if not workspace_url:
        return None
    return f"{workspace_url.rstrip('/')}/archives/{channel}/p{ts.replace('.', '')}"


# --------------------------------------------------------------------------- the card


def status_words(status: Status) -> str:
    return {
        Status.DRAFT: "📝 Draft",
        Status.OPEN: "🗳️ Open",
        Status.PASSED: "✅ Passed",
        Status.BLOCKED: "✋ Blocked",
        Status.NO_QUORUM: "⌛ Closed without consent",
        Status.WITHDRAWN: "↩️ Withdrawn",
    }[status]


def card_blocks(card: ProposalCard) -> list[Block]:
    """The proposal card: text, author, deadline, legend, per-side tally and, while it is
    open, the stance buttons (they behave exactly like the reactions); while it is a
    draft, a co-sponsor button (like the `cosponsor` command)."""
    blocks: list[Block] = [{"type": "header", "text": plain(card.title)}]
    # The core limits text to 3000 characters; escaped it may be longer: several sections.
    for piece in split_text(escape(card.text)):
        blocks.append({"type": "section", "text": mrkdwn(piece)})
    state = f"*{status_words(card.status)}*"
    if card.status is Status.OPEN:
        state += f" · round {card.round} · answer by {slack_date(card.deadline, card.timezone)}"
    elif card.status is Status.DRAFT:
        state += (
            " · needs a co-sponsor from another side (react :handshake: or press Co-sponsor)"
            " before voting opens"
        )
    elif card.decided_at is not None:
        state += f" · closed {slack_date(card.decided_at, card.timezone)} (round {card.round})"
    blocks.append({"type": "context", "elements": [mrkdwn(state)]})
    blocks.append({"type": "section", "text": mrkdwn("*Tally*  " + tally_mrkdwn(card.sides))})
    details: list[str] = []
    waiting = [name for side in card.sides for name in side.waiting]
    if waiting and card.status is Status.OPEN:
        details.append("Waiting on: " + names(waiting))
    objecting = [name for side in card.sides for name in side.objecting]
    if objecting:
        details.append("Objecting: " + names(objecting))
    aside = [name for side in card.sides for name in side.standing_aside]
    if aside:
        details.append("Standing aside: " + names(aside))
    concerns = [name for side in card.sides for name in side.concerns]
    if concerns:
        details.append("Concerns: " + names(concerns))
    if card.voices:
        details.append(
            "Voices (not counted): "
            + ", ".join(f"{escape(n)} ({stance.label.lower()})" for n, stance in card.voices)
        )
    if card.cosponsor:
        details.append("Co-sponsored by " + escape(card.cosponsor))
    if card.review_at is not None:
        details.append("Review on " + slack_date(card.review_at, card.timezone))
    if details:
        text = clip("\n".join(details), SECTION_LIMIT)
        blocks.append({"type": "context", "elements": [mrkdwn(text)]})
    if card.status is Status.OPEN:
        blocks.append({"type": "context", "elements": [mrkdwn(clip(legend(card), 3000))]})
        buttons = stance_buttons(card.proposal_id, str(card.proposal_id))
        blocks.append({"type": "actions", "block_id": "stances", "elements": buttons})
    elif card.status is Status.DRAFT:
        cosponsor: Block = {
            "type": "button",
            "action_id": COSPONSOR_ACTION,
            "text": plain("🤝 Co-sponsor", 75),
            "value": str(card.proposal_id),
            "style": "primary",
        }
        blocks.append({"type": "actions", "block_id": "cosponsor", "elements": [cosponsor]})
    return blocks


def stance_buttons(proposal_id: int, value: str) -> list[Block]:
    """Consent, Concern, Stand aside, Object. `value` says which card they answer: on the
    card itself its proposal id; on the Home tab the card's place (see home_answer_value)."""
    buttons: list[Block] = []
    for stance, label, style in BUTTONS:
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
                "title": plain("Object?", 100),
                "text": plain(
                    f"An objection blocks proposal #{proposal_id} until it is "
                    "resolved. You will be asked for your reason in the thread.",
                    300,
                ),
                "confirm": plain("Object", 30),
                "deny": plain("Cancel", 30),
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


def button_emoji(stance: Stance) -> str:
    """What a button press is, for the core: the stance's own key, like a reaction."""
    return stance_key(stance)


# --------------------------------------------------------------------------- thread posts


def notice_text(notice: Notice) -> str:
    """Text with real pings for the mentions the core asked for."""
    return clip(
        "".join(escape(p) if isinstance(p, str) else mention(p) for p in notice.parts),
        MESSAGE_LIMIT,
    )


def outcome_text(outcome: Outcome) -> str:
    lines = [
        f"*{escape(outcome.headline)}* (round {outcome.round})",
        tally_mrkdwn(outcome.sides),
    ]
    if outcome.objectors:
        lines.append("Objected: " + names(outcome.objectors))
    if outcome.standing_aside:
        lines.append("Stood aside: " + names(outcome.standing_aside))
    if outcome.concerns:
        lines.append("Consented with a concern: " + names(outcome.concerns))
    if outcome.note:
        lines.append(escape(outcome.note))
    return clip("\n".join(lines), MESSAGE_LIMIT)


def reminder_thread_text(reminder: Reminder) -> str:
    """The thread's line: which sides are incomplete, and who, by name: no pings (each
    person gets a direct message instead)."""
    who = names([person.member for person in reminder.waiting])
    late = " _(late: the bot was offline when it was due)_" if reminder.late else ""
    return (
        f"⏰ Proposal #{reminder.proposal_id} closes "
        f"{slack_date(reminder.deadline, reminder.timezone)}. "
        f"{escape(reminder.incomplete())}: {who}{late}"
    )


def reminder_direct_text(reminder: Reminder, link: str | None) -> str:
    where = f"\n<{link}|Open the proposal and answer>" if link else ""
    return clip(
        f"⏰ Proposal #{reminder.proposal_id} closes "
        f"{slack_date(reminder.deadline, reminder.timezone)} and your answer is missing:\n"
        f">{escape(snippet(reminder.text, 300))}{where}",
        MESSAGE_LIMIT,
    )


def reply_text(reply: Reply) -> str:
    return clip(("" if reply.ok else "⚠️ ") + escape(reply.text), MESSAGE_LIMIT)


# --------------------------------------------------------------------------- App Home


def home_view(home: Home, link: Callable[[HomeProposal], str | None]) -> dict[str, Any]:
    """The Home tab: this person's answers still to give, then every open proposal of
    their circles with its per-side tally and the stance buttons to answer it."""
    blocks: list[Block] = [{"type": "header", "text": plain("Your circles")}]
    if not home.circles:
        blocks.append(
            {
                "type": "section",
                "text": mrkdwn(
                    "You are not a member of any circle yet. Ask a circle's admin to add you "
                    "(`/circle add @you SIDE`)."
                ),
            }
        )
        return {"type": "home", "blocks": blocks}
    pending = home.pending
    if pending:
        lines = [
            f"• {_proposal_link(p, link)} in *{escape(c.name)}* — answer by "
            f"{slack_date(p.deadline, c.timezone)}"
            for c, p in pending
        ]
        text = f"*Waiting for your answer ({len(pending)})*\n" + "\n".join(lines)
        blocks.append({"type": "section", "text": mrkdwn(clip(text, SECTION_LIMIT))})
    else:
        blocks.append({"type": "section", "text": mrkdwn("✅ Nothing is waiting for your answer.")})
    shown = 0
    total = sum(len(c.proposals) for c in home.circles)
    for home_circle in home.circles:
        if len(blocks) > HOME_BLOCK_LIMIT - 6:
            break
        role = "a leader" if home_circle.role == "leader" else "a member (voice)"
        about = f"You are {role} of *{escape(home_circle.side)}*"
        if home_circle.away_until is not None:
            away = slack_date(home_circle.away_until, home_circle.timezone)
            about += f" · away until {away}"
        blocks.append({"type": "divider"})
        blocks.append(
            {
                "type": "section",
                "text": mrkdwn(f"*{escape(home_circle.name)}* · {about}"),
            }
        )
        if not home_circle.proposals:
            blocks.append({"type": "context", "elements": [mrkdwn("No open proposals.")]})
        for proposal in home_circle.proposals:
            if len(blocks) >= HOME_BLOCK_LIMIT - 3:
                break
            blocks.append(
                {
                    "type": "section",
                    "text": mrkdwn(_home_line(proposal, home_circle.timezone, link)),
                }
            )
            if proposal.status is Status.OPEN and proposal.channel and proposal.message_ref:
                # Answer from here: the buttons act on the card, exactly like on it.
                value = home_answer_value(proposal.channel, proposal.message_ref)
                blocks.append(
                    {
                        "type": "actions",
                        "block_id": f"home_stances:{proposal.proposal_id}",
                        "elements": stance_buttons(proposal.proposal_id, value),
                    }
                )
            shown += 1
    if shown < total:
        more = f"…and {total - shown} more: use `/circle proposals` in the circle's channel."
        blocks.append({"type": "context", "elements": [mrkdwn(more)]})
    return {"type": "home", "blocks": blocks[:HOME_BLOCK_LIMIT]}


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
    proposal: HomeProposal, timezone: str, link: Callable[[HomeProposal], str | None]
) -> str:
    lines = [f"*{_proposal_link(proposal, link)}* by {escape(proposal.author)}"]
    if proposal.status is Status.DRAFT:
        lines.append("📝 Draft: waiting for a co-sponsor from another side")
    else:
        lines.append(
            tally_mrkdwn(proposal.sides) + f" · until {slack_date(proposal.deadline, timezone)}"
        )
    if proposal.awaiting_me:
        lines.append("⏳ *Your answer is needed*")
    elif proposal.my_stance is not None:
        counted = "" if proposal.counted else " (a voice: not counted)"
        lines.append(f"Your answer: {proposal.my_stance.label.lower()}{counted}")
    return clip("\n".join(lines), SECTION_LIMIT)


# --------------------------------------------------------------------------- the modal

MODAL_CALLBACK = "circlebot_propose"
TITLE_BLOCK, TEXT_BLOCK, DEADLINE_BLOCK, REVIEW_BLOCK = "title", "text", "deadline", "review"
MAX_TITLE = 150


def propose_modal(channel: str, max_text: int) -> dict[str, Any]:
    """`/propose` with no text: a form whose submission becomes the same command."""

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
        "title": plain("New proposal", 24),
        "submit": plain("Propose", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            field(
                TITLE_BLOCK,
                "Title",
                "A short first line people will recognise it by.",
                True,
                max_length=MAX_TITLE,
            ),
            field(
                TEXT_BLOCK,
                "Proposal",
                "What you propose the circle decides.",
                False,
                multiline=True,
                max_length=max_text,
            ),
            field(
                DEADLINE_BLOCK,
                "Deadline",
                "A duration (72h, 3d, 1w) or a date and time in the circle's time zone "
                "(2026-12-01 17:00). Empty: the circle's default.",
                True,
                placeholder=plain("3d", 150),
            ),
            field(
                REVIEW_BLOCK,
                "Review",
                "Optional: when to bring a passed decision back (6mo, 2027-01-15).",
                True,
                placeholder=plain("6mo", 150),
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
