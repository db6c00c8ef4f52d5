"""The report as an .xlsx workbook, laid out as Vietnamese offices lay out such tables.

At the top, the issuing body (the plan's focal agency, upper case) on the left and the national
motto on the right; the title, the plan, what the table covers and "Tính đến ngày …"; then the
table with real Excel dates (dd/mm/yyyy; the confirmation's local time dd/mm/yyyy hh:mm), borders,
the header frozen and repeated on every printed page (A4 landscape, fit to the page's width), and
the counts per status under it. A year's report has two sheets: "Tổng hợp" (agencies × deadlines,
each cell the status) and "Chi tiết" (one row per agency × deadline).

Written in openpyxl's write-only mode (rows streamed to the file: memory stays bounded for
4,341 agencies × 10 deadlines); each cell copies its column's prepared style rather than
building one, which is most of the time spent.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from copy import copy
from pathlib import Path
from typing import IO, Any, Literal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.properties import PageSetupProperties

from scheduler.calendar.dates import format_date
from scheduler.reports.cells import clean, columns, formula_like, values
from scheduler.reports.tracking import MOTTO, NATION, TITLE, Report, counts_text

DATE_FORMAT = "dd/mm/yyyy"
DATETIME_FORMAT = "dd/mm/yyyy hh:mm"
FONT = "Times New Roman"  # the administrative documents' font (Decree 30/2020/NĐ-CP)
WIDTHS = {
    "STT": 6,
    "Đơn vị": 38,
    "Nội dung báo cáo": 34,
    "Hạn báo cáo": 13,
    "Trạng thái": 24,
    "Thời điểm xác nhận": 18,
    "Người xác nhận": 22,
    "Số, ký hiệu văn bản": 20,
    "Ngày văn bản": 13,
    "Số lần đã nhắc": 10,
}
SUMMARY_STATUS_WIDTH = 22
HEADER_ROW = 9  # the table's header; rows 1–8 are the title block

THIN = Side(style="thin", color="000000")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)

# openpyxl's write-only sheet and cell, as Any: at run time the sheet has the page setup,
# dimensions and merged cells it copies from Worksheet, which the stubs (types-openpyxl) miss,
# and WriteOnlyCell is a factory there, not a type.
Sheet = Any
CellStyle = Any


class Styles:
    """The prepared cells whose style each written cell copies."""

    def __init__(self, ws: Sheet) -> None:
        def make(
            bold: bool = False,
            italic: bool = False,
            size: int = 12,
            align: Alignment = LEFT,
            box: bool = False,
            number_format: str | None = None,
            fill: str | None = None,
            underline: Literal["single"] | None = None,
        ) -> CellStyle:
            cell: CellStyle = WriteOnlyCell(ws)
            cell.font = Font(name=FONT, size=size, bold=bold, italic=italic, underline=underline)
            cell.alignment = align
            if box:
                cell.border = BOX
            if number_format:
                cell.number_format = number_format
            if fill:
                cell.fill = PatternFill("solid", fgColor=fill)
            return cell

        self.ws = ws
        self.issuer = make(bold=True, align=CENTER)
        self.nation = make(bold=True, align=CENTER)
        self.motto = make(bold=True, align=CENTER, underline="single")
        self.title = make(bold=True, size=14, align=CENTER)
        self.subtitle = make(bold=True, align=CENTER)
        self.as_of = make(italic=True, align=CENTER)
        self.header = make(bold=True, align=CENTER, box=True, fill="D9E1F2")
        self.text = make(box=True)
        self.middle = make(box=True, align=CENTER)
        self.date = make(box=True, align=CENTER, number_format=DATE_FORMAT)
        self.datetime = make(box=True, align=CENTER, number_format=DATETIME_FORMAT)
        self.note = make(italic=True)
        self.bold = make(bold=True)

    def cell(self, value: Any, like: CellStyle) -> CellStyle:
        """A cell of `value` in `like`'s style; text never becomes a formula (cells.py)."""
        if isinstance(value, str):
            value = clean(value)
        cell: CellStyle = WriteOnlyCell(self.ws, value)
        cell._style = copy(like._style)
        if isinstance(value, str) and formula_like(value):
            cell.data_type = "s"
            cell.quotePrefix = True
        return cell

    def reuse(self, value: Any, cell: CellStyle) -> CellStyle | None:
        """`cell` (a column's prepared cell) holding `value`; formula-like text gets a cell of its
        own, flagged (see `cell`)."""
        if value is None:
            return None
        if isinstance(value, str):
            value = clean(value)
            if formula_like(value):
                return self.cell(value, cell)
        cell.value = value
        return cell


def _title_block(ws: Sheet, styles: Styles, report: Report, width: int) -> None:
    """Rows 1–8: issuing body and motto, title, plan, scope, "Tính đến ngày"."""
    last = get_column_letter(width)
    left = max(2, width // 3)  # the issuing body's block: the first third
    right = left + 2 if width > left + 2 else left + 1
    ws.merged_cells.add(f"A1:{get_column_letter(left)}1")
    ws.merged_cells.add(f"{get_column_letter(right)}1:{last}1")
    ws.merged_cells.add(f"{get_column_letter(right)}2:{last}2")
    for row in (4, 5, 6, 7):
        ws.merged_cells.add(f"A{row}:{last}{row}")
    ws.row_dimensions[1].height = 32
    ws.row_dimensions[5].height = 32
    gap = [None] * (right - left - 1)
    ws.append(
        [
            styles.cell(report.issuer, styles.issuer),
            *[None] * (left - 1),
            *gap,
            styles.cell(NATION, styles.nation),
        ]
    )
    ws.append([None] * (right - 1) + [styles.cell(MOTTO, styles.motto)])
    ws.append([])
    ws.append([styles.cell(TITLE, styles.title)])
    plan = (
        f"Kế hoạch số {report.plan_number}: {report.plan_title}" if report.plan_number else report.plan_title
    )
    ws.append([styles.cell(plan, styles.subtitle)])
    ws.append([styles.cell(report.scope, styles.subtitle)])
    ws.append([styles.cell(f"Tính đến ngày {format_date(report.as_of)}", styles.as_of)])
    ws.append([])


def _page(ws: Sheet, widths: Sequence[float], freeze: str) -> None:
    """Column widths, frozen header, A4 landscape fit to width, header row on every page."""
    for n, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(n)].width = width
    ws.freeze_panes = freeze
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = 9  # A4 (ws.PAPERSIZE_A4)
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages down as it takes
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5


def _detail(wb: Workbook, report: Report, title: str) -> None:
    year = report.year is not None
    names = columns(year)
    ws = wb.create_sheet(title)
    styles = Styles(ws)
    _page(ws, [WIDTHS[name] for name in names], f"A{HEADER_ROW + 1}")
    _title_block(ws, styles, report, len(names))
    ws.row_dimensions[HEADER_ROW].height = 32  # two lines: "Số, ký hiệu văn bản", "Thời điểm xác nhận"
    ws.append([styles.cell(name, styles.header) for name in names])
    # One prepared cell per column, given each row's value in turn: the sheet writes a row as
    # soon as it is appended, and a cell made per value costs twice the time of the whole rest.
    kinds = [styles.cell(None, _kind(name, styles)) for name in names]
    for n, line in enumerate(report.lines, start=1):
        ws.append([styles.reuse(v, kind) for v, kind in zip(values(n, line, year), kinds, strict=True)])
    ws.append([])
    _counts(ws, styles, report, HEADER_ROW + len(report.lines) + 2, len(names))


def _kind(name: str, styles: Styles) -> CellStyle:
    if name in ("Hạn báo cáo", "Ngày văn bản"):
        return styles.date
    if name == "Thời điểm xác nhận":
        return styles.datetime
    if name in ("STT", "Số lần đã nhắc"):
        return styles.middle
    return styles.text


def _counts(ws: Sheet, styles: Styles, report: Report, row: int, width: int) -> None:
    """Under the table, from `row`: the counts per status, of all and (a year) of each deadline,
    each line across the table's width."""
    texts = [(f"Tổng hợp: {counts_text(report.progress)}", styles.bold)]
    if report.year is not None:
        texts += [(f"{d.name}: {counts_text(report.progress_of(d))}", styles.note) for d in report.deadlines]
    for n, (text, style) in enumerate(texts):
        ws.merged_cells.add(f"A{row + n}:{get_column_letter(width)}{row + n}")
        ws.append([styles.cell(text, style)])


def _summary(wb: Workbook, report: Report) -> None:
    """Agencies as rows, deadlines as columns, each cell the agency's status on the deadline."""
    ws = wb.create_sheet("Tổng hợp")
    styles = Styles(ws)
    width = 2 + len(report.deadlines)
    _page(
        ws,
        [WIDTHS["STT"], WIDTHS["Đơn vị"], *[SUMMARY_STATUS_WIDTH] * len(report.deadlines)],
        f"C{HEADER_ROW + 1}",
    )
    _title_block(ws, styles, report, width)
    ws.row_dimensions[HEADER_ROW].height = 64  # a deadline's title and date, wrapped
    ws.append(
        [
            styles.cell("STT", styles.header),
            styles.cell("Đơn vị", styles.header),
            *(styles.cell(f"{d.title}\nHạn {format_date(d.day)}", styles.header) for d in report.deadlines),
        ]
    )
    column = {(d.item_id, d.period): n for n, d in enumerate(report.deadlines)}
    grid: dict[str, list[str]] = {}
    for line in report.lines:
        row = grid.setdefault(line.agency_id, ["—"] * len(report.deadlines))
        row[column[(line.deadline.item_id, line.deadline.period)]] = line.status.label
    for n, (agency_id, name) in enumerate(report.agencies, start=1):
        ws.append(
            [
                styles.cell(n, styles.middle),
                styles.cell(name, styles.text),
                *(styles.cell(label, styles.middle) for label in grid[agency_id]),
            ]
        )
    done = [report.progress_of(d) for d in report.deadlines]
    ws.append(
        [None, styles.cell("Đã báo cáo", styles.header), *(styles.cell(p.text, styles.header) for p in done)]
    )
    ws.append([])
    _counts(ws, styles, report, HEADER_ROW + len(report.agencies) + 3, width)


def xlsx_bytes(report: Report) -> bytes:
    """The workbook's bytes (a national year: a few megabytes)."""
    buffer = io.BytesIO()
    write_xlsx(report, buffer)
    return buffer.getvalue()


def write_xlsx(report: Report, target: Path | IO[bytes]) -> None:
    """Write the report's workbook to a path or a binary stream."""
    wb = Workbook(write_only=True)
    if report.year is not None:
        _summary(wb, report)
        _detail(wb, report, "Chi tiết")
    else:
        _detail(wb, report, "Bảng theo dõi")
    wb.save(target)
