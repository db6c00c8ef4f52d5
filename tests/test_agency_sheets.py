"""Agency and contact lists from and to spreadsheets: `nhacviec agencies import|export`.

The workbooks are real .xlsx files written with openpyxl (merged cells, numbers, formats); where
openpyxl cannot write what Excel writes (a formula's saved value, a hostile archive), the test
edits the archive's XML itself.
"""

from __future__ import annotations

import shutil
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from typer.testing import CliRunner

from scheduler.cli import app as cli_module
from scheduler.cli.app import app
from scheduler.config import agency_sheets
from scheduler.config.agency_sheets import HEADERS, field_of
from scheduler.config.deployment import Deployment
from scheduler.config.loader import load_config
from scheduler.config.yamlfile import ConfigInvalid


@pytest.fixture
def cli(config_dir: Path, monkeypatch, tmp_path: Path):
    monkeypatch.setattr(cli_module.out, "width", 500)
    monkeypatch.setattr(cli_module.err, "width", 500)
    runner = CliRunner()
    env = {"NHACVIEC_CONFIG_DIR": str(config_dir), "NHACVIEC_DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}

    def invoke(*args: str):
        return runner.invoke(app, [str(a) for a in args], env=env)

    return invoke


def without_the_hue_sample(config_dir: Path) -> None:
    """The sheets below are the README's example list of the city of Huế, whose ids the sample
    configuration's own `config/agencies/hue.yaml` (and its plan) already declare."""
    (config_dir / "agencies" / "hue.yaml").unlink()
    (config_dir / "plans" / "hue-2026-bdg.yaml").unlink()


def workbook(
    path: Path, rows: list[list[Any]], merges: tuple[str, ...] = (), title: str = "Đơn vị", **formats
):
    """An .xlsx with one sheet; `formats` maps a cell ("I7") to its number format."""
    book = Workbook()
    ws = book.active
    ws.title = title
    for row in rows:
        ws.append(row)
    for cells in merges:
        ws.merge_cells(cells)
    for cell, number_format in formats.items():
        ws[cell].number_format = number_format
    book.save(path)
    return path


def edit_archive(path: Path, member: str, change) -> None:
    """Rewrite one member of a zip archive with `change(text) -> text`."""
    with zipfile.ZipFile(path) as source:
        members = {info.filename: source.read(info.filename) for info in source.infolist()}
    members[member] = change(members[member].decode("utf-8")).encode("utf-8")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in members.items():
            target.writestr(name, data)


def same_agencies(a: Deployment, b: Deployment) -> None:
    assert a.agencies == b.agencies
    assert a.groups == b.groups
    assert a.members == b.members
    assert a.contacts == b.contacts


HEADER = [
    "STT",
    "Tên đơn vị",
    "Mã",
    "Đơn vị cấp trên",
    "Nhóm",
    "Họ tên đầu mối",
    "Chức vụ",
    "Email",
    "Điện thoại",
]


# --- headers ----------------------------------------------------------------------------------


@pytest.mark.parametrize("field", list(HEADERS))
def test_every_exported_header_reads_back_as_its_field(field: str) -> None:
    assert field_of(HEADERS[field]) == field


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Số ĐT", "focal.mobile"),
        ("SỐ ĐIỆN THOẠI (di động)", "focal.mobile"),
        ("E-mail (bắt buộc)", "focal.email"),
        ("Thư điện tử", "focal.email"),
        ("Họ và tên người đầu mối", "focal.name"),
        ("Cán bộ đầu mối", "focal.name"),
        ("Điện thoại liên hệ", "focal.mobile"),
        ("SĐT Thủ trưởng", "leader.mobile"),
        ("Họ tên lãnh đạo đơn vị", "leader.name"),
        ("Email Lãnh đạo", "leader.email"),
        ("Mã ĐV", "id"),
        ("Cơ quan, đơn vị", "name"),
        ("Mã đơn vị cấp trên", "parent"),
        ("Thuộc nhóm", "groups"),
        ("TT", "stt"),
        ("Hiệu lực từ ngày", "valid_from"),
        ("Ngày bắt đầu hoạt động", "valid_from"),
        ("HIỆU LỰC ĐẾN NGÀY", "valid_until"),
        ("Ngày kết thúc", "valid_until"),
        ("Đơn vị kế thừa", "succeeded_by"),
        ("Sáp nhập vào", "succeeded_by"),
        ("Ghi chú", None),
        ("Điện thoại cơ quan", None),
    ],
)
def test_headers_are_matched_without_accents_case_or_punctuation(header: str, field: str | None) -> None:
    assert field_of(header) == field


# --- round trips -------------------------------------------------------------------------------


def test_export_to_xlsx_then_import_gives_the_same_configuration(
    cli, config_dir: Path, tmp_path: Path
) -> None:
    sheet = tmp_path / "don-vi.xlsx"
    result = cli("agencies", "export", "--xlsx", sheet)
    assert result.exit_code == 0, result.output
    assert "57 đơn vị, 62 đầu mối, 7 nhóm" in result.output
    book = load_workbook(sheet, read_only=True)
    assert book.sheetnames == ["Đơn vị", "Nhóm"]
    book.close()

    target = tmp_path / "moi"
    shutil.copytree(config_dir, target)
    for file in (target / "agencies").glob("*.yaml"):
        file.unlink()
    out = target / "agencies" / "danh-sach.yaml"
    result = cli("agencies", "import", sheet, "--config", target, "--out", out)
    assert result.exit_code == 0, result.output
    assert "57 đơn vị, 62 đầu mối, 7 nhóm; 0 cảnh báo" in result.output
    same_agencies(load_config(target), load_config(config_dir))
    assert cli("check", "--config", target).exit_code == 0


def test_csv_round_trip_of_one_file_keeps_every_contact_field(cli, config_dir: Path, tmp_path: Path) -> None:
    """Contacts in an unusual order, with their own ids, no channel at all, a fallback, a webhook
    and a plug-in channel's address, and a name Excel would take for a formula."""
    file = config_dir / "agencies" / "thua-thien-hue.yaml"
    file.write_text(
        file.read_text("utf-8")
        + """
  - id: tth-mau-day-du
    name: "=Đơn vị mẫu, đủ các trường"
    parent: tth-ubnd-tinh
    groups: [tth-so-nganh, tth-huyen]
    contacts:
      - {name: Giám đốc, role: leader, email: gd@mau.tth.example.org, zalo: "0900 000 901"}
      - {name: Chuyên viên A, title: Chuyên viên, email: a@mau.tth.example.org, channels: []}
      - {id: chuyen-vien-b, name: Chuyên viên B, mobile: "0900 000 902", channels: [sms], fallback: [email],
         email: b@mau.tth.example.org}
      - {id: he-thong, name: Hệ thống tiếp nhận, webhook: "https://nhan.tth.example.org/hook",
         addresses: {fax: "+84 234 3822 123"}}
""",
        encoding="utf-8",
    )
    before = load_config(config_dir)
    sheet = tmp_path / "tth.csv"
    result = cli("agencies", "export", "--file", "thua-thien-hue.yaml", "--csv", sheet)
    assert result.exit_code == 0, result.output
    data = sheet.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert "lt-" not in text  # only the file's agencies
    assert "'=Đơn vị mẫu" in text  # never a formula when Excel opens it
    assert ",-," in text  # `channels: []`

    result = cli("agencies", "import", sheet, "--out", file, "--force")
    assert result.exit_code == 0, result.output
    same_agencies(load_config(config_dir), before)


# The sample's Sở LĐTBXH already ended on 28/02/2025, merged into Sở Nội vụ of Huế: a start too.
MERGED = """
  - id: tth-so-ldtbxh
    valid_from: 01/01/2008
"""


@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_an_agency_that_ended_and_merged_round_trips(
    cli, config_dir: Path, tmp_path: Path, kind: str
) -> None:
    """The dates of an agency's life, and its successor declared in another file, are exported
    (real dates in .xlsx, dd/mm/yyyy in .csv) and imported back to the same configuration."""
    file = config_dir / "agencies" / "thua-thien-hue.yaml"
    file.write_text(file.read_text("utf-8").replace("\n  - id: tth-so-ldtbxh\n", MERGED, 1), "utf-8")
    before = load_config(config_dir)
    ended = before.agencies["tth-so-ldtbxh"]
    assert (ended.valid_from, ended.valid_until, ended.succeeded_by) == (
        date(2008, 1, 1),
        date(2025, 2, 28),
        "hue-so-noi-vu",
    )
    sheet = tmp_path / f"tth.{kind}"
    result = cli("agencies", "export", "--file", "thua-thien-hue.yaml", f"--{kind}", sheet)
    assert result.exit_code == 0, result.output
    if kind == "xlsx":
        ws = load_workbook(sheet)["Đơn vị"]
        headers = [c.value for c in ws[1]]
        assert headers[6:9] == ["Hiệu lực từ ngày", "Hiệu lực đến ngày", "Đơn vị kế thừa (sáp nhập vào)"]
        until = next(row[7] for row in ws.iter_rows(min_row=2) if row[1].value == "tth-so-ldtbxh")
        assert until.value == datetime(2025, 2, 28) and until.number_format == "DD/MM/YYYY"
    else:
        assert ",01/01/2008,28/02/2025,hue-so-noi-vu," in sheet.read_text("utf-8-sig")

    result = cli("agencies", "import", sheet, "--out", file, "--force")
    assert result.exit_code == 0, result.output
    assert "valid_until: 28/02/2025" in file.read_text("utf-8")
    same_agencies(load_config(config_dir), before)


def test_an_agency_life_from_an_office_sheet(cli, config_dir: Path, tmp_path: Path) -> None:
    """Dates as Excel dates or as text, a successor named by its name (in the sheet or in another
    file), the dates under a heading written above them."""
    # fmt: off
    rows = [
        [*HEADER[:5], "Hiệu lực", None, "Sáp nhập vào", *HEADER[5:]],
        [None, None, None, None, None, "Từ ngày", "Đến ngày"],
        [1, "UBND phường Thuận Hòa", "hue-thuan-hoa", "tth-ubnd-tinh", None, None, datetime(2025, 6, 30),
         "UBND phường Phú Xuân mới", "Người A", None, "a@hue.example.org"],
        [2, "UBND phường Phú Xuân mới", "hue-phu-xuan-moi", "tth-ubnd-tinh", None, "1/7/2025", None, None,
         "Người B", None, "b@hue.example.org"],
        [3, "Sở Y tế cũ", "hue-so-y-te-cu", None, None, date(2008, 1, 1), "2025-06-30", "sở y tế", "Người C",
         None, "c@hue.example.org"],
    ]
    # fmt: on
    out = config_dir / "agencies" / "sap-nhap.yaml"
    result = cli("agencies", "import", workbook(tmp_path / "sn.xlsx", rows, ("F1:G1",)), "--out", out)
    assert result.exit_code == 0, result.output
    deployment = load_config(config_dir)
    thuan_hoa, phu_xuan, y_te = (
        deployment.agencies[a] for a in ("hue-thuan-hoa", "hue-phu-xuan-moi", "hue-so-y-te-cu")
    )
    assert (thuan_hoa.valid_until, thuan_hoa.succeeded_by) == (date(2025, 6, 30), "hue-phu-xuan-moi")
    assert phu_xuan.valid_from == date(2025, 7, 1)
    assert (y_te.valid_from, y_te.valid_until, y_te.succeeded_by) == (
        date(2008, 1, 1),
        date(2025, 6, 30),
        "tth-so-y-te",  # by its name, in thua-thien-hue.yaml
    )
    assert "valid_from: 01/07/2025" in out.read_text("utf-8")


def test_each_bad_date_or_successor_is_an_error_at_its_cell(cli, config_dir: Path, tmp_path: Path) -> None:
    header = [*HEADER, "Hiệu lực từ ngày", "Hiệu lực đến ngày", "Đơn vị kế thừa"]
    person = ["Người", None, "a@hue.example.org", None]
    rows = [
        header,
        [1, "Sở A", "hue-so-a", None, None, *person, None, "31/06/2025"],
        [2, "Sở B", "hue-so-b", None, None, *person, "30.06.2025"],
        [3, "Sở C", "hue-so-c", None, None, *person, None, "30/06/2025", "Sở không có"],
        [4, "Sở D", "hue-so-d", None, None, *person, None, datetime(2025, 6, 30, 17, 0)],
        [5, "Sở E", "hue-so-e", None, None, *person, None, "30/06/2025", "Sở Y"],
        [6, "Sở Y", "hue-so-y", None, None, *person],
        [7, "Sở Y", "hue-so-y-2", None, None, *person],
    ]
    result = cli("agencies", "import", workbook(tmp_path / "loi.xlsx", rows))
    assert result.exit_code == 1
    for line in (
        "Đơn vị!2:K: Hiệu lực đến ngày: '31/06/2025' không phải ngày: tháng 6/2025 chỉ có 30 ngày",
        "Đơn vị!3:J: Hiệu lực từ ngày: '30.06.2025' không phải ngày: cần dạng ngày/tháng/năm",
        "Đơn vị!4:L: Đơn vị kế thừa: không có đơn vị nào mã hoặc tên 'Sở không có' trong bảng này và trong "
        "config/agencies/: ghi Mã của đơn vị kế thừa",
        "Đơn vị!5:K: Hiệu lực đến ngày: ô có giờ chứ không chỉ có ngày",
        "Đơn vị!6:L: Đơn vị kế thừa: có 2 đơn vị tên 'Sở Y' (hue-so-y, hue-so-y-2): ghi Mã của đơn vị kế thừa",
    ):
        assert line in result.output

    # what the loader checks: a successor without an end, an end before the start, a loop
    rows = [
        header,
        [1, "Sở A", "hue-so-a", None, None, *person, None, None, "hue-so-b"],
        [2, "Sở B", "hue-so-b", None, None, *person, "01/07/2025", "30/06/2025"],
        [3, "Sở C", "hue-so-c", None, None, *person, None, "30/06/2025", "hue-so-c"],
    ]
    result = cli("agencies", "import", workbook(tmp_path / "loi-2.xlsx", rows))
    assert result.exit_code == 1
    for line in (
        "Đơn vị!2:L: Đơn vị kế thừa: 'Đơn vị kế thừa (sáp nhập vào)' cần 'Hiệu lực đến ngày'",
        "Đơn vị!3:K: Hiệu lực đến ngày: ngày cuối (30/06/2025) trước ngày bắt đầu (01/07/2025)",
        "Đơn vị!4:L: Đơn vị kế thừa: đơn vị không thể kế thừa chính nó",
    ):
        assert line in result.output


def test_export_writes_text_cells_that_excel_does_not_turn_into_formulas_or_numbers(
    cli, config_dir: Path, tmp_path: Path
) -> None:
    file = config_dir / "agencies" / "lam-thao.yaml"
    file.write_text(file.read_text("utf-8").replace("name: Phòng Nội vụ,", 'name: "=1+1",'), "utf-8")
    sheet = tmp_path / "lt.xlsx"
    assert cli("agencies", "export", "--xlsx", sheet).exit_code == 0
    ws = load_workbook(sheet)["Đơn vị"]
    cells = {c.value: c for row in ws.iter_rows() for c in row if c.value}
    assert cells["=1+1"].data_type == "s"
    assert cells["0900 000 301"].data_type == "s" and cells["0900 000 301"].number_format == "@"


def test_export_refuses_to_overwrite_a_file(cli, tmp_path: Path) -> None:
    sheet = tmp_path / "cu.xlsx"
    sheet.write_bytes(b"bang tinh cua van phong")
    result = cli("agencies", "export", "--xlsx", sheet)
    assert result.exit_code == 2 and "tệp đã có" in result.output
    assert sheet.read_bytes() == b"bang tinh cua van phong"


# --- the mess of real sheets -------------------------------------------------------------------


def messy_sheet(path: Path) -> Path:
    mai = [
        2,
        "UBND phường Phú Xuân",
        "hue-phuong-phu-xuan",
        "tth-ubnd-tinh",
        "tth-huyen",
        "Hoàng Thị Mai",
        None,
        "mai.ht@phuxuan.hue.example.org",
        84901234567,
    ]
    # fmt: off
    rows = [
        ["DANH SÁCH ĐẦU MỐI BÁO CÁO CÔNG TÁC BÌNH ĐẲNG GIỚI"],
        ["STT", "Tên đơn vị", "Mã", "Đơn vị cấp trên", "Nhóm", "Đầu mối", None, None, None, "Lãnh đạo", None,
         "Ghi chú"],
        [None, None, None, None, None, "Họ và tên", "Chức vụ", "E-mail", "Số điện thoại", "Họ tên", "Email"],
        [1, "Sở Nội vụ\u00a0thành phố Huế  ", "hue-so-noi-vu", "tth-ubnd-tinh", "Các sở, ngành có liên quan",
         "Nguyễn\u00a0Thị  Lan ", "Chuyên viên", " lan.nt@NoiVu.Hue.example.org ", 912345678,
         "Trần Văn Bình", "binh.tv@noivu.hue.example.org", "gọi trước 9 giờ"],
        [None, None, None, None, None, "Lê Văn Cường", "Phó Trưởng phòng", "cuong.lv@noivu.hue.example.org",
         "0987 654 321"],
        [],
        mai,
        mai,  # the same row twice
    ]
    # fmt: on
    merges = (
        "A1:L1",
        "A2:A3",
        "B2:B3",
        "C2:C3",
        "D2:D3",
        "E2:E3",
        "F2:I2",
        "J2:K2",
        "L2:L3",
        "B4:B5",
        "C4:C5",
    )
    return workbook(path, rows, merges, I7="0.00E+00", I8="0.00E+00")


def test_a_messy_sheet_is_read_with_documented_normalisations(cli, config_dir: Path, tmp_path: Path) -> None:
    without_the_hue_sample(config_dir)
    out = config_dir / "agencies" / "hue.yaml"
    result = cli("agencies", "import", messy_sheet(tmp_path / "ds.xlsx"), "--out", out)
    assert result.exit_code == 0, result.output
    # the column that is not ours, and the duplicate row, are named
    assert "cảnh báo Đơn vị!2:L: Ghi chú: cột này không thuộc mẫu" in result.output
    assert "cảnh báo Đơn vị!8:B: Tên đơn vị: dòng trùng với dòng 7: bỏ qua" in result.output
    deployment = load_config(config_dir)
    noi_vu = deployment.agencies["hue-so-noi-vu"]
    assert noi_vu.name == "Sở Nội vụ thành phố Huế"  # NBSP and trailing spaces
    assert noi_vu.parent == "tth-ubnd-tinh"  # by Mã, from another file
    assert noi_vu.groups == ["tth-so-nganh"]  # by the group's name
    focal, leader, second = (c.spec for c in deployment.contacts["hue-so-noi-vu"])
    assert (focal.name, focal.title, focal.email, focal.mobile) == (
        "Nguyễn Thị Lan",
        "Chuyên viên",
        "lan.nt@noivu.hue.example.org",  # trimmed, domain in lower case as the loader does
        "+84912345678",  # a number cell that lost its leading 0
    )
    assert (leader.role, leader.name, leader.email) == (
        "leader",
        "Trần Văn Bình",
        "binh.tv@noivu.hue.example.org",
    )
    assert (second.id, second.name, second.mobile) == (
        "focal-2",
        "Lê Văn Cường",
        "+84987654321",
    )  # merged cells
    (mai,) = deployment.contacts["hue-phuong-phu-xuan"]  # the duplicate row is not a second contact
    assert mai.spec.mobile == "+84901234567"  # a number in scientific format, every digit kept
    assert "mobile: 0912 345 678" in out.read_text("utf-8")


def test_repeated_rows_groups_and_parents_by_name(cli, config_dir: Path, tmp_path: Path) -> None:
    header = [*HEADER, "Kênh nhận", "Lãnh đạo", "Email lãnh đạo"]
    # fmt: off
    rows = [
        header,
        [1, "UBND phường An Cựu", "hue-an-cuu", "Ủy ban nhân dân tỉnh Thừa Thiên Huế", "tth-huyen; Các phường",
         "Phan Văn Tú", "Công chức", "tu@ancuu.hue.example.org", "0912 000 001", "Email, Zalo", "Võ Thị Hà"],
        [None, None, "hue-an-cuu", None, None, "Đỗ Thị Na", None, "na@ancuu.hue.example.org"],
        [2, "UBND phường Vỹ Dạ", None, "hue-an-cuu", "các phường", None, None, "vyda@hue.example.org"],
    ]
    # fmt: on
    out = config_dir / "agencies" / "phuong.yaml"
    result = cli("agencies", "import", workbook(tmp_path / "p.xlsx", rows), "--out", out)
    assert result.exit_code == 0, result.output
    assert "Đơn vị!2:E: Nhóm: nhóm mới 'Các phường' được tạo với mã 'cac-phuong'" in result.output
    assert "Đơn vị!4:B: Tên đơn vị: chưa có Mã: dùng mã 'ubnd-phuong-vy-da'" in result.output
    assert "Đơn vị!2:K: Lãnh đạo: lãnh đạo 'Võ Thị Hà' không có e-mail" in result.output
    deployment = load_config(config_dir)
    an_cuu = deployment.agencies["hue-an-cuu"]
    assert an_cuu.parent == "tth-ubnd-tinh" and an_cuu.groups == ["tth-huyen", "cac-phuong"]
    assert [(c.key, c.channels) for c in deployment.contacts["hue-an-cuu"]] == [
        ("hue-an-cuu/focal", ("email", "zalo")),
        ("hue-an-cuu/focal-2", ("email",)),
    ]
    vy_da = deployment.agencies["ubnd-phuong-vy-da"]
    assert vy_da.parent == "hue-an-cuu" and vy_da.groups == ["cac-phuong"]
    assert (
        deployment.contacts["ubnd-phuong-vy-da"][0].spec.name == "UBND phường Vỹ Dạ"
    )  # named after the agency
    assert deployment.groups["cac-phuong"].name == "Các phường"


def test_each_bad_cell_is_an_error_at_its_cell_and_nothing_is_written(
    cli, config_dir: Path, tmp_path: Path
) -> None:
    header = [*HEADER, "Kênh nhận"]
    rows = [
        header,
        [1, "Sở A", "hue-so-a", None, None, "Người A", None, "a@gmail,com", "0912 000 001"],
        [2, "Sở B", "hue-so-b", None, None, "Người B", None, "b@hue.example.org", "9.12346E+08"],
        [
            3,
            "Sở C",
            "hue-so-c",
            "so-khong-co",
            "nhom-la",
            "Người C",
            None,
            "c@hue.example.org",
            "024 3825 1234",
        ],
        [4, "Sở Y tế (mới)", "tth-so-y-te", None, None, "Người D", None, "d@hue.example.org"],
        [5, "Sở E", "hue-so-e", None, None, "Người E", None, "e@hue.example.org", None, "fax"],
        [6, "Sở F", "hue-so-f", None, None, "Người F", None, "f@hue.example.org", None, "zalo"],
        [7, "Sở G mới", "hue-so-e"],
        [8, "Sở H", "Sở H", None, None, "Người H", None, '=LOWER(B9)&"@hue.example.org"', "#N/A"],
    ]
    out = config_dir / "agencies" / "hue-moi.yaml"
    result = cli("agencies", "import", workbook(tmp_path / "loi.xlsx", rows), "--out", out)
    assert result.exit_code == 1
    expected = [
        "Đơn vị!2:H: Email: địa chỉ e-mail 'a@gmail,com' không hợp lệ",
        "Đơn vị!3:I: Điện thoại: số '9.12346E+08' đã bị Excel đổi sang dạng số mũ và mất chữ số cuối",
        "Đơn vị!4:I: Điện thoại: số di động '024 3825 1234' không hợp lệ",
        "Đơn vị!4:D: Đơn vị cấp trên: không có đơn vị nào mã hoặc tên 'so-khong-co'",
        "Đơn vị!4:E: Nhóm: nhóm 'nhom-la' chưa được khai báo",
        "Đơn vị!5:C: Mã: mã 'tth-so-y-te' đã được dùng ở",
        "Đơn vị!8:B: Tên đơn vị: khác với dòng 6 ('Sở E') của cùng đơn vị",
        "Đơn vị!9:H: Email: ô có công thức (=LOWER(B9)",
        "Đơn vị!9:I: Điện thoại: ô báo lỗi #N/A của Excel",
    ]
    for line in expected:
        assert line in result.output
    assert "thua-thien-hue.yaml:" in result.output  # where the colliding Mã is declared
    assert "chưa ghi tệp nào" in result.output
    assert not out.exists()


def test_what_only_the_loader_can_tell_is_reported_at_the_cell(cli, config_dir: Path, tmp_path: Path) -> None:
    rows = [
        [*HEADER, "Kênh nhận"],
        [1, "Sở E", "hue-so-e", None, None, "Người E", None, "e@hue.example.org", None, "fax"],
        [2, "Sở F", "hue-so-f", None, None, "Người F", None, "f@hue.example.org", None, "zalo"],
        [3, "Sở H", "Sở H", None, None, "Người H", None, "h@hue.example.org"],
        [4, "Sở I", "hue-so-i", "hue-so-j"],
        [5, "Sở J", "hue-so-j", "hue-so-i"],
    ]
    result = cli("agencies", "import", workbook(tmp_path / "loi.xlsx", rows))
    assert result.exit_code == 1
    for line in (
        "Đơn vị!2:J: Kênh nhận: kênh 'fax' không có; các kênh đã cài:",
        "Đơn vị!3:J: Kênh nhận: kênh 'zalo' cần trường zalo hoặc mobile của đầu mối",
        "Đơn vị!4:C: Mã: mã 'sở h' không hợp lệ: chỉ dùng chữ thường không dấu",
        "Đơn vị!5:D: Đơn vị cấp trên: cấp trên tạo thành vòng lặp",
    ):
        assert line in result.output


def test_a_formula_is_never_evaluated_but_its_saved_value_is_read(
    cli, config_dir: Path, tmp_path: Path
) -> None:
    rows = [
        HEADER,
        ["=ROW()-1", "Sở A", "hue-so-a", None, None, "Người A", None, '=LOWER("A@HUE.EXAMPLE.ORG")'],
    ]
    sheet = workbook(tmp_path / "cong-thuc.xlsx", rows)
    # what Excel saves: the formula and, beside it, the value it computed
    edit_archive(
        sheet,
        "xl/worksheets/sheet1.xml",
        lambda xml: xml.replace('<c r="H2">', '<c r="H2" t="str">').replace(
            '"A@HUE.EXAMPLE.ORG")</f><v></v>', '"A@HUE.EXAMPLE.ORG")</f><v>a@hue.example.org</v>'
        ),
    )
    result = cli("agencies", "import", sheet)
    assert result.exit_code == 0, result.output  # the STT formula has no saved value: STT is not read
    assert "email: a@hue.example.org" in result.output


def test_the_out_file_is_never_overwritten_without_force(cli, config_dir: Path, tmp_path: Path) -> None:
    out = config_dir / "agencies" / "lam-thao.yaml"
    before = out.read_bytes()
    rows = [HEADER, [1, "Sở A", "hue-so-a", None, None, "Người A", None, "a@hue.example.org"]]
    result = cli("agencies", "import", workbook(tmp_path / "a.xlsx", rows), "--out", out)
    assert result.exit_code == 2 and "tệp đã có" in result.output and "--force" in result.output
    assert out.read_bytes() == before


def test_replacing_a_file_that_plans_still_use_is_refused_with_the_plan_named(
    cli, config_dir: Path, tmp_path: Path
) -> None:
    out = config_dir / "agencies" / "lam-thao.yaml"
    before = out.read_bytes()
    rows = [HEADER, [1, "Sở A", "hue-so-a", None, None, "Người A", None, "a@hue.example.org"]]
    result = cli("agencies", "import", workbook(tmp_path / "a.xlsx", rows), "--out", out, "--force")
    assert result.exit_code == 1
    assert "plans/lam-thao-2024-bdg.yaml:" in result.output and "'lt-ubnd-huyen'" in result.output
    assert out.read_bytes() == before


# --- CSV ---------------------------------------------------------------------------------------

CSV_ROWS = [
    "STT,Tên đơn vị,Mã,Nhóm,Họ tên đầu mối,Email,Điện thoại",
    '1,"Sở Nội vụ, thành phố Huế",hue-so-noi-vu,tth-so-nganh,Nguyễn Thị Lan,lan@hue.example.org,912345678',
    "2,UBND phường Phú Xuân,hue-phuong-phu-xuan,tth-huyen,Hoàng Thị Mai,mai@hue.example.org,0901 234 567",
]


def yaml_body(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))


@pytest.mark.parametrize(
    "variant",
    ["utf-8", "utf-8-sig", "semicolon"],
)
def test_csv_in_utf8_with_or_without_bom_and_either_separator(
    cli, config_dir: Path, tmp_path: Path, variant: str
) -> None:
    without_the_hue_sample(config_dir)
    lines = CSV_ROWS
    if variant == "semicolon":
        lines = [
            line.replace('"Sở Nội vụ, thành phố Huế"', "Sở Nội vụ, thành phố Huế")
            .replace(",", ";")
            .replace("Sở Nội vụ; thành phố Huế", '"Sở Nội vụ, thành phố Huế"')
            for line in CSV_ROWS
        ]
    sheet = tmp_path / "ds.csv"
    sheet.write_bytes("\r\n".join(lines).encode("utf-8-sig" if variant == "utf-8-sig" else "utf-8"))
    result = cli("agencies", "import", sheet)
    assert result.exit_code == 0, result.output
    assert 'name: "Sở Nội vụ, thành phố Huế"' in result.stdout
    assert "mobile: 0912 345 678" in result.stdout and "mobile: 0901 234 567" in result.stdout


def test_csv_in_another_encoding_is_refused_clearly(cli, tmp_path: Path) -> None:
    sheet = tmp_path / "ds.csv"
    # as a Windows "CSV (Comma delimited)" save writes it: Vietnamese Windows-1258, not UTF-8
    sheet.write_bytes("\r\n".join(CSV_ROWS).encode("cp1258", errors="replace"))
    result = cli("agencies", "import", sheet)
    assert result.exit_code == 1
    assert "ds.csv:1: tệp CSV không phải UTF-8" in result.output and "CSV UTF-8" in result.output
    sheet.write_bytes("\r\n".join(CSV_ROWS).encode("utf-16"))
    result = cli("agencies", "import", sheet)
    assert result.exit_code == 1 and "UTF-16" in result.output


def test_csv_errors_name_the_file_row_and_column(cli, tmp_path: Path) -> None:
    sheet = tmp_path / "ds.csv"
    sheet.write_text("\n".join([*CSV_ROWS, "3,Sở X,hue-so-x,,Người X,x@@hue.example.org,"]), "utf-8")
    result = cli("agencies", "import", sheet)
    assert result.exit_code == 1
    assert "ds.csv!4:F: Email: địa chỉ e-mail 'x@@hue.example.org' không hợp lệ" in result.output


# --- hostile files -------------------------------------------------------------------------------


def test_macros_and_the_old_format_are_refused(cli, tmp_path: Path) -> None:
    rows = [HEADER, [1, "Sở A", "hue-so-a", None, None, "Người A", None, "a@hue.example.org"]]
    xlsm = workbook(tmp_path / "macro.xlsm", rows)
    result = cli("agencies", "import", xlsm)
    assert result.exit_code == 1 and "macro" in result.output and ".xlsx" in result.output

    disguised = workbook(tmp_path / "macro.xlsx", rows)
    with zipfile.ZipFile(disguised, "a") as archive:
        archive.writestr("xl/vbaProject.bin", b"\x00" * 64)
    result = cli("agencies", "import", disguised)
    assert result.exit_code == 1 and "macro (VBA)" in result.output

    old = tmp_path / "ole.bin"
    old.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    for name in ("cu.xls", "cu-doi-ten.xlsx"):
        shutil.copy(old, tmp_path / name)
        result = cli("agencies", "import", tmp_path / name)
        assert result.exit_code == 1 and "Excel 97–2003 (.xls)" in result.output


def test_a_file_too_large_or_unpacking_to_too_much_is_refused_before_reading(
    cli, tmp_path: Path, monkeypatch
) -> None:
    big = tmp_path / "lon.xlsx"
    with big.open("wb") as handle:
        handle.write(b"PK\x03\x04")
        handle.truncate(agency_sheets.MAX_FILE_BYTES + 1)
    result = cli("agencies", "import", big)
    assert result.exit_code == 1 and "quá giới hạn 20 MB" in result.output

    bomb = workbook(tmp_path / "bom.xlsx", [HEADER])
    with zipfile.ZipFile(bomb, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/media/anh.bin", b"\x00" * (2 * 1024 * 1024))
    monkeypatch.setattr(agency_sheets, "MAX_UNPACKED_BYTES", 1024 * 1024)
    result = cli("agencies", "import", bomb)
    assert result.exit_code == 1 and "giải nén ra 2 MB, quá giới hạn 1 MB" in result.output


def test_xml_entities_are_refused(cli, tmp_path: Path) -> None:
    rows = [HEADER, [1, "Sở A", "hue-so-a", None, None, "Người A", None, "a@hue.example.org"]]
    sheet = workbook(tmp_path / "laughs.xlsx", rows)
    laughs = '<!DOCTYPE s [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    edit_archive(
        sheet,
        "xl/worksheets/sheet1.xml",
        lambda xml: xml.replace("<worksheet", laughs + "<worksheet", 1).replace("<t>Sở A</t>", "<t>&b;</t>"),
    )
    result = cli("agencies", "import", sheet)
    assert result.exit_code == 1 and "không đọc được tệp .xlsx" in result.output


def test_rows_and_columns_are_capped(cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(agency_sheets, "MAX_ROWS", 4)
    rows = [HEADER] + [
        [i, f"Sở {i}", f"hue-so-{i}", None, None, "Người", None, f"s{i}@hue.example.org"] for i in range(6)
    ]
    result = cli("agencies", "import", workbook(tmp_path / "dai.xlsx", rows))
    assert result.exit_code == 1 and "Đơn vị!5: bảng có quá 4 dòng" in result.output

    monkeypatch.setattr(agency_sheets, "MAX_COLUMNS", 10)
    rows = [
        [*HEADER, None, "cột thừa"],
        [1, "Sở A", "hue-so-a", None, None, "Người A", None, "a@hue.example.org"],
    ]
    result = cli("agencies", "import", workbook(tmp_path / "rong.xlsx", rows))
    assert result.exit_code == 1 and "Đơn vị!1:K: bảng có dữ liệu ngoài 10 cột đầu" in result.output


def test_a_declared_size_is_not_trusted(cli, tmp_path: Path) -> None:
    rows = [HEADER, [1, "Sở A", "hue-so-a", None, None, "Người A", None, "a@hue.example.org"]]
    sheet = workbook(tmp_path / "kich-thuoc.xlsx", rows)
    edit_archive(
        sheet,
        "xl/worksheets/sheet1.xml",
        lambda xml: xml.replace('<dimension ref="A1:H2"/>', '<dimension ref="A1:XFD1048576"/>'),
    )
    result = cli("agencies", "import", sheet)
    assert result.exit_code == 0, result.output
    assert "1 đơn vị, 1 đầu mối" in result.output


@pytest.mark.slow
def test_five_thousand_rows(cli, config_dir: Path, tmp_path: Path) -> None:
    book = Workbook(write_only=True)
    ws = book.create_sheet("Đơn vị")
    ws.append([*HEADER, "Lãnh đạo", "Email lãnh đạo"])
    for i in range(5000):
        where = [i + 1, f"UBND xã số {i:04d}", f"xa-{i:04d}", "tth-ubnd-tinh", "tth-huyen"]
        who = [f"Đầu mối {i}", "Công chức", f"dau-moi@xa{i}.example.org", f"09{i:08d}"]
        ws.append([*where, *who, f"Lãnh đạo {i}", f"lanh-dao@xa{i}.example.org"])
    sheet = tmp_path / "5000.xlsx"
    book.save(sheet)
    out = config_dir / "agencies" / "xa.yaml"
    result = cli("agencies", "import", sheet, "--out", out)
    assert result.exit_code == 0, result.output
    deployment = load_config(config_dir)
    assert sum(a.startswith("xa-") for a in deployment.agencies) == 5000
    assert len(deployment.members["tth-huyen"]) == 9 + 5000
    assert deployment.contacts["xa-4999"][1].spec.email == "lanh-dao@xa4999.example.org"


def test_an_invalid_agency_does_not_shift_the_lines_of_the_next_ones(config_dir: Path) -> None:
    """The loader checks the agencies that validated by their place in the file: an invalid one
    before them must not move their errors onto its own line (nor, from a sheet, its row)."""
    file = config_dir / "agencies" / "thua-thien-hue.yaml"
    text = file.read_text("utf-8")
    file.write_text(
        text
        + "  - {id: x-bad, name: Bad, contacts: [{name: A, email: a@x.example.org, channels: [fax]}]}\n"
        + "  - {id: x-zalo, name: Zalo, contacts: [{name: B, email: b@x.example.org, channels: [zalo]}]}\n",
        "utf-8",
    )
    last = text.count("\n")
    with pytest.raises(ConfigInvalid) as caught:
        load_config(config_dir)
    assert [(e.line, e.field) for e in caught.value.errors] == [
        (last + 1, "agencies[18].contacts[0].channels[0]"),
        (last + 2, "agencies[19].contacts[0].channels[0]"),
    ]


def test_without_a_configuration_the_sheet_is_checked_alone(cli, tmp_path: Path) -> None:
    rows = [
        [*HEADER, "Email"],
        [1, "UBND tỉnh", "tinh", None, None, "Văn phòng", None, "vp@tinh.example.org"],
        [2, "Sở A", "so-a", "tinh", None, "Người A", None, "a@tinh.example.org"],
    ]
    sheet = workbook(tmp_path / "a.xlsx", rows)
    result = cli("agencies", "import", sheet, "--config", tmp_path / "chua-co")
    assert result.exit_code == 1
    assert "Đơn vị!1:J: Email: cùng nghĩa với cột H ('Email')" in result.output

    rows = [row[:9] for row in rows] + [
        [3, "Sở B", "so-b", "khong-co", None, "Người B", None, "b@tinh.example.org"]
    ]
    result = cli("agencies", "import", workbook(tmp_path / "b.xlsx", rows), "--config", tmp_path / "chua-co")
    assert result.exit_code == 1
    assert "Đơn vị!4:D: Đơn vị cấp trên: không có đơn vị nào mã hoặc tên 'khong-co'" in result.output

    result = cli(
        "agencies", "import", workbook(tmp_path / "c.xlsx", rows[:3]), "--config", tmp_path / "chua-co"
    )
    assert result.exit_code == 0, result.output
    assert "parent: tinh" in result.stdout


def test_a_list_without_ids_gets_ids_from_the_names_and_a_bounded_warning(cli, tmp_path: Path) -> None:
    rows = [["Tên đơn vị", "Email"]] + [[f"UBND xã Số {i}", f"xa{i}@hue.example.org"] for i in range(15)]
    result = cli("agencies", "import", workbook(tmp_path / "khong-ma.xlsx", rows))
    assert result.exit_code == 0, result.output
    assert "id: ubnd-xa-so-14" in result.stdout
    assert result.output.count("chưa có Mã: dùng mã") == 10
    assert "và 5 đơn vị khác chưa có Mã" in result.output
