"""From events to occurrences (event × agency) and reminders (× contact × channel × rung).

This module is pure: it computes what the outbox should hold and leaves the
writing to `scheduler.sync`. Send days follow the policy's non-working-day rule:

- a rung before or on its anchor (−7d, 0d) moves to the previous working day by
  default, so it never goes out after the deadline;
- a rung after the deadline (+1wd overdue, +3wd escalation) counts from the
  effective deadline — the next working day when the deadline falls on a day off
  (Civil Code art. 148) — and moves forward to a working day, never earlier.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from scheduler.events import Event, calendar_events
from scheduler.loader import Contact, Deployment
from scheduler.schema import Offset, PolicySpec, RungSpec
from scheduler.settings import Settings
from scheduler.workdays import WorkCalendar


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
    kind: str
    recipient: str
    send_at: datetime  # aware, UTC
    due_date: date
    ignore_quiet_hours: bool  # the policy lets it go out during the quiet hours

    def changes(self) -> tuple:
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


def rung_kind(event: Event, rung: RungSpec) -> str:
    if rung.kind:
        return rung.kind
    if event.kind == "observance":
        return "announce"
    if event.kind == "window":
        if rung.anchor == "end":
            return "closing"
        return "start" if rung.offset.amount == 0 else "prepare"
    if rung.offset.amount < 0:
        return "upcoming"
    return "due" if rung.offset.amount == 0 else "overdue"


def rung_label(event: Event, rung: RungSpec) -> str:
    return f"{rung.anchor}{rung.offset}" if event.kind == "window" else str(rung.offset)


def idempotency_key(occurrence_key: str, contact_key: str, channel: str, rung: str) -> str:
    text = f"{occurrence_key}|{contact_key}|{channel}|{rung}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class Planner:
    """Computes occurrences and reminders for a deployment under one set of settings."""

    def __init__(self, deployment: Deployment, settings: Settings) -> None:
        self.deployment = deployment
        self.settings = settings
        self._plans = {plan.id: plan for plan in deployment.plans}
        self._policy_text: dict[str, str] = {}
        self._contacts_text: dict[str, str] = {}
        self._send_at: dict[tuple, datetime] = {}
        self._salt = "|".join(
            (deployment.workdays.fingerprint, str(settings.timezone), str(settings.send_time))
        )

    def occurrences(self, first: date, last: date) -> Iterator[PlannedOccurrence]:
        for event in calendar_events(self.deployment, first, last):
            event_text = self._event_text(event)
            for agency_id in event.who:
                key = f"{event.plan_id}/{event.item_id}/{event.period}/{agency_id}"
                yield PlannedOccurrence(key, event, agency_id, self._fingerprint(event_text, agency_id))

    def policy(self, event: Event) -> PolicySpec:
        return self.deployment.policy(self._plans[event.plan_id], event.policy)

    def _event_text(self, event: Event) -> str:
        """The event and its policy, without the list of agencies (which only decides who has one)."""
        policy = self.policy(event)
        if policy.id not in self._policy_text:
            self._policy_text[policy.id] = policy.model_dump_json()
        fields = (event.plan_id, event.item_id, event.kind, event.title, event.period, event.start, event.end)
        links = (event.to, event.via, event.after)
        return f"{fields!r}|{links!r}|{self._policy_text[policy.id]}|{self._salt}"

    def _fingerprint(self, event_text: str, agency_id: str) -> str:
        """Changes whenever anything that shapes this occurrence's reminders changes."""
        if agency_id not in self._contacts_text:
            contacts = self.deployment.contacts.get(agency_id, [])
            self._contacts_text[agency_id] = repr([(c.key, c.channels, c.spec) for c in contacts])
        text = f"{event_text}|{self._contacts_text[agency_id]}"
        return hashlib.sha1(text.encode()).hexdigest()

    def send_at(self, anchor: date, rung: RungSpec, policy: PolicySpec) -> datetime:
        """The instant (UTC) a rung goes out; few distinct values, so they are cached."""
        clock = policy.send_time or self.settings.send_time
        cache_key = (anchor, rung.offset, policy.non_working_day, clock)
        if cache_key not in self._send_at:
            day = send_day(anchor, rung.offset, policy.non_working_day, self.deployment.workdays)
            self._send_at[cache_key] = datetime.combine(day, clock, self.settings.timezone).astimezone(UTC)
        return self._send_at[cache_key]

    def reminders(self, occurrence: PlannedOccurrence) -> list[PlannedReminder]:
        event = occurrence.event
        policy = self.policy(event)
        rungs = {"deadline": policy.deadline, "window": policy.window, "observance": policy.observance}
        result = []
        for rung in rungs[event.kind]:
            send_at = self.send_at(event.end if rung.anchor == "end" else event.start, rung, policy)
            label, kind = rung_label(event, rung), rung_kind(event, rung)
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
