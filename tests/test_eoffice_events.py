"""Events to e-office systems (scheduler/outbox/events.py, notifiers/eoffice.py) end to end: the
change writes the event row in its transaction, the dispatcher sends it signed to a receiver double
in its own uvicorn process (tests/doubles/eoffice_receiver.py, which checks it with `verify()`),
with the outbox's retries and dead letters; on SQLite and PostgreSQL. (tests/test_events.py is
about calendar events, scheduler/plan/events.py.)"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import Engine, select, update
from starlette.testclient import TestClient
from typer.testing import CliRunner

from notifiers.base import Message, NotConfigured, NotifierError
from notifiers.eoffice import Endpoint, EofficeNotifier, EofficeOptions
from scheduler.accounts.tokens import Scope, create_token
from scheduler.accounts.users import Role, add_user
from scheduler.cli.app import app
from scheduler.config.loader import ConfigInvalid, load_config
from scheduler.dispatch.digest import digest_context
from scheduler.dispatch.dispatcher import MAX_ATTEMPTS, Dispatcher
from scheduler.outbox import actions, board, events
from scheduler.outbox.acks import ReportReference, acknowledge
from scheduler.outbox.store import Reminder, Status
from scheduler.outbox.sync import sync
from scheduler.render.messages import MessageBuilder
from scheduler.render.templates import Templates
from scheduler.service.channels import build_notifier, build_notifiers, channels_in_use
from tests.doubles.serve import requests, reset, script, serve
from tests.support.accounts import PASSWORD, csrf_of, sign_in, web_app
from tests.support.configs import one_agency_plan
from tests.support.dispatch_kit import links
from tests.support.settings import make_settings
from tests.support.smtp_sink import free_port

SECRET = "khóa-ký-sự-kiện-vpdt-7"
TODAY = date(2026, 11, 2)
NOW = datetime(2026, 11, 2, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam
PLAN = "hue-2026-bdg"
KEY = f"{PLAN}/bao-cao-nam/2026/hue-xa-a-luoi-1"  # due Thursday 10/12/2026
OTHER = f"{PLAN}/tong-hop-bao-cao-nam/2026/hue-so-noi-vu"  # due Tuesday 15/12/2026
OFFICER = "Trần Thị Bình (Sở Nội vụ)"


def local(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    """A moment of 2026 in Vietnam (UTC+7), in UTC."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC) - timedelta(hours=7)


@pytest.fixture(scope="module")
def receiver_base() -> Iterator[str]:
    # The sender's clock is moved by time-machine, the receiver's is not: a wide tolerance.
    env = {"EOFFICE_RECEIVER_SECRET": SECRET, "EOFFICE_RECEIVER_TOLERANCE": str(10**9)}
    with serve("tests.doubles.eoffice_receiver:app", env=env) as url:
        yield url


@pytest.fixture
def receiver(receiver_base: str) -> str:
    reset(receiver_base)
    return receiver_base


def write_channels(config_dir: Path, receiver: str, extra: str = "") -> None:
    (config_dir / "channels.yaml").write_text(
        f"""channels:
  eoffice:
    options:
      endpoints:
        - id: vpdt-hue
          url: {receiver}/vpdt/su-kien
{extra}""",
        encoding="utf-8",
    )


@pytest.fixture
def env(engine: Engine, tmp_path: Path, config_dir: Path, receiver: str) -> dict[str, Any]:
    one_agency_plan(config_dir)
    write_channels(config_dir, receiver)
    settings = make_settings(
        tmp_path, config_dir, str(engine.url), NHACVIEC_DELIVERY="live", NHACVIEC_EOFFICE_SECRET=SECRET
    )
    deployment = load_config(config_dir, settings)
    with time_machine.travel(NOW, tick=False):
        sync(engine, deployment, settings, TODAY)
    builder = MessageBuilder(deployment, Templates(None), links(settings), settings.timezone)
    notifier = build_notifier("eoffice", settings, deployment, engine)
    dispatcher = Dispatcher(engine, builder, {"eoffice": notifier}, settings, "test-worker")
    return {
        "engine": engine,
        "deployment": deployment,
        "settings": settings,
        "dispatcher": dispatcher,
        "receiver": receiver,
        "config_dir": config_dir,
    }


def dispatch(env: dict[str, Any], moment: datetime) -> int:
    with time_machine.travel(moment, tick=False):
        return asyncio.run(env["dispatcher"].run())


def event_rows(engine: Engine, key: str | None = None) -> list[Any]:
    table = Reminder.__table__
    query = select(table).where(table.c.kind == "event").order_by(table.c.id)
    if key is not None:
        query = query.where(table.c.occurrence_key == key)
    with engine.connect() as conn:
        return list(conn.execute(query).all())


def received(env: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in requests(env["receiver"]) if r["path"] == "/vpdt/su-kien"]


def of_type(rows: list[Any], kind: str) -> list[Any]:
    return [r for r in rows if r.rung == kind]


# --- confirmation ------------------------------------------------------------------------------


def test_a_confirmation_sends_one_signed_event_with_the_payload(env):
    engine = env["engine"]
    at = local(8, 9, 30)
    reference = ReportReference("125/BC-UBND", date(2026, 12, 7))
    done = acknowledge(engine, KEY, "Nguyễn Văn Á (xã A Lưới 1)", at, reference)
    assert not done.already
    [row] = of_type(event_rows(engine, KEY), "occurrence.confirmed")
    assert row.status == Status.PENDING and row.channel == "eoffice" and row.recipient == "vpdt-hue"
    assert row.key == events.event_key("vpdt-hue", KEY, events.EventType.CONFIRMED)

    assert dispatch(env, at + timedelta(minutes=1)) == 1
    [got] = received(env)
    assert got["signature_ok"] and not got["duplicate"]
    assert got["key"] == row.key
    assert got["content_type"].startswith("application/json")
    assert got["json"] == {
        "id": row.key,
        "type": "occurrence.confirmed",
        "occurred_at": "2026-12-08T02:30:00Z",
        "plan": {
            "id": PLAN,
            "title": env["deployment"].plans[0].title,
            "number": env["deployment"].plans[0].number,
        },
        "item": "bao-cao-nam",
        "period": "2026",
        "title": "Báo cáo kết quả thực hiện 01 năm",
        "deadline": "2026-12-10",
        "agency": {"id": "hue-xa-a-luoi-1", "name": env["deployment"].name_of("hue-xa-a-luoi-1")},
        "status": "Đã báo cáo đúng hạn",
        "report": {"number": "125/BC-UBND", "date": "2026-12-07"},
        "confirmed_by": "Nguyễn Văn Á (xã A Lưới 1)",
        "extended_to": None,
        "reason": None,
    }
    [sent] = of_type(event_rows(engine, KEY), "occurrence.confirmed")
    assert sent.status == Status.SENT

    # A second confirmation changes nothing and queues nothing.
    assert acknowledge(engine, KEY, "ai đó", at + timedelta(hours=1)).already
    assert len(of_type(event_rows(engine, KEY), "occurrence.confirmed")) == 1


def test_confirmation_cancels_the_pending_reminders_but_not_the_events(env):
    engine = env["engine"]
    table = Reminder.__table__
    acknowledge(engine, KEY, "đầu mối", local(1, 9))
    with engine.connect() as conn:
        rows = conn.execute(select(table).where(table.c.occurrence_key == KEY)).all()
    reminders = [r for r in rows if r.kind != "event"]
    assert reminders and all(r.status == Status.CANCELLED for r in reminders if r.sent_at is None)
    pending_events = [r for r in rows if r.kind == "event" and r.status == Status.PENDING]
    assert {r.rung for r in pending_events} == {"occurrence.confirmed", "occurrence.overdue"}
    # The board's last and next reminder do not count events.
    assert all(r.kind != "event" for r in board.reminders_of(engine, [KEY]))
    # At the send time the overdue event no longer holds: cancelled with the reason, not sent.
    dispatch(env, local(11, 0, 5))
    [overdue] = of_type(event_rows(engine, KEY), "occurrence.overdue")
    assert overdue.status == Status.CANCELLED
    assert overdue.last_error == "hủy: đơn vị đã báo cáo trước khi gửi sự kiện quá hạn"
    assert [r["json"]["type"] for r in received(env)] == ["occurrence.confirmed"]


# --- retries and dead letters -------------------------------------------------------------------


def test_a_receiver_answering_5xx_gets_the_event_later_exactly_once(env):
    engine = env["engine"]
    at = local(8, 9, 30)
    acknowledge(engine, KEY, "đầu mối", at)
    script(env["receiver"], status=503, times=1, retry_after=120)
    dispatch(env, at)
    [row] = of_type(event_rows(engine, KEY), "occurrence.confirmed")
    assert row.status == Status.PENDING and row.attempts == 1
    assert "HTTP 503" in row.last_error
    retry_at = row.next_attempt_at.replace(tzinfo=row.next_attempt_at.tzinfo or UTC)
    assert retry_at >= at + timedelta(seconds=120)
    assert dispatch(env, at + timedelta(seconds=30)) == 0  # not before its time
    assert dispatch(env, retry_at + timedelta(seconds=1)) == 1
    assert dispatch(env, retry_at + timedelta(hours=1)) == 0
    got = received(env)
    assert [r["key"] for r in got] == [row.key, row.key]  # the same id on the retry
    assert [r["duplicate"] for r in got] == [False, False]
    [sent] = of_type(event_rows(engine, KEY), "occurrence.confirmed")
    assert sent.status == Status.SENT and sent.attempts == 2  # one failed, one sent


def test_a_receiver_refusing_4xx_makes_the_event_a_dead_letter_with_the_reason(env):
    engine = env["engine"]
    acknowledge(engine, KEY, "đầu mối", local(8, 9))
    script(env["receiver"], status=422)
    dispatch(env, local(8, 9, 1))
    [row] = of_type(event_rows(engine, KEY), "occurrence.confirmed")
    assert row.status == Status.DEAD
    assert row.last_error == "sự kiện tới " + env["receiver"] + "/vpdt/su-kien: bên nhận trả lời HTTP 422"
    assert SECRET not in row.last_error
    # The operator sees it on the deliveries page; the focal agency's digest does not list it.
    dead_count, dead_rows, _, _ = board.deliveries(engine, local(8, 10), 10)
    assert dead_count == 1 and dead_rows[0].channel == "eoffice"
    context = digest_context(engine, env["deployment"], PLAN, date(2026, 12, 8), env["settings"].timezone)
    assert "eoffice" not in str(context)


def test_retries_exhausted_make_the_event_a_dead_letter(env):
    engine = env["engine"]
    acknowledge(engine, KEY, "đầu mối", local(8, 9))
    table = Reminder.__table__
    with engine.begin() as conn:  # seven failed attempts already
        conn.execute(
            update(table)
            .where(table.c.kind == "event", table.c.rung == "occurrence.confirmed")
            .values(attempts=MAX_ATTEMPTS - 1)
        )
    script(env["receiver"], status=500)
    dispatch(env, local(8, 9, 1))
    [row] = of_type(event_rows(engine, KEY), "occurrence.confirmed")
    assert row.status == Status.DEAD
    assert row.last_error.startswith(f"hết {MAX_ATTEMPTS} lần thử: sự kiện tới")


# --- overdue -----------------------------------------------------------------------------------


def test_overdue_fires_the_day_after_the_effective_deadline_and_not_before(env):
    engine = env["engine"]
    [row] = of_type(event_rows(engine, KEY), "occurrence.overdue")
    assert row.due_date == date(2026, 12, 10)
    assert dispatch(env, local(10, 23, 59)) == 0  # the deadline's own day: not yet
    assert dispatch(env, local(11, 0, 1)) >= 1  # in the quiet hours: machines read events
    [got] = [r for r in received(env) if r["json"]["item"] == "bao-cao-nam"]
    assert got["signature_ok"]
    assert got["json"]["type"] == "occurrence.overdue"
    assert got["json"]["status"] == "Quá hạn"
    assert got["json"]["occurred_at"] == "2026-12-10T17:00:00Z"  # 00:00 on 11/12 in Vietnam
    # A re-sync the next day queues nothing again.
    with time_machine.travel(local(11, 9), tick=False):
        sync(engine, env["deployment"], env["settings"], date(2026, 12, 11))
    assert len(of_type(event_rows(engine, KEY), "occurrence.overdue")) == 1


def test_an_extension_to_a_day_off_sends_its_event_and_moves_the_overdue_one(env):
    engine, deployment, settings = env["engine"], env["deployment"], env["settings"]
    at = local(9, 10)
    actions.extend(
        engine, deployment, settings, KEY, OFFICER, date(2026, 12, 12), "Chờ số liệu quý IV", now=at
    )
    rows = event_rows(engine, KEY)
    [extended] = of_type(rows, "occurrence.extended")
    assert extended.key == events.event_key("vpdt-hue", KEY, events.EventType.EXTENDED, date(2026, 12, 12))
    # Saturday 12/12: the effective deadline is Monday 14/12, overdue from Tuesday 15/12 00:00.
    overdue = {r.due_date: r for r in of_type(rows, "occurrence.overdue")}
    assert set(overdue) == {date(2026, 12, 10), date(2026, 12, 14)}
    assert all(r.status == Status.PENDING for r in rows)  # the re-plan left the events alone

    dispatch(env, at + timedelta(minutes=1))
    [got] = received(env)
    assert got["json"]["type"] == "occurrence.extended"
    assert got["json"]["extended_to"] == "2026-12-12"
    assert got["json"]["status"] == "Gia hạn đến 12/12/2026"
    assert got["json"]["reason"] == "Chờ số liệu quý IV"

    dispatch(env, local(11, 0, 5))
    old = next(r for r in event_rows(engine, KEY) if r.key == overdue[date(2026, 12, 10)].key)
    assert old.status == Status.CANCELLED and old.last_error.startswith("hủy: hạn đã đổi")
    dispatch(env, local(14, 23))
    assert [r["json"]["type"] for r in received(env) if r["json"]["item"] == "bao-cao-nam"] == [
        "occurrence.extended"
    ]
    dispatch(env, local(15, 0, 1))
    types = [r["json"]["type"] for r in received(env) if r["json"]["item"] == "bao-cao-nam"]
    assert types == ["occurrence.extended", "occurrence.overdue"]


def test_a_waiver_sends_its_event_and_cancels_the_overdue_one(env):
    engine = env["engine"]
    actions.waive(engine, KEY, OFFICER, "Đơn vị mới thành lập", now=local(9, 10))
    dispatch(env, local(11, 0, 5))
    got = [r["json"] for r in received(env) if r["json"]["item"] == "bao-cao-nam"]
    assert [(g["type"], g["status"], g["reason"]) for g in got] == [
        ("occurrence.waived", "Được miễn", "Đơn vị mới thành lập")
    ]
    [overdue] = of_type(event_rows(engine, KEY), "occurrence.overdue")
    assert overdue.status == Status.CANCELLED and overdue.last_error == "hủy: đơn vị được miễn báo cáo"


# --- configuration -----------------------------------------------------------------------------


def test_a_resync_enqueues_nothing_twice_and_an_endpoint_removed_cancels_its_pending_events(env):
    engine, deployment, settings = env["engine"], env["deployment"], env["settings"]
    before = [(r.key, r.status) for r in event_rows(engine)]
    assert before  # the overdue events ahead
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        again = sync(engine, deployment, settings, TODAY)
    assert [(r.key, r.status) for r in event_rows(engine)] == before
    assert (again.events_added, again.events_cancelled, again.added) == (0, 0, 0)

    write_channels(env["config_dir"], env["receiver"].replace("127.0.0.1", "localhost"))
    (env["config_dir"] / "channels.yaml").write_text(
        (env["config_dir"] / "channels.yaml").read_text(encoding="utf-8").replace("vpdt-hue", "vpdt-moi"),
        encoding="utf-8",
    )
    changed = load_config(env["config_dir"], settings)
    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        report = sync(engine, changed, settings, TODAY)
    rows = event_rows(engine)
    old = [r for r in rows if r.recipient == "vpdt-hue"]
    assert report.events_cancelled == len(old) == len(before)
    assert report.events_added == len(before)
    assert old and all(r.status == Status.CANCELLED and r.last_error == events.GONE for r in old)
    assert {r.recipient for r in rows if r.status == Status.PENDING} == {"vpdt-moi"}


def test_an_endpoint_takes_only_its_plans_and_types(env):
    engine, settings = env["engine"], env["settings"]
    write_channels(env["config_dir"], env["receiver"], "          types: [occurrence.confirmed]\n")
    deployment = load_config(env["config_dir"], settings)
    with time_machine.travel(NOW, tick=False):
        sync(engine, deployment, settings, TODAY)
    actions.waive(engine, OTHER, OFFICER, "Không áp dụng", now=local(9, 10))
    assert of_type(event_rows(engine, OTHER), "occurrence.waived") == []
    acknowledge(engine, KEY, "đầu mối", local(9, 11))
    assert len(of_type(event_rows(engine, KEY), "occurrence.confirmed")) == 1


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("url: http://vpdt.example.gov.vn/su-kien", "phải dùng https (http chỉ cho localhost)"),
        ("url: https://vpdt.example.gov.vn/x\n          plans: [khong-co]", "không có kế hoạch 'khong-co'"),
        (
            "url: https://vpdt.example.gov.vn/x\n          secret_env: s3cret-value",
            "phải là tên một biến môi trường NHACVIEC_EOFFICE_…",
        ),
        ("url: https://vpdt.example.gov.vn/x\n          types: [occurrence.reopened]", "types"),
    ],
)
def test_bad_endpoints_are_refused_with_the_file_and_line(config_dir, endpoint, expected):
    (config_dir / "channels.yaml").write_text(
        f"channels:\n  eoffice:\n    options:\n      endpoints:\n        - id: vpdt\n          {endpoint}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigInvalid) as caught:
        load_config(config_dir)
    text = str(caught.value)
    assert "channels.yaml:" in text and expected in text


def test_the_sample_configuration_has_no_endpoint_and_check_accepts_one(config_dir, tmp_path, monkeypatch):
    assert events.configured(load_config(config_dir)) is None
    assert "eoffice" not in channels_in_use(load_config(config_dir))
    write_channels(config_dir, "https://vpdt.example.gov.vn")
    assert "eoffice" in channels_in_use(load_config(config_dir))
    monkeypatch.setenv("NHACVIEC_CONFIG_DIR", str(config_dir))
    monkeypatch.setenv("NHACVIEC_DATABASE_URL", f"sqlite:///{tmp_path / 'check.db'}")
    result = CliRunner().invoke(app, ["check"])
    assert result.exit_code == 0, result.output


def test_a_secret_written_in_place_of_its_variable_is_not_echoed(config_dir):
    (config_dir / "channels.yaml").write_text(
        "channels:\n  eoffice:\n    options:\n      endpoints:\n"
        "        - {id: vpdt, url: 'https://vpdt.example.gov.vn/x', secret_env: 'khoa-bi-mat-that-99'}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigInvalid) as caught:
        load_config(config_dir)
    assert "channels.yaml:5" in str(caught.value)
    assert "khoa-bi-mat-that-99" not in str(caught.value)


def test_the_signing_keys_come_from_the_channels_variables(config_dir, tmp_path):
    write_channels(
        config_dir, "https://vpdt.example.gov.vn", "          secret_env: NHACVIEC_EOFFICE_SECRET_VPDT\n"
    )
    deployment = load_config(config_dir)
    settings = make_settings(tmp_path, config_dir)
    with pytest.raises(NotConfigured, match="NHACVIEC_EOFFICE_SECRET_VPDT"):
        build_notifier("eoffice", settings, deployment, None)
    key_file = tmp_path / "vpdt.key"
    key_file.write_text("khóa-từ-tệp\n", encoding="utf-8")
    settings = make_settings(tmp_path, config_dir, NHACVIEC_EOFFICE_SECRET_VPDT_FILE=str(key_file))
    assert isinstance(build_notifier("eoffice", settings, deployment, None), EofficeNotifier)
    assert "khóa-từ-tệp" in settings.secrets  # masked in logs like every channel's variable


# --- every path of a confirmation, and the outbox's other rules ----------------------------------


def test_nhacviec_ack_and_the_boards_mark_received_queue_the_event(env):
    engine, settings = env["engine"], env["settings"]
    cli_env = {
        "NHACVIEC_DATABASE_URL": str(engine.url.render_as_string(hide_password=False)),
        "NHACVIEC_CONFIG_DIR": str(env["config_dir"]),
    }
    with time_machine.travel(local(8, 9), tick=False):
        done = CliRunner().invoke(app, ["ack", KEY, "--so", "12/BC-UBND"], env=cli_env)
    assert done.exit_code == 0, done.output
    [row] = of_type(event_rows(engine, KEY), "occurrence.confirmed")
    assert row.payload["report_number"] == "12/BC-UBND"
    assert row.payload["confirmed_by"] == "quản trị viên (dòng lệnh)"
    with time_machine.travel(local(8, 9, 1), tick=False):
        listed = CliRunner().invoke(app, ["outbox", "--status", "pending", "--format", "json"], env=cli_env)
    assert listed.exit_code == 0, listed.output
    assert '"eoffice"' in listed.stdout and '"vpdt-hue"' in listed.stdout

    actions.mark_received(engine, OTHER, OFFICER, ReportReference("7/BC-SNV", None), now=local(8, 10))
    [row] = of_type(event_rows(engine, OTHER), "occurrence.confirmed")
    assert row.payload["confirmed_by"] == f"{OFFICER} (ghi nhận thay đơn vị)"
    assert settings.timezone is not None


def test_events_are_neither_superseded_nor_skipped_as_too_late(env):
    """The catch-up rules keep only a recipient's latest reminder of an occurrence and skip those
    later than NHACVIEC_MAX_LATENESS_HOURS (72): an e-office system wants every event, late."""
    engine, deployment, settings = env["engine"], env["deployment"], env["settings"]
    actions.extend(
        engine, deployment, settings, KEY, OFFICER, date(2026, 12, 11), "Chờ số liệu", now=local(9, 10)
    )
    acknowledge(engine, KEY, "đầu mối", local(9, 11))
    dispatch(env, local(13, 12))  # four days later: both go (the overdue ones are cancelled)
    got = sorted((r["json"]["occurred_at"], r["json"]["type"]) for r in received(env))  # sent concurrently
    assert got == [
        ("2026-12-09T03:00:00Z", "occurrence.extended"),
        ("2026-12-09T04:00:00Z", "occurrence.confirmed"),
    ]
    assert all(r["signature_ok"] for r in received(env))


def test_a_configuration_change_replans_the_reminders_and_leaves_the_events(env):
    engine, settings = env["engine"], env["settings"]
    acknowledge(engine, OTHER, "đầu mối", local(1, 9))
    before = {r.key: r.status for r in event_rows(engine)}
    assert Status.PENDING in before.values()
    plan = env["config_dir"] / "plans" / "hue-2026-bdg.yaml"
    text = plan.read_text(encoding="utf-8")
    plan.write_text(
        text.replace("Báo cáo kết quả thực hiện 01 năm", "Báo cáo kết quả thực hiện năm"), encoding="utf-8"
    )
    changed = load_config(env["config_dir"], settings)
    with time_machine.travel(NOW + timedelta(days=1), tick=False):
        report = sync(engine, changed, settings, TODAY + timedelta(days=1))
    assert report.occurrences_changed >= 1
    assert {r.key: r.status for r in event_rows(engine)} == before

    # The item leaves the plan: its reminders are cancelled by sync, its overdue event when due.
    plan.write_text(
        text.replace("id: bao-cao-nam\n", "id: bao-cao-nam-cu\n").replace(
            "after: bao-cao-nam\n", "after: bao-cao-nam-cu\n"
        ),
        encoding="utf-8",
    )
    with time_machine.travel(NOW + timedelta(days=2), tick=False):
        sync(engine, load_config(env["config_dir"], settings), settings, TODAY + timedelta(days=2))
    [overdue] = of_type(event_rows(engine, KEY), "occurrence.overdue")
    assert overdue.status == Status.PENDING
    dispatch(env, local(11, 0, 5))
    [overdue] = of_type(event_rows(engine, KEY), "occurrence.overdue")
    assert overdue.status == Status.CANCELLED
    assert overdue.last_error == "hủy: hạn báo cáo không còn được theo dõi (removed)"


def test_a_contact_cannot_name_the_eoffice_channel(config_dir):
    agencies = config_dir / "agencies" / "thua-thien-hue.yaml"
    text = agencies.read_text(encoding="utf-8")
    assert "channels: [email, zalo]}" in text
    agencies.write_text(
        text.replace("channels: [email, zalo]}", "channels: [email, eoffice]}", 1), encoding="utf-8"
    )
    with pytest.raises(ConfigInvalid) as caught:
        load_config(config_dir)
    [error] = [e for e in caught.value.errors if "sự kiện" in str(e)]
    assert error.file == str(agencies) and error.field.endswith("channels[1]")
    assert "kênh 'eoffice' gửi sự kiện tới hệ thống, không gửi cho đầu mối" in str(error)


def test_the_same_event_twice_in_one_write_is_written_once(engine):
    at = datetime(2026, 12, 8, 2, 30, tzinfo=UTC)
    row = events._row("k" * 32, "vpdt", KEY, events.EventType.CONFIRMED, at, at, None, {})
    with engine.begin() as conn:
        events._insert_new(conn, [row, dict(row)])  # as two replicas would, racing
    assert [r.key for r in event_rows(engine)] == ["k" * 32]


def test_the_operator_sees_a_dead_event_on_the_deliveries_page_and_sends_it_again(env, tmp_path):
    engine = env["engine"]
    acknowledge(engine, KEY, "đầu mối", local(8, 9))
    script(env["receiver"], status=404, times=1)
    dispatch(env, local(8, 9, 1))
    [row] = of_type(event_rows(engine, KEY), "occurrence.confirmed")
    assert row.status == Status.DEAD
    add_user(engine, "quantri", "Quản trị viên", Role.ADMIN, PASSWORD)
    with (
        time_machine.travel(local(8, 10), tick=False),
        TestClient(web_app(tmp_path, env["config_dir"], engine)) as client,
    ):
        sign_in(client, "quantri")
        page = client.get("/gui-tin")
        assert page.status_code == 200
        assert "Sự kiện tới văn phòng điện tử" in page.text and "HTTP 404" in page.text
        done = client.post("/gui-tin/thu-lai", data={"id": str(row.id), "csrf": csrf_of(page.text)})
        assert done.status_code == 200
    dispatch(env, local(8, 10, 1))
    got = received(env)
    assert [r["key"] for r in got] == [row.key, row.key] and got[-1]["signature_ok"]
    [sent] = of_type(event_rows(engine, KEY), "occurrence.confirmed")
    assert sent.status == Status.SENT


# --- the notifier's answers ----------------------------------------------------------------------


def eoffice_notifier(url: str, secret: str = SECRET, timeout: float = 10) -> EofficeNotifier:
    options = EofficeOptions(endpoints=[Endpoint(id="vpdt", url=url)], timeout=timeout)
    return EofficeNotifier(options, {"vpdt": secret})


def event_message(key: str = "e" * 32, recipient: str = "vpdt") -> Message:
    body = json.dumps(
        {"id": key, "type": "occurrence.waived", "reason": "Đơn vị mới thành lập"}, ensure_ascii=False
    )
    return Message(
        key=key, channel="eoffice", recipient=recipient, recipient_name=recipient, subject="", text=body
    )


def eoffice_failure(notifier: EofficeNotifier, message: Message | None = None) -> NotifierError:
    with pytest.raises(NotifierError) as caught:
        asyncio.run(notifier.send(message or event_message()))
    return caught.value


def test_the_notifiers_answers_are_classified_as_the_webhooks(receiver):
    url = f"{receiver}/vpdt/su-kien"
    assert asyncio.run(eoffice_notifier(url).send(event_message())).detail == "HTTP 200"
    [got] = received({"receiver": receiver})
    assert got["signature_ok"] and got["json"]["reason"] == "Đơn vị mới thành lập"

    wrong = eoffice_failure(eoffice_notifier(url, secret="khóa-sai"))  # the receiver answers 401
    assert wrong.permanent and wrong.alert and "NHACVIEC_EOFFICE_SECRET" in str(wrong)
    assert "khóa-sai" not in str(wrong)

    script(receiver, status=429, retry_after=120, times=1)
    limited = eoffice_failure(eoffice_notifier(url))
    assert not limited.permanent and limited.retry_after == 120

    script(receiver, status=410, times=1)  # gone: permanent, and no contact to fall back to
    gone = eoffice_failure(eoffice_notifier(url))
    assert gone.permanent and not gone.unreachable

    closed = eoffice_failure(eoffice_notifier(f"http://127.0.0.1:{free_port()}/x"))
    assert not closed.permanent and "lỗi kết nối" in str(closed)

    unknown = eoffice_failure(eoffice_notifier(url), event_message(recipient="da-xoa"))
    assert unknown.permanent and "'da-xoa' không còn trong cấu hình" in str(unknown)


def test_the_daemon_builds_the_channel_only_when_configured_and_keyed(config_dir, tmp_path):
    write_channels(config_dir, "https://vpdt.example.gov.vn")
    deployment = load_config(config_dir)
    unconfigured: dict[str, str] = {}
    settings = make_settings(tmp_path, config_dir, NHACVIEC_DELIVERY="live")
    assert "eoffice" not in build_notifiers(settings, deployment, None, unconfigured)
    assert "NHACVIEC_EOFFICE_SECRET" in unconfigured["eoffice"]  # its events wait, and say why
    keyed = make_settings(tmp_path, config_dir, NHACVIEC_DELIVERY="live", NHACVIEC_EOFFICE_SECRET=SECRET)
    assert isinstance(build_notifiers(keyed, deployment, None)["eoffice"], EofficeNotifier)


# --- the other ways in: the confirmation page and the JSON API -------------------------------------


def test_the_confirmation_page_and_the_api_queue_the_event_that_is_delivered(env, tmp_path):
    """The focal point's button and an e-office system's POST /api/v1/acknowledgements both go
    through acks.confirm: each confirmation reaches the receiver as one signed event."""
    engine = env["engine"]
    add_user(engine, "snv", "Trần Thị Bình", Role.FOCAL, PASSWORD, agency_id="hue-so-noi-vu")
    _, secret = create_token(engine, "vpdt", Scope.WRITE, "snv")
    app_ = web_app(tmp_path, env["config_dir"], engine)
    with time_machine.travel(local(8, 9), tick=False), TestClient(app_) as client:
        link = links(env["settings"]).url(KEY).removeprefix(env["settings"].public_url.rstrip("/"))
        form = client.get(link)
        assert form.status_code == 200 and "Xác nhận" in form.text
        done = client.post(link, data={"by": "Nguyễn Văn Á", "so": "41/BC-UBND", "ngay": "07/12/2026"})
        assert done.status_code == 200, done.text
        answer = client.post(
            "/api/v1/acknowledgements",
            json={
                "plan_id": PLAN,
                "item_id": "tong-hop-bao-cao-nam",
                "period": "2026",
                "agency_id": "hue-so-noi-vu",
                "report_number": "88/BC-SNV",
                "report_date": "08/12/2026",
            },
            headers={"Authorization": f"Bearer {secret}", "Idempotency-Key": "vpdt-1"},
        )
        assert answer.status_code == 201, answer.text
    [by_page] = of_type(event_rows(engine, KEY), "occurrence.confirmed")
    [by_api] = of_type(event_rows(engine, OTHER), "occurrence.confirmed")
    assert dispatch(env, local(8, 9, 1)) == 2
    got = {r["json"]["agency"]["id"]: r for r in received(env)}
    assert set(got) == {"hue-xa-a-luoi-1", "hue-so-noi-vu"}
    assert all(r["signature_ok"] and not r["duplicate"] for r in got.values())
    assert got["hue-xa-a-luoi-1"]["key"] == by_page.key
    assert got["hue-xa-a-luoi-1"]["json"]["report"] == {"number": "41/BC-UBND", "date": "2026-12-07"}
    assert got["hue-so-noi-vu"]["key"] == by_api.key
    assert got["hue-so-noi-vu"]["json"]["report"] == {"number": "88/BC-SNV", "date": "2026-12-08"}
