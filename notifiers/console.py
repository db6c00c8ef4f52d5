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

    def __init__(self, stream: TextIO | None = None, shows: tuple[str, ...] | None = None) -> None:
        """`shows`: the template outputs of the channel printed (its `Notifier.renders`). A channel
        without an e-mail body (Zalo, SMS) is rendered, and printed, as its short text with the
        short link, as that channel would send it."""
        if shows is not None:
            self.renders = shows if "email.txt" in shows else ("short.txt",)  # type: ignore[misc]
        if stream is None:
            stream = sys.stdout
            # A C/POSIX locale can leave stdout ASCII-only; Vietnamese text must still print.
            if isinstance(stream, io.TextIOWrapper) and stream.encoding.lower().replace("-", "") != "utf8":
                stream.reconfigure(encoding="utf-8")
        self.stream = stream

    async def send(self, message: Message) -> Delivery:
        lines = [SEPARATOR, f"Kênh: {message.channel} → {message.recipient_name} <{message.recipient}>"]
        if message.subject:
            lines.append(f"Tiêu đề: {message.subject}")
        # Short channels (Zalo, SMS) carry only the short text, with the short link.
        lines += ["", (message.text or message.short or "").rstrip("\n")]
        if not message.text and message.short_ascii and message.short_ascii != message.short:
            lines += ["", "Không dấu (SMS): " + message.short_ascii.rstrip("\n")]
        if message.attachments:
            lines += ["", "Tệp đính kèm: " + ", ".join(a.filename for a in message.attachments)]
        self.stream.write("\n".join(lines) + "\n")
        self.stream.flush()
        return Delivery(provider_id=f"console-{message.key}")
