"""A double of eSMS.vn's SendMultipleMessage_V4 API, as /work/shared/CHANNELS.md §3 documents it.

API (JSON body, every value a string; a non-string value is answered HTTP 400):
- `POST /MainService.svc/json/SendMultipleMessage_V4_post_json/`
- `GET  /MainService.svc/json/SendMultipleMessage_V4_get?ApiKey=…&…` (the same fields as a query)

Answers `{"CodeResult": "100", "CountRegenerate": 0, "SMSID": "…"}`, or an error code: 101
for keys other than ESMS_DOUBLE_API_KEY / ESMS_DOUBLE_SECRET_KEY (defaults "esms-api-key",
"esms-secret-key"), 108 for a phone that is not 0 + 9 digits, 124 "Request exist" with the
first request's `SendStatus` ("5": sent) and `SMSID` for a RequestId accepted in the last
24 h. Whether eSMS also blocks the RequestId of a refused request is not documented: with
`block_refused` it does (124, without a SendStatus unless `refused_send_status` is set).

`POST /_double/script` keys (merged into the current behaviour):
- `fail_next` (int) + `status` (int, default 503) + `retry_after` (str, optional header):
  the next N API requests get that HTTP status;
- `codes`: {phone: CodeResult} answered for that phone;
- `request_codes`: {RequestId: CodeResult} answered once to that RequestId;
- `delay` (seconds): wait before answering (client timeouts); the request is still answered
  and, if accepted, its RequestId remembered;
- `omit_send_status` (bool): 124 answers carry no SendStatus;
- `block_refused` (bool), `refused_send_status` (str): see above;
- `echo` (int HTTP status) + `echo_format` ("json", default, or "text"): answer every request
  with that status and a body quoting the request, as a careless gateway does (JSON with `/`
  escaped as a backslash and a slash, the way PHP's json_encode writes it).
"""

from __future__ import annotations

import asyncio
import json
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
accepted_ids: dict[str, tuple[float, str]] = {}  # RequestId → (when accepted, its SMSID)
refused_ids: dict[str, float] = {}  # RequestId → when refused


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
    if behaviour.get("echo"):
        return _echo(fields, int(behaviour["echo"]))
    if not isinstance(fields, dict):
        return JSONResponse({"ErrorMessage": "body must be a JSON object"}, status_code=400)
    not_strings = sorted(name for name, value in fields.items() if not isinstance(value, str))
    if not_strings:
        return JSONResponse(
            {"ErrorMessage": f"values must be strings: {', '.join(not_strings)}"}, status_code=400
        )
    phone = fields.get("Phone", "")
    if repeat := _repeat(fields.get("RequestId", "")):
        return repeat
    code = "100"
    if fields.get("ApiKey") != API_KEY or fields.get("SecretKey") != SECRET_KEY:
        code = "101"
    elif not re.fullmatch(r"0\d{9}", phone):
        code = "108"
    elif phone in behaviour.get("codes", {}):
        code = str(behaviour["codes"][phone])
    elif fields.get("RequestId") in behaviour.get("request_codes", {}):
        code = str(behaviour["request_codes"].pop(fields["RequestId"]))
    if code != "100":
        if fields.get("RequestId"):
            refused_ids[fields["RequestId"]] = time.time()
        return JSONResponse({"CodeResult": code, "ErrorMessage": MESSAGES.get(code, f"Error {code}")})
    sms_id = str(uuid.uuid4())
    if fields.get("RequestId"):
        accepted_ids[fields["RequestId"]] = (time.time(), sms_id)
    return JSONResponse({"CodeResult": "100", "CountRegenerate": 0, "SMSID": sms_id})


def _repeat(request_id: str) -> Response | None:
    """The 124 answer to a RequestId seen in the last 24 h, or None."""
    if not request_id:
        return None
    now = time.time()
    at, sms_id = accepted_ids.get(request_id, (-DEDUP_SECONDS, ""))
    answer: dict[str, Any] = {"CodeResult": "124", "ErrorMessage": MESSAGES["124"]}
    if now - at < DEDUP_SECONDS:
        answer.update(SMSID=sms_id)
        if not behaviour.get("omit_send_status"):
            answer.update(SendStatus="5")
        return JSONResponse(answer)
    if behaviour.get("block_refused") and now - refused_ids.get(request_id, -DEDUP_SECONDS) < DEDUP_SECONDS:
        if behaviour.get("refused_send_status"):
            answer.update(SendStatus=str(behaviour["refused_send_status"]))
        return JSONResponse(answer)
    return None


def _echo(fields: Any, status: int) -> Response:
    if behaviour.get("echo_format") == "text":
        return PlainTextResponse(f"<html><body>Bad request: {fields}</body></html>", status_code=status)
    quoted = json.dumps({"ErrorMessage": f"Invalid request {json.dumps(fields)}", "Request": fields})
    return Response(quoted.replace("/", "\\/"), status_code=status, media_type="application/json")


async def requests(request: Request) -> Response:
    return JSONResponse(received)


async def reset(request: Request) -> Response:
    received.clear()
    behaviour.clear()
    accepted_ids.clear()
    refused_ids.clear()
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
