"""Issue 13, dispatch: quiet hours and days off (10), one message per send day (11), sends
kept across a failed write (12), reminders waiting on a channel that is not configured (23)."""

from __future__ import annotations

import errno
import os
import re
import signal
import subprocess
import time
from datetime import date, datetime
from pathlib import Path

import httpx
import pytest
import time_machine
from prometheus_client import generate_latest
from rich.console import Console
from sqlalchemy import select
from typer.testing import CliRunner

from notifiers.console import SEPARATOR
from scheduler.cli.app import app
from scheduler.config.loader import load_config
from scheduler.dispatch.digest import enqueue_digests
from scheduler.dispatch.dispatcher import Dispatcher
from scheduler.outbox.metrics import Metrics
from scheduler.outbox.store import Reminder, Status, open_store
from scheduler.outbox.sync import sync
from scheduler.plan.planner import MERGED
from scheduler.render.messages import MessageBuilder
from scheduler.render.templates import Templates
from scheduler.service.channels import build_notifiers
from tests.support import configs as config_kit
from tests.support import daemon as process_kit
from tests.support.dispatch_kit import links, make_dispatcher, run, sync_and_dispatch
from tests.support.settings import make_settings

CONTACT = "so-noi-vu/focal"


def write_config(root: Path, on: str, rungs: str, send_time: str = "08:00", extra_policy: str = "") -> Path:
    """One agency with one e-mail contact, one deadline `on`, one policy with `rungs`."""
    config = root / "config"
    (config / "agencies").mkdir(parents=True, exist_ok=True)
    (config / "plans").mkdir(exist_ok=True)
    (config / "agencies" / "so.yaml").write_text(
        "agencies:\n"
        "  - id: so-noi-vu\n"
        "    name: Sở Nội vụ\n"
        "    contacts: [{id: focal, name: Phòng Công tác thanh niên, email: ctn@noivu.example.org}]\n",
        encoding="utf-8",
    )
    (config / "policies.yaml").write_text(
        f"default: mac-dinh\npolicies:\n  - id: mac-dinh\n    send_time: '{send_time}'\n{extra_policy}"
        f"    deadline:\n{rungs}",
        encoding="utf-8",
    )
    (config / "plans" / "kh.yaml").write_text(
        "id: kh\nnumber: 15/KH-UBND\ntitle: Kế hoạch công tác thanh niên\nissuer: UBND tỉnh\nyear: 2026\n"
        f"focal_agency: so-noi-vu\nobligations:\n  - {{id: bao-cao, title: Báo cáo kết quả, on: '{on}', "
        "who: [so-noi-vu]}\n",
        encoding="utf-8",
    )
    return config


def rungs(*offsets: str) -> str:
    return "".join(f"      - {{offset: {offset}}}\n" for offset in offsets)


def at(settings, day: date, hour: int = 8, minute: int = 0, second: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, second, tzinfo=settings.timezone)


def rows(engine) -> dict[str, object]:
    """The outbox by rung."""
    with engine.connect() as conn:
        return {r.rung: r for r in conn.execute(select(Reminder.__table__))}


@pytest.fixture
def world(tmp_path, smtp_sink, database_url):
    """(build, engine): `build(config)` gives the settings and a dispatcher on that configuration."""
    engine = open_store(database_url)

    def build(config: Path, **env: str):
        settings = make_settings(tmp_path, config, database_url, **env)
        return settings, make_dispatcher(engine, config, settings, smtp_sink)

    yield build, engine
    engine.dispose()


def sent_during(smtp_sink, settings, dispatcher, engine, moment: datetime) -> set[str]:
    """Sync and dispatch at `moment`; the rungs sent then."""
    before = len(smtp_sink.received)
    with time_machine.travel(moment, tick=False):
        sync_and_dispatch(engine, dispatcher, settings, moment.date())
    keys = {m.key for m in smtp_sink.received[before:]}
    return {rung for rung, row in rows(engine).items() if row.key in keys}


# --- 10. quiet hours ------------------------------------------------------------------------------


def test_check_refuses_a_send_time_in_the_quiet_hours_unless_the_policy_ignores_them(tmp_path, monkeypatch):
    config = write_config(tmp_path, "14/12/2026", rungs("-3d", "0d"), send_time="22:00")
    for name in [k for k in os.environ if k.startswith("NHACVIEC_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("NHACVIEC_DATABASE_URL", f"sqlite:///{tmp_path / 'nhacviec.db'}")
    monkeypatch.setenv("NHACVIEC_CONFIG_DIR", str(config))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    result = runner.invoke(app, ["check"])
    assert result.exit_code == 1
    assert (
        f"{config / 'policies.yaml'}:4: policies[0].send_time: giờ gửi 22:00 nằm trong khung giờ không gửi tin 21:30-07:00 (NHACVIEC_QUIET_HOURS)"
        in result.stderr
    )
    assert "ignore_quiet_hours: true" in result.stderr
    assert "Traceback" not in result.stderr

    monkeypatch.setenv("NHACVIEC_QUIET_HOURS", "23:00-05:00")  # 22:00 is then outside them
    assert runner.invoke(app, ["check"]).exit_code == 0

    monkeypatch.delenv("NHACVIEC_QUIET_HOURS")
    config = write_config(tmp_path, "14/12/2026", rungs("0d"), "22:00", "    ignore_quiet_hours: true\n")
    assert runner.invoke(app, ["check"]).exit_code == 0

    # A policy without its own send time takes NHACVIEC_SEND_TIME: the same rule.
    policies = config / "policies.yaml"
    policies.write_text(
        policies.read_text(encoding="utf-8").replace(
            "    send_time: '22:00'\n    ignore_quiet_hours: true\n", ""
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("NHACVIEC_SEND_TIME", "06:30")
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 1
    assert (
        "policies.yaml:3: policies[0]: giờ gửi mặc định (NHACVIEC_SEND_TIME) 06:30 nằm trong" in result.stderr
    )


def test_the_quiet_hours_move_a_reminder_to_a_working_morning_and_skip_none(world, tmp_path, smtp_sink):
    """As the issue reproduced it (a policy at 22:00, loaded without the check): the −3d rung of
    a Monday deadline falls on Friday 22:00, its due-day rung on Monday 22:00. Nothing goes on
    the weekend; nothing is skipped as overdue because the night moved it."""
    build, engine = world
    settings, dispatcher = build(write_config(tmp_path, "14/12/2026", rungs("-3d", "0d", "+3wd"), "22:00"))
    fri, sat, sun, mon, tue = (date(2026, 12, d) for d in (11, 12, 13, 14, 15))
    schedule = [
        (at(settings, fri, 22), set()),
        (at(settings, sat, 7), set()),  # the end of the night falls on a day off: not now
        (at(settings, sun, 7), set()),
        (at(settings, mon, 7), {"-3d"}),  # the next working morning
        (at(settings, mon, 22), set()),
        (at(settings, tue, 7), {"0d"}),  # the due-day rung goes, one night late, not skipped
    ]
    for moment, expected in schedule:
        assert sent_during(smtp_sink, settings, dispatcher, engine, moment) == expected, moment
    assert {r.status for r in rows(engine).values() if r.rung != "+3wd"} == {Status.SENT}
    assert "đã quá hạn 1 ngày" in smtp_sink.received[-1].text()  # what it says fits the day it goes


def test_a_retry_that_falls_in_the_night_waits_for_the_next_working_morning(world, tmp_path, smtp_sink):
    build, engine = world
    settings, dispatcher = build(write_config(tmp_path, "15/12/2026", rungs("-4d", "0d")))
    fri, sat, mon = date(2026, 12, 11), date(2026, 12, 12), date(2026, 12, 14)
    answers = iter(["451 4.3.0 Máy chủ bận, thử lại sau"])
    smtp_sink.reply = lambda: next(answers, "250 OK")
    # Down all Friday; back at 21:29:30: the first attempt fails, its retry (≥ 30 s) is in the night.
    assert sent_during(smtp_sink, settings, dispatcher, engine, at(settings, fri, 21, 29, 30)) == set()
    row = rows(engine)["-4d"]
    assert row.status == Status.PENDING and row.attempts == 1
    assert row.next_attempt_at.astimezone(settings.timezone) == at(settings, mon, 7)
    assert sent_during(smtp_sink, settings, dispatcher, engine, at(settings, sat, 7)) == set()
    assert sent_during(smtp_sink, settings, dispatcher, engine, at(settings, sat, 10)) == set()
    assert sent_during(smtp_sink, settings, dispatcher, engine, at(settings, mon, 7)) == {"-4d"}


@pytest.mark.parametrize(
    ("offsets", "tuesday", "due_day_rung"),
    [
        (("0d", "+3wd"), {"0d"}, Status.SENT),  # nothing else on Tuesday: it goes, late
        (("0d", "+1wd"), {"+1wd"}, Status.SKIPPED),  # Tuesday has the overdue notice: one message
    ],
)
def test_a_due_day_rung_retried_past_its_day_is_not_skipped_as_overdue(
    world, tmp_path, smtp_sink, offsets, tuesday, due_day_rung
):
    build, engine = world
    settings, dispatcher = build(write_config(tmp_path, "14/12/2026", rungs(*offsets)))
    mon, tue = date(2026, 12, 14), date(2026, 12, 15)
    answers = iter(["451 4.3.0 Máy chủ bận, thử lại sau"])
    smtp_sink.reply = lambda: next(answers, "250 OK")
    assert sent_during(smtp_sink, settings, dispatcher, engine, at(settings, mon, 21, 29, 30)) == set()
    assert rows(engine)["0d"].next_attempt_at.astimezone(settings.timezone) == at(settings, tue, 7)
    with time_machine.travel(at(settings, tue, 7), tick=False):
        run(dispatcher)
    with time_machine.travel(at(settings, tue, 8), tick=False):
        run(dispatcher)
    sent = {rung for rung, row in rows(engine).items() if row.status == Status.SENT}
    assert sent == tuesday
    row = rows(engine)["0d"]
    assert row.status == due_day_rung
    assert "đã quá hạn" not in (row.last_error or "")
    assert len(smtp_sink.received) == 1


# --- 11. one message per send day -----------------------------------------------------------------


def test_rungs_pulled_onto_the_same_morning_become_one_message(world, tmp_path, smtp_sink):
    """8/2/2027 is in Tết (4–10/2): its −3d (Fri 5/2) and 0d rungs both move to Wednesday 3/2."""
    build, engine = world
    config = write_config(tmp_path, "08/02/2027", rungs("-7d", "-3d", "0d", "+1wd"))
    settings, dispatcher = build(config)
    wed = date(2027, 2, 3)
    with time_machine.travel(at(settings, date(2027, 1, 20)), tick=False):
        sync(engine, dispatcher.builder.deployment, settings, date(2027, 1, 20))
    planned = rows(engine)
    assert planned["0d"].send_at == planned["-3d"].send_at == at(settings, wed)
    assert planned["0d"].status == Status.PENDING and planned["0d"].kind == "due"
    assert planned["-3d"].status == Status.SKIPPED
    assert planned["-3d"].last_error == f"{MERGED} «đến hạn» (mốc 0d) ngày 03/02/2027: chỉ gửi lời nhắc đó"
    assert planned["-7d"].status == Status.PENDING  # Monday 1/2: a day of its own

    assert sent_during(smtp_sink, settings, dispatcher, engine, at(settings, wed)) == {"0d"}
    assert len(smtp_sink.received) == 1

    # The deadline moved out of Tết: the two days part, and the −3d rung is wanted again.
    plan = config / "plans" / "kh.yaml"
    plan.write_text(plan.read_text(encoding="utf-8").replace("08/02/2027", "03/03/2027"), encoding="utf-8")
    settings, dispatcher = build(config)
    with time_machine.travel(at(settings, date(2027, 2, 4)), tick=False):
        sync(engine, dispatcher.builder.deployment, settings, date(2027, 2, 4))
    again = rows(engine)["-3d"]
    assert again.status == Status.PENDING and again.last_error is None
    assert again.send_at == at(settings, date(2027, 2, 26))


def test_a_rung_skipped_by_the_dispatcher_is_never_brought_back_by_a_sync(world, tmp_path, smtp_sink):
    build, engine = world
    config = write_config(tmp_path, "14/12/2026", rungs("-3d", "0d"))
    settings, dispatcher = build(config)
    with time_machine.travel(at(settings, date(2026, 12, 1)), tick=False):
        sync(engine, dispatcher.builder.deployment, settings, date(2026, 12, 1))
    # Down from Friday 11/12 to Tuesday 15/12: the −3d rung is skipped, the due-day one goes late.
    with time_machine.travel(at(settings, date(2026, 12, 15), 9), tick=False):
        run(dispatcher)
    skipped = rows(engine)["-3d"]
    assert skipped.status == Status.SKIPPED and not skipped.last_error.startswith(MERGED)
    policies = config / "policies.yaml"
    policies.write_text(policies.read_text(encoding="utf-8").replace("08:00", "08:30"), encoding="utf-8")
    settings, dispatcher = build(config)
    with time_machine.travel(at(settings, date(2026, 12, 15), 9), tick=False):
        sync(engine, dispatcher.builder.deployment, settings, date(2026, 12, 15))
    assert rows(engine)["-3d"].status == Status.SKIPPED


# --- 12. a full disk during dispatch ----------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path):
    """A 32 MB tmpfs (root only; skipped with the reason otherwise), unmounted afterwards."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=32m,mode=0700", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip() or mounted.returncode}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path) -> Path:
    """Take every free byte of `disk`; the file returned gives them back when removed."""
    filler = disk / "filler"
    with open(filler, "wb", buffering=0) as out:
        for size in (1 << 20, 1 << 12, 1):
            try:
                while True:
                    out.write(b"\0" * size)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    return filler


def slowly(condition, timeout: float, what: str, daemon) -> None:
    """Wait, looking twice a second: reading every key received takes the sink's CPU."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}\n{daemon.log()}"
        time.sleep(0.5)


def readyz(daemon) -> int:
    try:
        return httpx.get(f"http://127.0.0.1:{daemon.port}/readyz", timeout=2).status_code
    except httpx.HTTPError:
        return 0


def test_a_full_disk_during_dispatch_repeats_at_most_the_sends_in_flight(tmp_path, small_disk, smtp_sink):
    config_kit.write_config(tmp_path)
    daemon = process_kit.Daemon(tmp_path, smtp_sink)
    daemon.env["NHACVIEC_DATABASE_URL"] = f"sqlite:///{small_disk / 'nhacviec.db'}"
    daemon.env["NHACVIEC_LEASE_SECONDS"] = "10"  # shorter than the episode: repeats would show
    total = config_kit.AGENCIES * config_kit.OBLIGATIONS
    smtp_sink.delay = 0.01
    try:
        daemon.start()
        process_kit.wait_for(lambda: len(smtp_sink.received) >= 300, 90, "300 messages", daemon)
        filler = fill(small_disk)
        statuses = set()
        episode = time.monotonic() + 15  # longer than a lease
        while time.monotonic() < episode:
            statuses.add(readyz(daemon))
            time.sleep(0.2)
        filler.unlink()
        slowly(lambda: len(set(smtp_sink.keys())) >= total, 180, "every reminder", daemon)
        slowly(lambda: readyz(daemon) == 200, 60, "/readyz ready again", daemon)
        daemon.process.send_signal(signal.SIGTERM)
        assert daemon.process.wait(timeout=60) == 0, daemon.log()
    finally:
        daemon.stop()
    counts, keys = process_kit.outbox(daemon)
    received = smtp_sink.keys()
    assert counts == {Status.SENT: total} and set(received) == keys
    duplicates = len(received) - len(set(received))
    assert duplicates <= process_kit.CONCURRENCY, f"{duplicates} duplicates after a full disk"
    assert 503 in statuses, statuses  # not ready while writes failed


# --- 23. a channel that is not configured -----------------------------------------------------------


def both_channels(config: Path, channels: str = "[email, sms]") -> None:
    agencies = config / "agencies" / "so.yaml"
    agencies.write_text(
        agencies.read_text(encoding="utf-8").replace(
            "email: ctn@noivu.example.org}",
            f'email: ctn@noivu.example.org, mobile: "0912 345 678", channels: {channels}}}',
        ),
        encoding="utf-8",
    )


def test_a_reminder_on_a_channel_that_is_not_configured_says_why_it_waits(
    tmp_path, smtp_sink, database_url, monkeypatch
):
    config = write_config(tmp_path, "14/12/2026", rungs("0d"))
    both_channels(config)  # sms: no key in the environment, so not configured
    settings = make_settings(
        tmp_path, config, database_url, NHACVIEC_DELIVERY="live", NHACVIEC_SMTP_HOST="127.0.0.1",
        NHACVIEC_SMTP_PORT=str(smtp_sink.port),
    )  # fmt: skip
    engine = open_store(database_url)
    deployment = load_config(config, settings)
    unconfigured: dict[str, str] = {}
    notifiers = build_notifiers(settings, deployment, engine, unconfigured)
    assert set(notifiers) == {"email"} and set(unconfigured) == {"sms"}
    metrics = Metrics(lambda: 0)
    builder = MessageBuilder(deployment, Templates(config / "templates"), links(settings), settings.timezone)
    dispatcher = Dispatcher(engine, builder, notifiers, settings, "w", metrics, None, unconfigured)
    monday = at(settings, date(2026, 12, 14))
    with time_machine.travel(monday, tick=False):
        sync(engine, deployment, settings, monday.date())
        run(dispatcher)
        waiting = next(r for r in rows_of(engine) if r.channel == "sms")
        assert waiting.status == Status.PENDING
        reason = "kênh sms chưa được cấu hình (đặt NHACVIEC_SMS_ESMS_API_KEY để gửi SMS qua gateway esms)"
        assert waiting.last_error.startswith(reason)
        assert (
            'nhacviec_reminders_waiting_unconfigured{channel="sms"} 1.0'
            in generate_latest(metrics.registry).decode()
        )

        # The daily digest to the focal agency lists it with the deliveries that failed.
        assert enqueue_digests(engine, deployment, monday, settings.timezone) == 1
        run(dispatcher)
    digest = [m for m in smtp_sink.received if m.message["X-Nhacviec-Key"] and "Tổng hợp" in m.subject]
    assert len(digest) == 1
    assert f"sms +84912345678: {reason}" in " ".join(digest[0].text().split())

    # `nhacviec outbox` shows it in its reason column.
    for name in [k for k in os.environ if k.startswith("NHACVIEC_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("NHACVIEC_DATABASE_URL", database_url)
    monkeypatch.setenv("NHACVIEC_CONFIG_DIR", str(config))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("scheduler.cli.app.out", Console(width=400))  # one line per row
    listed = CliRunner().invoke(app, ["outbox", "--status", "pending"])
    assert listed.exit_code == 0, listed.output
    assert squeeze(reason) in squeeze(listed.output)
    engine.dispose()


def squeeze(text: str) -> str:
    """The text without spaces and table rules: a table folds long cells over several lines."""
    return re.sub(r"[\s│┃║|]", "", text)


def rows_of(engine) -> list:
    with engine.connect() as conn:
        return conn.execute(select(Reminder.__table__)).all()


def test_the_console_shows_zalo_and_sms_as_they_would_be_sent(tmp_path, database_url, capsys):
    config = write_config(tmp_path, "14/12/2026", rungs("0d"))
    both_channels(config, "[email, sms, zalo]")
    settings = make_settings(tmp_path, config, database_url, NHACVIEC_DELIVERY="console")
    engine = open_store(database_url)
    deployment = load_config(config, settings)
    notifiers = build_notifiers(settings, deployment, engine)
    builder = MessageBuilder(deployment, Templates(config / "templates"), links(settings), settings.timezone)
    dispatcher = Dispatcher(engine, builder, notifiers, settings, "w")
    monday = at(settings, date(2026, 12, 14))
    with time_machine.travel(monday, tick=False):
        sync(engine, deployment, settings, monday.date())
        capsys.readouterr()
        run(dispatcher)
    printed = {
        part.split("\n", 2)[1].split(" ")[1]: part
        for part in capsys.readouterr().out.split(SEPARATOR)
        if part.strip()
    }
    assert set(printed) == {"email", "sms", "zalo"}
    assert "Kính gửi" in printed["email"] and f"{settings.public_url}/xac-nhan/" in printed["email"]
    for channel in ("sms", "zalo"):
        assert "Kính gửi" not in printed[channel]  # not the e-mail body
        assert "Hôm nay 14/12/2026 là hạn cuối gửi Báo cáo kết quả (15/KH-UBND)." in printed[channel]
        assert f"Xác nhận đã gửi: {settings.public_url}/x/" in printed[channel]  # the short link
        assert "/xac-nhan/" not in printed[channel]
    assert "Khong dau" not in printed["email"] and "Không dấu (SMS): Hom nay 14/12/2026" in printed["sms"]
    engine.dispose()
