"""Work that one replica of a deployment does for all: `once(engine, name)`.

Several `nhacviec run` processes may share one PostgreSQL database. Sending is
shared through row locks and leases (`Dispatcher.claim`), but some jobs are
for the deployment as a whole — writing the configuration into the outbox
(at start, on a configuration change, each night to extend the horizon) and
enqueuing the morning digest. Each replica runs them on its own schedule;
`once` lets only one of them do the work at a time:

    with once(engine, "sync") as mine:
        if mine:
            ...

On PostgreSQL it takes a session advisory lock, `pg_try_advisory_lock`, on a
connection of its own kept for the duration of the block: no table, nothing to
clean up, and a replica that dies (even `kill -9`, or a lost network) loses the
lock with its connection, so no one waits for a lease to expire. The keys live in
the two-integer key space, ("nhacviec", name) hashed, apart from the one-bigint
key of the schema migration lock (`store.MIGRATION_LOCK`).

These jobs are idempotent anyway (unique idempotency keys, fingerprints): the
lock keeps replicas from racing each other to the same rows — which would make
all but one fail on a unique key — and from doing the same work several times.

On SQLite `once` always yields True: only one daemon runs on a database file, as
`outbox.lock.single_instance` enforces with a file lock.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from sqlalchemy import Engine, text

log = logging.getLogger("nhacviec.singleton")

NAMESPACE = "nhacviec"


@contextlib.contextmanager
def once(engine: Engine, name: str, wait: bool = False) -> Iterator[bool]:
    """Yield True when this process holds the deployment-wide lock `name` for the block,
    False when another process holds it. With `wait`, wait for it instead (always True)."""
    if engine.dialect.name != "postgresql":
        yield True
        return
    take = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
    key = {"space": NAMESPACE, "name": name}
    # Autocommit: the lock is the session's, and the connection must not sit idle in a
    # transaction (holding a snapshot) while the work runs on other connections.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        got = conn.execute(text(f"SELECT {take}(hashtext(:space), hashtext(:name))"), key).scalar()
        if wait:
            got = True
        if not got:
            yield False
            return
        try:
            yield True
        finally:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(hashtext(:space), hashtext(:name))"), key)
            except Exception:  # the connection is gone, and the lock with it
                log.warning("could not release a singleton lock", extra={"lock": name}, exc_info=True)
                conn.invalidate()
