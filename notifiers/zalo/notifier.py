"""Zalo ZNS template messages ("ZBS Template Message"), sent by phone number.

One request per message: `POST {api_url}/message/template` with the OA access token
in the `access_token` header, the template of the reminder's kind and its parameters
filled from `Message.fields` (scheduler/render/messages.py). Zalo answers HTTP 200 with
`error != 0` for business errors; each documented code is classified for the
dispatcher (see `classify`): an invalid token is refreshed once through the shared
token store and the send retried once; a recipient without Zalo is `unreachable`
(the dispatcher falls back to SMS); night-time, daily and monthly limits wait until
the next morning, midnight or month; configuration errors alert the operator.

`tracking_id` (the reminder's key) is for reconciliation only: no source shows Zalo
de-duplicating on it. A timeout or a 5xx after the request was sent leaves the message's
fate unknown; its error is `maybe_sent`, and the retry (`after_timeout: retry`, the default)
is recorded as a possible duplicate; `after_timeout: dead` leaves it to the operator instead.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, time, timedelta, tzinfo
from typing import Annotated, Any, ClassVar, Literal, cast

import httpx
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from notifiers.base import Delivery, Message, NotConfigured, Notifier, NotifierError, Setup
from notifiers.fields import FIELDS, field_values
from notifiers.http import LoopClient, connection_failure, maybe_delivered
from notifiers.masking import SecretMask
from notifiers.zalo.tokens import REAUTHORIZE, OAuthClient, OAuthError, TokenMissing, TokenStore
from notifiers.zalo.tokens import alerts as token_alerts

Kind = Literal[
    "upcoming", "due", "overdue", "escalation", "prepare", "start", "closing", "announce", "digest"
]

AUTH = {-124, -1241}
UNREACHABLE = {-108, -118, -119, -114, -110, -139, -141, -134}
NIGHT = {-133}
DAILY = {-144, -147, -160}
MONTHLY = {-1441, -1471}
CONFIGURATION = {
    -101, -102, -103, -104, -105, -106, -111, -113, -116, -120, -1201, -1202, -121, -122, -125,
    -136, -137, -138, -140, -148, -149, -150, -151, -152, -153,
    -109, -117, -131, -112, -1121, -1122, -1124, -132, -130, -135, -1351, -145, -146, -115, -126, -127,
}  # fmt: skip
FIXED_LENGTHS = {"deadline": 10, "effective_due": 10, "end": 10, "days_left": 4, "kind": 10}
UNCHECKED = {"confirm_url"}  # depends on NHACVIEC_PUBLIC_URL and the occurrence key
TOKEN_RETRY = 3600.0  # seconds before retrying when no usable token could be had


class Param(BaseModel):
    """One template parameter: the reminder field it takes, and Zalo's length cap."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    field: str
    max: int | None = Field(None, ge=1)


def _param(value: Any) -> Any:
    return {"field": value} if isinstance(value, str) else value


class ZnsTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    template_id: str = Field(pattern=r"^\d+$")
    data: dict[str, Annotated[Param, BeforeValidator(_param)]] = {}


class ZaloOptions(BaseModel):
    """The `options:` block of `channels: zalo:` in config/channels.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_url: str = "https://business.openapi.zalo.me"
    oauth_url: str = "https://oauth.zaloapp.com"
    app_id: str = ""  # required to send; empty leaves the channel unconfigured
    development: bool = False  # send `mode: development`: only the app's admins receive
    appsecret_proof: bool = False
    templates: dict[Kind, ZnsTemplate] = {}
    morning: str = Field("07:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")  # when to retry after -133
    refresh_before: int = Field(3600, ge=60)
    refresh_alert_days: int = Field(80, ge=1, le=90)
    timeout: float = Field(10, gt=0)  # seconds to wait for Zalo's answer
    # When no answer came (a timeout after the request was sent, a 5xx), Zalo may have sent the
    # message: "retry" sends it again (recorded as a possible duplicate, perhaps charged twice);
    # "dead" puts the reminder in the dead letter for the operator to check and retry.
    after_timeout: Literal["retry", "dead"] = "retry"


class ZnsReply(BaseModel):
    """ZNS's answer: HTTP 200 with `error` 0 or a business error code, and its `message`."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    error: int
    message: str = ""
    data: Any = None


class ZnsQuota(BaseModel):
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    dailyQuota: str | None = None
    remainingQuota: str | None = None


class ZnsData(BaseModel):
    """`data` of a success; every part optional: a message Zalo took is never retried for it."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    msg_id: str | None = None
    quota: ZnsQuota | None = None


def zns_phone(recipient: str) -> str:
    """84xxxxxxxxx from +84…, 84… or 0…; NotifierError(unreachable) when it is no VN number."""
    digits = re.sub(r"\D", "", recipient)
    if digits.startswith("0"):
        digits = "84" + digits[1:]
    if not re.fullmatch(r"84[35789]\d{8}", digits):  # mobile numbers only: ZNS cannot reach landlines
        raise NotifierError(
            f"số điện thoại Zalo không hợp lệ: {recipient!r}", permanent=True, unreachable=True
        )
    return digits


def appsecret_proof(secret: str, access_token: str) -> str:
    return hmac.new(secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


def seconds_until(now: datetime, moment: datetime) -> float:
    return max((moment - now).total_seconds(), 1.0)


def next_clock(now: datetime, clock: time) -> datetime:
    """The next `clock` time strictly after `now` (in now's timezone)."""
    candidate = datetime.combine(now.date(), clock, now.tzinfo)
    return candidate if candidate > now else candidate + timedelta(days=1)


def next_month(now: datetime) -> datetime:
    first = now.date().replace(day=1) + timedelta(days=32)
    return datetime.combine(first.replace(day=1), time(0), now.tzinfo)


def classify(code: int, text: str, now: datetime, morning: time) -> NotifierError:
    """The NotifierError for a ZNS error code (`now` in Vietnam time)."""
    what = f"Zalo ZNS lỗi {code}: {text}".rstrip(": ")
    if code in UNREACHABLE:
        return NotifierError(f"{what} (người nhận không dùng được Zalo)", permanent=True, unreachable=True)
    if code in NIGHT:
        return NotifierError(what, permanent=False, retry_after=seconds_until(now, next_clock(now, morning)))
    if code in DAILY:
        return NotifierError(what, permanent=False, retry_after=seconds_until(now, next_clock(now, time(0))))
    if code in MONTHLY:
        return NotifierError(what, permanent=False, retry_after=seconds_until(now, next_month(now)))
    if code in CONFIGURATION:
        return NotifierError(f"{what} (cần sửa cấu hình Zalo)", permanent=True, alert=True)
    if code in AUTH:
        return NotifierError(f"{what} (token vẫn bị từ chối sau khi làm mới)", permanent=False, alert=True)
    return NotifierError(what, permanent=False)  # -100 and codes not documented


class ZaloNotifier(Notifier):
    channel: ClassVar[str] = "zalo"
    renders: ClassVar[tuple[str, ...]] = ()  # ZNS fills an approved template from Message.fields
    address: ClassVar[str] = "zalo"
    concurrency: ClassVar[int] = 10
    Options: ClassVar[type[BaseModel]] = ZaloOptions
    secrets: ClassVar[tuple[str, ...]] = ("ZALO_APP_SECRET",)

    def __init__(self, options: ZaloOptions, app_secret: str, tokens: TokenStore, timezone: tzinfo) -> None:
        self.options = options
        self._secret = app_secret
        self.tokens = tokens
        self.timezone = timezone
        self.morning = time.fromisoformat(options.morning)
        self._http = LoopClient(timeout=options.timeout)

    @classmethod
    def from_setup(cls, setup: Setup) -> ZaloNotifier:
        options: ZaloOptions = setup.options
        secret = setup.secrets.get("ZALO_APP_SECRET", "")
        if not secret:
            raise NotConfigured("đặt NHACVIEC_ZALO_APP_SECRET (khóa bí mật của ứng dụng Zalo) để gửi ZNS")
        if not options.app_id:
            raise NotConfigured("khai báo channels.zalo.options.app_id trong config/channels.yaml")
        if setup.engine is None:
            raise NotConfigured("kênh Zalo cần cơ sở dữ liệu để lưu token")
        return cls(options, secret, token_store(setup.engine, options, secret), setup.settings.timezone)

    @classmethod
    def alerts(cls, options: Any, engine: Any) -> list[str]:
        """A failed token refresh, or a refresh token close to its three months."""
        if not options.app_id:
            return []
        return token_alerts(engine, options.refresh_alert_days, app_id=options.app_id)

    @classmethod
    def check(cls, options: Any, deployment: Any) -> list[tuple[tuple[str | int, ...], str]]:

        values = field_values(deployment)
        problems: list[tuple[tuple[str | int, ...], str]] = []
        for kind, template in options.templates.items():
            for name, param in template.data.items():
                path = ("templates", kind, "data", name)
                if param.field not in FIELDS:
                    problems.append(
                        (path, f"trường '{param.field}' không có; chọn một trong: {', '.join(FIELDS)}")
                    )
                elif param.max is not None and (problem := _too_long(param, values)):
                    problems.append((path, f"tham số '{name}' tối đa {param.max} ký tự: {problem}"))
        return problems

    async def send(self, message: Message) -> Delivery:
        template = self._template(message)
        body = self._body(message, template)
        token = await self._token(self.tokens.current)
        answer = await self._post(body, token)
        if answer.error in AUTH:
            token = await self._token(lambda: self.tokens.refresh_after_auth_error(token))
            answer = await self._post(body, token)
        return self._outcome(answer, token)

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- request ----------------------------------------------------------

    def _template(self, message: Message) -> ZnsTemplate:
        kind = message.fields.get("kind", "digest")  # only digests come without fields
        template = self.options.templates.get(cast(Kind, kind))  # any other kind finds none
        if template is None:
            raise NotifierError(
                f"chưa khai báo mẫu ZNS cho loại nhắc '{kind}' (channels.zalo.options.templates)",
                permanent=True,
                alert=True,
            )
        return template

    def _body(self, message: Message, template: ZnsTemplate) -> dict[str, Any]:
        missing = [p.field for p in template.data.values() if p.field not in message.fields]
        if missing:
            raise NotifierError(
                f"tin nhắn thiếu trường {', '.join(missing)} cho mẫu ZNS {template.template_id}",
                permanent=True,
                alert=True,
            )
        body: dict[str, Any] = {
            "phone": zns_phone(message.recipient),
            "template_id": template.template_id,
            "template_data": {name: message.fields[p.field] for name, p in template.data.items()},
            "tracking_id": message.key,
        }
        if self.options.development:
            body["mode"] = "development"
        return body

    async def _token(self, get: Callable[[], Awaitable[str]]) -> str:
        try:
            return await get()
        except TokenMissing as exc:
            raise NotifierError(str(exc), permanent=False, retry_after=TOKEN_RETRY, alert=True) from None
        except OAuthError as exc:
            text = f"không làm mới được token Zalo: {self._redact(str(exc))}"
            if exc.rejected:
                raise NotifierError(
                    f"{text}; {REAUTHORIZE}", permanent=False, retry_after=TOKEN_RETRY, alert=True
                ) from None
            raise NotifierError(text, permanent=False) from None

    async def _post(self, body: dict[str, Any], token: str) -> ZnsReply:
        headers = {"access_token": token}
        if self.options.appsecret_proof:
            headers["appsecret_proof"] = appsecret_proof(self._secret, token)
        url = self.options.api_url.rstrip("/") + "/message/template"
        try:
            response = await self._http.get().post(url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            if reason := connection_failure(exc):
                raise NotifierError(
                    f"lỗi kết nối Zalo ZNS: {reason}; kiểm tra api_url trong config/channels.yaml",
                    permanent=False,
                    alert=True,
                ) from None
            what = "hết thời gian chờ" if isinstance(exc, httpx.TimeoutException) else "lỗi kết nối"
            raise self._unanswered(f"{what} Zalo ZNS ({type(exc).__name__})", maybe_delivered(exc)) from None
        if response.status_code != 200:
            raise self._unanswered(f"Zalo ZNS trả HTTP {response.status_code}", response.status_code >= 500)
        try:
            return ZnsReply.model_validate_json(response.content)
        except ValidationError:
            raise self._unanswered(
                f"Zalo ZNS trả HTTP 200 nhưng nội dung không đọc được ({len(response.content)} byte)", True
            ) from None

    def _unanswered(self, what: str, maybe_sent: bool) -> NotifierError:
        """No answer that says what became of the message. When Zalo may have sent it (a request
        sent but not answered, a 5xx), `after_timeout` decides: retry, or the dead letter."""
        if maybe_sent and self.options.after_timeout == "dead":
            return NotifierError(
                f"{what}; tin có thể đã được gửi nên không gửi lại (after_timeout: dead): "
                "kiểm tra với người nhận rồi dùng `nhacviec retry` nếu cần",
                permanent=True,
                maybe_sent=True,
            )
        return NotifierError(what, permanent=False, maybe_sent=maybe_sent)

    def _outcome(self, answer: ZnsReply, token: str) -> Delivery:
        if answer.error == 0:
            try:
                data = ZnsData.model_validate(answer.data or {})
            except ValidationError:
                data = ZnsData()
            quota = data.quota or ZnsQuota()
            detail = "Zalo ZNS đã nhận tin"
            if quota.remainingQuota is not None:
                detail += f"; còn {quota.remainingQuota}/{quota.dailyQuota or '?'} tin hôm nay"
            return Delivery(provider_id=data.msg_id or None, detail=detail)
        now = datetime.now(self.timezone)
        text = SecretMask([self._secret, token])(answer.message[:200])
        raise classify(answer.error, text, now, self.morning)

    def _redact(self, text: str) -> str:
        return SecretMask([self._secret])(text)


def token_store(engine: Any, options: ZaloOptions, app_secret: str) -> TokenStore:
    """The store for this app's pair, refreshing through Zalo's OAuth endpoint."""
    oauth = OAuthClient(options.oauth_url, options.app_id, app_secret, options.timeout)
    return TokenStore(
        engine,
        options.app_id,
        oauth,
        refresh_before=options.refresh_before,
        refresh_alert_days=options.refresh_alert_days,
    )


def _too_long(param: Param, values: dict[str, set[str]]) -> str | None:
    """Why the field's values may exceed `param.max`, or None."""
    if param.field in UNCHECKED:
        return None
    cap = param.max or 0
    if param.field in FIXED_LENGTHS:
        length = FIXED_LENGTHS[param.field]
        return f"trường {param.field} có thể dài {length} ký tự" if length > cap else None
    longest = max(values.get(param.field, set()), key=len, default="")
    return f"'{longest}' dài {len(longest)} ký tự (trường {param.field})" if len(longest) > cap else None
