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

Idempotency: eSMS keeps each `RequestId` for 24 h and answers 124 to a duplicate. The
RequestId is the reminder's key (with ".2", ".3" … for the further SMS of a split), so a
retry after a timeout cannot send the same SMS twice; 124 counts as delivered. SpeedSMS
and the generic gateway have no such key: a retry after a timeout may send twice.

Errors are classified for the dispatcher (see `NotifierError`): a number that cannot take
SMS is `unreachable`, configuration problems (keys, brandname, balance, IP whitelist) are
`permanent` with `alert`, rate limits and provider or network failures are transient.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import httpx
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from notifiers.base import Delivery, Message, NotConfigured, Notifier, NotifierError, Setup
from notifiers.http import LoopClient, retry_after
from scheduler.templates import unaccent

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


def request_id(key: str, part: int = 1) -> str:
    """The idempotency key for the `part`-th SMS of a message, at most 50 characters (eSMS)."""
    value = key if part == 1 else f"{key}.{part}"
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


class Gateway:
    """One provider's request and reply (strategy); returns (provider id, detail) or raises."""

    name: ClassVar[str]
    required: ClassVar[tuple[str, ...]] = ()

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
        except httpx.TimeoutException as exc:
            raise NotifierError(
                f"{self.name}: hết thời gian chờ ({type(exc).__name__})", permanent=False
            ) from exc
        except httpx.TransportError as exc:
            raise NotifierError(
                f"{self.name}: lỗi kết nối ({type(exc).__name__}: {exc})", permanent=False
            ) from exc
        status = response.status_code
        if status == 429:
            wait = reset_seconds(response.headers.get("X-Rate-Limit-Reset")) or retry_after(response)
            raise NotifierError(
                f"{self.name}: vượt giới hạn số yêu cầu (HTTP 429)", permanent=False, retry_after=wait
            )
        if status in (401, 403):
            raise NotifierError(
                f"{self.name}: bị từ chối xác thực (HTTP {status}), kiểm tra khoá API",
                permanent=True,
                alert=True,
            )
        if status >= 500 or status == 408:
            raise NotifierError(
                f"{self.name}: lỗi phía nhà cung cấp (HTTP {status})",
                permanent=False,
                retry_after=retry_after(response),
            )
        return response

    def json(self, response: httpx.Response) -> dict[str, Any]:
        """The JSON object of a 2xx reply (a 4xx one raises: the request itself is wrong)."""
        if not response.is_success:
            raise self.rejected(response)
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise NotifierError(
                f"{self.name}: phản hồi không đọc được: {response.text[:200]!r}", permanent=False
            )
        return data

    def rejected(self, response: httpx.Response) -> NotifierError:
        return NotifierError(
            f"{self.name}: yêu cầu bị từ chối (HTTP {response.status_code}): {response.text[:200]!r}",
            permanent=True,
            alert=True,
        )


ESMS_CODES = {
    "99": "số điện thoại bị chặn nhận tin",
    "101": "sai ApiKey hoặc SecretKey",
    "103": "tài khoản hết tiền",
    "104": "brandname không tồn tại hoặc chưa được duyệt",
    "108": "số điện thoại không hợp lệ",
    "118": "loại tin (SmsType) không được hỗ trợ",
    "124": "RequestId đã được gửi trước đó",
    "140": "địa chỉ IP chưa được cho phép gọi API",
    "146": "mẫu tin chăm sóc khách hàng chưa được đăng ký",
    "177": "nhà mạng chưa được đăng ký cho brandname",
}
ESMS_UNREACHABLE = frozenset({"99", "108"})
ESMS_CONFIGURATION = frozenset({"101", "103", "104", "118", "140", "146", "177"})


class EsmsGateway(Gateway):
    name = "eSMS"
    required = ("SMS_ESMS_API_KEY", "SMS_ESMS_SECRET_KEY")

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
        reply = self.json(await self.request(client, "POST", options.url or ESMS_URL, json=body))
        code = str(reply.get("CodeResult", "")).strip()
        if code == "100":
            return _text(reply.get("SMSID")), "eSMS đã nhận tin (mã 100)"
        if code == "124":
            return _text(
                reply.get("SMSID")
            ), f"eSMS đã nhận tin này trước đó (mã 124, RequestId {sms.request_id})"
        meaning = ESMS_CODES.get(code) or str(reply.get("ErrorMessage") or "lỗi không rõ")
        text = f"eSMS không nhận tin gửi {sms.phone}: {meaning} (mã {code or '?'})"
        if code in ESMS_UNREACHABLE:
            raise NotifierError(text, permanent=True, unreachable=True)
        if code in ESMS_CONFIGURATION:
            raise NotifierError(text, permanent=True, alert=True)
        raise NotifierError(text, permanent=False)


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


class SpeedSmsGateway(Gateway):
    name = "SpeedSMS"
    required = ("SMS_SPEEDSMS_TOKEN",)

    async def send(self, client: httpx.AsyncClient, sms: Sms) -> tuple[str | None, str]:
        options = self.options
        body = {
            "to": [sms.phone],
            "content": sms.text,
            "sms_type": int(options.sms_type),
            "sender": options.brandname,
        }
        auth = (self.secrets["SMS_SPEEDSMS_TOKEN"], "x")
        reply = self.json(
            await self.request(client, "POST", options.url or SPEEDSMS_URL, json=body, auth=auth)
        )
        code = str(reply.get("code", "")).strip()
        data = reply.get("data") if isinstance(reply.get("data"), dict) else {}
        invalid = [str(p) for p in [*(reply.get("invalidPhone") or []), *(data.get("invalidPhone") or [])]]
        if code == "105" or sms.phone in invalid:
            raise NotifierError(
                f"SpeedSMS: số điện thoại {sms.phone} không nhận được SMS (mã {code or '?'})",
                permanent=True,
                unreachable=True,
            )
        if reply.get("status") == "success" and code in ("00", "0", ""):
            return _text(
                data.get("tranId")
            ), f"SpeedSMS đã nhận tin ({data.get('totalSMS', '?')} tin tính phí)"
        meaning = SPEEDSMS_CODES.get(code) or str(reply.get("message") or "lỗi không rõ")
        text = f"SpeedSMS không nhận tin gửi {sms.phone}: {meaning} (mã {code or '?'})"
        raise NotifierError(
            text, permanent=code in SPEEDSMS_CONFIGURATION, alert=code in SPEEDSMS_CONFIGURATION
        )


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
                raise NotifierError(
                    f"{self.name} không nhận tin gửi {sms.phone}: {options.success_field} = {value!r}; "
                    f"phản hồi {response.text[:200]!r}",
                    permanent=False,
                )
        provider_id = _text(lookup(reply, options.id_field)) if options.id_field else None
        return provider_id, f"{self.name} đã nhận tin (HTTP {response.status_code})"


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

    def __init__(self, options: SmsOptions, secrets: Mapping[str, str]) -> None:
        self.options = options
        self.gateway = GATEWAYS[options.gateway](options, secrets)
        self._hidden = sorted((v for v in secrets.values() if v), key=len, reverse=True)
        self._http = LoopClient(timeout=httpx.Timeout(options.timeout))

    @classmethod
    def from_setup(cls, setup: Setup) -> SmsNotifier:
        options: SmsOptions = setup.options
        needed = GATEWAYS[options.gateway].required
        if options.gateway == "http" and options.uses_token():
            needed = ("SMS_HTTP_TOKEN",)
        for name in needed:
            if not setup.secrets.get(name):
                raise NotConfigured(f"đặt {SECRET_PREFIX}{name} để gửi SMS qua gateway {options.gateway}")
        return cls(options, dict(setup.secrets))

    async def send(self, message: Message) -> Delivery:
        phone = national(message.recipient)
        parts = fit(self.text(message), self.options.max_segments, self.options.overflow)
        if not any(parts):
            raise NotifierError("nội dung SMS rỗng, kiểm tra mẫu short.txt", permanent=True, alert=True)
        ids: list[str] = []
        details: list[str] = []
        for number, text in enumerate(parts, start=1):
            sms = Sms(phone, text, request_id(message.key, number))
            try:
                provider_id, detail = await self.gateway.send(self._http.get(), sms)
            except NotifierError as exc:
                raise self._hide(exc, number, len(parts)) from exc
            ids += [provider_id] if provider_id else []
            encoding, count = segments(text)
            details.append(f"{detail}; {encoding}, {count} phần")
        return Delivery(provider_id=",".join(ids) or None, detail=" | ".join(details))

    def text(self, message: Message) -> str:
        """The text before the cap: see the module docstring."""
        if self.options.unicode:
            return message.short or message.text
        return gsm_text(message.short_ascii or message.short or message.text)

    async def aclose(self) -> None:
        await self._http.aclose()

    def _hide(self, exc: NotifierError, number: int, total: int) -> NotifierError:
        """The error with any key or token masked, and which SMS of a split it was."""
        text = str(exc)
        for secret in self._hidden:
            text = text.replace(secret, "***")
        if total > 1:
            text = f"tin {number}/{total}: {text}"
        return NotifierError(
            text,
            permanent=exc.permanent,
            retry_after=exc.retry_after,
            unreachable=exc.unreachable,
            alert=exc.alert,
        )
