"""Statements compiled once for both stores (:class:`calgate.store.bare.Statement`) carry the
values they hold themselves, each dialect its own: a literal ``LIMIT`` (SQLite adds ``OFFSET
0``, PostgreSQL does not, and the two name their anonymous values alike) and a ``NULL`` a
statement sets. Run on a real SQLite database."""

from __future__ import annotations

import sqlite3

from sqlalchemy import Column, Integer, MetaData, Select, String, Table, bindparam, select, update

from calgate.store.bare import Statement

jobs = Table(
    "jobs",
    MetaData(),
    Column("id", String, primary_key=True),
    Column("owner", String, nullable=True),
    Column("due", Integer),
)


def database() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE jobs (id TEXT PRIMARY KEY, owner TEXT, due INTEGER)")
    conn.executemany(
        "INSERT INTO jobs VALUES (?, ?, ?)", [("a", "me", 1), ("b", "me", 2), ("c", None, 3)]
    )
    return conn


def test_each_dialect_has_its_own_held_values() -> None:
    """Two literal limits: SQLite's second anonymous value is the first OFFSET (0), while
    PostgreSQL's of the same name is the second LIMIT (1)."""

    def due() -> Select[tuple[str]]:
        return select(jobs.c.id).where(jobs.c.due <= bindparam("b_now")).limit(1)

    statement = Statement.of(select(due().exists().label("one"), due().exists().label("two")))
    args = statement.args({"b_now": 5}, postgres=False)
    assert args.count(0) == 2  # both OFFSETs 0, whatever PostgreSQL calls its values
    assert database().execute(statement.sqlite, args).fetchall() == [(1, 1)]
    pg = statement.args({"b_now": 5}, postgres=True)
    assert 0 not in pg and pg.count(1) == 2  # two LIMITs, no OFFSET


def test_a_null_the_statement_sets_is_kept() -> None:
    free = Statement.of(
        update(jobs).where(jobs.c.owner == bindparam("b_owner")).values(owner=None, due=0)
    )
    conn = database()
    conn.execute(free.sqlite, free.args({"b_owner": "me"}, postgres=False))
    assert conn.execute("SELECT id, owner, due FROM jobs ORDER BY id").fetchall() == [
        ("a", None, 0),
        ("b", None, 0),
        ("c", None, 3),
    ]
    assert free.args({"b_owner": "me"}, postgres=True).count(None) == 1


def test_asked_values_must_be_given() -> None:
    statement = Statement.of(select(jobs.c.id).where(jobs.c.due <= bindparam("b_now")))
    try:
        statement.args({}, postgres=False)
    except KeyError as missing:
        assert missing.args == ("b_now",)
    else:
        raise AssertionError("a value the statement asks for was not asked")
