"""The focal agency's actions on one occurrence × agency, each recorded and readable as history.

The agency that consolidates the reports (the focal agency of a plan) may:

- **mark received** (`mark_received`): confirm on the agency's behalf, with the report's number
  and date (`acks.confirm`, as the confirmation link does); the ladder stops;
- **waive** (`waive`): the agency is exempt from this report; its pending reminders are
  cancelled with the reason, sync adds none, its status is "Được miễn";
- **extend** (`extend`): the agency's deadline moves to a later date (`Occurrence.extended_to`);
  its ladder is re-planned from it as sync re-plans a moved deadline, and every later sync plans
  from it too; its status is "Gia hạn đến …";
- **send a reminder now** (`send_now`): one "upcoming", "due" or "overdue" reminder to each of
  the agency's focal contacts, due at once (the dispatcher's next wake), once per minute;
- **reopen** (`reopen`): undo a confirmation (or a waiver) made by mistake; the ladder resumes
  (the rungs still ahead are revived or added).

Each writes one `occurrence_action` row (who, when, why and what changed) in the same
transaction as its effect; `history` reads them, newest first. Bad input (an unknown occurrence,
an empty reason, an extension to a past or not later date, an action that does not apply to the
occurrence's state) raises `ActionRefused` with a Vietnamese message, and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, insert, select, update

from scheduler.calendar.dates import format_date
from scheduler.config.deployment import Deployment
from scheduler.config.settings import Settings
from scheduler.outbox import acks, events
from scheduler.outbox.acks import ReportReference
from scheduler.outbox.status import AgencyStatus, StatusInput, compute
from scheduler.outbox.store import (
    Occurrence,
    OccurrenceAction,
    OccurrenceStatus,
    Reminder,
    Status,
    aware,
    utcnow,
)
from scheduler.outbox.sync import SyncReport, replan
from scheduler.plan.kinds import OccurrenceKind, ReminderKind
from scheduler.plan.planner import idempotency_key

if TYPE_CHECKING:
    from sqlalchemy import Row

MAX_REASON_CHARS = 500
NO_REFERENCE = ReportReference()
SEND_NOW_RUNG = "now"  # the rung of a reminder sent now: "now-<UTC minute>", one per minute


class Action(StrEnum):
    RECEIVED = "received"
    WAIVE = "waive"
    EXTEND = "extend"
    SEND_NOW = "send_now"
    REOPEN = "reopen"

    @property
    def label(self) -> str:
        return LABELS[self]


LABELS: dict[Action, str] = {
    Action.RECEIVED: "Ghi nhận đã báo cáo",
    Action.WAIVE: "Miễn báo cáo",
    Action.EXTEND: "Gia hạn",
    Action.SEND_NOW: "Gửi nhắc ngay",
    Action.REOPEN: "Mở lại",
}


class ActionRefused(ValueError):
    """The action cannot be done; the message says why, in Vietnamese. Nothing was changed."""


@dataclass(frozen=True)
class ActionRecord:
    """One row of the history: who did what to which occurrence × agency, when and why."""

    id: int
    occurrence_key: str
    agency_id: str
    action: Action
    by: str
    at: datetime  # aware, UTC
    reason: str | None
    details: Mapping[str, Any]


# --- the actions -----------------------------------------------------------------------------


def mark_received(
    engine: Engine,
    key: str,
    by: str,
    reference: ReportReference = NO_REFERENCE,
    reason: str | None = None,
    *,
    now: datetime | None = None,
) -> ActionRecord:
    """Confirm on the agency's behalf that the report was received, with its number and date
    (checked beforehand by `acks.report_reference`); its pending reminders are cancelled."""
    by, why, at = _who(by), _optional_reason(reason), now or utcnow()
    with engine.begin() as conn:
        row = _occurrence(conn, key)
        if row.status == OccurrenceStatus.SUBMITTED:
            raise ActionRefused(_already_confirmed(row))
        done = acks.confirm(conn, key, f"{by} (ghi nhận thay đơn vị)", at, reference)
        details = {
            "report_number": reference.number,
            "report_date": reference.day.isoformat() if reference.day else None,
            "cancelled": done.cancelled,
        }
        return _record(conn, row, Action.RECEIVED, by, at, why, details)


def waive(engine: Engine, key: str, by: str, reason: str, *, now: datetime | None = None) -> ActionRecord:
    """Exempt the agency from this report: its pending reminders are cancelled with the reason,
    sync adds no more; its status is "Được miễn"."""
    by, why, at = _who(by), _reason(reason), now or utcnow()
    with engine.begin() as conn:
        row = _occurrence(conn, key)
        if row.status == OccurrenceStatus.SUBMITTED:
            raise ActionRefused(_already_confirmed(row) + " Không thể miễn.")
        if row.waived:
            raise ActionRefused("Đơn vị đã được miễn báo cáo này từ trước; không thay đổi gì.")
        table, reminders = Occurrence.__table__, Reminder.__table__
        conn.execute(update(table).where(table.c.key == key).values(waived=True, updated_at=at))
        cancelled = conn.execute(
            update(reminders)
            .where(
                reminders.c.occurrence_key == key,
                reminders.c.status == Status.PENDING,
                reminders.c.kind != ReminderKind.EVENT,  # an overdue event is cancelled when due
            )
            .values(status=Status.CANCELLED, last_error=f"được miễn: {why} ({by})", updated_at=at)
        ).rowcount
        facts = {"reason": why}
        events.enqueue(conn, key, row.plan_id, events.EventType.WAIVED, at, facts=facts)
        return _record(conn, row, Action.WAIVE, by, at, why, {"cancelled": cancelled})


def extend(
    engine: Engine,
    deployment: Deployment,
    settings: Settings,
    key: str,
    by: str,
    new_date: date,
    reason: str,
    *,
    now: datetime | None = None,
) -> ActionRecord:
    """Move one agency's deadline to `new_date` (today or later, after its current deadline or
    extension); its ladder is re-planned from it, and later syncs keep it."""
    by, why, at = _who(by), _reason(reason), now or utcnow()
    today = at.astimezone(settings.timezone).date()
    with engine.begin() as conn:
        row = _occurrence(conn, key)
        if row.status == OccurrenceStatus.SUBMITTED:
            raise ActionRefused(_already_confirmed(row) + " Mở lại trước nếu cần gia hạn.")
        if row.waived:
            raise ActionRefused("Đơn vị đang được miễn báo cáo này; mở lại trước nếu cần gia hạn.")
        current = max(row.start_date, row.extended_to) if row.extended_to else row.start_date
        if new_date < today:
            raise ActionRefused(
                f"Ngày gia hạn {format_date(new_date)} đã qua (hôm nay {format_date(today)})."
            )
        if new_date <= current:
            word = "hạn đã gia hạn" if row.extended_to else "hạn hiện tại"
            raise ActionRefused(
                f"Ngày gia hạn {format_date(new_date)} phải sau {word} {format_date(current)}."
            )
        table = Occurrence.__table__
        values: dict[str, Any] = {"extended_to": new_date, "updated_at": at}
        if row.status == OccurrenceStatus.UNTRACKED:  # an extension follows the agency again
            values["status"] = OccurrenceStatus.OPEN
        conn.execute(update(table).where(table.c.key == key).values(**values))
        details: dict[str, Any] = {
            "deadline": row.start_date.isoformat(),
            "from": current.isoformat(),
            "to": new_date.isoformat(),
            **_replanned(replan(conn, deployment, settings, key, today)),
        }
        facts = {"extended_to": new_date.isoformat(), "reason": why}
        events.enqueue(conn, key, row.plan_id, events.EventType.EXTENDED, at, day=new_date, facts=facts)
        # The overdue event of the old deadline is cancelled when due; the new one is queued now.
        events.plan_overdue(
            conn, deployment.workdays, settings.timezone, today, new_date + timedelta(days=31), only=key
        )
        return _record(conn, row, Action.EXTEND, by, at, why, details)


def send_now(
    engine: Engine,
    deployment: Deployment,
    settings: Settings,
    key: str,
    by: str,
    *,
    now: datetime | None = None,
) -> ActionRecord | None:
    """Queue one reminder to each of the agency's focal contacts (on each of their channels),
    due now: the dispatcher sends it at its next wake. Its kind is "overdue" once the effective
    deadline has passed, "due" on that day, "upcoming" before. Idempotent per minute: a second
    call within the same minute adds nothing and returns None."""
    by, at = _who(by), now or utcnow()
    tz = settings.timezone
    today = at.astimezone(tz).date()
    with engine.begin() as conn:
        row = _occurrence(conn, key)
        if row.status == OccurrenceStatus.SUBMITTED:
            raise ActionRefused(_already_confirmed(row) + " Không cần nhắc.")
        if row.waived:
            raise ActionRefused("Đơn vị được miễn báo cáo này; không cần nhắc.")
        status = compute(_status_input(row), today, deployment.workdays, tz)
        due = status.effective_deadline
        kind = (
            ReminderKind.OVERDUE
            if today > due
            else ReminderKind.DUE
            if today == due
            else ReminderKind.UPCOMING
        )
        contacts = deployment.contacts.get(row.agency_id, [])
        focal = [c for c in contacts if c.spec.role == "focal"] or contacts
        rung = f"{SEND_NOW_RUNG}-{at.astimezone(UTC):%Y%m%dT%H%M}"
        rows = [
            {
                "key": idempotency_key(key, contact.key, channel, rung),
                "occurrence_key": key,
                "contact_key": contact.key,
                "channel": channel,
                "rung": rung,
                "kind": kind,
                "recipient": contact.address(channel),
                "due_date": max(row.start_date, row.extended_to) if row.extended_to else row.start_date,
                "send_at": at,
                "status": Status.PENDING,
                "attempts": 0,
                "created_at": at,
                "updated_at": at,
            }
            for contact in focal
            for channel in contact.channels
            if contact.address(channel)
        ]
        if not rows:
            raise ActionRefused(
                f"Đơn vị {deployment.name_of(row.agency_id)} không có đầu mối nào có địa chỉ để gửi nhắc."
            )
        reminders = Reminder.__table__
        if conn.execute(select(reminders.c.id).where(reminders.c.key == rows[0]["key"])).first():
            return None  # already sent now within this minute
        conn.execute(insert(reminders), rows)
        details = {
            "kind": str(kind),
            "reminders": len(rows),
            "channels": sorted({r["channel"] for r in rows}),
        }
        return _record(conn, row, Action.SEND_NOW, by, at, None, details)


def reopen(
    engine: Engine,
    deployment: Deployment,
    settings: Settings,
    key: str,
    by: str,
    reason: str,
    *,
    now: datetime | None = None,
) -> ActionRecord:
    """Undo a confirmation made by mistake (or, when it was not confirmed, a waiver): the
    occurrence is open again and its ladder resumes (its rungs still ahead revived or added)."""
    by, why, at = _who(by), _reason(reason), now or utcnow()
    today = at.astimezone(settings.timezone).date()
    with engine.begin() as conn:
        row = _occurrence(conn, key)
        table = Occurrence.__table__
        details: dict[str, Any]
        if row.status == OccurrenceStatus.SUBMITTED:
            confirmed_at = aware(row.confirmed_at)
            details = {
                "undone": "received",
                "confirmed_at": confirmed_at.isoformat() if confirmed_at else None,
                "confirmed_by": row.confirmed_by,
                "report_number": row.report_number,
                "report_date": row.report_date.isoformat() if row.report_date else None,
            }
            values: dict[str, Any] = {
                "status": OccurrenceStatus.OPEN,
                "confirmed_at": None,
                "confirmed_by": None,
                "report_number": None,
                "report_date": None,
            }
        elif row.waived:
            details, values = {"undone": "waive"}, {"waived": False}
        else:
            raise ActionRefused(
                "Đơn vị chưa được ghi nhận đã báo cáo, cũng không được miễn: không có gì để mở lại."
            )
        conn.execute(update(table).where(table.c.key == key).values(**values, updated_at=at))
        details.update(_replanned(replan(conn, deployment, settings, key, today)))
        return _record(conn, row, Action.REOPEN, by, at, why, details)


def history(
    engine: Engine, key: str | None = None, agency_id: str | None = None, limit: int | None = None
) -> list[ActionRecord]:
    """The actions recorded, newest first: of one occurrence, of one agency, or all."""
    table = OccurrenceAction.__table__
    query = select(table).order_by(table.c.at.desc(), table.c.id.desc())
    if key is not None:
        query = query.where(table.c.occurrence_key == key)
    if agency_id is not None:
        query = query.where(table.c.agency_id == agency_id)
    if limit is not None:
        query = query.limit(limit)
    with engine.connect() as conn:
        return [_as_record(r) for r in conn.execute(query)]


def find(engine: Engine, record_id: int) -> ActionRecord | None:
    """One recorded action by its id, or None."""
    table = OccurrenceAction.__table__
    with engine.connect() as conn:
        row = conn.execute(select(table).where(table.c.id == record_id)).first()
    return _as_record(row) if row is not None else None


def _as_record(r: Row[Any]) -> ActionRecord:
    return ActionRecord(
        r.id,
        r.occurrence_key,
        r.agency_id,
        Action(r.action),
        r.by,
        aware(r.at) or r.at,
        r.reason,
        dict(r.details or {}),
    )


def describe(record: ActionRecord, tz: Any) -> str:
    """One line of history in Vietnamese: '09:15 10/12/2026 — Gia hạn đến 18/12/2026 (Nguyễn
    Văn A): lý do …'."""
    when = record.at.astimezone(tz).strftime("%H:%M %d/%m/%Y")
    text = f"{when} — {summary(record)} ({record.by})"
    return f"{text}: {record.reason}" if record.reason else text


def summary(record: ActionRecord) -> str:
    """What was done, without who, when or why: 'Gia hạn đến 18/12/2026', 'Ghi nhận đã báo cáo,
    văn bản số 125/BC-UBND ngày 08/12/2026', 'Mở lại (hủy xác nhận)'."""
    d = record.details
    what = record.action.label
    if record.action is Action.EXTEND and d.get("to"):
        what = f"Gia hạn đến {format_date(date.fromisoformat(d['to']))}"
    elif record.action is Action.RECEIVED:
        day = date.fromisoformat(d["report_date"]) if d.get("report_date") else None
        shown = str(ReportReference(d.get("report_number"), day))
        what += f", văn bản {shown}" if shown else ""
    elif record.action is Action.REOPEN:
        what += " (bỏ miễn)" if d.get("undone") == "waive" else " (hủy xác nhận)"
    return what


# --- shared ------------------------------------------------------------------------------------


def _occurrence(conn: Connection, key: str) -> Row[Any]:
    """The occurrence the action is on, if an action can apply to it at all."""
    table = Occurrence.__table__
    row = conn.execute(select(table).where(table.c.key == key)).first()
    if row is None:
        raise ActionRefused(f"Không có hạn báo cáo '{key}'. Xem cột 'Lần xuất hiện' của `nhacviec outbox`.")
    if row.kind != OccurrenceKind.DEADLINE:
        raise ActionRefused(f"'{key}' không phải một hạn báo cáo (là đợt hoặc ngày kỷ niệm).")
    if row.status == OccurrenceStatus.REMOVED:
        raise ActionRefused(f"Hạn báo cáo '{key}' không còn trong cấu hình.")
    if row.status == OccurrenceStatus.ENDED:
        raise ActionRefused(f"{AgencyStatus.ENDED.label}: không thể thực hiện với '{key}'.")
    return row


def _who(by: str) -> str:
    name = " ".join((by or "").split())
    if not name:
        raise ActionRefused("Cần ghi tên người thực hiện.")
    return name


def _reason(reason: str | None) -> str:
    why = _optional_reason(reason)
    if why is None:
        raise ActionRefused("Cần ghi lý do.")
    return why


def _optional_reason(reason: str | None) -> str | None:
    why = " ".join((reason or "").split())
    if len(why) > MAX_REASON_CHARS:
        raise ActionRefused(f"Lý do dài quá {MAX_REASON_CHARS} ký tự.")
    return why or None


def _already_confirmed(row: Row[Any]) -> str:
    return f"Đơn vị đã được ghi nhận đã báo cáo ({row.confirmed_by or 'không rõ người xác nhận'})."


def _status_input(row: Row[Any]) -> StatusInput:
    return StatusInput(
        deadline=row.start_date,
        occurrence_status=row.status,
        confirmed_at=row.confirmed_at,
        waived=bool(row.waived),
        extended_to=row.extended_to,
    )


def _replanned(report: SyncReport | None) -> dict[str, Any]:
    if report is None:
        return {"replanned": False}
    return {
        "replanned": True,
        "added": report.added,
        "updated": report.updated,
        "cancelled": report.cancelled,
    }


def _record(
    conn: Connection,
    row: Row[Any],
    action: Action,
    by: str,
    at: datetime,
    reason: str | None,
    details: dict[str, Any],
) -> ActionRecord:
    table = OccurrenceAction.__table__
    values = {
        "occurrence_key": row.key,
        "agency_id": row.agency_id,
        "action": action.value,
        "by": by,
        "at": at,
        "reason": reason,
        "details": details,
    }
    new_id = conn.execute(insert(table).values(**values).returning(table.c.id)).scalar_one()
    return ActionRecord(new_id, row.key, row.agency_id, action, by, at, reason, details)
