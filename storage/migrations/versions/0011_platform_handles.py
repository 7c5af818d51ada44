"""platform handles: a member's ids on each platform in one mapping (`members.handles`,
platform name -> id) instead of a column per platform; the config's members as last
read (`circles.config_members`) and the mentions of queued notices (`outbox.payload`)
take the same shape. Every id is kept.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-10 09:00:00
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# The platforms that had a column (and a config key) of their own before this revision.
OLD_COLUMNS = {"slack": "slack_id", "matrix": "matrix_id"}
OLD_RESOLVED = {"slack_email": "slack"}  # a config key looked up on that platform

_members = sa.table(
    "members",
    sa.column("id", sa.Integer),
    sa.column("slack_id", sa.String),
    sa.column("matrix_id", sa.String),
    sa.column("handles", sa.JSON),
)
_circles = sa.table("circles", sa.column("id", sa.Integer), sa.column("config_members", sa.JSON))
_outbox = sa.table("outbox", sa.column("id", sa.Integer), sa.column("payload", sa.JSON))


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("handles", sa.JSON(), nullable=True))
    bind = op.get_bind()
    for row in bind.execute(
        sa.select(_members.c.id, _members.c.slack_id, _members.c.matrix_id)
    ).all():
        ids = {"slack": row.slack_id, "matrix": row.matrix_id}
        handles = {platform: id for platform, id in ids.items() if id}
        bind.execute(_members.update().where(_members.c.id == row.id).values(handles=handles))
    with op.batch_alter_table("members") as batch:
        batch.alter_column("handles", existing_type=sa.JSON(), nullable=False)
        batch.drop_column("slack_id")
        batch.drop_column("matrix_id")
    _rewrite_config_members(bind, _config_member_up)
    _rewrite_notices(bind, _mention_up)


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("slack_id", sa.String(length=100), nullable=True))
        batch.add_column(sa.Column("matrix_id", sa.String(length=255), nullable=True))
    bind = op.get_bind()
    for row in bind.execute(sa.select(_members.c.id, _members.c.handles)).all():
        handles = row.handles or {}
        bind.execute(
            _members.update()
            .where(_members.c.id == row.id)
            .values(slack_id=handles.get("slack"), matrix_id=handles.get("matrix"))
        )
    with op.batch_alter_table("members") as batch:
        batch.drop_column("handles")
    _rewrite_config_members(bind, _config_member_down)
    _rewrite_notices(bind, _mention_down)


def _config_member_up(data: dict[str, Any]) -> dict[str, Any]:
    if "handles" in data:
        return data
    new = {key: data[key] for key in ("name", "side", "role")}
    new["handles"] = {p: data[p] for p in sorted(OLD_COLUMNS) if data.get(p)}
    resolved = {OLD_RESOLVED[k]: data[k] for k in OLD_RESOLVED if data.get(k)}
    if resolved:
        new["to_resolve"] = resolved
    return new


def _config_member_down(data: dict[str, Any]) -> dict[str, Any]:
    if "handles" not in data:
        return data
    old = {key: data[key] for key in ("name", "side", "role")}
    for platform in OLD_COLUMNS:
        old[platform] = data["handles"].get(platform)
    for key, platform in OLD_RESOLVED.items():
        if (data.get("to_resolve") or {}).get(platform):
            old[key] = data["to_resolve"][platform]
    return old


def _mention_up(part: dict[str, Any]) -> dict[str, Any]:
    if "handles" in part:
        return part
    return {
        "member": part["member"],
        "handles": {p: part[p] for p in sorted(OLD_COLUMNS) if part.get(p)},
    }


def _mention_down(part: dict[str, Any]) -> dict[str, Any]:
    if "handles" not in part:
        return part
    return {"member": part["member"], **{p: part["handles"].get(p) for p in OLD_COLUMNS}}


def _rewrite_config_members(bind: sa.Connection, change: Any) -> None:
    for row in bind.execute(sa.select(_circles.c.id, _circles.c.config_members)).all():
        members = [change(dict(m)) for m in row.config_members or []]
        if members != (row.config_members or []):
            bind.execute(
                _circles.update().where(_circles.c.id == row.id).values(config_members=members)
            )


def _rewrite_notices(bind: sa.Connection, change: Any) -> None:
    for row in bind.execute(sa.select(_outbox.c.id, _outbox.c.payload)).all():
        payload = row.payload or {}
        parts = payload.get("notice")
        if not isinstance(parts, list):
            continue
        new = [change(dict(p)) if isinstance(p, dict) else p for p in parts]
        if new != parts:
            bind.execute(
                _outbox.update()
                .where(_outbox.c.id == row.id)
                .values(payload={**payload, "notice": new})
            )
