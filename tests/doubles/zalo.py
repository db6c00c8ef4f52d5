"""A Zalo double: ZNS `POST /message/template` and OAuth v4 `POST /v4/oa/access_token`.

Follows /work/shared/CHANNELS.md: HTTP 200 with `error != 0` for business errors,
numbers as strings (`expires_in`, quota values, `sent_time`), access tokens that
expire, single-use refresh tokens (a used one is rejected), the `secret_key` header.

`POST /_double/script` keys (each call merges into the current behaviour):
- `now`: ISO instant of the double's clock (default: real time); `tz_offset_hours` (7);
- `app_id`, `secret`: what the token endpoint accepts ("1234567890", "s3cr3t");
- `tokens`: {"access_token", "refresh_token"} to seed as a valid pair;
- `expire_access`: true expires every access token issued so far;
- `expires_in`: seconds of access-token life to hand out (90000);
- `token_delay`: seconds the token endpoint waits before answering (to make races real);
- `daily_quota`: successful sends per local day before -144;
- `no_zalo`: phones (84…) answered with -118;
- `dev_phones`: phones allowed in development mode (others get -127);
- `require_proof`: check `appsecret_proof` (-1241 when wrong or missing);
- `next`: a queue of forced answers for the next ZNS sends: {"error": code} or {"status": 503};
- `delay`: seconds a ZNS send waits before it is handled and answered (a client that gives up
  earlier sees a timeout, and the message is sent all the same: Zalo does not de-duplicate
  on `tracking_id`);
- `success_data`: the `data` object of success answers instead of msg_id, sent_time,
  sending_mode and quota (e.g. {"msg_id": "m1"}: a reply without its quota).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

DEFAULTS: dict[str, Any] = {
    "app_id": "1234567890",
    "secret": "s3cr3t",
    "now": None,
    "tz_offset_hours": 7,
    "expires_in": 90000,
    "token_delay": 0,
    "daily_quota": 500,
    "no_zalo": [],
    "dev_phones": [],
    "require_proof": False,
    "next": [],
    "delay": 0,
    "success_data": None,
}


class State:
    def __init__(self) -> None:
        self.behaviour: dict[str, Any] = {
            k: (list(v) if isinstance(v, list) else v) for k, v in DEFAULTS.items()
        }
        self.requests: list[dict[str, Any]] = []
        self.access: dict[str, datetime] = {}  # valid access token -> expires at
        self.refresh: dict[str, str] = {}  # valid refresh token -> its access token
        self.used_codes: set[str] = set()
        self.sent: dict[str, int] = {}  # local date -> successful sends

    def now(self) -> datetime:
        if self.behaviour["now"]:
            return datetime.fromisoformat(self.behaviour["now"]).astimezone(UTC)
        return datetime.now(UTC)

    def local(self) -> datetime:
        return self.now().astimezone(timezone(timedelta(hours=self.behaviour["tz_offset_hours"])))

    def issue(self) -> dict[str, str]:
        access, refresh = f"at-{secrets.token_hex(8)}", f"rt-{secrets.token_hex(8)}"
        self.access[access] = self.now() + timedelta(seconds=self.behaviour["expires_in"])
        self.refresh[refresh] = access
        return {
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": str(self.behaviour["expires_in"]),
        }


state = State()


def _error(code: int, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message})


async def send_template(request: Request) -> JSONResponse:
    body = await request.json()
    headers = {k: request.headers[k] for k in ("access_token", "appsecret_proof") if k in request.headers}
    state.requests.append({"path": "/message/template", "headers": headers, "json": body, "at": time.time()})
    if state.behaviour["delay"]:
        await asyncio.sleep(float(state.behaviour["delay"]))
    if state.behaviour["next"]:
        forced = state.behaviour["next"].pop(0)
        if "status" in forced:
            return JSONResponse({"error": -100, "message": "internal"}, status_code=forced["status"])
        return _error(forced["error"], forced.get("message", "scripted error"))
    return _answer(body, headers)


def _answer(body: dict[str, Any], headers: dict[str, str]) -> JSONResponse:
    token = headers.get("access_token", "")
    if token not in state.access or state.access[token] <= state.now():
        return _error(-124, "Access token is invalid")
    if state.behaviour["require_proof"]:
        expected = hmac.new(state.behaviour["secret"].encode(), token.encode(), hashlib.sha256).hexdigest()
        if headers.get("appsecret_proof") != expected:
            return _error(-1241, "appsecret_proof is invalid")
    phone = str(body.get("phone", ""))
    if body.get("mode") == "development" and phone not in state.behaviour["dev_phones"]:
        return _error(-127, "User is not admin of app in development mode")
    if phone in state.behaviour["no_zalo"]:
        return _error(-118, "Zalo account not existed or is disabled")
    local = state.local()
    if local.hour >= 22 or local.hour < 6:
        return _error(-133, "Template not allowed to send at night (22h-6h)")
    day = local.date().isoformat()
    quota = int(state.behaviour["daily_quota"])
    if state.sent.get(day, 0) >= quota:
        return _error(-144, "OA has exceeded the daily quota")
    state.sent[day] = state.sent.get(day, 0) + 1
    data = {
        "msg_id": secrets.token_hex(16),
        "sent_time": str(int(state.now().timestamp() * 1000)),
        "sending_mode": "1",
        "quota": {"dailyQuota": str(quota), "remainingQuota": str(quota - state.sent[day])},
    }
    if state.behaviour["success_data"] is not None:
        data = state.behaviour["success_data"]
    return JSONResponse({"error": 0, "message": "Success", "data": data})


async def access_token(request: Request) -> JSONResponse:
    form = dict(await request.form())
    headers = {k: request.headers[k] for k in ("secret_key",) if k in request.headers}
    state.requests.append(
        {"path": "/v4/oa/access_token", "headers": headers, "form": form, "at": time.time()}
    )
    if state.behaviour["token_delay"]:
        await asyncio.sleep(float(state.behaviour["token_delay"]))
    if (
        headers.get("secret_key") != state.behaviour["secret"]
        or form.get("app_id") != state.behaviour["app_id"]
    ):
        return _oauth_error(-14002, "Invalid app_id or secret_key")
    grant = form.get("grant_type")
    if grant == "refresh_token":
        old = str(form.get("refresh_token", ""))
        if old not in state.refresh:
            return _oauth_error(-14014, "Invalid refresh token")
        state.access.pop(state.refresh.pop(old), None)  # the old pair dies with the rotation
        return JSONResponse(state.issue())
    if grant == "authorization_code":
        code = str(form.get("code", ""))
        if not code or code in state.used_codes or not form.get("code_verifier"):
            return _oauth_error(-14019, "Invalid authorization code")
        state.used_codes.add(code)
        return JSONResponse(state.issue())
    return _oauth_error(-14003, "Invalid grant_type")


def _oauth_error(code: int, description: str) -> JSONResponse:
    return JSONResponse({"error": code, "error_name": "invalid_request", "error_description": description})


async def get_requests(request: Request) -> JSONResponse:
    return JSONResponse(state.requests)


async def reset(request: Request) -> JSONResponse:
    global state
    state = State()
    return JSONResponse({"ok": True})


async def script(request: Request) -> JSONResponse:
    payload = await request.json()
    tokens = payload.pop("tokens", None)
    expire = payload.pop("expire_access", False)
    state.behaviour.update(payload)
    if tokens:
        state.access[tokens["access_token"]] = state.now() + timedelta(seconds=state.behaviour["expires_in"])
        state.refresh[tokens["refresh_token"]] = tokens["access_token"]
    if expire:
        state.access = dict.fromkeys(state.access, state.now())
    return JSONResponse({"ok": True})


app = Starlette(
    routes=[
        Route("/message/template", send_template, methods=["POST"]),
        Route("/v4/oa/access_token", access_token, methods=["POST"]),
        Route("/_double/requests", get_requests, methods=["GET"]),
        Route("/_double/reset", reset, methods=["POST"]),
        Route("/_double/script", script, methods=["POST"]),
    ]
)
