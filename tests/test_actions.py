"""The focal agency's actions (scheduler/outbox/actions.py) on the outbox, their history, the
status they give and a later sync keeping them, on SQLite and PostgreSQL; `nhacviec action`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from scheduler.cli import app as cli_module
from scheduler.cli.app import app
from scheduler.config.loader import load_config
from scheduler.dispatch.digest import digest_context
from scheduler.outbox import actions
from scheduler.outbox.acks import ReportReference
from scheduler.outbox.actions import Action, ActionRefused
from scheduler.outbox.status import AgencyStatus, StatusInput, compute
from scheduler.outbox.store import (
    Occurrence,
    OccurrenceAction,
    OccurrenceStatus,
    Reminder,
    Status,
    open_store,
)
from scheduler.outbox.sync import sync
from scheduler.render.links import Links
from scheduler.render.messages import MessageBuilder
from scheduler.render.templates import Templates
from tests.support.settings import make_settings

TODAY = date(2026, 11, 2)
NOW = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam
PLAN = "hue-2026-bdg"
KEY = f"{PLAN}/bao-cao-nam/2026/hue-phuong-phu-xuan"  # due Thursday 10/12/2026
OTHER = f"{PLAN}/bao-cao-nam/2026/hue-phuong-thuan-hoa"
OFFICER = "Trần Thị Bình (Sở Nội vụ)"


@pytest.fixture
def env(engine: Engine, tmp_path: Path, config_dir: Path) -> dict[str, Any]:
    settings = make_settings(tmp_path, config_dir, str(engine.url))
    deployment = load_config(config_dir, settings)
    sync(engine, deployment, settings, TODAY)
    return {"engine": engine, "deployment": deployment, "settings": settings, "config_dir": config_dir}


def reminders(engine: Engine, key: str = KEY) -> dict[str, Any]:
    """The occurrence's ladder rows by (rung, channel)."""
    with engine.connect() as conn:
        rows = conn.execute(select(Reminder.__table__).where(Reminder.__table__.c.occurrence_key == key))
        return {(r.rung, r.channel): r for r in rows}


def occurrence(engine: Engine, key: str = KEY) -> Any:
    with engine.connect() as conn:
        return conn.execute(select(Occurrence.__table__).where(Occurrence.__table__.c.key == key)).one()


def everything(engine: Engine) -> tuple[Any, ...]:
    with engine.connect() as conn:
        return tuple(
            sorted(tuple(map(str, row)) for row in conn.execute(select(table)))
            for table in (Occurrence.__table__, Reminder.__table__, OccurrenceAction.__table__)
        )


def status_of(env: dict[str, Any], key: str = KEY, today: date = TODAY) -> Any:
    row = occurrence(env["engine"], key)
    given = StatusInput(
        deadline=row.start_date,
        occurrence_status=row.status,
        confirmed_at=row.confirmed_at,
        waived=row.waived,
        extended_to=row.extended_to,
    )
    return compute(given, today, env["deployment"].workdays, env["settings"].timezone)


def utc8(day: int, month: int = 12) -> datetime:
    """08:00 in Vietnam, the sample policy's send time, on `day`/`month`/2026."""
    return datetime(2026, month, day, 1, 0, tzinfo=UTC)


def test_extend_moves_the_agencys_rungs_to_the_new_date_and_a_later_sync_keeps_them(env):
    engine = env["engine"]
    before_other = {k: r.send_at for k, r in reminders(engine, OTHER).items()}
    record = actions.extend(
        engine, env["deployment"], env["settings"], KEY, OFFICER, date(2026, 12, 18), "mất điện", now=NOW
    )
    expected = {  # Friday 18/12/2026: -14d Fri 4/12, -7d Fri 11/12, -3d Tue 15/12, +1wd Mon 21/12
        "-14d": utc8(4), "-7d": utc8(11), "-3d": utc8(15), "0d": utc8(18), "+1wd": utc8(21), "+3wd": utc8(23),
    }  # fmt: skip

    def moved() -> None:
        rows = reminders(engine)
        assert {k[0]: r.send_at for k, r in rows.items()} == expected
        assert all(r.status == Status.PENDING and r.due_date == date(2026, 12, 18) for r in rows.values())

    moved()
    assert {k: r.send_at for k, r in reminders(engine, OTHER).items()} == before_other  # only this agency
    assert record.action is Action.EXTEND and record.details["to"] == "2026-12-18"
    assert record.details["updated"] == 11 and record.details["added"] == 0
    assert occurrence(engine).extended_to == date(2026, 12, 18)
    assert status_of(env).label == "Gia hạn đến 18/12/2026"
    # the old deadline passed, the new one not yet: still extended; after it: overdue
    assert status_of(env, today=date(2026, 12, 14)).code is AgencyStatus.EXTENDED
    assert status_of(env, today=date(2026, 12, 21)).code is AgencyStatus.OVERDUE

    assert sync(engine, env["deployment"], env["settings"], TODAY).writes == 0
    moved()
    # A configuration change re-plans the occurrence: still from the extension, not the plan's date.
    plan_file = env["config_dir"] / "plans" / "hue-2026-bdg.yaml"
    plan_file.write_text(plan_file.read_text("utf-8").replace("yearly: 10/12", "yearly: 9/12", 1), "utf-8")
    changed = load_config(env["config_dir"], env["settings"])
    assert sync(engine, changed, env["settings"], TODAY).writes > 0
    moved()
    assert reminders(engine, OTHER)[("-14d", "email")].send_at == utc8(25, 11)  # 9/12 − 14 days


def test_waive_cancels_the_pending_reminders_and_no_sync_revives_them(env):
    engine = env["engine"]
    record = actions.waive(engine, KEY, OFFICER, "  đơn vị  mới sáp nhập ", now=NOW)
    rows = reminders(engine)
    assert rows and all(r.status == Status.CANCELLED for r in rows.values())
    assert all(r.last_error == f"được miễn: đơn vị mới sáp nhập ({OFFICER})" for r in rows.values())
    assert record.reason == "đơn vị mới sáp nhập" and record.details == {"cancelled": 11}
    assert status_of(env).label == "Được miễn"
    assert all(r.status == Status.PENDING for r in reminders(engine, OTHER).values())

    plan_file = env["config_dir"] / "plans" / "hue-2026-bdg.yaml"
    plan_file.write_text(plan_file.read_text("utf-8").replace("yearly: 10/12", "yearly: 9/12", 1), "utf-8")
    changed = load_config(env["config_dir"], env["settings"])
    assert sync(engine, changed, env["settings"], TODAY).writes > 0
    assert all(r.status == Status.CANCELLED for r in reminders(engine).values())
    assert status_of(env).code is AgencyStatus.WAIVED

    with pytest.raises(ActionRefused, match="đã được miễn"):
        actions.waive(engine, KEY, OFFICER, "lần nữa", now=NOW)
    # Reopening a waiver resumes the ladder.
    reopened = actions.reopen(engine, changed, env["settings"], KEY, OFFICER, "miễn nhầm", now=NOW)
    assert reopened.details["undone"] == "waive" and reopened.details["updated"] == 11
    assert all(r.status == Status.PENDING for r in reminders(engine).values())
    assert status_of(env).code is AgencyStatus.OPEN


def test_mark_received_stops_the_ladder_with_the_reports_number_and_date(env):
    engine = env["engine"]
    reference = ReportReference("125/BC-UBND", date(2026, 10, 30))
    record = actions.mark_received(engine, KEY, OFFICER, reference, "gửi qua hệ thống văn bản", now=NOW)
    row = occurrence(engine)
    assert row.status == OccurrenceStatus.SUBMITTED
    assert (row.report_number, row.report_date) == ("125/BC-UBND", date(2026, 10, 30))
    assert row.confirmed_by == f"{OFFICER} (ghi nhận thay đơn vị)"
    assert all(r.status == Status.CANCELLED for r in reminders(engine).values())
    assert record.details == {"report_number": "125/BC-UBND", "report_date": "2026-10-30", "cancelled": 11}
    assert status_of(env).label == "Đã báo cáo đúng hạn"
    assert sync(engine, env["deployment"], env["settings"], TODAY).writes == 0
    with pytest.raises(ActionRefused, match="đã được ghi nhận đã báo cáo"):
        actions.mark_received(engine, KEY, OFFICER, now=NOW)
    with pytest.raises(ActionRefused, match="Mở lại trước"):
        actions.extend(
            engine, env["deployment"], env["settings"], KEY, OFFICER, date(2026, 12, 20), "x", now=NOW
        )


def test_reopen_undoes_a_confirmation_and_the_ladder_resumes(env):
    engine = env["engine"]
    before = {k: r.send_at for k, r in reminders(engine).items()}
    actions.mark_received(engine, KEY, OFFICER, ReportReference("9/BC", None), now=NOW)
    later = NOW + timedelta(days=20)  # 22/11: the −14d rung (26/11) is still ahead
    record = actions.reopen(
        engine, env["deployment"], env["settings"], KEY, OFFICER, "xác nhận nhầm đơn vị", now=later
    )
    row = occurrence(engine)
    assert row.status == OccurrenceStatus.OPEN
    assert (row.confirmed_at, row.confirmed_by, row.report_number) == (None, None, None)
    rows = reminders(engine)
    assert all(r.status == Status.PENDING for r in rows.values())
    assert {k: r.send_at for k, r in rows.items()} == before
    assert record.details["undone"] == "received" and record.details["report_number"] == "9/BC"
    assert record.details["updated"] == 11
    # After the −14d and −7d rungs (26/11, 3/12): only the rungs still ahead come back.
    actions.mark_received(engine, KEY, OFFICER, now=NOW)
    actions.reopen(
        engine,
        env["deployment"],
        env["settings"],
        KEY,
        OFFICER,
        "nhầm lần hai",
        now=datetime(2026, 12, 4, 3, tzinfo=UTC),
    )
    pending = {k[0] for k, r in reminders(engine).items() if r.status == Status.PENDING}
    assert pending == {"-3d", "0d", "+1wd", "+3wd"}
    with pytest.raises(ActionRefused, match="không có gì để mở lại"):
        actions.reopen(engine, env["deployment"], env["settings"], KEY, OFFICER, "lần ba", now=NOW)


def test_send_now_queues_one_reminder_per_focal_channel_once_per_minute(env):
    engine = env["engine"]
    args = (engine, env["deployment"], env["settings"], KEY, OFFICER)
    record = actions.send_now(*args, now=NOW)
    assert record is not None and record.details == {
        "kind": "upcoming",
        "reminders": 2,
        "channels": ["email", "zalo"],
    }
    now_rows = {k: r for k, r in reminders(engine).items() if k[0].startswith("now-")}
    assert {k[1] for k in now_rows} == {"email", "zalo"}
    assert all(
        r.status == Status.PENDING and r.send_at == NOW and r.kind == "upcoming" for r in now_rows.values()
    )
    ladder = reminders(engine)
    assert {(k[1], r.recipient, r.contact_key) for k, r in now_rows.items()} == {
        (channel, ladder[("-14d", channel)].recipient, "hue-phuong-phu-xuan/focal")
        for channel in ("email", "zalo")
    }  # the focal contact, not the leader
    assert actions.send_now(*args, now=NOW + timedelta(seconds=50)) is None  # the same minute
    assert len([k for k in reminders(engine) if k[0].startswith("now-")]) == 2
    assert actions.send_now(*args, now=NOW + timedelta(minutes=1)) is not None
    assert len([k for k in reminders(engine) if k[0].startswith("now-")]) == 4
    overdue = actions.send_now(*args, now=datetime(2026, 12, 11, 3, tzinfo=UTC))
    assert overdue is not None and overdue.details["kind"] == "overdue"
    on_the_day = actions.send_now(*args, now=datetime(2026, 12, 10, 3, tzinfo=UTC))
    assert on_the_day is not None and on_the_day.details["kind"] == "due"
    assert [r.action for r in actions.history(engine, KEY)] == [Action.SEND_NOW] * 4


def test_history_is_newest_first_by_occurrence_and_by_agency(env):
    engine = env["engine"]
    deployment, settings = env["deployment"], env["settings"]
    actions.extend(engine, deployment, settings, KEY, OFFICER, date(2026, 12, 18), "mất điện", now=NOW)
    actions.waive(engine, OTHER, OFFICER, "sáp nhập", now=NOW + timedelta(minutes=1))
    actions.mark_received(
        engine,
        KEY,
        "Lê Văn C",
        ReportReference("125/BC-UBND", date(2026, 11, 2)),
        now=NOW + timedelta(minutes=2),
    )
    every = actions.history(engine)
    assert [(r.action, r.occurrence_key) for r in every] == [
        (Action.RECEIVED, KEY), (Action.WAIVE, OTHER), (Action.EXTEND, KEY),
    ]  # fmt: skip
    assert [r.action for r in actions.history(engine, KEY)] == [Action.RECEIVED, Action.EXTEND]
    assert [r.action for r in actions.history(engine, agency_id="hue-phuong-thuan-hoa")] == [Action.WAIVE]
    assert every[0].at == NOW + timedelta(minutes=2) and every[0].by == "Lê Văn C"
    tz = settings.timezone
    assert (
        actions.describe(every[0], tz)
        == "10:02 02/11/2026 — Ghi nhận đã báo cáo, văn bản số 125/BC-UBND ngày 02/11/2026 (Lê Văn C)"
    )
    assert (
        actions.describe(every[2], tz) == f"10:00 02/11/2026 — Gia hạn đến 18/12/2026 ({OFFICER}): mất điện"
    )


def test_the_digest_shows_waived_and_extended_agencies(env):
    engine = env["engine"]
    actions.extend(
        engine, env["deployment"], env["settings"], KEY, OFFICER, date(2026, 12, 18), "mất điện", now=NOW
    )
    actions.waive(engine, OTHER, OFFICER, "sáp nhập", now=NOW)
    context = digest_context(engine, env["deployment"], PLAN, date(2026, 12, 14), env["settings"].timezone)
    labels = {
        r["agency"]: r["label"]
        for r in context["rows"]
        if r["item"].startswith("Báo cáo") and r["start"] == date(2026, 12, 10)
    }
    assert labels["UBND phường Phú Xuân"] == "Gia hạn đến 18/12/2026"
    assert labels["UBND phường Thuận Hóa"] == "Được miễn"
    assert "UBND phường Phú Xuân" not in [a for d in context["deadlines"] for a in d["late"]]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda e: actions.waive(e["engine"], "khong/co/ky/nay", OFFICER, "x", now=NOW),
            "Không có hạn báo cáo",
        ),
        (lambda e: actions.waive(e["engine"], KEY, OFFICER, "   ", now=NOW), "Cần ghi lý do"),
        (lambda e: actions.waive(e["engine"], KEY, " ", "lý do", now=NOW), "Cần ghi tên người thực hiện"),
        (
            lambda e: actions.extend(
                e["engine"], e["deployment"], e["settings"], KEY, OFFICER, date(2026, 11, 1), "x", now=NOW
            ),
            "Ngày gia hạn 01/11/2026 đã qua",
        ),
        (
            lambda e: actions.extend(
                e["engine"], e["deployment"], e["settings"], KEY, OFFICER, date(2026, 12, 10), "x", now=NOW
            ),
            "phải sau hạn hiện tại 10/12/2026",
        ),
        (
            lambda e: actions.extend(
                e["engine"], e["deployment"], e["settings"], KEY, OFFICER, date(2026, 12, 18), "", now=NOW
            ),
            "Cần ghi lý do",
        ),
        (
            lambda e: actions.reopen(e["engine"], e["deployment"], e["settings"], KEY, OFFICER, "", now=NOW),
            "Cần ghi lý do",
        ),
        (
            lambda e: actions.reopen(e["engine"], e["deployment"], e["settings"], KEY, OFFICER, "x", now=NOW),
            "không có gì để mở lại",
        ),
        (
            lambda e: actions.mark_received(e["engine"], f"{PLAN}/khong-co/2026/x", OFFICER, now=NOW),
            "Không có hạn báo cáo",
        ),
        (
            lambda e: actions.send_now(e["engine"], e["deployment"], e["settings"], "x", OFFICER, now=NOW),
            "Không có hạn báo cáo",
        ),
    ],
)
def test_bad_input_is_refused_in_vietnamese_and_changes_nothing(env, call, message):
    before = everything(env["engine"])
    with pytest.raises(ActionRefused, match=message):
        call(env)
    assert everything(env["engine"]) == before


def test_an_earlier_extension_than_the_current_one_is_refused(env):
    engine = env["engine"]
    args = (engine, env["deployment"], env["settings"], KEY, OFFICER)
    actions.extend(*args, date(2026, 12, 18), "mất điện", now=NOW)
    before = everything(engine)
    with pytest.raises(ActionRefused, match="phải sau hạn đã gia hạn 18/12/2026"):
        actions.extend(*args, date(2026, 12, 15), "sớm hơn", now=NOW)
    assert everything(engine) == before
    actions.extend(*args, date(2026, 12, 22), "thêm", now=NOW)
    assert reminders(engine)[("0d", "email")].send_at == utc8(22)


def test_the_cli_acts_and_refuses_in_vietnamese(tmp_path, config_dir, database_url, monkeypatch):
    monkeypatch.setattr(cli_module.out, "width", 500)
    env = {
        "NHACVIEC_DATABASE_URL": database_url,
        "NHACVIEC_CONFIG_DIR": str(config_dir),
        "NHACVIEC_SECRET_KEY": "test-key-for-the-cli-tests-0123456789",
    }

    def cli(*args: str) -> Any:
        return CliRunner().invoke(app, list(args), env=env)

    with time_machine.travel(NOW, tick=False):
        assert cli("sync").exit_code == 0
        done = cli(
            "action", "extend", KEY, "--by", OFFICER, "--den-ngay", "18/12/2026", "--reason", "mất điện"
        )
        assert done.exit_code == 0, done.output
        assert "Đã gia hạn đến 18/12/2026; lịch nhắc: thêm 0, cập nhật 11, hủy 0" in done.stdout
        refused = cli("action", "waive", OTHER, "--by", OFFICER)
        assert refused.exit_code == 2 and "Cần ghi lý do." in refused.stderr
        unknown = cli("action", "reopen", "khong/co", "--by", OFFICER, "--reason", "x")
        assert unknown.exit_code == 1 and "Không có hạn báo cáo 'khong/co'" in unknown.stderr
        bad_number = cli("action", "received", OTHER, "--by", OFFICER, "--ngay", "31/12/2026")
        assert bad_number.exit_code == 2 and "trong tương lai" in bad_number.stderr
        received = cli(
            "action", "received", OTHER, "--by", OFFICER, "--so", "125/BC-UBND", "--ngay", "01/11/2026"
        )
        assert received.exit_code == 0 and "văn bản số 125/BC-UBND ngày 01/11/2026" in received.stdout
        sent = cli("action", "send-now", KEY, "--by", OFFICER)
        assert sent.exit_code == 0 and "Đã xếp 2 nhắc việc «upcoming» gửi ngay (email, zalo)" in sent.stdout
        again = cli("action", "send-now", KEY, "--by", OFFICER)
        assert again.exit_code == 0 and "Đã có lệnh gửi ngay trong phút này" in again.stdout
        listed = cli("action", "history")
    assert listed.exit_code == 0
    lines = listed.stdout.splitlines()
    assert lines[0].startswith(f"{KEY}: 10:00 02/11/2026 — Gửi nhắc ngay")
    assert any("Gia hạn đến 18/12/2026" in line and "mất điện" in line for line in lines)
    engine = open_store(database_url)
    try:
        assert occurrence(engine).extended_to == date(2026, 12, 18)
        assert occurrence(engine, OTHER).report_number == "125/BC-UBND"
    finally:
        engine.dispose()


def test_the_reminders_of_an_extended_agency_tell_the_new_date(env):
    engine = env["engine"]
    actions.extend(
        engine, env["deployment"], env["settings"], KEY, OFFICER, date(2026, 12, 18), "mất điện", now=NOW
    )
    links = Links("khoa-kiem-thu-du-dai-32-byte-tro-len", "https://nhacviec.example.org", 30)
    builder = MessageBuilder(env["deployment"], Templates(None), links, env["settings"].timezone)
    row = reminders(engine)[("-3d", "email")]
    stored = occurrence(engine)
    fields = builder.reminder_context(row, stored, builder._event(stored), date(2026, 12, 15))
    assert (fields["start"], fields["effective_due"], fields["days_left"]) == (
        date(2026, 12, 18),
        date(2026, 12, 18),
        3,
    )
    text = builder.reminder(row, stored, (), row.send_at).text
    assert "18/12/2026" in text and "10/12/2026" not in text
