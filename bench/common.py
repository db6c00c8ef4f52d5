"""What the benchmark scripts share: the SMTP sink, the daemon as a subprocess, CPU meters,
rates and their printing, verdicts, the tail of every `main` (a work directory, steps that
fail alone, the closing lines), and for the benchmarks on the national deployment their options,
their databases (SQLite, then PostgreSQL) and an in-process ASGI client. Benchmarks always exit
0: they never fail the build.

Synthetic configurations are in tests/support/configs.py, shared with the tests.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import multiprocessing
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol
from zoneinfo import ZoneInfo

# The project, SQLAlchemy and httpx are imported where they are used: bench_import.py reports
# its own process's memory, and the sink's process needs none of them.
if TYPE_CHECKING:
    from scheduler.config.settings import Settings

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SENDER = "nhacviec@ldtbxh.example.org"
BENCH_SECRET = "khoa-bench-khong-bi-mat-du-32-byte"  # a fixed link-signing key for throwaway databases
GOAL_RATIO = 0.70  # the daemon's rate against the raw client's (bench_dispatch, bench_channels)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1


# --- the SMTP sink, in its own process -------------------------------------------

KEY_HEADER = re.compile(rb"^X-Nhacviec-Key:[ \t]*(\S+)", re.MULTILINE | re.IGNORECASE)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SinkHandler:
    """Records (receive time, X-Nhacviec-Key) for every message and answers 250 at once, or
    after `delay` seconds (like a provider's round trip; 0, the default, answers at once)."""

    def __init__(self, counter: Any, delay: float = 0.0) -> None:
        self.counter = counter
        self.delay = delay
        self.records: list[tuple[float, str, int]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        at = time.time()
        data = envelope.original_content or b""
        match = KEY_HEADER.search(data.split(b"\r\n\r\n", 1)[0])
        key = match.group(1).decode("ascii", "replace") if match else ""
        self.records.append((at, key, len(data)))
        self.counter.value += 1
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 OK"


def sink_main(conn: Any, counter: Any, delay: float = 0.0) -> None:
    """The sink process: an aiosmtpd Controller, driven by commands on a pipe."""
    from aiosmtpd.controller import Controller

    handler = SinkHandler(counter, delay)
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    conn.send(port)
    try:
        while True:
            command = conn.recv()
            if command == "reset":
                handler.records = []
                counter.value = 0
                conn.send(True)
            elif command == "dump":
                conn.send(list(handler.records))
            elif command == "stop":
                break
    except EOFError:
        pass
    finally:
        controller.stop()


class Sink:
    """The SMTP sink in a process of its own (spawned): its port, its message count (shared
    memory), and its records through a pipe."""

    def __init__(self, delay: float = 0.0) -> None:
        """`delay`: seconds the sink waits before answering each DATA (default 0: at once)."""
        ctx = multiprocessing.get_context("spawn")
        self.counter = ctx.RawValue("q", 0)
        self._conn, child = ctx.Pipe()
        self.process = ctx.Process(target=sink_main, args=(child, self.counter, delay), daemon=True)
        self.process.start()
        if not self._conn.poll(60):
            raise RuntimeError("the SMTP sink did not start")
        self.port: int = self._conn.recv()

    @property
    def count(self) -> int:
        return self.counter.value

    def reset(self) -> None:
        self._conn.send("reset")
        self._conn.recv()

    def dump(self) -> list[tuple[float, str, int]]:
        self._conn.send("dump")
        return self._conn.recv()

    def cpu(self) -> float:
        return proc_cpu_seconds(self.process.pid)

    def stop(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._conn.send("stop")
        self.process.join(10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)


# --- /proc ------------------------------------------------------------------------


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


# --- the daemon as a subprocess ---------------------------------------------------------


def today_local() -> date:
    return datetime.now(TZ).date()


class DaemonProcess:
    """`python -m scheduler run` with live e-mail to the sink, as tests/support/daemon.py runs it."""

    def __init__(self, root: Path, smtp_port: int) -> None:
        self.root = root
        self.http_port = free_port()
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("NHACVIEC_")},
            "NHACVIEC_DATABASE_URL": f"sqlite:///{root / 'nhacviec.db'}",
            "NHACVIEC_CONFIG_DIR": str(root / "config"),
            "NHACVIEC_DELIVERY": "live",
            "NHACVIEC_SMTP_HOST": "127.0.0.1",
            "NHACVIEC_SMTP_PORT": str(smtp_port),
            "NHACVIEC_SMTP_FROM": SENDER,
            "NHACVIEC_QUIET_HOURS": "00:00-00:00",
            "NHACVIEC_HTTP_PORT": str(self.http_port),
            "NHACVIEC_SECRET_KEY": BENCH_SECRET,
        }
        self.process: subprocess.Popen | None = None
        self.started_at = 0.0

    @property
    def settings(self) -> Settings:
        from scheduler.config.settings import load_settings

        return load_settings(env=self.env, dotenv=False)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def start(self) -> None:
        self.started_at = time.time()
        with open(self.root / "daemon.log", "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "scheduler", "run"],
                cwd=self.root,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def wait_healthy(self, timeout: float) -> float:
        """Wait for /healthz; return the seconds since start."""
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"the daemon exited\n{self.log_tail()}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.http_port}/healthz", timeout=1).status_code == 200:
                    return time.time() - self.started_at
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"the daemon was not healthy within {timeout:.0f} s\n{self.log_tail()}")

    def log_tail(self) -> str:
        path = self.root / "daemon.log"
        return path.read_text(encoding="utf-8", errors="replace")[-2000:] if path.exists() else ""

    def log_entries(self) -> list[dict]:
        entries = []
        path = self.root / "daemon.log"
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines() if path.exists() else []:
            try:
                entries.append(json.loads(line))
            except ValueError:
                continue
        return entries

    def logged_at(self, message: str) -> float | None:
        """Wall-clock time of the first log line with this message."""
        for entry in self.log_entries():
            if entry.get("msg") == message:
                return datetime.fromisoformat(entry["ts"]).timestamp()
        return None

    def stop(self) -> int | None:
        """SIGTERM (the daemon drains and exits 0), SIGKILL after 30 s."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def outbox_counts(url: str) -> dict[str, int]:
    from sqlalchemy import func, select

    from scheduler.outbox.store import Reminder, open_store

    engine = open_store(url)
    try:
        with engine.connect() as conn:
            return dict(conn.execute(select(Reminder.status, func.count()).group_by(Reminder.status)).all())
    finally:
        engine.dispose()


# --- rates and CPU ------------------------------------------------------------------------


@dataclass
class Rate:
    count: int = 0
    expected: int = 0
    span: float = float("nan")  # first → last message received, seconds
    since_start: float = float("nan")  # process start / resume → last message, seconds
    unique: int = 0
    client_cpu: float = float("nan")  # CPU seconds of the sender (raw client, daemon, peer) while sending
    sink_cpu: float = float("nan")  # CPU seconds of the sink over the same wall time
    wall: float = float("nan")  # the wall time those CPU seconds were taken over
    machine: float = float("nan")  # average busy cores of the whole machine over the same wall time
    size: float = float("nan")  # mean bytes per message received
    since_ready: float = float("nan")  # daemon: 'nhacviec started' logged → last message, seconds
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return (self.count - 1) / self.span if self.count > 1 and self.span > 0 else float("nan")

    @property
    def rate_since_start(self) -> float:
        return self.count / self.since_start if self.since_start > 0 else float("nan")

    @property
    def rate_since_ready(self) -> float:
        return self.count / self.since_ready if self.since_ready > 0 else float("nan")

    @property
    def cpu_ms(self) -> float:
        """CPU milliseconds of the sender per message."""
        return self.client_cpu / self.count * 1000 if self.count else float("nan")

    @property
    def foreign(self) -> float:
        """Busy cores used by processes other than the sender and the sink."""
        return self.machine - (self.client_cpu + self.sink_cpu) / self.wall


class Cpu(Protocol):
    """Something that consumes CPU and says how much: a sink, a provider double."""

    def cpu(self) -> float: ...


class Meter:
    """CPU seconds of named readers (a process, a group of processes) and the busy cores of the
    whole machine (/proc/stat), over the wall time from its creation to `stop` or `into`."""

    def __init__(self, readers: dict[str, Callable[[], float]]) -> None:
        self.readers = readers
        self.start = self._read()

    @classmethod
    def sending(cls, sender: Callable[[], float], sink: Cpu) -> Meter:
        """A sender's CPU seconds and those of the sink it sends to."""
        return cls({"sender": sender, "sink": sink.cpu})

    def _read(self) -> tuple[float, dict[str, float], float, float]:
        jiffies = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
        idle = jiffies[3] + jiffies[4]  # idle + iowait
        cpu = {name: read() for name, read in self.readers.items()}
        return time.time(), cpu, sum(jiffies) - idle, sum(jiffies)

    def stop(self) -> dict[str, float]:
        """{'wall': seconds, name: CPU seconds…, 'machine': busy cores on average}."""
        end = self._read()
        out = {"wall": end[0] - self.start[0]}
        out.update({name: end[1][name] - self.start[1][name] for name in self.readers})
        total = end[3] - self.start[3]
        out["machine"] = (end[2] - self.start[2]) / total * CORES if total else float("nan")
        return out

    def into(self, rate: Rate) -> None:
        """`stop`, for a meter made by `sending`: the figures go into `rate`."""
        out = self.stop()
        rate.wall, rate.client_cpu, rate.sink_cpu = out["wall"], out["sender"], out["sink"]
        rate.machine = out["machine"]


def rate_from_records(records: list[tuple[float, str, int]], expected: int, start: float) -> Rate:
    times = sorted(at for at, _, _ in records)
    rate = Rate(count=len(times), expected=expected, unique=len({key for _, key, _ in records}))
    rate.size = sum(size for _, _, size in records) / len(records) if records else float("nan")
    if times:
        rate.span = times[-1] - times[0]
        rate.since_start = times[-1] - start
    return rate


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


# --- report -------------------------------------------------------------------------------


def fmt(value: float, spec: str, unit: str = "") -> str:
    return "n/a" if value != value else f"{value:{spec}}{unit}"  # NaN check


def print_rate(title: str, rate: Rate, cpu_label: str) -> None:
    print(f"\n{title}")
    print(
        f"  received {rate.count:,} of {rate.expected:,} ({rate.unique:,} distinct keys), "
        f"{fmt(rate.size, ',.0f')} bytes per message"
    )
    print(f"  first → last message: {fmt(rate.span, '.2f', ' s')} = {fmt(rate.rate, ',.0f', ' msg/s')}")
    print(
        f"  start → last message: {fmt(rate.since_start, '.2f', ' s')} = "
        f"{fmt(rate.rate_since_start, ',.0f', ' msg/s')}"
    )
    print(
        f"  CPU while sending: {cpu_label} {fmt(rate.client_cpu / rate.wall * 100, '.0f', ' %')}, "
        f"sink {fmt(rate.sink_cpu / rate.wall * 100, '.0f', ' %')} of one core; "
        f"{cpu_label} {fmt(rate.cpu_ms, '.1f', ' ms')} CPU per message"
    )
    print(
        f"  whole machine {fmt(rate.machine, '.2f')} of {os.cpu_count()} cores busy on average, "
        f"{fmt(rate.foreign, '.2f')} of them by other processes"
    )
    for note in rate.notes:
        print(f"  {note}")


def verdict(met: bool | None) -> str:
    """A goal's verdict: met, NOT met, or — for a figure without a goal."""
    return "—" if met is None else ("met" if met else "NOT met")


def goal_table(rows: list[tuple[str, str, str, bool | None]], widths: tuple[int, int, int]) -> list[str]:
    """Print (measure, value, goal, met) rows in columns of `widths`; return the goals not met."""
    name, value, goal = widths
    print(f"\n  {'measure':<{name}} {'value':>{value}}  {'goal':>{goal}}  verdict")
    for row in rows:
        print(f"  {row[0]:<{name}} {row[1]:>{value}}  {row[2]:>{goal}}  {verdict(row[3])}")
    return [row[0] for row in rows if row[3] is False]


# --- the tail of every main ----------------------------------------------------------------


@dataclass
class Session:
    """One benchmark run: its work directory, the steps that failed, the goals not met."""

    root: Path
    failures: dict[str, str] = field(default_factory=dict)
    missed: list[str] = field(default_factory=list)

    def step(self, name: str, step: Callable[[], object]) -> None:
        """Run one measurement and print how long it took; a failure is noted, not raised."""
        start = time.perf_counter()
        try:
            step()
        except Exception as exc:  # one failed measurement must not hide the others
            self.failures[name] = f"{type(exc).__name__}: {exc}"
        print(f"[{name} done in {time.perf_counter() - start:.1f} s]", flush=True)


@contextmanager
def session(prefix: str, keep: bool, *, goals: bool = True) -> Iterator[Session]:
    """A work directory (removed afterwards unless `keep`) for the body of a `main`. An error
    in the body is printed, not raised: a benchmark never fails the build. Then the wall time
    and, with `goals`, the goals not met; without, the steps that failed (figures only)."""
    started = time.perf_counter()
    run = Session(Path(tempfile.mkdtemp(prefix=prefix)))
    try:
        yield run
    except Exception as exc:  # a benchmark never fails the build
        print(f"\nBENCHMARK ERROR: {type(exc).__name__}: {exc}")
        run.missed.append("the benchmark itself")
    finally:
        if keep:
            print(f"\nKept {run.root}")
        else:
            shutil.rmtree(run.root, ignore_errors=True)
    print(f"\nBenchmark wall time: {time.perf_counter() - started:.1f} s")
    if goals:
        print(f"GOALS NOT MET: {', '.join(run.missed)}" if run.missed else "All goals met.")
    else:
        failed = [*run.failures, *run.missed]
        print(f"FAILED: {', '.join(failed)}; figures only (no goal)" if failed else "Figures only (no goal).")


# --- the benchmarks on the national deployment (board, API, feeds, reports) ------------------

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def national_options(description: str, rounds: int | None = None, per: str = "") -> argparse.ArgumentParser:
    """--scale, --keep, --postgres and, given a default `rounds`, --rounds (requests per `per`);
    the caller adds its own options and parses."""
    parser = argparse.ArgumentParser(description=description.split("\n\n")[0])
    parser.add_argument(
        "--scale", type=float, default=1.0, help="fraction of the national size (default 1.0)"
    )
    if rounds is not None:
        parser.add_argument(
            "--rounds", type=int, default=rounds, help=f"requests per {per} (default {rounds})"
        )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (config and DBs)")
    parser.add_argument(
        "--postgres",
        default=POSTGRES_ADMIN_URL,
        help="the PostgreSQL server's admin URL; 'none' to measure SQLite only",
    )
    return parser


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str | None]:
    """A new empty PostgreSQL database (dropped afterwards); None, with the reason printed, when
    the server cannot be reached."""
    from tests.support.postgres import throwaway_database, unreachable  # psycopg only when asked

    problem = unreachable(admin_url)
    if problem is not None:
        print(f"PostgreSQL not reachable at {admin_url}: {problem}; its figures are left out")
        yield None
        return
    with throwaway_database(admin_url, "nhacviec_bench") as url:
        yield url


def databases(root: Path, postgres: str) -> Iterator[tuple[str, str, Path]]:
    """(name, URL, work directory) of a fresh SQLite database, then of a fresh PostgreSQL one on
    the server `postgres` unless it is 'none' or cannot be reached. Consume it with a for loop:
    the PostgreSQL database is dropped when the loop moves past it."""
    sqlite_root = root / "sqlite"
    sqlite_root.mkdir()
    yield "SQLite", f"sqlite:///{sqlite_root / 'nhacviec.db'}", sqlite_root
    if postgres == "none":
        return
    with postgres_database(postgres) as url:
        if url is not None:
            pg_root = root / "postgres"
            pg_root.mkdir()
            yield "PostgreSQL", url, pg_root


class Response(NamedTuple):
    status: int
    size: int  # bytes of the body
    headers: list[tuple[bytes, bytes]]  # as the app sent them

    def header(self, name: str) -> str | None:
        """The first header of this name (any case), or None."""
        wanted = name.lower().encode()
        return next((v.decode("latin-1") for k, v in self.headers if k.lower() == wanted), None)


class AsgiClient:
    """An ASGI app called directly, in this thread, for GET requests: the server's time only (no
    HTTP client, no thread hop), and a profile that sees the page's code. `headers` go with every
    request (a session cookie, an Authorization), those given to `get` with that one.

    The heap is first settled as the daemon settles it after every sync
    (`scheduler.service.daemon.give_back_memory`: what survives is frozen out of the cyclic
    collector's full passes), so that the pages are timed as the daemon serves them: without it,
    a full pass over the benchmark's own millions of objects lands in one request in ten and
    adds ~150 ms to its p95."""

    def __init__(self, app: Any, headers: dict[str, str] | None = None) -> None:
        from scheduler.service.daemon import give_back_memory

        give_back_memory()
        self.app = app
        self.headers = dict(headers or {})
        self.loop = asyncio.new_event_loop()

    def get(self, path: str, headers: dict[str, str] | None = None) -> Response:
        path, _, query = path.partition("?")
        sent = [(b"host", b"testserver")]
        sent += [(k.lower().encode(), v.encode()) for k, v in {**self.headers, **(headers or {})}.items()]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": sent,
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
            "state": {},
        }
        answer = Response(0, 0, [])
        size = 0

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal answer, size
            if message["type"] == "http.response.start":
                answer = Response(message["status"], 0, list(message.get("headers", [])))
            elif message["type"] == "http.response.body":
                size += len(message.get("body", b""))

        self.loop.run_until_complete(self.app(scope, receive, send))
        return answer._replace(size=size)

    def close(self) -> None:
        self.loop.close()
