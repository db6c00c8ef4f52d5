"""Write .docx and .pdf test documents from Markdown-ish text like the seed plans.

The dialect is the seeds': every non-blank line is a paragraph, except that a line
ending in two spaces (a Markdown hard break) goes on in the same paragraph; blank lines
only separate. `#`..`######` start a heading, `**bold**`, `*italic*` and `***both***`
mark emphasis, `| a | b |` lines make a table (its `|---|` row is skipped) and `---`
alone is a rule, which is skipped.

`write_docx` puts emphasis in bold and italic runs, headings in Word heading styles,
hard breaks as line breaks (w:br) and tables as Word tables. `write_pdf` lays the text
out like a printed plan: A4, justified, first lines indented, a little space after each
paragraph (all adjustable), automatic line wrapping across pages, a page-number footer
on every page and, if asked, a running header; table rows become lines "a | b".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import docx
from fpdf import FPDF

TESTS = Path(__file__).resolve().parents[1]
FONT = TESTS / "fonts" / "DejaVuSans-vi.ttf"
CORPUS = TESTS / "import_corpus"
SHARED_SEEDS = TESTS.parents[1] / "shared" / "seeds"

_HEADING = re.compile(r"(#{1,6})\s+(.*?)(?:\s+#+)?\s*$")
_RULE = re.compile(r"\s*(?:-{3,}|\*{3,}|_{3,})\s*")
_TABLE_SEPARATOR = re.compile(r"\s*\|?[\s|:-]*-[\s|:-]*\|?\s*")
_EMPHASIS = re.compile(r"(\*{1,3})(?=\S)(.+?)(?<=\S)\1")


def seed_text(name: str) -> str:
    """A seed plan's text: from tests/import_corpus, else from ../shared/seeds."""
    for folder in (CORPUS, SHARED_SEEDS):
        if (folder / name).is_file():
            return (folder / name).read_text(encoding="utf-8")
    raise FileNotFoundError(f"{name}: neither in {CORPUS} nor in {SHARED_SEEDS}")


@dataclass
class Run:
    text: str
    bold: bool = False
    italic: bool = False


@dataclass
class Block:
    """A heading (level > 0), a paragraph (its lines are hard-broken), or a table."""

    level: int = 0
    lines: list[list[Run]] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


def runs(text: str) -> list[Run]:
    """`a **b** *c*` → runs a, b (bold), c (italic)."""
    result = []
    position = 0
    for match in _EMPHASIS.finditer(text):
        if match.start() > position:
            result.append(Run(text[position : match.start()]))
        stars = len(match[1])
        result.append(Run(match[2], bold=stars >= 2, italic=stars != 2))
        position = match.end()
    if position < len(text):
        result.append(Run(text[position:]))
    return result


def plain(text: str) -> str:
    return "".join(run.text for run in runs(text))


def blocks(text: str) -> list[Block]:
    """Split Markdown-ish text into headings, paragraphs and tables."""
    result: list[Block] = []
    continued = False  # the previous line ended in a hard break
    for line in text.splitlines():
        stripped = line.strip()
        heading = _HEADING.fullmatch(stripped)
        if not stripped or _RULE.fullmatch(stripped):
            continued = False
        elif heading:
            result.append(Block(level=len(heading[1]), lines=[runs(heading[2])]))
            continued = False
        elif stripped.startswith("|"):
            if not (result and result[-1].rows):
                result.append(Block())
            if not _TABLE_SEPARATOR.fullmatch(stripped):
                result[-1].rows.append([plain(cell.strip()) for cell in stripped.strip("|").split("|")])
            continued = False
        else:
            if continued:
                result[-1].lines.append(runs(stripped))
            else:
                result.append(Block(lines=[runs(stripped)]))
            continued = line.endswith("  ")
    return result


def write_docx(text: str, path: Path) -> Path:
    """Write Markdown-ish `text` as a Word document: styled runs, Word headings, tables."""
    document = docx.Document()
    for block in blocks(text):
        if block.rows:
            width = max(len(row) for row in block.rows)
            table = document.add_table(rows=len(block.rows), cols=width)
            for row, cells in zip(table.rows, block.rows, strict=True):
                for cell, cell_text in zip(row.cells, cells, strict=False):
                    cell.text = cell_text
        elif block.level:
            document.add_heading(_line_text(block.lines[0]), level=min(block.level, 9))
        else:
            paragraph = document.add_paragraph()
            for index, line in enumerate(block.lines):
                if index:
                    paragraph.add_run().add_break()
                for run in line:
                    styled = paragraph.add_run(run.text)
                    styled.bold = run.bold or None
                    styled.italic = run.italic or None
    document.save(str(path))
    return path


def _line_text(line: list[Run]) -> str:
    return "".join(run.text for run in line)


class _PlanPdf(FPDF):
    def __init__(self, header_text: str | None) -> None:
        super().__init__(format="A4")
        self.header_text = header_text

    def header(self) -> None:
        if self.header_text:
            self.set_font("DejaVu", size=8)
            self.cell(0, 5, f"{self.header_text} — trang {self.page_no()}", align="C")
            self.ln(10)

    def footer(self) -> None:
        self.set_y(-15)
        self.set_font("DejaVu", size=8)
        self.cell(0, 5, f"Trang {self.page_no()}/{{nb}}", align="C")


def write_pdf(
    text: str,
    path: Path,
    header: str | None = None,
    *,
    indent: float = 10,
    spacing: float = 2,
    align: str = "J",
    font_size: float = 11,
) -> Path:
    """Write Markdown-ish `text` as a printed-looking PDF (DejaVu Sans from tests/fonts).

    Every page has the footer "Trang N/M"; with `header`, also the running header
    "<header> — trang N". The reader drops a header only when it repeats, so give one
    to documents of two pages or more. `indent` (first lines) and `spacing` (after each
    paragraph) are in mm; `align` is "J" (justified) or "L".
    """
    pdf = _PlanPdf(header)
    pdf.add_font("DejaVu", "", str(FONT))
    pdf.set_margins(20, 15, 20)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    pdf.set_font("DejaVu", size=font_size)
    with pdf.text_columns(text_align=align, line_height=1.2) as columns:
        for block in blocks(text):
            lines = [" | ".join(row) for row in block.rows] or [_line_text(line) for line in block.lines]
            for line in lines:
                with columns.paragraph(first_line_indent=indent, bottom_margin=spacing) as paragraph:
                    paragraph.write(line)
    pdf.output(str(path))
    return path
