"""Deployment settings, read once from the environment and `.env`.

Every variable is documented in `.env.example`. Values are parsed strictly: an
unknown `NHACVIEC_*` variable or a malformed value stops the program with a
message naming the variable and what it expects. A secret may be given as
`NAME_FILE=/path` instead of `NAME=value` (container secrets).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import time
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import load_dotenv

from notifiers.email import SmtpSettings
from notifiers.registry import channel_names

PREFIX = "NHACVIEC_"
MIN_SECRET_BYTES = 32  # the link-signing key: shorter ones are guessable or were cut off


class SettingsError(Exception):
    """A setting is missing or malformed; the message says which and what to write."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    config_dir: Path
    timezone: ZoneInfo
    send_time: time
    horizon_days: int
    delivery: str = "console"  # console: print every reminder; live: send through each channel
    public_url: str = "http://127.0.0.1:8080"
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    metrics_bind: tuple[str, int] | None = None  # /metrics on its own address instead of the HTTP port
    secret_key: str = field(default="", repr=False)
    link_days: int = 60
    quiet_start: time = time(21, 30)
    quiet_end: time = time(7, 0)
    digest_time: time = time(7, 30)
    digest_days: str = "working"  # working: the digest goes out on working days only; all: every day
    due_soon_days: int = 3  # "Sắp đến hạn": the effective deadline is at most this many working days away
    max_lateness_hours: int = 72
    lease_seconds: int = 300  # how long a claimed reminder stays with its dispatcher
    log_format: str = "json"  # json: one JSON object per line; text: readable lines (journald)
    session_idle_minutes: int = 60  # a web session without a request for this long is signed out
    trusted_user_header: str = ""  # SSO: the header a trusted reverse proxy names the user in; "" = off
    # The reverse proxies whose SSO header and X-Forwarded-For are believed (addresses or networks).
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = ()
    smtp: SmtpSettings | None = None
    # NHACVIEC_<CHANNEL>_* variables of the installed channels (keys without the prefix),
    # e.g. ZALO_APP_SECRET; all treated as secrets.
    channel_env: dict[str, str] = field(default_factory=dict, repr=False)

    def quiet(self, clock: time) -> bool:
        """Whether `clock` (local) lies in the quiet hours, when nothing is sent."""
        return in_period(clock, self.quiet_start, self.quiet_end)

    @property
    def database_url_redacted(self) -> str:
        return redact_url(self.database_url)

    @property
    def secrets(self) -> list[str]:
        """Values that must never appear in logs or error messages."""
        found = [self.secret_key, urlparse(self.database_url).password or ""]
        if self.smtp:
            found.append(self.smtp.password)
        found += self.channel_env.values()
        return [value for value in found if value]


DEFAULTS = {
    "DATABASE_URL": "sqlite:///var/nhacviec.db",
    "CONFIG_DIR": "config",
    "TIMEZONE": "Asia/Ho_Chi_Minh",
    "SEND_TIME": "08:00",
    "HORIZON_DAYS": "180",
    "DELIVERY": "console",
    "PUBLIC_URL": "http://127.0.0.1:8080",
    "HTTP_HOST": "127.0.0.1",
    "HTTP_PORT": "8080",
    "METRICS_BIND": "",
    "SECRET_KEY": "",
    "LINK_DAYS": "60",
    "QUIET_HOURS": "21:30-07:00",
    "DIGEST_TIME": "07:30",
    "DIGEST_DAYS": "working",
    "DUE_SOON_DAYS": "3",
    "MAX_LATENESS_HOURS": "72",
    "LEASE_SECONDS": "300",
    "LOG_FORMAT": "json",
    "SESSION_IDLE_MINUTES": "60",
    "TRUSTED_USER_HEADER": "",
    "TRUSTED_PROXIES": "",
    "SMTP_HOST": "",
    "SMTP_PORT": "25",
    "SMTP_SECURITY": "none",
    "SMTP_USERNAME": "",
    "SMTP_PASSWORD": "",
    "SMTP_FROM": "nhacviec@localhost",
    "SMTP_FROM_NAME": "Nhắc việc báo cáo",
    "SMTP_TIMEOUT": "30",
}
SECRETS = {"DATABASE_URL", "SECRET_KEY", "SMTP_PASSWORD"}


def redact_url(url: str) -> str:
    """Hide the password of a database URL so that it can be logged."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


def in_period(clock: time, start: time, end: time) -> bool:
    """Whether `clock` lies in the daily period [start, end), which may span midnight (equal
    ends: an empty period)."""
    if start <= end:
        return start <= clock < end
    return clock >= start or clock < end


def parse_clock(text: str, name: str = "time") -> time:
    """Parse `HH:MM` (24-hour clock)."""
    match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", text.strip())
    if not match:
        raise ValueError(f"{name} '{text}' không hợp lệ: cần giờ dạng HH:MM, ví dụ 08:00")
    return time(int(match[1]), int(match[2]))


def _raw(env: dict[str, str], key: str) -> str:
    name = PREFIX + key
    file_name = name + "_FILE"
    if key in SECRETS and file_name in env:
        return _read_secret(file_name, env[file_name])
    return env.get(name, DEFAULTS[key])


def _read_secret(variable: str, path: str) -> str:
    """The value of a `NAME_FILE=/path` variable (container secrets)."""
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(f"{variable}: không đọc được {path}: {exc.strerror}") from None


def load_settings(env: dict[str, str] | None = None, dotenv: bool = True) -> Settings:
    """Build the settings from `env` (default: the process environment after `.env`)."""
    if env is None:
        if dotenv:
            load_dotenv(Path.cwd() / ".env", override=False)
        env = dict(os.environ)
    known = {PREFIX + k for k in DEFAULTS} | {PREFIX + k + "_FILE" for k in SECRETS}
    channel_prefixes = tuple(f"{PREFIX}{name.upper().replace('-', '_')}_" for name in channel_names())
    unknown = sorted(
        k for k in env if k.startswith(PREFIX) and k not in known and not k.startswith(channel_prefixes)
    )
    if unknown:
        raise SettingsError(
            f"biến cấu hình không có: {', '.join(unknown)}; các biến hợp lệ: {', '.join(sorted(known))}, "
            f"và biến riêng của từng kênh: {', '.join(p + '…' for p in channel_prefixes)}"
        )

    database_url = _raw(env, "DATABASE_URL")
    if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", database_url):
        raise SettingsError(
            f"{PREFIX}DATABASE_URL '{redact_url(database_url)}' không được hỗ trợ: "
            "dùng sqlite:///duong/dan/tep.db hoặc postgresql+psycopg://user@host/db"
        )
    tz_name = _raw(env, "TIMEZONE")
    try:
        timezone = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise SettingsError(
            f"{PREFIX}TIMEZONE '{tz_name}' không phải múi giờ IANA, ví dụ Asia/Ho_Chi_Minh"
        ) from None
    send_time = _clock(_raw(env, "SEND_TIME"), "SEND_TIME")
    quiet = _raw(env, "QUIET_HOURS").split("-")
    if len(quiet) != 2:
        raise SettingsError(f"{PREFIX}QUIET_HOURS cần dạng HH:MM-HH:MM, ví dụ 21:30-07:00")
    delivery = _choice(env, "DELIVERY", ("console", "live"))
    if _raw(env, "TRUSTED_USER_HEADER").strip() and not _raw(env, "TRUSTED_PROXIES").strip():
        raise SettingsError(
            f"{PREFIX}TRUSTED_USER_HEADER cần {PREFIX}TRUSTED_PROXIES: địa chỉ của máy chủ proxy "
            "được tin cậy (chỉ tiêu đề do các địa chỉ đó gửi mới được dùng để đăng nhập)"
        )
    return Settings(
        database_url=database_url,
        config_dir=Path(_raw(env, "CONFIG_DIR")),
        timezone=timezone,
        send_time=send_time,
        horizon_days=_number(env, "HORIZON_DAYS", 1, 3660),
        delivery=delivery,
        public_url=_raw(env, "PUBLIC_URL").rstrip("/"),
        http_host=_raw(env, "HTTP_HOST"),
        http_port=_number(env, "HTTP_PORT", 1, 65535),
        metrics_bind=_address(env, "METRICS_BIND"),
        secret_key=_secret_key(env),
        link_days=_number(env, "LINK_DAYS", 1, 3660),
        quiet_start=_clock(quiet[0], "QUIET_HOURS"),
        quiet_end=_clock(quiet[1], "QUIET_HOURS"),
        digest_time=_clock(_raw(env, "DIGEST_TIME"), "DIGEST_TIME"),
        digest_days=_choice(env, "DIGEST_DAYS", ("working", "all")),
        due_soon_days=_number(env, "DUE_SOON_DAYS", 0, 60),
        max_lateness_hours=_number(env, "MAX_LATENESS_HOURS", 1, 24 * 366),
        lease_seconds=_number(env, "LEASE_SECONDS", 5, 86400),
        log_format=_choice(env, "LOG_FORMAT", ("json", "text")),
        session_idle_minutes=_number(env, "SESSION_IDLE_MINUTES", 1, 7 * 24 * 60),
        trusted_user_header=_header_name(env, "TRUSTED_USER_HEADER"),
        trusted_proxies=_networks(env, "TRUSTED_PROXIES"),
        smtp=_smtp(env),
        channel_env=_channel_env(env, channel_prefixes),
    )


def _channel_env(env: dict[str, str], prefixes: tuple[str, ...]) -> dict[str, str]:
    """The channels' own variables; `NAME_FILE=/path` reads NAME from a file."""
    found: dict[str, str] = {}
    for name, value in env.items():
        if not name.startswith(prefixes):
            continue
        key = name[len(PREFIX) :]
        if key.endswith("_FILE"):
            found[key[: -len("_FILE")]] = _read_secret(name, value)
        else:
            found.setdefault(key, value)
    return found


def _smtp(env: dict[str, str]) -> SmtpSettings | None:
    """The SMTP server, or None when NHACVIEC_SMTP_HOST is empty (every value is checked anyway)."""
    smtp = SmtpSettings(
        host=_raw(env, "SMTP_HOST"),
        port=_number(env, "SMTP_PORT", 1, 65535),
        security=_choice(env, "SMTP_SECURITY", ("none", "starttls", "tls")),
        username=_raw(env, "SMTP_USERNAME"),
        password=_raw(env, "SMTP_PASSWORD"),
        sender=_raw(env, "SMTP_FROM"),
        sender_name=_raw(env, "SMTP_FROM_NAME"),
        timeout=_number(env, "SMTP_TIMEOUT", 1, 600),
    )
    return smtp if smtp.host else None


def _secret_key(env: dict[str, str]) -> str:
    """The link-signing key; empty means "generate one" (see `links.secret_key`)."""
    key = _raw(env, "SECRET_KEY")
    if key and len(key.encode()) < MIN_SECRET_BYTES:
        raise SettingsError(
            f"{PREFIX}SECRET_KEY (hoặc tệp của {PREFIX}SECRET_KEY_FILE) quá ngắn: {len(key.encode())} byte, "
            f"cần ít nhất {MIN_SECRET_BYTES} byte ngẫu nhiên; tạo khóa mới bằng "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )
    return key


def _address(env: dict[str, str], key: str) -> tuple[str, int] | None:
    """`HOST:PORT` (IPv6 as `[::1]:9100`), or None when empty."""
    text = _raw(env, key).strip()
    if not text:
        return None
    match = re.fullmatch(r"\[([0-9A-Fa-f:.]+)\]:(\d{1,5})|([^:\s\[\]]+):(\d{1,5})", text)
    port = int(match[2] or match[4]) if match else 0
    if not match or not 1 <= port <= 65535:
        raise SettingsError(
            f"{PREFIX}{key} '{text}' không hợp lệ: cần dạng HOST:CỔNG, ví dụ 127.0.0.1:9100 hoặc [::1]:9100"
        )
    return (match[1] or match[3], port)


def _header_name(env: dict[str, str], key: str) -> str:
    """An HTTP header's name (lower case, as ASGI gives them), or "" when empty."""
    text = _raw(env, key).strip()
    if text and not re.fullmatch(r"[A-Za-z0-9-]{1,64}", text):
        raise SettingsError(f"{PREFIX}{key} '{text}' không phải tên tiêu đề HTTP, ví dụ X-Remote-User")
    return text.lower()


def _networks(env: dict[str, str], key: str) -> tuple[IPv4Network | IPv6Network, ...]:
    """Addresses or networks separated by commas (`127.0.0.1, 10.0.0.0/24, ::1`)."""
    found = []
    for part in _raw(env, key).split(","):
        if not part.strip():
            continue
        try:
            found.append(ip_network(part.strip(), strict=False))
        except ValueError:
            raise SettingsError(
                f"{PREFIX}{key}: '{part.strip()}' không phải địa chỉ IP hay dải địa chỉ, "
                "ví dụ 127.0.0.1, 10.0.0.0/24"
            ) from None
    return tuple(found)


def _number(env: dict[str, str], key: str, low: int, high: int) -> int:
    text = _raw(env, key)
    if not text.isdigit() or not low <= int(text) <= high:
        raise SettingsError(f"{PREFIX}{key} '{text}' phải là số nguyên từ {low} đến {high}")
    return int(text)


def _choice(env: dict[str, str], key: str, allowed: tuple[str, ...]) -> str:
    text = _raw(env, key)
    if text not in allowed:
        raise SettingsError(f"{PREFIX}{key} '{text}' không hợp lệ; chọn một trong: {', '.join(allowed)}")
    return text


def _clock(text: str, key: str) -> time:
    try:
        return parse_clock(text, PREFIX + key)
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
