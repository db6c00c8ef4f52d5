"""What the .xlsx and the .csv write, the same way: the columns, each line's typed values, and
text that can never become a formula.

Formula injection (OWASP "CSV injection"): a cell whose text starts with = + - @ (or a tab or a
carriage return) is read by Excel as a formula: an agency's name or a report number typed by a
user could run `=HYPERLINK(…)` or worse on the consolidating officer's machine. In the CSV such
text is prefixed with an apostrophe, as OWASP recommends (Excel shows the text; the apostrophe
is visible in other programs). In the .xlsx the cell is written as a typed string with Excel's
"quote prefix" flag: a string cell is never evaluated, and the flag keeps it text when a user
edits it, without a visible apostrophe.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from scheduler.reports.tracking import Line

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 cannot hold (openpyxl refuses them): a hand-edited row may carry one.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

COLUMNS = (
    "STT",
    "Đơn vị",
    "Hạn báo cáo",
    "Trạng thái",
    "Thời điểm xác nhận",
    "Người xác nhận",
    "Số, ký hiệu văn bản",
    "Ngày văn bản",
    "Số lần đã nhắc",
)
DEADLINE_COLUMN = "Nội dung báo cáo"  # the year's table: which report, after "Đơn vị"


def columns(year: bool) -> tuple[str, ...]:
    return (*COLUMNS[:2], DEADLINE_COLUMN, *COLUMNS[2:]) if year else COLUMNS


def formula_like(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)


def clean(text: str | None) -> str:
    """Text without the control characters a spreadsheet cannot hold."""
    return CONTROL.sub("", text) if text else ""


def csv_text(text: str | None) -> str:
    """Text for a CSV cell: cleaned, and with an apostrophe in front if Excel would run it."""
    cleaned = clean(text)
    return f"'{cleaned}" if formula_like(cleaned) else cleaned


def values(number: int, line: Line, year: bool) -> list[str | int | date | datetime | None]:
    """One line's cells, typed (text not yet made safe: each writer does it its way)."""
    cells: list[str | int | date | datetime | None] = [
        number,
        line.agency,
        line.deadline.day,
        line.status.label,
        line.confirmed_at,
        line.confirmed_by,
        line.report_number,
        line.report_date,
        line.reminders_sent,
    ]
    if year:
        cells.insert(2, line.deadline.title)
    return cells
