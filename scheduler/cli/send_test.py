"""The message `nhacviec send-test` sends: the deployment's own next reminder, marked as a test.

It is rendered from the deployment's plans, agencies and templates as the service would send
it, so the operator sees what recipients will see, with three differences: a test banner at
the top of every body (not only in the subject), a fresh key (providers de-duplicate by key),
and a link that opens the confirmation service at NHACVIEC_PUBLIC_URL but confirms nothing.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import replace
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

from notifiers.base import Message
from notifiers.text import unaccent
from scheduler.config.contacts import normalise_email, normalise_mobile
from scheduler.config.deployment import Deployment
from scheduler.config.settings import Settings
from scheduler.plan.planner import Planner
from scheduler.render.links import Links
from scheduler.render.messages import MessageBuilder, reminder_fields
from scheduler.render.templates import OUTPUTS, REMINDER_KINDS, Templates

BANNER = "THỬ NGHIỆM: đây là tin thử của hệ thống nhắc việc, không phải lời nhắc thật; không cần làm gì."
SHORT_BANNER = "[THỬ NGHIỆM]"
HTML_BANNER = (
    '<p style="border:2px solid #b00020;padding:8px;color:#b00020;font-weight:bold">'
    "THỬ NGHIỆM: đây là tin thử của hệ thống nhắc việc, không phải lời nhắc thật; không cần làm gì.</p>"
)
LOOKAHEAD_DAYS = 400


def parse_recipient(address_kind: str, to: str) -> str:
    """The address as the channel expects it; ValueError (in Vietnamese) when it is not one."""
    if address_kind == "email":
        return normalise_email(to)
    if address_kind in ("mobile", "zalo"):
        return normalise_mobile(to)
    return to.strip()


def trial_message(
    deployment: Deployment,
    settings: Settings,
    templates: Templates,
    links: Links,
    channel: str,
    recipient: str,
    kind: str,
    today: date,
) -> Message:
    """The deployment's next reminder of `kind` (any plan, any agency) rendered for `channel`,
    marked as a test; ValueError (in Vietnamese) when the deployment has none."""
    if kind not in REMINDER_KINDS:
        raise ValueError(f"loại lời nhắc '{kind}' không có; chọn một trong: {', '.join(REMINDER_KINDS)}")
    reminder, occurrence, event = _next_reminder(deployment, settings, kind, today)
    builder = MessageBuilder(deployment, templates, links, settings.timezone)
    send_day = reminder.send_at.astimezone(settings.timezone).date()  # read as the recipient will
    context = builder.reminder_context(reminder, occurrence, event, send_day)
    if context["confirm_url"] is not None:  # a working link would confirm a real report
        context["confirm_url"] = links.url(f"thu-nghiem/{secrets.token_hex(4)}")
    rendered = templates.render(kind, context, OUTPUTS)
    return Message(
        key=f"thu-{secrets.token_hex(8)}",
        channel=channel,
        recipient=recipient,
        recipient_name=context["contact"]["name"],
        subject=f"[Thử nghiệm] {rendered.subject}",
        text=f"{BANNER}\n\n{rendered.text}",
        html=_html_banner(rendered.html),
        short=f"{SHORT_BANNER} {rendered.short}",
        short_ascii=f"{unaccent(SHORT_BANNER)} {rendered.short_ascii}",
        fields=reminder_fields(context),
    )


def _next_reminder(
    deployment: Deployment, settings: Settings, kind: str, today: date
) -> tuple[Any, Any, Any]:
    planner = Planner(deployment, settings)
    for planned in planner.occurrences(today, today + timedelta(days=LOOKAHEAD_DAYS)):
        event = planned.event
        for reminder in planner.reminders(planned):
            if reminder.kind == kind:
                occurrence = SimpleNamespace(
                    key=planned.key, plan_id=event.plan_id, item_id=event.item_id, period=event.period,
                    agency_id=planned.agency_id, kind=event.kind, title=event.title, start_date=event.start,
                    end_date=event.end,
                )  # fmt: skip
                return replace(reminder, key=f"thu-{secrets.token_hex(8)}"), occurrence, event
    raise ValueError(
        f"cấu hình không có lời nhắc loại '{kind}' nào trong {LOOKAHEAD_DAYS} ngày tới; "
        "chọn loại khác bằng --kind (ví dụ upcoming, due)"
    )


def _html_banner(html: str) -> str:
    """The banner as the first thing in the HTML body."""
    body = re.search(r"<body[^>]*>", html, re.IGNORECASE)
    if body is None:
        return HTML_BANNER + html
    return html[: body.end()] + HTML_BANNER + html[body.end() :]
