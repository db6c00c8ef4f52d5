"""Write the planned calendar into the outbox, idempotently.

Sync compares what the configuration asks for with what the ledger holds, in
one transaction:

- occurrences are compared by fingerprint, so an unchanged configuration costs
  one read of the occurrence table and writes nothing;
- a new or changed occurrence has its reminders recomputed: new ones are added,
  pending ones whose day, kind or recipient changed are updated, pending ones
  no longer wanted are cancelled, cancelled ones wanted again are revived;
- an occurrence no longer in the configuration has its pending reminders cancelled; when its
  agency left the configuration or ended (scheduler/config/lifetimes.py), with that reason, and the
  occurrence stays visible as ended instead of vanishing;
- an occurrence keeps the names of its agency and plan of the day it was planned; a rename
  reaches only the occurrences still ahead;
- a deadline that had already passed when it was first planned is "không theo dõi"
  (untracked): it gets no reminder and is never counted late;
- the focal agency's decisions (scheduler/outbox/actions.py) are kept: a waived occurrence gets
  no reminder, an extended one has its rungs planned from the new date (`extended_to`);
- an occurrence keeps its event's route (`to`, `via`) for rendering; rows written before
  migration 0010 get it at the next sync, without their reminders being recomputed;
- sent, dead and skipped rows are history and never rewritten, except the rows the plan
  itself skips: a rung merged into a later one of the same day is written as skipped with
  the reason, and comes back to pending if a change separates the two days again.

A reminder whose send day has already passed when it is first planned is not
added (telling someone "14 days left" on day 8 helps no one); the rungs still
ahead are. Rows already in the outbox are left for the dispatcher to catch up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Engine, bindparam, func, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlmodel import col

from scheduler.config import lifetimes
from scheduler.config.deployment import Deployment
from scheduler.config.settings import Settings
from scheduler.outbox import events
from scheduler.outbox.store import (
    Occurrence,
    OccurrenceStatus,
    Reminder,
    Status,
    bulk_insert,
    start_of_day_utc,
    utcnow,
)
from scheduler.plan.kinds import ReminderKind
from scheduler.plan.planner import MERGED, PlannedOccurrence, PlannedReminder, Planner, extended

# Occurrences whose end lies up to this far in the past are still planned, so that
# overdue and escalation rungs of recent deadlines follow configuration changes.
LOOKBACK_DAYS = 62
CHUNK = 500
CONFIRMED = OccurrenceStatus.SUBMITTED
REMOVED = OccurrenceStatus.REMOVED
ENDED = OccurrenceStatus.ENDED
UNTRACKED = OccurrenceStatus.UNTRACKED
GONE = "hủy: không còn trong cấu hình"  # the reason of a reminder whose occurrence or rung left it
KEPT = (CONFIRMED, UNTRACKED)  # statuses a configuration change does not undo

Progress = Callable[[int, int], None]
T = TypeVar("T")
Stored = dict[str, tuple[str, str]]  # occurrence key -> (fingerprint, status), as the ledger has them
if TYPE_CHECKING:
    from sqlalchemy import Row

    # A reminder of a changed occurrence, with the columns `_apply` reads for `_reconcile`.
    StoredReminder = Row[str, str, str, str, str, datetime, date, bool, str, str | None]


@dataclass
class SyncReport:
    occurrences_added: int = 0
    occurrences_changed: int = 0
    occurrences_removed: int = 0
    added: int = 0
    updated: int = 0
    cancelled: int = 0
    already_past: int = 0
    events_added: int = 0  # overdue events to e-office systems queued (scheduler/outbox/events.py)
    events_cancelled: int = 0  # waiting events of endpoints no longer configured

    @property
    def writes(self) -> int:
        return (
            self.occurrences_added
            + self.occurrences_changed
            + self.occurrences_removed
            + self.added
            + self.updated
            + self.cancelled
        )


PENDING = Status.PENDING.value  # read once: an enum member's `.value` costs 1 µs per row here
SKIPPED = Status.SKIPPED.value


def _chunks(items: Sequence[T], size: int = CHUNK) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def sync(
    engine: Engine,
    deployment: Deployment,
    settings: Settings,
    today: date,
    progress: Progress | None = None,
) -> SyncReport:
    """Bring the outbox in line with the configuration for [today − lookback, today + horizon]."""
    first = today - timedelta(days=LOOKBACK_DAYS)
    last = today + timedelta(days=settings.horizon_days)
    # Reminders due before the start of today (Vietnam time) are too late to add.
    cutoff = start_of_day_utc(today, settings.timezone)
    planner = Planner(deployment, settings)
    wanted = {occ.key: occ for occ in planner.occurrences(first, last)}
    report = SyncReport()
    with engine.begin() as conn:
        stored: Stored = {}
        unrouted = set()  # written before migration 0010: no route yet
        for key, fingerprint, status, routed in conn.execute(
            select(
                col(Occurrence.key),
                col(Occurrence.fingerprint),
                col(Occurrence.status),
                col(Occurrence.to_agency_id).is_not(None),
            ).where(col(Occurrence.end_date) >= first)
        ):
            stored[key] = (fingerprint, status)
            if not routed:
                unrouted.add(key)
        new = [occ for key, occ in wanted.items() if key not in stored]
        changed = [
            occ
            for key, occ in wanted.items()
            if key in stored and (stored[key][0] != occ.fingerprint or stored[key][1] in (REMOVED, ENDED))
        ]
        removed = [
            key for key, (_, status) in stored.items() if key not in wanted and status not in (REMOVED, ENDED)
        ]
        total = len(new) + len(changed)
        done = 0
        for batch in _chunks(new + changed):
            _apply(conn, planner, batch, stored, cutoff, today, report)
            done += len(batch)
            if progress:
                progress(done, total)
        _remove(conn, deployment, removed, report)
        changed_keys = {occ.key for occ in changed}
        _route(conn, [wanted[key] for key in unrouted if key in wanted and key not in changed_keys])
        report.occurrences_added, report.occurrences_changed = len(new), len(changed)
        report.occurrences_removed = len(removed)
        # Events to e-office systems: who takes them, and the overdue ones ahead.
        report.events_cancelled = events.mirror_endpoints(conn, deployment, utcnow())
        report.events_added = events.plan_overdue(conn, deployment.workdays, settings.timezone, today, last)
    return report


def _occurrence_row(occ: PlannedOccurrence, planner: Planner, now: datetime) -> dict[str, Any]:
    e = occ.event
    return {
        "key": occ.key,
        "plan_id": e.plan_id,
        "item_id": e.item_id,
        "kind": e.kind,
        "period": e.period,
        "agency_id": occ.agency_id,
        "title": e.title,
        "start_date": e.start,
        "end_date": e.end,
        "status": OccurrenceStatus.OPEN.value,
        "fingerprint": occ.fingerprint,
        "updated_at": now,
        **_route_values(occ),
        "agency_name": planner.agency_name(occ.agency_id),
        "plan_name": planner.plan_name(e.plan_id),
    }


def _route_values(occ: PlannedOccurrence) -> dict[str, str]:
    """The occurrence's route columns: "" for none, so that NULL still means "not recorded"."""
    return {"to_agency_id": occ.event.to or "", "via_agency_id": occ.event.via or ""}


def _route(conn: Connection, occurrences: Sequence[PlannedOccurrence]) -> None:
    """Write the route of unchanged occurrences stored before migration 0010 (once: their
    reminders are not recomputed, and the columns are no longer NULL afterwards)."""
    if occurrences:
        table = Occurrence.__table__
        conn.execute(
            update(table).where(table.c.key == bindparam("b_key")),
            [{"b_key": occ.key, **_route_values(occ)} for occ in occurrences],
        )


def _apply(
    conn: Connection,
    planner: Planner,
    batch: Sequence[PlannedOccurrence],
    stored: Stored,
    cutoff: datetime,
    today: date,
    report: SyncReport,
) -> None:
    """Insert or update a batch of occurrences and reconcile their reminders."""
    now = utcnow()
    workdays = planner.deployment.workdays
    rows = [_occurrence_row(occ, planner, now) for occ in batch]
    inserts = [row for row in rows if row["key"] not in stored]
    updates = [row for row in rows if row["key"] in stored]
    for row in inserts:
        if lifetimes.untracked(row["kind"], workdays.next_working_day(row["start_date"]), today):
            row["status"] = UNTRACKED  # nobody was reminded of it: it is never counted late
    for row in updates:
        if stored[row["key"]][1] in KEPT:
            row["status"] = stored[row["key"]][1]  # a confirmation outlives configuration changes
    if inserts:
        conn.execute(insert(Occurrence), inserts)
    if updates:
        table = Occurrence.__table__
        # The names of the time: an occurrence whose deadline has passed keeps the names it was
        # planned with (a row from before names were stored takes today's).
        past = [row for row in updates if row["end_date"] < today]
        ahead = [row for row in updates if row["end_date"] >= today]
        for group, names in ((ahead, None), (past, table.c)):
            if not group:
                continue
            statement = update(table).where(table.c.key == bindparam("b_key"))
            if names is not None:
                statement = statement.values(
                    agency_name=func.coalesce(names.agency_name, bindparam("b_agency_name")),
                    plan_name=func.coalesce(names.plan_name, bindparam("b_plan_name")),
                )
            conn.execute(
                statement,
                [
                    {"b_key": row["key"], **{_bound(k, names): v for k, v in row.items() if k != "key"}}
                    for row in group
                ],
            )

    # A confirmed, untracked or waived occurrence needs no more reminders: nothing is added or
    # revived. An extended one is planned from its new date (the focal agency's decisions,
    # scheduler/outbox/actions.py, outlive configuration changes).
    status = {row["key"]: row["status"] for row in rows}
    changed_keys = [row["key"] for row in updates]
    waived, extended_to = _decisions(conn, changed_keys)
    planned = [
        rem
        for occ in batch
        if status[occ.key] not in KEPT and occ.key not in waived
        for rem in planner.reminders(extended(occ, extended_to.get(occ.key)))
    ]
    existing: dict[str, StoredReminder] = {}
    for keys in _chunks(changed_keys):
        for found in conn.execute(
            select(
                col(Reminder.key),
                col(Reminder.status),
                col(Reminder.channel),
                col(Reminder.kind),
                col(Reminder.recipient),
                col(Reminder.send_at),
                col(Reminder.due_date),
                col(Reminder.ignore_quiet_hours),
                col(Reminder.occurrence_key),
                col(Reminder.last_error),
            ).where(
                col(Reminder.occurrence_key).in_(keys),
                col(Reminder.kind) != ReminderKind.EVENT,  # events are not rungs (outbox/events.py)
            )
        ):
            existing[found.key] = found
    _reconcile(conn, planner, planned, existing, cutoff, now, report)


def _decisions(conn: Connection, keys: Sequence[str]) -> tuple[set[str], dict[str, date]]:
    """Of these occurrences, those the focal agency waived, and the extended ones' new dates."""
    table = Occurrence.__table__
    waived: set[str] = set()
    extended_to: dict[str, date] = {}
    for chunk in _chunks(keys):
        for key, is_waived, new_date in conn.execute(
            select(table.c.key, table.c.waived, table.c.extended_to).where(
                table.c.key.in_(chunk), or_(table.c.waived.is_(True), table.c.extended_to.is_not(None))
            )
        ):
            if is_waived:
                waived.add(key)
            if new_date is not None:
                extended_to[key] = new_date
    return waived, extended_to


def replan(
    conn: Connection, deployment: Deployment, settings: Settings, occurrence_key: str, today: date
) -> SyncReport | None:
    """Re-plan one stored occurrence's reminders as sync does for a changed one, within the
    caller's transaction: after the focal agency extended, reopened or un-waived it. Rungs still
    ahead are added or revived, pending ones moved or cancelled; history is left alone. None
    when the configuration no longer has the occurrence (nothing is changed then)."""
    table = Occurrence.__table__
    row = conn.execute(
        select(
            table.c.fingerprint, table.c.status, table.c.plan_id, table.c.start_date, table.c.end_date
        ).where(table.c.key == occurrence_key)
    ).first()
    if row is None:
        return None
    planner = Planner(deployment, settings)
    found = next(
        (
            occ
            for occ in planner.occurrences(row.start_date, row.end_date, plan_id=row.plan_id)
            if occ.key == occurrence_key
        ),
        None,
    )
    if found is None:
        return None
    report = SyncReport()
    stored: Stored = {occurrence_key: (row.fingerprint, row.status)}
    _apply(conn, planner, [found], stored, start_of_day_utc(today, settings.timezone), today, report)
    return report


def _bound(column: str, names: object) -> str:
    """The parameter name of a column in the update of `_apply` (the names bound separately)."""
    return f"b_{column}" if names is not None and column in ("agency_name", "plan_name") else column


def _reconcile(
    conn: Connection,
    planner: Planner,
    planned: list[PlannedReminder],
    existing: dict[str, StoredReminder],
    cutoff: datetime,
    now: datetime,
    report: SyncReport,
) -> None:
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    moves: dict[str, list[dict[str, Any]]] = {
        PENDING: [],
        Status.CANCELLED: [],
        SKIPPED: [],
    }  # by the status left
    wanted_keys: set[str] = set()
    for rem in planned:
        wanted_keys.add(rem.key)
        row = existing.get(rem.key)
        if row is None:
            if rem.send_at < cutoff:
                report.already_past += 1
                continue
            inserts.append(
                {
                    "key": rem.key,
                    "occurrence_key": rem.occurrence_key,
                    "contact_key": rem.contact_key,
                    "channel": rem.channel,
                    "rung": rem.rung,
                    "kind": rem.kind.value,  # a plain str: sqlite3 binds a str subclass on a slower path
                    "recipient": rem.recipient,
                    "due_date": rem.due_date,
                    "send_at": rem.send_at,
                    "ignore_quiet_hours": rem.ignore_quiet_hours,
                    "status": SKIPPED if rem.skip else PENDING,
                    "last_error": rem.skip,
                    "attempts": 0,
                }
            )
        elif row.status == Status.PENDING and rem.skip:  # now merged into a later rung of its day
            moves[PENDING].append(_changes(rem, now, SKIPPED))
        elif (
            row.status == Status.PENDING
            and row.channel == rem.channel  # else it fell back to another channel: keep its address
            and (row.kind, row.recipient, row.send_at, row.due_date, row.ignore_quiet_hours) != rem.changes()
        ):
            updates.append(_changes(rem, now))
        elif row.status == Status.CANCELLED and rem.send_at >= cutoff:
            moves[Status.CANCELLED].append(_changes(rem, now, SKIPPED if rem.skip else PENDING))
        elif (
            row.status == Status.SKIPPED
            and not rem.skip
            and (row.last_error or "").startswith(MERGED)  # skipped by the plan, not by the dispatcher
            and rem.send_at >= cutoff
        ):
            moves[SKIPPED].append(_changes(rem, now, PENDING))
    stale = [k for k, row in existing.items() if k not in wanted_keys and row.status == Status.PENDING]

    if inserts:
        bulk_insert(conn, Reminder.__table__, inserts, created_at=func.now(), updated_at=func.now())
    table = Reminder.__table__
    if updates:
        conn.execute(
            update(table).where(table.c.key == bindparam("b_key"), table.c.status == Status.PENDING),
            updates,
        )
    for status, rows in moves.items():
        if rows:
            conn.execute(
                update(table).where(table.c.key == bindparam("b_key"), table.c.status == status), rows
            )
    reasons: dict[str, list[str]] = {}
    for key in stale:
        reasons.setdefault(_stale_reason(planner, existing[key]), []).append(key)
    for reason, keys_of_reason in reasons.items():
        for keys in _chunks(keys_of_reason):
            conn.execute(
                update(table)
                .where(table.c.key.in_(keys), table.c.status == Status.PENDING)
                .values(status=Status.CANCELLED, last_error=reason, updated_at=now)
            )
    report.added += len(inserts)
    report.updated += len(updates) + sum(len(rows) for rows in moves.values())
    report.cancelled += len(stale)


def _stale_reason(planner: Planner, row: StoredReminder) -> str:
    """Why a pending reminder no longer wanted is cancelled: its agency's end when it was due
    after the agency's last day, else a change of the configuration."""
    agencies = planner.deployment.agencies
    agency_id = row.occurrence_key.rsplit("/", 1)[-1]
    last_day = lifetimes.ended_on(agencies, agency_id)
    if last_day is not None and row.send_at.astimezone(planner.settings.timezone).date() > last_day:
        return lifetimes.ended_reason(agencies, agency_id)
    return GONE


def _changes(rem: PlannedReminder, now: datetime, status: str | None = None) -> dict[str, Any]:
    """The planned fields of a row; with `status`, also its new status and reason (or none)."""
    values: dict[str, Any] = {
        "b_key": rem.key,
        "kind": rem.kind,
        "recipient": rem.recipient,
        "send_at": rem.send_at,
        "due_date": rem.due_date,
        "ignore_quiet_hours": rem.ignore_quiet_hours,
        "updated_at": now,
    }
    if status is not None:
        values.update(status=status, last_error=rem.skip if status == SKIPPED else None)
    return values


def _remove(conn: Connection, deployment: Deployment, keys: list[str], report: SyncReport) -> None:
    """Occurrences gone from the configuration: cancel what is pending, keep the history.

    One whose agency left the configuration, or ended with nobody to take the occurrence over,
    becomes `ended` (shown as such, its confirmation kept); one that went to a successor, or
    whose item left the plan, becomes `removed`. The reminders say why they were cancelled."""
    now = utcnow()
    table, occ = Reminder.__table__, Occurrence.__table__
    agencies = deployment.agencies
    for chunk in _chunks(keys):
        outcome: dict[tuple[str, str], list[str]] = {}  # (new status, reason) -> keys
        for key, agency_id, start, status in conn.execute(
            select(occ.c.key, occ.c.agency_id, occ.c.start_date, occ.c.status).where(occ.c.key.in_(chunk))
        ):
            agency = agencies.get(agency_id)
            new_status: str
            if agency is not None and (agency.valid_until is None or start <= agency.valid_until):
                new_status, reason = REMOVED, GONE  # the item (or the agency's part in it) left the plan
            else:
                successor = agency is not None and lifetimes.on_duty(agencies, agency_id, start) is not None
                new_status = REMOVED if successor else (status if status == CONFIRMED else ENDED)
                reason = lifetimes.ended_reason(agencies, agency_id)
            outcome.setdefault((new_status, reason), []).append(key)
        for (new_status, reason), of_outcome in outcome.items():
            result = conn.execute(
                update(table)
                .where(
                    table.c.occurrence_key.in_(of_outcome),
                    table.c.status == Status.PENDING,
                    table.c.kind != ReminderKind.EVENT,  # an overdue event is cancelled when due
                )
                .values(status=Status.CANCELLED, last_error=reason, updated_at=now)
            )
            report.cancelled += result.rowcount
            conn.execute(
                update(occ).where(occ.c.key.in_(of_outcome)).values(status=new_status, updated_at=now)
            )
