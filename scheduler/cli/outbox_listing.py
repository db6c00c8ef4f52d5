"""`nhacviec outbox`: the order of the listing and its three forms (a table for a person, CSV and
JSON for a spreadsheet or a script)."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import IO, Any

from rich import box
from rich.table import Table
from rich.text import Text

from scheduler.outbox.store import Status

STATUS_WORDS = {
    Status.PENDING: "chờ gửi",
    Status.CLAIMED: "đang gửi",
    Status.SENT: "đã gửi",
    Status.DEAD: "không gửi được",
    Status.CANCELLED: "đã hủy",
    Status.SKIPPED: "bỏ qua",
}
STATUS_STYLES = {Status.DEAD: "red", Status.SENT: "green", Status.CANCELLED: "dim", Status.SKIPPED: "dim"}
ERROR_STYLES = {Status.DEAD: "red", Status.CANCELLED: "dim", Status.SKIPPED: "dim"}
FORMATS = ("table", "csv", "json")
FIELDS = (
    "id", "send_at", "status", "status_text", "kind", "channel", "recipient", "occurrence",
    "agency", "plan", "attempts", "next_attempt_at", "sent_at", "last_error",
)  # fmt: skip


def _local(instant: datetime | None, tz: tzinfo) -> datetime | None:
    return None if instant is None else instant.astimezone(tz)


def _when(instant: datetime | None, tz: tzinfo) -> str:
    local = _local(instant, tz)
    return "" if local is None else local.strftime("%d/%m/%Y %H:%M")


def records(rows: Sequence[Any], tz: tzinfo) -> list[dict[str, Any]]:
    """One plain record per reminder; instants in local time with their offset (ISO 8601)."""

    def iso(instant: datetime | None) -> str | None:
        local = _local(instant, tz)
        return None if local is None else local.isoformat(timespec="seconds")

    return [
        {
            "id": row.id,
            "send_at": iso(row.send_at),
            "status": row.status,
            "status_text": STATUS_WORDS.get(row.status, row.status),
            "kind": row.kind,
            "channel": row.channel,
            "recipient": row.recipient,
            "occurrence": row.occurrence_key,
            "agency": getattr(row, "agency_name", None),  # the names of the time, when stored
            "plan": getattr(row, "plan_name", None),
            "attempts": row.attempts,
            "next_attempt_at": iso(row.next_attempt_at),
            "sent_at": iso(row.sent_at),
            "last_error": row.last_error,
        }
        for row in rows
    ]


def write_csv(rows: Sequence[Any], tz: tzinfo, stream: IO[str]) -> None:
    writer = csv.DictWriter(stream, FIELDS)
    writer.writeheader()
    writer.writerows(records(rows, tz))


def write_json(rows: Sequence[Any], tz: tzinfo, stream: IO[str]) -> None:
    json.dump(records(rows, tz), stream, ensure_ascii=False, indent=2)
    stream.write("\n")


def table(rows: Sequence[Any], tz: tzinfo, title: str) -> Table:
    """Three columns, so that a row reads on an 80-column terminal: the number, when and in
    which state, and what (occurrence; kind, channel and recipient; the last error or reason)."""
    view = Table(title=title, box=box.SIMPLE_HEAD, show_edge=False, show_lines=True, title_justify="left")
    view.add_column("Số", justify="right", no_wrap=True)
    view.add_column("Gửi lúc\nTrạng thái", no_wrap=True)
    view.add_column("Lần xuất hiện\nLoại · kênh · người nhận", overflow="fold")
    for row in rows:
        when = Text(_when(row.send_at, tz) + "\n")
        when.append(STATUS_WORDS.get(row.status, row.status), STATUS_STYLES.get(row.status, ""))
        agency = getattr(row, "agency_name", None)  # the name of the time, when stored
        what = Text(row.occurrence_key + (f" ({agency})" if agency else ""))
        what.append(f"\n{row.kind} · {row.channel} · {row.recipient}")
        if row.status == Status.PENDING and row.next_attempt_at is not None:
            what.append(f"\nlần gửi tới: {_when(row.next_attempt_at, tz)}")
        if row.last_error:
            label = "Lý do" if row.status in (Status.CANCELLED, Status.SKIPPED) else "Lỗi gần nhất"
            what.append(f"\n{label}: {row.last_error}", ERROR_STYLES.get(row.status, "yellow"))
        view.add_row(str(row.id), when, what)
    return view
