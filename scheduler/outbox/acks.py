"""Confirmation that a report was sent: it stops that agency's reminders for the occurrence.

A confirmation may name the report it confirms: its number and symbol ("Số, ký hiệu văn bản",
e.g. 125/BC-UBND) and its date ("Ngày văn bản"), both optional. `report_reference` checks what a
person typed (on the confirmation page or `nhacviec ack --so/--ngay`) and says in Vietnamese what
is wrong with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection, Engine, select, update

from scheduler.calendar.dates import format_date, parse_date
from scheduler.outbox import events
from scheduler.outbox.store import Occurrence, OccurrenceStatus, Reminder, Status
from scheduler.plan.kinds import ReminderKind

MAX_NUMBER_CHARS = 50  # "125/BC-UBND", "1234/KH-SNV-BĐG&TE": a document's number and symbol
EARLIEST_REPORT_DATE = date(1990, 1, 1)  # the earliest year a plan can have


@dataclass(frozen=True)
class ReportReference:
    """The report's number and symbol and its date, as the confirmation gave them."""

    number: str | None = None
    day: date | None = None

    def __str__(self) -> str:
        """'số 125/BC-UBND ngày 08/12/2026', or '' when neither is given."""
        parts = [f"số {self.number}"] if self.number else []
        if self.day:
            parts.append(f"ngày {format_date(self.day)}")
        return " ".join(parts)


class ReferenceInvalid(ValueError):
    """What a person typed is not a report's number or date; the message says why, in Vietnamese."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field  # "number" or "day"


def report_reference(number: str | None, day: str | None, today: date) -> ReportReference:
    """The reference from the typed number ("125/BC-UBND") and date (dd/mm/yyyy, or yyyy-mm-dd as an
    HTML date input sends it), each optional (empty: not given); raises ReferenceInvalid."""
    number = " ".join((number or "").split())  # tabs, new lines and runs of spaces: one space
    if len(number) > MAX_NUMBER_CHARS:
        raise ReferenceInvalid(
            "number", f"Số, ký hiệu văn bản dài quá {MAX_NUMBER_CHARS} ký tự; ví dụ đúng: 125/BC-UBND."
        )
    if not number.isprintable():
        raise ReferenceInvalid(
            "number", "Số, ký hiệu văn bản có ký tự không in được; ví dụ đúng: 125/BC-UBND."
        )
    text = (day or "").strip()
    parsed: date | None = None
    if text:
        try:
            parsed = parse_date(text)
        except ValueError:
            raise ReferenceInvalid(
                "day", f"Ngày văn bản '{text[:20]}' không đúng: cần dạng ngày/tháng/năm, ví dụ 08/12/2026."
            ) from None
        if parsed > today:
            raise ReferenceInvalid(
                "day",
                f"Ngày văn bản {format_date(parsed)} là ngày trong tương lai (hôm nay {format_date(today)}).",
            )
        if parsed < EARLIEST_REPORT_DATE:
            raise ReferenceInvalid("day", f"Ngày văn bản {format_date(parsed)} quá xa trong quá khứ.")
    return ReportReference(number or None, parsed)


@dataclass(frozen=True)
class Confirmation:
    occurrence_key: str
    confirmed_at: datetime
    confirmed_by: str
    already: bool  # it had been confirmed before; nothing changed
    cancelled: int  # pending reminders cancelled
    reference: ReportReference = ReportReference()  # the one stored (the first, when already)


class UnknownOccurrence(LookupError):
    pass


def acknowledge(
    engine: Engine,
    occurrence_key: str,
    by: str,
    at: datetime,
    reference: ReportReference = ReportReference(),
) -> Confirmation:
    """Mark the occurrence submitted, with the report's reference, and cancel its pending
    reminders, once: a second confirmation changes nothing (not the reference either)."""
    with engine.begin() as conn:
        return confirm(conn, occurrence_key, by, at, reference)


def confirm(
    conn: Connection,
    occurrence_key: str,
    by: str,
    at: datetime,
    reference: ReportReference = ReportReference(),
) -> Confirmation:
    """`acknowledge` within the caller's transaction (the focal agency's "mark received" writes
    its history in the same one). The "occurrence.confirmed" event to the e-office endpoints
    (scheduler.outbox.events) is queued in it too; queued events are not cancelled."""
    table, reminders = Occurrence.__table__, Reminder.__table__
    row = conn.execute(
        select(
            table.c.status,
            table.c.confirmed_at,
            table.c.confirmed_by,
            table.c.report_number,
            table.c.report_date,
            table.c.plan_id,
        ).where(table.c.key == occurrence_key)
    ).first()
    if row is None:
        raise UnknownOccurrence(occurrence_key)
    if row.status == OccurrenceStatus.SUBMITTED:
        stored = ReportReference(row.report_number, row.report_date)
        return Confirmation(
            occurrence_key,
            row.confirmed_at,
            row.confirmed_by,
            already=True,
            cancelled=0,
            reference=stored,
        )
    conn.execute(
        update(table)
        .where(table.c.key == occurrence_key)
        .values(
            status=OccurrenceStatus.SUBMITTED,
            confirmed_at=at,
            confirmed_by=by,
            report_number=reference.number,
            report_date=reference.day,
            updated_at=at,
        )
    )
    cancelled = conn.execute(
        update(reminders)
        .where(
            reminders.c.occurrence_key == occurrence_key,
            reminders.c.status == Status.PENDING,
            reminders.c.kind != ReminderKind.EVENT,
        )
        .values(status=Status.CANCELLED, last_error=f"đã xác nhận gửi báo cáo ({by})", updated_at=at)
    ).rowcount
    facts = {
        "confirmed_by": by,
        "report_number": reference.number,
        "report_date": reference.day.isoformat() if reference.day else None,
    }
    events.enqueue(conn, occurrence_key, row.plan_id, events.EventType.CONFIRMED, at, facts=facts)
    return Confirmation(occurrence_key, at, by, already=False, cancelled=cancelled, reference=reference)
