"""`nhacviec import DOCUMENT`: read the document (importer/), propose the plan file, print what needs a person."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from rich.console import Console
from rich.table import Table

from importer.document import DocumentError, read_document
from importer.extract import Findings, extract
from importer.matching import Known, known_agencies
from importer.proposal import propose
from importer.rules import slug
from scheduler.cli.terminal import styled


@dataclass
class ImportFailed(Exception):
    """The import cannot go on; `code` is the exit status (1: nothing found, 2: bad input)."""

    message: str
    code: int = 2


def import_document(
    document: Path,
    out: Path | None,
    year: int | None,
    force: bool,
    today: date,
    config_dir: Path | None = None,
) -> tuple[Findings, str]:
    """Read `document`; return (findings, plan text). Writes `out` when given. The roles it names
    are matched against the agencies and groups of `config_dir` (`found.roles`)."""
    if out is not None and out.exists() and not force:
        raise ImportFailed(f"{out}: tệp đã có; chọn tên khác cho --out hoặc thêm --force để ghi đè")
    try:
        doc = read_document(document)
    except DocumentError as exc:
        raise ImportFailed(str(exc)) from None
    found = extract(doc.paragraphs, doc.locations, year, first_year=today.year)
    if found.year is None:
        why = next((n for n in found.notes if "--year" in n), "không xác định được năm của kế hoạch")
        raise ImportFailed(f"{document}: {why.removesuffix(': dùng --year')}; hãy ghi --year YYYY")
    if found.is_empty():
        raise ImportFailed(
            f"{document}: không tìm thấy hạn báo cáo, đợt hoạt động hay ngày kỷ niệm nào "
            f"({len(doc.paragraphs)} đoạn văn đã đọc); kiểm tra đúng văn bản kế hoạch chưa",
            code=1,
        )
    plan_id = slug((out or document).stem.removesuffix(".yaml"), words=12)
    known: list[Known] = []
    if config_dir is not None:
        known, notes = known_agencies(config_dir)
        found.notes.extend(notes)
    proposal = propose(found, plan_id, document.name, today, known)
    found.roles, text = proposal.roles, proposal.text
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
    if any(role.candidates for role in found.roles):
        _print_roles(found, console)
    flagged = sum(1 for d in found.deadlines if d.review)
    proposed = sum(1 for role in found.roles if role.proposed)
    roles = (
        f"xác nhận {proposed} vai trò đã gắn theo tên, gắn {len(found.roles) - proposed} vai trò còn lại"
        if proposed
        else "gắn các vai trò (roles)"
    )
    console.print(
        f"Tìm thấy {len(found.deadlines)} hạn, {len(found.windows)} đợt, {len(found.observances)} ngày kỷ niệm. "
        f"Cần người: {roles} với đơn vị trong config/agencies/; {flagged} mục có review.",
        highlight=False,
    )
    if found.contacts:
        console.print(f"Liên hệ ghi trong văn bản: {', '.join(found.contacts)}", highlight=False)
    for note in found.notes:
        console.print(styled("lưu ý", "yellow", f" {note}"), highlight=False)
    if out is not None:
        console.print(f"Đã ghi {out}. Sửa xong thì chạy: nhacviec check", highlight=False)


def _print_roles(found: Findings, console: Console) -> None:
    """Each role with the agency or group proposed for it and the other candidates, with their scores."""
    table = Table(title="Vai trò và đơn vị gợi ý (độ tương đồng tên, 0–1)", title_justify="left")
    for column in ("Vai trò", "Văn bản ghi", "Đề xuất", "Gợi ý khác"):
        table.add_column(column, overflow="fold")
    for role in found.roles:
        best = role.proposed
        proposed = f"{best.id} «{best.name}» {best.score:.2f}" if best else "(chưa có: chọn trong gợi ý)"
        others = "; ".join(f"{c.id} {c.score:.2f}" for c in role.candidates if c is not best)
        table.add_row(role.id, role.text, proposed, others)
    console.print(table)


def _deadline_when(due: date | None, recurrence: str, day: int | None) -> str:
    if recurrence == "monthly":
        return f"ngày {day} hằng tháng" if day else "hằng tháng (chưa rõ ngày)"
    if recurrence == "quarterly":
        return f"ngày {day} tháng cuối quý" if day else "hằng quý (chưa rõ ngày)"
    if due is None:
        return "(chưa rõ)"
    return f"{due:%d/%m} hằng năm" if recurrence == "yearly" else f"{due:%d/%m/%Y}"
