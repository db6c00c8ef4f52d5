"""Print reminders instead of sending them (NHACVIEC_DELIVERY=console, development, demos)."""

from __future__ import annotations

import io
import sys
from typing import ClassVar, TextIO

from notifiers.base import Delivery, Message, Notifier

SEPARATOR = "─" * 72


class ConsoleNotifier(Notifier):
    channel: ClassVar[str] = "console"
    concurrency: ClassVar[int] = 1  # one message at a time, so printed messages never interleave

    def __init__(self, stream: TextIO | None = None) -> None:
        if stream is None:
            stream = sys.stdout
            # A C/POSIX locale can leave stdout ASCII-only; Vietnamese text must still print.
            if isinstance(stream, io.TextIOWrapper) and stream.encoding.lower().replace("-", "") != "utf8":
                stream.reconfigure(encoding="utf-8")
        self.stream = stream

    async def send(self, message: Message) -> Delivery:
        lines = [
            SEPARATOR,
            f"Kênh: {message.channel} → {message.recipient_name} <{message.recipient}>",
            f"Tiêu đề: {message.subject}",
            "",
            # Short channels (Zalo, SMS) carry only the short text.
            (message.text or message.short or "").rstrip("\n"),
        ]
        if message.attachments:
            lines += ["", "Tệp đính kèm: " + ", ".join(a.filename for a in message.attachments)]
        self.stream.write("\n".join(lines) + "\n")
        self.stream.flush()
        return Delivery(provider_id=f"console-{message.key}")
