"""What the operator and the focal agency get: ack, retry, preview, dead letters, digest, logs."""

from __future__ import annotations

import logging
from datetime import date, datetime

import pytest
import time_machine
from sqlalchemy import select
from typer.testing import CliRunner

from scheduler.cli import app as cli_module
from scheduler.cli.app import app
from scheduler.dispatch.digest import enqueue_digests
from scheduler.outbox.acks import acknowledge
from scheduler.outbox.store import Reminder, Status, open_store, utcnow
from scheduler.service.logs import JsonFormatter
from tests.support.configs import one_agency_plan
from tests.support.dispatch_kit import make_dispatcher, run, sync_and_dispatch
from tests.support.settings import make_settings

OCCURRENCE = "hue-2026-bdg/bao-cao-nam/2026/hue-xa-a-luoi-1"


def at(settings, day: date, hour: int = 8) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=settings.timezone)


@pytest.fixture
def cli(tmp_path, config_dir, monkeypatch, database_url):
    monkeypatch.setattr(cli_module.out, "width", 500)
    runner = CliRunner()
    env = {
        "NHACVIEC_DATABASE_URL": database_url,
        "NHACVIEC_CONFIG_DIR": str(config_dir),
    }
    if not database_url.startswith("sqlite"):  # SQLite keeps a key beside its file; PostgreSQL needs it set
        env["NHACVIEC_SECRET_KEY"] = "khoa-kiem-thu-du-dai-32-byte-tro-len"
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str):
        return runner.invoke(app, list(args), env=env)

    invoke.url = env["NHACVIEC_DATABASE_URL"]
    return invoke


def test_ack_from_the_command_line(cli):
    with time_machine.travel("2026-11-20 09:00 +07:00", tick=False):
        assert cli("sync").exit_code == 0
        result = cli("ack", OCCURRENCE, "--by", "Trần Văn Nam")
    assert result.exit_code == 0 and "hủy 6 nhắc việc đang chờ" in result.stdout
    again = cli("ack", OCCURRENCE)
    assert "Đã được xác nhận trước đó" in again.stdout and "Trần Văn Nam" in again.stdout
    unknown = cli("ack", "khong/co/viec/nay")
    assert unknown.exit_code == 1 and "Không có lần xuất hiện" in unknown.stderr
    engine = open_store(cli.url)
    with engine.connect() as conn:
        left = set(
            conn.execute(select(Reminder.status).where(Reminder.occurrence_key == OCCURRENCE)).scalars()
        )
    assert left == {Status.CANCELLED}


def test_dead_letters_are_listed_and_retried(cli, tmp_path, config_dir, smtp_sink):
    one_agency_plan(config_dir)
    settings = make_settings(tmp_path, config_dir, cli.url)
    engine = open_store(settings.database_url)
    dispatcher = make_dispatcher(engine, config_dir, settings, smtp_sink)
    smtp_sink.reply = lambda: "554 5.7.1 Thư bị từ chối"
    with time_machine.travel(at(settings, date(2026, 12, 10)), tick=False):
        sync_and_dispatch(engine, dispatcher, settings, date(2026, 12, 10))
    listing = cli("outbox", "--dead")
    assert "SMTP 554" in listing.stdout and "Thư bị từ chối" in listing.stdout
    with engine.connect() as conn:
        dead = conn.execute(select(Reminder.id).where(Reminder.status == Status.DEAD)).scalars().all()
    assert len(dead) == 1
    assert cli("retry", "999999").exit_code == 1
    assert cli("retry").exit_code == 2
    smtp_sink.reply = lambda: "250 OK"
    with time_machine.travel(at(settings, date(2026, 12, 10), 10), tick=False):
        assert "Đã đưa 1 nhắc việc" in cli("retry", str(dead[0])).stdout
        run(dispatcher)
    with engine.connect() as conn:
        assert conn.execute(select(Reminder.status).where(Reminder.id == dead[0])).scalar() == Status.SENT
    assert len(smtp_sink.received) == 1


def test_preview_renders_without_sending(cli):
    result = cli("preview", "--plan", "hue-2026-bdg", "--agency", "hue-xa-a-luoi-1", "--kind", "overdue")
    assert result.exit_code == 0, result.output
    assert "Tiêu đề:" in result.stdout and "quá hạn" in result.stdout.lower()
    sms = next(line for line in result.stdout.splitlines() if line.startswith("SMS:"))
    assert sms.isascii()
    with time_machine.travel("2026-11-20 09:00 +07:00", tick=False):
        cli("sync")
        stored = cli("preview", "1")
    assert stored.exit_code == 0 and "Tiêu đề:" in stored.stdout


def test_a_template_error_is_reported_with_its_file_and_line(cli, config_dir):
    templates = config_dir / "templates"
    templates.mkdir()
    (templates / "upcoming.subject.txt.j2").write_text("Nhắc hạn\n{{ item.title ", encoding="utf-8")
    result = cli("check")
    assert result.exit_code == 1
    assert f"{templates / 'upcoming.subject.txt.j2'}:2" in result.stderr


def test_the_digest_goes_once_a_day_to_the_focal_agency(tmp_path, config_dir, smtp_sink, database_url):
    one_agency_plan(config_dir)
    settings = make_settings(tmp_path, config_dir, database_url)
    engine = open_store(settings.database_url)
    dispatcher = make_dispatcher(engine, config_dir, settings, smtp_sink)
    deployment = dispatcher.builder.deployment
    day = date(2026, 12, 14)
    with time_machine.travel(at(settings, day, 7), tick=False):
        from scheduler.outbox.sync import sync

        sync(engine, deployment, settings, day)
        acknowledge(engine, "hue-2026-bdg/tong-hop-bao-cao-nam/2026/hue-so-noi-vu", "Lê Thị Mai", utcnow())
        first = enqueue_digests(engine, deployment, utcnow(), settings.timezone)
        second = enqueue_digests(engine, deployment, utcnow(), settings.timezone)
        with engine.connect() as conn:
            digests = conn.execute(select(Reminder.__table__).where(Reminder.kind == "digest")).all()
        run(dispatcher)
    assert (first, second) == (1, 0)
    assert [d.contact_key for d in digests] == ["hue-so-noi-vu/focal"]
    digest = next(r for r in smtp_sink.received if r.key == digests[0].key)
    assert digest.to == ["binhdanggioi@noivu.hue.example.org"]
    body = digest.text()
    assert "UBND xã A Lưới 1" in body and "Lê Thị Mai" in body
    assert "quá hạn" in body.lower()
    # The read-only link to the plan's board, which opens that plan (scheduler/web/board.py).
    link = next(line for line in body.splitlines() if "/ke-hoach/hue-2026-bdg?xem=" in line).strip()
    with time_machine.travel(at(settings, day, 8), tick=False):
        assert dispatcher.builder.links.board_plan(link.split("xem=")[1]) == "hue-2026-bdg"


def test_logs_never_show_secrets():
    formatter = JsonFormatter(["s3cr3t-khoa", "mat-khau-smtp"])
    record = logging.makeLogRecord(
        {"msg": "kết nối %s thất bại", "args": ("postgresql://u:s3cr3t-khoa@db/x",), "levelname": "ERROR"}
    )
    record.error = "535 sai mat-khau-smtp"
    line = formatter.format(record)
    assert "s3cr3t-khoa" not in line and "mat-khau-smtp" not in line
    assert "***" in line and "kết nối" in line
