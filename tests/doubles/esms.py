"""A double of eSMS.vn's SendMultipleMessage_V4 API, as /work/shared/CHANNELS.md §3 documents it.

API (JSON body, every value a string; a non-string value is answered HTTP 400):
- `POST /MainService.svc/json/SendMultipleMessage_V4_post_json/`
- `GET  /MainService.svc/json/SendMultipleMessage_V4_get?ApiKey=…&…` (the same fields as a query)

Answers `{"CodeResult": "100", "CountRegenerate": 0, "SMSID": "…"}`, or an error code: 101
for keys other than ESMS_DOUBLE_API_KEY / ESMS_DOUBLE_SECRET_KEY (defaults "esms-api-key",
"esms-secret-key"), 108 for a phone that is not 0 + 9 digits, 124 "Request exist" for a
RequestId accepted in the last 24 h.

`POST /_double/script` keys (merged into the current behaviour):
- `fail_next` (int) + `status` (int, default 503) + `retry_after` (str, optional header):
  the next N API requests get that HTTP status;
- `codes`: {phone: CodeResult} answered for that phone;
- `delay` (seconds): wait before answering (client timeouts).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
import uuid
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

API_KEY = os.environ.get("ESMS_DOUBLE_API_KEY", "esms-api-key")
SECRET_KEY = os.environ.get("ESMS_DOUBLE_SECRET_KEY", "esms-secret-key")
DEDUP_SECONDS = 24 * 3600
MESSAGES = {"101": "Authorize Failed", "108": "Phone not valid", "124": "Request exist"}

received: list[dict[str, Any]] = []
behaviour: dict[str, Any] = {}
accepted_ids: dict[str, float] = {}  # RequestId → when accepted


async def send(request: Request) -> Response:
    at = time.time()  # arrival, before the body is read and any scripted delay
    if request.method == "GET":
        fields: Any = dict(request.query_params)
    else:
        try:
            fields = await request.json()
        except ValueError:
            fields = None
    response = await answer(fields)
    received.append(
        {
            "method": request.method,
            "path": request.url.path,
            "query": dict(request.query_params),
            "body": fields,
            "headers": dict(request.headers),
            "status": response.status_code,
            "response": response.body.decode(),
            "at": at,
        }
    )
    return response


async def answer(fields: Any) -> Response:
    if behaviour.get("delay"):
        await asyncio.sleep(float(behaviour["delay"]))
    if behaviour.get("fail_next", 0) > 0:
        behaviour["fail_next"] -= 1
        headers = {"Retry-After": str(behaviour["retry_after"])} if "retry_after" in behaviour else None
        return PlainTextResponse(
            "Service Unavailable", status_code=behaviour.get("status", 503), headers=headers
        )
    if not isinstance(fields, dict):
        return JSONResponse({"ErrorMessage": "body must be a JSON object"}, status_code=400)
    not_strings = sorted(name for name, value in fields.items() if not isinstance(value, str))
    if not_strings:
        return JSONResponse(
            {"ErrorMessage": f"values must be strings: {', '.join(not_strings)}"}, status_code=400
        )
    phone = fields.get("Phone", "")
    code = "100"
    if fields.get("ApiKey") != API_KEY or fields.get("SecretKey") != SECRET_KEY:
        code = "101"
    elif not re.fullmatch(r"0\d{9}", phone):
        code = "108"
    elif phone in behaviour.get("codes", {}):
        code = str(behaviour["codes"][phone])
    elif _duplicate(fields.get("RequestId", "")):
        code = "124"
    if code != "100":
        return JSONResponse({"CodeResult": code, "ErrorMessage": MESSAGES.get(code, f"Error {code}")})
    if fields.get("RequestId"):
        accepted_ids[fields["RequestId"]] = time.time()
    return JSONResponse({"CodeResult": "100", "CountRegenerate": 0, "SMSID": str(uuid.uuid4())})


def _duplicate(request_id: str) -> bool:
    return bool(request_id) and time.time() - accepted_ids.get(request_id, -DEDUP_SECONDS) < DEDUP_SECONDS


async def requests(request: Request) -> Response:
    return JSONResponse(received)


async def reset(request: Request) -> Response:
    received.clear()
    behaviour.clear()
    accepted_ids.clear()
    return JSONResponse({"ok": True})


async def script(request: Request) -> Response:
    behaviour.update(await request.json())
    return JSONResponse(behaviour)


app = Starlette(
    routes=[
        Route("/MainService.svc/json/SendMultipleMessage_V4_post_json/", send, methods=["POST"]),
        Route("/MainService.svc/json/SendMultipleMessage_V4_post_json", send, methods=["POST"]),
        Route("/MainService.svc/json/SendMultipleMessage_V4_get", send, methods=["GET"]),
        Route("/_double/requests", requests, methods=["GET"]),
        Route("/_double/reset", reset, methods=["POST"]),
        Route("/_double/script", script, methods=["POST"]),
    ]
)
