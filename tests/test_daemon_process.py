"""`nhacviec run` as a real process: kill -9 mid-dispatch, SIGTERM drain, one daemon per SQLite file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select

from scheduler.outbox.store import Reminder, Status, open_store
from tests.smtp_sink import SmtpSink, free_port

AGENCIES, OBLIGATIONS = 400, 5  # 2,000 reminders, all due at once
CONCURRENCY = 10  # the e-mail notifier's: the most sends in flight at a kill


def write_config(root: Path, agencies: int = AGENCIES, day: date | None = None) -> Path:
    """One plan whose obligations are all due on `day` (today) at 00:00, for `agencies` agencies
    with one contact each: every reminder is due as soon as the daemon starts."""
    day = day or datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    config = root / "config"
    (config / "agencies").mkdir(parents=True)
    (config / "plans").mkdir()
    lines = ["groups:", "  - {id: xa, name: Các xã}", "agencies:"]
    for n in range(agencies):
        lines.append(
            f"  - {{id: xa-{n:05d}, name: UBND xã số {n}, groups: [xa], "
            f"contacts: [{{name: Đầu mối xã {n}, email: xa{n:05d}@example.org}}]}}"
        )
    (config / "agencies" / "xa.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (config / "policies.yaml").write_text(
        "default: ngay\npolicies:\n  - id: ngay\n    send_time: '00:00'\n    non_working_day: keep\n"
        "    deadline:\n      - {offset: 0d}\n",
        encoding="utf-8",
    )
    obligations = "\n".join(
        f"  - {{id: bao-cao-{k}, title: Báo cáo số {k} về kết quả thực hiện kế hoạch, "
        f"on: '{day:%d/%m/%Y}', who: [xa]}}"
        for k in range(OBLIGATIONS)
    )
    (config / "plans" / "thu.yaml").write_text(
        f"id: thu\nnumber: 72/KH-UBND\ntitle: Kế hoạch thực hiện công tác bình đẳng giới năm {day.year}\n"
        f"issuer: UBND tỉnh\nyear: {day.year}\nfocal_agency: xa-00000\nobligations:\n{obligations}\n",
        encoding="utf-8",
    )
    return config


class Daemon:
    def __init__(self, root: Path, sink: SmtpSink) -> None:
        self.root = root
        self.port = free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("NHACVIEC_")},
            "NHACVIEC_DATABASE_URL": f"sqlite:///{root / 'nhacviec.db'}",
            "NHACVIEC_CONFIG_DIR": str(root / "config"),
            "NHACVIEC_DELIVERY": "live",
            "NHACVIEC_SMTP_HOST": "127.0.0.1",
            "NHACVIEC_SMTP_PORT": str(sink.port),
            "NHACVIEC_SMTP_FROM": "nhacviec@ldtbxh.example.org",
            "NHACVIEC_QUIET_HOURS": "00:00-00:00",
            "NHACVIEC_HTTP_PORT": str(self.port),
            "NHACVIEC_SECRET_KEY": "khoa-kiem-thu-du-dai-32-byte-tro-len",
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> subprocess.Popen:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "scheduler", "run"],
            cwd=self.root,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=open(self.root / "daemon.log", "ab"),  # noqa: SIM115 - closed with the process
        )
        return self.process

    def wait_healthy(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log()
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError(f"daemon not healthy in {timeout}s\n{self.log()}")

    def log(self) -> str:
        path = self.root / "daemon.log"
        return path.read_text(encoding="utf-8", errors="replace")[-3000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def daemon(tmp_path, smtp_sink):
    write_config(tmp_path)
    runner = Daemon(tmp_path, smtp_sink)
    yield runner
    runner.stop()


def wait_for(condition, timeout: float, what: str, daemon: Daemon) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{daemon.log()}")
        time.sleep(0.02)


def outbox(daemon: Daemon) -> dict[str, int]:
    engine = open_store(daemon.env["NHACVIEC_DATABASE_URL"])
    with engine.connect() as conn:
        counts = dict(conn.execute(select(Reminder.status, func.count()).group_by(Reminder.status)).all())
        keys = set(conn.execute(select(Reminder.key)).scalars())
    engine.dispose()
    return counts, keys


def test_kill_9_mid_dispatch_loses_nothing(daemon, smtp_sink):
    smtp_sink.delay = 0.01
    kills = 0
    for threshold in (300, 900, 1500):
        daemon.start()
        wait_for(lambda t=threshold: len(smtp_sink.received) >= t, 90, f"{threshold} messages", daemon)
        daemon.process.send_signal(signal.SIGKILL)
        daemon.process.wait()
        kills += 1
    daemon.start()
    wait_for(lambda: len(set(smtp_sink.keys())) >= AGENCIES * OBLIGATIONS, 120, "every reminder", daemon)
    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.process.wait(timeout=30) == 0, daemon.log()

    counts, keys = outbox(daemon)
    received = smtp_sink.keys()
    assert set(received) == keys and len(keys) == AGENCIES * OBLIGATIONS
    assert counts == {Status.SENT: AGENCIES * OBLIGATIONS}
    duplicates = len(received) - len(set(received))
    assert duplicates <= kills * CONCURRENCY, f"{duplicates} duplicates after {kills} kills"


def test_sigterm_during_a_batch_exits_0_and_leaves_nothing_claimed(daemon, smtp_sink):
    smtp_sink.delay = 0.02
    daemon.start()
    wait_for(lambda: len(smtp_sink.received) >= 100, 60, "100 messages", daemon)
    daemon.process.send_signal(signal.SIGTERM)
    assert daemon.process.wait(timeout=40) == 0, daemon.log()
    counts, _ = outbox(daemon)
    assert Status.CLAIMED not in counts
    assert counts.get(Status.SENT, 0) + counts.get(Status.PENDING, 0) == AGENCIES * OBLIGATIONS
    assert counts[Status.SENT] == len(set(smtp_sink.keys()))


def test_a_second_daemon_on_the_same_sqlite_file_refuses_to_start(daemon, smtp_sink):
    daemon.start()
    daemon.wait_healthy()
    assert httpx.get(f"http://127.0.0.1:{daemon.port}/readyz").status_code == 200
    second = subprocess.run(
        [sys.executable, "-m", "scheduler", "run"],
        cwd=daemon.root,
        env={**daemon.env, "NHACVIEC_HTTP_PORT": str(free_port())},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert second.returncode == 1
    assert "một tiến trình nhacviec khác đang chạy" in second.stderr
    assert daemon.process.poll() is None


def test_configuration_changes_are_applied_and_a_bad_file_is_refused(daemon, smtp_sink):
    daemon.start()
    daemon.wait_healthy()
    agencies = daemon.root / "config" / "agencies" / "xa.yaml"
    good = agencies.read_text(encoding="utf-8")
    agencies.write_text(
        good.replace("email: xa00000@example.org", "email: xa00000@@example.org"), encoding="utf-8"
    )
    daemon.process.send_signal(signal.SIGHUP)
    wait_for(lambda: "configuration not reloaded" in daemon.log(), 20, "the refusal", daemon)
    assert "xa00000@@example.org" in daemon.log()  # the error names what is wrong
    assert daemon.process.poll() is None
    assert len(outbox(daemon)[1]) == AGENCIES * OBLIGATIONS

    extra = "  - {id: xa-moi, name: UBND xã mới, groups: [xa], contacts: [{name: Đầu mối, email: moi@example.org}]}\n"
    agencies.write_text(good + extra, encoding="utf-8")
    daemon.process.send_signal(signal.SIGHUP)
    wait_for(
        lambda: len(outbox(daemon)[1]) == (AGENCIES + 1) * OBLIGATIONS, 20, "the new agency's rows", daemon
    )
    wait_for(
        lambda: sum("moi@example.org" in r.to for r in smtp_sink.received) == OBLIGATIONS, 120, "mail", daemon
    )
