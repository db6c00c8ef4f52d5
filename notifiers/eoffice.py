"""Signed JSON events to e-office systems: one POST per event to a configured endpoint.

The endpoints are the `options:` of the `eoffice` channel in config/channels.yaml:

    channels:
      eoffice:
        options:
          endpoints:
            - id: vpdt-tinh            # the row's recipient; stable: it is part of each event's id
              url: https://vpdt.example.gov.vn/nhacviec/events
              plans: [tth-2020-bdg]    # optional: all plans when absent
              types: [occurrence.confirmed, occurrence.overdue]   # optional: all types
              secret_env: NHACVIEC_EOFFICE_SECRET_VPDT   # optional: default NHACVIEC_EOFFICE_SECRET

The body is the event as UTF-8 JSON (`Message.text`, written by `scheduler.outbox.events`),
signed exactly as the webhook channel signs (`notifiers.webhook.sign`; receivers check with
`notifiers.webhook.verify`): headers X-Nhacviec-Key (the event id, the same on every retry),
X-Nhacviec-Timestamp and X-Nhacviec-Signature. Answers: 2xx delivered; 408, 425, 429, 5xx,
timeouts and network failures retried (after `Retry-After` when given); any other answer is
permanent (a dead letter with the reason), 401/403 also alerting the operator.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Literal
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from notifiers.base import Delivery, Message, NotConfigured, Notifier, NotifierError, Setup
from notifiers.http import LoopClient, retry_after
from notifiers.masking import SecretMask
from notifiers.webhook import TRANSIENT_STATUSES, sign

# The signing keys: NHACVIEC_EOFFICE_SECRET by default, or the endpoint's `secret_env`, a
# NHACVIEC_EOFFICE_* variable (the channel's own variables: accepted by the settings, readable
# from NAME_FILE, masked in logs).
SECRET_PREFIX = "NHACVIEC_EOFFICE_"
DEFAULT_SECRET = f"{SECRET_PREFIX}SECRET"
EVENT_TYPES = ("occurrence.confirmed", "occurrence.overdue", "occurrence.waived", "occurrence.extended")
EventType = Literal["occurrence.confirmed", "occurrence.overdue", "occurrence.waived", "occurrence.extended"]
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
_ENV_NAME = re.compile(rf"^{SECRET_PREFIX}[A-Z0-9_]+$")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class Endpoint(BaseModel):
    """One receiver of events."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    url: str
    plans: list[str] | None = None  # None: every plan
    types: list[EventType] | None = None  # None: every type
    secret_env: str = DEFAULT_SECRET

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("mã điểm nhận chỉ gồm chữ thường không dấu, số và '-', ví dụ vpdt-tinh")
        return value

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"địa chỉ '{value[:100]}' không hợp lệ: cần dạng https://máy-chủ/đường-dẫn")
        if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
            raise ValueError(f"địa chỉ '{value[:100]}' phải dùng https (http chỉ cho localhost)")
        if parts.username or parts.password:
            raise ValueError("không ghi tên đăng nhập hay mật khẩu trong địa chỉ; dùng secret_env")
        return value

    @field_validator("secret_env")
    @classmethod
    def _secret_env(cls, value: str) -> str:
        if not _ENV_NAME.match(value):
            raise ValueError(
                f"secret_env phải là tên một biến môi trường {SECRET_PREFIX}…, ví dụ "
                f"{SECRET_PREFIX}SECRET_VPDT (không ghi chính khóa bí mật vào tệp cấu hình)"
            )
        return value


class EofficeOptions(BaseModel):
    """The `options:` block of the eoffice channel."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    endpoints: list[Endpoint] = []
    timeout: float = Field(default=10, gt=0, le=300)  # seconds for the whole request

    @model_validator(mode="after")
    def _unique(self) -> EofficeOptions:
        seen: set[str] = set()
        for endpoint in self.endpoints:
            if endpoint.id in seen:
                raise ValueError(f"mã điểm nhận '{endpoint.id}' bị trùng")
            seen.add(endpoint.id)
        return self


class EofficeNotifier(Notifier):
    channel: ClassVar[str] = "eoffice"
    renders: ClassVar[tuple[str, ...]] = ()  # the body is the event itself, not a template
    address: ClassVar[str] = "eoffice"  # no contact has one: the recipient is an endpoint id
    concurrency: ClassVar[int] = 4
    Options: ClassVar[type[BaseModel]] = EofficeOptions
    for_contacts: ClassVar[bool] = False
    # The default key (documented in .env.example); an endpoint's own `secret_env` is read from
    # the settings' channel variables too (`from_setup`).
    secrets: ClassVar[tuple[str, ...]] = ("EOFFICE_SECRET",)

    def __init__(
        self,
        options: EofficeOptions,
        secrets: Mapping[str, str],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`secrets`: endpoint id → its signing key."""
        self.options = options
        self._endpoints = {e.id: e for e in options.endpoints}
        self._secrets = dict(secrets)
        self._mask = SecretMask(list(self._secrets.values()))
        self._clock = clock
        # No redirects: following one would send the signed body somewhere else.
        self._http = LoopClient(timeout=httpx.Timeout(options.timeout), follow_redirects=False)

    @classmethod
    def from_setup(cls, setup: Setup) -> EofficeNotifier:
        options: EofficeOptions = setup.options
        secrets: dict[str, str] = {}
        missing: list[str] = []
        channel_env: Mapping[str, str] = getattr(setup.settings, "channel_env", {})
        for endpoint in options.endpoints:
            value = channel_env.get(endpoint.secret_env.removeprefix("NHACVIEC_"), "")
            if value:
                secrets[endpoint.id] = value
            else:
                missing.append(endpoint.secret_env)
        if missing:
            raise NotConfigured(f"đặt {', '.join(sorted(set(missing)))} (khóa ký HMAC) để gửi sự kiện")
        return cls(options, secrets)

    @classmethod
    def check(cls, options: Any, deployment: Any) -> list[tuple[tuple[str | int, ...], str]]:
        plans = {plan.id for plan in deployment.plans}
        return [
            (("endpoints", n, "plans", m), f"không có kế hoạch '{plan_id}'")
            for n, endpoint in enumerate(options.endpoints)
            for m, plan_id in enumerate(endpoint.plans or ())
            if plan_id not in plans
        ]

    def request_headers(self, message: Message, body: bytes) -> dict[str, str]:
        timestamp = int(self._clock())
        return {
            "Content-Type": "application/json; charset=utf-8",
            "X-Nhacviec-Key": message.key,
            "X-Nhacviec-Timestamp": str(timestamp),
            "X-Nhacviec-Signature": sign(self._secrets[message.recipient], timestamp, body),
        }

    async def send(self, message: Message) -> Delivery:
        endpoint = self._endpoints.get(message.recipient)
        if endpoint is None:
            raise NotifierError(
                f"điểm nhận sự kiện '{message.recipient}' không còn trong cấu hình kênh eoffice",
                permanent=True,
            )
        body = message.text.encode("utf-8")
        url = endpoint.url
        try:
            response = await self._http.get().post(
                url, content=body, headers=self.request_headers(message, body)
            )
        except httpx.TimeoutException:
            raise self._transient(
                f"sự kiện tới {url}: quá thời gian chờ {self.options.timeout:g} s"
            ) from None
        except httpx.TransportError as exc:
            raise self._transient(f"sự kiện tới {url}: lỗi kết nối ({type(exc).__name__}): {exc}") from None
        if response.is_success:
            return Delivery(detail=f"HTTP {response.status_code}")
        status = response.status_code
        text = self._mask(f"sự kiện tới {url}: bên nhận trả lời HTTP {status}")
        if status in TRANSIENT_STATUSES or status >= 500:
            raise NotifierError(text, permanent=False, retry_after=retry_after(response))
        if status in (401, 403):
            raise NotifierError(
                f"{text}: bên nhận từ chối chữ ký, kiểm tra {endpoint.secret_env} ở hai phía",
                permanent=True,
                alert=True,
            )
        raise NotifierError(text, permanent=True)

    def _transient(self, text: str) -> NotifierError:
        return NotifierError(self._mask(text), permanent=False)

    async def aclose(self) -> None:
        await self._http.aclose()
