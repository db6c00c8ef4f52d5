"""A webhook receiver double: takes signed JSON POSTs on any path and records them.

The signing secret comes from the environment variable WEBHOOK_RECEIVER_SECRET, read
when the process starts (pass it with `serve(..., env=...)`). The signature is checked
here independently of `notifiers.webhook` (HMAC-SHA256 of "<timestamp>." + raw body);
a request with a wrong or missing signature is recorded and answered 401.

Every request is recorded as {"path", "headers" (the X-Nhacviec-* and Content-Type
ones), "body" (the raw body decoded as UTF-8), "json", "signature_ok"}.

`POST /_double/script` replaces the scripted answer; keys:
- `status`: the HTTP status to answer instead of 200 {"id": "wh-<n>"};
- `times`: how many requests get it, then answers are normal again (default: all);
- `retry_after`: a `Retry-After` header value to add to the scripted answers (alone,
  without `status`: answers 429);
- `delay`: seconds to wait before answering (to make a client time out).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.doubles.control import Recorder

SECRET_ENV = "WEBHOOK_RECEIVER_SECRET"
RECORDED_HEADERS = ("content-type", "x-nhacviec-key", "x-nhacviec-timestamp", "x-nhacviec-signature")


class State(Recorder):
    def __init__(self) -> None:
        super().__init__()
        self.secret = os.environ.get(SECRET_ENV, "")


state = State()


def signature_ok(timestamp: str, body: bytes, signature: str) -> bool:
    if not state.secret or not timestamp or not signature:
        return False
    expected = hmac.new(state.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"sha256={expected}", signature)


async def receive(request: Request) -> Response:
    body = await request.body()
    headers = {name: request.headers[name] for name in RECORDED_HEADERS if name in request.headers}
    ok = signature_ok(headers.get("x-nhacviec-timestamp", ""), body, headers.get("x-nhacviec-signature", ""))
    record: dict[str, Any] = {
        "path": request.url.path,
        "headers": headers,
        "body": body.decode("utf-8", errors="replace"),
        "json": _json(body),
        "signature_ok": ok,
    }
    state.requests.append(record)
    scripted = state.next_answer()
    if scripted.get("delay"):
        await asyncio.sleep(float(scripted["delay"]))
    if "status" in scripted or "retry_after" in scripted:
        extra = {"Retry-After": str(scripted["retry_after"])} if "retry_after" in scripted else {}
        status = int(scripted.get("status", 429))
        return JSONResponse({"error": "scripted"}, status_code=status, headers=extra)
    if not ok:
        return JSONResponse({"error": "invalid signature"}, status_code=401)
    return JSONResponse({"id": f"wh-{len(state.requests)}"})


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


app = Starlette(
    routes=[
        *state.routes(),
        Route("/{path:path}", receive, methods=["POST"]),
    ]
)
