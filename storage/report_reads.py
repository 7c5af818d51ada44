"""The circle report's reads: one query for the history of the proposals opened in a
period, one for its check-ins and one for their replies."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    and_,
    case,
    func,
    literal,
    null,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.sql.elements import ColumnElement

from bot.domain.model import Checkin, MarkKind, Stance
from bot.domain.report import StanceMark
from bot.ports.report_store import REPORT_KINDS, HistoryEntry
from storage.checkins import checkin_from_row
from storage.history import HISTORY
from storage.models import CheckinReplyRow, CheckinRow, HistoryRow
from storage.tx_base import TxBase

_STANCES = {stance.value: stance for stance in Stance}


def _same(value: Any) -> Any:
    return value


def _mapped(row: Any, frozen: Mapping[tuple[int, int], Mapping[str, str]]) -> Any:
    """A row read with its raw emoji, its stance now from its round's frozen map; None
    for a reaction that marks none there."""
    pid, rnd, kind, actor, member, marked, added, info, when, mark = row
    if kind == "reaction" and mark == MarkKind.REACTION.value:
        marked = frozen.get((pid, rnd), {}).get(marked)
        if marked is None:
            return None
    return (pid, rnd, kind, actor, member, marked, added, info, when)


class ReportTx(TxBase):
    """Reads for bot.queries.report."""

    def report_entries(
        self, circle_id: int, since: datetime, until: datetime
    ) -> list[HistoryEntry | StanceMark]:
        opened = select(HistoryRow.proposal_id).where(
            HistoryRow.circle_id == circle_id,
            HistoryRow.kind == "propose",
            HistoryRow.at >= since,
            HistoryRow.at < until,
        )
        h = HISTORY.c
        # An emoji means what its round's frozen rules said (the tally counted it so),
        # whatever the circle's map is now.
        maps = self._emoji_maps(circle_id, opened)
        one_map = len(maps) <= 1
        # The stance a reaction row marks is decided here, so that a reaction which is
        # none (a 🎉) is never read: one set by a button or a command is its own value, an
        # emoji's is its round's map. Rounds with different maps (the circle changed its
        # map meanwhile): the emoji is read, and mapped below.
        emoji = maps[0] if maps else {}
        by_emoji: ColumnElement[Any] = (
            (case(emoji, value=h.emoji) if emoji else null()) if one_map else h.emoji
        )
        stance = case(
            (h.kind != "reaction", null()),
            (and_(h.mark == MarkKind.STANCE.value, h.emoji.in_(list(_STANCES))), h.emoji),
            (h.mark == MarkKind.REACTION.value, by_emoji),
            else_=null(),
        )
        # A reaction's detail is never read: not decoding it is most of the time saved.
        detail: ColumnElement[Any] = case((h.kind == "reaction", null()), else_=h.detail)
        at: ColumnElement[Any]
        added: ColumnElement[Any]
        sqlite = self.c.dialect.name == "sqlite"
        if sqlite:
            # SQLite keeps UTC times and JSON as text: read as plain text, the times then
            # as aware by fromisoformat alone and a detail decoded only where there is one
            # (no type's conversion runs on each of a long history's rows).
            at = type_coerce(h.at, String()) + literal("+00:00")
            # A round's detail holds the circle's whole rules: only its leaders and
            # reminder offsets are read, so only they are decoded.
            kept = func.json_object(
                "leaders",
                func.json(func.json_extract(h.detail, "$.leaders")),
                "rules",
                func.json_object(
                    "reminders", func.json(func.json_extract(h.detail, "$.rules.reminders"))
                ),
            )
            detail = type_coerce(
                case(
                    (h.kind == "reaction", null()),
                    (h.kind == "round", kept),
                    else_=h.detail,
                ),
                String(),
            )
            added = type_coerce(h.added, Integer())
        else:
            at, added = h.at, h.added
        columns = [h.proposal_id, h.round, h.kind, h.actor, h.member, stance, added, detail, at]
        query = (
            select(*columns, *([] if one_map else [h.mark]))
            .where(
                h.circle_id == circle_id,
                h.proposal_id.in_(opened.scalar_subquery()),
                h.kind.in_(REPORT_KINDS),
                h.counted.is_(True),
                or_(
                    h.kind != "reaction",
                    and_(h.member.is_not(None), h.round.is_not(None), stance.is_not(None)),
                ),
            )
            .order_by(h.id)
        )
        # All rows at once: iterating a result row by row costs more
        # than the query. A stance is read straight into the report's record: a long
        # history is mostly stances, and each object more per row is time.
        rows = self.c.execute(query).all()
        read = datetime.fromisoformat if sqlite else _same
        decode = json.loads if sqlite else _same
        if not one_map:
            frozen = self._frozen_emoji(circle_id, opened)
            rows = [mapped for row in rows if (mapped := _mapped(row, frozen)) is not None]
        stance_of = _STANCES.__getitem__
        return [
            StanceMark(pid, rnd, member, stance_of(marked), bool(added), read(when))
            if kind == "reaction"
            else HistoryEntry(
                pid, rnd, kind, actor, None if info is None else decode(info), read(when)
            )
            for pid, rnd, kind, actor, member, marked, added, info, when in rows
        ]

    def _emoji_maps(self, circle_id: int, opened: Any) -> list[dict[str, str]]:
        """The emoji maps the rounds of these proposals froze, each once (almost always
        one: the circle's)."""
        h = HISTORY.c
        texts = self.c.execute(
            select(h.detail["rules"]["emoji"].as_string())
            .where(
                h.circle_id == circle_id,
                h.kind == "round",
                h.proposal_id.in_(opened.scalar_subquery()),
            )
            .distinct()
        ).scalars()
        return [json.loads(text) for text in texts if text]

    def _frozen_emoji(self, circle_id: int, opened: Any) -> dict[tuple[int, int], dict[str, str]]:
        """Each round's emoji map, as its rules froze it: (proposal, round) -> emoji ->
        stance value."""
        h = HISTORY.c
        rows = self.c.execute(
            select(h.proposal_id, h.round, h.detail["rules"]["emoji"]).where(
                h.circle_id == circle_id,
                h.kind == "round",
                h.proposal_id.in_(opened.scalar_subquery()),
            )
        )
        return {(pid, rnd): dict(emoji or {}) for pid, rnd, emoji in rows}

    def checkins_posted(self, circle_id: int, since: datetime, until: datetime) -> list[Checkin]:
        rows = self.c.execute(
            select(CheckinRow)
            .where(
                CheckinRow.circle_id == circle_id,
                CheckinRow.started_at >= since,
                CheckinRow.started_at < until,
            )
            .order_by(CheckinRow.id)
        )
        return [checkin_from_row(row) for row in rows]

    def replies_of(self, checkin_ids: list[int]) -> dict[int, set[str]]:
        found: dict[int, set[str]] = {checkin_id: set() for checkin_id in checkin_ids}
        if not checkin_ids:
            return found
        rows = self.c.execute(
            select(CheckinReplyRow.checkin_id, CheckinReplyRow.member).where(
                CheckinReplyRow.checkin_id.in_(checkin_ids)
            )
        )
        for checkin_id, member in rows:
            found[checkin_id].add(member)
        return found
