"""The command line as an operator uses it: check, calendar, --ics, sync, outbox."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import time_machine
from icalendar import Calendar
from typer.testing import CliRunner

from scheduler.cli import app as cli_module
from scheduler.cli.app import app

NOW = "2026-11-02 09:00 +07:00"


@pytest.fixture
def cli(tmp_path: Path, config_dir: Path, monkeypatch, database_url: str):
    monkeypatch.setattr(cli_module.out, "width", 500)  # one table row per line
    runner = CliRunner()
    env = {
        "NHACVIEC_DATABASE_URL": database_url,
        "NHACVIEC_CONFIG_DIR": str(config_dir),
        # as a deployment sets it: PostgreSQL refuses to sign links without a shared key
        "NHACVIEC_SECRET_KEY": "test-key-for-the-cli-tests-0123456789",
    }

    def invoke(*args: str):
        return runner.invoke(app, list(args), env=env)

    return invoke


def test_check_reports_a_valid_configuration(cli):
    result = cli("check")
    assert result.exit_code == 0
    assert "Cấu hình hợp lệ: 4 kế hoạch, 57 đơn vị" in result.stdout


def test_calendar_lists_the_events_of_one_agency(cli):
    result = cli("calendar", "--from", "01/01/2020", "--to", "31/12/2020", "--agency", "tth-ubnd-h-a-luoi")
    assert result.exit_code == 0, result.output
    for expected in ("25/03/2020", "10/06/2020", "10/12/2020", "15/11/2020 – 15/12/2020", "4 sự kiện"):
        assert expected in result.stdout
    assert "15/12/2020 " not in result.stdout.replace("15/11/2020 – 15/12/2020", "")


def test_calendar_notes_a_deadline_that_falls_on_a_day_off(cli):
    result = cli(
        "calendar", "--from", "01/12/2024", "--to", "01/12/2024", "--plan", "thai-binh-hlhpn-2024-bdg"
    )
    assert "hạn rơi vào ngày nghỉ (Chủ nhật); ngày làm việc tiếp theo 02/12/2024" in result.stdout


def test_ics_export_has_stable_all_day_events(cli, tmp_path):
    target = tmp_path / "lich.ics"
    args = ("calendar", "--from", "2024-01-01", "--to", "2024-12-31", "--plan", "thai-binh-hlhpn-2024-bdg")
    assert cli(*args, "--ics", str(target)).exit_code == 0
    first = Calendar.from_ical(target.read_bytes())
    assert cli(*args, "--ics", str(target)).exit_code == 0
    second = Calendar.from_ical(target.read_bytes())
    events = list(first.walk("VEVENT"))
    assert len(events) == 12 + 1 + 2 + 5
    assert [str(e["uid"]) for e in events] == [str(e["uid"]) for e in second.walk("VEVENT")]
    window = next(
        e for e in events if str(e["uid"]) == "thai-binh-hlhpn-2024-bdg.thang-hanh-dong-pcbldg.2024@nhacviec"
    )
    assert window.decoded("dtstart") == date(2024, 6, 1)
    assert window.decoded("dtend") == date(2024, 7, 1)  # exclusive end of an all-day event
    assert "VALUE=DATE" in target.read_text(encoding="utf-8")
    assert str(window["summary"]) == "Đợt: Tháng hành động quốc gia về phòng, chống bạo lực gia đình"


def test_bad_options_get_a_clear_message(cli):
    assert "không phải ngày" in cli("calendar", "--from", "31/02/2026").stderr
    result = cli("calendar", "--plan", "khong-co")
    assert result.exit_code == 2 and "không có kế hoạch 'khong-co'" in result.stderr
    result = cli("outbox", "--status", "gui-roi")
    assert result.exit_code == 2 and "chọn: pending" in result.stderr


def test_sync_then_outbox(cli):
    with time_machine.travel(NOW, tick=False):
        first = cli("sync")
        assert first.exit_code == 0, first.output
        assert "thêm 0," not in first.stdout
        again = cli("sync")
        assert "thêm 0, cập nhật 0, hủy 0 nhắc việc" in again.stdout
        result = cli("outbox", "--due-before", "27/11/2026", "--status", "pending", "--limit", "500")
    assert result.exit_code == 0, result.output
    assert "Hàng đợi: " in result.stdout
    assert "26/11/2026 08:00" in result.stdout  # −14d of the 10/12 annual report
    assert "27/11/2026" not in result.stdout


def test_a_bad_setting_stops_with_its_name(cli, monkeypatch):
    monkeypatch.setenv("NHACVIEC_HORIZON_DAYS", "nửa năm")
    result = cli("check")
    assert result.exit_code == 2
    assert "NHACVIEC_HORIZON_DAYS 'nửa năm' phải là số nguyên" in result.stderr


def test_send_test_sends_one_marked_message_and_prints_the_answer(cli, smtp_sink, monkeypatch):
    monkeypatch.setenv("NHACVIEC_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("NHACVIEC_SMTP_PORT", str(smtp_sink.port))
    result = cli("send-test", "--channel", "email", "--to", "Dau.Moi@Example.org")
    assert result.exit_code == 0, result.output
    [received] = smtp_sink.received
    assert received.subject.startswith("[Thử nghiệm] ")
    assert "Đã gửi qua email tới Dau.Moi@example.org" in result.stdout


def test_send_test_explains_what_is_missing(cli):
    result = cli("send-test", "--channel", "email", "--to", "a@example.org")
    assert result.exit_code == 1
    assert "NHACVIEC_SMTP_HOST" in result.output
    result = cli("send-test", "--channel", "fax", "--to", "a")
    assert result.exit_code == 2
    assert "các kênh đã cài: console, email" in result.output
    result = cli("send-test", "--channel", "sms", "--to", "024 3826 4567")
    assert result.exit_code == 2
    assert "số di động '024 3826 4567' không hợp lệ" in result.output
