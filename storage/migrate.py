"""Apply the Alembic migrations on start (and generate new ones during development)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


# Replicas starting together on one PostgreSQL database take turns: the first migrates,
# the others then find the schema up to date.
MIGRATION_LOCK = 0x6D696772  # "migr"


def upgrade(engine: Engine) -> None:
    config = alembic_config()
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


@dataclass(frozen=True)
class SchemaState:
    """Where a database's schema stands against this code's migrations."""

    current: str | None  # None: no schema yet
    head: str
    behind: int  # migrations this code has that the database has not had
    known: bool  # False: made by a newer circlebot (a revision this code lacks)


def schema_state(engine: Engine) -> SchemaState:
    """Read the schema's revision without changing anything."""
    scripts = ScriptDirectory.from_config(alembic_config())
    head = scripts.get_current_head()
    assert head is not None
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    ours = [script.revision for script in scripts.walk_revisions()]  # newest first
    if current is None:
        return SchemaState(None, head, len(ours), True)
    if current not in ours:
        return SchemaState(current, head, 0, False)
    return SchemaState(current, head, ours.index(current), True)
