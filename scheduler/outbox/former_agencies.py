"""The agencies the ledger knows: what tells an agency that has left the configuration from a typo.

A plan that names an agency no longer in `config/agencies/` is refused when the id is unknown
(most likely a typo), and only warned about when the ledger holds occurrences of that agency:
it existed, and was removed (abolished, merged). `load_config(..., former=...)` takes the result.
"""

from __future__ import annotations

from sqlalchemy import Engine, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from scheduler.outbox.store import Occurrence, make_engine, sqlite_file


def former_agencies(engine: Engine) -> frozenset[str]:
    """The ids of every agency the ledger holds occurrences of (an index-only read). Empty when
    the database has no schema yet or cannot be read (the configuration is then checked strictly:
    an old plan naming a removed agency is an error until the database answers; the commands and
    the service report an unreachable database themselves)."""
    table = Occurrence.__table__
    try:
        with engine.connect() as conn:
            if not inspect(conn).has_table("occurrence"):
                return frozenset()
            return frozenset(conn.execute(select(table.c.agency_id).distinct()).scalars())
    except SQLAlchemyError:
        return frozenset()


def former_agencies_at(url: str) -> frozenset[str]:
    """`former_agencies` of the database at `url`, for `nhacviec check` and the other commands;
    nothing when it does not exist yet (it is never created for this)."""
    path = sqlite_file(url)
    if path is not None and not path.exists():
        return frozenset()
    engine = make_engine(url)
    try:
        return former_agencies(engine)
    finally:
        engine.dispose()
