"""From events to occurrences (event × agency) and reminders (× contact × channel × rung).

This module is pure: it computes what the outbox should hold and leaves the
writing to `scheduler.outbox.sync`. Send days follow the policy's non-working-day rule:

- a rung before or on its anchor (−7d, 0d) moves to the previous working day by
  default, so it never goes out after the deadline;
- a rung after the deadline (+1wd overdue, +3wd escalation) counts from the
  effective deadline — the next working day when the deadline falls on a day off
  (Civil Code art. 148) — and moves forward to a working day, never earlier.

A send time in the quiet hours moves to their end, on a working day (`send_window`).
Rungs of one occurrence that land on the same day for the same contact and channel
become one message, the later rung's; the others are planned as skipped, with the reason.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from scheduler.calendar.workdays import WorkCalendar
from scheduler.config import lifetimes
from scheduler.config.deployment import Contact, Deployment
from scheduler.config.schema import Offset, PolicySpec, RungSpec
from scheduler.config.settings import Settings
from scheduler.plan.events import Event, calendar_events
from scheduler.plan.kinds import OccurrenceKind, ReminderKind


@dataclass(frozen=True)
class PlannedOccurrence:
    key: str
    event: Event
    agency_id: str
    fingerprint: str


@dataclass(frozen=True)
class PlannedReminder:
    key: str  # the idempotency key: stable for (occurrence, contact, channel, rung)
    occurrence_key: str
    contact_key: str
    channel: str
    rung: str
    kind: ReminderKind
    recipient: str
    send_at: datetime  # aware, UTC
    due_date: date
    ignore_quiet_hours: bool  # the policy lets it go out during the quiet hours
    skip: str | None = None  # why it is recorded as skipped (merged into a later rung of the same day)

    def changes(self) -> tuple[str, str, datetime, date, bool]:
        """The fields a re-sync may update on a pending row."""
        return (self.kind, self.recipient, self.send_at, self.due_date, self.ignore_quiet_hours)


def send_day(anchor: date, offset: Offset, rule: str, workdays: WorkCalendar) -> date:
    """The day a rung goes out, given its anchor date and the non-working-day rule."""
    if offset.amount > 0:
        start = workdays.next_working_day(anchor)
        if offset.working_days:
            return workdays.add_working_days(start, offset.amount)
        day = start + timedelta(days=offset.amount)
        return day if rule == "keep" else workdays.next_working_day(day)
    if offset.working_days:
        day = workdays.add_working_days(anchor, offset.amount) if offset.amount else anchor
    else:
        day = anchor + timedelta(days=offset.amount)
    if rule == "keep" or workdays.is_working_day(day):
        return day
    if rule == "next" and (later := workdays.next_working_day(day)) <= anchor:
        return later
    return workdays.previous_working_day(day)


def send_window(moment: datetime, settings: Settings, workdays: WorkCalendar) -> datetime:
    """The first instant from `moment` at which a reminder that keeps the quiet hours may go
    out: `moment` itself, or the end of the quiet hours it falls in — on the next working day
    when that end is on a day off, so that the quiet hours never move a reminder onto one."""
    tz = settings.timezone
    local = moment.astimezone(tz)
    if not settings.quiet(local.time()):
        return moment
    end = datetime.combine(local.date(), settings.quiet_end, tz)
    if end <= local:
        end = datetime.combine(local.date() + timedelta(days=1), settings.quiet_end, tz)
    if not workdays.is_working_day(end.date()):
        end = datetime.combine(workdays.next_working_day(end.date()), settings.quiet_end, tz)
    return end.astimezone(UTC)


KIND_NAMES = {
    ReminderKind.UPCOMING: "sắp đến hạn", ReminderKind.DUE: "đến hạn", ReminderKind.OVERDUE: "quá hạn",
    ReminderKind.ESCALATION: "báo lãnh đạo", ReminderKind.PREPARE: "chuẩn bị đợt",
    ReminderKind.START: "bắt đầu đợt", ReminderKind.CLOSING: "sắp kết thúc đợt",
    ReminderKind.ANNOUNCE: "thông báo ngày kỷ niệm",
}  # fmt: skip


def rung_kind(event: Event, rung: RungSpec) -> ReminderKind:
    if rung.kind:
        return ReminderKind(rung.kind)
    if event.kind == OccurrenceKind.OBSERVANCE:
        return ReminderKind.ANNOUNCE
    if event.kind == OccurrenceKind.WINDOW:
        if rung.anchor == "end":
            return ReminderKind.CLOSING
        return ReminderKind.START if rung.offset.amount == 0 else ReminderKind.PREPARE
    if rung.offset.amount < 0:
        return ReminderKind.UPCOMING
    return ReminderKind.DUE if rung.offset.amount == 0 else ReminderKind.OVERDUE


def rung_label(event: Event, rung: RungSpec) -> str:
    return f"{rung.anchor}{rung.offset}" if event.kind == OccurrenceKind.WINDOW else str(rung.offset)


def idempotency_key(occurrence_key: str, contact_key: str, channel: str, rung: str) -> str:
    text = f"{occurrence_key}|{contact_key}|{channel}|{rung}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


MERGED = "bỏ qua: cùng ngày gửi với lời nhắc"  # the reason's start: sync tells such rows by it


RungOrder = tuple[date, datetime, date, int]  # (send day, send time, anchor date, offset in days)


def merged_reason(kept: PlannedReminder, day: date) -> str:
    name = KIND_NAMES.get(kept.kind, kept.kind)
    return f"{MERGED} «{name}» (mốc {kept.rung}) ngày {day:%d/%m/%Y}: chỉ gửi lời nhắc đó"


def one_per_day(planned: list[PlannedReminder], order: dict[str, RungOrder]) -> list[PlannedReminder]:
    """Rungs landing on the same send day for the same contact and channel (a deadline in Tết
    pulls −3d and 0d onto the same morning) become one message: the later rung's, the one
    nearer the end of the calendar; the others are kept as skipped, with the reason.
    `order`: rung label -> (send day, send time, anchor date, offset in days)."""
    later = {
        label: (day, send_at, anchor + timedelta(days=amount))
        for label, (day, send_at, anchor, amount) in order.items()
    }
    latest: dict[tuple[str, str, date], PlannedReminder] = {}
    for rem in planned:
        group = (rem.contact_key, rem.channel, later[rem.rung][0])
        if group not in latest or later[rem.rung] > later[latest[group].rung]:
            latest[group] = rem
    result = []
    for rem in planned:
        day = later[rem.rung][0]
        kept = latest[(rem.contact_key, rem.channel, day)]
        result.append(rem if kept is rem else replace(rem, skip=merged_reason(kept, day)))
    return result


def extended(occurrence: PlannedOccurrence, extended_to: date | None) -> PlannedOccurrence:
    """The occurrence with its deadline moved to `extended_to` (the focal agency extended it), so
    that its reminders are planned from the new date; unchanged when there is no later date, or
    it is not a deadline. Its key and fingerprint stay: its rungs keep their rows."""
    event = occurrence.event
    if extended_to is None or extended_to <= event.start or event.kind != OccurrenceKind.DEADLINE:
        return occurrence
    return replace(occurrence, event=replace(event, start=extended_to, end=extended_to))


class Planner:
    """Computes occurrences and reminders for a deployment under one set of settings."""

    def __init__(self, deployment: Deployment, settings: Settings) -> None:
        self.deployment = deployment
        self.settings = settings
        self._plans = {plan.id: plan for plan in deployment.plans}
        self._plan_names = {plan.id: lifetimes.plan_name(plan) for plan in deployment.plans}
        self._policy_text: dict[str, str] = {}
        self._contacts_text: dict[str, str] = {}
        self._send_at: dict[tuple[date, Offset, str, time, bool], tuple[datetime, date]] = {}
        self._salt = "|".join(
            (
                deployment.workdays.fingerprint, str(settings.timezone), str(settings.send_time),
                str(settings.quiet_start), str(settings.quiet_end),
            )
        )  # fmt: skip

    def occurrences(self, first: date, last: date, plan_id: str | None = None) -> Iterator[PlannedOccurrence]:
        for event in calendar_events(self.deployment, first, last, plan_id=plan_id):
            event_text = self._event_text(event)
            for agency_id in event.who:
                key = f"{event.plan_id}/{event.item_id}/{event.period}/{agency_id}"
                yield PlannedOccurrence(key, event, agency_id, self._fingerprint(event_text, agency_id))

    def agency_name(self, agency_id: str) -> str:
        """The agency's name now, as an occurrence planned now stores it."""
        return self.deployment.name_of(agency_id)

    def plan_name(self, plan_id: str) -> str:
        return self._plan_names.get(plan_id, plan_id)

    def policy(self, event: Event) -> PolicySpec:
        return self.deployment.policy(self._plans[event.plan_id], event.policy)

    def _event_text(self, event: Event) -> str:
        """The event and its policy, without the list of agencies (which only decides who has one)."""
        policy = self.policy(event)
        if policy.id not in self._policy_text:
            self._policy_text[policy.id] = policy.model_dump_json()
        # The kind as its string: the repr of an enum member would change every stored fingerprint.
        kind = str(event.kind)
        fields = (event.plan_id, event.item_id, kind, event.title, event.period, event.start, event.end)
        links = (event.to, event.via, event.after, self._plan_names[event.plan_id])
        return f"{fields!r}|{links!r}|{self._policy_text[policy.id]}|{self._salt}"

    def _fingerprint(self, event_text: str, agency_id: str) -> str:
        """Changes whenever anything that shapes this occurrence's reminders changes."""
        if agency_id not in self._contacts_text:
            contacts = self.deployment.contacts.get(agency_id, [])
            agency = self.deployment.agencies.get(agency_id)
            # Its name (stored with the occurrence) and its end (its reminders stop there).
            life = (self.agency_name(agency_id), agency.valid_until, agency.succeeded_by) if agency else None
            self._contacts_text[agency_id] = repr(([(c.key, c.channels, c.spec) for c in contacts], life))
        text = f"{event_text}|{self._contacts_text[agency_id]}"
        return hashlib.sha1(text.encode()).hexdigest()

    def send_at(self, anchor: date, rung: RungSpec, policy: PolicySpec) -> tuple[datetime, date]:
        """The instant (UTC) a rung goes out, and its local day; few distinct values, so cached."""
        clock = policy.send_time or self.settings.send_time
        cache_key = (anchor, rung.offset, policy.non_working_day, clock, policy.ignore_quiet_hours)
        if cache_key not in self._send_at:
            workdays, tz = self.deployment.workdays, self.settings.timezone
            day = send_day(anchor, rung.offset, policy.non_working_day, workdays)
            moment = datetime.combine(day, clock, tz).astimezone(UTC)
            if not policy.ignore_quiet_hours:  # `check` refuses such a send time; kept safe anyway
                moment = send_window(moment, self.settings, workdays)
            self._send_at[cache_key] = (moment, moment.astimezone(tz).date())
        return self._send_at[cache_key]

    def reminders(self, occurrence: PlannedOccurrence) -> list[PlannedReminder]:
        event = occurrence.event
        policy = self.policy(event)
        rungs = {
            OccurrenceKind.DEADLINE: policy.deadline,
            OccurrenceKind.WINDOW: policy.window,
            OccurrenceKind.OBSERVANCE: policy.observance,
        }
        result: list[PlannedReminder] = []
        order: dict[str, RungOrder] = {}  # rung label -> (send day, send time, anchor, offset in days)
        # Nothing goes to an agency after its last day (its successor has the later occurrences).
        last_day = lifetimes.ended_on(self.deployment.agencies, occurrence.agency_id)
        for rung in rungs[event.kind]:
            anchor = event.end if rung.anchor == "end" else event.start
            send_at, day = self.send_at(anchor, rung, policy)
            if last_day is not None and day > last_day:
                continue
            label, kind = rung_label(event, rung), rung_kind(event, rung)
            order[label] = (day, send_at, anchor, rung.offset.amount)
            for contact in self._recipients(occurrence.agency_id, rung.to):
                for channel in self._channels(contact, rung):
                    key = idempotency_key(occurrence.key, contact.key, channel, label)
                    address = contact.address(channel)
                    result.append(
                        PlannedReminder(
                            key,
                            occurrence.key,
                            contact.key,
                            channel,
                            label,
                            kind,
                            address,
                            send_at,
                            event.start,
                            policy.ignore_quiet_hours,
                        )
                    )
        if len({day for day, *_ in order.values()}) < len(order):
            return one_per_day(result, order)
        return result

    def _recipients(self, agency_id: str, role: str) -> list[Contact]:
        contacts = self.deployment.contacts.get(agency_id, [])
        # An agency without a contact in that role is still reached through the others.
        return [c for c in contacts if c.spec.role == role] or contacts

    @staticmethod
    def _channels(contact: Contact, rung: RungSpec) -> tuple[str, ...]:
        if rung.channels:
            usable = tuple(ch for ch in rung.channels if contact.address(ch))
            if usable:
                return usable
        return contact.channels
