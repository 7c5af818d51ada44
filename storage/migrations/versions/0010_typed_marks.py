"""typed marks: what a mark is (a reaction, a stance, a proxy named) is a column of its
own instead of a prefix of the emoji (`stance:consent`, `proxy:ben`, `literal:x`), and
a live mark keeps its source's event id beside its platform instead of the joined
`order` ("platform:event_id"). The history's reaction and proxy rows get the same
`mark` column. A button press waiting in the inbox names its stance.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 09:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# The prefixes the emoji column held, and the kind each meant. `literal:` marked a
# platform's reaction whose text looked like one of the others.
PREFIXES = (("literal:", "reaction"), ("stance:", "stance"), ("proxy:", "proxy"))


def _kind_and_value(emoji: Any) -> tuple[Any, Any]:
    """SQL for (kind, value) of an old emoji column."""
    kind = sa.case(
        *((sa.func.substr(emoji, 1, len(p)) == p, k) for p, k in PREFIXES), else_="reaction"
    )
    value = sa.case(
        *(
            (sa.func.substr(emoji, 1, len(p)) == p, sa.func.substr(emoji, len(p) + 1))
            for p, _ in PREFIXES
        ),
        else_=emoji,
    )
    return kind, value


def _old_emoji(kind: Any, value: Any) -> Any:
    """SQL for the old emoji column from (kind, value) (the downgrade)."""
    looks_like_ours = sa.or_(*(sa.func.substr(value, 1, len(p)) == p for p, _ in PREFIXES))
    return sa.case(
        (kind == "stance", sa.literal("stance:") + value),
        (kind == "proxy", sa.literal("proxy:") + value),
        (looks_like_ours, sa.literal("literal:") + value),
        else_=value,
    )


def _marks_columns(typed: bool) -> list[Any]:
    columns: list[Any] = [
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("member", sa.String(length=100), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
    ]
    if typed:
        columns.append(sa.Column("kind", sa.String(length=20), nullable=False))
    columns += [
        sa.Column("emoji", sa.String(length=100), nullable=False),
        sa.Column("added", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_id" if typed else "order", sa.String(length=255), nullable=False),
    ]
    key = ["proposal_id", "round", "member", "platform", *(["kind"] if typed else []), "emoji"]
    return [*columns, sa.PrimaryKeyConstraint(*key)]


def _copy_marks(typed: bool) -> None:
    """Rebuild `marks` in the other shape, row by row in SQL (both dialects)."""
    old = sa.Table("marks", sa.MetaData(), *_marks_columns(not typed))
    new = op.create_table(
        "marks_rebuilt",
        *_marks_columns(typed),
        sa.ForeignKeyConstraint(["proposal_id"], ["proposals.id"]),
    )
    c = old.c
    if typed:
        kind, value = _kind_and_value(c.emoji)
        # The platform was the order's part before its first ":".
        event_id = sa.func.substr(c.order, sa.func.length(c.platform) + 2)
        rows = sa.select(
            c.proposal_id, c.round, c.member, c.platform, kind, value, c.added, c.at, event_id
        )
        names = ["proposal_id", "round", "member", "platform", "kind", "emoji", "added", "at"]
        names.append("event_id")
    else:
        order = c.platform + sa.literal(":") + c.event_id
        emoji = _old_emoji(c.kind, c.emoji)
        rows = sa.select(c.proposal_id, c.round, c.member, c.platform, emoji, c.added, c.at, order)
        names = ["proposal_id", "round", "member", "platform", "emoji", "added", "at", "order"]
    op.execute(new.insert().from_select(names, rows))
    op.drop_table("marks")
    op.rename_table("marks_rebuilt", "marks")


def _inbox_presses(typed: bool) -> None:
    """A button press stored in the inbox and not applied yet: its stance by name."""
    inbox = sa.table(
        "inbox",
        sa.column("id", sa.Integer()),
        sa.column("kind", sa.String()),
        sa.column("payload", sa.JSON()),
    )
    bind = op.get_bind()
    rows = bind.execute(sa.select(inbox.c.id, inbox.c.payload).where(inbox.c.kind == "reaction"))
    for row_id, payload in list(rows):
        data = dict(payload or {})
        if typed and data.get("pressed"):
            data["stance"] = str(data.get("emoji") or "").removeprefix("stance:")
            data["emoji"] = ""
            del data["pressed"]
        elif not typed and data.get("stance"):
            data["emoji"] = "stance:" + str(data.pop("stance"))
            data["pressed"] = True
        else:
            continue
        bind.execute(inbox.update().where(inbox.c.id == row_id).values(payload=data))


def upgrade() -> None:
    with op.batch_alter_table("history") as batch:
        batch.add_column(sa.Column("mark", sa.String(length=20), nullable=True))
    history = sa.table(
        "history",
        sa.column("kind", sa.String()),
        sa.column("mark", sa.String()),
        sa.column("emoji", sa.String()),
    )
    kind, value = _kind_and_value(history.c.emoji)
    op.execute(
        history.update()
        .where(history.c.kind.in_(("reaction", "proxy")), history.c.emoji.is_not(None))
        .values(mark=kind, emoji=value)
    )
    _copy_marks(typed=True)
    _inbox_presses(typed=True)


def downgrade() -> None:
    _inbox_presses(typed=False)
    _copy_marks(typed=False)
    history = sa.table(
        "history",
        sa.column("mark", sa.String()),
        sa.column("emoji", sa.String()),
    )
    op.execute(
        history.update()
        .where(history.c.mark.is_not(None))
        .values(emoji=_old_emoji(history.c.mark, history.c.emoji))
    )
    with op.batch_alter_table("history") as batch:
        batch.drop_column("mark")
