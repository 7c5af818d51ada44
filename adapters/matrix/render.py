"""Matrix renderings of the message model: event contents with an HTML `formatted_body`
and a plain `body`. Pure functions, no I/O.

People's text is data: everything is HTML-escaped, `@room` is defused, and every content
sets `m.mentions` explicitly, so only the people the bot means to ping are pinged (with
`m.mentions` present, homeservers skip the legacy body-matching push rules, `@room`
included)."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from adapters.matrix.config import PLATFORM, handle_of
from bot.domain.i18n import Lang, of
from bot.domain.model import Status
from bot.text.messages import (
    Mention,
    Notice,
    Outcome,
    ProposalCard,
    Reminder,
    Reply,
    SideLine,
    by_proxy,
    card_title,
    outcome_headline,
    reasons_line,
    status_label,
)
from bot.text.render_text import card_text, legend, outcome_text, reminder_text, voice
from bot.text.report import ReportMessage, report_text

HTML_FORMAT = "org.matrix.custom.html"
MATRIX_TO = "https://matrix.to/#/"
# Matrix events are at most 65 536 bytes; an edit carries the card twice (fallback and
# m.new_content), and HTML doubles it again. Longer proposal text is shortened on the card
# (the whole text stays in the record and in `status`).
MAX_CARD_TEXT = 6000
# A word joiner between "@" and "room": reads the same, matches no push rule.
_ROOM_PING = re.compile(r"@(room)\b", re.IGNORECASE)
_CODE = re.compile(r"`([^`\n]+)`")

Content = dict[str, Any]


def defuse(text: str) -> str:
    """Plain text that cannot ping the whole room."""
    return _ROOM_PING.sub("@\u2060\\1", text)


def escape(text: str) -> str:
    """Text as HTML: escaped, defused, newlines kept."""
    return html.escape(defuse(text), quote=True).replace("\n", "<br>")


def escape_code(text: str) -> str:
    """Like escape(), and `quoted` parts (command examples in replies) as <code>."""
    return _CODE.sub(lambda m: f"<code>{m.group(1)}</code>", escape(text))


def txn_id(key: str) -> str:
    """A Matrix transaction id derived from a stable idempotency key: the same key always
    gives the same id, so the homeserver answers a retried send with the first event."""
    readable = re.sub(r"[^A-Za-z0-9._=-]", "-", key)[:48]
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return f"cb.{readable}.{digest}"


def mentions(user_ids: Iterable[str]) -> dict[str, list[str]]:
    """`m.mentions` for exactly these people; `{}` (nobody) when there are none."""
    chosen = sorted(set(user_ids))
    return {"user_ids": chosen} if chosen else {}


def pill(mention: Mention) -> str:
    """A mention as HTML: a matrix.to link (a "pill") when the person has a Matrix id."""
    name = html.escape(defuse(f"@{mention.member}"))
    user = handle_of(mention)
    if user:
        return f'<a href="{MATRIX_TO}{html.escape(user, quote=True)}">{name}</a>'
    return name


def _shorten(text: str, lang: Lang) -> str:
    if len(text) <= MAX_CARD_TEXT:
        return text
    return text[:MAX_CARD_TEXT].rstrip() + lang._(" … (shortened; `status` shows all of it)")


def _rich(template: str, **html_params: str) -> str:
    """A translated text as HTML: the template escaped, then its `{placeholders}` filled
    with what is already HTML (escaped people's text, <strong> around a date)."""
    return escape(template).format(**html_params)


def _side_state(line: SideLine, lang: Lang) -> str:
    if line.objecting:
        return lang._("objecting")
    if line.consents:
        return lang._("consents")
    if not line.waiting:
        return lang._("not consenting")
    return lang._("waiting")


def _tally_html(lines: Sequence[SideLine], lang: Lang) -> str:
    parts = []
    for line in lines:
        state = html.escape(_side_state(line, lang), quote=True)
        parts.append(
            f"<strong>{html.escape(line.side)}</strong> {line.consenting}/{line.leaders} "
            f'<span title="{state}">{html.escape(line.mark)}</span>'
        )
    return " · ".join(parts)


def _para(text: str) -> str:
    return f"<p>{text}</p>"


def card_html(card: ProposalCard) -> str:
    reader = card.reader
    lang = of(reader)
    state = status_label(card.status, lang)
    rows = [
        _para(f"<strong>{escape(card_title(card, lang))}</strong> · <em>{escape(state)}</em>"),
        f"<blockquote>{escape(_shorten(card.text, lang))}</blockquote>",
    ]
    if card.status is Status.DRAFT:
        draft = lang._("Draft: needs a co-sponsor from another side (🤝) before voting opens.")
        rows.append(_para(escape(draft)))
    elif card.status is Status.OPEN:
        deadline = lang.when(card.deadline, reader.timezone)
        line = lang._("Round {round} · answer by {deadline}")
        rows.append(
            _para(
                _rich(line, round=str(card.round), deadline=f"<strong>{escape(deadline)}</strong>")
            )
        )
        react = lang._("React: {legend}", legend=legend(card))
        rows.append(_para(escape(react)))
    elif card.decided_at is not None:
        when = lang.when(card.decided_at, reader.timezone)
        closed = (
            lang._("Closed {when} (round {round})", when=when, round=card.round)
            if card.round
            else lang._("Closed {when}", when=when)  # a draft: voting never opened
        )
        rows.append(_para(escape(closed)))
    tally = lang._("Tally: {tally}")
    rows.append(_para(_rich(tally, tally=_tally_html(card.sides, lang))))
    waiting = [name for side in card.sides for name in side.waiting]
    if waiting and card.status is Status.OPEN:
        rows.append(_para(escape(lang._("Waiting on: {names}", names=", ".join(waiting)))))
    if card.voices:
        voices = ", ".join(voice(name, stance, lang) for name, stance in card.voices)
        rows.append(_para(escape(lang._("Voices: {voices}", voices=voices))))
    if reasons := reasons_line(card.reasons, lang):
        rows.append(_para(escape(reasons)))
    if proxied := by_proxy(card.sides, lang):
        rows.append(_para(escape(lang._("By proxy: {names}", names=proxied))))
    if card.closed_by:
        closed_by = lang._("Closed before its deadline by {name}.", name=card.closed_by)
        rows.append(_para(escape(closed_by)))
    if card.statement:
        rows.append(_para(escape(lang._("Outcome statement: {text}", text=card.statement))))
    if card.cosponsor:
        rows.append(_para(escape(lang._("Co-sponsored by {name}", name=card.cosponsor))))
    if card.review_at is not None:
        review = lang._("Review on {when}", when=lang.when(card.review_at, reader.timezone))
        rows.append(_para(escape(review)))
    return "".join(rows)


def card_body(card: ProposalCard) -> str:
    if len(card.text) > MAX_CARD_TEXT:
        card = _with_text(card, _shorten(card.text, of(card.reader)))
    return defuse(card_text(card))


def _with_text(card: ProposalCard, text: str) -> ProposalCard:
    return replace(card, text=text)


def card_content(card: ProposalCard) -> Content:
    """The card: a plain m.text (so it notifies like any message; m.notice would be
    silenced by the default push rules) that pings nobody."""
    return {
        "msgtype": "m.text",
        "body": card_body(card),
        "format": HTML_FORMAT,
        "formatted_body": card_html(card),
        "m.mentions": {},
    }


def edit_content(message_ref: str, new: Content) -> Content:
    """An edit (`m.replace`) of an earlier message with `new` as its content. The top-level
    `m.mentions` only names people newly mentioned by the edit: nobody."""
    return {
        "msgtype": new["msgtype"],
        "body": "* " + new["body"],
        "format": HTML_FORMAT,
        "formatted_body": "* " + new["formatted_body"],
        "m.new_content": new,
        "m.relates_to": {"rel_type": "m.replace", "event_id": message_ref},
        "m.mentions": {},
    }


def in_thread(content: Content, root: str) -> Content:
    """`content` posted in the thread of `root` (with a reply fallback for clients
    without threads)."""
    return {
        **content,
        "m.relates_to": {
            "rel_type": "m.thread",
            "event_id": root,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": root},
        },
    }


def notice_content(notice: Notice) -> Content:
    """A notice's words come from the core, already in the circle's language."""
    body = []
    rich = []
    ids = []
    for part in notice.parts:
        if isinstance(part, Mention):
            body.append(defuse(f"@{part.member}"))
            rich.append(pill(part))
            if user := handle_of(part):
                ids.append(user)
        else:
            body.append(defuse(part))
            rich.append(escape(part))
    # Pinging someone needs m.text: the default push rules silence every m.notice.
    return {
        "msgtype": "m.text" if ids else "m.notice",
        "body": "".join(body),
        "format": HTML_FORMAT,
        "formatted_body": "".join(rich),
        "m.mentions": mentions(ids),
    }


def outcome_content(outcome: Outcome) -> Content:
    lang = of(outcome.reader)
    # A draft that never opened voting has no round to name.
    first = lang._("{headline} (round {round})") if outcome.round else "{headline}"
    lines = [
        _rich(
            first,
            headline=f"<strong>{escape(outcome_headline(outcome, lang))}</strong>",
            round=str(outcome.round),
        ),
        _tally_html(outcome.sides, lang),
    ]
    lines += [escape(line) for line in outcome.people_lines(lang)]
    if outcome.note:
        lines.append(escape(outcome.note))  # the core's words, in the circle's language
    return {
        "msgtype": "m.text",
        "body": defuse(outcome_text(outcome)),
        "format": HTML_FORMAT,
        "formatted_body": _para("<br>".join(lines)),
        "m.mentions": {},
    }


def reminder_content(reminder: Reminder) -> Content:
    """Mentions exactly the people who have not answered; `m.mentions` names exactly
    those of them with a Matrix id (m.text: a notice would not notify them). Posted in
    the card's thread, so in the circle's language."""
    reader = reminder.reader
    lang = of(reader)
    late = lang._(" (late: the bot was offline when it was due)") if reminder.late else ""
    deadline = f"<strong>{escape(lang.when(reminder.deadline, reader.timezone))}</strong>"
    rich = _rich(
        lang._("⏰ Proposal #{number} closes {deadline}. {waiting}: {people}{late}"),
        number=str(reminder.proposal_id),
        deadline=deadline,
        waiting=escape(reminder.incomplete(lang)),
        people=", ".join(pill(person) for person in reminder.waiting),
        late=escape(late),
    )
    return {
        "msgtype": "m.text",
        "body": defuse(reminder_text(reminder)),
        "format": HTML_FORMAT,
        "formatted_body": rich,
        "m.mentions": mentions(user for p in reminder.waiting if (user := handle_of(p))),
    }


def report_content(report: ReportMessage) -> Content:
    """The report as text bars: a monospace block keeps the bars in line."""
    text = report_text(report)
    title, _, rest = text.partition("\n")
    return {
        "msgtype": "m.notice",
        "body": defuse(text),
        "format": HTML_FORMAT,
        "formatted_body": f"<p><strong>{escape(title)}</strong></p>"
        f"<pre><code>{html.escape(defuse(rest.strip()))}</code></pre>",
    }


def message_content(message: Notice | Outcome | Reminder | ReportMessage) -> Content:
    if isinstance(message, ReportMessage):
        return report_content(message)
    if isinstance(message, Outcome):
        return outcome_content(message)
    if isinstance(message, Reminder):
        return reminder_content(message)
    return notice_content(message)


def reply_content(
    user: str, reply: Reply, in_reply_to: str | None, thread_root: str | None
) -> Content:
    """An answer to one person's command. Matrix has no messages only one person sees
    (no Slack-style ephemeral messages): the next best is an m.notice in reply to their
    command that mentions them alone, so it stands out to them and pings nobody else
    (and, being a notice, other bots ignore it)."""
    marker = "" if reply.ok else "⚠️ "
    who = Mention(member=user.lstrip("@").split(":", 1)[0], handles={PLATFORM: user})
    rich = escape_code(reply.text)
    if reply.report is not None:  # text bars line up in a monospace block
        rich = report_content(reply.report)["formatted_body"]
    content: Content = {
        "msgtype": "m.notice",
        "body": f"{defuse(user)}: {marker}{defuse(reply.text)}",
        "format": HTML_FORMAT,
        "formatted_body": f"{pill(who)}: {marker}{rich}",
        "m.mentions": mentions([user]),
    }
    relation: Content = {}
    if thread_root is not None:
        relation = {"rel_type": "m.thread", "event_id": thread_root, "is_falling_back": False}
    if in_reply_to is not None:
        relation["m.in_reply_to"] = {"event_id": in_reply_to}
    if relation:
        content["m.relates_to"] = relation
    return content
