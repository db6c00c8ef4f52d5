"""Calendar feeds' rows (`calendar_feed`): the current feed of an agency or a plan, made on first
use; revocation (with a new URL at once, when asked); the listing; and the row a token names.

A target has at most one current (unrevoked) feed that `current` hands out; several may exist
after a race of two first uses, and each stays valid until revoked (`revoke` ends them all).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, insert, select, update

from scheduler.outbox.store import CalendarFeed, aware, utcnow

NONCE_BYTES = 16


class FeedKind(StrEnum):
    AGENCY = "agency"
    PLAN = "plan"


@dataclass(frozen=True)
class Feed:
    id: int
    kind: FeedKind
    target_id: str
    nonce: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    last_fetched_at: datetime | None
    etag: str | None = None
    changed_at: datetime | None = None


def _feed(row: Any) -> Feed:
    return Feed(
        id=row.id,
        kind=FeedKind(row.kind),
        target_id=row.target_id,
        nonce=row.nonce,
        created_at=aware(row.created_at),
        created_by=row.created_by,
        revoked_at=aware(row.revoked_at) if row.revoked_at else None,
        last_fetched_at=aware(row.last_fetched_at) if row.last_fetched_at else None,
        etag=row.etag,
        changed_at=aware(row.changed_at) if row.changed_at else None,
    )


def create(engine: Engine, kind: FeedKind, target_id: str, by: str) -> Feed:
    """A new feed (a new URL) for the target; older ones stay valid until revoked."""
    table = CalendarFeed.__table__
    with engine.begin() as conn:
        new_id = conn.execute(
            insert(table)
            .values(
                kind=kind.value,
                target_id=target_id,
                nonce=secrets.token_urlsafe(NONCE_BYTES),
                created_at=utcnow(),
                created_by=by,
            )
            .returning(table.c.id)
        ).scalar_one()
        return _feed(conn.execute(select(table).where(table.c.id == new_id)).one())


def current(engine: Engine, kind: FeedKind, target_id: str) -> Feed | None:
    """The newest unrevoked feed of the target, or None."""
    table = CalendarFeed.__table__
    query = (
        select(table)
        .where(table.c.kind == kind.value, table.c.target_id == target_id, table.c.revoked_at.is_(None))
        .order_by(table.c.id.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    return _feed(row) if row is not None else None


def get_or_create(engine: Engine, kind: FeedKind, target_id: str, by: str) -> Feed:
    return current(engine, kind, target_id) or create(engine, kind, target_id, by)


def revoke(engine: Engine, kind: FeedKind, target_id: str, by: str) -> int:
    """Revoke every unrevoked feed of the target; how many were."""
    table = CalendarFeed.__table__
    with engine.begin() as conn:
        result = conn.execute(
            update(table)
            .where(table.c.kind == kind.value, table.c.target_id == target_id, table.c.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_by=by)
        )
    return result.rowcount


def rotate(engine: Engine, kind: FeedKind, target_id: str, by: str) -> Feed:
    """Revoke the target's feeds and make a new one ("Thu hồi và tạo liên kết mới")."""
    revoke(engine, kind, target_id, by)
    return create(engine, kind, target_id, by)


def listing(engine: Engine, include_revoked: bool = True) -> list[Feed]:
    table = CalendarFeed.__table__
    query = select(table).order_by(table.c.kind, table.c.target_id, table.c.id)
    if not include_revoked:
        query = query.where(table.c.revoked_at.is_(None))
    with engine.connect() as conn:
        return [_feed(row) for row in conn.execute(query)]


def find(engine: Engine, feed_id: int, nonce: str) -> Feed | None:
    """The unrevoked feed with this id and nonce (what a token names), or None."""
    table = CalendarFeed.__table__
    query = select(table).where(table.c.id == feed_id, table.c.revoked_at.is_(None))
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None or not secrets.compare_digest(row.nonce, nonce):
        return None
    return _feed(row)


def fetched(engine: Engine, feed: Feed, etag: str, at: datetime | None = None) -> datetime:
    """Record that the feed was fetched (the listing's "last fetched") with a body of `etag`;
    return since when the body has been so (its Last-Modified): now, when `etag` is new."""
    at = at or utcnow()
    values: dict[str, Any] = {"last_fetched_at": at}
    changed = feed.changed_at
    if feed.etag != etag or changed is None:
        values |= {"etag": etag, "changed_at": at}
        changed = at
    table = CalendarFeed.__table__
    with engine.begin() as conn:
        conn.execute(update(table).where(table.c.id == feed.id).values(**values))
    return changed
