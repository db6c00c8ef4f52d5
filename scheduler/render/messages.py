"""From an outbox row to a rendered `Message`: the template context, the link, the .ics.

What a message says of its event comes from the occurrence row (its route: `to`, `via`) and
the plan's item in the configuration, not from expanding the plan's calendar again. The
calendar is expanded (one plan, one day) only for rows stored before migration 0010, whose
route is NULL, and for Decree 09 reports, whose data period only the calendar gives.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, tzinfo
from typing import Any

from notifiers.base import Attachment, Message
from scheduler.config.deployment import Deployment
from scheduler.config.schema import ObligationSpec, ObservanceSpec, PlanSpec, WindowSpec
from scheduler.outbox.feeds import FeedKind
from scheduler.outbox.store import OccurrenceRow, ReminderRow
from scheduler.plan.events import Event, calendar_events
from scheduler.plan.ics import to_ics
from scheduler.plan.kinds import OccurrenceKind, ReminderKind
from scheduler.render.links import FeedLinks, Links
from scheduler.render.templates import OUTPUTS, Rendered, Templates, ngay

ItemSpec = ObligationSpec | WindowSpec | ObservanceSpec


# Flat text fields of a reminder, for channels that fill a provider's template (Zalo
# ZNS `template_data`, webhooks) rather than send rendered text. Dates read dd/mm/yyyy.
def reminder_fields(context: dict[str, Any]) -> dict[str, str]:
    """The FIELDS of a reminder, from its template context."""
    return {
        "kind": context["kind"],
        "agency": context["agency"]["name"],
        "contact": context["contact"]["name"],
        "plan": context["plan"]["title"],
        "plan_number": context["plan"]["number"] or "",
        "item": context["item"]["title"],
        "deadline": ngay(context["start"]),
        "effective_due": ngay(context["effective_due"]),
        "end": ngay(context["end"]),
        "days_left": str(context["days_left"]),
        "to_agency": context["to_agency"] or "",
        "via_agency": context["via_agency"] or "",
        "focal_agency": context["focal_agency"] or "",
        "confirm_url": context["confirm_url"] or "",
        "data_period": data_period_field(context["data_period"]),
    }


def data_period_field(data_period: dict[str, Any] | None) -> str:
    """A Decree 09 report's data period, "15/12/2025 - 14/06/2026" (23 characters), or ""."""
    return f"{ngay(data_period['start'])} - {ngay(data_period['end'])}" if data_period else ""


class MessageBuilder:
    """Renders reminders with the current configuration and templates."""

    def __init__(
        self,
        deployment: Deployment,
        templates: Templates,
        links: Links,
        timezone: tzinfo,
        feeds: FeedLinks | None = None,
    ) -> None:
        """`feeds`: the calendar feeds' links that e-mails carry (none without it: previews)."""
        self.deployment = deployment
        self.feeds = feeds
        self.templates = templates
        self.links = links
        self.timezone = timezone
        # per configuration: messages share few events
        self._events: dict[tuple[int, str, str, str], Event | None] = {}
        self._calendars: dict[tuple[int, str, date], bytes] = {}
        self._items: tuple[int, dict[tuple[str, str], tuple[PlanSpec, ItemSpec]]] = (0, {})

    def _plan(self, plan_id: str) -> dict[str, Any]:
        plan = next((p for p in self.deployment.plans if p.id == plan_id), None)
        if plan is None:  # removed from the configuration after the row was written
            return {"id": plan_id, "number": None, "title": plan_id, "issuer": "", "focal_agency": None}
        return {
            "id": plan.id,
            "number": plan.number,
            "title": plan.title,
            "issuer": plan.issuer,
            "focal_agency": plan.focal_agency,
        }

    def _contact(self, contact_key: str) -> dict[str, str]:
        agency_id = contact_key.split("/", 1)[0]
        for contact in self.deployment.contacts.get(agency_id, []):
            if contact.key == contact_key:
                return {"name": contact.spec.name, "role": contact.spec.role}
        return {"name": "", "role": "focal"}

    def reminder_context(
        self,
        reminder: ReminderRow,
        occurrence: OccurrenceRow,
        event: Event | None,
        today: date,
        short_link: bool = False,
    ) -> dict[str, Any]:
        """The template context; its keys are documented in scheduler/render/templates.py."""
        plan = self._plan(occurrence.plan_id)
        workdays = self.deployment.workdays
        start = occurrence.start_date
        is_deadline = occurrence.kind == OccurrenceKind.DEADLINE
        # A deadline the focal agency extended for this agency (scheduler/outbox/actions.py) is
        # told as its new date. Rows read before migration 0013, and previews, may lack it.
        extended_to: date | None = getattr(occurrence, "extended_to", None)
        if is_deadline and extended_to is not None and extended_to > start:
            start = extended_to
        return {
            "kind": reminder.kind,
            "plan": plan,
            "item": {"id": occurrence.item_id, "title": occurrence.title, "kind": occurrence.kind},
            "start": start,
            "end": start if is_deadline else occurrence.end_date,
            "effective_due": workdays.next_working_day(start) if is_deadline else start,
            "days_left": (start - today).days,
            "agency": {"id": occurrence.agency_id, "name": self.deployment.name_of(occurrence.agency_id)},
            "contact": self._contact(reminder.contact_key),
            "to_agency": self.deployment.name_of(event.to) if event and event.to else None,
            "via_agency": self.deployment.name_of(event.via) if event and event.via else None,
            "focal_agency": self.deployment.name_of(plan["focal_agency"]) if plan["focal_agency"] else "",
            "confirm_url": self._confirm_url(reminder, occurrence, short_link) if is_deadline else None,
            "today": today,
            "data_period": vars(event.data) if event and event.data else None,
            "calendar_url": self.calendar_url(FeedKind.AGENCY, occurrence.agency_id)
            if reminder.channel == "email"
            else None,
        }

    def calendar_url(self, kind: FeedKind, target_id: str) -> str | None:
        """The https link of the agency's or plan's calendar feed, or None (no feeds wired)."""
        return self.feeds.url(kind, target_id) if self.feeds is not None else None

    def _confirm_url(self, reminder: ReminderRow, occurrence: OccurrenceRow, short: bool) -> str:
        """The short link of the reminder row (Zalo, SMS), or the long one (e-mail, previews)."""
        reminder_id: int | None = getattr(reminder, "id", None)
        if short and reminder_id:
            return self.links.short_url(reminder_id, occurrence.key)
        return self.links.url(occurrence.key)

    def _event(self, occurrence: OccurrenceRow) -> Event | None:
        """The occurrence's event in the current configuration (None if it was removed)."""
        key = (id(self.deployment), occurrence.plan_id, occurrence.item_id, occurrence.period)
        if key not in self._events:
            self._events = {k: v for k, v in self._events.items() if k[0] == key[0]}
            self._events[key] = self._stored_event(occurrence)
        return self._events[key]

    def _stored_event(self, occurrence: OccurrenceRow) -> Event | None:
        """The event from the row and its item's specification; from the calendar when the row
        has no route (stored before migration 0010) or the item is a Decree 09 report."""
        # Rows read before the migration, and previews' rows, may lack the columns.
        to: str | None = getattr(occurrence, "to_agency_id", None)
        via: str | None = getattr(occurrence, "via_agency_id", None)
        found = self._item(occurrence.plan_id, occurrence.item_id)
        if to is None or via is None or found is None:
            return self._find_event(occurrence)
        plan, item = found
        return Event(
            occurrence.plan_id,
            occurrence.item_id,
            OccurrenceKind(occurrence.kind),
            occurrence.title,
            occurrence.period,
            occurrence.start_date,
            occurrence.end_date,
            (),  # who: every agency of the event; rendering needs only the occurrence's
            tuple(item.who or plan.participants),
            to=to or None,
            via=via or None,
            after=getattr(item, "after", None),
            policy=item.policy,
        )

    def _item(self, plan_id: str, item_id: str) -> tuple[PlanSpec, ItemSpec] | None:
        """The plan and item specifications of an occurrence, None when the configuration no
        longer has them or the item is a Decree 09 report (its events carry a data period)."""
        if self._items[0] != id(self.deployment):
            items: dict[tuple[str, str], tuple[PlanSpec, ItemSpec]] = {}
            for plan in self.deployment.plans:
                specs: list[ItemSpec] = [ob for ob in plan.obligations if ob.period is None]
                for spec in (*specs, *plan.windows, *plan.observances):
                    items[(plan.id, spec.id)] = (plan, spec)
            self._items = (id(self.deployment), items)
        return self._items[1].get((plan_id, item_id))

    def _ics(self, event: Event, now: datetime) -> bytes:
        """The event as .ics; the same for every agency, so built once a day per event."""
        key = (id(self.deployment), event.uid, now.date())
        if key not in self._calendars:
            self._calendars = {k: v for k, v in self._calendars.items() if k[0] == key[0] and k[2] == key[2]}
            self._calendars[key] = to_ics(self.deployment, [event], now)
        return self._calendars[key]

    def _find_event(self, occurrence: OccurrenceRow) -> Event | None:
        for event in calendar_events(
            self.deployment, occurrence.start_date, occurrence.start_date, plan_id=occurrence.plan_id
        ):
            if event.item_id == occurrence.item_id and event.period == occurrence.period:
                return event
        return None

    def reminder(
        self,
        reminder: ReminderRow,
        occurrence: OccurrenceRow,
        thread: tuple[str, ...],
        now: datetime,
        outputs: Collection[str] = OUTPUTS,
    ) -> Message:
        """The reminder rendered into `outputs`: those its channel's notifier reads
        (`Notifier.renders`; rendering only those is most of the cost saved), all by default.
        A channel that reads no e-mail body gets the short form of the link."""
        today = now.astimezone(self.timezone).date()
        event = self._event(occurrence)
        context = self.reminder_context(reminder, occurrence, event, today, "email.txt" not in outputs)
        rendered = self.templates.render(reminder.kind, context, outputs)
        attachments: tuple[Attachment, ...] = ()
        if event is not None and reminder.channel == "email":
            attachments = (
                Attachment("han-bao-cao.ics", "text/calendar; method=PUBLISH", self._ics(event, now)),
            )
        fields = reminder_fields(context) if reminder.channel != "email" else {}
        return self._message(reminder, rendered, thread, attachments, fields)

    def digest(
        self, reminder: ReminderRow, context: dict[str, Any], outputs: Collection[str] = OUTPUTS
    ) -> Message:
        return self._message(reminder, self.templates.render(ReminderKind.DIGEST, context, outputs), (), ())

    def _message(
        self,
        reminder: ReminderRow,
        rendered: Rendered,
        thread: tuple[str, ...],
        attachments: tuple[Attachment, ...],
        fields: dict[str, str] | None = None,
    ) -> Message:
        return Message(
            key=reminder.key,
            channel=reminder.channel,
            recipient=reminder.recipient,
            recipient_name=self._contact(reminder.contact_key)["name"],
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            short=rendered.short,
            short_ascii=rendered.short_ascii,
            thread=thread,
            attachments=attachments,
            fields=fields or {},
            attempt=getattr(reminder, "attempts", 0) + 1,
        )
