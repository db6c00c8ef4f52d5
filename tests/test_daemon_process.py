"""`nhacviec run` as a real process: kill -9 mid-dispatch, SIGTERM drain, one daemon per SQLite file."""

from __future__ import annotations

import signal
import subprocess
import sys

import httpx
import pytest

from scheduler.outbox.store import Status
from tests.support.configs import AGENCIES, OBLIGATIONS, write_config
from tests.support.daemon import CONCURRENCY, Daemon, outbox, wait_for
from tests.support.smtp_sink import free_port


@pytest.fixture
def daemon(tmp_path, smtp_sink):
    write_config(tmp_path)
    runner = Daemon(tmp_path, smtp_sink)
    yield runner
    runner.stop()


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
