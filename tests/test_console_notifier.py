"""ConsoleNotifier: prints each reminder readably, in UTF-8."""

from __future__ import annotations

import asyncio
import io
import sys
from dataclasses import replace

import pytest

from notifiers.base import Attachment, Message
from notifiers.console import SEPARATOR, ConsoleNotifier

MESSAGE = Message(
    key="3f1c0d9a5b7e4c2a8d6f0e1b2c3d4e5f",
    channel="email",
    recipient="huong.nv@ubnd.example.gov.vn",
    recipient_name="Nguyễn Văn Hưởng",
    subject="Nhắc hạn: Báo cáo kết quả thực hiện 01 năm — còn 7 ngày",
    text="Kính gửi anh Nguyễn Văn Hưởng,\nHạn nộp báo cáo là ngày 15/12/2025.\n",
    html="<p>không in phần HTML</p>",
    attachments=(
        Attachment("han-nop.ics", "text/calendar; method=PUBLISH", b"BEGIN:VCALENDAR"),
        Attachment("mau-bao-cao.docx", "application/octet-stream", b"PK"),
    ),
)


def test_prints_the_message():
    out = io.StringIO()
    delivery = asyncio.run(ConsoleNotifier(out).send(MESSAGE))
    assert delivery.provider_id == f"console-{MESSAGE.key}"
    assert out.getvalue().splitlines() == [
        SEPARATOR,
        "Kênh: email → Nguyễn Văn Hưởng <huong.nv@ubnd.example.gov.vn>",
        "Tiêu đề: Nhắc hạn: Báo cáo kết quả thực hiện 01 năm — còn 7 ngày",
        "",
        "Kính gửi anh Nguyễn Văn Hưởng,",
        "Hạn nộp báo cáo là ngày 15/12/2025.",
        "",
        "Tệp đính kèm: han-nop.ics, mau-bao-cao.docx",
    ]


def test_without_attachments_and_one_after_another():
    out = io.StringIO()
    notifier = ConsoleNotifier(out)
    short = Message(
        key="k1",
        channel="sms",
        recipient="+84912345678",
        recipient_name="Chị Lan",
        subject="",
        text="Còn 3 ngày",
    )
    asyncio.run(notifier.send(short))
    asyncio.run(notifier.send(short))
    lines = out.getvalue().splitlines()
    assert lines.count(SEPARATOR) == 2
    assert not any(line.startswith("Tệp đính kèm") for line in lines)
    assert lines[1] == "Kênh: sms → Chị Lan <+84912345678>"


class Flushes(io.StringIO):
    flushed = 0

    def flush(self) -> None:
        self.flushed += 1
        super().flush()


def test_flushes_after_each_message():
    out = Flushes()
    asyncio.run(ConsoleNotifier(out).send(MESSAGE))
    assert out.flushed >= 1


def test_writes_utf8_bytes():
    raw = io.BytesIO()
    out = io.TextIOWrapper(raw, encoding="utf-8")
    asyncio.run(ConsoleNotifier(out).send(MESSAGE))
    assert "Tiêu đề: Nhắc hạn" in raw.getvalue().decode("utf-8")


def test_default_stdout_is_made_utf8(monkeypatch: pytest.MonkeyPatch):
    """Under a C/POSIX locale stdout may be ASCII; Vietnamese must still print."""
    raw = io.BytesIO()
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(raw, encoding="ascii"))
    asyncio.run(ConsoleNotifier().send(MESSAGE))
    sys.stdout.flush()
    assert "Kênh: email → Nguyễn Văn Hưởng" in raw.getvalue().decode("utf-8")


def test_default_is_the_current_stdout(capsys: pytest.CaptureFixture[str]):
    asyncio.run(ConsoleNotifier().send(MESSAGE))
    assert "Tiêu đề: Nhắc hạn: Báo cáo kết quả thực hiện 01 năm — còn 7 ngày" in capsys.readouterr().out


def test_channel_and_concurrency():
    assert ConsoleNotifier.channel == "console"
    assert ConsoleNotifier.concurrency == 1


def test_a_short_channel_prints_its_short_text():
    out = io.StringIO()
    sms = replace(MESSAGE, channel="sms", text="", html=None, attachments=(), short="Nhắc hạn báo cáo 15/12")
    asyncio.run(ConsoleNotifier(out).send(sms))
    assert out.getvalue().splitlines()[-1] == "Nhắc hạn báo cáo 15/12"
