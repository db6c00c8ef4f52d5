"""`nhacviec import DOCUMENT`: read the document, propose the plan file, print what needs a person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from importer.document import DocumentError, read_document
from importer.extract import Findings, extract
from importer.proposal import plan_yaml
from importer.rules import slug
from scheduler.terminal import styled


@dataclass
class ImportFailed(Exception):
    """The import cannot go on; `code` is the exit status (1: nothing found, 2: bad input)."""

    message: str
    code: int = 2


def import_document(
    document: Path, out: Path | None, year: int | None, force: bool, today: date
) -> tuple[Findings, str]:
    """Read `document`; return (findings, plan text). Writes `out` when given."""
    if out is not None and out.exists() and not force:
        raise ImportFailed(f"{out}: tệp đã có; chọn tên khác cho --out hoặc thêm --force để ghi đè")
    try:
        doc = read_document(document)
    except DocumentError as exc:
        raise ImportFailed(str(exc)) from None
    found = extract(doc.paragraphs, doc.locations, year)
    if found.year is None:
        raise ImportFailed(f"{document}: không xác định được năm của kế hoạch; hãy ghi --year YYYY")
    if found.is_empty():
        raise ImportFailed(
            f"{document}: không tìm thấy hạn báo cáo, đợt hoạt động hay ngày kỷ niệm nào "
            f"({len(doc.paragraphs)} đoạn văn đã đọc); kiểm tra đúng văn bản kế hoạch chưa",
            code=1,
        )
    plan_id = slug((out or document).stem.removesuffix(".yaml"), words=12)
    text = plan_yaml(found, plan_id, document.name, today)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
    return found, text


def print_summary(found: Findings, console: Console, out: Path | None) -> None:
    """What was found, and what a person must still decide."""
    table = Table(title=f"Kế hoạch năm {found.year}: {found.title or '(chưa rõ tên)'}", title_justify="left")
    for column in ("Loại", "Ngày", "Nội dung", "Đơn vị nộp", "Tin cậy", "Cần người xem"):
        table.add_column(column, overflow="fold")
    for d in found.deadlines:
        when = _deadline_when(d.due, d.recurrence, d.day)
        table.add_row(
            "hạn",
            when,
            d.title,
            "; ".join(d.who) or "(mọi đơn vị)",
            f"{d.confidence:.2f}",
            "; ".join(d.review),
        )
    for w in found.windows:
        note = "ngày theo lệ hằng năm" if w.named else ""
        table.add_row("đợt", f"{w.start:%d/%m}–{w.end:%d/%m}", w.title, "", f"{w.confidence:.2f}", note)
    for o in found.observances:
        table.add_row("kỷ niệm", f"{o.day:02d}/{o.month:02d}", o.title, "", f"{o.confidence:.2f}", "")
    console.print(table)
    flagged = sum(1 for d in found.deadlines if d.review)
    console.print(
        f"Tìm thấy {len(found.deadlines)} hạn, {len(found.windows)} đợt, {len(found.observances)} ngày kỷ niệm. "
        f"Cần người: gắn các vai trò (roles) với đơn vị trong config/agencies/; {flagged} mục có review.",
        highlight=False,
    )
    if found.contacts:
        console.print(f"Liên hệ ghi trong văn bản: {', '.join(found.contacts)}", highlight=False)
    for note in found.notes:
        console.print(styled("lưu ý", "yellow", f" {note}"), highlight=False)
    if out is not None:
        console.print(f"Đã ghi {out}. Sửa xong thì chạy: nhacviec check", highlight=False)


def _deadline_when(due: date | None, recurrence: str, day: int | None) -> str:
    if recurrence == "monthly":
        return f"ngày {day} hằng tháng" if day else "hằng tháng (chưa rõ ngày)"
    if recurrence == "quarterly":
        return f"ngày {day} tháng cuối quý" if day else "hằng quý (chưa rõ ngày)"
    if due is None:
        return "(chưa rõ)"
    return f"{due:%d/%m} hằng năm" if recurrence == "yearly" else f"{due:%d/%m/%Y}"
