"""What the circle's report reads from the store: the history of the proposals opened
in a period, and the check-ins posted in it, in the shape the report needs and no more."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple, Protocol

from bot.domain.model import Checkin

# The history kinds a report reads (bot.queries.report turns them into records).
REPORT_KINDS = ("propose", "round", "reaction", "cosponsor", "amend", "outcome")


class HistoryEntry(NamedTuple):
    """One history row of a proposal, as the report reads it (a tuple: a long history
    has hundreds of thousands)."""

    proposal_id: int
    round: int | None
    kind: str
    actor: str
    member: str | None
    mark: str | None  # a reaction row's MarkKind value (bot.domain.model)
    emoji: str | None  # and what it marks: the emoji, or the stance
    added: bool | None
    detail: dict[str, Any] | None  # None for a reaction (its detail is not read)
    at: datetime  # aware, UTC


class ReportStore(Protocol):
    """The report's reads."""

    def report_entries(
        self, circle_id: int, since: datetime, until: datetime
    ) -> list[HistoryEntry]:
        """Counted history rows of REPORT_KINDS of the proposals opened in [since,
        until), in recorded order."""

    def checkins_posted(self, circle_id: int, since: datetime, until: datetime) -> list[Checkin]:
        """Check-ins started in [since, until), oldest first."""

    def replies_of(self, checkin_ids: list[int]) -> dict[int, set[str]]:
        """Who replied to each check-in."""
