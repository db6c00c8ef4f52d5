"""Deployment settings, read once from the environment and `.env`.

Every variable is documented in `.env.example`. Values are parsed strictly: an
unknown `NHACVIEC_*` variable or a malformed value stops the program with a
message naming the variable and what it expects. A secret may be given as
`NAME_FILE=/path` instead of `NAME=value` (container secrets).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import load_dotenv

PREFIX = "NHACVIEC_"


class SettingsError(Exception):
    """A setting is missing or malformed; the message says which and what to write."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    config_dir: Path
    timezone: ZoneInfo
    send_time: time
    horizon_days: int

    @property
    def database_url_redacted(self) -> str:
        return redact_url(self.database_url)


DEFAULTS = {
    "DATABASE_URL": "sqlite:///var/nhacviec.db",
    "CONFIG_DIR": "config",
    "TIMEZONE": "Asia/Ho_Chi_Minh",
    "SEND_TIME": "08:00",
    "HORIZON_DAYS": "180",
}
SECRETS = {"DATABASE_URL"}


def redact_url(url: str) -> str:
    """Hide the password of a database URL so that it can be logged."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)


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
        path = Path(env[file_name])
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise SettingsError(f"{file_name}: không đọc được {path}: {exc.strerror}") from None
    return env.get(name, DEFAULTS[key])


def load_settings(env: dict[str, str] | None = None, dotenv: bool = True) -> Settings:
    """Build the settings from `env` (default: the process environment after `.env`)."""
    if env is None:
        if dotenv:
            load_dotenv(Path.cwd() / ".env", override=False)
        env = dict(os.environ)
    known = {PREFIX + k for k in DEFAULTS} | {PREFIX + k + "_FILE" for k in SECRETS}
    unknown = sorted(k for k in env if k.startswith(PREFIX) and k not in known)
    if unknown:
        raise SettingsError(
            f"biến cấu hình không có: {', '.join(unknown)}; các biến hợp lệ: {', '.join(sorted(known))}"
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
    try:
        send_time = parse_clock(_raw(env, "SEND_TIME"), PREFIX + "SEND_TIME")
    except ValueError as exc:
        raise SettingsError(str(exc)) from None
    horizon = _raw(env, "HORIZON_DAYS")
    if not horizon.isdigit() or not 1 <= int(horizon) <= 3660:
        raise SettingsError(f"{PREFIX}HORIZON_DAYS '{horizon}' phải là số ngày nguyên từ 1 đến 3660")
    return Settings(
        database_url=database_url,
        config_dir=Path(_raw(env, "CONFIG_DIR")),
        timezone=timezone,
        send_time=send_time,
        horizon_days=int(horizon),
    )
