"""importer/document.py: a plan reads to the same clean paragraphs whatever its format; bad files fail clearly."""

from __future__ import annotations

import codecs
import random
import re
import time
import unicodedata
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import pytest
from fpdf import FPDF
from hypothesis import given
from hypothesis import strategies as st
from pypdf import PdfReader, PdfWriter

from importer import document
from importer.document import MB, Document, DocumentError, clean_paragraphs, read_document
from tests.support.document_files import FONT, seed_text, write_docx, write_pdf

LAM_THAO = "lam-thao-2024-ke-hoach-bdg.txt"
THAI_BINH = "thai-binh-hlhpn-2024-ke-hoach-bdg.txt"
THUA_THIEN_HUE = "thua-thien-hue-2020-ke-hoach-bdg.txt"
SEED_NAMES = [LAM_THAO, THAI_BINH, THUA_THIEN_HUE]
HEADER = "Kế hoạch số 164/KH-UBND"
LINE_BREAKS = "\n\r\f\v\x1c\x1d\x1e\x85\u2028\u2029"


@pytest.fixture(scope="module")
def seeds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    """Each seed as .txt, .md, .docx and .pdf (with a running header), written once."""
    folder = tmp_path_factory.mktemp("seeds")
    files = {}
    for name in SEED_NAMES:
        text = seed_text(name)
        stem = Path(name).stem
        for suffix in (".txt", ".md"):
            (folder / f"{stem}{suffix}").write_text(text, encoding="utf-8")
        files[name] = {
            "txt": folder / f"{stem}.txt",
            "md": folder / f"{stem}.md",
            "docx": write_docx(text, folder / f"{stem}.docx"),
            "pdf": write_pdf(text, folder / f"{stem}.pdf", header=HEADER),
        }
    return files


def clean(*lines: str) -> list[str]:
    return clean_paragraphs((line, f"x:{number}") for number, line in enumerate(lines, 1))[0]


# --- the same paragraphs from every format ----------------------------------------------------------


@pytest.mark.parametrize("name", SEED_NAMES)
def test_a_seed_reads_the_same_from_txt_md_docx_and_pdf(seeds: dict, name: str) -> None:
    files = seeds[name]
    txt, md, word, pdf = (read_document(files[kind]) for kind in ("txt", "md", "docx", "pdf"))
    assert len(txt.paragraphs) > 40
    assert word.paragraphs == pdf.paragraphs == md.paragraphs == txt.paragraphs


@pytest.mark.parametrize(
    "layout",
    [
        {"indent": 0, "spacing": 3, "font_size": 9},
        {"indent": 10, "spacing": 0, "font_size": 9},
        {"indent": 0, "spacing": 3, "align": "L", "font_size": 13},
        {"indent": 0, "spacing": 0, "font_size": 11},
    ],
    ids=["spaced paragraphs", "indented first lines", "ragged right", "neither"],
)
def test_pdf_paragraphs_are_found_by_indent_spacing_or_line_length(
    seeds: dict, tmp_path: Path, layout: dict
) -> None:
    """At 9 pt the title fills a line: the indent or the space before the preamble ends it.

    With neither, a paragraph ends where its line stops short of the right margin.
    """
    expected = read_document(seeds[THUA_THIEN_HUE]["txt"]).paragraphs
    path = write_pdf(seed_text(THUA_THIEN_HUE), tmp_path / "kh.pdf", header=HEADER, **layout)
    assert read_document(path).paragraphs == expected


def _placed_pdf(path: Path, pages: list[list[tuple[float, str]]]) -> Path:
    """A PDF with each (x in mm, text) line drawn where told, one line every 6 mm."""
    pdf = FPDF()
    pdf.add_font("DejaVu", "", str(FONT))
    pdf.set_font("DejaVu", size=11)
    for lines in pages:
        pdf.add_page()
        for number, (x, text) in enumerate(lines):
            pdf.text(x, 30 + 6 * number, text)
    pdf.output(str(path))
    return path


FULL = "đơn vị báo cáo kết quả thực hiện kế hoạch về Sở Lao động - Thương binh và Xã"  # about 170 mm


def test_a_page_holding_only_first_lines_keeps_the_usual_left_edge(tmp_path: Path) -> None:
    """Page 2 has only indented lines: its first one starts a paragraph, though page 1 ends full."""
    rows = [f"Các {FULL}", f"các {FULL}", f"các {FULL}", f"các {FULL}."]
    pages = [[(20, row) for row in rows], [(30, "Sở Tài chính hướng dẫn."), (30, "Sở Nội vụ tổng hợp.")]]
    paragraphs = read_document(_placed_pdf(tmp_path / "kh.pdf", pages)).paragraphs
    assert paragraphs == [" ".join(rows), "Sở Tài chính hướng dẫn.", "Sở Nội vụ tổng hợp."]


def test_without_indent_or_spacing_a_short_line_or_a_title_ends_its_paragraph(tmp_path: Path) -> None:
    title = "KẾ HOẠCH THỰC HIỆN CÔNG TÁC BÌNH ĐẲNG GIỚI TỈNH THỪA THIÊN HUẾ NĂM 2020"  # as wide as FULL
    short = f"Các {FULL[:-12]}."  # 86 % full: the next line's first word would have fitted
    lines = [title, f"Thực {FULL}", f"UBND {FULL}", short, f"Sở {FULL}", f"Hội {FULL}."]
    paragraphs = read_document(_placed_pdf(tmp_path / "kh.pdf", [[(20, line) for line in lines]])).paragraphs
    assert paragraphs == [title, " ".join(lines[1:4]), " ".join(lines[4:])]


def test_the_pdf_fixture_is_a_real_challenge(seeds: dict) -> None:
    """Several pages, a header and a footer on each, and paragraphs wrapped over many lines."""
    path = seeds[THUA_THIEN_HUE]["pdf"]
    pages = [page.extract_text() for page in PdfReader(path).pages]
    assert len(pages) >= 3
    for number, text in enumerate(pages, 1):
        assert f"{HEADER} — trang {number}" in text
        assert f"Trang {number}/{len(pages)}" in text
    paragraphs = read_document(path).paragraphs
    assert sum(len(text.splitlines()) for text in pages) > 2 * len(paragraphs)
    assert not [p for p in paragraphs if f"{HEADER} — trang" in p or p.startswith("Trang ")]


def test_wrapped_pdf_lines_are_joined_whatever_their_first_letter(tmp_path: Path) -> None:
    """Every word capitalised or a number: the lowercase rule alone could join none of the lines."""
    words = ["Sở", "Lao", "Động", "Thương", "Binh", "Xã", "Hội", "UBND", "Tỉnh", "15/12/2020", "LHPN", "2024"]
    sentence = " ".join(words[i % len(words)] for i in range(120)) + "."
    paragraphs = read_document(
        write_pdf(f"I. MỤC ĐÍCH\n{sentence}\nHết.\n", tmp_path / "caps.pdf")
    ).paragraphs
    assert paragraphs == ["I. MỤC ĐÍCH", sentence, "Hết."]


def test_decomposed_unicode_reads_as_composed(tmp_path: Path) -> None:
    text = seed_text(LAM_THAO)
    decomposed = unicodedata.normalize("NFD", text)
    assert decomposed != text
    (tmp_path / "nfc.txt").write_text(text, encoding="utf-8")
    (tmp_path / "nfd.txt").write_text(decomposed, encoding="utf-8")
    expected = read_document(tmp_path / "nfc.txt").paragraphs
    assert read_document(tmp_path / "nfd.txt").paragraphs == expected
    assert read_document(write_docx(decomposed, tmp_path / "nfd.docx")).paragraphs == expected
    assert all(unicodedata.is_normalized("NFC", p) for p in expected)


def test_locations_name_the_line_paragraph_or_page(seeds: dict) -> None:
    files = seeds[LAM_THAO]
    txt = read_document(files["txt"])
    assert txt.name == "lam-thao-2024-ke-hoach-bdg.txt"
    assert txt.locations[:3] == [f"{txt.name}:3", f"{txt.name}:5", f"{txt.name}:7"]
    word = read_document(files["docx"])
    assert word.locations[:3] == [f"{word.name}:đoạn 1", f"{word.name}:đoạn 2", f"{word.name}:đoạn 3"]
    pdf = read_document(files["pdf"])
    pages = len(PdfReader(files["pdf"]).pages)
    assert pdf.locations[0] == f"{pdf.name}:trang 1"
    assert pdf.locations[-1] == f"{pdf.name}:trang {pages}"
    assert all(re.fullmatch(rf"{re.escape(pdf.name)}:trang \d+", where) for where in pdf.locations)
    assert pdf.text == "\n".join(pdf.paragraphs)


def test_the_suffix_is_read_in_any_case(seeds: dict, tmp_path: Path) -> None:
    expected = read_document(seeds[THAI_BINH]["txt"]).paragraphs
    for kind, upper in (("txt", "KE-HOACH.TXT"), ("docx", "KE-HOACH.Docx"), ("pdf", "KE-HOACH.PDF")):
        (tmp_path / upper).write_bytes(seeds[THAI_BINH][kind].read_bytes())
        assert read_document(tmp_path / upper).paragraphs == expected


# --- the normaliser ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("**trước ngày 15/11/2024**", "trước ngày 15/11/2024"),
        ("- Lồng ghép (*nhà văn hóa xã, thư viện...*).", "- Lồng ghép (nhà văn hóa xã, thư viện...)."),
        ("### ***Nơi nhận:***", "Nơi nhận:"),
        ("## **7. Đề nghị Ủy ban Mặt trận** ##", "7. Đề nghị Ủy ban Mặt trận"),
        ("__Ghi chú__ và _lưu ý_ **in *nghiêng* đậm**", "Ghi chú và lưu ý in nghiêng đậm"),
        ("**KẾ HOẠCH**  ", "KẾ HOẠCH"),
        (r"1\. Không phải \*nhấn mạnh\* \\", "1. Không phải *nhấn mạnh* \\"),
        ("Số: ______/KH-UBND", "Số: ______/KH-UBND"),
        ("tệp ke_hoach_2024 và 5 * 3 * 2", "tệp ke_hoach_2024 và 5 * 3 * 2"),
        ("+ Luật Bình đẳng giới", "+ Luật Bình đẳng giới"),
        ("a) Xây dựng kế hoạch", "a) Xây dựng kế hoạch"),
        ("1.2. Đa dạng các hình thức", "1.2. Đa dạng các hình thức"),
        ("Lao động – Thương binh", "Lao động – Thương binh"),
        ("A\u00a0B\u2009C\tD\u200bE\u00adF  \u202f G\ufeff", "A B C DEF G"),
        ("Vie\u0323\u0302t Nam", "Việt Nam"),
        ("ﬁle", "file"),
    ],
)
def test_one_line_is_normalised(raw: str, expected: str) -> None:
    assert clean(raw, "Hết.") == [expected, "Hết."]


def test_a_sentence_broken_across_a_blank_line_is_joined(seeds: dict) -> None:
    doc = read_document(seeds[LAM_THAO]["txt"])
    [joined] = [p for p in doc.paragraphs if "tăng cường tuyên truyền, giới thiệu" in p]
    assert joined.startswith("2. Tăng cường và đa dạng hóa")
    assert doc.locations[doc.paragraphs.index(joined)] == f"{doc.name}:25"
    assert not [p for p in doc.paragraphs if p.startswith("truyền")]
    assert (
        "Thực hiện công tác bình đẳng giới và vì sự tiến bộ của phụ nữ huyện Lâm Thao năm 2024"
        in doc.paragraphs
    )


def test_seeds_lose_their_markdown_and_their_empty_trailer(seeds: dict) -> None:
    lam_thao = read_document(seeds[LAM_THAO]["txt"]).paragraphs
    assert not [p for p in lam_thao if "*" in p or p.startswith("#")]
    [item] = [p for p in lam_thao if p.startswith("- Lồng ghép các nội dung")]
    assert item.endswith("(nhà văn hóa xã, nhà văn hóa khu dân cư, thư viện, tủ sách cơ sở...).")
    [closing] = [p for p in lam_thao if p.startswith("Trên đây là Kế hoạch")]
    assert "Xã hội) trước ngày 15/11/2024 để tổng hợp báo cáo" in closing
    thai_binh = read_document(seeds[THAI_BINH]["txt"]).paragraphs
    assert thai_binh[-1].endswith("đạt kết quả./.")
    assert "Nguồn tin:" not in thai_binh


def test_page_furniture_is_dropped_and_the_sentence_goes_on() -> None:
    lines = [
        "Các đơn vị gửi báo cáo",
        "2",
        "- 3 -",
        "Trang 4",
        "TRANG 5/10",
        "6/10",
        "\f",
        "",
        "trước ngày 15/12.",
    ]
    assert clean(*lines, "15/12", "Nguồn tin:") == ["Các đơn vị gửi báo cáo trước ngày 15/12.", "15/12"]


def test_heading_lines_are_kept_and_not_joined() -> None:
    lines = [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Số: 164/KH-UBND",
        "Huế, ngày 10 tháng 02 năm 2020",
        "I. MỤC ĐÍCH",
        "nâng cao nhận thức",
        "V. Chế độ báo cáo",
        "định kỳ 06 tháng",
        "2. Sở Tài chính",
        "b) hướng dẫn các đơn vị",
        "## Tổ chức thực hiện",
        "các đơn vị",
        "| Nội dung | Hạn |",
        "trước ngày 10/6",
    ]
    expected = [line.removeprefix("## ") for line in lines]
    expected[-2] = "Nội dung | Hạn"
    assert clean(*lines) == expected


def test_a_line_that_ends_a_sentence_is_not_joined() -> None:
    assert clean("Báo cáo năm.", "", "trước ngày 10/12.") == ["Báo cáo năm.", "trước ngày 10/12."]
    assert clean("(theo mẫu)", "gửi Sở") == ["(theo mẫu) gửi Sở"]
    assert clean("“Tháng hành động.”", "các đơn vị") == ["“Tháng hành động.”", "các đơn vị"]


def test_a_table_row_is_one_paragraph_in_markdown_and_in_word(tmp_path: Path) -> None:
    text = (
        "Lịch báo cáo:\n\n| Nội dung | Hạn |\n|---|:--|\n"
        "| Báo cáo **6 tháng** | trước ngày 10/6/2020 |\n| Báo cáo năm | 10/12/2020 |\n| Tổng kết |  |\n"
    )
    expected = [
        "Lịch báo cáo:",
        "Nội dung | Hạn",
        "Báo cáo 6 tháng | trước ngày 10/6/2020",
        "Báo cáo năm | 10/12/2020",
        "Tổng kết |",
    ]
    (tmp_path / "lich.md").write_text(text, encoding="utf-8")
    assert read_document(tmp_path / "lich.md").paragraphs == expected
    assert read_document(write_docx(text, tmp_path / "lich.docx")).paragraphs == expected


def test_word_line_breaks_are_lines_and_headings_stand_alone(tmp_path: Path) -> None:
    word = docx.Document()
    word.add_heading("Tổ chức thực hiện", level=2)
    paragraph = word.add_paragraph("các đơn vị báo cáo kết quả")
    paragraph.add_run().add_break()
    paragraph.add_run("trước ngày ").bold = True
    paragraph.add_run("15/12/2020.")
    word.add_paragraph("- 2 -")
    word.save(str(tmp_path / "kh.docx"))
    doc = read_document(tmp_path / "kh.docx")
    assert doc.paragraphs == ["Tổ chức thực hiện", "các đơn vị báo cáo kết quả trước ngày 15/12/2020."]
    assert doc.locations == ["kh.docx:đoạn 1", "kh.docx:đoạn 2"]


@given(st.lists(st.text(), max_size=12))
def test_clean_paragraphs_takes_any_text(lines: list[str]) -> None:
    paragraphs, locations = clean_paragraphs((line, f"x:{n}") for n, line in enumerate(lines))
    assert len(paragraphs) == len(locations)
    for paragraph in paragraphs:
        assert paragraph and paragraph == paragraph.strip()
        assert not any(c in paragraph for c in LINE_BREAKS)


@given(st.text(alphabet="aĐđ B*_#|\\-–.:;()1/\n\t\u00a0\u0301", max_size=80))
def test_clean_paragraphs_takes_any_markdown_soup(text: str) -> None:
    paragraphs, locations = clean_paragraphs([(text, "x:1")])
    assert len(paragraphs) == len(locations)
    assert all(paragraph and "\n" not in paragraph for paragraph in paragraphs)


# --- encodings and empty files ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.encode("utf-8"),
        lambda text: codecs.BOM_UTF8 + text.encode("utf-8"),
        lambda text: codecs.BOM_UTF16_LE + text.encode("utf-16-le"),
        lambda text: codecs.BOM_UTF16_BE + text.encode("utf-16-be"),
    ],
    ids=["utf-8", "utf-8 BOM", "utf-16-le BOM", "utf-16-be BOM"],
)
def test_utf8_and_utf16_with_bom_are_read(tmp_path: Path, encode) -> None:
    path = tmp_path / "kh.txt"
    path.write_bytes(encode("Kế hoạch\r\nCác đơn vị báo cáo\r\n\r\ntrước ngày 15/12.\r\n"))
    doc = read_document(path)
    assert doc.paragraphs == ["Kế hoạch", "Các đơn vị báo cáo trước ngày 15/12."]
    assert doc.locations == ["kh.txt:1", "kh.txt:2"]


@pytest.mark.parametrize("suffix", [".txt", ".md", ".docx", ".pdf"])
def test_an_empty_file_is_an_empty_document(tmp_path: Path, suffix: str) -> None:
    (tmp_path / f"trong{suffix}").touch()
    assert read_document(tmp_path / f"trong{suffix}") == Document(f"trong{suffix}", [], [])


def test_a_pdf_locked_only_against_editing_is_read(tmp_path: Path) -> None:
    path = _encrypted_pdf(tmp_path, user_password="")
    assert read_document(path).paragraphs == ["Báo cáo trước ngày 15/12/2020."]


# --- errors -----------------------------------------------------------------------------------------


def _written(name: str, content: bytes) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        (folder / name).write_bytes(content)
        return folder / name

    return write


def _sparse(name: str, size: int) -> Callable[[Path], Path]:
    def write(folder: Path) -> Path:
        with (folder / name).open("wb") as file:
            file.truncate(size)  # a hole: no 50 MB string in memory, almost nothing on disk
        return folder / name

    return write


def _old_word_document(folder: Path) -> Path:
    return _written("cu.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(2000))(folder)


def _zip_bomb(folder: Path) -> Path:
    path = folder / "bom.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", b" " * (document.MAX_DOCX_XML_BYTES + 1))
    assert path.stat().st_size < MB
    return path


def _zip_without_document(folder: Path) -> Path:
    path = folder / "rong.docx"
    with zipfile.ZipFile(path, "w") as package:
        package.writestr("hello.txt", "xin chào")
    return path


def _truncated_pdf(folder: Path) -> Path:
    whole = write_pdf("Các đơn vị báo cáo trước ngày 15/12/2020.\n" * 40, folder / "du.pdf")
    return _written("cut.pdf", whole.read_bytes()[: whole.stat().st_size // 2])(folder)


def _encrypted_pdf(folder: Path, user_password: str = "mat-khau") -> Path:
    plain = write_pdf("Báo cáo trước ngày 15/12/2020.\n", folder / "mo.pdf")
    writer = PdfWriter(clone_from=plain)
    writer.encrypt(user_password=user_password, owner_password="chu-so-huu")
    with (folder / "khoa.pdf").open("wb") as file:
        writer.write(file)
    return folder / "khoa.pdf"


def _scanned_pdf(folder: Path) -> Path:
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 100, 150, style="F")
    pdf.output(str(folder / "quet.pdf"))
    return folder / "quet.pdf"


def _long_pdf(folder: Path) -> Path:
    writer = PdfWriter()
    for _ in range(document.MAX_PDF_PAGES + 1):
        writer.add_blank_page(width=595, height=842)
    with (folder / "dai.pdf").open("wb") as file:
        writer.write(file)
    return folder / "dai.pdf"


def _folder(folder: Path) -> Path:
    (folder / "ke-hoach.txt").mkdir()
    return folder / "ke-hoach.txt"


NOISE = random.Random(2024).randbytes(4000)


@pytest.mark.parametrize(
    ("make", "words"),
    [
        pytest.param(
            _written("ke-hoach.xlsx", b"x"),
            ["không đọc được định dạng “.xlsx”", ".docx", ".pdf"],
            id="suffix",
        ),
        pytest.param(_written("ke-hoach", b"x"), ["tệp không có phần đuôi", ".txt"], id="no suffix"),
        pytest.param(lambda folder: folder / "khong-co.txt", ["không tìm thấy tệp"], id="missing"),
        pytest.param(_folder, ["đây là thư mục"], id="directory"),
        pytest.param(
            _written("nhi-phan.txt", NOISE + b"\0" + NOISE),
            ["không phải tài liệu dạng chữ", "NUL"],
            id="binary",
        ),
        pytest.param(
            _written("cu.txt", "Kê\u0301 hoa\u0323ch năm 2024".encode("cp1258")),
            ["tệp không phải UTF-8 (byte thứ 2, dòng 1)", "Windows-1258", "lưu lại với mã UTF-8"],
            id="cp1258",
        ),
        pytest.param(
            _written("latin.md", "Thông báo\nÀ".encode("latin-1")),
            ["không phải UTF-8", "mã UTF-8"],
            id="latin-1",
        ),
        pytest.param(
            _old_word_document,
            ["không đọc được tệp Word (.docx)", "tệp Word cũ (.doc)", "lưu lại dạng .docx"],
            id="doc renamed",
        ),
        pytest.param(
            _written("hong.docx", NOISE), ["không đọc được tệp Word (.docx)", ".docx"], id="not a zip"
        ),
        pytest.param(_zip_without_document, ["thiếu phần word/document.xml"], id="zip, not Word"),
        pytest.param(_zip_bomb, ["giải nén ra quá lớn", "50 MB"], id="zip bomb"),
        pytest.param(
            _written("khong-phai.pdf", b"xin chao"), ["không đọc được tệp PDF", "%PDF"], id="not a PDF"
        ),
        pytest.param(_truncated_pdf, ["không đọc được tệp PDF", "tải lại"], id="truncated PDF"),
        pytest.param(_encrypted_pdf, ["PDF được đặt mật khẩu", "gỡ mật khẩu"], id="encrypted PDF"),
        pytest.param(_scanned_pdf, ["PDF không có lớp chữ (bản quét)", "OCR"], id="scan"),
        pytest.param(_long_pdf, ["PDF có 501 trang", "giới hạn 500 trang"], id="too many pages"),
        pytest.param(_sparse("to.txt", 50 * MB), ["tệp quá lớn (50.0 MB, giới hạn 20 MB)"], id="50 MB txt"),
        pytest.param(
            _sparse("to.pdf", 101 * MB), ["tệp quá lớn (101.0 MB, giới hạn 100 MB)"], id="101 MB pdf"
        ),
    ],
)
def test_an_unreadable_document_fails_quickly_saying_why(
    tmp_path: Path, make: Callable[[Path], Path], words: list[str]
) -> None:
    path = make(tmp_path)
    start = time.monotonic()
    with pytest.raises(DocumentError) as failure:
        read_document(path)
    assert time.monotonic() - start < 3
    message = str(failure.value)
    assert message.startswith(f"{path}: ")
    for word in words:
        assert word in message


def test_too_much_text_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(document, "MAX_TEXT_CHARS", 1000)
    text = "Các đơn vị báo cáo trước ngày 15/12/2020.\n" * 40
    (tmp_path / "dai.txt").write_text(text, encoding="utf-8")
    for path in (
        tmp_path / "dai.txt",
        write_docx(text, tmp_path / "dai.docx"),
        write_pdf(text, tmp_path / "dai.pdf"),
    ):
        with pytest.raises(DocumentError, match=r"hơn 1\.000 ký tự, vượt giới hạn"):
            read_document(path)


def test_the_pdf_font_is_a_small_vietnamese_subset() -> None:
    from fontTools.ttLib import TTFont

    assert FONT.stat().st_size < 100_000
    assert (FONT.parent / "LICENSE").read_text(encoding="utf-8").count("Bitstream") >= 3
    covered = TTFont(str(FONT)).getBestCmap()
    assert all(ord(c) in covered for c in "ẠạẾếỆệỪừỰựĐđƯưƠơ“”–…\u0301\u0323")


@pytest.mark.parametrize(
    "legacy",
    [
        "KÕ ho¹ch thùc hiÖn c«ng t¸c b×nh ®¼ng giíi n¨m 2024. C¸c së b¸o c¸o tr­íc ngµy 10/6/2024.\n",  # TCVN3
        "Keá hoaïch thöïc hieän coâng taùc bình ñaúng giôùi naêm 2024. Caùc sôû baùo caùo tröôùc ngaøy 10/6.\n",
    ],
)
def test_text_typed_in_an_old_vietnamese_encoding_is_refused_with_what_to_do(
    tmp_path: Path, legacy: str
) -> None:
    path = tmp_path / "cu.txt"
    path.write_text(legacy * 3, encoding="utf-8")
    with pytest.raises(DocumentError, match=r"bảng mã cũ .*Unikey"):
        read_document(path)
