"""The report as CSV that Excel opens directly: UTF-8 with a BOM (without it Excel reads the
Vietnamese as Windows-1258 mojibake), comma-separated, CRLF line ends, dates dd/mm/yyyy.

The first line is the header: no title rows above it, so that Excel, LibreOffice and any script
read the file as one table (filters, sorting, pandas' read_csv) without skipping lines. The plan
and the deadline are in the file's name; the title block and the counts are the .xlsx's.
Formula-like text gets an apostrophe in front (cells.py).
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

from scheduler.calendar.dates import format_date
from scheduler.reports.cells import columns, csv_text, values
from scheduler.reports.tracking import Report

ENCODING = "utf-8-sig"


def _cell(value: str | int | date | datetime | None) -> str | int:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return f"{value:%d/%m/%Y %H:%M}"
    if isinstance(value, date):
        return format_date(value)
    if isinstance(value, int):
        return value
    return csv_text(value)


def csv_bytes(report: Report) -> bytes:
    """The whole file, BOM included."""
    buffer = io.StringIO(newline="")
    write_csv(report, buffer)
    return buffer.getvalue().encode(ENCODING)


def write_csv(report: Report, target: io.TextIOBase) -> None:
    """Write the table to a text stream opened with newline="" (and encoding utf-8-sig, for a file)."""
    year = report.year is not None
    writer = csv.writer(target, dialect="excel")  # comma, CRLF, quotes only where needed
    writer.writerow(columns(year))
    for n, line in enumerate(report.lines, start=1):
        writer.writerow([_cell(v) for v in values(n, line, year)])
