"""The body of a calendar feed: an agency's or a plan's deadlines, windows and observances over the
validity of its plans, with the status from the ledger (`scheduler.outbox.status`, the one status
model) in each deadline's summary, serialized by `scheduler.plan.ics.to_ics`.

- **agency**: every plan that concerns the agency (it reports, or receives reports); each
  deadline it reports on says where it stands: "[Đã báo cáo] Hạn: …", "[Quá hạn] Hạn: …". UIDs
  carry the agency, so that a plan's feed in the same calendar does not clash.
- **plan**: one event per deadline and period with "x/y đã báo cáo" (and how many are overdue)
  counted by one grouped query (a plan of 4,341 agencies makes no object per agency).

The body is deterministic for the same ledger, configuration and day, except its DTSTAMP:
`build` writes `STAMP_PLACEHOLDER` there, so that its hash is the feed's ETag; the web layer puts
the time the body last changed in its place.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import Engine, false, func, literal, select

from scheduler.calendar.dates import format_date
from scheduler.config import lifetimes
from scheduler.config.deployment import Deployment
from scheduler.config.schema import PlanSpec
from scheduler.config.validity import last_day
from scheduler.outbox.feeds import FeedKind
from scheduler.outbox.status import (
    DEFAULT_DUE_SOON_DAYS,
    AgencyStatus,
    Status,
    StatusInput,
    compute,
    progress,
)
from scheduler.outbox.store import Occurrence, OccurrenceStatus
from scheduler.plan.events import Event, plan_events
from scheduler.plan.ics import summary, to_ics
from scheduler.plan.kinds import OccurrenceKind

STAMP = datetime(2000, 1, 1, tzinfo=UTC)  # the DTSTAMP `build` writes, replaced when served
# A whole content line: a folded line's continuation starts with a space, so a title or a
# description that happens to contain these characters is never taken for it.
STAMP_PLACEHOLDER = b"\r\nDTSTAMP:20000101T000000Z\r\n"
BACK_DAYS = 366  # a plan without end (recurring): its feed starts at most this long ago
AHEAD_DAYS = 400  # … and ends this far ahead
MAX_ALARM_DAYS = 30
REFRESH = timedelta(hours=6)  # what the feed asks calendar clients to poll at (they choose)


class FeedGone(Exception):
    """The feed's agency or plan is not in the configuration any more."""


@dataclass(frozen=True)
class Body:
    ics: bytes  # with STAMP_PLACEHOLDER as every DTSTAMP
    etag: str  # the body's hash

    def stamped(self, moment: datetime) -> bytes:
        stamp = f"\r\nDTSTAMP:{moment.astimezone(UTC):%Y%m%dT%H%M%SZ}\r\n".encode()
        return self.ics.replace(STAMP_PLACEHOLDER, stamp)


def feed_span(deployment: Deployment, plan: PlanSpec, today: date) -> tuple[date, date]:
    """The days a plan's feed covers: its validity (`config/validity.py`), one-off items of its
    year included; a plan without end to AHEAD_DAYS from today, from BACK_DAYS ago at most."""
    life = deployment.life(plan)
    first = min(life.start, date(plan.year, 1, 1))
    last = last_day(plan, life, deployment.workdays)
    if last is None:
        first = max(first, today - timedelta(days=BACK_DAYS))
        last = today + timedelta(days=AHEAD_DAYS)
    return first, max(last, first)


def status_tag(status: Status) -> str:
    """The status as the agency feed's summary starts: "[Quá hạn]"; nothing while in time."""
    if status.code.reported:
        return "[Đã báo cáo]"
    if status.code is AgencyStatus.EXTENDED and status.extended_to is not None:
        return f"[Gia hạn đến {status.extended_to:%d/%m}]"
    if status.code is AgencyStatus.OPEN:
        return ""
    return f"[{status.code.label}]"


def agency_body(
    engine: Engine,
    deployment: Deployment,
    agency_id: str,
    today: date,
    tz: tzinfo,
    alarm_days: int | None = None,
    due_soon_days: int = DEFAULT_DUE_SOON_DAYS,
) -> Body:
    """The agency's feed: the events of every plan that concerns it, its status on each deadline."""
    if agency_id not in deployment.agencies:
        raise FeedGone(agency_id)
    events: list[Event] = []
    for plan in deployment.plans:
        first, last = feed_span(deployment, plan, today)
        events.extend(
            e for e in plan_events(deployment, plan, first, last) if agency_id in (*e.who, e.to, e.via)
        )
    events.sort(key=lambda e: (e.start, e.end, e.plan_id, e.item_id, e.period))
    occ = Occurrence.__table__
    query = select(
        occ.c.plan_id,
        occ.c.item_id,
        occ.c.period,
        occ.c.start_date,
        occ.c.status,
        occ.c.confirmed_at,
        occ.c.waived,
        occ.c.extended_to,
        occ.c.report_number,
    ).where(
        occ.c.agency_id == agency_id,
        occ.c.kind == OccurrenceKind.DEADLINE,
        occ.c.status != OccurrenceStatus.REMOVED,
    )
    with engine.connect() as conn:
        found = {(r.plan_id, r.item_id, r.period): r for r in conn.execute(query)}
    ended = lifetimes.has_ended(deployment.agencies, agency_id, today)
    tags: dict[str, str] = {}
    notes: dict[str, str] = {}
    for event in events:
        row = found.get((event.plan_id, event.item_id, event.period))
        if event.kind != OccurrenceKind.DEADLINE or agency_id not in event.who:
            continue
        given = StatusInput(
            deadline=row.start_date if row else event.start,
            occurrence_status=row.status if row else OccurrenceStatus.OPEN,
            confirmed_at=row.confirmed_at if row else None,
            agency_ended=ended,
            waived=bool(row.waived) if row else False,
            extended_to=row.extended_to if row else None,
        )
        status = compute(given, today, deployment.workdays, tz, due_soon_days)
        tags[event.uid] = status_tag(status)
        number = f" (văn bản số {row.report_number})" if row is not None and row.report_number else ""
        notes[event.uid] = f"Tình trạng ngày {format_date(today)}: {status.label}{number}"

    def summary_of(event: Event) -> str:
        tag = tags.get(event.uid, "")
        return f"{tag} {summary(event)}" if tag else summary(event)

    ics = to_ics(
        deployment,
        events,
        STAMP,
        name=f"Lịch báo cáo - {deployment.name_of(agency_id)}",
        uid=lambda e: f"{e.plan_id}.{e.item_id}.{e.period}.{agency_id}@nhacviec",
        summary_of=summary_of,
        note=lambda e: notes.get(e.uid),
        alarm_days=alarm_days,
        refresh=REFRESH,
    )
    return Body(ics, _etag(ics))


def plan_body(
    engine: Engine,
    deployment: Deployment,
    plan_id: str,
    today: date,
    tz: tzinfo,
    alarm_days: int | None = None,
    due_soon_days: int = DEFAULT_DUE_SOON_DAYS,
) -> Body:
    """The plan's feed: one event per deadline and period with its progress, its windows and
    observances, over its validity."""
    plan = next((p for p in deployment.plans if p.id == plan_id), None)
    if plan is None:
        raise FeedGone(plan_id)
    first, last = feed_span(deployment, plan, today)
    events = sorted(
        plan_events(deployment, plan, first, last), key=lambda e: (e.start, e.end, e.item_id, e.period)
    )
    counts = _plan_counts(engine, deployment, plan_id, today, tz, due_soon_days)

    def progress_text(event: Event) -> str | None:
        found = counts.get((event.item_id, event.period))
        if event.kind != OccurrenceKind.DEADLINE or not found:
            return None
        done = progress(found.elements())
        late = found[AgencyStatus.OVERDUE]
        return done.text + (f", {late} quá hạn" if late else "")

    def summary_of(event: Event) -> str:
        text = progress_text(event)
        return f"{summary(event)} ({text})" if text else summary(event)

    def note(event: Event) -> str | None:
        text = progress_text(event)
        return f"Tình hình ngày {format_date(today)}: {text}" if text else None

    ics = to_ics(
        deployment,
        events,
        STAMP,
        name=f"Lịch báo cáo - {plan.title}",
        summary_of=summary_of,
        note=note,
        alarm_days=alarm_days,
        refresh=REFRESH,
    )
    return Body(ics, _etag(ics))


def _plan_counts(
    engine: Engine, deployment: Deployment, plan_id: str, today: date, tz: tzinfo, due_soon_days: int
) -> dict[tuple[str, str], Counter[AgencyStatus]]:
    """Per (item, period): how many agencies are in each status, from one grouped query; the
    status is computed once per distinct input (a handful per deadline)."""
    occ = Occurrence.__table__
    ended_ids = [a for a in deployment.agencies if lifetimes.has_ended(deployment.agencies, a, today)]
    ended = occ.c.agency_id.in_(ended_ids) if ended_ids else literal(False)
    # Whether a report came in matters; on time or late does not for the counts shown.
    columns: list[Any] = [
        occ.c.item_id,
        occ.c.period,
        occ.c.start_date,
        occ.c.status,
        func.coalesce(occ.c.waived, false()).label("waived"),
        occ.c.extended_to,
        ended.label("ended"),
    ]
    query = (
        select(*columns, func.count().label("n"))
        .where(
            occ.c.plan_id == plan_id,
            occ.c.kind == OccurrenceKind.DEADLINE,
            occ.c.status != OccurrenceStatus.REMOVED,
        )
        .group_by(*columns)
    )
    result: dict[tuple[str, str], Counter[AgencyStatus]] = {}
    with engine.connect() as conn:
        for r in conn.execute(query):
            given = StatusInput(
                deadline=r.start_date,
                occurrence_status=r.status,
                agency_ended=bool(r.ended),
                waived=bool(r.waived),
                extended_to=r.extended_to,
            )
            code = compute(given, today, deployment.workdays, tz, due_soon_days).code
            result.setdefault((r.item_id, r.period), Counter())[code] += r.n
    return result


def _etag(ics: bytes) -> str:
    return hashlib.sha256(ics).hexdigest()[:32]


def body(
    engine: Engine,
    deployment: Deployment,
    kind: FeedKind,
    target_id: str,
    today: date,
    tz: tzinfo,
    alarm_days: int | None = None,
    due_soon_days: int = DEFAULT_DUE_SOON_DAYS,
) -> Body:
    """The feed of `kind` for `target_id`; raises FeedGone when the target left the configuration."""
    build = agency_body if kind is FeedKind.AGENCY else plan_body
    return build(engine, deployment, target_id, today, tz, alarm_days, due_soon_days)
