"""The message `nhacviec send-test` sends: a sample reminder, marked as a test."""

from __future__ import annotations

import secrets

from notifiers.base import Message
from scheduler.contacts import normalise_email, normalise_mobile
from scheduler.messages import reminder_fields
from scheduler.templates import OUTPUTS, Templates, sample_context


def parse_recipient(address_kind: str, to: str) -> str:
    """The address as the channel expects it; ValueError (in Vietnamese) when it is not one."""
    if address_kind == "email":
        return normalise_email(to)
    if address_kind in ("mobile", "zalo"):
        return normalise_mobile(to)
    return to.strip()


def sample_message(templates: Templates, channel: str, recipient: str, kind: str = "upcoming") -> Message:
    """A sample reminder of `kind`, rendered by the deployment's templates, with a fresh key
    (providers deduplicate by key, so two tests must not share one)."""
    context = sample_context(kind)
    rendered = templates.render(kind, context, OUTPUTS)
    return Message(
        key=f"thu-{secrets.token_hex(8)}",
        channel=channel,
        recipient=recipient,
        recipient_name=context["contact"]["name"],
        subject=f"[Thử nghiệm] {rendered.subject}",
        text=rendered.text,
        html=rendered.html,
        short=rendered.short,
        short_ascii=rendered.short_ascii,
        fields=reminder_fields(context),
    )
