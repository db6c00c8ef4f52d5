"""SMS through a Vietnamese gateway: eSMS.vn, SpeedSMS, or any HTTP gateway (Viettel, VNPT … contracts).

What is sent
- `unicode: false` (the default) sends `Message.short_ascii`, the short text without
  diacritics, which fits GSM-7 (160 characters per SMS, 153 per part). Typographic
  characters GSM-7 lacks ("–", "…", curly quotes) are replaced by ASCII ones, anything
  else outside GSM-7 by "?", so the gateway never switches to UCS-2 behind our back.
- `unicode: true` sends `Message.short` with its diacritics: UCS-2, 70 characters per
  SMS, 67 per part, so about twice the parts billed.

The cap (`max_segments`, `overflow`)
- `truncate`: one SMS of at most `max_segments` parts. A longer text loses words before
  the confirmation link (the last token starting with "http"), the cut marked with
  "...", so the link stays whole at the end.
- `split`: several SMS of one part each (no concatenation headers, so each arrives on
  its own even on old phones), at most `max_segments` of them, cut at spaces; a text
  that still does not fit is shortened first as for `truncate`.

Idempotency: eSMS keeps each `RequestId` for 24 h and answers 124 "Request exist" to a
repeat. The RequestId is the reminder's key (with ".2", ".3" … for the further SMS of a
split), so a retry after a timeout cannot send the same SMS twice. 124 counts as delivered
only when its `SendStatus` says the first request was taken (5 sent, 7 at the network);
otherwise, and after any refusal (103 balance, 104 brandname, 140 IP …), the SMS goes next
time with a new RequestId. A part accepted while a later part failed is not sent again
(`notifiers.sms_requests`). SpeedSMS and the generic gateway have no such key: a retry after
a timeout or a 5xx may send twice, and is recorded as a possible duplicate (`maybe_sent`).

Errors are classified for the dispatcher (see `NotifierError`): a number that cannot take
SMS is `unreachable`, configuration problems (keys, brandname, balance, IP whitelist, a host
that does not resolve) are `alert`s, rate limits and provider or network failures are
transient. A provider's reply is never quoted whole: an error keeps the HTTP status and the
provider's documented code and message, with every key and token masked.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from notifiers.base import Delivery, Message, NotConfigured, Notifier, NotifierError, Setup
from notifiers.http import LoopClient, connection_failure, maybe_delivered, retry_after
from notifiers.masking import SecretMask
from notifiers.sms_requests import ACCEPTED, DatabaseLedger, MemoryLedger
from notifiers.text import unaccent

log = logging.getLogger(__name__)

ESMS_URL = "https://rest.esms.vn/MainService.svc/json/SendMultipleMessage_V4_post_json/"
SPEEDSMS_URL = "https://api.speedsms.vn/index.php/sms/send"
SECRET_PREFIX = "NHACVIEC_"
PLACEHOLDERS = ("phone", "phone84", "text", "key", "token")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")
REQUEST_ID_MAX = 50  # eSMS
ELLIPSIS = "..."

# --- segments -----------------------------------------------------------------------

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")  # sent as ESC + character: two septets each
GSM7 = GSM7_BASIC | GSM7_EXTENSION
_TO_GSM = str.maketrans(
    {"–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "…": ELLIPSIS, "\u00a0": " ", "\t": " "}
)


def segments(text: str) -> tuple[str, int]:
    """("GSM-7", n) or ("UCS-2", n): the encoding a phone network uses for `text` and its parts.

    GSM-7: 160 septets in one SMS, 153 per part of a longer one; characters of the
    extension table (`{}[]~^\\|€`, form feed) take two septets and are never split
    across parts. Any other character makes the whole text UCS-2: 70 UTF-16 units in
    one SMS, 67 per part (a character beyond the BMP takes two units, kept together).
    An empty text is one SMS.
    """
    if GSM7_BASIC.issuperset(text):  # one septet per character: counted, not walked
        return "GSM-7", _even_parts(len(text), 160, 153)
    if GSM7.issuperset(text):
        return "GSM-7", _parts([2 if ch in GSM7_EXTENSION else 1 for ch in text], 160, 153)
    if max(text) <= "\uffff":  # one UTF-16 unit per character
        return "UCS-2", _even_parts(len(text), 70, 67)
    return "UCS-2", _parts([2 if ord(ch) > 0xFFFF else 1 for ch in text], 70, 67)


def _even_parts(length: int, single: int, per_part: int) -> int:
    """`_parts` for `length` units of one each (a send computes this three times per SMS)."""
    return 1 if length <= single else -(-length // per_part)


def _parts(units: list[int], single: int, per_part: int) -> int:
    if sum(units) <= single:
        return 1
    count, used = 1, 0
    for unit in units:
        if used + unit > per_part:
            count, used = count + 1, 0
        used += unit
    return count


def gsm_text(text: str) -> str:
    """`text` without diacritics and within GSM-7 (see the module docstring)."""
    # Usually `Message.short_ascii`, already ASCII: of ASCII, _TO_GSM maps only the tab.
    plain = text.replace("\t", " ") if text.isascii() else unaccent(text.translate(_TO_GSM))
    if GSM7.issuperset(plain):
        return plain
    return "".join(ch if ch in GSM7 else "?" for ch in plain)


def fit(text: str, max_segments: int, overflow: Literal["truncate", "split"]) -> list[str]:
    """The SMS to send for `text` under the cap (see the module docstring)."""
    if overflow == "truncate":
        return [shorten(text, lambda t: segments(t)[1] <= max_segments)]
    return pack(shorten(text, lambda t: len(pack(t)) <= max_segments))


def shorten(text: str, fits: Callable[[str], bool]) -> str:
    """`text`, or its words before the last link cut until `fits`, marked with "..."."""
    if fits(text):
        return text
    links = [m for m in re.finditer(r"\S+", text) if m.group().startswith("http")]
    head, tail = (text[: links[-1].start()], text[links[-1].start() :]) if links else (text, "")
    words = head.split()
    while words:
        words.pop()
        candidate = " ".join([*words[:-1], words[-1] + ELLIPSIS, tail] if words else [ELLIPSIS, tail]).strip()
        if (words or tail) and fits(candidate):
            return candidate
    for end in range(len(text) - 1, 0, -1):  # the link alone is too long: cut characters
        candidate = text[:end].rstrip() + ELLIPSIS
        if fits(candidate):
            return candidate
    return ""


def pack(text: str) -> list[str]:
    """`text` cut at spaces into texts of one SMS each (a word too long for one is cut too)."""
    parts: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if segments(candidate)[1] == 1:
            current = candidate
            continue
        if current:
            parts.append(current)
        current = word
        while segments(current)[1] > 1:
            cut = max(n for n in range(1, len(current)) if segments(current[:n])[1] == 1)
            parts.append(current[:cut])
            current = current[cut:]
    if current:
        parts.append(current)
    return parts


# --- numbers and ids ----------------------------------------------------------------


def national(recipient: str) -> str:
    """The number as eSMS and SpeedSMS want it: "+84912345678" (or "84…", "0…") → "0912345678".

    Anything that is not a Vietnamese mobile number (a foreign number, a landline) is unreachable.
    """
    digits = re.sub(r"[\s.()-]", "", recipient)
    match = re.fullmatch(r"(?:\+84|84|0)([1-9]\d{8})", digits)
    if match is None:
        raise NotifierError(
            f"số {recipient!r} không phải số di động Việt Nam, không gửi SMS được",
            permanent=True,
            unreachable=True,
        )
    return "0" + match[1]


def request_id(key: str, part: int = 1, generation: int = 1) -> str:
    """The idempotency key for the `part`-th SMS of a message, at most 50 characters (eSMS);
    `generation` 2, 3 … after the provider refused the previous one."""
    value = key if part == 1 else f"{key}.{part}"
    if generation > 1:
        value = f"{key}.{part}.{generation}"
    if len(value) > REQUEST_ID_MAX:
        value = hashlib.sha256(value.encode()).hexdigest()[:40]
    return value


# --- options ------------------------------------------------------------------------


class SmsOptions(BaseModel):
    """The `options:` block of channel `sms` in config/channels.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    gateway: Literal["esms", "speedsms", "http"] = "esms"
    unicode: bool = False  # False: short_ascii (GSM-7); True: short, with diacritics (UCS-2)
    max_segments: int = Field(default=2, ge=1, le=10)
    overflow: Literal["truncate", "split"] = "truncate"
    timeout: float = Field(default=10, gt=0)
    url: str = ""  # empty: the provider's real endpoint (required for gateway: http)
    # eSMS `Brandname` / SpeedSMS `sender` (registered brandname, at most 11 characters)
    brandname: str = Field(default="", max_length=11, validation_alias=AliasChoices("brandname", "sender"))
    sms_type: str = "2"  # eSMS SmsType ("2" customer care); SpeedSMS sms_type (2 random number, 3 brandname)
    sandbox: bool = False  # eSMS: validated, not sent, not charged
    # gateway: http
    method: Literal["POST", "GET"] = "POST"
    body: dict[str, str] = Field(default_factory=dict)  # JSON body (POST) or query (GET), placeholders
    headers: dict[str, str] = Field(default_factory=dict)  # placeholders allowed
    success_field: str | None = None  # dotted path in the JSON reply, e.g. "result.code"
    success_value: str | None = None  # None: the field is truthy
    id_field: str | None = None  # dotted path of the provider's id

    @field_validator("sms_type", mode="before")
    @classmethod
    def _sms_type(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and not value.isdigit():
            raise ValueError("sms_type là một số, ví dụ 2")
        return value

    @model_validator(mode="after")
    def _gateway_fields(self) -> SmsOptions:
        if self.gateway == "speedsms" and self.sms_type in SPEEDSMS_SENDER_TYPES and not self.brandname:
            raise ValueError(
                f"SpeedSMS sms_type {self.sms_type} cần sender (brandname hoặc mã thiết bị đã đăng ký)"
            )
        generic = {"body": self.body, "headers": self.headers, "success_field": self.success_field}
        generic |= {"id_field": self.id_field, "success_value": self.success_value}
        if self.gateway != "http":
            used = [name for name, value in generic.items() if value]
            if used:
                raise ValueError(f"{', '.join(used)} chỉ dùng với gateway: http")
            return self
        if not self.url:
            raise ValueError("gateway: http cần url của nhà cung cấp")
        if self.success_value is not None and self.success_field is None:
            raise ValueError("success_value cần success_field")
        for value in [*self.body.values(), *self.headers.values()]:
            for name in _PLACEHOLDER.findall(value):
                if name not in PLACEHOLDERS:
                    raise ValueError(f"chỗ giữ chỗ {{{name}}} không có; dùng: {', '.join(PLACEHOLDERS)}")
        return self

    def uses_token(self) -> bool:
        return any("{token}" in v for v in [*self.body.values(), *self.headers.values()])


# --- gateways -----------------------------------------------------------------------


@dataclass(frozen=True)
class Sms:
    """One SMS to send: the number as 0xxxxxxxxx, its text and its idempotency key."""

    phone: str
    text: str
    request_id: str

    @property
    def phone84(self) -> str:
        return "84" + self.phone[1:]

    @property
    def ucs2(self) -> bool:
        return segments(self.text)[0] == "UCS-2"


class Refused(NotifierError):
    """The provider answered and did not take the SMS; `code` is its code for why."""

    def __init__(self, message: str, *, code: str, **flags: Any) -> None:
        super().__init__(message, **flags)
        self.code = code


class Reply(BaseModel):
    """A provider's JSON reply, read leniently: numbers may come as strings or the reverse."""

    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)


class ErrorReply(Reply):
    """The code and message of an error reply, under the names eSMS and SpeedSMS use."""

    code: str = Field("", validation_alias=AliasChoices("CodeResult", "code", "error_code"))
    message: str = Field("", validation_alias=AliasChoices("ErrorMessage", "message", "error_description"))


class EsmsReply(Reply):
    CodeResult: str = ""
    ErrorMessage: str = ""
    SMSID: str | None = None
    SendStatus: str | None = None  # on 124: 5 sent, 7 at the network waiting for its report, 4 refused


class SpeedSmsData(Reply):
    tranId: str | None = None
    totalSMS: str | None = None
    invalidPhone: list[str] = []


class SpeedSmsReply(Reply):
    status: str = ""
    code: str = ""
    message: str = ""
    data: Any = None
    invalidPhone: list[str] = []


R = TypeVar("R", bound=Reply)
MESSAGE_CHARS = 200  # of a provider's message kept in an error


def read(model: type[R], data: Any) -> R:
    """`data` as `model`, or the model's defaults when it does not fit (a provider's odd reply)."""
    try:
        return model.model_validate(data)
    except ValidationError:
        return model()


class Gateway:
    """One provider's request and reply (strategy); returns (provider id, detail) or raises."""

    name: ClassVar[str]
    required: ClassVar[tuple[str, ...]] = ()
    deduplicates: ClassVar[bool] = False  # a repeated request id is not sent twice (eSMS)
    too_long: ClassVar[str | None] = None  # its code for "content too long"

    def __init__(self, options: SmsOptions, secrets: Mapping[str, str]) -> None:
        self.options = options
        self.secrets = secrets

    async def send(self, client: httpx.AsyncClient, sms: Sms) -> tuple[str | None, str]:
        raise NotImplementedError

    async def request(
        self, client: httpx.AsyncClient, method: str, url: str, **kwargs: Any
    ) -> httpx.Response:
        """The reply, network failures and HTTP statuses that say enough already raised."""
        try:
            response = await client.request(method, url, **kwargs)
        except httpx.HTTPError as exc:
            host = urlsplit(url).netloc
            if reason := connection_failure(exc):
                raise NotifierError(
                    f"{self.name}: lỗi kết nối tới {host}: {reason}; kiểm tra url trong config/channels.yaml",
                    permanent=False,
                    alert=True,
                ) from exc
            what = "hết thời gian chờ" if isinstance(exc, httpx.TimeoutException) else "lỗi kết nối"
            raise NotifierError(
                f"{self.name}: {what} ({type(exc).__name__})",
                permanent=False,
                maybe_sent=not self.deduplicates and maybe_delivered(exc),
            ) from exc
        status = response.status_code
        if status == 429:
            wait = reset_seconds(response.headers.get("X-Rate-Limit-Reset")) or retry_after(response)
            raise NotifierError(
                f"{self.name}: vượt giới hạn số yêu cầu (HTTP 429)", permanent=False, retry_after=wait
            )
        if status in (401, 403):
            raise NotifierError(
                f"{self.name}: bị từ chối xác thực ({self.describe(response)}), kiểm tra khoá API",
                permanent=True,
                alert=True,
            )
        if status >= 500 or status == 408:
            raise NotifierError(
                f"{self.name}: lỗi phía nhà cung cấp ({self.describe(response)})",
                permanent=False,
                retry_after=retry_after(response),
                maybe_sent=not self.deduplicates,
            )
        return response

    def json(self, response: httpx.Response) -> dict[str, Any]:
        """The JSON object of a 2xx reply (a 4xx one raises: the request itself is wrong)."""
        if not response.is_success:
            raise self.rejected(response)
        data = _json(response)
        if not isinstance(data, dict):
            raise NotifierError(
                f"{self.name}: phản hồi không đọc được (HTTP {response.status_code}, không phải JSON)",
                permanent=False,
                maybe_sent=not self.deduplicates,
            )
        return data

    def rejected(self, response: httpx.Response) -> NotifierError:
        return NotifierError(
            f"{self.name}: yêu cầu bị từ chối ({self.describe(response)})", permanent=True, alert=True
        )

    def describe(self, response: httpx.Response) -> str:
        """ "HTTP 400, mã 101: Authorize Failed": the status and, from a JSON reply, the provider's
        code and message; never the raw body, which may echo the request and its keys."""
        error = read(ErrorReply, _json(response))
        detail = f"HTTP {response.status_code}"
        if error.code:
            detail += f", mã {error.code[:20]}"
        if error.message:
            detail += f": {error.message[:MESSAGE_CHARS]}"
        return detail


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


ESMS_CODES = {
    "99": "số điện thoại bị chặn nhận tin",
    "101": "sai ApiKey hoặc SecretKey",
    "102": "tài khoản chưa có bảng giá, liên hệ eSMS",
    "103": "tài khoản hết tiền",
    "104": "brandname không tồn tại hoặc chưa được duyệt",
    "108": "số điện thoại không hợp lệ",
    "118": "loại tin (SmsType) không được hỗ trợ",
    "124": "RequestId đã được gửi trước đó",
    "140": "địa chỉ IP chưa được cho phép gọi API",
    "146": "mẫu tin chăm sóc khách hàng chưa được đăng ký",
    "177": "nhà mạng chưa được đăng ký cho brandname",
    "300": "thiếu loại tin (SmsType)",
}
ESMS_UNREACHABLE = frozenset({"99", "108"})
ESMS_CONFIGURATION = frozenset({"101", "102", "103", "104", "118", "140", "146", "177", "300"})
ESMS_TAKEN = {"5": "đã gửi", "7": "đã chuyển nhà mạng, chờ kết quả"}  # SendStatus of a 124


class EsmsGateway(Gateway):
    name = "eSMS"
    required = ("SMS_ESMS_API_KEY", "SMS_ESMS_SECRET_KEY")
    deduplicates = True

    async def send(self, client: httpx.AsyncClient, sms: Sms) -> tuple[str | None, str]:
        options = self.options
        body = {
            "ApiKey": self.secrets["SMS_ESMS_API_KEY"],
            "SecretKey": self.secrets["SMS_ESMS_SECRET_KEY"],
            "Phone": sms.phone,
            "Content": sms.text,
            "SmsType": options.sms_type,
            "IsUnicode": "1" if sms.ucs2 else "0",
            "Sandbox": "1" if options.sandbox else "0",
            "RequestId": sms.request_id,
        }
        if options.brandname:
            body["Brandname"] = options.brandname
        reply = read(
            EsmsReply, self.json(await self.request(client, "POST", options.url or ESMS_URL, json=body))
        )
        code = reply.CodeResult.strip()
        if code == "100":
            return _text(reply.SMSID), "eSMS đã nhận tin (mã 100)"
        if code == "124":
            return self.repeated(sms, reply)
        meaning = ESMS_CODES.get(code) or reply.ErrorMessage[:MESSAGE_CHARS] or "lỗi không rõ"
        text = f"eSMS không nhận tin gửi {sms.phone}: {meaning} (mã {code or '?'})"
        if code in ESMS_UNREACHABLE:
            raise Refused(text, code=code, permanent=True, unreachable=True)
        if code in ESMS_CONFIGURATION:
            raise Refused(text, code=code, permanent=True, alert=True)
        raise Refused(text, code=code, permanent=False)

    def repeated(self, sms: Sms, reply: EsmsReply) -> tuple[str | None, str]:
        """124 "Request exist": delivered if `SendStatus` says the first request was taken. Else
        that request was refused, or its fate is unknown: the next attempt uses a new RequestId,
        and when nothing says the first was refused the SMS may then arrive twice."""
        status = (reply.SendStatus or "").strip()
        if status in ESMS_TAKEN:
            return _text(reply.SMSID), (
                f"eSMS đã nhận tin này ở lần gửi trước (mã 124, SendStatus {status}: {ESMS_TAKEN[status]})"
            )
        if status:
            why = f"một yêu cầu không được gửi (SendStatus {status})"
        else:
            why = "một yêu cầu mà eSMS không cho biết đã gửi hay chưa"
        raise Refused(
            f"eSMS: RequestId {sms.request_id} đã dùng cho {why} (mã 124); lần sau gửi với RequestId mới",
            code="124",
            permanent=False,
            maybe_sent=not status,
        )


SPEEDSMS_CODES = {
    "007": "địa chỉ IP bị khoá",
    "008": "tài khoản bị khoá",
    "009": "tài khoản không được phép dùng API",
    "101": "tham số không hợp lệ",
    "105": "số điện thoại không hợp lệ",
    "110": "kiểu mã hoá nội dung không được hỗ trợ",
    "113": "nội dung quá dài",
    "300": "tài khoản hết tiền",
    "500": "lỗi nội bộ của SpeedSMS",
}
SPEEDSMS_CONFIGURATION = frozenset({"007", "008", "009", "101", "110", "113", "300"})
SPEEDSMS_SENDER_TYPES = frozenset({"3", "5"})  # brandname, Android app: `sender` is required


class SpeedSmsGateway(Gateway):
    name = "SpeedSMS"
    required = ("SMS_SPEEDSMS_TOKEN",)
    too_long = "113"

    async def send(self, client: httpx.AsyncClient, sms: Sms) -> tuple[str | None, str]:
        options = self.options
        body = {
            "to": [sms.phone],
            "content": sms.text,
            "sms_type": int(options.sms_type),
            "sender": self.sender(),
        }
        auth = (self.secrets["SMS_SPEEDSMS_TOKEN"], "x")
        response = await self.request(client, "POST", options.url or SPEEDSMS_URL, json=body, auth=auth)
        reply = read(SpeedSmsReply, self.json(response))
        code = reply.code.strip()
        data = read(SpeedSmsData, reply.data)
        if code == "105" or sms.phone in [*reply.invalidPhone, *data.invalidPhone]:
            raise Refused(
                f"SpeedSMS: số điện thoại {sms.phone} không nhận được SMS (mã {code or '?'})",
                code=code,
                permanent=True,
                unreachable=True,
            )
        if reply.status == "success" and code in ("00", "0", ""):
            return _text(data.tranId), f"SpeedSMS đã nhận tin ({data.totalSMS or '?'} tin tính phí)"
        meaning = SPEEDSMS_CODES.get(code) or reply.message[:MESSAGE_CHARS] or "lỗi không rõ"
        text = f"SpeedSMS không nhận tin gửi {sms.phone}: {meaning} (mã {code or '?'})"
        configuration = code in SPEEDSMS_CONFIGURATION
        raise Refused(text, code=code, permanent=configuration, alert=configuration)

    def sender(self) -> str:
        """`sender`: the brandname or device (sms_type 3, 5); with sms_type 2 the number is
        SpeedSMS's own, so empty unless a registered number is configured (a brandname set
        for eSMS is not a sender here)."""
        sender = self.options.brandname
        if self.options.sms_type == "2" and not sender.isdigit():
            return ""
        return sender


class HttpGateway(Gateway):
    """A gateway described in options: one request whose body (POST: JSON, GET: query) and
    headers are templates with `{phone}` (0xxxxxxxxx), `{phone84}` (84xxxxxxxxx), `{text}`,
    `{key}` (the idempotency key) and `{token}` (NHACVIEC_SMS_HTTP_TOKEN). Accepted when the
    reply is 2xx and, if `success_field` is set, that field of the JSON reply equals
    `success_value` (or is truthy); any other 2xx reply is a transient failure. The provider's
    id is read from `id_field`."""

    name = "cổng SMS"

    async def send(self, client: httpx.AsyncClient, sms: Sms) -> tuple[str | None, str]:
        options = self.options
        values = {"phone": sms.phone, "phone84": sms.phone84, "text": sms.text, "key": sms.request_id}
        values["token"] = self.secrets.get("SMS_HTTP_TOKEN", "")
        body = {name: fill(value, values) for name, value in options.body.items()}
        headers = {name: fill(value, values) for name, value in options.headers.items()}
        payload = {"params": body} if options.method == "GET" else {"json": body}
        response = await self.request(client, options.method, options.url, headers=headers, **payload)
        if not response.is_success:
            raise self.rejected(response)
        if options.success_field is None and options.id_field is None:
            return None, f"{self.name} đã nhận tin (HTTP {response.status_code})"
        reply = self.json(response)
        if options.success_field is not None:
            value = lookup(reply, options.success_field)
            ok = bool(value) if options.success_value is None else _text(value) == options.success_value
            if not ok:
                raise Refused(
                    f"{self.name} không nhận tin gửi {sms.phone}: {options.success_field} = {_code(value)}"
                    f" ({self.describe(response)})",
                    code=_text(value) or "",
                    permanent=False,
                )
        provider_id = _text(lookup(reply, options.id_field)) if options.id_field else None
        return provider_id, f"{self.name} đã nhận tin (HTTP {response.status_code})"


def _code(value: Any) -> str:
    """A reply field shown in an error: a short scalar as it is, anything else by its type."""
    if isinstance(value, str | int | float | bool) or value is None:
        shown = repr(value)
        return shown if len(shown) <= 40 else f"{shown[:37]}..."
    return f"<{type(value).__name__}>"


def fill(template: str, values: Mapping[str, str]) -> str:
    """Replace the known `{placeholders}`; other braces are left as they are."""
    return _PLACEHOLDER.sub(lambda m: values.get(m[1], m[0]), template)


def lookup(data: Any, path: str) -> Any:
    """The value at a dotted path ("result.code", "data.0.id") of a JSON reply; None if absent."""
    for name in path.split("."):
        if isinstance(data, dict):
            data = data.get(name)
        elif isinstance(data, list) and name.isdigit() and int(name) < len(data):
            data = data[int(name)]
        else:
            return None
    return data


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def reset_seconds(value: str | None) -> float | None:
    """X-Rate-Limit-Reset: seconds until the reset, or (above 1e9) the reset as an epoch time."""
    try:
        number = float(value) if value is not None else None
    except ValueError:
        return None
    if number is None:
        return None
    return max(0.0, number - time.time()) if number > 1e9 else max(0.0, number)


GATEWAYS: dict[str, type[Gateway]] = {"esms": EsmsGateway, "speedsms": SpeedSmsGateway, "http": HttpGateway}


# --- the notifier -------------------------------------------------------------------


class _TooLong(Exception):
    """The gateway refused a multi-part SMS as too long: fit the text to one part and send again."""


class SmsNotifier(Notifier):
    channel: ClassVar[str] = "sms"
    renders: ClassVar[tuple[str, ...]] = ("short.txt",)
    address: ClassVar[str] = "mobile"
    concurrency: ClassVar[int] = 10
    Options: ClassVar[type[BaseModel]] = SmsOptions
    secrets: ClassVar[tuple[str, ...]] = (
        "SMS_ESMS_API_KEY",
        "SMS_ESMS_SECRET_KEY",
        "SMS_SPEEDSMS_TOKEN",
        "SMS_HTTP_TOKEN",
    )

    def __init__(self, options: SmsOptions, secrets: Mapping[str, str], ledger: Any = None) -> None:
        """`ledger`: where refused and partly accepted requests are kept for the next attempt
        (`notifiers.sms_requests`); in this process when None."""
        self.options = options
        self.gateway = GATEWAYS[options.gateway](options, secrets)
        self.ledger = ledger if ledger is not None else MemoryLedger()
        self._mask = SecretMask(secrets.values())
        self._http = LoopClient(timeout=httpx.Timeout(options.timeout))
        self._one_part = False  # the gateway refused a multi-part SMS: fit every text into one

    @classmethod
    def from_setup(cls, setup: Setup) -> SmsNotifier:
        options: SmsOptions = setup.options
        needed = GATEWAYS[options.gateway].required
        if options.gateway == "http" and options.uses_token():
            needed = ("SMS_HTTP_TOKEN",)
        for name in needed:
            if not setup.secrets.get(name):
                raise NotConfigured(f"đặt {SECRET_PREFIX}{name} để gửi SMS qua gateway {options.gateway}")
        ledger = DatabaseLedger(setup.engine) if setup.engine is not None else None
        return cls(options, dict(setup.secrets), ledger)

    async def send(self, message: Message) -> Delivery:
        phone = national(message.recipient)
        text = self.text(message)
        try:
            return await self._send_parts(message, phone, self._fit(text))
        except _TooLong:
            log.warning(
                "the SMS gateway refused a multi-part text: texts are now fitted into one SMS",
                extra={"gateway": self.gateway.name},
            )
            self._one_part = True
            return await self._send_parts(message, phone, self._fit(text))

    def _fit(self, text: str) -> list[str]:
        options = self.options
        if self._one_part and options.overflow == "truncate":
            return fit(text, 1, "truncate")
        return fit(text, options.max_segments, options.overflow)  # split: one part per SMS already

    async def _send_parts(self, message: Message, phone: str, parts: list[str]) -> Delivery:
        if not any(parts):
            raise NotifierError("nội dung SMS rỗng, kiểm tra mẫu short.txt", permanent=True, alert=True)
        known = self.ledger.parts(message.key) if message.attempt > 1 else {}
        ids: list[str] = []
        details: list[str] = []
        accepted: list[tuple[int, int, str]] = []  # (part, generation, request id) taken in this attempt
        for number, text in enumerate(parts, start=1):
            generation, code = known.get(number, (1, None))
            if code == ACCEPTED:
                details.append(f"tin {number}/{len(parts)} đã được nhận ở lần gửi trước")
                continue
            if code is not None:  # refused last time: its RequestId may be spent
                generation += 1
            sms = Sms(phone, text, request_id(message.key, number, generation))
            try:
                provider_id, detail = await self.gateway.send(self._http.get(), sms)
            except Refused as exc:
                if exc.code == self.gateway.too_long and segments(text)[1] > 1 and not self._one_part:
                    raise _TooLong from exc  # one multi-part SMS (truncate): nothing was taken
                self._remember(message.key, accepted)
                self.ledger.record(message.key, number, generation, sms.request_id, exc.code or "?")
                raise self._hide(exc, number, len(parts)) from exc
            except NotifierError as exc:
                self._remember(message.key, accepted)
                raise self._hide(exc, number, len(parts)) from exc
            accepted.append((number, generation, sms.request_id))
            ids += [provider_id] if provider_id else []
            encoding, count = segments(text)
            details.append(f"{detail}; {encoding}, {count} phần")
        return Delivery(provider_id=",".join(ids) or None, detail=" | ".join(details))

    def _remember(self, key: str, accepted: list[tuple[int, int, str]]) -> None:
        """A later part failed: the parts taken already are not sent again on the next attempt."""
        for number, generation, request in accepted:
            self.ledger.record(key, number, generation, request, ACCEPTED)

    def text(self, message: Message) -> str:
        """The text before the cap: see the module docstring."""
        if self.options.unicode:
            return message.short or message.text
        return gsm_text(message.short_ascii or message.short or message.text)

    async def aclose(self) -> None:
        await self._http.aclose()

    def _hide(self, exc: NotifierError, number: int, total: int) -> NotifierError:
        """The error with any key or token masked, and which SMS of a split it was."""
        text = self._mask(str(exc))
        if total > 1:
            text = f"tin {number}/{total}: {text}"
        return NotifierError(
            text,
            permanent=exc.permanent,
            retry_after=exc.retry_after,
            unreachable=exc.unreachable,
            alert=exc.alert,
            maybe_sent=exc.maybe_sent,
        )
