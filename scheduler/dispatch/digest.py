"""The daily digest to each plan's focal agency: per deadline, how many reported and who is late.

`enqueue_digests` writes one outbox row per focal contact and plan and day (its
idempotency key makes a second run the same day a no-op); the dispatcher renders
it at send time with `digest_context`, so the digest shows the state when sent.
A digest row is a reminder of kind `digest` about no occurrence: its `occurrence_key`
holds a `DigestKey` (the plan and the day), written and read only here.
By default it writes nothing on a day off (weekend, public holiday, Tết, a swapped
day off): offices read it on working days (NHACVIEC_DIGEST_DAYS).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, NamedTuple

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from notifiers.registry import notifier_class
from scheduler.config import lifetimes
from scheduler.config.deployment import Deployment
from scheduler.outbox.status import (
    DEFAULT_DUE_SOON_DAYS,
    DISPLAY_ORDER,
    AgencyStatus,
    StatusInput,
    compute,
    progress,
)
from scheduler.outbox.store import Occurrence, OccurrenceStatus, Reminder, Status, start_of_day_utc
from scheduler.plan.kinds import OccurrenceKind, ReminderKind
from scheduler.plan.planner import idempotency_key

LOOKBACK = timedelta(days=31)  # overdue occurrences stay in the digest this long
LOOKAHEAD = timedelta(days=14)  # deadlines this close are listed as open
DIGEST_RUNG = "digest"
_PREFIX = "digest/"


class DigestKey(NamedTuple):
    """What a digest row is about: a plan on a day. Stored in the row's `occurrence_key` as
    "digest/<plan>/<day>" (the format of the rows written before this type), which keeps a
    digest's idempotency key, hence one digest per plan, contact and day among replicas."""

    plan_id: str
    day: date

    @property
    def occurrence_key(self) -> str:
        return f"{_PREFIX}{self.plan_id}/{self.day.isoformat()}"

    @classmethod
    def parse(cls, occurrence_key: str) -> DigestKey:
        """The key a digest row holds; ValueError for another row's."""
        if not occurrence_key.startswith(_PREFIX):
            raise ValueError(f"not a digest: {occurrence_key!r}")
        plan_id, _, day = occurrence_key.removeprefix(_PREFIX).rpartition("/")
        return cls(plan_id, date.fromisoformat(day))


def digest_context(
    engine: Engine,
    deployment: Deployment,
    plan_id: str,
    today: date,
    tz: tzinfo,
    unconfigured: Mapping[str, str] | None = None,
    due_soon_days: int = DEFAULT_DUE_SOON_DAYS,
    board_url: str | None = None,
    calendar_url: str | None = None,
) -> dict[str, Any]:
    """The digest's context (its contract is in `scheduler.render.templates`): the deadlines of
    the period, in the order of their dates, each with its agencies and their status (computed by
    `scheduler.outbox.status`, as everywhere), its progress and the late agencies; the same rows
    flat; the counts of the whole plan.

    `unconfigured`: channels that are not configured, with why their reminders wait; the
    reminders due by today on them are listed with the undelivered ones. `due_soon_days`:
    NHACVIEC_DUE_SOON_DAYS. `board_url`: the signed read-only link to the plan's board
    (`Links.board_url`), None where there is none (a preview). `calendar_url`: the plan's
    calendar feed (`FeedLinks.url`), None likewise."""
    plan = next(p for p in deployment.plans if p.id == plan_id)
    occ, rem = Occurrence.__table__, Reminder.__table__
    with engine.connect() as conn:
        occurrences = conn.execute(
            select(occ)
            .where(
                occ.c.plan_id == plan_id,
                occ.c.kind == OccurrenceKind.DEADLINE,
                occ.c.status != OccurrenceStatus.REMOVED,
                occ.c.start_date >= today - LOOKBACK,
                occ.c.start_date <= today + LOOKAHEAD,
            )
            .order_by(occ.c.start_date, occ.c.item_id, occ.c.agency_id)
        ).all()
        failures: dict[str, list[str]] = {}
        keys = [o.key for o in occurrences]
        if keys:
            for row in conn.execute(
                select(rem.c.occurrence_key, rem.c.channel, rem.c.recipient, rem.c.last_error).where(
                    rem.c.occurrence_key.in_(keys),
                    rem.c.status == Status.DEAD,
                    rem.c.kind != ReminderKind.EVENT,  # the operator's, not the focal agency's
                )
            ):
                failures.setdefault(row.occurrence_key, []).append(
                    f"{row.channel} {row.recipient}: {row.last_error}"
                )
            if unconfigured:
                for waiting in conn.execute(
                    select(rem.c.occurrence_key, rem.c.channel, rem.c.recipient).where(
                        rem.c.occurrence_key.in_(keys),
                        rem.c.status == Status.PENDING,
                        rem.c.kind != ReminderKind.EVENT,
                        rem.c.channel.in_(unconfigured),
                        rem.c.send_at < start_of_day_utc(today + timedelta(days=1), tz),
                    )
                ):
                    failures.setdefault(waiting.occurrence_key, []).append(
                        f"{waiting.channel} {waiting.recipient}: {unconfigured[waiting.channel]}"
                    )
    rows: list[dict[str, Any]] = []
    groups: dict[tuple[date, str, str], list[dict[str, Any]]] = {}
    for o in occurrences:
        given = StatusInput(
            deadline=o.start_date,
            occurrence_status=o.status,
            confirmed_at=o.confirmed_at,
            agency_ended=lifetimes.has_ended(deployment.agencies, o.agency_id, today),
            waived=bool(o.waived),
            extended_to=o.extended_to,
        )
        status = compute(given, today, deployment.workdays, tz, due_soon_days)
        confirmed_at = o.confirmed_at.replace(tzinfo=o.confirmed_at.tzinfo or UTC) if o.confirmed_at else None
        shown: dict[str, Any] = {
            # The name of the time (a merged or renamed agency keeps its name on its past rows).
            "agency": o.agency_name or deployment.name_of(o.agency_id),
            "item": o.title,
            "start": o.start_date,
            "effective_due": status.effective_deadline,
            "status": status.code.value,
            "label": status.label,
            "confirmed_by": o.confirmed_by,
            "confirmed_at": f"{confirmed_at.astimezone(tz):%H:%M %d/%m/%Y}" if confirmed_at else None,
            "failures": failures.get(o.key, []),
            "note": _note(deployment, o.agency_id) if status.code is AgencyStatus.ENDED else None,
        }
        rows.append(shown)
        groups.setdefault((o.start_date, o.item_id, o.period), []).append(shown)
    order = {code.value: n for n, code in enumerate(DISPLAY_ORDER)}
    deadlines = []
    for (start, _item, _period), members in sorted(groups.items(), key=lambda g: g[0]):
        members.sort(key=lambda r: (order[r["status"]], r["agency"]))
        done = progress(AgencyStatus(r["status"]) for r in members)
        deadlines.append(
            {
                "item": members[0]["item"],
                "start": start,
                "effective_due": deployment.workdays.next_working_day(start),
                "reported": done.reported,
                "expected": done.expected,
                "progress": done.text,
                "counts": {code.value: n for code, n in done.counts.items()},
                "late": [r["agency"] for r in members if r["status"] == AgencyStatus.OVERDUE],
                "rows": members,
            }
        )
    total = progress(AgencyStatus(r["status"]) for r in rows)
    counts: dict[str, int] = {code.value: n for code, n in total.counts.items()}
    counts.update(reported=total.reported, expected=total.expected)
    return {
        "plan": {"id": plan.id, "number": plan.number, "title": plan.title, "issuer": plan.issuer},
        "focal_agency": deployment.name_of(focal_agency(deployment, plan.id, today)),
        "today": today,
        "deadlines": deadlines,
        "rows": rows,
        "counts": counts,
        "alerts": operator_alerts(engine, deployment),
        "board_url": board_url,
        "calendar_url": calendar_url,
    }


def _note(deployment: Deployment, agency_id: str) -> str:
    """What became of an ended agency: "từ sau 30/06/2025; nay là Sở Nội vụ"."""
    return lifetimes.ended_note(deployment.agencies, agency_id)


def focal_agency(deployment: Deployment, plan_id: str, today: date) -> str:
    """The plan's focal agency on `today`: its successor after a merger when the plan follows
    successors; the one the plan names otherwise (whose contacts, if any, still get the digest)."""
    plan = next(p for p in deployment.plans if p.id == plan_id)
    holder = lifetimes.on_duty(deployment.agencies, plan.focal_agency, today, lifetimes.follows(plan))
    return holder or plan.focal_agency


def operator_alerts(engine: Engine, deployment: Deployment) -> list[str]:
    """What the configured channels say only the operator can fix (e.g. the Zalo token)."""
    found: list[str] = []
    for name, config in sorted(deployment.channels.items()):
        if config.options is not None:
            found += [f"{name}: {line}" for line in notifier_class(name).alerts(config.options, engine)]
    return found


def enqueue_digests(
    engine: Engine, deployment: Deployment, now: datetime, tz: tzinfo, working_days_only: bool = True
) -> int:
    """Write today's digest rows for every plan that has something to report; return how many.
    With `working_days_only`, none on a day off."""
    today = now.astimezone(tz).date()
    if working_days_only and not deployment.workdays.is_working_day(today):
        return 0
    added = 0
    for plan in deployment.plans:
        if not digest_context(engine, deployment, plan.id, today, tz)["rows"]:
            continue
        contacts = deployment.contacts.get(focal_agency(deployment, plan.id, today), [])
        focal = [c for c in contacts if c.spec.role == "focal"] or contacts
        occurrence_key = DigestKey(plan.id, today).occurrence_key
        for contact in focal:
            channel = "email" if contact.spec.email else contact.channels[0]
            row = {
                "key": idempotency_key(occurrence_key, contact.key, channel, DIGEST_RUNG),
                "occurrence_key": occurrence_key, "contact_key": contact.key, "channel": channel,
                "rung": DIGEST_RUNG, "kind": ReminderKind.DIGEST, "recipient": contact.address(channel),
                "due_date": today, "send_at": now, "status": Status.PENDING, "attempts": 0,
                "created_at": now, "updated_at": now,
            }  # fmt: skip
            try:
                with engine.begin() as conn:
                    conn.execute(Reminder.__table__.insert().values(**row))
                added += 1
            except IntegrityError:  # already written today
                pass
    return added
