"""The one small interface every channel implements.

A notifier turns a rendered `Message` into one attempt at delivery: it returns a
`Delivery` or raises `NotifierError`, whose `permanent` flag tells the dispatcher
whether to retry. The notifier never touches the database: the dispatcher
records every attempt and decides about retries, dead letters and fallbacks.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # e.g. "text/calendar; method=PUBLISH"
    data: bytes


@dataclass(frozen=True)
class Message:
    """One reminder, rendered for one channel and one recipient."""

    key: str  # the reminder's idempotency key: stable across retries
    channel: str
    recipient: str  # the address for this channel: e-mail, +84… number, …
    recipient_name: str
    subject: str
    text: str  # plain text (e-mail text part; the whole message on short channels)
    html: str | None = None  # e-mail HTML part
    short: str | None = None  # a short text for Zalo and SMS, with diacritics
    short_ascii: str | None = None  # the same without diacritics, for SMS
    thread: tuple[str, ...] = ()  # keys of earlier messages about the same occurrence, oldest first
    attachments: tuple[Attachment, ...] = ()
    fields: dict[str, str] = field(default_factory=dict)  # named values for template-based channels


@dataclass(frozen=True)
class Delivery:
    """What the provider said when it accepted the message."""

    provider_id: str | None = None
    detail: str = ""


class NotifierError(Exception):
    """A failed attempt. `permanent` errors are not retried; `retry_after` (seconds) is a hint."""

    def __init__(self, message: str, *, permanent: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after

    def __str__(self) -> str:
        return self.args[0] if self.args else ""


class Notifier(ABC):
    """One channel. Subclasses set `channel` and implement `send`."""

    channel: ClassVar[str]
    concurrency: ClassVar[int] = 10  # how many sends the dispatcher runs at once on this channel

    @abstractmethod
    async def send(self, message: Message) -> Delivery:
        """Make one attempt; return the delivery or raise NotifierError."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections; called once when the daemon stops."""
