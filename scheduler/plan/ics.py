"""The calendar as RFC 5545: one all-day event per deadline, window and observance."""

from __future__ import annotations

from datetime import datetime, timedelta

from icalendar import Calendar
from icalendar import Event as IcsEvent

from scheduler.config.deployment import Deployment
from scheduler.plan.events import Event
from scheduler.plan.kinds import OccurrenceKind

SUMMARY_PREFIX = {
    OccurrenceKind.DEADLINE: "Hạn",
    OccurrenceKind.WINDOW: "Đợt",
    OccurrenceKind.OBSERVANCE: "Ngày",
}


def summary(event: Event) -> str:
    return f"{SUMMARY_PREFIX[event.kind]}: {event.title}"


def description(deployment: Deployment, event: Event) -> str:
    plan = next(p for p in deployment.plans if p.id == event.plan_id)
    lines = [f"Kế hoạch: {plan.title}" + (f" ({plan.number})" if plan.number else "")]
    if event.refs:  # as the plan names them ("UBND các xã"), not every agency of the group
        lines.append("Đơn vị thực hiện: " + "; ".join(deployment.name_of(ref) for ref in event.refs))
    if event.to:
        via = f" (qua {deployment.name_of(event.via)})" if event.via else ""
        lines.append(f"Gửi: {deployment.name_of(event.to)}{via}")
    if event.data is not None:  # a Decree 09 periodic report
        lines.append(f"Số liệu từ {event.data.start:%d/%m/%Y} đến {event.data.end:%d/%m/%Y}")
    if event.kind == OccurrenceKind.DEADLINE:
        reason = deployment.workdays.day_off_reason(event.start)
        if reason:
            effective = deployment.workdays.next_working_day(event.start)
            lines.append(f"Hạn rơi vào ngày nghỉ ({reason}); ngày làm việc tiếp theo: {effective:%d/%m/%Y}")
    return "\n".join(lines)


def to_ics(deployment: Deployment, events: list[Event], stamp: datetime) -> bytes:
    """Serialize `events`; UIDs are stable so calendar clients update rather than duplicate."""
    cal = Calendar()
    cal.add("prodid", "-//nhacviec//lich bao cao//VI")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", "Lịch báo cáo - nhacviec")
    for event in events:
        item = IcsEvent()
        item.add("uid", event.uid)
        item.add("dtstamp", stamp)
        item.add("dtstart", event.start)
        item.add("dtend", event.end + timedelta(days=1))
        item.add("summary", summary(event))
        item.add("description", description(deployment, event))
        item.add("categories", [event.kind])
        item.add("transp", "TRANSPARENT")
        cal.add_component(item)
    ics: bytes = cal.to_ical()  # icalendar leaves its return type out
    return ics
