"""Agency and contact lists to and from spreadsheets: `nhacviec agencies import|export`.

Offices keep their lists of agencies and focal points in Excel. A sheet is read into the
content of one `config/agencies/*.yaml` file, normalised as the YAML loader normalises it
(`scheduler.config.contacts`), and that file is then checked by the loader itself together with the rest
of the configuration, so that what is written passes `nhacviec check`. Every problem names its
cell, `Đơn vị!12:H`, as configuration errors name `file:line`.

A spreadsheet comes from outside and is read defensively: the file's size, the unpacked size of
an .xlsx archive, its rows and columns are capped before or while reading; .xlsx is read by
openpyxl in read-only mode (row by row, XML entities refused by defusedxml), macros (.xlsm) and
the old binary format (.xls) are refused, and formulas are never evaluated: the value Excel saved
with the file is read, and a formula without one is an error at its cell.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import tempfile
import unicodedata
import warnings
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TextIO

from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from notifiers.text import unaccent
from scheduler.calendar.dates import format_date, parse_date
from scheduler.config.contacts import normalise_email, normalise_mobile
from scheduler.config.deployment import Deployment
from scheduler.config.loader import load_config
from scheduler.config.schema import ContactSpec
from scheduler.config.settings import Settings
from scheduler.config.yamlfile import ConfigError, ConfigInvalid, read_yaml

MAX_FILE_BYTES = 20 * 1024 * 1024  # a list of 5,000 agencies is well under 2 MB
MAX_UNPACKED_BYTES = 100 * 1024 * 1024  # an .xlsx is a zip: what it would unpack to
MAX_ROWS = 20_000
MAX_COLUMNS = 60
HEADER_SEARCH = 10  # the header row is looked for among the first rows that hold anything
GENERATED_ID_WARNINGS = 10

AGENCY_SHEET = "Đơn vị"
GROUP_SHEET = "Nhóm"
ROLES = ("focal", "leader")
AGENCY_FIELDS = ("id", "name", "short_name", "parent", "groups", "valid_from", "valid_until", "succeeded_by")
DATE_FIELDS = ("valid_from", "valid_until")  # real Excel dates in .xlsx, dd/mm/yyyy in .csv
DATE_FORMAT = "DD/MM/YYYY"  # how export shows the dates it writes
CONTACT_FIELDS = (
    "name",
    "title",
    "email",
    "mobile",
    "zalo",
    "channels",
    "fallback",
    "webhook",
    "addresses",
    "id",
)
REACH_FIELDS = ("email", "mobile", "zalo", "webhook", "addresses")
NO_CHANNEL = "-"  # a cell of "Kênh nhận" that says: none (`channels: []`)

# The headers `export` writes and `import` reads back; `import` also takes the variants below.
HEADERS = {
    "stt": "STT",
    "id": "Mã",
    "name": "Tên đơn vị",
    "short_name": "Tên viết tắt",
    "parent": "Đơn vị cấp trên",
    "groups": "Nhóm",
    "valid_from": "Hiệu lực từ ngày",
    "valid_until": "Hiệu lực đến ngày",
    "succeeded_by": "Đơn vị kế thừa (sáp nhập vào)",
    "focal.name": "Họ tên đầu mối",
    "focal.title": "Chức vụ",
    "focal.email": "Email",
    "focal.mobile": "Điện thoại",
    "focal.zalo": "Zalo",
    "focal.channels": "Kênh nhận",
    "focal.fallback": "Kênh dự phòng",
    "focal.webhook": "Webhook",
    "focal.addresses": "Địa chỉ khác",
    "focal.id": "Mã đầu mối",
    "leader.name": "Lãnh đạo",
    "leader.title": "Chức vụ lãnh đạo",
    "leader.email": "Email lãnh đạo",
    "leader.mobile": "Điện thoại lãnh đạo",
    "leader.zalo": "Zalo lãnh đạo",
    "leader.channels": "Kênh nhận lãnh đạo",
    "leader.fallback": "Kênh dự phòng lãnh đạo",
    "leader.webhook": "Webhook lãnh đạo",
    "leader.addresses": "Địa chỉ khác lãnh đạo",
    "leader.id": "Mã lãnh đạo",
}
# Export always writes these; the others only when an agency or a contact uses them.
ALWAYS = (
    *("stt", "id", "name", "short_name", "parent", "groups"),
    *("focal.name", "focal.title", "focal.email", "focal.mobile", "focal.zalo", "focal.channels"),
    *("leader.name", "leader.title", "leader.email", "leader.mobile"),
)
GROUP_HEADERS = {"id": "Mã nhóm", "name": "Tên nhóm"}

# Header variants, compared without accents, case or punctuation ("Số ĐT" → "so dt").
_AGENCY_WORDS = {
    "stt": ("stt", "tt", "so tt", "so thu tu"),
    "id": ("ma", "ma don vi", "ma dv", "ma co quan", "id"),
    "name": (
        *("ten don vi", "don vi", "ten", "ten co quan", "co quan", "co quan don vi", "ten co quan don vi"),
        "ten don vi co quan",
    ),
    "short_name": ("ten viet tat", "viet tat", "ten ngan", "ten goi tat", "ten tat"),
    "parent": (
        *("don vi cap tren", "cap tren", "ma don vi cap tren", "ma cap tren", "co quan cap tren"),
        *("truc thuoc", "don vi chu quan", "co quan chu quan"),
    ),
    "groups": ("nhom", "nhom don vi", "ma nhom", "thuoc nhom", "cac nhom"),
    # An agency's life (scheduler/config/lifetimes.py); "Từ ngày" / "Đến ngày" also under a
    # "Hiệu lực" heading written above them.
    "valid_from": (
        *("hieu luc tu ngay", "hieu luc tu", "tu ngay", "ngay hieu luc", "ngay bat dau"),
        *("ngay bat dau hieu luc", "ngay thanh lap", "hoat dong tu ngay", "ngay bat dau hoat dong"),
    ),
    # Not "ngày sáp nhập" or "ngày giải thể": offices write there the first day without the agency.
    "valid_until": (
        *("hieu luc den ngay", "hieu luc den", "den ngay", "ngay ket thuc", "ngay het hieu luc"),
        *("het hieu luc", "hoat dong den ngay", "ngay ket thuc hoat dong", "ngay cuoi"),
    ),
    "succeeded_by": (
        *("don vi ke thua", "ke thua", "ma don vi ke thua", "don vi ke thua sap nhap vao", "sap nhap vao"),
        *("don vi sap nhap vao", "sap nhap vao don vi", "don vi tiep nhan", "don vi thay the"),
    ),
}
_CONTACT_WORDS = {
    "name": ("ho ten", "ho va ten", "ten can bo", "can bo", "nguoi"),
    "title": ("chuc vu", "chuc danh"),
    "email": (
        *("email", "e mail", "mail", "thu dien tu", "dia chi email", "dia chi e mail"),
        *("dia chi thu dien tu", "hop thu"),
    ),
    "mobile": (
        *("dien thoai", "so dien thoai", "dien thoai di dong", "di dong", "so di dong", "sdt", "dt"),
        *("so dt", "dtdd", "so dtdd", "dt di dong"),
    ),
    "zalo": ("zalo", "so zalo"),
    "channels": ("kenh", "kenh nhan", "kenh nhac viec", "kenh nhan nhac viec"),
    "fallback": ("kenh du phong",),
    "webhook": ("webhook",),
    "addresses": ("dia chi khac",),
    "id": ("ma",),  # only with a role: "Mã đầu mối", "Mã lãnh đạo"
}
_ROLE_WORDS = {
    "focal": (
        *("dau moi", "can bo dau moi", "nguoi dau moi", "thong tin dau moi", "dau moi lien he"),
        *("nguoi phu trach", "can bo phu trach", "nguoi lien he", "lien he", "thong tin lien he"),
    ),
    "leader": (
        *("lanh dao", "lanh dao don vi", "lanh dao phu trach", "lanh dao co quan"),
        *("thu truong", "thu truong don vi", "thu truong co quan"),
    ),
}
_GROUP_WORDS = {
    "stt": "stt",
    "tt": "stt",
    "ma nhom": "id",
    "ma": "id",
    "ten nhom": "name",
    "ten": "name",
    "nhom": "name",
}

_AGENCY_FIELD = {words: name for name, variants in _AGENCY_WORDS.items() for words in variants}
_CONTACT_FIELD = {words: name for name, variants in _CONTACT_WORDS.items() for words in variants}
_ROLE_OF = {words: role for role, variants in _ROLE_WORDS.items() for words in variants}
_ROLES_LONGEST_FIRST = sorted(_ROLE_OF, key=len, reverse=True)


# --- problems ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Issue:
    """One problem: where (`Đơn vị!12:H`, or `file:line` for another configuration file), the
    column's header as written, what is wrong and what to do."""

    where: str
    field: str
    message: str

    def __str__(self) -> str:
        return (
            f"{self.where}: {self.field}: {self.message}" if self.field else f"{self.where}: {self.message}"
        )


class SheetInvalid(Exception):
    """The sheet cannot be imported; nothing was written."""

    def __init__(self, errors: list[Issue], warnings: Iterable[Issue] = ()) -> None:
        self.errors = errors
        self.warnings = list(warnings)
        super().__init__("\n".join(str(e) for e in errors))


def _refuse(where: str, message: str) -> SheetInvalid:
    return SheetInvalid([Issue(where, "", message)])


# --- cells ----------------------------------------------------------------------------------

_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)  # zero-width, soft hyphen
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_FORMULA_START = "=+-@"


def clean(text: str) -> str:
    """A cell's text as the configuration keeps it: NFC, no invisible or control characters, spaces
    (NBSP and other odd ones, line breaks) made single plain spaces, none at either end. A leading
    apostrophe that export put before `=`, `+`, `-` or `@` (so that Excel does not take the cell
    for a formula) is removed."""
    text = _CONTROL.sub(" ", text.translate(_INVISIBLE))
    text = " ".join(unicodedata.normalize("NFC", text).split())
    if len(text) > 2 and text[0] == "'" and text[1] in _FORMULA_START:
        text = text[1:]
    return text


def fold(text: str) -> str:
    """A header compared without accents, case or punctuation: `Số ĐT (di động)` → `so dt di dong`."""
    return " ".join(re.findall(r"[a-z0-9]+", unaccent(clean(text)).lower()))


DATE_CELL = "ô có kiểu ngày giờ: định dạng ô là Văn bản (Text) rồi nhập lại nội dung"


def _cell_date(value: Any) -> str | None:
    """A cell holding a day (an Excel date, at midnight) as dd/mm/yyyy; None for anything else."""
    if isinstance(value, datetime):
        return format_date(value.date()) if value.time() == time(0) else None
    if isinstance(value, date):
        return format_date(value)
    return None


def _put(grid: Grid, texts: list[str], number: int, column: int, value: Any, data_type: str | None) -> None:
    """Store a cell's text, or why it cannot be read; a date is also kept as dd/mm/yyyy, for the
    columns that take dates (elsewhere it stays the error it always was)."""
    texts[column], problem = _cell_text(value, data_type)
    if problem:
        grid.problems[(number, column)] = problem
        if problem == DATE_CELL and (day := _cell_date(value)) is not None:
            grid.dates[(number, column)] = day


def _cell_text(value: Any, data_type: str | None) -> tuple[str, str | None]:
    """(text, problem) of a cell's value as openpyxl reads it."""
    if data_type == "e":
        return "", f"ô báo lỗi {str(value)[:20]} của Excel: sửa hoặc xóa nội dung ô này"
    if isinstance(value, bool):
        return "", "ô có giá trị Đúng/Sai (TRUE/FALSE): cần chữ hoặc số"
    if isinstance(value, datetime | date | time | timedelta):
        return "", DATE_CELL
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        return str(int(value)), None  # 912345678.0 → "912345678"
    return clean(str(value)), None


@dataclass
class Grid:
    """The cells of one sheet (or CSV file) that hold anything, as cleaned text."""

    name: str  # the sheet's name; for a CSV file, the file's name
    rows: list[tuple[int, list[str]]] = field(default_factory=list)  # (row number, cells)
    problems: dict[tuple[int, int], str] = field(default_factory=dict)  # (row, column) → why unreadable
    dates: dict[tuple[int, int], str] = field(default_factory=dict)  # date cells (also problems) → dd/mm/yyyy

    def where(self, row: int, column: int | None = None) -> str:
        return f"{self.name}!{row}" + ("" if column is None else f":{get_column_letter(column + 1)}")


# --- reading files --------------------------------------------------------------------------


def read_file(path: Path, sheet: str | None = None) -> tuple[Grid, Grid | None]:
    """(the agencies' grid, the groups' grid if the workbook has a `Nhóm` sheet)."""
    suffix = path.suffix.lower()
    if suffix in (".xlsm", ".xltm", ".xlam"):
        raise _refuse(
            path.name,
            "tệp Excel có macro không được nhận: mở tệp, chọn Lưu thành → 'Sổ làm việc Excel (*.xlsx)' "
            "rồi nhập tệp .xlsx",
        )
    if suffix == ".xls":
        raise _refuse(path.name, _OLD_EXCEL)
    if suffix not in (".xlsx", ".csv"):
        raise _refuse(path.name, "chỉ nhận bảng tính .xlsx (Excel 2007 trở lên) hoặc .csv (UTF-8)")
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(8)
    except FileNotFoundError:
        raise _refuse(str(path), "không có tệp này") from None
    except IsADirectoryError:
        raise _refuse(str(path), "đây là một thư mục; hãy ghi tên tệp .xlsx hoặc .csv") from None
    except OSError as exc:
        raise _refuse(str(path), f"không đọc được tệp: {exc.strerror or exc}") from None
    if size > MAX_FILE_BYTES:
        raise _refuse(
            path.name,
            f"tệp lớn {size / 2**20:.1f} MB, quá giới hạn {MAX_FILE_BYTES // 2**20} MB của một danh sách "
            "đơn vị: kiểm tra đúng tệp chưa, xóa các trang và hình ảnh không cần",
        )
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise _refuse(path.name, _OLD_EXCEL)
    if suffix == ".csv":
        if head.startswith(b"PK"):
            raise _refuse(path.name, "đây là tệp Excel (.xlsx) mang đuôi .csv: đổi đuôi tệp thành .xlsx")
        return _read_csv(path), None
    if not head.startswith(b"PK"):
        raise _refuse(
            path.name,
            "tệp không phải bảng tính .xlsx (có thể là CSV, HTML hay tệp .xls đổi tên): mở bằng Excel "
            "rồi Lưu thành 'Sổ làm việc Excel (*.xlsx)'",
        )
    return _read_xlsx(path, sheet)


_OLD_EXCEL = (
    "tệp Excel 97–2003 (.xls) hoặc tệp có mật khẩu không được nhận: mở bằng Excel, bỏ mật khẩu nếu có, "
    "rồi Lưu thành 'Sổ làm việc Excel (*.xlsx)'"
)


def _check_archive(path: Path) -> None:
    """Refuse an .xlsx that would unpack to too much, holds macros or is encrypted, before openpyxl
    reads any of it. zipfile stops every member at its declared size, so the sum is a true bound."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _refuse(
            path.name, "tệp .xlsx bị hỏng hoặc chưa trọn vẹn (không giải nén được): mở bằng Excel rồi lưu lại"
        ) from None
    names = {m.filename.lower() for m in members}
    if any(name.endswith("vbaproject.bin") for name in names):
        raise _refuse(
            path.name,
            "tệp có macro (VBA) không được nhận: mở bằng Excel, Lưu thành 'Sổ làm việc Excel (*.xlsx)'",
        )
    if any(m.flag_bits & 0x1 for m in members):
        raise _refuse(path.name, "tệp có phần bị mã hóa: bỏ mật khẩu rồi lưu lại dạng .xlsx")
    unpacked = sum(m.file_size for m in members)
    if unpacked > MAX_UNPACKED_BYTES:
        raise _refuse(
            path.name,
            f"tệp giải nén ra {unpacked / 2**20:.0f} MB, quá giới hạn {MAX_UNPACKED_BYTES // 2**20} MB: "
            "một danh sách đơn vị không lớn như vậy; kiểm tra đúng tệp chưa",
        )


def _read_xlsx(path: Path, sheet: str | None) -> tuple[Grid, Grid | None]:
    _check_archive(path)
    with warnings.catch_warnings():  # openpyxl's notes on features it drops concern nobody here
        warnings.simplefilter("ignore")
        try:
            book = load_workbook(path, read_only=True, data_only=False, keep_links=False)
        except Exception as exc:  # a damaged or hostile archive fails in many ways; all are the file's
            raise _damaged(path, exc) from None
        try:
            agencies_title, groups_title = _pick_sheets([ws.title for ws in book.worksheets], sheet, path)
            agencies, formulas = _read_sheet(book[agencies_title])
            groups, group_formulas = (None, {}) if groups_title is None else _read_sheet(book[groups_title])
        except SheetInvalid:
            raise
        except Exception as exc:
            raise _damaged(path, exc) from None
        finally:
            book.close()
        if formulas or group_formulas:
            _cached_values(path, [(agencies, formulas), (groups, group_formulas)])
    return agencies, groups


def _damaged(path: Path, exc: Exception) -> SheetInvalid:
    reason = clean(str(exc).splitlines()[0])[:120] if str(exc) else type(exc).__name__
    return _refuse(
        path.name,
        f"không đọc được tệp .xlsx ({reason}): mở bằng Excel, kiểm tra nội dung rồi lưu lại dạng .xlsx",
    )


def _pick_sheets(titles: list[str], sheet: str | None, path: Path) -> tuple[str, str | None]:
    """The agencies' sheet (`--sheet`, else the one named `Đơn vị`, else the first that is not the
    groups' sheet) and the groups' sheet (named `Nhóm`), if any."""
    by_words = {fold(title): title for title in titles}
    groups = by_words.get(fold(GROUP_SHEET))
    if sheet is not None:
        chosen = sheet if sheet in titles else by_words.get(fold(sheet))
        if chosen is None:
            raise _refuse(path.name, f"không có trang '{sheet}'; các trang: {', '.join(titles)}")
    else:
        chosen = by_words.get(fold(AGENCY_SHEET)) or next((t for t in titles if t != groups), None)
        if chosen is None:
            raise _refuse(path.name, "tệp không có trang danh sách đơn vị nào")
    return chosen, (groups if groups != chosen else None)


def _read_sheet(ws: Any) -> tuple[Grid, dict[tuple[int, int], str]]:
    """The sheet's cells; formula cells are left empty and returned apart (cell → formula)."""
    ws.reset_dimensions()  # the size a file declares may be wrong, or huge on purpose: read what is there
    grid = Grid(ws.title)
    formulas: dict[tuple[int, int], str] = {}
    for number, cells in enumerate(ws.iter_rows(), start=1):
        texts: list[str] | None = None
        for column, cell in enumerate(cells):
            value = cell.value
            if value is None:
                continue
            if column >= MAX_COLUMNS:
                raise _too_wide(grid, number, column)
            if number > MAX_ROWS:
                raise _too_long(grid, number)
            if texts is None:
                texts = [""] * min(len(cells), MAX_COLUMNS)
            if cell.data_type == "f":
                formulas[(number, column)] = str(value)
                continue
            _put(grid, texts, number, column, value, cell.data_type)
        if texts is not None:
            grid.rows.append((number, texts))
    return grid, formulas


def _too_wide(grid: Grid, row: int, column: int) -> SheetInvalid:
    return _refuse(
        grid.where(row, column),
        f"bảng có dữ liệu ngoài {MAX_COLUMNS} cột đầu (A–{get_column_letter(MAX_COLUMNS)}): "
        "xóa các cột thừa hoặc chép danh sách sang một trang riêng",
    )


def _too_long(grid: Grid, row: int) -> SheetInvalid:
    return _refuse(
        grid.where(row),
        f"bảng có quá {MAX_ROWS:,} dòng".replace(",", ".") + ": chia danh sách thành nhiều tệp",
    )


def _cached_values(path: Path, sheets: list[tuple[Grid | None, dict[tuple[int, int], str]]]) -> None:
    """Read again, for the formula cells only, the values Excel saved with the file."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            book = load_workbook(path, read_only=True, data_only=True, keep_links=False)
        except Exception as exc:
            raise _damaged(path, exc) from None
        try:
            for grid, formulas in sheets:
                if grid is None or not formulas:
                    continue
                rows = dict(grid.rows)
                last = max(row for row, _ in formulas)
                ws = book[grid.name]
                ws.reset_dimensions()
                for number, cells in enumerate(ws.iter_rows(max_row=last), start=1):
                    for column, cell in enumerate(cells[:MAX_COLUMNS]):
                        if (number, column) not in formulas:
                            continue
                        if cell.value is None:
                            shown = clean(formulas[(number, column)])[:40]
                            grid.problems[(number, column)] = (
                                f"ô có công thức ({shown}) mà tệp không lưu giá trị đã tính (công thức không "
                                "được tính khi nhập): mở tệp bằng Excel rồi lưu lại, hoặc thay công thức bằng "
                                "giá trị"
                            )
                            continue
                        _put(grid, rows[number], number, column, cell.value, cell.data_type)
        except Exception as exc:
            raise _damaged(path, exc) from None
        finally:
            book.close()


def _read_csv(path: Path) -> Grid:
    data = path.read_bytes()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in data[:4096]:
        raise _refuse(
            path.name,
            "tệp CSV mã UTF-16 (Excel gọi là 'Unicode Text'): trong Excel chọn Lưu thành → "
            "'CSV UTF-8 (Comma delimited) (*.csv)' rồi nhập lại",
        )
    try:
        text = data.removeprefix(codecs.BOM_UTF8).decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _refuse(
            f"{path.name}:{line}",
            f"tệp CSV không phải UTF-8 (byte thứ {exc.start + 1}): có lẽ được lưu bằng bảng mã cũ "
            "(Windows-1258, TCVN3, VNI). Trong Excel chọn Lưu thành → 'CSV UTF-8 (Comma delimited) (*.csv)' "
            "rồi nhập lại",
        ) from None
    delimiter = _sniff(text)
    grid = Grid(path.name)
    number = 0
    try:
        for number, cells in enumerate(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), 1):
            texts = [clean(cell) for cell in cells]
            for column in range(MAX_COLUMNS, len(texts)):
                if texts[column]:
                    raise _too_wide(grid, number, column)
            if any(texts):
                if number > MAX_ROWS:
                    raise _too_long(grid, number)
                grid.rows.append((number, texts[:MAX_COLUMNS]))
    except csv.Error as exc:
        raise _refuse(
            grid.where(number + 1), f"dòng không đọc được theo định dạng CSV ({exc}): kiểm tra dấu ngoặc kép"
        ) from None
    return grid


def _sniff(text: str) -> str:
    """`,` or `;` (or a tab): the one with which the first lines show the most known headers."""
    head = "\n".join(text.splitlines()[: HEADER_SEARCH * 3])
    best, best_score = ",", -1
    for delimiter in (",", ";", "\t"):
        try:
            rows = list(csv.reader(io.StringIO(head, newline=""), delimiter=delimiter))
        except csv.Error:
            continue
        score = max((_score(_labels([clean(c) for c in row], None)) for row in rows), default=0)
        if score > best_score:
            best, best_score = delimiter, score
    return best


# --- headers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    index: int
    header: str  # as the sheet writes it (a two-row header: "Email (Lãnh đạo)")
    field: str | None  # "name", "focal.email", "leader.name" …; "stt"; None: not ours
    upper: bool = False  # written in the row above the header row (a header merged over both)


def field_of(header: str) -> str | None:
    """The field a header names, or None: `Số ĐT lãnh đạo` → `leader.mobile`."""
    for text in (re.sub(r"\([^)]*\)", " ", header), header):
        words = fold(text)
        if not words:
            continue
        if words in _AGENCY_FIELD:
            return _AGENCY_FIELD[words]
        role, rest, explicit = _split_role(words)
        if rest == "" and explicit:
            return f"{role}.name"
        found = _CONTACT_FIELD.get(rest)
        if found is not None and (found != "id" or explicit):
            return f"{role}.{found}"
    return None


def _split_role(words: str) -> tuple[str, str, bool]:
    """(role, the rest, whether a role was named): `email lanh dao` → (leader, email, True)."""
    for role_words in _ROLES_LONGEST_FIRST:
        role = _ROLE_OF[role_words]
        if words == role_words:
            return role, "", True
        if words.startswith(role_words + " "):
            return role, words[len(role_words) + 1 :], True
        if words.endswith(" " + role_words):
            return role, words[: -len(role_words) - 1], True
    return "focal", words, False


def _labels(cells: list[str], above: list[str] | None) -> list[Column]:
    """The columns a header row names. With the row above it, a two-row header: a role written
    once over several columns (merged cells keep their text in the first) applies to the
    sub-headers under it, and a header merged over both rows keeps its text in the upper one."""
    columns = []
    role_text = ""  # the role heading covering this column, e.g. "Lãnh đạo"
    width = max(len(cells), len(above or []))
    for index in range(width):
        sub = cells[index] if index < len(cells) else ""
        top = above[index] if above is not None and index < len(above) else ""
        if top:
            role_text = top if fold(re.sub(r"\([^)]*\)", " ", top)) in _ROLE_OF else ""
        if sub and role_text:
            role = _ROLE_OF[fold(re.sub(r"\([^)]*\)", " ", role_text))]
            found = _CONTACT_FIELD.get(fold(sub)) or _CONTACT_FIELD.get(fold(re.sub(r"\([^)]*\)", " ", sub)))
            columns.append(Column(index, f"{sub} ({role_text})", f"{role}.{found}" if found else None))
        elif sub or top:
            header = sub or top
            columns.append(Column(index, header, field_of(header), upper=not sub))
    return columns


def _score(columns: list[Column]) -> int:
    return sum(1 for c in columns if c.field not in (None, "stt"))


def _group_field(header: str) -> str | None:
    return _GROUP_WORDS.get(fold(re.sub(r"\([^)]*\)", " ", header)))


def _find_header(
    grid: Grid, errors: list[Issue], warnings_: list[Issue], groups: bool = False
) -> tuple[int, dict[str, Column]] | None:
    """(position of the header row in grid.rows, field → Column)."""
    best: tuple[int, int, list[Column]] | None = None
    for position, (number, cells) in enumerate(grid.rows[:HEADER_SEARCH]):
        if groups:
            columns = [Column(i, text, _group_field(text)) for i, text in enumerate(cells) if text]
        else:
            previous = grid.rows[position - 1] if position else None
            above = previous[1] if previous is not None and previous[0] == number - 1 else None
            columns = _labels(cells, above)
        if any(c.field == "name" for c in columns) and (best is None or _score(columns) > best[1]):
            best = (position, _score(columns), columns)
    if best is None:
        wanted = GROUP_HEADERS["name"] if groups else HEADERS["name"]
        errors.append(
            Issue(
                grid.where(grid.rows[0][0] if grid.rows else 1),
                "",
                f"không thấy dòng tiêu đề (có cột '{wanted}') trong {HEADER_SEARCH} dòng đầu của trang "
                f"'{grid.name}': thêm dòng tiêu đề theo mẫu trong README (STT, Mã, Tên đơn vị, …)",
            )
        )
        return None
    position, _, columns = best
    number = grid.rows[position][0]
    by_field: dict[str, Column] = {}
    for column in columns:
        if column.field is None:
            warnings_.append(
                Issue(
                    grid.where(number - column.upper, column.index),
                    column.header,
                    "cột này không thuộc mẫu danh sách đơn vị nên được bỏ qua",
                )
            )
        elif column.field in by_field:
            first = by_field[column.field]
            errors.append(
                Issue(
                    grid.where(number - column.upper, column.index),
                    column.header,
                    f"cùng nghĩa với cột {get_column_letter(first.index + 1)} ('{first.header}'): "
                    "giữ một cột, hoặc đổi tiêu đề cho đúng",
                )
            )
        else:
            by_field[column.field] = column
    named = {c.index for c in columns}
    for data_number, cells in grid.rows[position + 1 :]:
        for index, text in enumerate(cells):
            if text and index not in named:
                named.add(index)
                warnings_.append(
                    Issue(
                        grid.where(data_number, index),
                        "",
                        "cột không có tiêu đề nhưng có dữ liệu: được bỏ qua; đặt tiêu đề nếu cần dùng",
                    )
                )
    return position, by_field


# --- rows → agencies --------------------------------------------------------------------------

Cell = tuple[int, int]  # (row number, column index)


@dataclass
class _Contact:
    role: str
    values: dict[str, Any]  # the contact's YAML fields, normalised
    cells: dict[str, Cell]  # field → where it was read; "" → the block's first cell
    row: int


@dataclass
class _Agency:
    row: int
    values: dict[str, Any] = field(default_factory=dict)
    cells: dict[str, Cell] = field(default_factory=dict)
    contacts: list[_Contact] = field(default_factory=list)


@dataclass
class _Known:
    """What the rest of the configuration declares (agencies and groups: id → (name, where))."""

    agencies: dict[str, tuple[str, str]] = field(default_factory=dict)
    groups: dict[str, tuple[str, str]] = field(default_factory=dict)
    replaced_groups: list[dict[str, str]] = field(default_factory=list)  # those of the file --out replaces


@dataclass
class Imported:
    text: str  # the agencies file
    agencies: int
    contacts: int
    groups: int
    new_groups: list[str]
    warnings: list[Issue]
    sheet: str


def slugify(text: str, taken: set[str] | dict[str, Any]) -> str:
    """An id from a name, not in `taken`: `UBND xã Tân Lập` → `ubnd-xa-tan-lap`."""
    words = re.findall(r"[a-z0-9]+", unaccent(text).lower())
    base = "-".join(words)[:60].rstrip("-") or "don-vi"
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _national(e164: str) -> str:
    """+84912345678 → 0912 345 678, as phonenumbers formats a Vietnamese mobile (10 digits)."""
    digits = "0" + e164.removeprefix("+84")
    return f"{digits[:4]} {digits[4:7]} {digits[7:]}" if len(digits) == 10 else digits


_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d+)?[eE]\+?\d+")


def _phone(text: str) -> str:
    """A mobile number as the YAML writes it (0912 345 678), normalised as the loader does. A number
    Excel turned into scientific notation (9.12346E+08) is accepted only if no digit was lost."""
    if _SCIENTIFIC.fullmatch(text):
        try:
            number = Decimal(text.replace(",", "."))
        except InvalidOperation:
            number = Decimal(0)
        digits = len(number.as_tuple().digits)
        if number != number.to_integral_value() or digits < len(str(abs(int(number)))):
            raise ValueError(
                f"số '{text}' đã bị Excel đổi sang dạng số mũ và mất chữ số cuối: định dạng cột là "
                "Văn bản (Text) rồi gõ lại số đầy đủ"
            )
        text = str(int(number))
    return _national(normalise_mobile(text))


def _channel_list(text: str) -> list[str]:
    if text == NO_CHANNEL:
        return []
    return [part.strip().lower() for part in re.split(r"[;,]", text) if part.strip()]


def _address_map(text: str) -> dict[str, str]:
    result = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        channel, colon, address = part.partition(":")
        if not colon or not channel.strip() or not address.strip():
            raise ValueError(
                f"'{part}' cần dạng 'kênh: địa chỉ' (ví dụ fax: +84 24 3826 4567), cách nhau bởi ;"
            )
        result[channel.strip().lower()] = address.strip()
    return result


class _Reader:
    """Turns the rows of a grid into agencies, collecting errors and warnings by cell."""

    def __init__(self, grid: Grid, columns: dict[str, Column]) -> None:
        self.grid = grid
        self.columns = columns
        self.errors: list[Issue] = []
        self.warnings: list[Issue] = []
        self.agencies: dict[tuple[str, str], _Agency] = {}  # ("id", id) or ("name", folded name)
        self.by_name: dict[str, _Agency] = {}

    def error(self, cell: Cell, message: str) -> None:
        self.errors.append(Issue(self.grid.where(*cell), self.header(cell[1]), message))

    def warn(self, cell: Cell, message: str) -> None:
        self.warnings.append(Issue(self.grid.where(*cell), self.header(cell[1]), message))

    def header(self, index: int) -> str:
        return next((c.header for c in self.columns.values() if c.index == index), "")

    def value(self, number: int, cells: list[str], name: str) -> tuple[str, Cell | None]:
        column = self.columns.get(name)
        if column is None:
            return "", None
        cell = (number, column.index)
        if name in DATE_FIELDS and cell in self.grid.dates:
            return self.grid.dates[cell], cell  # a real Excel date
        if cell in self.grid.problems:
            problem = self.grid.problems[cell]
            if name in DATE_FIELDS and problem == DATE_CELL:  # a time of day, or a date with one
                problem = "ô có giờ chứ không chỉ có ngày: ghi ngày dạng ngày/tháng/năm, ví dụ 30/06/2025"
            self.error(cell, problem)
            return "", cell
        return (cells[column.index] if column.index < len(cells) else ""), cell

    def read(self, rows: list[tuple[int, list[str]]]) -> list[_Agency]:
        previous: tuple[int, _Agency] | None = None
        for number, cells in rows:
            agency = self.row(number, cells, previous)
            previous = (number, agency) if agency is not None else None
        return list(self.agencies.values())

    def row(self, number: int, cells: list[str], previous: tuple[int, _Agency] | None) -> _Agency | None:
        own = {f: self.value(number, cells, f) for f in AGENCY_FIELDS}
        blocks = {
            role: {f: self.value(number, cells, f"{role}.{f}") for f in CONTACT_FIELDS} for role in ROLES
        }
        has_contact = any(text for block in blocks.values() for text, _ in block.values())
        if not any(text for text, _ in own.values()) and not has_contact:
            return None  # a blank row (STT alone, or columns that are not ours): skipped
        ident, name = own["id"][0].lower(), own["name"][0]
        if ident:
            agency = self.agencies.get(("id", ident))
            key = ("id", ident)
        elif name:
            agency = self.by_name.get(fold(name))
            key = ("name", fold(name))
        elif previous is not None and previous[0] == number - 1:
            agency, key = previous[1], None  # a contact under the agency above (merged cells)
        else:
            cell = next((c for _, c in own.values() if c), (number, 0))
            self.error(
                cell,
                "dòng có đầu mối nhưng không có Mã hay Tên đơn vị, và dòng trên không phải đơn vị: "
                "ghi Mã (hoặc Tên) của đơn vị",
            )
            return None
        repeat = agency is not None
        if agency is None:
            agency = _Agency(number)
            if key is not None:
                self.agencies[key] = agency
            if name:
                self.by_name.setdefault(fold(name), agency)
        self.merge(agency, own, number)
        added, duplicates = self.contacts(agency, blocks, number)
        if repeat and not added and (duplicates or not has_contact):
            original = duplicates[0][1] if duplicates else agency.row
            self.warn((number, self.columns["name"].index), f"dòng trùng với dòng {original}: bỏ qua")
        else:
            for cell, original in duplicates:
                self.warn(cell, f"trùng với đầu mối ở dòng {original}: bỏ qua")
        return agency

    def merge(self, agency: _Agency, own: dict[str, tuple[str, Cell | None]], number: int) -> None:
        for name, (text, cell) in own.items():
            if not text or cell is None:
                continue
            value: Any = text.lower() if name == "id" else text
            if name == "groups":
                value = [part.strip() for part in text.split(";") if part.strip()]
            if name in DATE_FIELDS:
                try:
                    value = format_date(parse_date(text))  # as YAML writes it: 30/06/2025
                except ValueError as exc:
                    self.error(cell, _date_problem(text, str(exc)))
                    continue
            if name not in agency.values:
                agency.values[name] = value
                agency.cells[name] = cell
            elif agency.values[name] != value:
                first = agency.cells[name][0]
                self.error(
                    cell,
                    f"khác với dòng {first} ('{_shown(agency.values[name])}') của cùng đơn vị: "
                    "ghi giống nhau hoặc để trống ở các dòng sau",
                )

    def contacts(
        self, agency: _Agency, blocks: dict[str, dict[str, tuple[str, Cell | None]]], number: int
    ) -> tuple[bool, list[tuple[Cell, int]]]:
        """Add the row's focal point and leader: (whether one was added, [(cell, row) of those that
        repeat a contact already read])."""
        added, duplicates = False, []
        for role, block in blocks.items():
            filled = [(f, text, cell) for f, (text, cell) in block.items() if text and cell is not None]
            if not filled:
                continue
            first_cell = min((cell for _, _, cell in filled), key=lambda c: c[1])
            contact = _Contact(role, {}, {"": first_cell}, number)
            for name, text, cell in filled:
                contact.cells[name] = cell
                try:
                    contact.values[name] = self.convert(name, text)
                except ValueError as exc:
                    self.error(cell, str(exc))
            if not any(f in REACH_FIELDS for f, _, _ in filled):
                who = "đầu mối" if role == "focal" else "lãnh đạo"
                self.warn(
                    first_cell,
                    f"{who} '{block['name'][0] or block['title'][0]}' không có e-mail, điện thoại, Zalo hay "
                    "webhook nên không nhận được nhắc việc: chưa được nhập",
                )
                continue
            same = next((c for c in agency.contacts if c.role == role and c.values == contact.values), None)
            if same is not None:
                duplicates.append((first_cell, same.row))
                continue
            agency.contacts.append(contact)
            added = True
        return added, duplicates

    @staticmethod
    def convert(name: str, text: str) -> Any:
        if name == "email":
            return normalise_email(text)
        if name in ("mobile", "zalo"):
            return _phone(text)
        if name in ("channels", "fallback"):
            return _channel_list(text)
        if name == "addresses":
            return _address_map(text)
        if name == "id":
            return text.lower()
        return text


def _date_problem(text: str, message: str) -> str:
    """parse_date's message, with what to do in a sheet when the text is not a date at all."""
    if text.isdigit():  # a date Excel stored as its serial number in a cell formatted as a number
        return f"{message}; nếu đây là ngày Excel lưu dạng số, định dạng ô là Ngày (Date)"
    if not re.search(r"\d+/\d+/\d{4}|\d{4}-\d+-\d+", text):
        return f"{message}, hoặc nhập ngày Excel (định dạng ô là Ngày)"
    return message


def _shown(value: Any) -> str:
    return "; ".join(value) if isinstance(value, list) else str(value)


# --- the configuration around the sheet ---------------------------------------------------------


def _same_file(a: Path, b: Path | None) -> bool:
    return b is not None and a.resolve() == b.resolve()


def _known(config_dir: Path, out: Path | None) -> _Known:
    """The agencies and groups of the other files of config/agencies (a file that does not parse
    is left to the loader, which reports it), and the groups of the file `out` replaces."""
    known = _Known()
    files = sorted((config_dir / "agencies").glob("*.yaml")) if config_dir.is_dir() else []
    if out is not None and out.is_file() and not any(_same_file(f, out) for f in files):
        files.append(out)
    for file in files:
        try:
            doc = read_yaml(file)
        except ConfigInvalid:
            continue
        data = doc.data if isinstance(doc.data, dict) else {}
        for section, target in (("agencies", known.agencies), ("groups", known.groups)):
            entries = data.get(section)
            for i, entry in enumerate(entries if isinstance(entries, list) else []):
                if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                    if _same_file(file, out):
                        if section == "groups" and isinstance(entry.get("name"), str):
                            known.replaced_groups.append({"id": entry["id"], "name": entry["name"]})
                        continue
                    name = str(entry.get("name") or "")
                    target.setdefault(entry["id"], (name, f"{file}:{doc.line_of((section, i))}"))
    return known


def _read_groups(
    grid: Grid | None, known: _Known, errors: list[Issue], warnings_: list[Issue]
) -> list[tuple[dict[str, str], dict[str, Cell]]]:
    """The groups of the `Nhóm` sheet: [(group, {field: cell})]."""
    if grid is None or not grid.rows:
        return []
    found = _find_header(grid, errors, warnings_, groups=True)
    if found is None:
        return []
    position, columns = found
    result: list[tuple[dict[str, str], dict[str, Cell]]] = []
    seen: dict[str, int] = {}
    taken = set(known.agencies) | set(known.groups)
    for number, cells in grid.rows[position + 1 :]:
        values, where = {}, {}
        for name in ("id", "name"):
            column = columns.get(name)
            if column is None:
                continue
            cell = (number, column.index)
            if cell in grid.problems:
                errors.append(Issue(grid.where(*cell), column.header, grid.problems[cell]))
            elif column.index < len(cells) and cells[column.index]:
                values[name] = cells[column.index].lower() if name == "id" else cells[column.index]
                where[name] = cell
        if not values:
            continue
        if "id" not in values:
            values["id"] = slugify(values["name"], taken | set(seen))
            where["id"] = where["name"]
        ident = values["id"]
        header = columns["id"].header if "id" in columns else columns["name"].header
        if ident in seen:
            errors.append(
                Issue(grid.where(*where["id"]), header, f"mã nhóm '{ident}' đã có ở dòng {seen[ident]}")
            )
            continue
        if ident in known.agencies or ident in known.groups:
            other = known.groups.get(ident) or known.agencies[ident]
            errors.append(
                Issue(
                    grid.where(*where["id"]),
                    header,
                    f"mã '{ident}' đã được dùng ở {other[1]}: dùng mã khác, hoặc bỏ nhóm này khỏi trang "
                    f"'{grid.name}' nếu đó chính là nhóm ấy",
                )
            )
            continue
        seen[ident] = number
        result.append((values, where))
    return result


class _Resolver:
    """Ids, parents and groups across the sheet and the rest of the configuration."""

    def __init__(
        self,
        reader: _Reader,
        known: _Known,
        sheet_groups: list[tuple[dict[str, str], dict[str, Cell]]] | None,
    ):
        self.reader = reader
        self.known = known
        self.groups: dict[str, dict[str, str]] = {}  # the groups the new file declares
        self.group_cells: dict[str, Cell | None] = {}
        # The workbook's `Nhóm` sheet lists the file's groups; without one (a CSV file), the groups
        # of the file being replaced are kept.
        for values, where in sheet_groups or []:
            self.groups[values["id"]] = values
            self.group_cells[values["id"]] = where.get("id")
        for group in known.replaced_groups if sheet_groups is None else []:
            self.groups[group["id"]] = group
            self.group_cells[group["id"]] = None
        self.new_groups: list[str] = []

    def ids(self, agencies: list[_Agency]) -> None:
        taken: set[str] = {a.values["id"] for a in agencies if "id" in a.values}
        taken |= set(self.known.agencies) | set(self.known.groups) | set(self.groups)
        generated = 0
        for agency in agencies:
            ident = agency.values.get("id")
            if ident is None:
                agency.values["id"] = ident = slugify(agency.values.get("name", ""), taken)
                taken.add(ident)
                generated += 1
                if generated <= GENERATED_ID_WARNINGS:  # a list without ids would give one per row
                    self.reader.warn(
                        agency.cells["name"],
                        f"chưa có Mã: dùng mã '{ident}' (ghi mã này vào cột Mã để giữ cố định về sau)",
                    )
            elif ident in self.known.agencies or ident in self.known.groups:
                name, where = self.known.agencies.get(ident) or self.known.groups[ident]
                self.reader.error(
                    agency.cells["id"],
                    f"mã '{ident}' đã được dùng ở {where}{f' ({name})' if name else ''}: mỗi đơn vị chỉ khai "
                    "báo ở một tệp; xóa đơn vị ở tệp kia, dùng mã khác, hoặc ghi đè đúng tệp đó (--out … --force)",
                )
            elif ident in self.groups:
                self.reader.error(agency.cells["id"], f"mã '{ident}' trùng với mã một nhóm: dùng mã khác")
        if generated > GENERATED_ID_WARNINGS:
            self.reader.warnings.append(
                Issue(
                    self.reader.grid.name,
                    "",
                    f"và {generated - GENERATED_ID_WARNINGS} đơn vị khác chưa có Mã, được đặt mã theo tên: "
                    "xem các mã trong tệp đã ghi, rồi ghi chúng vào cột Mã",
                )
            )

    def parents(self, agencies: list[_Agency]) -> None:
        """`Đơn vị cấp trên` and `Đơn vị kế thừa`, each an agency's id or its name."""
        for name, noun in (("parent", "đơn vị cấp trên"), ("succeeded_by", "đơn vị kế thừa")):
            self.references(agencies, name, noun)

    def references(self, agencies: list[_Agency], field_name: str, noun: str) -> None:
        ids = {a.values["id"] for a in agencies} | set(self.known.agencies)
        names: dict[str, list[str]] = {}
        for agency in agencies:
            names.setdefault(fold(agency.values.get("name", "")), []).append(agency.values["id"])
        for ident, (name, _) in self.known.agencies.items():
            names.setdefault(fold(name), []).append(ident)
        for agency in agencies:
            text = agency.values.get(field_name)
            if text is None or text.lower() in ids:
                if text is not None:
                    agency.values[field_name] = text.lower()
                continue
            matches = list(dict.fromkeys(names.get(fold(text), [])))
            if len(matches) == 1:
                agency.values[field_name] = matches[0]
            elif matches:
                self.reader.error(
                    agency.cells[field_name],
                    f"có {len(matches)} đơn vị tên '{text}' ({', '.join(matches[:5])}): ghi Mã của {noun}",
                )
            else:
                self.reader.error(
                    agency.cells[field_name],
                    f"không có đơn vị nào mã hoặc tên '{text}' trong bảng này và trong config/agencies/: "
                    f"ghi Mã của {noun} (thêm đơn vị đó vào danh sách nếu chưa có)",
                )

    def group_ids(self, agencies: list[_Agency]) -> None:
        by_id = {
            **{i: n for i, (n, _) in self.known.groups.items()},
            **{i: g["name"] for i, g in self.groups.items()},
        }
        by_name: dict[str, list[str]] = {}
        for ident, name in by_id.items():
            by_name.setdefault(fold(name), []).append(ident)
        for agency in agencies:
            resolved = []
            for item in agency.values.get("groups", []):
                group_id = self.group(item, by_id, by_name, agency)
                if group_id is not None and group_id not in resolved:
                    resolved.append(group_id)
            if "groups" in agency.values:
                agency.values["groups"] = resolved

    def group(
        self, item: str, by_id: dict[str, str], by_name: dict[str, list[str]], agency: _Agency
    ) -> str | None:
        cell = agency.cells["groups"]
        if item.lower() in by_id:
            return item.lower()
        matches = by_name.get(fold(item), [])
        if len(matches) == 1:
            return matches[0]
        if matches:
            self.reader.error(
                cell, f"có {len(matches)} nhóm tên '{item}' ({', '.join(matches[:5])}): ghi mã nhóm"
            )
            return None
        if re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", item):
            self.reader.error(
                cell,
                f"nhóm '{item}' chưa được khai báo: thêm vào trang '{GROUP_SHEET}' (Mã nhóm, Tên nhóm), "
                "hoặc ghi mã/tên một nhóm đã có trong config/agencies/",
            )
            return None
        ident = slugify(item, set(by_id) | set(self.known.agencies))
        self.groups[ident] = {"id": ident, "name": item}
        self.group_cells[ident] = cell
        self.new_groups.append(ident)
        by_id[ident] = item
        by_name.setdefault(fold(item), []).append(ident)
        self.reader.warn(cell, f"nhóm mới '{item}' được tạo với mã '{ident}'")
        return ident


def _contact_ids(agency: _Agency) -> None:
    """A contact without its own id is the agency's `focal`/`leader` (the loader's default) when that
    is free, else `focal-2`, `focal-3` …"""
    taken = {c.values["id"] for c in agency.contacts if "id" in c.values}
    for contact in agency.contacts:
        if "id" in contact.values:
            continue
        if contact.role not in taken:
            taken.add(contact.role)
            continue
        n = 2
        while f"{contact.role}-{n}" in taken:
            n += 1
        contact.values["id"] = f"{contact.role}-{n}"
        taken.add(contact.values["id"])


def _contact_name(contact: _Contact, agency: _Agency) -> None:
    """A contact whose name is blank is named after its title, or after the agency."""
    if contact.values.get("name"):
        return
    shown = agency.values.get("short_name") or agency.values.get("name", "")
    contact.values["name"] = contact.values.get("title") or (
        shown if contact.role == "focal" else f"Lãnh đạo {shown}"
    )


# --- the YAML file ------------------------------------------------------------------------------

_CONTACT_ORDER = (
    "id",
    "name",
    "role",
    "title",
    "email",
    "mobile",
    "zalo",
    "webhook",
    "addresses",
    "channels",
)


_PLAIN = re.compile(r"\w[\w .@+&'()/-]*(?<! )")  # text YAML reads as written, unquoted, also inside [ ]
_NULLS = {"null", "~"}


def _scalar(text: str) -> str:
    if _PLAIN.fullmatch(text) and text.lower() not in _NULLS:
        return text
    return json.dumps(text, ensure_ascii=False).replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _flow(value: Any) -> str:
    """A value on one line: text, [a, b] or {k: v}."""
    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    return _scalar(value)


def _yaml(groups: list[dict[str, str]], agencies: list[dict[str, Any]], source: str, today: date) -> str:
    """The agencies file, laid out as the sample configuration is (one line per contact). Written
    here rather than by PyYAML, whose representer takes seconds for a national list."""
    lines = [
        f"# Đơn vị và đầu mối nhập từ {source} ngày {format_date(today)} (nhacviec agencies import).\n",
        "# Sửa bảng tính rồi nhập lại (--force), hoặc sửa thẳng tệp này; kiểm tra bằng `nhacviec check`.\n",
    ]
    if groups:
        lines.append("groups:\n")
        lines += [f"  - {_flow(group)}\n" for group in groups]
    lines.append("agencies:\n")
    for agency in agencies:
        lead = "  - "
        for key, value in agency.items():
            if key == "contacts":
                lines.append("    contacts:\n")
                lines += [f"      - {_flow(contact)}\n" for contact in value]
            else:
                lines.append(f"{lead}{key}: {_flow(value)}\n")
            lead = "    "
    return "".join(lines)


def _provenance(
    drafts: list[_Agency], columns: dict[str, Column], groups: list[str], group_cells: dict[str, Cell | None]
) -> dict[str, Cell | None]:
    """Dotted path in the YAML file → the cell it came from."""
    cells: dict[str, Cell | None] = {}
    for i, ident in enumerate(groups):
        cells[f"groups[{i}]"] = group_cells.get(ident)
    for i, agency in enumerate(drafts):
        base = f"agencies[{i}]"
        cells[base] = agency.cells.get("id") or agency.cells.get("name") or (agency.row, 0)
        if "name" not in agency.cells and "name" in columns:
            cells[f"{base}.name"] = (agency.row, columns["name"].index)
        for name, cell in agency.cells.items():
            cells[f"{base}.{name}"] = cell
        for k, contact in enumerate(agency.contacts):
            cells[f"{base}.contacts[{k}]"] = contact.cells[""]
            for name, cell in contact.cells.items():
                if name:
                    cells[f"{base}.contacts[{k}].{name}"] = cell
    return cells


def _cell_of(path: str, cells: dict[str, Cell | None]) -> Cell | None:
    while path:
        if path in cells:
            return cells[path]
        path = re.sub(r"(\[\d+\]|\.[^.\[]*)$", "", path)
    return None


# --- import -------------------------------------------------------------------------------------


def import_sheet(
    path: Path,
    config_dir: Path,
    out: Path | None = None,
    *,
    sheet: str | None = None,
    settings: Settings | None = None,
    today: date | None = None,
) -> Imported:
    """Read the sheet and return the agencies file it makes, checked with the configuration in
    `config_dir` as it will be once `out` is written (or replaced); raise SheetInvalid otherwise."""
    if out is not None and out.suffix != ".yaml":
        raise _refuse(str(out), "tệp đơn vị phải có đuôi .yaml (nhacviec chỉ đọc config/agencies/*.yaml)")
    grid, group_grid = read_file(path, sheet)
    errors: list[Issue] = []
    warnings_: list[Issue] = []
    found = _find_header(grid, errors, warnings_)
    if found is None:
        raise SheetInvalid(errors, warnings_)
    position, columns = found
    known = _known(config_dir, out)
    sheet_groups = None if group_grid is None else _read_groups(group_grid, known, errors, warnings_)
    reader = _Reader(grid, columns)
    drafts = reader.read(grid.rows[position + 1 :])
    resolver = _Resolver(reader, known, sheet_groups)
    resolver.ids(drafts)
    resolver.parents(drafts)
    resolver.group_ids(drafts)
    for agency in drafts:
        _contact_ids(agency)
        for contact in agency.contacts:
            _contact_name(contact, agency)
    errors += reader.errors
    warnings_ += reader.warnings
    if not drafts and not errors:
        errors.append(
            Issue(grid.where(grid.rows[position][0]), "", "bảng không có đơn vị nào dưới dòng tiêu đề")
        )
    if errors:
        raise SheetInvalid(errors, warnings_)

    groups = list(resolver.groups.values())
    agencies = [_agency_yaml(a) for a in drafts]
    text = _yaml(groups, agencies, path.name, today or date.today())
    cells = _provenance(drafts, columns, list(resolver.groups), resolver.group_cells)
    loader_errors, loader_warnings = _check_with_config(text, config_dir, out, settings, grid, cells, reader)
    warnings_ += loader_warnings
    if loader_errors:
        raise SheetInvalid(loader_errors, warnings_)
    return Imported(
        text=text,
        agencies=len(agencies),
        contacts=sum(len(a.contacts) for a in drafts),
        groups=len(groups),
        new_groups=resolver.new_groups,
        warnings=warnings_,
        sheet=grid.name,
    )


def _agency_yaml(agency: _Agency) -> dict[str, Any]:
    entry: dict[str, Any] = {k: agency.values[k] for k in AGENCY_FIELDS if k in agency.values}
    contacts = []
    for contact in agency.contacts:
        values = {**contact.values, **({"role": "leader"} if contact.role == "leader" else {})}
        item = {k: values[k] for k in _CONTACT_ORDER if k in values}
        if "fallback" in values:
            item["fallback"] = values["fallback"]
        contacts.append(item)
    if contacts:
        entry["contacts"] = contacts
    return entry


def _check_with_config(
    text: str,
    config_dir: Path,
    out: Path | None,
    settings: Settings | None,
    grid: Grid,
    cells: dict[str, Cell | None],
    reader: _Reader,
) -> tuple[list[Issue], list[Issue]]:
    """Load the configuration as it will be with the new file, with the loader that `check` uses:
    a copy of `config_dir` made of links, the replaced file left out. Problems in the new file are
    reported at their cells; those it causes elsewhere (a plan that names an agency no longer
    listed) at their `file:line`."""
    with tempfile.TemporaryDirectory(prefix="nhacviec-agencies-") as tmp:
        root = Path(tmp) / "config"
        (root / "agencies").mkdir(parents=True)
        if config_dir.is_dir():
            for entry in config_dir.iterdir():
                if entry.name != "agencies":
                    (root / entry.name).symlink_to(entry.resolve())
            for file in sorted((config_dir / "agencies").glob("*.yaml")):
                if not _same_file(file, out):
                    (root / "agencies" / file.name).symlink_to(file.resolve())
        else:  # no configuration yet: the file alone, with the one policy a configuration needs
            (root / "policies.yaml").write_text(
                "default: d\npolicies:\n  - {id: d, deadline: [{offset: 0d}]}\n", encoding="utf-8"
            )
        name = out.name if out is not None and out.suffix == ".yaml" else "bang-tinh.yaml"
        while (root / "agencies" / name).exists():
            name = "_" + name
        new = root / "agencies" / name
        new.write_text(text, encoding="utf-8")
        try:
            deployment = load_config(root, settings)
            problems, notes = [], deployment.warnings
        except ConfigInvalid as exc:
            problems, notes = exc.errors, []

        def issue(error: ConfigError) -> Issue:
            if error.file == str(new):
                cell = _cell_of(error.field, cells)
                message = _in_columns(error.message)
                if cell is not None:
                    return Issue(grid.where(*cell), reader.header(cell[1]), message)
                return Issue(grid.name, error.field, message)
            shown = error.file.replace(str(root), str(config_dir), 1)
            return Issue(f"{shown}:{error.line}", error.field, error.message)

        return [issue(e) for e in problems], [issue(w) for w in notes]


_LIFETIME_KEYS = re.compile(r"\b(valid_from|valid_until|succeeded_by)\b")


def _in_columns(message: str) -> str:
    """A loader message about the new file, with the YAML keys of an agency's life named by the
    columns that hold them ("succeeded_by cần valid_until" → "'Đơn vị kế thừa …' cần 'Hiệu lực
    đến ngày'"): the office fixes the sheet, which has no such keys."""
    return _LIFETIME_KEYS.sub(lambda m: f"'{HEADERS[m[1]]}'", message)


# --- export -------------------------------------------------------------------------------------


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    groups: list[list[str]]  # [Mã nhóm, Tên nhóm]
    agencies: int
    contacts: int


def agencies_in(file: Path) -> tuple[list[str], list[str]]:
    """(agency ids, group ids) declared in one agencies file."""
    doc = read_yaml(file)
    data = doc.data if isinstance(doc.data, dict) else {}

    def ids(section: str) -> list[str]:
        entries = data.get(section)
        return [
            e["id"]
            for e in (entries if isinstance(entries, list) else [])
            if isinstance(e, dict) and "id" in e
        ]

    return ids("agencies"), ids("groups")


def export_table(deployment: Deployment, only: tuple[list[str], list[str]] | None = None) -> Table:
    """The deployment's agencies (or those of one file) as rows, one per agency; an agency's further
    contacts go on rows below with its Mã, in the order the configuration lists them."""
    wanted = None if only is None else set(only[0])
    agency_ids = [a for a in deployment.agencies if wanted is None or a in wanted]
    specs = [deployment.agencies[a] for a in agency_ids]
    used = {f"{c.role}.{f}" for s in specs for c in s.contacts for f in CONTACT_FIELDS if _contact_cell(c, f)}
    used |= {f for s in specs for f in ("valid_from", "valid_until", "succeeded_by") if getattr(s, f)}
    fields = [f for f in HEADERS if f in ALWAYS or f in used]
    rows: list[list[str]] = []
    for number, spec in enumerate(specs, start=1):
        for k, pair in enumerate(_pack(spec.contacts)):
            values = {"id": spec.id}
            if k == 0:
                values |= {
                    "stt": str(number),
                    "name": spec.name,
                    "short_name": spec.short_name or "",
                    "parent": spec.parent or "",
                    "groups": "; ".join(spec.groups),
                    "valid_from": format_date(spec.valid_from) if spec.valid_from else "",
                    "valid_until": format_date(spec.valid_until) if spec.valid_until else "",
                    "succeeded_by": spec.succeeded_by or "",
                }
            for role, contact in pair.items():
                if contact is not None:
                    values |= {f"{role}.{f}": _contact_cell(contact, f) for f in CONTACT_FIELDS}
            rows.append([values.get(f, "") for f in fields])
    used_groups = {g for s in specs for g in s.groups} | set(only[1] if only is not None else ())
    group_ids = [g for g in deployment.groups if only is None or g in used_groups]
    groups = [[g, deployment.groups[g].name] for g in group_ids]
    return Table([HEADERS[f] for f in fields], rows, groups, len(specs), sum(len(s.contacts) for s in specs))


def _pack(contacts: list[ContactSpec]) -> list[dict[str, ContactSpec | None]]:
    """Contacts into rows of (focal, leader) so that reading the rows left to right, top to bottom
    gives them back in their order."""
    rows: list[dict[str, ContactSpec | None]] = []
    for contact in contacts:
        current = rows[-1] if rows else None
        if (
            current is None
            or current[contact.role] is not None
            or (contact.role == "focal" and current["leader"] is not None)
        ):
            current = {"focal": None, "leader": None}
            rows.append(current)
        current[contact.role] = contact
    return rows or [{"focal": None, "leader": None}]


def _contact_cell(contact: ContactSpec, name: str) -> str:
    value = getattr(contact, name)
    if name in ("mobile", "zalo") and value:
        return _national(value)
    if name in ("channels", "fallback"):
        return "" if value is None else ("; ".join(value) or NO_CHANNEL)
    if name == "addresses":
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    return value or ""


def write_xlsx(table: Table, target: Path) -> None:
    # Not openpyxl's write-only mode: that one writes no sheet size (<dimension>), and openpyxl
    # then reads such a sheet twice when it is imported again.
    book = Workbook()
    book.remove(book.worksheets[0])  # the empty sheet a new workbook starts with
    _sheet(book, AGENCY_SHEET, table.headers, table.rows)
    _sheet(book, GROUP_SHEET, [GROUP_HEADERS["id"], GROUP_HEADERS["name"]], table.groups)
    book.save(target)


def _sheet(book: Workbook, title: str, headers: list[str], rows: list[list[str]]) -> None:
    """Every cell is text, whatever it holds: `=…` is never a formula, and the phone columns are
    formatted as text so that a number typed there later keeps its leading 0. The dates of an
    agency's life are real dates, shown dd/mm/yyyy."""
    ws = book.create_sheet(title)
    ws.freeze_panes = "A2"
    phones = {f"{r}.{f}" for r in ROLES for f in ("mobile", "zalo")}
    bold = Font(bold=True)
    text_columns = set()
    date_columns = {
        column for column, header in enumerate(headers, start=1) if field_of(header) in DATE_FIELDS
    }
    for column, header in enumerate(headers, start=1):
        letter = get_column_letter(column)
        width = max([len(header), *(len(row[column - 1]) for row in rows[:200])]) + 2
        ws.column_dimensions[letter].width = min(width, 50)
        if field_of(header) in phones:
            ws.column_dimensions[letter].number_format = "@"
            text_columns.add(column)
        ws.cell(1, column, header).font = bold
    for number, row in enumerate(rows, start=2):
        for column, value in enumerate(row, start=1):
            if value and column in date_columns:
                ws.cell(number, column, parse_date(value)).number_format = DATE_FORMAT
            elif value:
                cell = ws.cell(number, column, value)
                cell.data_type = "s"
                if column in text_columns:
                    cell.number_format = "@"


def write_csv(table: Table, stream: TextIO, bom: bool = True) -> None:
    """UTF-8 with a BOM (so that Excel reads the accents), `,` between cells; a cell that Excel
    would take for a formula (=, +, -, @) is written after an apostrophe, which import removes."""
    if bom:
        stream.write("\ufeff")
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow([f"'{v}" if len(v) > 1 and v[0] in _FORMULA_START else v for v in row])
