"""What the circle's report reads from the store: the history of the proposals opened
in a period, and the check-ins posted in it, in the shape the report needs and no more."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple, Protocol

from bot.domain.model import Checkin
from bot.domain.report import StanceMark

# The history kinds a report reads (bot.queries.report turns them into records).
REPORT_KINDS = ("propose", "round", "reaction", "cosponsor", "amend", "outcome")


class HistoryEntry(NamedTuple):
    """One history row of a proposal other than a stance, as the report reads it."""

    proposal_id: int
    round: int | None
    kind: str
    actor: str
    detail: dict[str, Any] | None
    at: datetime  # aware, UTC


class ReportStore(Protocol):
    """The report's reads."""

    def report_entries(
        self, circle_id: int, since: datetime, until: datetime
    ) -> list[HistoryEntry | StanceMark]:
        """Counted history rows of REPORT_KINDS of the proposals opened in [since,
        until), in recorded order. A reaction is read only when it marks a stance (set
        by a button or a command, or an emoji its round's frozen rules map to one, as the
        tally counted it), as the report's own record of it: a long history is mostly
        stances."""

    def checkins_posted(self, circle_id: int, since: datetime, until: datetime) -> list[Checkin]:
        """Check-ins started in [since, until), oldest first."""

    def replies_of(self, checkin_ids: list[int]) -> dict[int, set[str]]:
        """Who replied to each check-in."""
