"""Logs on stderr: one JSON object per line (or, with NHACVIEC_LOG_FORMAT=text, one readable
line), in local time with its offset, every secret masked in every value.

Secrets are masked value by value before the line is serialised (`notifiers.masking`): in the
message, each extra field and the traceback, never in the field names, so a short secret
cannot garble the line. The daemon's HTTP server (uvicorn) logs through the same handler.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, tzinfo
from typing import Any

from notifiers.masking import SecretMask

_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}
_PLAIN = frozenset({int, float, bool, type(None)})  # values with nothing to mask
FORMATS = ("json", "text")


class JsonFormatter(logging.Formatter):
    def __init__(self, secrets: list[str], timezone: tzinfo | None = None) -> None:
        super().__init__()
        mask = SecretMask(secrets)
        self.mask = mask.mask if mask else str  # str: nothing to mask (a str is returned as it is)
        self.timezone = timezone  # None: the machine's local time

    def redact(self, value: Any) -> Any:
        """`value` with the secrets masked: strings, and the strings inside lists and mappings."""
        if type(value) in _PLAIN:
            return value
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, dict):
            return {key: self.redact(item) for key, item in value.items()}
        if isinstance(value, list | tuple | set | frozenset):
            return [self.redact(item) for item in value]
        return self.mask(str(value))

    def fields(self, record: logging.LogRecord) -> dict[str, Any]:
        """The line's fields, secrets masked; `ts` in local time with its offset."""
        moment = datetime.fromtimestamp(record.created, self.timezone)
        if self.timezone is None:
            moment = moment.astimezone()
        entry: dict[str, Any] = {
            "ts": moment.isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": self.redact(record.getMessage()),
        }
        redact = self.redact
        for key, value in vars(record).items():
            if key not in _STANDARD:
                entry[key] = value if type(value) in _PLAIN else redact(value)
        if record.exc_info:
            entry["exc"] = self.redact(self.formatException(record.exc_info))
        return entry

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(self.fields(record), ensure_ascii=False, default=str)


class TextFormatter(JsonFormatter):
    """`2026-03-10 09:00:00.123+07:00 INFO nhacviec.dispatcher: reminder sent reminder=12 channel=zalo`."""

    def format(self, record: logging.LogRecord) -> str:
        entry = self.fields(record)
        ts, level, logger, msg = (entry.pop(k) for k in ("ts", "level", "logger", "msg"))
        exc = entry.pop("exc", None)
        extra = " ".join(f"{key}={_text(value)}" for key, value in entry.items())
        line = f"{ts.replace('T', ' ')} {level.upper()} {logger}: {msg}" + (f" {extra}" if extra else "")
        return f"{line}\n{exc}" if exc else line


def _text(value: Any) -> str:
    if isinstance(value, str):
        return (
            json.dumps(value, ensure_ascii=False)
            if (not value or any(c in value for c in ' "=\n\r\t'))
            else value
        )
    return json.dumps(value, ensure_ascii=False, default=str)


def setup_logging(
    secrets: list[str], timezone: tzinfo | None = None, log_format: str = "json", level: int = logging.INFO
) -> None:
    formatter = TextFormatter if log_format == "text" else JsonFormatter
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(secrets, timezone))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request at INFO, URL and query included: one line per reminder sent,
    # and a gateway that takes its key in the query string would put it in the log.
    for noisy in ("apscheduler", "uvicorn.access", "alembic", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
