"""A double of SpeedSMS's send API, as /work/shared/CHANNELS.md §3 documents it.

API: `POST /index.php/sms/send`, HTTP Basic auth (username = SPEEDSMS_DOUBLE_TOKEN, default
"speedsms-token"; password "x"; otherwise HTTP 401), JSON body
`{"to": ["0912…"], "content": "…", "sms_type": 2, "sender": ""}` (a wrong type: code 101).
Success: `{"status": "success", "code": "00", "data": {"tranId": …, "totalSMS": …,
"totalPrice": …, "invalidPhone": […]}}`; error: `{"status": "error", "code": "…",
"message": "…", "invalidPhone": […]}` (105 when no number is valid). At most 60 requests per
60 s (a fixed window from the first request): then HTTP 429 with `X-Rate-Limit-Reset`, the
seconds until the window ends.

`POST /_double/script` keys (merged into the current behaviour):
- `fail_next` (int) + `status` (int, default 503) + `retry_after` (str, optional header);
- `codes`: {phone: code} answered as an error for that phone;
- `rate_limit` (int, default 60) and `window` (seconds, default 60);
- `reset_epoch` (bool): send X-Rate-Limit-Reset as the epoch time of the reset instead;
- `max_parts` (int): a content of more SMS parts is refused with 113 "content too long" (the
  limit an account or sms_type may have).
"""

from __future__ import annotations

import base64
import math
import os
import re
import time
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tests.doubles.control import control_routes

TOKEN = os.environ.get("SPEEDSMS_DOUBLE_TOKEN", "speedsms-token")

received: list[dict[str, Any]] = []
behaviour: dict[str, Any] = {}
window: dict[str, float] = {}  # "start", "count"
transactions = [0]


async def send(request: Request) -> Response:
    try:
        body: Any = await request.json()
    except ValueError:
        body = None
    username, password = _basic_auth(request.headers.get("authorization", ""))
    response = answer(body, username, password)
    received.append(
        {
            "method": request.method,
            "path": request.url.path,
            "body": body,
            "headers": dict(request.headers),
            "auth": {"username": username, "password": password},
            "status": response.status_code,
            "response": response.body.decode(),
        }
    )
    return response


def answer(body: Any, username: str | None, password: str | None) -> Response:
    if limited := _rate_limited():
        return limited
    if behaviour.get("fail_next", 0) > 0:
        behaviour["fail_next"] -= 1
        headers = {"Retry-After": str(behaviour["retry_after"])} if "retry_after" in behaviour else None
        return PlainTextResponse(
            "Service Unavailable", status_code=behaviour.get("status", 503), headers=headers
        )
    if username != TOKEN or password != "x":
        return JSONResponse({"status": "error", "code": "401", "message": "Unauthorized"}, status_code=401)
    if not _valid(body):
        return _error("101", "Invalid parameters")
    invalid = [phone for phone in body["to"] if not re.fullmatch(r"0\d{9}", phone)]
    valid = [phone for phone in body["to"] if phone not in invalid]
    if not valid:
        return _error("105", "Phone invalid", invalid)
    for phone in valid:
        if phone in behaviour.get("codes", {}):
            return _error(str(behaviour["codes"][phone]), f"Error for {phone}", invalid)
    if "max_parts" in behaviour and _parts(body["content"]) > int(behaviour["max_parts"]):
        return _error("113", "Content too long", invalid)
    transactions[0] += 1
    total = _parts(body["content"]) * len(valid)
    data = {
        "tranId": 880000 + transactions[0],
        "totalSMS": total,
        "totalPrice": 350 * total,
        "invalidPhone": invalid,
    }
    return JSONResponse({"status": "success", "code": "00", "data": data})


def _rate_limited() -> Response | None:
    now = time.time()
    span = float(behaviour.get("window", 60))
    if not window or now - window["start"] >= span:
        window.update(start=now, count=0)
    window["count"] += 1
    if window["count"] <= int(behaviour.get("rate_limit", 60)):
        return None
    reset_at = window["start"] + span
    value = str(math.ceil(reset_at)) if behaviour.get("reset_epoch") else str(math.ceil(reset_at - now))
    body = {"status": "error", "code": "429", "message": "Too many requests"}
    return JSONResponse(body, status_code=429, headers={"X-Rate-Limit-Reset": value})


def _valid(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and isinstance(body.get("to"), list)
        and all(isinstance(phone, str) for phone in body["to"])
        and isinstance(body.get("content"), str)
        and bool(body["content"])
        and type(body.get("sms_type")) is int
        and isinstance(body.get("sender", ""), str)
    )


def _parts(content: str) -> int:
    """A rough independent count: ASCII 160/153, anything else 70/67."""
    single, per_part = (160, 153) if content.isascii() else (70, 67)
    return 1 if len(content) <= single else math.ceil(len(content) / per_part)


def _error(code: str, message: str, invalid: list[str] | None = None) -> Response:
    return JSONResponse({"status": "error", "code": code, "message": message, "invalidPhone": invalid or []})


def _basic_auth(header: str) -> tuple[str | None, str | None]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        username, _, password = base64.b64decode(encoded).decode().partition(":")
    except ValueError:
        return None, None
    return username, password


def _reset() -> None:
    received.clear()
    behaviour.clear()
    window.clear()


app = Starlette(
    routes=[
        Route("/index.php/sms/send", send, methods=["POST"]),
        *control_routes(lambda: received, _reset, behaviour.update),
    ]
)
