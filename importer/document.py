"""Read a plan document (.txt, .md, .docx, .pdf) into clean paragraphs, each with its location.

Every format is first reduced to (raw line, location) pairs; one normaliser,
`clean_paragraphs`, then turns those into paragraphs, so a plan gives the same
paragraphs whichever format it arrives in. The normaliser:

- maps the text to Unicode NFC, turns odd spaces (NBSP, thin spaces, tabs) into plain
  spaces, drops zero-width characters, soft hyphens and control characters, and
  collapses runs of spaces;
- strips Markdown: heading markers, emphasis (`**x**`, `*x*`, `_x_`, ...), backslash
  escapes, thematic breaks; a table row `| a | b |` becomes the one paragraph `a | b`
  (a Word table row becomes the same);
- drops page furniture: lines that are only a page number ("2", "- 2 -", "Trang 2/10"),
  and short labels left dangling at the very end ("Nguồn tin:");
- joins a line broken inside a sentence to the line before it (see `clean_paragraphs`).

A PDF also loses its running header and footer, and the lines that the page layout
wrapped are put back together from their positions before the normaliser runs
(`_reflow`), so that a wrapped sentence reads as one paragraph even where the next line
starts with a capital or a number.

Limits keep garbage and huge inputs bounded in time and memory; each is checked before
the expensive step it guards (the size from `stat()` before reading a byte):

- `MAX_TEXT_FILE_BYTES` (20 MB) for .txt/.md: a plan is at most a few hundred KB of text;
- `MAX_PACKED_FILE_BYTES` (100 MB) for .docx/.pdf, which may carry scans and pictures;
- `MAX_DOCX_XML_BYTES` (50 MB) for word/document.xml unpacked and
  `MAX_DOCX_UNPACKED_BYTES` (200 MB) for the whole package unpacked: zip bombs. The sizes
  the zip headers declare are not trusted: every part is inflated once, chunk by chunk,
  counting the bytes, before python-docx (which inflates each part whole) opens the file;
- `MAX_PDF_PAGES` (500) and `MAX_TEXT_CHARS` (5 million characters, ~2,000 full pages)
  of extracted text.
"""

from __future__ import annotations

import codecs
import copy
import logging
import math
import re
import statistics
import unicodedata
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

MB = 1024 * 1024
MAX_TEXT_FILE_BYTES = 20 * MB
MAX_PACKED_FILE_BYTES = 100 * MB
MAX_DOCX_XML_BYTES = 50 * MB
MAX_DOCX_UNPACKED_BYTES = 200 * MB
MAX_PDF_PAGES = 500
MAX_TEXT_CHARS = 5_000_000
_INFLATE_CHUNK = MB  # what the running count of a .docx part holds at a time

SUPPORTED = (".txt", ".md", ".docx", ".pdf")


class DocumentError(Exception):
    """The document cannot be read; the message says why and what to do (Vietnamese)."""


@dataclass(frozen=True)
class Document:
    name: str  # the file's name, as in the locations
    paragraphs: list[str]  # clean paragraphs in order, each one line
    locations: list[str]  # where each paragraph starts: "kh.txt:57", "kh.docx:đoạn 41", "kh.pdf:trang 3"

    @property
    def text(self) -> str:
        return "\n".join(self.paragraphs)


def read_document(path: Path) -> Document:
    """Read a .txt, .md, .docx or .pdf plan (suffix in any case) into clean paragraphs."""
    path = Path(path)
    if path.is_dir():
        raise DocumentError(f"{path}: đây là thư mục, không phải tệp; hãy chỉ ra một tệp {_supported_list()}")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        shown = f"định dạng “{path.suffix}”" if path.suffix else "tệp không có phần đuôi"
        raise DocumentError(
            f"{path}: không đọc được {shown}; chỉ hỗ trợ {_supported_list()} — "
            "hãy lưu tài liệu sang một trong các dạng này"
        )
    limit = MAX_TEXT_FILE_BYTES if suffix in (".txt", ".md") else MAX_PACKED_FILE_BYTES
    if _file_size(path, limit) == 0:
        return Document(path.name, [], [])
    reader = {".txt": _text_lines, ".md": _text_lines, ".docx": _docx_lines, ".pdf": _pdf_lines}[suffix]
    paragraphs, locations = clean_paragraphs(reader(path))
    if _legacy_encoding("\n".join(paragraphs[:2000])):
        raise DocumentError(
            f"{path}: văn bản gõ bằng bảng mã cũ (TCVN3/ABC hoặc VNI), không phải Unicode "
            "(ví dụ «KÕ ho¹ch» thay cho «Kế hoạch»); hãy chuyển mã sang Unicode (Unikey: Công cụ "
            "chuyển mã) rồi nhập lại"
        )
    return Document(path.name, paragraphs, locations)


# Characters that Vietnamese never uses but text typed in the old TCVN3 (.VnTime) or VNI fonts
# is full of once read as Unicode: "KÕ ho¹ch thùc hiÖn", "Keá hoaïch thöïc hieän".
_LEGACY = set("¸µ¶·¹¨©®ª«¬»¼½¾¿ÆÇËÎÏÑÖ×ØÛÜÞßæçëîïñö÷øûüþÿ")


def _legacy_encoding(text: str) -> bool:
    legacy = sum(c in _LEGACY for c in text)
    vietnamese = sum("\u1ea0" <= c <= "\u1ef9" or c in "ăâđêôơưĂÂĐÊÔƠƯ" for c in text)
    return legacy >= 20 and legacy > vietnamese


def _supported_list() -> str:
    return ", ".join(SUPPORTED[:-1]) + " hoặc " + SUPPORTED[-1]


def _file_size(path: Path, limit: int) -> int:
    """The file's size, refused above `limit` before anything is read."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise DocumentError(f"{path}: không tìm thấy tệp; hãy kiểm tra lại tên và đường dẫn") from None
    except OSError as exc:
        raise DocumentError(f"{path}: không mở được tệp ({exc.strerror}); hãy kiểm tra quyền đọc") from None
    if size > limit:
        raise DocumentError(
            f"{path}: tệp quá lớn ({size / MB:.1f} MB, giới hạn {limit // MB} MB); "
            "hãy chỉ đưa vào phần văn bản kế hoạch hoặc tách thành tệp nhỏ hơn"
        )
    return size


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"{path}: không mở được tệp ({exc.strerror}); hãy kiểm tra quyền đọc") from None


def _too_much_text(path: Path) -> DocumentError:
    limit = f"{MAX_TEXT_CHARS:,}".replace(",", ".")
    return DocumentError(
        f"{path}: tài liệu có hơn {limit} ký tự, vượt giới hạn; hãy chỉ đưa vào phần văn bản kế hoạch"
    )


# --- the normaliser -------------------------------------------------------------------------------

_SPACES = (
    "\t\v\f\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
)
_INVISIBLE = "\u00ad\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff"
_CONTROLS = [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)]
_CHARS = str.maketrans(
    {
        **dict.fromkeys(_CONTROLS, None),
        **dict.fromkeys(map(ord, _INVISIBLE), None),
        **dict.fromkeys(map(ord, _SPACES), " "),
        **{
            0xFB00: "ff",
            0xFB01: "fi",
            0xFB02: "fl",
            0xFB03: "ffi",
            0xFB04: "ffl",
            0xFB05: "st",
            0xFB06: "st",
        },
    }
)
# Markdown escapes are swapped for private-use characters while emphasis is removed.
_ESCAPE_BASE = 0xF0000
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
_PLACEHOLDER = re.compile("[\U000f0021-\U000f007e]")
_HEADING = re.compile(r"#{1,6}(?:\s+|$)")
_HEADING_CLOSE = re.compile(r"(?:^|\s+)#+$")
_RULE = re.compile(r"(?:(?:\*\s*){3,}|(?:-\s*){3,}|(?:_\s*){3,}|=+)")
_TABLE_SEPARATOR = re.compile(r"[\s|:-]*-[\s|:-]*")
_CELL_BORDER = re.compile(r"(?<!\\)\|")
# A marker opens before a non-space and closes after one; the content holds no marker of
# its kind, so one pass is linear, and nested emphasis goes in a second pass.
_STARS = re.compile(r"(?<![*\\])(\*{1,3})(?![\s*])([^*]+?)(?<![\s*])\1(?!\*)")
_UNDERSCORES = re.compile(r"(?<![\w\\])(_{1,3})(?![\s_])([^_]+?)(?<![\s_])\1(?!\w)")
_DANGLING = re.compile(r"^(?:\*{2,3}|_{2,3})(?=[^\s*_])|(?<=[^\s*_\\])(?:\*{2,3}|_{2,3})$")
_PAGE_NUMBER = re.compile(
    r"[-–—\s]*\d{1,3}[-–—\s]*|(?:trang|page)\s*\d{1,3}(?:\s*(?:/|trên|of)\s*\d{1,3})?",
    re.IGNORECASE,
)
_PAGE_OF = re.compile(r"(\d{1,3})\s*/\s*(\d{1,3})")
_ROMAN_HEADING = re.compile(r"[IVXLC]+\.\s")
# "a) ", "b. ", "(c) ", "iv) " start an item though they start with a lowercase letter.
_LETTER_ITEM = re.compile(r"\(?(?:[a-zđ]|[ivx]{1,4})[.)]\s")
# Any item marker: a bullet, "2.", "1.2.", "a)", "IV."
_ITEM = re.compile(r"(?:[-+*•◦▪●–]|\d{1,2}(?:\.\d{1,2})*[.)]|\(?[a-zđ][.)]|[IVXLC]+\.)\s+")
_OPENERS = "([{\"'“‘«"
_CLOSERS = ")]}\"'”’»"
_SENTENCE_END = ".:;!?…"


def clean_paragraphs(lines: Iterable[tuple[str, str]]) -> tuple[list[str], list[str]]:
    """(raw line, location) pairs → (paragraphs, locations); the one normaliser of every format.

    Blank lines and page furniture separate paragraphs but are never kept. A line is
    joined to the paragraph before it, with one space, when that paragraph may go on
    (it is plain text, not a heading or a table row, and does not end a sentence) and
    the line starts with a lowercase letter — even across blank lines.
    """
    paragraphs: list[str] = []
    locations: list[str] = []
    open_ended = False  # may the last paragraph take the next lowercase line?
    for raw, location in lines:
        for piece in raw.splitlines() or [""]:
            line, kind = _clean_line(piece)
            if not line:
                continue
            if kind == "text" and open_ended and _continues(line):
                paragraphs[-1] += " " + line
            else:
                paragraphs.append(line)
                locations.append(location)
            open_ended = (
                kind == "text" and not _ends_sentence(paragraphs[-1]) and not _is_heading(paragraphs[-1])
            )
    while paragraphs and _is_dangling_label(paragraphs[-1]):
        paragraphs.pop()
        locations.pop()
    return paragraphs, locations


def _clean_line(raw: str) -> tuple[str, str]:
    """One physical line → (clean text, kind), kind being "text", "heading" or "table"; "" if none."""
    line = _squeeze(unicodedata.normalize("NFC", raw.translate(_CHARS)))
    kind = "text"
    heading = _HEADING.match(line)
    if heading:
        kind = "heading"
        line = _HEADING_CLOSE.sub("", line[heading.end() :])
    elif _RULE.fullmatch(line):
        return "", ""
    elif line.startswith("|"):
        return _table_row(line), "table"
    line = _squeeze(_inline(line))
    if _is_page_number(line):
        return "", ""
    return line, kind


def _squeeze(text: str) -> str:
    return " ".join(text.split())


def _inline(text: str) -> str:
    """Remove Markdown emphasis and backslash escapes from one line."""
    text = _PLACEHOLDER.sub("", text)
    text = _ESCAPED.sub(lambda m: chr(_ESCAPE_BASE + ord(m[1])), text)
    for _ in range(3):  # nested emphasis, one level per pass
        stripped = _UNDERSCORES.sub(r"\2", _STARS.sub(r"\2", text))
        if stripped == text:
            break
        text = stripped
    text = _DANGLING.sub("", text).removesuffix("\\")  # emphasis left open across lines; hard break
    return _PLACEHOLDER.sub(lambda m: chr(ord(m[0]) - _ESCAPE_BASE), text)


def _table_row(line: str) -> str:
    """`| a | **b** |` → `a | b`; the separator row `|---|:--|` → nothing."""
    if _TABLE_SEPARATOR.fullmatch(line):
        return ""
    inner = line[1:]
    if inner.endswith("|") and not inner.endswith("\\|"):
        inner = inner[:-1]
    cells = _CELL_BORDER.split(inner)
    cells = [_squeeze(_inline(cell)) for cell in cells]
    return _squeeze(" | ".join(cells)) if any(cells) else ""


def _is_page_number(line: str) -> bool:
    if _PAGE_NUMBER.fullmatch(line):
        return True
    page_of = _PAGE_OF.fullmatch(line)
    return page_of is not None and 0 < int(page_of[1]) <= int(page_of[2])


def _continues(line: str) -> bool:
    """Does the line start with a lowercase letter (after any opening bracket or quote)?"""
    first = line.lstrip(_OPENERS)[:1]
    return first.isalpha() and first.islower() and not _LETTER_ITEM.match(line)


def _ends_sentence(text: str) -> bool:
    body = text.rstrip(_CLOSERS)
    return not body or body[-1] in _SENTENCE_END


def _is_heading(text: str) -> bool:
    """An all-caps line ("I. MỤC ĐÍCH", "KẾ HOẠCH") or a Roman-numbered one ("V. Chế độ báo cáo")."""
    return _all_caps(text) or bool(_ROMAN_HEADING.match(text))


def _all_caps(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 2 and not any(c.islower() for c in letters)


def _is_dangling_label(text: str) -> bool:
    """A short label with nothing after it, such as "Nguồn tin:" at the end of a copied page."""
    return text.endswith(":") and len(text.split()) <= 4 and not any(c.isdigit() for c in text)


# --- .txt and .md ---------------------------------------------------------------------------------

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def _text_lines(path: Path) -> Iterator[tuple[str, str]]:
    text = _decode(_read_bytes(path), path)
    if len(text) > MAX_TEXT_CHARS:
        raise _too_much_text(path)
    for number, line in enumerate(_LINE_BREAK.split(text), 1):
        yield line, f"{path.name}:{number}"


def _decode(data: bytes, path: Path) -> str:
    """UTF-8 (with or without BOM) or UTF-16 with BOM; anything else is refused with advice."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise DocumentError(
                f"{path}: tệp UTF-16 bị hỏng (không giải mã được); hãy lưu lại với mã UTF-8"
            ) from None
    else:
        if b"\0" in data:
            raise _binary(path)
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise DocumentError(
                f"{path}: tệp không phải UTF-8 (byte thứ {exc.start + 1}, dòng {line}), có lẽ dùng bảng mã cũ "
                "như Windows-1258, TCVN3 hay VNI; hãy mở bằng trình soạn thảo và lưu lại với mã UTF-8"
            ) from None
    if "\0" in text:
        raise _binary(path)
    return text


def _binary(path: Path) -> DocumentError:
    return DocumentError(
        f"{path}: không phải tài liệu dạng chữ (có byte NUL, có lẽ là tệp nhị phân hoặc bị hỏng); "
        "hãy chỉ ra tệp văn bản .txt/.md, hoặc tài liệu .docx/.pdf với đúng phần đuôi"
    )


# --- .docx ----------------------------------------------------------------------------------------

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # a Word 97-2003 .doc, among others
# Elements whose children carry a paragraph's text: runs and what wraps runs.
_RUN_CONTAINERS = {
    _W + tag
    for tag in ("r", "hyperlink", "ins", "moveTo", "smartTag", "sdt", "sdtContent", "fldSimple", "customXml")
}


def _docx_lines(path: Path) -> Iterator[tuple[str, str]]:
    """Body paragraphs and table rows in document order; a line break inside a paragraph stays one."""
    import docx  # imported here: only .docx needs it, and it is slow to import

    _check_docx_package(path)
    try:
        document = docx.Document(str(path))
        headings = _heading_style_ids(document)
        blocks = list(_docx_blocks(document.element.body))
    except DocumentError:
        raise
    except Exception as exc:  # python-docx and lxml raise many kinds on a damaged package
        raise _not_docx(path, f"nội dung hỏng: {type(exc).__name__}") from None
    number = 0
    total = 0
    for block in blocks:
        if block.tag == _W + "p":
            number += 1
            text = _paragraph_text(block)
            if _style_id(block) in headings:
                text = "# " + text.replace("\n", " ")
            lines = [(part, f"{path.name}:đoạn {number}") for part in text.split("\n")]
        else:  # a table row: one line, its cells separated as in a Markdown table
            cells = [_cell_text(cell) for cell in block.iterchildren(_W + "tc")]
            lines = [("| " + " | ".join(cells) + " |", f"{path.name}:đoạn {number + 1}")]
            number += sum(1 for _ in block.iter(_W + "p"))
        total += sum(len(line) for line, _ in lines)
        if total > MAX_TEXT_CHARS:
            raise _too_much_text(path)
        yield from lines


def _check_docx_package(path: Path) -> None:
    """Refuse what is not a Word package, and zip bombs, before python-docx unpacks anything."""
    try:
        with zipfile.ZipFile(path) as package:
            infos = package.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        with path.open("rb") as head:
            old_word = head.read(len(_OLE_MAGIC)) == _OLE_MAGIC
        why = "đây là tệp Word cũ (.doc) được đổi tên" if old_word else "không phải tệp nén .docx"
        raise _not_docx(path, why) from None
    by_name = {info.filename: info for info in infos}
    if "word/document.xml" not in by_name:
        raise _not_docx(path, "thiếu phần word/document.xml")
    unpacked = sum(info.file_size for info in infos)
    if by_name["word/document.xml"].file_size > MAX_DOCX_XML_BYTES or unpacked > MAX_DOCX_UNPACKED_BYTES:
        raise _unpacks_too_big(path, f"{unpacked / MB:.0f} MB")
    _count_unpacked(path, infos)


def _count_unpacked(path: Path, infos: list[zipfile.ZipInfo]) -> None:
    """Inflate every part with a running count, whatever size its headers declare.

    A header may declare 4 KB for a part that inflates to 300 MB; python-docx reads each part
    whole, which inflates it whole before the declared size cuts it. Here a part is read
    `_INFLATE_CHUNK` at a time and refused as soon as the count passes the limits.
    """
    total = 0
    with zipfile.ZipFile(path) as package:
        for info in infos:
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise _not_docx(path, f"phần {info.filename} được nén theo cách Word không dùng")
            limit = MAX_DOCX_XML_BYTES if info.filename == "word/document.xml" else MAX_DOCX_UNPACKED_BYTES
            size = _inflated_size(package, info, min(limit, MAX_DOCX_UNPACKED_BYTES - total), path)
            if size is None:
                declared = f"{info.file_size:,}".replace(",", ".")
                raise _unpacks_too_big(
                    path,
                    f"phần {info.filename} khai {declared} byte nhưng giải nén ra nhiều hơn thế",
                    "tệp nén khai sai kích thước, có thể bị hỏng hoặc cố ý gây hại; đừng dùng tệp này, "
                    "hãy xin lại bản gốc của văn bản",
                )
            total += size


def _inflated_size(package: zipfile.ZipFile, info: zipfile.ZipInfo, room: int, path: Path) -> int | None:
    """The bytes `info` inflates to, or None as soon as they pass `room`."""
    unbounded = copy.copy(info)
    unbounded.file_size = MAX_DOCX_UNPACKED_BYTES + 1  # zipfile stops at the declared size: read past it
    size = 0
    try:
        with package.open(unbounded) as part:
            while chunk := part.read(_INFLATE_CHUNK):
                size += len(chunk)
                if size > room:
                    return None
    except (zipfile.BadZipFile, zlib.error, RuntimeError, EOFError, OSError) as exc:
        raise _not_docx(path, f"nội dung hỏng: {type(exc).__name__}") from None
    return size


def _unpacks_too_big(
    path: Path, size: str, advice: str = "hãy bỏ bớt hình ảnh hoặc chỉ giữ phần văn bản kế hoạch"
) -> DocumentError:
    return DocumentError(
        f"{path}: tệp Word giải nén ra quá lớn ({size}; giới hạn "
        f"{MAX_DOCX_XML_BYTES // MB} MB cho nội dung, {MAX_DOCX_UNPACKED_BYTES // MB} MB cho cả tệp); {advice}"
    )


def _not_docx(path: Path, why: str) -> DocumentError:
    return DocumentError(
        f"{path}: không đọc được tệp Word (.docx): {why}; "
        "nếu là tệp .doc cũ, hãy mở bằng Word và lưu lại dạng .docx"
    )


def _heading_style_ids(document: Any) -> set[str]:
    """Ids of the paragraph styles named "Heading N" or "Title" (names are the same in every UI language)."""
    ids = set()
    for style in document.styles:
        name = (style.name or "").lower()
        if name.startswith("heading") or name == "title":
            ids.add(style.style_id)
    return ids


def _style_id(paragraph: Any) -> str | None:
    style = paragraph.find(f"{_W}pPr/{_W}pStyle")
    return None if style is None else style.get(_W + "val")


def _docx_blocks(container: Any) -> Iterator[Any]:
    """w:p elements and w:tr (table rows) in document order, looking inside content controls."""
    for child in container.iterchildren():
        if child.tag == _W + "p":
            yield child
        elif child.tag == _W + "tbl":
            yield from child.iterchildren(_W + "tr")
        elif child.tag in (_W + "sdt", _W + "sdtContent", _W + "customXml"):
            yield from _docx_blocks(child)


def _cell_text(cell: Any) -> str:
    """A table cell's paragraphs (nested tables included) on one line, `|` escaped."""
    parts = [_paragraph_text(p).replace("\n", " ") for p in cell.iter(_W + "p")]
    return " ".join(part for part in parts if part.strip()).replace("|", "\\|")


def _paragraph_text(paragraph: Any) -> str:
    """A w:p's text: text, tabs and line breaks of its runs, wherever they are wrapped."""
    parts: list[str] = []
    _collect_run_text(paragraph, parts)
    return "".join(parts)


def _collect_run_text(element: Any, parts: list[str]) -> None:
    for child in element.iterchildren():
        tag = child.tag
        if tag == _W + "t":
            parts.append(child.text or "")
        elif tag == _W + "tab":
            parts.append("\t")
        elif tag in (_W + "br", _W + "cr"):
            parts.append("\n")
        elif tag == _W + "noBreakHyphen":
            parts.append("-")
        elif tag in _RUN_CONTAINERS:
            _collect_run_text(child, parts)


# --- .pdf -----------------------------------------------------------------------------------------


@dataclass
class _PdfLine:
    text: str  # as pypdf extracts it, spaces included: they take room on the line
    page: int  # 1-based
    x: float | None = None  # where the line's first character is drawn, in points
    y: float | None = None
    size: float = 0.0  # the font size there, in points

    @property
    def right(self) -> float:
        """Where the line ends, roughly (x plus the estimated width of its text)."""
        return (self.x or 0.0) + self.size * _ems(self.text.rstrip())


def _pdf_lines(path: Path) -> Iterator[tuple[str, str]]:
    with _quiet("pypdf"):
        body = _without_furniture(_pdf_pages(_open_pdf(path), path))
    if not body:
        raise DocumentError(
            f"{path}: PDF không có lớp chữ (bản quét): cần nhận dạng chữ (OCR) trước, "
            "hoặc dùng bản .docx hay PDF xuất thẳng từ Word"
        )
    for text, page in _reflow(body):
        yield text, f"{path.name}:trang {page}"


def _open_pdf(path: Path) -> Any:
    """A pypdf reader for the file, refusing damaged, locked and overlong PDFs."""
    from pypdf import PdfReader  # imported here: only .pdf needs it, and it is slow to import

    with path.open("rb") as head:
        if b"%PDF-" not in head.read(1024):
            raise _broken_pdf(path, "không có phần đầu %PDF")
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and not _opens_without_password(reader):
            raise DocumentError(
                f"{path}: PDF được đặt mật khẩu; hãy gỡ mật khẩu (hoặc in lại ra PDF mới) rồi thử lại"
            )
        count = len(reader.pages)
    except DocumentError:
        raise
    except Exception as exc:  # pypdf raises many kinds on a damaged file
        raise _broken_pdf(path, type(exc).__name__) from None
    if count > MAX_PDF_PAGES:
        raise DocumentError(
            f"{path}: PDF có {count} trang, vượt giới hạn {MAX_PDF_PAGES} trang; "
            "hãy tách riêng phần văn bản kế hoạch"
        )
    return reader


def _pdf_pages(reader: Any, path: Path) -> list[list[_PdfLine]]:
    """Each page's text lines with their positions, as pypdf's plain extraction gives them."""
    pages = []
    total = 0
    for number in range(1, len(reader.pages) + 1):
        try:
            lines = _page_lines(reader.pages[number - 1], number)
        except Exception as exc:
            raise _broken_pdf(path, f"trang {number}: {type(exc).__name__}") from None
        total += sum(len(line.text) for line in lines)
        if total > MAX_TEXT_CHARS:
            raise _too_much_text(path)
        pages.append(lines)
    return pages


@contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Hold back a library's English warnings about damaged files: our error says what matters."""
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _opens_without_password(reader: Any) -> bool:
    """A PDF encrypted only against editing opens with the empty password."""
    try:
        return bool(reader.decrypt(""))
    except Exception:  # e.g. AES without the optional crypto package
        return False


def _broken_pdf(path: Path, why: str) -> DocumentError:
    return DocumentError(
        f"{path}: không đọc được tệp PDF ({why}); tệp có thể bị hỏng hoặc tải về chưa hết — "
        "hãy tải lại hoặc xuất lại PDF"
    )


def _page_lines(page: Any, number: int) -> list[_PdfLine]:
    """Split the page's text into lines, each with the position of its first drawn character."""
    lines = [_PdfLine("", number)]

    def visit(text: str, cm: list[float], tm: list[float], _font: Any, size: Any) -> None:
        for index, part in enumerate(text.split("\n")):
            if index:
                lines.append(_PdfLine("", number))
            line = lines[-1]
            if part.strip() and line.x is None:
                line.x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
                line.y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
                line.size = float(size or 0) * math.hypot(tm[0], tm[1]) * math.hypot(cm[0], cm[1])
            line.text += part

    page.extract_text(visitor_text=visit)
    return [line for line in lines if line.text.strip()]


def _without_furniture(pages: list[list[_PdfLine]]) -> list[_PdfLine]:
    """All pages' lines, less page numbers and a header or footer repeated on ≥ 3 pages.

    Only the two first and two last lines of a page can be furniture; they match when
    equal once digits are removed ("Trang 3", "Kế hoạch 164/KH-UBND — 3"). With two
    pages, both must carry the line.
    """

    def key(line: _PdfLine) -> str:
        return _squeeze(re.sub(r"\d+", "", line.text))

    edges = [page[:2] + page[-2:] if len(page) > 4 else page for page in pages]
    seen = Counter(k for edge in edges for k in {key(line) for line in edge})
    needed = min(3, len(pages)) if len(pages) > 1 else 0
    repeated = {k for k, n in seen.items() if needed and n >= needed}
    body = []
    for page, edge in zip(pages, edges, strict=True):
        for line in page:
            furniture = any(line is e for e in edge) and key(line) in repeated
            if not furniture and not _is_page_number(_squeeze(line.text)):
                body.append(line)
    return body


# A new paragraph's first line sits further right than the page's text edge (a first-line
# indent, or centred text), or lower than the usual line spacing (space between paragraphs).
_INDENT_TOLERANCE = 3.0  # points
_GAP_FACTOR = 1.3
# Widths are estimates: a line was wrapped when it and the next line's first word
# would fill more than this share of the text column.
_FULL_COLUMN = 0.95


def _reflow(lines: list[_PdfLine]) -> list[tuple[str, int]]:
    """Join the lines that the page layout wrapped; return (line, page) pairs.

    The normaliser then joins what else starts in lowercase.
    """
    layout = _Layout.of(lines)
    joined: list[tuple[str, int]] = []
    for index, line in enumerate(lines):
        if index and _wrapped(lines[index - 1], line, layout):
            joined[-1] = (joined[-1][0] + " " + _squeeze(line.text), joined[-1][1])
        else:
            joined.append((_squeeze(line.text), line.page))
    return joined


@dataclass(frozen=True)
class _Layout:
    """What a PDF's lines share: each page's left text edge, the column width, the line spacing."""

    margins: dict[int, float]
    column: float  # as wide as the document's long lines (estimated widths)
    spacing: float  # the smallest distance between the baselines of two lines

    @classmethod
    def of(cls, lines: list[_PdfLine]) -> _Layout:
        margins = _left_edges(lines)
        spans = sorted(line.right - margins[line.page] for line in lines if line.x is not None)
        steps = [
            above.y - below.y
            for above, below in pairwise(lines)
            if above.page == below.page
            and above.y is not None
            and below.y is not None
            and above.y - below.y >= 0.8 * below.size
        ]
        column = spans[int(0.8 * (len(spans) - 1))] if spans else 0.0
        return cls(margins, column, min(steps, default=0.0))


def _wrapped(above: _PdfLine, below: _PdfLine, layout: _Layout) -> bool:
    """Did the page layout break these lines, rather than the author?

    Yes when `below` starts at the page's left text edge (a first-line indent or centred
    text starts a paragraph), follows at the usual line spacing or at the top of the next
    page (more space separates paragraphs), and its first word would not have fitted at
    the end of `above` (the test a line-breaking program applies). Not after a sentence
    when `below` opens an item ("- Xây dựng", "2. Sở Nội vụ"), nor after a line in
    capitals when `below` is not in capitals: a title goes on in capitals.
    """
    if above.x is None or below.x is None or above.y is None or below.y is None:
        return False
    if below.x > layout.margins[below.page] + _INDENT_TOLERANCE:
        return False
    if above.page == below.page and not 0 < above.y - below.y <= layout.spacing * _GAP_FACTOR:
        return False
    if _ends_sentence(above.text.rstrip()) and _starts_item(below.text):
        return False
    if _all_caps(above.text) and any(c.islower() for c in below.text):
        return False
    first_word = below.text.split()[0]
    needed = above.right - layout.margins[above.page] + above.size * _ems(" " + first_word)
    return needed > _FULL_COLUMN * layout.column


def _left_edges(lines: list[_PdfLine]) -> dict[int, float]:
    """Each page's left text edge: its leftmost line, unless all its lines are indented.

    A page holding only first lines (a list, the signature block) would otherwise take
    its indent for its edge; the middle of all pages' edges corrects that.
    """
    edges: dict[int, float] = {}
    for line in lines:
        if line.x is not None:
            edges[line.page] = min(edges.get(line.page, line.x), line.x)
    if edges:
        usual = statistics.median_low(edges.values())
        edges = {page: min(edge, usual) for page, edge in edges.items()}
    return edges


def _starts_item(text: str) -> bool:
    """An item marker, then a capital letter: "- Tham mưu", "2. Sở Nội vụ", "b) Xây dựng"."""
    marker = _ITEM.match(text.lstrip())
    return marker is not None and text.lstrip()[marker.end() :].lstrip(_OPENERS)[:1].isupper()


def _ems(text: str) -> float:
    """A rough width of `text` in ems (Helvetica-like proportions), to compare lines of one document."""
    return sum(_char_ems(c) for c in text)


def _char_ems(c: str) -> float:
    if c in _NARROW_CHARS:
        return 0.3
    if c in "mwMW":
        return 0.85
    if c.isupper():
        return 0.68
    if c.islower():
        return 0.52
    return 0.56  # digits and the rest


_NARROW_CHARS = frozenset(" .,:;'!|()[]{}-/ijlftr")
