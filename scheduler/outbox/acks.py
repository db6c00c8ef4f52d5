"""Confirmation that a report was sent: it stops that agency's reminders for the occurrence."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select, update

from scheduler.outbox.store import Occurrence, OccurrenceStatus, Reminder, Status


@dataclass(frozen=True)
class Confirmation:
    occurrence_key: str
    confirmed_at: datetime
    confirmed_by: str
    already: bool  # it had been confirmed before; nothing changed
    cancelled: int  # pending reminders cancelled


class UnknownOccurrence(LookupError):
    pass


def acknowledge(engine: Engine, occurrence_key: str, by: str, at: datetime) -> Confirmation:
    """Mark the occurrence submitted and cancel its pending reminders, once."""
    table, reminders = Occurrence.__table__, Reminder.__table__
    with engine.begin() as conn:
        row = conn.execute(
            select(table.c.status, table.c.confirmed_at, table.c.confirmed_by).where(
                table.c.key == occurrence_key
            )
        ).first()
        if row is None:
            raise UnknownOccurrence(occurrence_key)
        if row.status == OccurrenceStatus.SUBMITTED:
            return Confirmation(occurrence_key, row.confirmed_at, row.confirmed_by, already=True, cancelled=0)
        conn.execute(
            update(table)
            .where(table.c.key == occurrence_key)
            .values(status=OccurrenceStatus.SUBMITTED, confirmed_at=at, confirmed_by=by, updated_at=at)
        )
        cancelled = conn.execute(
            update(reminders)
            .where(reminders.c.occurrence_key == occurrence_key, reminders.c.status == Status.PENDING)
            .values(status=Status.CANCELLED, last_error=f"đã xác nhận gửi báo cáo ({by})", updated_at=at)
        ).rowcount
    return Confirmation(occurrence_key, at, by, already=False, cancelled=cancelled)
