"""Signed JSON webhooks: one POST per reminder to the contact's `webhook:` URL.

The body is the rendered message as UTF-8 JSON. Every request carries:

- `X-Nhacviec-Key`: the reminder's idempotency key, the same on every retry, so a
  receiver can drop duplicates;
- `X-Nhacviec-Timestamp`: when it was signed, in unix seconds;
- `X-Nhacviec-Signature`: `sha256=<hex>`, the HMAC-SHA256 with NHACVIEC_WEBHOOK_SECRET
  of `"<timestamp>." + body`. Receivers check it with `verify` (README, "Webhooks").

Answers are classified for the dispatcher: 2xx delivered; 410 Gone means the
receiver is gone (unreachable: fall back to the contact's next channel); 408, 429,
5xx, timeouts and network failures are retried, after `Retry-After` when given;
any other answer is permanent, and 401/403 also alert the operator (the secret or
the receiver's configuration is wrong).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any, ClassVar

import httpx
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from notifiers.base import Delivery, Message, NotConfigured, Notifier, NotifierError, Setup
from notifiers.http import LoopClient, retry_after
from notifiers.masking import SecretMask

SECRET = "WEBHOOK_SECRET"
TRANSIENT_STATUSES = frozenset({408, 425, 429})
DETAIL_CHARS = 200  # how much of a refusing answer's message an error quotes


class WebhookOptions(BaseModel):
    """The `options:` block of the webhook channel in config/channels.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout: float = Field(default=10, gt=0, le=300)  # seconds for the whole request


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The `X-Nhacviec-Signature` value for `body` signed at `timestamp`."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def verify(
    secret: str,
    timestamp: int | str,
    body: bytes,
    signature: str,
    tolerance: float = 300,
    now: float | None = None,
) -> bool:
    """For receivers: True when `signature` is ours for this exact `body` and `timestamp`,
    and `timestamp` is within `tolerance` seconds of `now` (default: the current time).

    Pass the raw request body (bytes as received, before any JSON parsing) and the
    `X-Nhacviec-Timestamp` and `X-Nhacviec-Signature` header values.
    """
    try:
        signed_at = int(str(timestamp).strip())
    except ValueError:
        return False
    current = time.time() if now is None else now
    if abs(current - signed_at) > tolerance:
        return False  # stale or from the future: a replayed request
    expected = sign(secret, signed_at, body)
    return hmac.compare_digest(expected.encode(), str(signature).strip().encode())


def payload(message: Message) -> bytes:
    """The request body: the rendered message as UTF-8 JSON, Vietnamese kept as is."""
    document = {
        "key": message.key,
        "channel": message.channel,
        "recipient_name": message.recipient_name,
        "subject": message.subject,
        "text": message.text,
        "short": message.short,
        "fields": dict(message.fields),
        "thread": list(message.thread),
    }
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


class WebhookNotifier(Notifier):
    channel: ClassVar[str] = "webhook"
    renders: ClassVar[tuple[str, ...]] = ("subject.txt", "email.txt", "short.txt")
    address: ClassVar[str] = "webhook"
    concurrency: ClassVar[int] = 10
    Options: ClassVar[type[BaseModel]] = WebhookOptions
    secrets: ClassVar[tuple[str, ...]] = (SECRET,)

    def __init__(
        self, options: WebhookOptions, secret: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.options = options
        self._secret = secret
        self._mask = SecretMask([secret])
        self._clock = clock
        # No redirects: following one would send the signed body somewhere else.
        self._http = LoopClient(timeout=httpx.Timeout(options.timeout), follow_redirects=False)

    @classmethod
    def from_setup(cls, setup: Setup) -> WebhookNotifier:
        secret = setup.secrets.get(SECRET, "")
        if not secret:
            raise NotConfigured(f"đặt NHACVIEC_{SECRET} (khóa ký HMAC) để gửi webhook")
        return cls(setup.options, secret)

    def request_headers(self, message: Message, body: bytes) -> dict[str, str]:
        timestamp = int(self._clock())
        return {
            "Content-Type": "application/json",
            "X-Nhacviec-Key": message.key,
            "X-Nhacviec-Timestamp": str(timestamp),
            "X-Nhacviec-Signature": sign(self._secret, timestamp, body),
        }

    async def send(self, message: Message) -> Delivery:
        body = payload(message)
        url = message.recipient
        try:
            response = await self._http.get().post(
                url, content=body, headers=self.request_headers(message, body)
            )
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise NotifierError(
                self._hide(f"địa chỉ webhook không hợp lệ: {url!r} ({exc})"), permanent=True
            ) from None
        except httpx.TimeoutException:
            raise self._transient(f"webhook {url}: quá thời gian chờ {self.options.timeout:g} s") from None
        except httpx.TransportError as exc:
            raise self._transient(f"webhook {url}: lỗi kết nối ({type(exc).__name__}): {exc}") from None
        if response.is_success:
            return Delivery(provider_id=_answer_id(response), detail=f"HTTP {response.status_code}")
        raise self._refusal(url, response)

    def _refusal(self, url: str, response: httpx.Response) -> NotifierError:
        status = response.status_code
        text = self._hide(f"webhook {url} trả lời HTTP {status}{_excerpt(response)}")
        if status == 410:
            return NotifierError(f"{text}: địa chỉ webhook không còn dùng", permanent=True, unreachable=True)
        if status in TRANSIENT_STATUSES or status >= 500:
            return NotifierError(text, permanent=False, retry_after=retry_after(response))
        if status in (401, 403):
            return NotifierError(
                f"{text}: bên nhận từ chối chữ ký, kiểm tra NHACVIEC_{SECRET} ở hai phía",
                permanent=True,
                alert=True,
            )
        if response.is_redirect:
            text += f" (chuyển hướng tới {response.headers.get('Location', '?')}: sửa địa chỉ webhook của đầu mối)"
        return NotifierError(text, permanent=True)

    def _transient(self, text: str) -> NotifierError:
        return NotifierError(self._hide(text), permanent=False)

    def _hide(self, text: str) -> str:
        return self._mask(text)

    async def aclose(self) -> None:
        await self._http.aclose()


def _answer_id(response: httpx.Response) -> str | None:
    """The receiver's `id` for the message, when it answers a JSON object with one."""
    try:
        answer: Any = response.json()
    except ValueError:
        return None
    if isinstance(answer, dict) and isinstance(answer.get("id"), str | int) and answer["id"] != "":
        return str(answer["id"])
    return None


class _Refusal(BaseModel):
    """The message of a refusing JSON answer; the raw body is never quoted (it may echo ours)."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    message: str = Field("", validation_alias=AliasChoices("error", "message", "detail"))


def _excerpt(response: httpx.Response) -> str:
    try:
        text = " ".join(_Refusal.model_validate_json(response.content).message.split())[:DETAIL_CHARS]
    except ValidationError:
        return ""
    return f": {text}" if text else ""
