"""`nhacviec run` as a real process on a free port, sending to an in-process SMTP sink."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from sqlalchemy import func, select

from scheduler.outbox.store import Reminder, open_store
from tests.support.smtp_sink import SmtpSink, free_port

CONCURRENCY = 10  # the e-mail notifier's: the most sends in flight at a kill


class Daemon:
    """`nhacviec run` in `root` (its configuration in root/config, its SQLite file and log there),
    e-mail live to `sink`, quiet hours off."""

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


def wait_for(condition: Callable[[], object], timeout: float, what: str, daemon: Daemon) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{daemon.log()}")
        time.sleep(0.02)


def outbox(daemon: Daemon) -> tuple[dict[str, int], set[str]]:
    """The daemon's outbox: reminders per status, and their keys."""
    engine = open_store(daemon.env["NHACVIEC_DATABASE_URL"])
    with engine.connect() as conn:
        counts = dict(conn.execute(select(Reminder.status, func.count()).group_by(Reminder.status)).all())
        keys = set(conn.execute(select(Reminder.key)).scalars())
    engine.dispose()
    return counts, keys


class Replica(Daemon):
    """One `nhacviec run` with its own directory (log, cwd) and the shared configuration."""

    def __init__(self, root: Path, config: Path, sink: SmtpSink, database_url: str, **env: str) -> None:
        root.mkdir(parents=True, exist_ok=True)
        super().__init__(root, sink)
        self.env.update(NHACVIEC_DATABASE_URL=database_url, NHACVIEC_CONFIG_DIR=str(config), **env)

    @property
    def worker(self) -> str:
        return f"{socket.gethostname()}:{self.process.pid}"

    def entries(self, message: str) -> list[dict]:
        """The daemon's JSON log lines whose message is `message`."""
        found = []
        for line in (self.root / "daemon.log").read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("msg") == message:
                found.append(entry)
        return found

    def terminate(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=40)
