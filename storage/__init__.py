"""Storage: SQLAlchemy models, the repository, and migrations applied on start."""

from __future__ import annotations

from storage.db import make_engine
from storage.migrate import upgrade
from storage.repository import Repository


def open_repository(url: str) -> Repository:
    """An engine on `url` with the schema migrated to the newest version."""
    engine = make_engine(url)
    upgrade(engine)
    return Repository(engine)
