"""One test per rule of importer/rules.py, each with what it must find and what it must not."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from importer import rules
from importer.document import clean_paragraphs
from importer.extract import Findings, extract
from importer.proposal import plan_yaml

_TMP = Path(tempfile.mkdtemp(prefix="nhacviec-import-"))


def read(text: str, year: int | None = 2024) -> Findings:
    paragraphs = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return extract(paragraphs, [f"t.txt:{i}" for i in range(1, len(paragraphs) + 1)], year)


def read_markdown(text: str) -> Findings:
    """As a .md document reaches the rules: through the reader's normaliser (tables become rows)."""
    paragraphs, locations = clean_paragraphs(
        (line.strip(), f"t.md:{i}") for i, line in enumerate(text.splitlines())
    )
    return extract(paragraphs, locations, 2024)


def dues(found: Findings) -> list[date | None]:
    return [d.due for d in found.deadlines]


# --- dates -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10/6/2020", (10, 6, 2020)),
        ("10 / 06 / 2020", (10, 6, 2020)),
        ("25/3", (25, 3, None)),
        ("10-12-2024", (10, 12, 2024)),
        ("ngày 10 tháng 6 năm 2024", (10, 6, 2024)),
        ("15 tháng 12", (15, 12, None)),
    ],
)
def test_a_date_in_each_written_form(text: str, expected: tuple) -> None:
    (found,) = rules.find_dates(text)
    assert (found.day, found.month, found.year) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Quyết định số 1696/QĐ-TTg",
        "Nghị định số 76/2023/NĐ-CP",
        "giai đoạn 2016-2020",
        "nhiệm kỳ 2020-2025",
        "30/02",
    ],
)
def test_numbers_that_are_not_dates(text: str) -> None:
    assert rules.find_dates(text) == []


@given(
    st.integers(1, 31),
    st.integers(1, 12),
    st.integers(1990, 2100),
    st.sampled_from(["{d}/{m}/{y}", "ngày {d} tháng {m} năm {y}", "{d:02d}/{m:02d}/{y}"]),
)
def test_every_written_date_reads_back(day: int, month: int, year: int, form: str) -> None:
    text = form.format(d=day, m=month, y=year)
    found = rules.find_dates(f"trước {text};")
    try:
        real = date(year, month, day)
    except ValueError:
        assert found == []  # 31/4 is no day: never a date
        return
    assert [f.in_year(1999) for f in found] == [real]


@given(st.text(max_size=300))
def test_the_date_reader_never_fails_on_any_text(text: str) -> None:
    for found in rules.find_dates(text):
        assert 1 <= found.month <= 12 and 1 <= found.day <= 31
    read(text)


# --- deadlines ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "due"),
    [
        ("Các sở báo cáo UBND tỉnh trước ngày 10/6/2020.", date(2020, 6, 10)),
        ("Các sở gửi báo cáo trước ngày 25/3.", date(2024, 3, 25)),  # the year comes from the document
        ("Các sở gửi báo cáo chậm nhất ngày 05/01/2025.", date(2025, 1, 5)),
        ("Các sở gửi báo cáo chậm nhất là ngày 20/11.", date(2024, 11, 20)),
        ("Các sở báo cáo trước ngày 10 tháng 6 năm 2024.", date(2024, 6, 10)),
        ("Hạn chót nộp báo cáo: 30/9/2024.", date(2024, 9, 30)),
        ("Thời hạn: 15/10/2024.", date(2024, 10, 15)),
        ("Thời gian hoàn thành: trước ngày 20/10/2024.", date(2024, 10, 20)),
        ("Các sở gửi văn bản về Sở Nội vụ trước 17 giờ 00 ngày 10/12/2024.", date(2024, 12, 10)),
        ("Các sở gửi văn bản trước 16h ngày 11/12/2024.", date(2024, 12, 11)),
        ("Hạn chế tổ chức hội nghị 30/9/2024.", None),
        ("Các đơn vị gửi báo cáo trước thứ Sáu, ngày 15/11/2024.", date(2024, 11, 15)),
        ("Thời hạn nộp: trước ngày 30/9/2024.", date(2024, 9, 30)),
        ("Các đơn vị gửi báo cáo không muộn hơn ngày 15/7/2024.", date(2024, 7, 15)),
    ],
)
def test_deadline_markers(sentence: str, due: date | None) -> None:
    assert dues(read(sentence)) == ([due] if due else [])


def test_dates_that_are_not_deadlines() -> None:
    found = read(
        """
        Số: 164/KH-UBND
        Huế, ngày 12 tháng 7 năm 2019
        Thực hiện Quyết định số 1696/QĐ-TTg ngày 02/10/2015, Quyết định số 1464/QĐ-TTg ngày 22 tháng 7 năm 2016 của Thủ tướng Chính phủ về chiến lược giai đoạn 2016-2020.
        Đẩy mạnh truyền thông hướng tới Đại hội Đảng các cấp nhiệm kỳ 2020-2025.
        Luật Bình đẳng giới ngày 29/11/2006 có hiệu lực từ ngày 01/7/2007.
        """
    )
    assert found.deadlines == [] and found.windows == [] and found.observances == []


def test_a_cited_decisions_date_is_never_a_deadline_even_in_a_deadline_sentence() -> None:
    found = read(
        "Các sở báo cáo kết quả thực hiện Quyết định số 1696/QĐ-TTg ngày 02/10/2015 trước ngày 15/6/2024."
    )
    assert dues(found) == [date(2024, 6, 15)]


def test_monthly_deadline_with_its_day() -> None:
    (deadline,) = read("Các xã gửi báo cáo về Phòng Nội vụ trước ngày 15 hằng tháng.").deadlines
    assert (deadline.recurrence, deadline.day, deadline.period) == ("monthly", 15, "month")
    assert deadline.review == []


def test_monthly_report_without_a_day_is_flagged() -> None:
    (deadline,) = read("Các huyện báo cáo kết quả vào báo cáo chung hằng tháng gửi Văn phòng Hội.").deadlines
    assert (deadline.recurrence, deadline.day) == ("monthly", None)
    assert "không ghi ngày" in deadline.review[0]
    assert read("Họp giao ban hằng tháng để trao đổi kinh nghiệm.").deadlines == []


def test_quarterly_deadline() -> None:
    (deadline,) = read("Các xã báo cáo UBND huyện trước ngày 20 của tháng cuối quý.").deadlines
    assert (deadline.recurrence, deadline.day) == ("quarterly", 20)


def test_yearly_date_without_before() -> None:
    (deadline,) = read("Các sở gửi báo cáo năm về Sở Tư pháp vào ngày 10/12 hàng năm.").deadlines
    assert (deadline.due, deadline.recurrence) == (date(2024, 12, 10), "yearly")
    assert read("Ngày 10/12 hàng năm là dịp gặp mặt truyền thống.").deadlines == []
    assert read("Tổng hợp, tổ chức các hoạt động nhân ngày 20/10 hằng năm.").deadlines == []


@pytest.mark.parametrize(
    ("sentence", "period", "recurrence"),
    [
        ("Định kỳ 06 tháng (trước ngày 10/6/2024) các sở báo cáo UBND tỉnh.", "half-year", "yearly"),
        ("Các sở báo cáo 01 năm (trước ngày 10/12/2024) về UBND tỉnh.", "year", "yearly"),
        ("Các sở báo cáo kết quả cả năm trước ngày 10/12/2024.", "year", "yearly"),
        ("Các sở báo cáo hằng quý trước ngày 20 của tháng cuối quý.", "quarter", "quarterly"),
        ("Các sở báo cáo kết quả thực hiện Kế hoạch trước ngày 15/11/2024.", None, "once"),
    ],
)
def test_period_words(sentence: str, period: str | None, recurrence: str) -> None:
    (deadline,) = read(sentence).deadlines
    assert (deadline.period, deadline.recurrence) == (period, recurrence)


def test_who_submits_to_whom_through_whom() -> None:
    (d1, d2) = read(
        "UBND các huyện, các sở, ngành có liên quan định kỳ 06 tháng (trước ngày 10/6/2020) và 01 năm "
        "(trước ngày 10/12/2020) báo cáo UBND tỉnh kết quả thực hiện thông qua Sở Lao động - Thương binh "
        "và Xã hội để tổng hợp."
    ).deadlines
    assert d1.who == d2.who == ["UBND các huyện", "các sở, ngành có liên quan"]
    assert (d1.to, d1.via) == (d2.to, d2.via) == ("UBND tỉnh", "Sở Lao động - Thương binh và Xã hội")
    assert d1.title == "Báo cáo kết quả thực hiện định kỳ 06 tháng"


def test_recipient_in_brackets_and_subject_from_the_previous_sentence() -> None:
    (deadline,) = read(
        "Yêu cầu Thủ trưởng các cơ quan, UBND các xã triển khai thực hiện. Báo cáo kết quả thực hiện với "
        "UBND huyện (qua phòng Lao động - Thương binh và Xã hội) trước ngày 15/11/2024 để tổng hợp."
    ).deadlines
    assert deadline.who == ["Thủ trưởng các cơ quan", "UBND các xã"]
    assert (deadline.to, deadline.via) == ("UBND huyện", "phòng Lao động - Thương binh và Xã hội")


def test_subject_from_the_agency_heading() -> None:
    found = read(
        """
        III. TỔ CHỨC THỰC HIỆN
        1. Hội LHPN huyện, thành phố
        - Báo cáo chuyên đề năm gửi Ban Tuyên giáo Hội LHPN tỉnh trước ngày 01/12/2024.
        IV. KINH PHÍ
        - Báo cáo quyết toán gửi Sở Tài chính trước ngày 31/12/2024.
        """
    )
    assert found.agencies == ["Hội LHPN huyện, thành phố"]
    assert [d.who for d in found.deadlines] == [["Hội LHPN huyện, thành phố"], []]
    assert found.deadlines[1].confidence < found.deadlines[0].confidence  # nobody named: less sure


def test_a_chain_in_order_is_linked() -> None:
    found = read(
        """
        Các huyện báo cáo UBND tỉnh thông qua Sở Y tế trước ngày 10/12/2024.
        Sở Y tế báo cáo UBND tỉnh trước ngày 15/12/2024.
        """
    )
    units, focal = found.deadlines
    assert focal.after is units and focal.review == []
    assert found.focal == "Sở Y tế"


def test_a_chain_out_of_order_is_kept_as_written_and_flagged() -> None:
    found = read(
        """
        Các huyện báo cáo UBND tỉnh thông qua Sở Y tế trước ngày 20/12/2024.
        Sở Y tế báo cáo UBND tỉnh trước ngày 15/12/2024.
        """
    )
    units, focal = found.deadlines
    assert (units.due, focal.due) == (date(2024, 12, 20), date(2024, 12, 15))
    assert focal.after is units
    assert "trước hạn các đơn vị nộp" in focal.review[0]


# --- windows ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "start", "end"),
    [
        ("Tổ chức Tháng hành động về bình đẳng giới từ 15/11 đến 15/12.", (15, 11), (15, 12)),
        (
            "Hưởng ứng Tháng hành động quốc gia về phòng chống bạo lực gia đình (từ ngày 01- 30/6).",
            (1, 6),
            (30, 6),
        ),
        ("Tháng hành động vì bình đẳng giới (từ ngày 15/11/2024- 15/12/2024).", (15, 11), (15, 12)),
        ("Tổ chức hội thi từ ngày 01 tháng 7 đến ngày 30 tháng 7 năm 2024.", (1, 7), (30, 7)),
        ("Hưởng ứng Tháng hành động quốc gia về phòng, chống bạo lực gia đình (tháng 6).", (1, 6), (30, 6)),
        ("Triển khai Tháng hành động vì bình đẳng giới năm 2023 hiệu quả.", (15, 11), (15, 12)),  # by name
        ("Tổ chức Tháng hành động vì trẻ em năm 2024.", (1, 6), (30, 6)),
    ],
)
def test_windows(sentence: str, start: tuple[int, int], end: tuple[int, int]) -> None:
    (window,) = read(sentence).windows
    assert (window.start, window.end) == (date(2024, start[1], start[0]), date(2024, end[1], end[0]))


@pytest.mark.parametrize(
    "sentence",
    [
        "Số liệu báo cáo tính từ ngày 01/12/2023 đến ngày 30/11/2024.",
        "Kỷ niệm 94 năm Ngày thành lập Hội LHPN Việt Nam (20/10/1930 - 20/10/2024).",
        "Chiến lược quốc gia giai đoạn từ năm 2021 đến năm 2030.",
        "Thời gian thực hiện kế hoạch từ ngày 01/01/2024 đến ngày 31/12/2024.",
    ],
)
def test_ranges_that_are_not_windows(sentence: str) -> None:
    assert read(sentence).windows == []


def test_the_same_action_month_mentioned_twice_is_one_window() -> None:
    found = read(
        """
        Tổ chức Tháng hành động vì bình đẳng giới và phòng chống bạo lực trên cơ sở giới từ 15/11 đến 15/12.
        Sở Thông tin phối hợp tuyên truyền nhân Tháng hành động vì bình đẳng giới.
        """
    )
    assert len(found.windows) == 1 and not found.windows[0].named


# --- observances -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "day", "month"),
    [
        ("Tổ chức kỷ niệm Ngày Quốc tế Phụ nữ 8/3.", 8, 3),
        ("Ngày Quốc tế Hạnh phúc 20/3", 20, 3),
        ("Ngày Gia đình Việt Nam 28/6", 28, 6),
        ("Hưởng ứng Ngày Thế giới phòng, chống mua bán người (30/7).", 30, 7),
        ("Ngày Quốc tế Phụ nữ nông thôn (15/10)", 15, 10),
        ("kỷ niệm ngày Phụ nữ Việt Nam 20/10", 20, 10),
        ("Ngày Quốc tế Nam giới 19/11", 19, 11),
        ("Ngày Quốc tế xóa bỏ bạo lực đối với phụ nữ và trẻ em gái (ngày 25/11)", 25, 11),
        ("Hưởng ứng Ngày Pháp luật Việt Nam (9/11).", 9, 11),
        ("Tổ chức Ngày hội Đại đoàn kết toàn dân tộc (18/11).", 18, 11),  # not in the table: by form
    ],
)
def test_observances(text: str, day: int, month: int) -> None:
    (observance,) = read(text).observances
    assert (observance.day, observance.month) == (day, month)


def test_observance_without_its_date_is_known_by_name() -> None:
    (observance,) = read("Tổ chức các hoạt động nhân Ngày Gia đình Việt Nam.").observances
    assert (observance.day, observance.month) == (28, 6)


def test_dates_after_lowercase_ngay_are_not_observances() -> None:
    assert read("Văn bản ký ngày 25/11 và gửi ngày 8/3.").observances == []


# --- the document's own facts ------------------------------------------------------------------


def test_header() -> None:
    found = read(
        """
        ỦY BAN NHÂN DÂN TỈNH THỪA THIÊN HUẾ
        Số: 164/KH-UBND
        Huế, ngày 12 tháng 7 năm 2019
        KẾ HOẠCH
        THỰC HIỆN CÔNG TÁC BÌNH ĐẲNG GIỚI TỈNH THỪA THIÊN HUẾ NĂM 2020
        Căn cứ Quyết định số 1696/QĐ-TTg ngày 02/10/2015, UBND tỉnh ban hành Kế hoạch thực hiện công tác bình đẳng giới trên địa bàn tỉnh Thừa Thiên Huế năm 2020 như sau:
        Các sở báo cáo trước ngày 10/12.
        """,
        year=None,
    )
    assert (found.number, found.place, found.issued) == ("164/KH-UBND", "Huế", date(2019, 7, 12))
    assert found.year == 2020  # the plan's year, from its title, not the issue date's
    assert found.title == "Kế hoạch thực hiện công tác bình đẳng giới tỉnh Thừa Thiên Huế năm 2020"
    assert found.issuer == "UBND tỉnh Thừa Thiên Huế"
    assert dues(found) == [date(2020, 12, 10)]


def test_blank_number_and_issue_date() -> None:
    found = read(
        "Số: /KH-UBND\nLâm Thao, ngày   tháng 4 năm 2024\nKẾ HOẠCH\nThực hiện công tác năm 2024", None
    )
    assert (found.number, found.issued, found.year) == ("/KH-UBND", None, 2024)
    assert any("để trống" in note for note in found.notes)


def test_agency_headings_of_the_organisation_section() -> None:
    found = read(
        """
        IV. TỔ CHỨC THỰC HIỆN
        1. Sở Lao động - Thương binh và Xã hội:
        a) Chủ trì, phối hợp với các cơ quan liên quan.
        3. Sở Kế hoạch và đầu tư: Chủ trì lồng ghép các mục tiêu.
        7. Các Sở, ngành: Y tế; Giáo dục và Đào tạo; Công an tỉnh:
        10. Đề nghị Hội Liên hiệp Phụ nữ tỉnh: Triển khai kế hoạch.
        V. CHẾ ĐỘ BÁO CÁO
        1. Định kỳ báo cáo theo quy định.
        """
    )
    assert found.agencies == [
        "Sở Lao động - Thương binh và Xã hội",
        "Sở Kế hoạch và đầu tư",
        "Các Sở, ngành: Y tế; Giáo dục và Đào tạo; Công an tỉnh",
        "Hội Liên hiệp Phụ nữ tỉnh",
    ]


def test_contacts_written_in_the_text() -> None:
    found = read(
        "Mọi vướng mắc liên hệ đồng chí Lan, Phòng Bình đẳng giới, điện thoại 0234.3822 456, "
        "di động 0905 123 456, e-mail binhdanggioi@ldtbxh.example.vn. Hạn nộp trước ngày 10/6/2024."
    )
    assert found.contacts == ["binhdanggioi@ldtbxh.example.vn", "02343822456", "0905123456"]
    assert read("Quyết định số 0905123456/QĐ").contacts == []


def test_the_year_is_required() -> None:
    found = read("Các sở báo cáo trước ngày 10/6.", year=None)
    assert found.year is None and found.deadlines == []
    assert "--year" in found.notes[0]


# --- phrasings seen in real documents (tests/import_corpus/PHRASEBOOK.md §8) -------------------

D = date


@pytest.mark.parametrize(
    ("sentence", "deadlines", "windows", "observances"),
    [
        (
            "Đơn vị gửi báo cáo chậm nhất là ngày 15/01 năm kế tiếp của năm báo cáo theo dấu bưu điện.",
            [D(2025, 1, 15)],
            [],
            [],
        ),
        (
            "Sở báo cáo trước ngày 15 tháng 7 đối với báo cáo 6 tháng đầu năm và trước ngày 25 tháng 01 năm sau "
            "đối với báo cáo năm.",
            [D(2024, 7, 15), D(2025, 1, 25)],
            [],
            [],
        ),
        (
            "UBND cấp xã báo cáo về Phòng Văn hóa – Thông tin cấp huyện trước ngày 25/12 hàng năm; Phòng Văn hóa – "
            "Thông tin cấp huyện có trách nhiệm tổng hợp, báo cáo về Sở VHTTDL trước ngày 10/12 hàng năm; Sở VHTTDL "
            "có trách nhiệm tổng hợp, báo cáo về Bộ VHTTDL (qua Vụ Gia đình) trước ngày 15/12 hàng năm.",
            [D(2024, 12, 25), D(2024, 12, 10), D(2024, 12, 15)],
            [],
            [],
        ),
        ("Biểu mẫu. Ngày nhận báo cáo: 10 tháng 7 hàng năm.", [D(2024, 7, 10)], [], []),
        (
            "Các trường báo cáo kết quả thực hiện về Bộ GD&ĐT (qua Vụ Giáo dục thường xuyên) và UBND thành phố "
            "trước ngày 20/10.",
            [D(2024, 10, 20)],
            [],
            [],
        ),
        (
            "Tuần lễ hưởng ứng học tập suốt đời được tổ chức từ ngày 1/10 đến ngày 7/10.",
            [],
            [(D(2024, 10, 1), D(2024, 10, 7))],
            [],
        ),
        (
            "Tổ chức Tuần lễ từ ngày 2-8/10/2024; các đơn vị báo cáo trước ngày 15/10/2024.",
            [D(2024, 10, 15)],
            [(D(2024, 10, 2), D(2024, 10, 8))],
            [],
        ),
        ("Các xã gửi báo cáo về Sở trước ngày 15-4.", [D(2024, 4, 15)], [], []),
        (
            "Phát động Tháng hành động vì bình đẳng giới từ ngày 15-11 đến 15-12-2024.",
            [],
            [(D(2024, 11, 15), D(2024, 12, 15))],
            [],
        ),
        (
            "Hưởng ứng Tháng hành động phòng, chống ma túy (tháng 6), Ngày quốc tế phòng, chống ma túy và Ngày toàn "
            "dân phòng, chống ma túy (ngày 26 tháng 6).",
            [],
            [(D(2024, 6, 1), D(2024, 6, 30))],
            [(26, 6)],
        ),
        ("Tổ chức Tháng hành động vì trẻ em (6/2024).", [], [(D(2024, 6, 1), D(2024, 6, 30))], []),
        (
            "Chiến dịch đợt 1 từ ngày 10-6 đến 10-7-2024, đợt 2 từ ngày 20-8 đến 20-9-2024.",
            [],
            [(D(2024, 6, 10), D(2024, 7, 10)), (D(2024, 8, 20), D(2024, 9, 20))],
            [],
        ),
        (
            "Đợt cao điểm thời gian từ ngày 1/7/2024 đến ngày 30/9/2024.",
            [],
            [(D(2024, 7, 1), D(2024, 9, 30))],
            [],
        ),
        ("Kiểm tra an toàn thực phẩm từ giữa tháng 4 đến giữa tháng 5.", [], [], []),
        ("Tổ chức Ngày Gia đình Việt Nam (28.6) và Ngày Dân số Việt Nam 26-12.", [], [], [(28, 6), (26, 12)]),
        (
            "Họp mặt kỷ niệm ngày thành lập Hội Liên hiệp thanh niên Việt Nam (15/10/1956-15/10/2024).",
            [],
            [],
            [],
        ),
        ("Thực hiện trên địa bàn toàn tỉnh từ tháng 6/2018.", [], [], []),
        ("Quyết định này có hiệu lực thi hành kể từ ngày 05/11/2019.", [], [], []),
    ],
)
def test_real_phrasings(sentence: str, deadlines: list, windows: list, observances: list) -> None:
    found = read(sentence)
    assert dues(found) == deadlines
    assert [(w.start, w.end) for w in found.windows] == windows
    assert [(o.day, o.month) for o in found.observances] == observances


def test_dates_listed_after_a_deadline_are_due_the_same_way() -> None:
    found = read(
        "Các cơ quan báo cáo kết quả gửi về Sở Y tế trước ngày 15/6 và 15/12 hằng năm để tổng hợp. "
        "Các xã nộp số liệu trước ngày 15/3, 15/9 hoặc 15/12/2024."
    )
    assert [(d.due, d.recurrence, d.to) for d in found.deadlines[:2]] == [
        (date(2024, 6, 15), "yearly", "Sở Y tế"),
        (date(2024, 12, 15), "yearly", "Sở Y tế"),
    ]
    assert dues(found)[2:] == [date(2024, 3, 15), date(2024, 9, 15), date(2024, 12, 15)]
    assert read("Các sở báo cáo trước ngày 15/6 và tổ chức hội nghị 20/7.").deadlines[1:] == []


def test_monthly_deadline_with_the_period_first() -> None:
    (deadline,) = read("Các xã báo cáo hằng tháng, trước ngày 20 gửi về UBND huyện.").deadlines
    assert (deadline.recurrence, deadline.day, deadline.to) == ("monthly", 20, "UBND huyện")
    assert read("Hằng tháng tổ chức họp trước ngày 20/6.").deadlines[0].recurrence == "once"


def test_a_year_named_alone_beside_its_date() -> None:
    found = read("Định kỳ 6 tháng (trước ngày 20/6), năm (trước ngày 20/12), các đơn vị báo cáo UBND tỉnh.")
    assert [(d.period, d.recurrence) for d in found.deadlines] == [
        ("half-year", "yearly"),
        ("year", "yearly"),
    ]


@pytest.mark.parametrize(
    ("sentence", "start", "end"),
    [
        ("Hưởng ứng Tháng hành động về an toàn, vệ sinh lao động năm 2024.", (1, 5), (31, 5)),
        ("Triển khai Tháng hành động quốc gia về dân số.", (1, 12), (31, 12)),
        ("Tổ chức Tháng Thanh niên năm 2024.", (1, 3), (31, 3)),
    ],
)
def test_more_action_months_known_by_name(sentence: str, start: tuple, end: tuple) -> None:
    (window,) = read(sentence).windows
    assert (window.start, window.end) == (date(2024, start[1], start[0]), date(2024, end[1], end[0]))


def test_named_days_whose_name_starts_lowercase() -> None:
    found = read(
        "Kỷ niệm Ngày thành lập Đảng Cộng sản Việt Nam (03/02) và Ngày truyền thống ngành Lao động (28/8)."
    )
    assert [(o.day, o.month) for o in found.observances] == [(3, 2), (28, 8)]


_PHRASES = [
    "Các sở báo cáo UBND tỉnh trước ngày 10/6/2024 thông qua Sở Y tế.",
    "Sở Y tế báo cáo UBND tỉnh trước ngày 15/6/2024.",
    "Các xã báo cáo kết quả vào báo cáo chung hằng tháng gửi Văn phòng.",
    "Các xã báo cáo UBND huyện trước ngày 20 của tháng cuối quý.",
    "Tháng hành động vì bình đẳng giới từ 15/11 đến 15/12.",
    "Ngày Quốc tế Phụ nữ 8/3.",
    "IV. TỔ CHỨC THỰC HIỆN",
    "1. Sở Tư pháp: phối hợp.",
    "Quyết định số 12/QĐ-UBND ngày 02/10/2015.",
]


@given(st.lists(st.one_of(st.sampled_from(_PHRASES), st.text(max_size=80)), max_size=12))
def test_every_proposal_is_a_plan_file_the_loader_can_read(paragraphs: list[str]) -> None:
    from datetime import date as day

    from scheduler.config.schema import PlanSpec
    from scheduler.config.yamlfile import read_yaml

    found = extract(paragraphs, [f"t:{i}" for i in range(len(paragraphs))], 2024)
    text = plan_yaml(found, "de-xuat", "t.txt", day(2026, 11, 24))
    path = _TMP / "de-xuat.yaml"
    path.write_text(text, encoding="utf-8")
    plan = PlanSpec.model_validate(read_yaml(path).data)  # the schema accepts it; check then asks for roles
    assert len(plan.obligations) >= len([d for d in found.deadlines if d.recurrence != "quarterly"])
    assert len(plan.windows) == len(found.windows) and len(plan.observances) == len(found.observances)


def test_reading_stops_at_the_signature_and_distribution_list() -> None:
    found = read(
        """
        Các sở báo cáo trước ngày 10/6/2024.
        Nơi nhận:
        - Như trên (để báo cáo trước ngày 15/6/2024);
        """
    )
    assert dues(found) == [date(2024, 6, 10)]


def test_a_horizon_in_the_title_is_not_the_plans_year() -> None:
    found = read(
        "KẾ HOẠCH\nTriển khai Chương trình truyền thông đến năm 2030\nLâm Đồng, ngày 23 tháng 02 năm 2022",
        None,
    )
    assert found.year == 2022


def test_a_period_after_another_is_due_for_the_same_report_to_the_same_recipient() -> None:
    found = read(
        "- Báo cáo định kỳ 6 tháng (trước ngày 10/6/2024) và năm (trước ngày 10/12/2024) về UBND huyện "
        "(qua Phòng Văn hóa và Thông tin) để tổng hợp."
    )
    assert [(d.title, d.period, d.to, d.via) for d in found.deadlines] == [
        ("Báo cáo định kỳ 6 tháng", "half-year", "UBND huyện", "Phòng Văn hóa và Thông tin"),
        ("Báo cáo năm", "year", "UBND huyện", "Phòng Văn hóa và Thông tin"),
    ]


def test_two_recipients_keep_the_first() -> None:
    (deadline,) = read(
        "Phòng Nội vụ báo cáo UBND huyện và Sở Nội vụ kết quả trước ngày 20/12/2024."
    ).deadlines
    assert deadline.to == "UBND huyện"


def test_a_table_row_says_what_and_who() -> None:
    found = read_markdown(
        """
        | TT | Nội dung | Đơn vị thực hiện | Thời gian |
        | 1 | Xây dựng kế hoạch | Hội LHPN huyện | Trước ngày 20/5/2024 |
        """
    )
    (deadline,) = found.deadlines
    assert (deadline.title, deadline.who, deadline.due) == (
        "Xây dựng kế hoạch",
        ["Hội LHPN huyện"],
        date(2024, 5, 20),
    )


def test_one_deadline_said_twice_is_one_and_a_longer_name_is_the_same_agency() -> None:
    found = read_markdown(
        """
        | 2 | Báo cáo kết quả | Hội LHPN các huyện | Trước ngày 05/7/2024 |
        Hội LHPN các huyện báo cáo kết quả về Hội LHPN tỉnh (qua Ban Gia đình - Xã hội) trước ngày 05/7/2024.
        Ban Gia đình - Xã hội Hội LHPN tỉnh tổng hợp kết quả, báo cáo Ban Thường vụ trước ngày 10/7/2024.
        """
    )
    units, focal = found.deadlines
    assert (units.to, units.via) == ("Hội LHPN tỉnh", "Ban Gia đình - Xã hội")
    assert focal.after is units


def test_a_dated_window_takes_the_name_of_the_action_month_it_is() -> None:
    found = read(
        "Triển khai Tháng hành động vì trẻ em năm 2024. Thời gian cao điểm: từ ngày 01/6 đến 30/6/2024."
    )
    assert [(w.title, w.start) for w in found.windows] == [("Tháng hành động vì trẻ em", date(2024, 6, 1))]


def test_periods_listed_go_with_the_dates_listed() -> None:
    found = read(
        "Các sở, ban, ngành; UBND các huyện định kỳ 6 tháng, năm báo cáo kết quả về Sở Y tế "
        "(trước ngày 15/6 và 15/12) để tổng hợp."
    )
    assert [(d.due, d.period, d.recurrence) for d in found.deadlines] == [
        (date(2024, 6, 15), "half-year", "yearly"),
        (date(2024, 12, 15), "year", "yearly"),
    ]
    assert found.deadlines[0].who == ["Các sở, ban, ngành", "UBND các huyện"]


def test_the_agency_that_consolidates_in_the_same_sentence_owns_the_later_deadline() -> None:
    found = read(
        "Các sở, ban, ngành báo cáo năm (trước ngày 30/11/2024) về Sở Y tế để tổng hợp, báo cáo Chủ tịch "
        "UBND tỉnh trước ngày 15/12/2024."
    )
    units, focal = found.deadlines
    assert (units.who, units.to) == (["Các sở, ban, ngành"], "Sở Y tế")  # the nearest recipient, not the last
    assert (focal.who, focal.to, focal.after) == (["Sở Y tế"], "Chủ tịch UBND tỉnh", units)


def test_more_kinds_of_agency_head_a_section_and_end_a_recipient() -> None:
    found = read_markdown(
        """
        ### III. TỔ CHỨC THỰC HIỆN
        **1. Trạm Y tế xã:** tổng hợp báo cáo UBND xã và Trung tâm Y tế huyện định kỳ hằng tháng trước ngày 20.
        """
    )
    (deadline,) = found.deadlines
    assert found.agencies == ["Trạm Y tế xã"]
    assert (deadline.who, deadline.to, deadline.recurrence, deadline.day) == (
        ["Trạm Y tế xã"],
        "UBND xã",
        "monthly",
        20,
    )
