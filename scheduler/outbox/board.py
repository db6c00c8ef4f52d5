"""The rows the board's pages read (scheduler/web/board.py), each page in a few queries.

No query runs per row: a deadline of 4,341 agencies is one query for its occurrences and one for
the reminders of the agencies shown. Statuses are not computed here: the pages compute them with
`scheduler.outbox.status` from these rows.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Row, and_, func, or_, select

from scheduler.outbox.store import Occurrence, OccurrenceStatus, Reminder, Status, aware
from scheduler.plan.kinds import RUNG_KINDS, OccurrenceKind, ReminderKind

# What a page needs of an occurrence to compute its status and show it.
OCCURRENCE_COLUMNS = (
    "key",
    "plan_id",
    "item_id",
    "period",
    "agency_id",
    "title",
    "start_date",
    "status",
    "confirmed_at",
    "confirmed_by",
    "agency_name",
    "report_number",
    "report_date",
    "waived",
    "extended_to",
)
REMINDER_COLUMNS = (
    "id",
    "occurrence_key",
    "channel",
    "kind",
    "recipient",
    "status",
    "send_at",
    "sent_at",
    "next_attempt_at",
    "attempts",
    "last_error",
    "updated_at",
)
STUCK_AFTER = timedelta(minutes=30)  # a reminder still waiting this long after its time is stuck


def _occurrences() -> Any:
    occ = Occurrence.__table__
    return select(*(occ.c[name] for name in OCCURRENCE_COLUMNS)).where(
        occ.c.kind == OccurrenceKind.DEADLINE, occ.c.status != OccurrenceStatus.REMOVED
    )


def plan_occurrences(engine: Engine, plan_id: str, start: date, end: date) -> Sequence[Row[Any]]:
    """The deadline occurrences of a plan whose deadline is in [start, end]."""
    occ = Occurrence.__table__
    query = _occurrences().where(occ.c.plan_id == plan_id, occ.c.start_date >= start, occ.c.start_date <= end)
    with engine.connect() as conn:
        return conn.execute(query).all()


def deadline_occurrences(engine: Engine, plan_id: str, item_id: str, period: str) -> Sequence[Row[Any]]:
    """Every agency's occurrence of one deadline (a plan's item in a period)."""
    occ = Occurrence.__table__
    query = _occurrences().where(occ.c.plan_id == plan_id, occ.c.item_id == item_id, occ.c.period == period)
    with engine.connect() as conn:
        return conn.execute(query).all()


def agency_deadline(
    engine: Engine, plan_id: str, item_id: str, period: str, agency_id: str
) -> Row[Any] | None:
    """One agency's occurrence of one deadline (what an action on the board is about), or None."""
    occ = Occurrence.__table__
    query = _occurrences().where(
        occ.c.plan_id == plan_id,
        occ.c.item_id == item_id,
        occ.c.period == period,
        occ.c.agency_id == agency_id,
    )
    with engine.connect() as conn:
        return conn.execute(query).first()


def agency_occurrences(engine: Engine, agency_id: str) -> Sequence[Row[Any]]:
    """Every deadline occurrence of an agency, across plans (the page keeps those it may show)."""
    occ = Occurrence.__table__
    query = _occurrences().where(occ.c.agency_id == agency_id).order_by(occ.c.start_date.desc())
    with engine.connect() as conn:
        return conn.execute(query).all()


def reminders_of(engine: Engine, occurrence_keys: Collection[str]) -> Sequence[Row[Any]]:
    """The reminders of these occurrences (a page's worth: at most a few hundred keys); events
    to e-office systems are not reminders (the deliveries page lists them when dead or stuck)."""
    if not occurrence_keys:
        return []
    rem = Reminder.__table__
    query = select(*(rem.c[name] for name in REMINDER_COLUMNS)).where(
        rem.c.occurrence_key.in_(list(occurrence_keys)), rem.c.kind != ReminderKind.EVENT
    )
    with engine.connect() as conn:
        return conn.execute(query).all()


def reminders_sent(
    engine: Engine, plan_id: str, item_id: str | None = None, period: str | None = None
) -> dict[str, int]:
    """How many reminders went out to each agency of a plan (or of one deadline of it, `item_id`
    and `period`), by occurrence key, in one GROUP BY: "Số lần đã nhắc" in the reports.

    The one place that says what counts as a reminder sent: a row of `reminder` with status
    `sent` and a kind a plan's rungs give (`RUNG_KINDS`): not the digest, nor any other kind of
    row the table holds (events to e-office systems). Occurrences without one are absent."""
    rem, occ = Reminder.__table__, Occurrence.__table__
    where = [occ.c.plan_id == plan_id, occ.c.kind == OccurrenceKind.DEADLINE]
    if item_id is not None:
        where.append(occ.c.item_id == item_id)
    if period is not None:
        where.append(occ.c.period == period)
    query = (
        select(rem.c.occurrence_key, func.count())
        .join(occ, occ.c.key == rem.c.occurrence_key)
        .where(*where, rem.c.status == Status.SENT, rem.c.kind.in_([str(kind) for kind in RUNG_KINDS]))
        .group_by(rem.c.occurrence_key)
    )
    with engine.connect() as conn:
        return {key: count for key, count in conn.execute(query).all()}


@dataclass(frozen=True)
class Delivery:
    """A reminder as the pages show it: the last one sent or tried, or the next one."""

    at: datetime
    channel: str
    recipient: str
    outcome: str  # "sent" | "dead" | "retry" | "pending" | "skipped"
    reason: str | None


_TRIED = {Status.SENT: "sent", Status.DEAD: "dead"}  # and "retry": pending after an attempt
_WAITING = (Status.PENDING, Status.CLAIMED)


def last_and_next(reminders: Sequence[Row[Any]]) -> dict[str, tuple[Delivery | None, Delivery | None]]:
    """Per occurrence: the last reminder sent or tried (when, channel, delivered or failed and
    why), and the next one waiting. A deadline page reads ~2,000 reminders: a `Delivery` is made
    only for the rows that win, not for every row."""
    last: dict[str, tuple[datetime, Row[Any]]] = {}
    upcoming: dict[str, tuple[datetime, Row[Any]]] = {}
    for r in reminders:
        status = r.status
        if status in _TRIED or (status == Status.PENDING and r.attempts):
            at = aware(r.sent_at if status == Status.SENT else r.updated_at) or aware(r.send_at)
            best = last.get(r.occurrence_key)
            if best is None or at > best[0]:
                last[r.occurrence_key] = (at, r)
        if status in _WAITING:
            at = aware(r.next_attempt_at or r.send_at)
            best = upcoming.get(r.occurrence_key)
            if best is None or at < best[0]:
                upcoming[r.occurrence_key] = (at, r)
    found: dict[str, tuple[Delivery | None, Delivery | None]] = {}
    for key in last.keys() | upcoming.keys():
        tried, waiting = last.get(key), upcoming.get(key)
        found[key] = (
            Delivery(
                tried[0],
                tried[1].channel,
                tried[1].recipient,
                _TRIED.get(tried[1].status, "retry"),
                tried[1].last_error,
            )
            if tried
            else None,
            Delivery(waiting[0], waiting[1].channel, waiting[1].recipient, "pending", waiting[1].last_error)
            if waiting
            else None,
        )
    return found


def agency_history(engine: Engine, agency_id: str, plan_ids: Collection[str], limit: int) -> list[Any]:
    """The agency's reminders that went out, failed or were skipped in the plans `plan_ids`,
    newest first, with the occurrence's title and deadline."""
    rem, occ = Reminder.__table__, Occurrence.__table__
    when = func.coalesce(rem.c.sent_at, rem.c.updated_at)
    query = (
        select(
            rem.c.id,
            rem.c.channel,
            rem.c.recipient,
            rem.c.status,
            rem.c.kind,
            rem.c.last_error,
            rem.c.attempts,
            when.label("at"),
            occ.c.title,
            occ.c.start_date,
            occ.c.plan_id,
        )
        .join(occ, occ.c.key == rem.c.occurrence_key)
        .where(
            occ.c.agency_id == agency_id,
            occ.c.plan_id.in_(list(plan_ids)),
            rem.c.kind != ReminderKind.EVENT,
            or_(rem.c.status.in_((Status.SENT, Status.DEAD, Status.SKIPPED)), rem.c.attempts > 0),
        )
        .order_by(when.desc(), rem.c.id.desc())
        .limit(limit)
    )
    with engine.connect() as conn:
        return list(conn.execute(query).all())


def stuck_condition(now: datetime) -> Any:
    """What "stuck" means, for the deliveries page and the metrics alike: a claimed reminder whose
    lease has run out (its dispatcher stopped), or a pending one still waiting STUCK_AFTER after
    its time (or its retry's)."""
    rem = Reminder.__table__
    due = func.coalesce(rem.c.next_attempt_at, rem.c.send_at)
    return or_(
        and_(rem.c.status == Status.CLAIMED, rem.c.lease_until < now),
        and_(rem.c.status == Status.PENDING, due < now - STUCK_AFTER),
    )


def deliveries(
    engine: Engine, now: datetime, limit: int
) -> tuple[int, Sequence[Row[Any]], int, Sequence[Row[Any]]]:
    """The dead letters (newest first) and the stuck reminders (a lease that has run out, or
    still waiting STUCK_AFTER after its time; oldest first): (how many dead, the first `limit`,
    how many stuck, the first `limit`), each with its occurrence's names."""
    rem, occ = Reminder.__table__, Occurrence.__table__
    columns = (
        *(rem.c[name] for name in REMINDER_COLUMNS),
        rem.c.lease_until,
        occ.c.title,
        occ.c.agency_name,
        occ.c.agency_id,
        occ.c.plan_id,
        occ.c.start_date,
    )
    due = func.coalesce(rem.c.next_attempt_at, rem.c.send_at)
    dead = rem.c.status == Status.DEAD
    stuck = stuck_condition(now)
    with engine.connect() as conn:
        dead_count = conn.execute(select(func.count()).select_from(rem).where(dead)).scalar_one()
        dead_rows = conn.execute(
            select(*columns)
            .outerjoin(occ, occ.c.key == rem.c.occurrence_key)
            .where(dead)
            .order_by(rem.c.updated_at.desc(), rem.c.id.desc())
            .limit(limit)
        ).all()
        stuck_count = conn.execute(select(func.count()).select_from(rem).where(stuck)).scalar_one()
        stuck_rows = conn.execute(
            select(*columns)
            .outerjoin(occ, occ.c.key == rem.c.occurrence_key)
            .where(stuck)
            .order_by(due, rem.c.id)
            .limit(limit)
        ).all()
    return dead_count, dead_rows, stuck_count, stuck_rows
