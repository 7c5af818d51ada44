"""The db_url fixture yields a working, empty database on every backend."""

from __future__ import annotations

import sqlalchemy as sa

SENTINEL_TABLE = "pgserver_isolation_probe"


def test_select_one(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(sa.text("select 1")).scalar_one() == 1
    finally:
        engine.dispose()


def _leaves_table_behind(db_url: str) -> None:
    engine = sa.create_engine(db_url)
    try:
        # The database starts empty: a table created by another test must not show up.
        assert SENTINEL_TABLE not in sa.inspect(engine).get_table_names()
        with engine.begin() as conn:
            conn.execute(sa.text(f"create table {SENTINEL_TABLE} (id integer primary key)"))
            conn.execute(sa.text(f"insert into {SENTINEL_TABLE} (id) values (1)"))
        assert SENTINEL_TABLE in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


# Two tests doing the same thing: whichever runs second fails unless each
# gets its own fresh database.
def test_fresh_database_first(db_url: str) -> None:
    _leaves_table_behind(db_url)


def test_fresh_database_second(db_url: str) -> None:
    _leaves_table_behind(db_url)
