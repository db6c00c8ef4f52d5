"""What every API request goes through: a bound on its body, `Cache-Control: no-store` on its
answer, and a rate per token."""

import threading
import time

from starlette import types as asgi
from starlette.requests import Request

from scheduler.api.problems import problem_response

RATE_PER_MINUTE = 600
MAX_BODY = 16 * 1024  # an acknowledgement is a few hundred bytes
NO_STORE = (b"cache-control", b"no-store")  # answers depend on the token: no cache keeps them


class RateLimit:
    """At most `per_minute` requests per token in each minute (fixed windows, in this process)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.lock = threading.Lock()
        self.windows: dict[int, tuple[int, int]] = {}  # token id → (minute, requests)

    def wait(self, token_id: int) -> int:
        """0 when this request may go; else the seconds to wait."""
        now = time.monotonic()
        minute = int(now // 60)
        with self.lock:
            start, count = self.windows.get(token_id, (minute, 0))
            if start != minute:
                start, count = minute, 0
            if count >= self.per_minute:
                return max(1, 60 - int(now % 60))
            self.windows[token_id] = (start, count + 1)
        return 0


class BodyLimit:
    """Reads at most MAX_BODY bytes of a request's body (413 beyond, declared or sent), and marks
    every answer `Cache-Control: no-store`."""

    def __init__(self, app: asgi.ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: asgi.Scope, receive: asgi.Receive, send: asgi.Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_no_store(message: asgi.Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), NO_STORE]}
            await send(message)

        declared = dict(scope.get("headers", ())).get(b"content-length", b"0")
        too_large = not declared.isdigit() or int(declared) > MAX_BODY
        chunks: list[bytes] = []
        size = 0
        more = not too_large and scope.get("method") in ("POST", "PUT", "PATCH")
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client left
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > MAX_BODY:
                too_large = True
                break
        if too_large:
            answer = problem_response(
                Request(scope),
                413,
                f"Nội dung yêu cầu dài quá {MAX_BODY // 1024} KB; một xác nhận chỉ cần vài trăm byte.",
            )
            await answer(scope, receive, send_no_store)
            return
        body, replayed = b"".join(chunks), False

        async def replay() -> asgi.Message:
            nonlocal replayed
            if not replayed and scope.get("method") in ("POST", "PUT", "PATCH"):
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send_no_store)
