"""An e-office system double: takes signed events (notifiers/eoffice.py) and records them.

It checks each request with `notifiers.webhook.verify`, as the README tells receivers to, with
the secret of the environment variable EOFFICE_RECEIVER_SECRET. The tests move the sender's clock
with time-machine while this process keeps the real one, so the timestamp's tolerance is
EOFFICE_RECEIVER_TOLERANCE seconds (default 300, as `verify`'s). Like a real receiver it drops a
duplicate: an event id it has already accepted is answered 200 and not recorded as new.

Every request is recorded as {"path", "key" (X-Nhacviec-Key), "json", "signature_ok",
"duplicate"}; `accepted` lists the ids accepted, in order. `POST /_double/script` keys:
`status` (answer this instead of 200), `times` (for this many requests), `retry_after`.
"""

from __future__ import annotations

import json
import os
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from notifiers.webhook import verify
from tests.doubles.control import Recorder


class State(Recorder):
    def __init__(self) -> None:
        super().__init__()
        self.secret = os.environ.get("EOFFICE_RECEIVER_SECRET", "")
        self.tolerance = float(os.environ.get("EOFFICE_RECEIVER_TOLERANCE", "300"))
        self.accepted: list[str] = []

    def reset(self) -> None:
        super().reset()
        self.accepted.clear()


state = State()


async def receive(request: Request) -> Response:
    body = await request.body()
    key = request.headers.get("x-nhacviec-key", "")
    ok = verify(
        state.secret,
        request.headers.get("x-nhacviec-timestamp", ""),
        body,
        request.headers.get("x-nhacviec-signature", ""),
        tolerance=state.tolerance,
    )
    record: dict[str, Any] = {
        "path": request.url.path,
        "key": key,
        "content_type": request.headers.get("content-type", ""),
        "json": json.loads(body) if body else None,
        "signature_ok": ok,
        "duplicate": key in state.accepted,
    }
    state.requests.append(record)
    scripted = state.next_answer()
    if "status" in scripted:
        extra = {"Retry-After": str(scripted["retry_after"])} if "retry_after" in scripted else {}
        return JSONResponse({"error": "scripted"}, status_code=int(scripted["status"]), headers=extra)
    if not ok:
        return JSONResponse({"error": "invalid signature"}, status_code=401)
    if key not in state.accepted:
        state.accepted.append(key)
    return JSONResponse({"ok": True})


app = Starlette(
    routes=[
        *state.routes(),
        Route("/{path:path}", receive, methods=["POST"]),
    ]
)
