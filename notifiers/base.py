"""The one small interface every channel implements, built-in or plug-in.

A notifier turns a rendered `Message` into one attempt at delivery: it returns a
`Delivery` or raises `NotifierError`, whose flags tell the dispatcher what to do
next (retry, dead letter, fall back to another channel, alert the operator). The
notifier never records outcomes: the dispatcher records every attempt and decides
about retries, dead letters and fallbacks.

Notifiers are found through the `nhacviec.notifiers` entry-point group; the entry
point's name is the channel's name (see `notifiers.registry` and the README).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


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
    attempt: int = 1  # 1 for the reminder's first try, 2 for the next (after a failure), …


@dataclass(frozen=True)
class Delivery:
    """What the provider said when it accepted the message."""

    provider_id: str | None = None
    detail: str = ""


class NotifierError(Exception):
    """A failed attempt.

    - `permanent`: retrying the same message on this channel cannot succeed (dead letter);
    - `retry_after`: seconds to wait at least before the next attempt (rate limits, quotas,
      a provider's night-time ban);
    - `unreachable`: this recipient cannot be reached on this channel (no Zalo account,
      a number that cannot take SMS); the dispatcher falls back to the contact's next
      channel, or makes the reminder dead when there is none. Implies `permanent`;
    - `alert`: a configuration problem only the operator can fix (a template not
      approved, a bad API key, a host that does not resolve); logged as an error and
      counted in the metrics;
    - `maybe_sent`: the provider may have accepted the message although no answer came (a
      timeout, a 5xx) and it does not de-duplicate retries: the next attempt may send it a
      second time, and is recorded as a possible duplicate.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        unreachable: bool = False,
        alert: bool = False,
        maybe_sent: bool = False,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent or unreachable
        self.retry_after = retry_after
        self.unreachable = unreachable
        self.alert = alert
        self.maybe_sent = maybe_sent

    def __str__(self) -> str:
        return self.args[0] if self.args else ""


class NotConfigured(Exception):
    """`from_setup` lacks a setting; the message names the variable or option to set."""


class NoOptions(BaseModel):
    """A channel without options of its own in config/channels.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Setup:
    """What a notifier is built from (`Notifier.from_setup`)."""

    options: Any  # its validated `options:` block of config/channels.yaml, an instance of its `Options`
    secrets: Mapping[str, str]  # the values of the NHACVIEC_<name> variables listed in its `secrets`
    settings: Any  # scheduler.config.settings.Settings: timezone, quiet hours, SMTP, public URL …
    engine: Any = None  # the database (sqlalchemy Engine), for state that outlives the process


class Notifier(ABC):
    """One channel. Subclasses set `channel` and implement `send`.

    A plug-in may also set:
    - `renders`: the template outputs it reads (by default all four);
    - `address`: the contact field it sends to: "email", "mobile", "zalo" (the Zalo
      number, else the mobile one), "webhook", or any other name, read from the
      contact's `addresses:` mapping;
    - `Options`: a pydantic model for its `options:` block in config/channels.yaml,
      validated when the configuration is loaded;
    - `secrets`: names of environment variables it needs, without the `NHACVIEC_`
      prefix (e.g. "ESMS_API_KEY"); they are accepted in the environment, readable
      from `NHACVIEC_<name>_FILE`, and never logged;
    - `from_setup`: how to build it (by default, without arguments).
    """

    channel: ClassVar[str]
    concurrency: ClassVar[int] = 10  # how many sends the dispatcher runs at once on this channel
    address: ClassVar[str] = "email"
    # The template outputs it reads (scheduler/render/templates.py): "subject.txt", "email.txt",
    # "email.html", "short.txt" (which also gives `short_ascii`); only these are rendered.
    renders: ClassVar[tuple[str, ...]] = ("subject.txt", "email.txt", "email.html", "short.txt")
    Options: ClassVar[type[BaseModel]] = NoOptions
    secrets: ClassVar[tuple[str, ...]] = ()
    # False for a channel that reaches systems, not people (eoffice): no contact may name it.
    for_contacts: ClassVar[bool] = True

    @classmethod
    def from_setup(cls, setup: Setup) -> Notifier:
        """Build the notifier for the daemon (and for `nhacviec send-test`)."""
        return cls()

    @classmethod
    def alerts(cls, options: Any, engine: Any) -> list[str]:
        """Standing problems only the operator can fix (an authorization about to lapse …),
        one Vietnamese line each; shown in the daily digest and counted on /metrics."""
        return []

    @classmethod
    def check(cls, options: Any, deployment: Any) -> list[tuple[tuple[str | int, ...], str]]:
        """Problems only the whole configuration shows (`deployment`: scheduler.config.deployment.Deployment),
        e.g. an agency name too long for a provider's template field. Each is (path inside
        `options`, message in Vietnamese); they are reported at load time with file:line."""
        return []

    @abstractmethod
    async def send(self, message: Message) -> Delivery:
        """Make one attempt; return the delivery or raise NotifierError.

        The dispatcher records the send before this one at the event loop's next turn
        (`scheduler.outbox.recorder`): `send` must await something (its connection, a reply) before
        it hands the message over, as the built-in notifiers and their clients do."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections; called once when the daemon stops."""
