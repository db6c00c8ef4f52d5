"""The operator's reads and writes on the outbox: list reminders, put dead ones back in the queue.
The command line (`nhacviec outbox`, `nhacviec retry`) and later pages share them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, Row, case, func, select, update
from sqlmodel import col

from scheduler.outbox.store import Occurrence, Reminder, Status, utcnow

SORTS = {
    "upcoming": "chờ gửi trước, theo giờ gửi; rồi các nhắc việc khác, mới nhất trước",
    "oldest": "theo giờ gửi, cũ nhất trước",
    "newest": "theo giờ gửi, mới nhất trước",
}


def ordering(sort: str) -> list[ColumnElement[Any]]:
    c = Reminder.__table__.c
    if sort == "oldest":
        return [c.send_at, c.id]
    if sort == "newest":
        return [c.send_at.desc(), c.id.desc()]
    waiting = c.status.in_((Status.PENDING, Status.CLAIMED))
    return [
        case((waiting, 0), else_=1),
        case((waiting, func.coalesce(c.next_attempt_at, c.send_at))),  # when it will go
        case((waiting, None), else_=c.send_at).desc(),
        c.id,
    ]


def list_reminders(
    engine: Engine, *, status: str | None, sent_before: datetime | None, sort: str, limit: int
) -> tuple[int, Sequence[Row[Reminder, str | None, str | None]]]:
    """How many reminders match, and the first `limit` of them (0: all) in `sort` order."""
    # Each reminder with the names of its agency and plan of the time (scheduler/config/lifetimes.py).
    query = select(Reminder, col(Occurrence.agency_name), col(Occurrence.plan_name)).outerjoin(
        Occurrence, col(Occurrence.key) == col(Reminder.occurrence_key)
    )
    if status:
        query = query.where(col(Reminder.status) == status)
    if sent_before is not None:
        query = query.where(col(Reminder.send_at) < sent_before)
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = conn.execute(query.order_by(*ordering(sort)).limit(limit or None)).all()
    return total, rows


def retry_dead(engine: Engine, reminder_id: int | None = None) -> int:
    """Put one dead reminder (or all of them) back in the queue, to go at once; how many."""
    table = Reminder.__table__
    condition = table.c.status == Status.DEAD
    if reminder_id is not None:
        condition = condition & (table.c.id == reminder_id)
    now = utcnow()
    with engine.begin() as conn:
        return int(
            conn.execute(
                update(table)
                .where(condition)
                .values(status=Status.PENDING, send_at=now, next_attempt_at=None, attempts=0, updated_at=now)
            ).rowcount
        )
