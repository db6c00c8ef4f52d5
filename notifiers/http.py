"""What the HTTP notifiers (Zalo, SMS, webhook) share: a client per event loop, Retry-After,
and what a failed request says about the message (never reached the server, or may have)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from email.utils import parsedate_to_datetime
from typing import Any

import httpx


class LoopClient:
    """One `httpx.AsyncClient`, made again when the running event loop changes: a client's
    connections belong to the loop that opened them (the daemon has one loop; tests and
    `nhacviec send-test` run several over one notifier)."""

    def __init__(self, **options: Any) -> None:
        self.options = {"headers": {"User-Agent": "nhacviec"}, **options}
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def get(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._client is None or loop is not self._loop:
            self._client, self._loop = httpx.AsyncClient(**self.options), loop
        return self._client

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(RuntimeError):  # opened in a loop that is closed already
                await client.aclose()


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds or as an HTTP date; None when absent or unreadable."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    with contextlib.suppress(ValueError):
        return max(0.0, float(value))
    with contextlib.suppress(TypeError, ValueError, IndexError):
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    return None


def connection_failure(exc: BaseException) -> str | None:
    """Why nothing reached the server, when that is a configuration problem: its name does not
    resolve, or it refuses the connection (a wrong host or port). None for other failures."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, socket.gaierror):
            return "không phân giải được tên máy chủ (sai địa chỉ, hoặc máy không tra được DNS)"
        if isinstance(cause, ConnectionRefusedError):
            return "máy chủ từ chối kết nối (sai địa chỉ hoặc cổng, hoặc dịch vụ không chạy)"
        cause = cause.__cause__ or cause.__context__
    return None


def maybe_delivered(exc: httpx.HTTPError) -> bool:
    """The request was sent but no answer came (a read timeout, a dropped connection): the
    provider may have accepted the message. A connect or pool timeout sent nothing."""
    return isinstance(
        exc, httpx.ReadTimeout | httpx.WriteTimeout | httpx.RemoteProtocolError | httpx.ReadError
    )
