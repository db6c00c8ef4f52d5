"""Benchmark: several `nhacviec run` replicas on one PostgreSQL outbox, and the claim query at scale.

Everything runs in one invocation. The SMTP sink is `common.Sink` (aiosmtpd in a
process of its own) with a fixed delay before it answers each DATA — 20 ms by default, like
a provider's round trip — so that a replica's rate is set by how many sends it has in
flight (`EmailNotifier.concurrency` = 10) and not only by CPU: the ideal is
10 / 20 ms = 500 messages/s per replica, until the two cores run out.

Measured:

0. **Reference**: `EmailNotifier.send` alone (bench_dispatch's raw limit: no daemon, no
   database), 10 in flight, the same number of messages against the same delayed sink:
   what 10 sends in flight reach through this SMTP stack, whatever the daemon does.
1. **Replicas on PostgreSQL**: for 1, 2 and 3 replicas, a fresh database (created here,
   migrated as `nhacviec db upgrade` does, dropped afterwards) and a configuration of
   1,200 agencies × 5 obligations due today = 6,000 reminders. The replicas
   (`python -m scheduler run`, env as in bench_dispatch.py, the database URL and
   configuration shared) are started together; they sync in turn (one writes, the
   others find nothing to do) and share the outbox through `FOR UPDATE SKIP LOCKED`
   claims. Rate from the first to the last message received by the sink, and from the
   moment the last replica logged "nhacviec started" (all of them dispatching) to the
   last message. CPU over the first → last window: the replicas (utime + stime from
   /proc), every `postgres` process of the server (including the children it reaped),
   the sink, and the whole machine (/proc/stat). Exactly once: distinct keys = messages
   and the outbox all `sent`.
2. **SQLite, one process**: the same workload with one daemon on a SQLite file.
3. **Claim query at scale** (PostgreSQL): an outbox of 1,000,000 synthetic rows (90 %
   pending, 10 % sent, send times spread over 400 days ahead), inserted with
   `generate_series`, plus 5,000 pending rows due in the last hour. `Dispatcher.claim`
   (claims 200, commits, returns the rows) is timed 20 times, the rows released between
   runs: median and p95. Also the server's execution time of the claim's SELECT
   (`EXPLAIN ANALYZE`, rolled back) and its plan's top node and scan, and one outcome
   write as the dispatcher's `SendRecorder` does it (UPDATE + INSERT + COMMIT). Then
   the outbox grows to 5,000,000 rows and the same is measured — unless the insert rate
   of the first million says that would take more than 3 minutes, in which case 2,000,000.

Figures only: there is no goal. The script always exits 0: benchmarks never fail the build.

Run from the repository root (a PostgreSQL server at TEST_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/postgres, whose user may create databases):

    .venv/bin/python bench/bench_replicas.py                  # full scale (~3.5 min on 2 vCPUs)
    .venv/bin/python bench/bench_replicas.py --scale 0.2      # quicker: 1,200 reminders, 200k-row outbox
    .venv/bin/python bench/bench_replicas.py --replicas 1,4 --delay 0.04   # other counts, sink delay
    .venv/bin/python bench/bench_replicas.py --only 1,2 --keep
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from bench_dispatch import CONCURRENCY, measure_raw, render_samples, smtp_settings
from common import (
    BENCH_SECRET,
    CLOCK_TICKS,
    CORES,
    TZ,
    DaemonProcess,
    Meter,
    Rate,
    Sink,
    fmt,
    percentile,
    proc_cpu_seconds,
    rate_from_records,
    session,
    today_local,
)
from sqlalchemy import func, select, text

from notifiers.base import Delivery
from notifiers.email import EmailNotifier
from scheduler.config.loader import load_config
from scheduler.config.settings import load_settings
from scheduler.dispatch.dispatcher import Dispatcher
from scheduler.outbox.store import Reminder, Status, make_engine, migrate, utcnow
from scheduler.render.links import Links
from scheduler.render.messages import MessageBuilder
from scheduler.render.templates import Templates

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' synthetic configuration
from tests.support.configs import OBLIGATIONS, write_config

ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
AGENCIES = 1_200  # × 5 obligations = 6,000 reminders
REPLICAS = (1, 2, 3)
SINK_DELAY = 0.020  # seconds before the sink answers each DATA
CLAIM_ROWS = (1_000_000, 5_000_000)
CLAIM_FALLBACK = 2_000_000  # the second size when the larger one would take too long to insert
INSERT_BUDGET = 180.0  # seconds the larger outbox may take to insert
DUE_ROWS = 5_000
CLAIM_RUNS = 20


# --- PostgreSQL: throwaway databases and the server's CPU -------------------------------


def create_database(prefix: str) -> tuple[str, str]:
    """A new database at the newest schema; returns (name, SQLAlchemy URL)."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    url = f"{base}/{name}"
    engine = make_engine(url)
    migrate(engine)  # as `nhacviec db upgrade`: the daemon refuses an old schema on PostgreSQL
    engine.dispose()
    return name, url


def drop_database(name: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_cpu_seconds() -> float:
    """utime + stime of every `postgres` process, plus the children each has reaped
    (cutime + cstime: a backend that exited is counted in the postmaster's)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if stat[stat.find("(") + 1 : stat.rfind(")")] != "postgres":
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        total += sum(int(x) for x in fields[11:15])
    return total / CLOCK_TICKS


def postgres_settings() -> str:
    names = ("shared_buffers", "synchronous_commit", "max_connections", "work_mem")
    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as admin:
        version = admin.execute("SHOW server_version").fetchone()[0]
        values = [f"{n}={admin.execute(f'SHOW {n}').fetchone()[0]}" for n in names]
    return f"PostgreSQL {version.split()[0]}, " + ", ".join(values)


# --- 1, 2. dispatch with N replicas ---------------------------------------------------------


@dataclass
class Run:
    label: str
    replicas: int
    expected: int
    count: int = 0
    unique: int = 0
    span: float = float("nan")  # first → last message, s
    rate: float = float("nan")  # first → last, msg/s
    all_rate: float = float("nan")  # all replicas started → last, msg/s
    all_count: int = 0
    join_lag: float = float("nan")  # first message → last replica's 'nhacviec started', s
    cpu: dict[str, float] = field(default_factory=dict)
    outbox: dict[str, int] = field(default_factory=dict)
    exit_codes: list[int | None] = field(default_factory=list)

    def cores(self, name: str) -> float:
        wall = self.cpu.get("wall", float("nan"))
        return self.cpu.get(name, float("nan")) / wall if wall else float("nan")

    def ms_per_message(self, name: str) -> float:
        return self.cpu.get(name, float("nan")) / self.count * 1000 if self.count else float("nan")

    @property
    def other(self) -> float:
        """Busy cores not accounted for by the replicas, PostgreSQL and the sink."""
        return self.cpu.get("machine", float("nan")) - sum(
            self.cores(n) for n in ("replicas", "postgres", "sink")
        )

    @property
    def ideal(self) -> float:
        return self.replicas * CONCURRENCY / SINK_DELAY if SINK_DELAY > 0 else float("nan")


def measure_dispatch(root: Path, sink: Sink, replicas: int, agencies: int, url: str | None) -> Run:
    """`replicas` daemons started together on one configuration; `url` None: SQLite (one process)."""
    total = agencies * OBLIGATIONS
    config = write_config(root / "shared", agencies, today_local())
    group: list[DaemonProcess] = []
    for i in range(replicas):
        (root / f"r{i}").mkdir(parents=True, exist_ok=True)
        runner = DaemonProcess(root / f"r{i}", sink.port)
        runner.env["NHACVIEC_CONFIG_DIR"] = str(config)
        if url:
            runner.env["NHACVIEC_DATABASE_URL"] = url
        group.append(runner)
    database = url or group[0].env["NHACVIEC_DATABASE_URL"]
    label = f"PostgreSQL, {replicas} replica{'s' if replicas > 1 else ''}" if url else "SQLite, 1 process"
    run = Run(label, replicas, total)

    def replicas_cpu() -> float:
        cpu = 0.0
        for runner in group:
            with contextlib.suppress(OSError):
                cpu += proc_cpu_seconds(runner.pid)
        return cpu

    readers = {"replicas": replicas_cpu, "postgres": postgres_cpu_seconds, "sink": sink.cpu}
    sink.reset()
    meter: Meter | None = None
    try:
        for runner in group:
            runner.start()
        deadline = time.monotonic() + 120 + total / 20
        while sink.count < total and time.monotonic() < deadline and any(r.alive() for r in group):
            if meter is None and sink.count > 0:  # CPU from the first message on, as the rate
                meter = Meter(readers)
            time.sleep(0.02)
        if meter is not None:
            run.cpu = meter.stop()
    finally:
        run.exit_codes = [runner.stop() for runner in group]
    records = sink.dump()
    rate = rate_from_records(records, total, min(r.started_at for r in group))
    run.count, run.unique, run.span, run.rate = rate.count, rate.unique, rate.span, rate.rate
    times = sorted(at for at, _, _ in records)
    started = [r.logged_at("nhacviec started") for r in group]
    if times and all(started):
        ready = max(s for s in started if s is not None)
        run.join_lag = ready - times[0]
        after = [t for t in times if t >= ready]
        run.all_count = len(after)
        if len(after) > 1 and after[-1] > after[0]:
            run.all_rate = (len(after) - 1) / (after[-1] - after[0])
    engine = make_engine(database)
    try:
        with engine.connect() as conn:
            run.outbox = dict(
                conn.execute(select(Reminder.status, func.count()).group_by(Reminder.status)).all()
            )
    finally:
        engine.dispose()
    return run


def measure_replicas(root: Path, sink: Sink, agencies: int, counts: tuple[int, ...]) -> list[Run]:
    runs = []
    for n in counts:
        name, url = create_database("nhacviec_bench_replicas")
        try:
            runs.append(measure_dispatch(root / f"pg{n}", sink, n, agencies, url))
        finally:
            drop_database(name)
        print(f"  [{runs[-1].label}: {fmt(runs[-1].rate, ',.0f', ' msg/s')}]", flush=True)
    return runs


# --- 3. the claim query at scale ---------------------------------------------------------------

SYNTHETIC_ROWS = """
INSERT INTO reminder (key, occurrence_key, contact_key, channel, rung, kind, recipient, due_date, send_at,
                      status, attempts, ignore_quiet_hours, created_at, updated_at)
SELECT md5('bench' || i), 'bench/bao-cao/2000/a' || (i % 100000), 'a/dau-moi', 'email', '0d', 'due',
       'a' || i || '@example.org', (:base + (i % 400) * interval '1 day')::date,
       :base + (i % 400) * interval '1 day' + (i % 1440) * interval '1 minute',
       CASE WHEN i % 10 = 0 THEN 'sent' ELSE 'pending' END, 0, false, now(), now()
FROM generate_series(:first, :last) AS i
"""
DUE_SQL = """
INSERT INTO reminder (key, occurrence_key, contact_key, channel, rung, kind, recipient, due_date, send_at,
                      status, attempts, ignore_quiet_hours, created_at, updated_at)
SELECT md5('due' || i), 'bench/bao-cao/2000/d' || (i % 1000), 'd/dau-moi', 'email', '0d', 'due',
       'd' || i || '@example.org', current_date, :now - interval '1 hour' + i * (interval '1 hour' / :n),
       'pending', 0, false, now(), now()
FROM generate_series(1, :n) AS i
"""


def insert_rows(engine: Any, first: int, last: int) -> float:
    start = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(
            text(SYNTHETIC_ROWS), {"base": utcnow() + timedelta(days=1), "first": first, "last": last}
        )
        conn.execute(text("ANALYZE reminder"))
    return time.perf_counter() - start


def claim_dispatcher(root: Path, url: str) -> tuple[Dispatcher, Any]:
    config = write_config(root, 2, today_local())
    settings = load_settings(
        env={"NHACVIEC_DATABASE_URL": url, "NHACVIEC_CONFIG_DIR": str(config)}, dotenv=False
    )
    engine = make_engine(url)
    builder = MessageBuilder(
        load_config(config), Templates(config / "templates"), Links(BENCH_SECRET, settings.public_url, 60), TZ
    )
    notifiers = {"email": EmailNotifier(smtp_settings(1))}
    return Dispatcher(engine, builder, notifiers, settings, "bench-claim"), engine


def time_claims(dispatcher: Dispatcher, engine: Any, rows: int) -> dict[str, Any]:
    """`Dispatcher.claim` CLAIM_RUNS times (rows released between runs), its plan, one outcome write."""
    out: dict[str, Any] = {"rows": rows}
    timings, claimed = [], []
    dispatcher.claim(utcnow())  # warm the connection pool and the caches once
    dispatcher.release_claims("bench-claim")
    for _ in range(CLAIM_RUNS):
        start = time.perf_counter()
        batch = dispatcher.claim(utcnow())
        timings.append(time.perf_counter() - start)
        claimed.append(len(batch))
        dispatcher.release_claims("bench-claim")
    out["median"], out["p95"] = statistics.median(timings), percentile(timings, 95)
    out["min"], out["max"], out["claimed"] = min(timings), max(timings), claimed
    compiled = dispatcher.due(utcnow()).compile(
        dialect=engine.dialect, compile_kwargs={"render_postcompile": True}
    )
    with engine.connect() as conn:
        plan = list(conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params).scalars())
        # ANALYZE runs it: the row locks it takes are given back by the rollback.
        analyzed = list(
            conn.exec_driver_sql(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}", compiled.params).scalars()
        )
        conn.rollback()
    out["plan"] = plan
    out["top"] = plan[0].split("  (")[0].strip()
    out["scan"] = next((line.split("  (")[0].strip(" ->") for line in plan if "Scan" in line), "?")
    out["seq_scan"] = any("Seq Scan on reminder" in line for line in plan)
    executed = next((line for line in analyzed if line.startswith("Execution Time")), "")
    out["server_ms"] = float(executed.split(":")[1].split()[0]) if executed else float("nan")
    # One outcome as the dispatcher records it (UPDATE reminder + INSERT delivery_attempt + COMMIT).
    batch = dispatcher.claim(utcnow())
    writes = []

    async def record_one_by_one() -> None:  # the recorder commits in the event loop
        for row in batch[:100]:
            start = time.perf_counter()
            dispatcher.recorder.add(row, Delivery(provider_id="bench"))
            dispatcher.recorder.flush()
            writes.append(time.perf_counter() - start)

    asyncio.run(record_one_by_one())
    dispatcher.release_claims("bench-claim")
    out["outcome_ms"] = statistics.median(writes) * 1000 if writes else float("nan")
    with engine.connect() as conn:
        out["table_mb"] = conn.exec_driver_sql("SELECT pg_total_relation_size('reminder')").scalar() / 2**20
    return out


def measure_claims(root: Path, sizes: tuple[int, int], fallback: int) -> dict[str, Any]:
    name, url = create_database("nhacviec_bench_claim")
    result: dict[str, Any] = {"sizes": []}
    dispatcher, engine = claim_dispatcher(root / "claim", url)
    try:
        first = sizes[0]
        seconds = insert_rows(engine, 1, first)
        with engine.begin() as conn:
            conn.execute(text(DUE_SQL), {"now": utcnow(), "n": DUE_ROWS})
            conn.execute(text("ANALYZE reminder"))
        result["inserts"] = [(first, seconds)]
        print(f"  [inserted {first:,} rows in {seconds:.1f} s]", flush=True)
        result["sizes"].append(time_claims(dispatcher, engine, first + DUE_ROWS))
        target = sizes[1]
        estimate = (target - first) / (first / seconds)
        result["estimate"] = estimate
        if estimate > INSERT_BUDGET:
            result["fallback"] = (
                f"inserting {target - first:,} more rows would take ~{estimate:.0f} s at the rate of the "
                f"first {first:,} ({first / seconds:,.0f} rows/s) > {INSERT_BUDGET:.0f} s: measured "
                f"{fallback:,} instead"
            )
            target = fallback
        seconds = insert_rows(engine, first + 1, target)
        result["inserts"].append((target - first, seconds))
        print(f"  [inserted {target - first:,} more rows in {seconds:.1f} s]", flush=True)
        result["sizes"].append(time_claims(dispatcher, engine, target + DUE_ROWS))
    finally:
        engine.dispose()
        drop_database(name)
    return result


# --- report ----------------------------------------------------------------------------------------


def print_runs(runs: list[Run]) -> None:
    base = next((r.rate for r in runs if r.replicas == 1 and "PostgreSQL" in r.label), float("nan"))
    print(
        f"\n  {'run':<26} {'msg/s':>7} {'all up':>7} {'ideal':>6} {'× 1':>5}  {'busy':>5} "
        f"{'replicas':>9} {'postgres':>9} {'sink':>6} {'other':>6}  exactly once"
    )
    for r in runs:
        once = r.count == r.unique == r.expected and r.outbox == {Status.SENT: r.expected}
        print(
            f"  {r.label:<26} {fmt(r.rate, ',.0f'):>7} {fmt(r.all_rate, ',.0f'):>7} {r.ideal:>6,.0f} "
            f"{fmt(r.rate / base, '.2f'):>5}  {fmt(r.cpu.get('machine', float('nan')), '.2f'):>5} "
            f"{fmt(r.cores('replicas'), '.2f'):>9} {fmt(r.cores('postgres'), '.2f'):>9} "
            f"{fmt(r.cores('sink'), '.2f'):>6} {fmt(r.other, '.2f'):>6}  "
            f"{'yes' if once else 'NO'} ({r.unique:,} keys / {r.count:,} messages / {r.expected:,})"
        )
    print(
        "  (msg/s: first → last message; all up: from the last replica's 'nhacviec started' to the last "
        "message;\n   ideal: replicas × 10 in flight / sink delay; busy (whole machine), replicas, postgres, "
        "sink, other: cores,\n   averaged over first → last)"
    )
    for r in runs:
        per = (
            f"CPU per message: replicas {fmt(r.ms_per_message('replicas'), '.2f')} ms, "
            f"postgres {fmt(r.ms_per_message('postgres'), '.2f')} ms, sink {fmt(r.ms_per_message('sink'), '.2f')} ms"
        )
        lag = (
            f"last replica up {fmt(r.join_lag, '.2f')} s after the first message ({r.all_count:,} sent after)"
        )
        print(f"  {r.label}: {fmt(r.span, '.2f')} s; {per}; {lag}; outbox {r.outbox}; exit {r.exit_codes}")


def print_claims(claims: dict[str, Any]) -> None:
    print("\n3. Claim query (Dispatcher.claim: 200 rows, commit), PostgreSQL")
    for (rows, seconds), size in zip(claims["inserts"], claims["sizes"], strict=False):
        print(
            f"  {size['rows']:,} rows ({size['table_mb']:,.0f} MB with indexes; "
            f"{rows:,} inserted in {seconds:.1f} s = {rows / seconds:,.0f} rows/s)"
        )
        print(
            f"    claim ×{CLAIM_RUNS}: median {size['median'] * 1000:.1f} ms, p95 {size['p95'] * 1000:.1f} ms "
            f"(min {size['min'] * 1000:.1f}, max {size['max'] * 1000:.1f}); claimed {set(size['claimed'])} "
            f"rows each"
        )
        print(
            f"    its SELECT on the server (EXPLAIN ANALYZE): {size['server_ms']:.2f} ms; plan: {size['top']} "
            f"… {size['scan']}{'  — SEQ SCAN' if size['seq_scan'] else ''}"
        )
        print(
            f"    one outcome write (UPDATE + INSERT + COMMIT, as SendRecorder): median {size['outcome_ms']:.2f} ms"
        )
    if claims.get("fallback"):
        print(f"  note: {claims['fallback']}")
    plan = claims["sizes"][-1]["plan"]
    print("  plan at the largest size:\n" + "\n".join(f"    {line}" for line in plan))


def conclusion(runs: list[Run], claims: dict[str, Any], raw: Rate | None) -> str:
    pg = {r.replicas: r for r in runs if "PostgreSQL" in r.label}
    sqlite = next((r for r in runs if "SQLite" in r.label), None)
    parts = []
    if pg:
        best = max(pg.values(), key=lambda r: r.rate)
        rates = ", ".join(f"{n} → {fmt(r.rate, ',.0f')}" for n, r in sorted(pg.items()))
        parts.append(
            f"On this 2-vCPU machine, with a provider that takes {SINK_DELAY * 1000:.0f} ms per message, "
            f"one PostgreSQL and N replicas sent (msg/s, N → rate): {rates}"
            + (f"; one process on SQLite {fmt(sqlite.rate, ',.0f')}" if sqlite else "")
            + "."
        )
        busy = best.cpu.get("machine", float("nan"))
        per_message = sum(best.ms_per_message(n) for n in ("replicas", "postgres", "sink"))
        parts.append(
            f"Each replica has at most {CONCURRENCY} sends in flight, so its ceiling is "
            f"{CONCURRENCY / SINK_DELAY:,.0f} msg/s in theory"
            + (
                f"; the bare `EmailNotifier.send` with {CONCURRENCY} in flight reaches "
                f"{fmt(raw.rate, ',.0f')} msg/s against the same sink (each send is several SMTP round "
                f"trips besides the provider's delay), and one replica "
                f"{fmt(pg[min(pg)].rate / raw.rate * 100, '.0f')} % of that"
                if raw
                else ""
            )
            + f". With {best.replicas} replicas the machine had {fmt(busy, '.2f')} of {CORES} cores busy "
            f"(replicas {fmt(best.cores('replicas'), '.2f')}, PostgreSQL {fmt(best.cores('postgres'), '.2f')}, "
            f"sink {fmt(best.cores('sink'), '.2f')}); at {per_message:.1f} ms of CPU per message in all "
            f"({fmt(best.ms_per_message('postgres'), '.2f')} ms of it PostgreSQL) the two cores carry about "
            f"{CORES / per_message * 1000:,.0f} msg/s: that is where the rate stops, at the cores, not at the "
            "database (a claim of 200 rows costs milliseconds) nor at the sink."
        )
    if claims.get("sizes"):
        sizes = "; ".join(
            f"{s['rows']:,} rows: median {s['median'] * 1000:.1f} ms, p95 {s['p95'] * 1000:.1f} ms"
            for s in claims["sizes"]
        )
        parts.append(
            f"The claim of 200 rows stays an index walk ({claims['sizes'][-1]['scan']}) whatever the outbox "
            f"size ({sizes})."
        )
    parts.append(
        "Beyond that: more cores (or replicas on other machines) before anything else; then a higher "
        "per-channel `concurrency` when the provider is slow and allows it (rate ≈ concurrency / round "
        "trip per replica); a lease (NHACVIEC_LEASE_SECONDS) longer than a batch of 200 takes at the "
        "slowest rate; a larger batch only if claims show up in the profile; on PostgreSQL, connection "
        "count (each replica keeps a pool), `synchronous_commit` and autovacuum on `reminder` "
        "(every send updates a row)."
    )
    return " ".join(parts)


# --- main ------------------------------------------------------------------------------------------


def main() -> int:
    global SINK_DELAY
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full sizes (default 1.0)")
    parser.add_argument("--delay", type=float, default=SINK_DELAY, help="sink delay per message, s")
    parser.add_argument(
        "--replicas", default="1,2,3", help="comma-separated replica counts for step 1 (default 1,2,3)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--only", default="", help="comma-separated steps to run, e.g. 1,2 (default: all)")
    args = parser.parse_args()
    SINK_DELAY = args.delay
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    counts = tuple(int(part) for part in args.replicas.split(",") if part.strip()) or REPLICAS
    agencies = max(20, round(AGENCIES * args.scale))
    sizes = (max(10_000, round(CLAIM_ROWS[0] * args.scale)), max(20_000, round(CLAIM_ROWS[1] * args.scale)))
    fallback = max(sizes[0] + 1, round(CLAIM_FALLBACK * args.scale))

    runs: list[Run] = []
    claims: dict[str, Any] = {}
    with session("nhacviec-bench-replicas-", args.keep, goals=False) as run:
        root = run.root
        print(f"Scale {args.scale:g}; {CORES} cores; {postgres_settings()}; work dir {root}")
        sink = Sink(delay=SINK_DELAY)
        try:
            print(
                f"SMTP sink (aiosmtpd, own process) on 127.0.0.1:{sink.port}, {SINK_DELAY * 1000:.0f} ms per DATA"
            )
            raw: list[Rate] = []

            def measure_reference() -> None:
                samples = render_samples(root / "render", agencies)
                raw.append(measure_raw(sink, samples, agencies * OBLIGATIONS))

            steps: list[tuple[str, Callable[[], None]]] = [
                ("0. raw", measure_reference),
                ("1. replicas", lambda: runs.extend(measure_replicas(root, sink, agencies, counts))),
                (
                    "2. sqlite",
                    lambda: runs.append(measure_dispatch(root / "sqlite", sink, 1, agencies, None)),
                ),
                ("3. claim", lambda: claims.update(measure_claims(root, sizes, fallback))),
            ]
            for name, step in steps:
                if not only or name.split(".")[0] in only:
                    run.step(name, step)
            if runs:
                print(
                    f"\n1, 2. Dispatch of {agencies * OBLIGATIONS:,} reminders ({agencies:,} agencies × "
                    f"{OBLIGATIONS}), sink answering after {SINK_DELAY * 1000:.0f} ms, replicas started together"
                )
                print_runs(runs)
            if raw:
                print(
                    f"\n0. Reference: EmailNotifier.send alone (no daemon, no database), {CONCURRENCY} in flight, "
                    f"same sink: {fmt(raw[0].rate, ',.0f', ' msg/s')} ({raw[0].count:,} messages, "
                    f"{fmt(raw[0].size, ',.0f')} bytes each; client {fmt(raw[0].cpu_ms, '.2f', ' ms')} CPU per message)"
                )
            if claims.get("sizes"):
                print_claims(claims)
            for name, error in run.failures.items():
                print(f"\n{name} FAILED: {error}")
            print(
                f"\nConclusion (for bench/README.md, Scale):\n{conclusion(runs, claims, raw[0] if raw else None)}"
            )
        finally:
            sink.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
