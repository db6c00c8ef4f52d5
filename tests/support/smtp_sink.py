"""A real SMTP server (aiosmtpd) in the test process that records what it receives.

`reply` decides the answer to each DATA command: "250 OK" by default; tests set it
to a callable returning e.g. "451 4.3.0 Try again later" to play a failing server.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    at: datetime
    to: list[str]
    message: EmailMessage

    @property
    def key(self) -> str:
        return str(self.message["X-Nhacviec-Key"])

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def text(self) -> str:
        return self.message.get_body(("plain",)).get_content()


@dataclass
class SmtpSink:
    delay: float = 0.0  # seconds to wait before answering DATA, like a provider's round trip
    reply: Callable[[], str] = lambda: "250 OK"
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server, session, envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        answer = self.reply()
        if answer.startswith("250"):
            parsed = message_from_bytes(envelope.original_content, policy=policy.default)
            with self._lock:
                self.received.append(Received(datetime.now(UTC), list(envelope.rcpt_tos), parsed))
        return answer

    def keys(self) -> list[str]:
        with self._lock:
            return [r.key for r in self.received]

    def start(self) -> Controller:
        self.port = free_port()
        controller = Controller(self, hostname="127.0.0.1", port=self.port)
        controller.start()
        return controller
