"""From an outbox row to a rendered `Message`: the template context, the link, the .ics."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, tzinfo
from typing import Any

from notifiers.base import Attachment, Message
from scheduler.config.loader import Deployment
from scheduler.plan.events import Event, calendar_events
from scheduler.plan.ics import to_ics
from scheduler.render.links import Links
from scheduler.render.templates import OUTPUTS, Rendered, Templates, ngay

DIGEST = "digest"


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

    def __init__(self, deployment: Deployment, templates: Templates, links: Links, timezone: tzinfo) -> None:
        self.deployment = deployment
        self.templates = templates
        self.links = links
        self.timezone = timezone
        # per configuration: messages share few events
        self._events: dict[tuple[int, str, str, str], Event | None] = {}
        self._calendars: dict[tuple[int, str, date], bytes] = {}

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
        self, reminder: Any, occurrence: Any, event: Event | None, today: date, short_link: bool = False
    ) -> dict[str, Any]:
        """The template context; its keys are documented in scheduler/render/templates.py."""
        plan = self._plan(occurrence.plan_id)
        workdays = self.deployment.workdays
        start = occurrence.start_date
        is_deadline = occurrence.kind == "deadline"
        return {
            "kind": reminder.kind,
            "plan": plan,
            "item": {"id": occurrence.item_id, "title": occurrence.title, "kind": occurrence.kind},
            "start": start,
            "end": occurrence.end_date,
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
        }

    def _confirm_url(self, reminder: Any, occurrence: Any, short: bool) -> str:
        """The short link of the reminder row (Zalo, SMS), or the long one (e-mail, previews)."""
        if short and getattr(reminder, "id", None):
            return self.links.short_url(reminder.id, occurrence.key)
        return self.links.url(occurrence.key)

    def _event(self, occurrence: Any) -> Event | None:
        """The occurrence's event in the current configuration (None if it was removed)."""
        key = (id(self.deployment), occurrence.plan_id, occurrence.item_id, occurrence.period)
        if key not in self._events:
            self._events = {k: v for k, v in self._events.items() if k[0] == key[0]}
            self._events[key] = self._find_event(occurrence)
        return self._events[key]

    def _ics(self, event: Event, now: datetime) -> bytes:
        """The event as .ics; the same for every agency, so built once a day per event."""
        key = (id(self.deployment), event.uid, now.date())
        if key not in self._calendars:
            self._calendars = {k: v for k, v in self._calendars.items() if k[0] == key[0] and k[2] == key[2]}
            self._calendars[key] = to_ics(self.deployment, [event], now)
        return self._calendars[key]

    def _find_event(self, occurrence: Any) -> Event | None:
        for event in calendar_events(
            self.deployment, occurrence.start_date, occurrence.start_date, plan_id=occurrence.plan_id
        ):
            if event.item_id == occurrence.item_id and event.period == occurrence.period:
                return event
        return None

    def reminder(
        self,
        reminder: Any,
        occurrence: Any,
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

    def digest(self, reminder: Any, context: dict[str, Any], outputs: Collection[str] = OUTPUTS) -> Message:
        return self._message(reminder, self.templates.render(DIGEST, context, outputs), (), ())

    def _message(
        self,
        reminder: Any,
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
