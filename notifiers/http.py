"""What the HTTP notifiers (Zalo, SMS, webhook) share: a client per event loop, Retry-After."""

from __future__ import annotations

import asyncio
import contextlib
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
