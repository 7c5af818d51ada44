"""What `help` says: every command with its syntax, who may use it and what it does,
in the reader's language, with the command names in the language asked for."""

from __future__ import annotations

from bot.domain.durations import (
    MAX_YEARS,
)
from bot.domain.i18n import DEFAULT_LANGUAGE, Lang
from bot.text.grammar import MAX_DECISIONS, Grammar, english, grammar, lookup


def _about(name: str, say: Lang, words: Grammar) -> tuple[str, str]:
    """Who may use a command, and what it does, in the reader's language."""
    match name:
        case "propose":
            return say._("leaders"), say._(
                "open a proposal; `{by}` sets the deadline, `{review}` when to revisit it",
                by=words.by,
                review=words.review,
            )
        case "amend":
            return say._("author, admins"), say._(
                "change the text; starts a new round and asks everyone again"
            )
        case "withdraw":
            return say._("author, admins"), say._("withdraw an open proposal")
        case "cosponsor":
            return say._("leaders of another side"), say._("co-sponsor a draft so voting opens")
        case "close":
            return say._("author, admins"), say._("decide now, by the rule applied at the deadline")
        case "outcome":
            return say._("author, admins"), say._(
                "once closed: the outcome statement, what was decided and who does what by when"
            )
        case "consent":
            return say._("leaders"), say._("consent (same as reacting 👍 or ✅)")
        case "concern":
            return say._("leaders"), say._("consent with a concern (same as reacting 🤔)")
        case "stand_aside":
            return say._("leaders"), say._("stand aside (same as reacting 😐)")
        case "object":
            return say._("leaders"), say._("object; this blocks (same as reacting ✋ or 🛑)")
        case "proposals":
            return say._("anyone"), say._("open proposals with their per-side tallies")
        case "status":
            return say._("anyone"), say._("answers per side, round and deadline of one proposal")
        case "decisions":
            return say._("anyone"), say._(
                "the last N closed proposals and their outcomes (default 10, at most {most}); "
                "with {words}, only those whose text or outcome statement has them",
                most=MAX_DECISIONS,
                words=words.words,
            )
        case "checkin":
            return say._("admins, facilitator"), say._("start a check-in now")
        case "away":
            return say._("members"), say._(
                "skip me for facilitation and reminders until then; a leader may name a "
                "leader of their own side as {proxy}, who answers for them meanwhile (if the "
                "circle allows proxies)",
                proxy=words.proxy,
            )
        case "back":
            return say._("members"), say._("include me again after away")
        case "help":
            return say._("anyone"), say._("this help, or help on one command")
    raise KeyError(name)


def _entry(usage_text: str, who: str, what: str) -> str:
    return f"• `{usage_text}` — {who}: {what}"


def _line(name: str, say: Lang, words: Grammar) -> str:
    if name == "circle":
        return "\n".join(
            [
                _entry(
                    words.names["circle"],
                    say._("anyone"),
                    say._("sides, members, roles, next facilitator, schedule"),
                ),
                _entry(
                    words.circle_add,
                    say._("admins"),
                    say._("add a member or change their side or role"),
                ),
                _entry(words.circle_remove, say._("admins"), say._("remove a member")),
                _entry(
                    words.circle_report,
                    say._("anyone"),
                    say._(
                        "the circle's own report per side (default: the last 90 days); "
                        "{me}: your own figures, only for you",
                        me=words.me,
                    ),
                ),
            ]
        )
    return _entry(words.usage[name], *_about(name, say, words))


def _legend(say: Lang) -> str:
    return say._(
        "Reactions on a proposal (defaults): 👍/✅ consent · 🤔 concern (consent with a "
        "concern) · 😐 stand aside · ✋/🛑 object · 🤝 co-sponsor"
    )


def _when_help(say: Lang, words: Grammar) -> str:
    return say._(
        "{when}: a duration ({durations}) or a date and time in your time zone ({date}), "
        "at most {years} years ahead.",
        when=words.when,
        durations=words.durations,
        date="2026-12-01 17:00",
        years=MAX_YEARS,
    )


def _full_help(say: Lang, words: Grammar) -> str:
    stances = " · ".join(
        f"`{words.usage[n]}`" for n in ("consent", "concern", "stand_aside", "object")
    )
    notation = say._(
        "ID: a proposal number, 7 or #7. {user}: a name or a mention.",
        user=words.user,
    )
    return "\n".join(
        [
            say._(
                "What I understand (type /{command} or !{command}, as your platform has it):",
                command=words.command,
            ),
            say._("Proposals"),
            *(
                _line(n, say, words)
                for n in ("propose", "amend", "withdraw", "cosponsor", "close", "outcome")
            ),
            f"• {stances} — {say._('leaders')}: "
            + say._("answer a proposal, exactly like reacting"),
            *(_line(n, say, words) for n in ("proposals", "status", "decisions")),
            say._("Circle"),
            *(_line(n, say, words) for n in ("checkin", "away", "back", "circle", "help")),
            _legend(say),
            _when_help(say, words) + " " + notation,
        ]
    )


def usage(name: str, names: str = DEFAULT_LANGUAGE) -> str:
    """The syntax of one command (canonical name or alias), in the language `names`:
    `amend ID TEXT [by WHEN]`, `enmendar ID TEXTO [hasta CUÁNDO]`."""
    found = lookup(name)
    if found is None:
        raise KeyError(name)
    return grammar(names).usage[found[0]]


def help_text(
    topic: str | None = None, speech: Lang | None = None, names: str | None = None
) -> str:
    """Everything the bot understands, or the help on one command (canonical name or
    alias): explained in `speech` (English unless given), with the command names and
    syntax of the language `names` (that of `speech` unless given)."""
    say = speech or english()
    words = grammar(names or say.code)
    if topic is None:
        return _full_help(say, words)
    found = lookup(topic)
    if found is None:
        raise KeyError(topic)
    name = found[0]
    extra = ""
    if name in ("propose", "amend", "away"):
        extra = "\n" + _when_help(say, words)
    elif name in ("consent", "concern", "stand_aside", "object"):
        extra = "\n" + _legend(say)
    return _line(name, say, words).removeprefix("• ") + extra


HELP_TEXT: str = help_text()
