"""The calendar as RFC 5545: one all-day event per deadline, window and observance."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from icalendar import Alarm, Calendar, vDuration
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


def to_ics(
    deployment: Deployment,
    events: list[Event],
    stamp: datetime,
    *,
    name: str = "Lịch báo cáo - nhacviec",
    uid: Callable[[Event], str] | None = None,
    summary_of: Callable[[Event], str] | None = None,
    note: Callable[[Event], str | None] | None = None,
    alarm_days: int | None = None,
    refresh: timedelta | None = None,
) -> bytes:
    """Serialize `events`; UIDs are stable so calendar clients update rather than duplicate.

    The calendar feeds (scheduler/feeds/) give their own `name`, `uid` (the agency added for an
    agency's entries), `summary_of` (the status in front), `note` (a line added to the
    description), `alarm_days` (a VALARM that many days before the start) and `refresh` (how often
    a subscribed client should poll: REFRESH-INTERVAL of RFC 7986, X-PUBLISHED-TTL for Outlook)."""
    cal = Calendar()
    cal.add("prodid", "-//nhacviec//lich bao cao//VI")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    if refresh is not None:
        cal.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
        cal.add("x-published-ttl", vDuration(refresh))
    for event in events:
        item = IcsEvent()
        item.add("uid", uid(event) if uid else event.uid)
        item.add("dtstamp", stamp)
        item.add("dtstart", event.start)
        item.add("dtend", event.end + timedelta(days=1))
        title = summary_of(event) if summary_of else summary(event)
        item.add("summary", title)
        text = description(deployment, event)
        extra = note(event) if note else None
        item.add("description", f"{text}\n{extra}" if extra else text)
        item.add("categories", [event.kind])
        item.add("transp", "TRANSPARENT")
        if alarm_days is not None:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("trigger", timedelta(days=-alarm_days))
            when = "hôm nay" if alarm_days == 0 else f"còn {alarm_days} ngày"
            alarm.add("description", f"Nhắc việc ({when}): {title}")
            item.add_component(alarm)
        cal.add_component(item)
    ics: bytes = cal.to_ical()  # icalendar leaves its return type out
    return ics
