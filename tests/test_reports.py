"""'Bảng theo dõi tình hình báo cáo' (scheduler/reports/) as .xlsx and .csv, on the synced sample,
SQLite and PostgreSQL: the cells, real dates, widths, frozen header and print settings as
openpyxl reads them back; the CSV as Excel opens it; the statuses the board shows; formula
injection neutralised; the CLI and the board's download routes with their access rules; a
national year (4,341 agencies × 10 deadlines) in seconds."""

from __future__ import annotations

import csv
import io
import re
import time
import zipfile
from datetime import UTC, date, datetime

import pytest
import time_machine
from openpyxl import load_workbook
from sqlalchemy import insert, update
from starlette.testclient import TestClient
from typer.testing import CliRunner

from scheduler.cli.app import app as cli
from scheduler.config.loader import load_config
from scheduler.outbox.acks import ReportReference, acknowledge
from scheduler.outbox.store import Occurrence, OccurrenceStatus, Reminder, Status
from scheduler.render.links import Links
from scheduler.reports import tracking
from scheduler.reports.csvfile import csv_bytes
from scheduler.reports.xlsx import write_xlsx
from tests.support.accounts import sign_in, web_app
from tests.support.board import A_LUOI, HUE, PHU_XUAN, THUAN_HOA, add_users, reminder_ids, synced_sample
from tests.support.configs import make_shape, write_national_config
from tests.support.dispatch_kit import SECRET as LINK_SECRET
from tests.support.settings import make_settings

ITEM, PERIOD = "bao-cao-nam", "2026"
YEARLY = f"/ke-hoach/{HUE}/han/{ITEM}/{PERIOD}"
NOW = datetime(2026, 12, 14, 2, 0, tzinfo=UTC)  # Monday 14/12/2026, 09:00 in Vietnam
TODAY = date(2026, 12, 14)
HEADER = 9


@pytest.fixture
def ledger(tmp_path, config_dir, engine):
    """The sample synced as of 1/12/2026: Phú Xuân confirmed on time (with its report's number
    and date), Thuận Hóa late, A Lưới 1 reminded twice (a third reminder dead); Phú Xuân's
    name made formula-like as a user could type it."""
    settings, deployment = synced_sample(tmp_path, config_dir, engine)
    tz = settings.timezone
    acknowledge(
        engine,
        PHU_XUAN,
        "Nguyễn Thị Hoa",
        datetime(2026, 12, 9, 9, 30, tzinfo=tz),
        ReportReference("125/BC-UBND", date(2026, 12, 8)),
    )
    acknowledge(engine, THUAN_HOA, "=Trần Văn Minh", datetime(2026, 12, 11, 9, 0, tzinfo=tz))
    ids = reminder_ids(engine, A_LUOI)
    rem, occ = Reminder.__table__, Occurrence.__table__
    with engine.begin() as conn:
        sent = {"status": Status.SENT, "sent_at": datetime(2026, 12, 3, 1, 0, tzinfo=UTC), "attempts": 1}
        conn.execute(update(rem).where(rem.c.id.in_(ids[:2])).values(**sent))
        conn.execute(update(rem).where(rem.c.id == ids[2]).values(status=Status.DEAD, attempts=1))
        # A digest row on the same occurrence is not a reminder to the agency.
        conn.execute(update(rem).where(rem.c.id == ids[3]).values(kind="digest", **sent))
        conn.execute(update(occ).where(occ.c.key == PHU_XUAN).values(agency_name='=HYPERLINK("http://x")'))
    return settings, deployment


def report_of(engine, settings, deployment, year: bool = False) -> tracking.Report:
    plan = next(p for p in deployment.plans if p.id == HUE)
    if year:
        return tracking.year_report(engine, deployment, plan, 2026, TODAY, settings.timezone)
    return tracking.deadline_report(engine, deployment, plan, ITEM, PERIOD, TODAY, settings.timezone)


def test_the_deadline_workbook_has_the_offices_layout_real_dates_and_print_settings(ledger, engine, tmp_path):
    settings, deployment = ledger
    target = tmp_path / "bang.xlsx"
    write_xlsx(report_of(engine, settings, deployment), target)
    ws = load_workbook(target)["Bảng theo dõi"]
    assert ws["A1"].value == "SỞ NỘI VỤ THÀNH PHỐ HUẾ"  # the focal agency's full name, upper case
    assert (
        ws["E1"].value == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
        and ws["E2"].value == "Độc lập - Tự do - Hạnh phúc"
    )
    merged = {str(r) for r in ws.merged_cells.ranges}
    assert {"A1:C1", "E1:I1", "E2:I2", "A4:I4", "A7:I7"} <= merged
    assert ws["A4"].value == "BẢNG THEO DÕI TÌNH HÌNH BÁO CÁO"
    assert "Kế hoạch" in ws["A5"].value and ws["A6"].value.startswith("Hạn báo cáo:")
    assert ws["A7"].value == "Tính đến ngày 14/12/2026"
    assert [c.value for c in ws[HEADER]] == [
        "STT",
        "Đơn vị",
        "Hạn báo cáo",
        "Trạng thái",
        "Thời điểm xác nhận",
        "Người xác nhận",
        "Số, ký hiệu văn bản",
        "Ngày văn bản",
        "Số lần đã nhắc",
    ]
    rows = {r[1].value: r for r in ws.iter_rows(min_row=HEADER + 1) if isinstance(r[0].value, int)}
    assert len(rows) == 16 and [r[0].value for r in rows.values()] == list(range(1, 17))
    phu_xuan = rows['=HYPERLINK("http://x")']
    # Formula-like text stays text: a string cell flagged with a quote prefix, no formula.
    assert phu_xuan[1].data_type == "s" and phu_xuan[1].quotePrefix
    assert phu_xuan[2].is_date and phu_xuan[2].value == datetime(2026, 12, 10)
    assert phu_xuan[2].number_format == "dd/mm/yyyy"
    assert phu_xuan[3].value == "Đã báo cáo đúng hạn"
    assert phu_xuan[4].is_date and phu_xuan[4].value == datetime(2026, 12, 9, 9, 30)  # local, naive
    assert phu_xuan[4].number_format == "dd/mm/yyyy hh:mm"
    assert phu_xuan[5].value == "Nguyễn Thị Hoa" and phu_xuan[6].value == "125/BC-UBND"
    assert phu_xuan[7].is_date and phu_xuan[7].value == datetime(2026, 12, 8)
    a_luoi = next(r for name, r in rows.items() if "A Lưới 1" in name)
    assert a_luoi[3].value == "Quá hạn" and a_luoi[8].value == 2  # sent only; not the dead nor the digest
    assert a_luoi[4].value is None and a_luoi[6].value is None
    counts = ws[f"A{HEADER + 16 + 2}"].value
    assert counts.startswith("Tổng hợp: 2/16 đã báo cáo") and "Quá hạn: 14" in counts
    assert f"A{HEADER + 18}:I{HEADER + 18}" in merged | {str(r) for r in ws.merged_cells.ranges}
    # Widths, frozen header, print layout.
    assert ws.column_dimensions["B"].width == 38 and ws.column_dimensions["A"].width == 6
    assert ws.row_dimensions[HEADER].height == 32 and ws.row_dimensions[1].height == 32
    assert ws.freeze_panes == f"A{HEADER + 1}"
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9
    assert ws.print_title_rows == f"${HEADER}:${HEADER}"
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    assert ws.page_setup.fitToHeight == 0
    assert phu_xuan[3].border.left.style == "thin"
    with zipfile.ZipFile(target) as z:
        sheets = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
    assert not any("<f>" in s for s in sheets)  # not one formula in the file


def test_the_statuses_are_the_boards_for_the_same_ledger(ledger, engine, tmp_path, config_dir):
    settings, deployment = ledger
    report = report_of(engine, settings, deployment)
    add_users(engine, "snv")
    with time_machine.travel(NOW, tick=False), TestClient(web_app(tmp_path, config_dir, engine)) as client:
        sign_in(client, "snv")
        html = client.get(YEARLY).text
    for line in report.lines:
        row = next(r for r in html.split("<tr>") if f'id="dv-{line.agency_id}"' in r)
        shown = re.search(r'data-label="Trạng thái"><span class="pill[^"]*">([^<]+)</span>', row)
        assert shown and shown[1] == line.status.label, (line.agency, shown)
    assert report.progress.text == "2/16 đã báo cáo" and "2/16 đã báo cáo" in html
    late = next(line for line in report.lines if line.agency_id == "hue-phuong-thuan-hoa")
    assert late.status.label == "Đã báo cáo muộn"


def test_the_year_workbook_has_a_summary_and_a_detail_sheet(ledger, engine, tmp_path):
    settings, deployment = ledger
    report = report_of(engine, settings, deployment, year=True)
    assert len(report.deadlines) >= 2
    target = tmp_path / "nam.xlsx"
    write_xlsx(report, target)
    wb = load_workbook(target)
    assert wb.sheetnames == ["Tổng hợp", "Chi tiết"]
    summary, detail = wb["Tổng hợp"], wb["Chi tiết"]
    heads = [c.value for c in summary[HEADER]]
    assert heads[:2] == ["STT", "Đơn vị"] and len(heads) == 2 + len(report.deadlines)
    yearly = next(n for n, h in enumerate(heads) if h and h.endswith("Hạn 10/12/2026"))
    a_luoi = next(r for r in summary.iter_rows(min_row=HEADER + 1) if r[1].value and "A Lưới 1" in r[1].value)
    assert a_luoi[yearly].value == "Quá hạn"
    assert summary.freeze_panes == f"C{HEADER + 1}" and summary.print_title_rows == f"${HEADER}:${HEADER}"
    assert [c.value for c in detail[HEADER]][2] == "Nội dung báo cáo"
    assert detail.max_row >= HEADER + len(report.lines)
    assert detail.page_setup.orientation == "landscape"
    assert summary[f"A{HEADER + len(report.agencies) + 3}"].value.startswith("Tổng hợp: ")
    done = [c.value for c in summary[HEADER + len(report.agencies) + 1]]
    assert done[1] == "Đã báo cáo" and done[yearly] == "2/16 đã báo cáo"
    under = HEADER + len(report.lines) + 2
    assert detail[f"A{under}"].value.startswith("Tổng hợp: ")
    assert detail[f"A{under + 1}"].value.startswith(report.deadlines[0].name)


def test_the_csv_opens_in_excel_with_vietnamese_intact_and_no_formula(ledger, engine):
    settings, deployment = ledger
    data = csv_bytes(report_of(engine, settings, deployment))
    assert data.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    text = data.decode("utf-8-sig")
    assert "\r\n" in text and text.count("\r\n") == text.count("\n")
    rows = list(csv.reader(io.StringIO(text, newline=""), dialect="excel"))
    assert rows[0][:4] == ["STT", "Đơn vị", "Hạn báo cáo", "Trạng thái"] and len(rows) == 17
    by_name = {r[1]: r for r in rows[1:]}
    phu_xuan = by_name['\'=HYPERLINK("http://x")']
    assert phu_xuan[2:] == [
        "10/12/2026",
        "Đã báo cáo đúng hạn",
        "09/12/2026 09:30",
        "Nguyễn Thị Hoa",
        "125/BC-UBND",
        "08/12/2026",
        "0",
    ]
    thuan_hoa = next(r for r in rows if r[5] == "'=Trần Văn Minh")
    assert thuan_hoa[3] == "Đã báo cáo muộn"
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r)


def test_the_cli_writes_both_files_and_refuses_bad_options_in_vietnamese(
    ledger, engine, tmp_path, monkeypatch
):
    settings, _ = ledger
    monkeypatch.setenv("NHACVIEC_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("NHACVIEC_CONFIG_DIR", str(settings.config_dir))
    runner = CliRunner()
    with time_machine.travel(NOW, tick=False):
        xlsx = tmp_path / "out" / "bang.xlsx"
        done = runner.invoke(
            cli, ["report", "--plan", HUE, "--deadline", f"{ITEM}/{PERIOD}", "--xlsx", str(xlsx)]
        )
        assert done.exit_code == 0, done.output
        assert load_workbook(xlsx).active["A7"].value == "Tính đến ngày 14/12/2026"
        year_csv = tmp_path / "nam.csv"
        done = runner.invoke(cli, ["report", "--plan", HUE, "--year", "2026", "--csv", str(year_csv)])
        assert done.exit_code == 0, done.output
        assert year_csv.read_bytes().startswith(b"\xef\xbb\xbf")
        cases = [
            (["--plan", "khong-co", "--csv", str(year_csv)], "không có kế hoạch"),
            (["--plan", HUE, "--deadline", "khong/co", "--csv", str(year_csv)], "không có hạn báo cáo"),
            (["--plan", HUE, "--deadline", "khongco", "--csv", str(year_csv)], "<mã việc>/<kỳ>"),
            (["--plan", HUE], "cần đúng một trong hai"),
            (["--plan", HUE, "--xlsx", str(xlsx), "--csv", str(year_csv)], "cần đúng một trong hai"),
            (["--plan", HUE, "--deadline", f"{ITEM}/{PERIOD}", "--year", "2026", "--csv", "x.csv"], "--year"),
            (["--plan", HUE, "--year", "1890", "--csv", str(year_csv)], "không có hạn báo cáo"),
            (["--plan", HUE, "--csv", str(tmp_path / "nam.csv" / "x.csv")], "không ghi được"),
        ]
        for args, words in cases:
            refused = runner.invoke(cli, ["report", *args])
            assert refused.exit_code in (1, 2), (args, refused.output)
            assert words in refused.output.lower() or words in refused.output, (args, refused.output)
            assert "Traceback" not in refused.output


@pytest.fixture
def served(ledger, engine, tmp_path, config_dir):
    add_users(engine, "snv", "ltp")
    with time_machine.travel(NOW, tick=False), TestClient(web_app(tmp_path, config_dir, engine)) as client:
        yield client


def test_the_board_serves_the_files_to_those_who_may_see_the_plan(served):
    client = served
    xlsx_path, csv_path = f"{YEARLY}/bang-theo-doi.xlsx", f"/ke-hoach/{HUE}/bang-theo-doi.csv?nam=2026"
    anonymous = client.get(xlsx_path, follow_redirects=False)
    assert anonymous.status_code in (302, 303) and "/dang-nhap" in anonymous.headers["location"]
    sign_in(client, "ltp")  # another plan's focal agency
    assert client.get(xlsx_path).status_code == 403
    assert client.get(csv_path).status_code == 403
    client.cookies.clear()
    sign_in(client, "snv")
    page = client.get(YEARLY).text
    assert "Tải Excel" in page and "Tải CSV" in page and "bang-theo-doi.xlsx" in page
    answer = client.get(xlsx_path)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=")
    assert re.fullmatch(r'attachment; filename="[A-Za-z0-9._-]+"; filename\*=UTF-8\'\'[^\s]+', disposition)
    wb = load_workbook(io.BytesIO(answer.content))
    assert wb.active["A4"].value == "BẢNG THEO DÕI TÌNH HÌNH BÁO CÁO"
    year = client.get(csv_path)
    assert year.status_code == 200 and year.content.startswith(b"\xef\xbb\xbf")
    assert "2026" in year.headers["content-disposition"]
    plan_page = client.get(f"/ke-hoach/{HUE}").text
    assert (
        "Bảng theo dõi năm 2026:" in plan_page and f"/ke-hoach/{HUE}/bang-theo-doi.xlsx?nam=2026" in plan_page
    )
    assert client.get(f"{YEARLY}/bang-theo-doi.pdf").status_code == 404
    assert client.get(f"/ke-hoach/{HUE}/han/{ITEM}/1999/bang-theo-doi.csv").status_code == 404
    assert client.get(f"/ke-hoach/{HUE}/bang-theo-doi.csv?nam=abc").status_code == 400


def test_a_national_year_exports_in_seconds(tmp_path, engine):
    """4,341 agencies × 10 deadlines, inserted directly (the configuration's agencies, so every
    status is computed as for real): a sanity bound only; bench/ measures."""
    config = write_national_config(tmp_path, make_shape(1.0))
    settings = make_settings(tmp_path, config, engine.url.render_as_string(hide_password=False))
    deployment = load_config(config, settings, today=date(2026, 1, 1))
    plan = deployment.plans[0]
    agencies = list(deployment.agencies)
    assert len(agencies) == 4341
    occ = Occurrence.__table__
    rows = []
    for d in range(10):
        day = date(2026, 1 + d, 10)
        for n, agency_id in enumerate(agencies):
            confirmed = n % 3 == 0
            rows.append(
                {
                    "key": f"{plan.id}/bc-{d}/2026/{agency_id}",
                    "plan_id": plan.id,
                    "item_id": f"bc-{d}",
                    "period": "2026",
                    "agency_id": agency_id,
                    "kind": "deadline",
                    "title": f"Báo cáo định kỳ số {d + 1:02d}",
                    "start_date": day,
                    "end_date": day,
                    "fingerprint": "bench",
                    "updated_at": datetime(2026, 1, 1, tzinfo=UTC),
                    "status": OccurrenceStatus.SUBMITTED if confirmed else OccurrenceStatus.OPEN,
                    "confirmed_at": datetime(2026, 1 + d, 9 + n % 3, 2, tzinfo=UTC) if confirmed else None,
                    "confirmed_by": "Cán bộ" if confirmed else None,
                    "report_number": f"{n}/BC" if confirmed else None,
                }
            )
    with engine.begin() as conn:
        conn.execute(insert(occ), rows)
    start = time.perf_counter()
    report = tracking.year_report(engine, deployment, plan, 2026, date(2026, 6, 1), settings.timezone)
    write_xlsx(report, tmp_path / "nam.xlsx")
    seconds = time.perf_counter() - start
    assert len(report.lines) == 43410 and len(report.agencies) == 4341
    assert seconds < 60, seconds
    print(f"national year .xlsx: {seconds:.1f} s, {(tmp_path / 'nam.xlsx').stat().st_size / 1e6:.1f} MB")
    wb = load_workbook(tmp_path / "nam.xlsx", read_only=True)
    numbered = [
        row[0] if row else None for row in wb["Chi tiết"].iter_rows(min_row=HEADER + 1, values_only=True)
    ]
    assert [n for n in numbered if isinstance(n, int)] == list(range(1, 43411))
    assert report.progress.reported == 10 * len(range(0, 4341, 3))


def test_the_digest_link_downloads_its_plan_only(served):
    client = served
    token = Links(LINK_SECRET, "http://testserver", 60).board_token(HUE)
    page = client.get(YEARLY, params={"xem": token}).text
    assert f"{YEARLY}/bang-theo-doi.xlsx?xem={token}" in page
    answer = client.get(f"{YEARLY}/bang-theo-doi.xlsx", params={"xem": token})
    assert answer.status_code == 200 and answer.content.startswith(b"PK")
    assert client.get(f"/ke-hoach/{HUE}/bang-theo-doi.csv", params={"xem": token}).status_code == 200
    other = Links(LINK_SECRET, "http://testserver", 60).board_token("lam-thao-2024-bdg")
    assert client.get(f"{YEARLY}/bang-theo-doi.csv", params={"xem": other}).status_code == 403
    assert client.get(f"{YEARLY}/bang-theo-doi.csv", params={"xem": token + "x"}).status_code == 403


def test_text_a_spreadsheet_cannot_hold_is_cleaned_and_formulas_stay_text(ledger, engine, tmp_path):
    settings, deployment = ledger
    occ = Occurrence.__table__
    with engine.begin() as conn:
        conn.execute(
            update(occ)
            .where(occ.c.key == A_LUOI)
            .values(agency_name="UBND xã\x0b A Lưới 1", report_number="@SUM(1)")
        )
    report = report_of(engine, settings, deployment)
    target = tmp_path / "bang.xlsx"
    write_xlsx(report, target)  # openpyxl refuses \x0b: the report must not
    ws = load_workbook(target).active
    row = next(r for r in ws.iter_rows(min_row=HEADER + 1) if r[1].value and "A Lưới 1" in r[1].value)
    assert row[1].value == "UBND xã A Lưới 1" and row[6].value == "@SUM(1)"
    assert row[6].data_type == "s" and row[6].quotePrefix
    text = csv_bytes(report).decode("utf-8-sig")
    assert "UBND xã A Lưới 1" in text and ",'@SUM(1)," in text and "\x0b" not in text
