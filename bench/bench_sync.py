"""Benchmark: sync of a national-scale configuration into the SQLite outbox.

What is measured, on a synthetic configuration written as real YAML files so
that loading and validating the configuration is part of the measurement:

- 34 provinces, each with ~98 communes and 30 provincial agencies (sở, ban,
  ngành): ~3,300 communes and ~1,000 agencies, every agency with two contacts
  (a focal point and a leader);
- one plan per province with 10 yearly obligations for all of its agencies;
- one policy with 6 deadline rungs; three rungs go out by e-mail and SMS, the
  escalation goes to the leader: 9 reminders per occurrence, ~390k in all.

Figures printed:

- config load time, first sync time (reminders/s, µs per reminder);
- no-change re-sync, as `nhacviec sync` does it: config load + open store +
  sync, each phase and the total;
- peak resident memory of the process (ru_maxrss) after our phases, before the
  peer runs, so the peer does not count against us;
- the naive peer: one APScheduler 3 `DateTrigger` job per reminder added to a
  `SQLAlchemyJobStore` on SQLite, timed on a sample of the reminders the sync
  wrote (10,000 by default) and extrapolated to the full count. It is timed
  twice: with SQLite's defaults, as `SQLAlchemyJobStore(url=...)` opens the
  file (rollback journal, synchronous=FULL: an fsync per job), and with the
  settings our engine uses (WAL, synchronous=NORMAL), so that the ratio is not
  only a measure of fsync cost.

Goals (from the issue): first sync at least 50x faster per reminder than the
peer; no-change re-sync under 3 s; peak memory under 500 MB. The script prints
whether each goal is met and always exits 0: benchmarks never fail the build.

Run from the repository root:

    .venv/bin/python bench/bench_sync.py                # full scale (~390k reminders)
    .venv/bin/python bench/bench_sync.py --scale 0.05   # quick smoke run
    .venv/bin/python bench/bench_sync.py --profile      # + cProfile of a separate first sync
    .venv/bin/python bench/bench_sync.py --keep         # keep the generated config and databases
"""

from __future__ import annotations

import argparse
import cProfile
import multiprocessing
import pstats
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from common import POSTGRES_ADMIN_URL, goal_table, postgres_database, session
from sqlalchemy import Engine, func, select

from scheduler.config.loader import load_config
from scheduler.config.settings import Settings, load_settings
from scheduler.outbox.store import Occurrence, Reminder, make_engine, open_store
from scheduler.outbox.sync import SyncReport, sync

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the synthetic national configuration
from tests.support.configs import (
    DEADLINES,
    MERGER_LAST_DAY,
    PROVINCES,
    REMINDERS_PER_OCCURRENCE,
    Shape,
    make_shape,
    write_national_config,
)

TODAY = date(2027, 1, 1)  # every rung of the national configuration's deadlines lies ahead
HORIZON_DAYS = 366

GOAL_RATIO = 50.0
GOAL_RESYNC_S = 3.0
GOAL_PEAK_MB = 500.0

T = TypeVar("T")


def send_reminder(key: str) -> None:
    """The peer's job function; never run, only referenced (APScheduler pickles the reference)."""
    print(f"send {key}")


# --- measurements -----------------------------------------------------------


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def count_reminders(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Reminder)).scalar_one()


def sample_reminders(engine: Engine, size: int) -> list[tuple[str, datetime]]:
    """Every k-th reminder the sync wrote, so the sample spans all provinces and dates."""
    total = count_reminders(engine)
    step = max(1, total // max(1, size))
    query = select(Reminder.key, Reminder.send_at).where(Reminder.id % step == 0).limit(size)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [(key, at if at.tzinfo else at.replace(tzinfo=UTC)) for key, at in rows]


# The two ways the peer's SQLite file is opened: as `SQLAlchemyJobStore(url=...)` does it
# (rollback journal, synchronous=FULL: one fsync per job) and with our engine's settings.
PEER_DEFAULT = "SQLite defaults"
PEER_WAL = "WAL + synchronous=NORMAL, as ours"


@dataclass
class Results:
    backend: str = "SQLite"
    reminders: int = 0
    occurrences: int = 0
    named: int = 0  # occurrences stored with the names of the time
    successors: int = 0  # occurrences of the agencies that took over after a merger
    resync_rounds: list[float] = field(default_factory=list)  # load + open + sync, each round
    phases: dict[str, float] = field(default_factory=dict)
    first: SyncReport | None = None
    again: SyncReport | None = None
    peak_mb: float = 0.0
    peer_sample: int = 0
    peer_seconds: dict[str, float] = field(default_factory=dict)  # variant -> seconds for the sample

    @property
    def ours_us(self) -> float:
        return self.phases["first sync"] / self.reminders * 1e6

    @property
    def ours_with_load_us(self) -> float:
        return (self.phases["first sync"] + self.phases["load config"]) / self.reminders * 1e6

    def peer_us(self, variant: str) -> float:
        return self.peer_seconds[variant] / self.peer_sample * 1e6

    @property
    def resync_total(self) -> float:
        """The median round of the no-change re-sync (load + open + sync)."""
        return statistics.median(self.resync_rounds)


def bench_settings(url: str, config: Path) -> Settings:
    return load_settings(
        env={
            "NHACVIEC_DATABASE_URL": url,
            "NHACVIEC_CONFIG_DIR": str(config),
            "NHACVIEC_HORIZON_DAYS": str(HORIZON_DAYS),
        }
    )


def measure_first_sync(config: Path, settings: Settings, results: Results) -> Engine:
    """Create the store, load the configuration and sync into the empty outbox."""
    phases = results.phases
    engine, phases["open store (create schema)"] = timed(lambda: open_store(settings.database_url))
    deployment, phases["load config"] = timed(lambda: load_config(config))
    results.first, phases["first sync"] = timed(lambda: sync(engine, deployment, settings, TODAY))
    results.reminders = count_reminders(engine)
    return engine


def measure_resync(config: Path, settings: Settings, results: Results, rounds: int) -> None:
    """What `nhacviec sync` does on an unchanged configuration: load, open the store, sync;
    `rounds` times, each phase's median kept (the total's median is `resync_total`)."""
    names = ("re-sync: load config", "re-sync: open store", "re-sync: sync")
    seen: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(rounds):
        start = time.perf_counter()
        deployment = load_config(config)
        loaded = time.perf_counter()
        engine = open_store(settings.database_url)
        opened = time.perf_counter()
        results.again = sync(engine, deployment, settings, TODAY)
        synced = time.perf_counter()
        engine.dispose()
        load, opened, synced = loaded - start, opened - loaded, synced - opened
        for name, seconds in zip(names, (load, opened, synced), strict=True):
            seen[name].append(seconds)
        results.resync_rounds.append(load + opened + synced)
    for name in names:
        results.phases[name] = statistics.median(seen[name])


def count_lifetimes(engine: Engine, results: Results) -> None:
    """How many occurrences carry their names, and how many went to a successor agency."""
    table = Occurrence.__table__
    with engine.connect() as conn:
        results.occurrences = conn.execute(select(func.count()).select_from(table)).scalar_one()
        results.named = conn.execute(
            select(func.count()).select_from(table).where(table.c.agency_name.is_not(None))
        ).scalar_one()
        results.successors = conn.execute(
            select(func.count()).select_from(table).where(table.c.start_date > MERGER_LAST_DAY)
        ).scalar_one()


def measure_backend(backend: str, url: str, config: Path, phase: str, queue: Any) -> None:
    """One phase in a process of its own (forked from a parent that holds nothing large), so
    that its peak memory is its own and each re-sync starts as `nhacviec sync` does, in a fresh
    process: "first" (the first sync into the empty database) or "resync" (one no-change round).
    The results go back through `queue`."""
    settings = bench_settings(url, config)
    results = Results(backend=backend)
    if phase == "first":
        engine = measure_first_sync(config, settings, results)
        count_lifetimes(engine, results)
        engine.dispose()
    else:
        measure_resync(config, settings, results, rounds=1)
    results.peak_mb = peak_rss_mb()
    queue.put(results)


def in_child(backend: str, url: str, config: Path, phase: str) -> Results:
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    process = context.Process(target=measure_backend, args=(backend, url, config, phase, queue))
    process.start()
    results = queue.get()
    process.join()
    return results


def measure(backend: str, url: str, config: Path, rounds: int) -> Results:
    """The first sync, then `rounds` no-change re-syncs, each in a fresh process; the phases of
    the re-sync are the medians of the rounds, the peak memory the highest of all."""
    results = in_child(backend, url, config, "first")
    again = [in_child(backend, url, config, "resync") for _ in range(rounds)]
    for name in ("re-sync: load config", "re-sync: open store", "re-sync: sync"):
        results.phases[name] = statistics.median(r.phases[name] for r in again)
    results.resync_rounds = [r.resync_rounds[0] for r in again]
    results.again = again[-1].again
    results.peak_mb = max([results.peak_mb, *(r.peak_mb for r in again)])
    return results


def measure_peer(url: str, sample: list[tuple[str, datetime]], variant: str) -> float:
    """Seconds to add one DateTrigger job per sampled reminder to an SQLAlchemyJobStore.

    The scheduler is started paused, as a service would be while it loads its jobs:
    each `add_job` then writes its row at once, in its own transaction.
    """
    store = (
        SQLAlchemyJobStore(url=url)
        if variant == PEER_DEFAULT
        else SQLAlchemyJobStore(engine=make_engine(url))
    )
    scheduler = BackgroundScheduler(jobstores={"default": store}, timezone=UTC)
    scheduler.start(paused=True)
    try:
        start = time.perf_counter()
        for key, send_at in sample:
            scheduler.add_job(
                send_reminder, DateTrigger(run_date=send_at), args=(key,), id=key, misfire_grace_time=3600
            )
        return time.perf_counter() - start
    finally:
        scheduler.shutdown(wait=False)


def profile_first_sync(config: Path, url: str) -> None:
    """cProfile of a first sync into a fresh database (separate from the timed run)."""
    settings = bench_settings(url, config)
    engine = open_store(url)
    deployment = load_config(config)
    profiler = cProfile.Profile()
    profiler.runcall(sync, engine, deployment, settings, TODAY)
    engine.dispose()
    print("\ncProfile of a first sync into a fresh database (times include profiler overhead):")
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(10)
    stats.sort_stats("tottime").print_stats(10)


# --- report -----------------------------------------------------------------


def print_figures(r: Results, shape: Shape, scale: float, lifetimes: bool) -> None:
    first, again = r.first or SyncReport(), r.again or SyncReport()
    print(
        f"\n=== {r.backend} ===\nScale {scale:g}: {PROVINCES} provinces, {sum(shape.agencies):,} provincial "
        f"agencies, {sum(shape.communes):,} communes = {shape.total_agencies:,} agencies x {len(DEADLINES)} "
        f"obligations x {REMINDERS_PER_OCCURRENCE} reminders per occurrence"
    )
    expected = "" if lifetimes else f" (expected {shape.expected_reminders:,})"
    print(f"Reminders in the outbox after the first sync: {r.reminders:,}{expected}")
    print(
        f"Occurrences: {r.occurrences:,}, {r.named:,} stored with their names; {r.successors:,} after the "
        "mergers of 30/06 (the successors' share)"
    )
    print(
        f"First sync report: occurrences added {first.occurrences_added:,}, reminders added "
        f"{first.added:,}, already past {first.already_past:,}"
    )
    print(
        f"Re-sync report: writes {again.writes} (added {again.added}, updated {again.updated}, "
        f"cancelled {again.cancelled})\n"
    )
    for name, seconds in r.phases.items():
        median = " (median round)" if name.startswith("re-sync") else ""
        print(f"  {name:<28} {seconds:9.3f} s{median}")
    rounds = ", ".join(f"{t:.2f}" for t in r.resync_rounds)
    print(
        f"  {'re-sync total':<28} {r.resync_total:9.3f} s (median of {len(r.resync_rounds)} rounds: {rounds})"
    )
    print(
        f"  first sync: {r.reminders / r.phases['first sync']:,.0f} reminders/s, {r.ours_us:.1f} µs/reminder "
        f"({r.ours_with_load_us:.1f} µs counting the config load)"
    )
    print(f"  peak memory (ru_maxrss, the highest of its processes): {r.peak_mb:.0f} MB\n")
    if not r.peer_seconds:
        return
    print("  peer: one APScheduler 3 DateTrigger job per reminder, SQLAlchemyJobStore on SQLite")
    for variant in r.peer_seconds:
        total = r.peer_us(variant) * r.reminders / 1e6
        print(
            f"    {variant}: measured {r.peer_sample:,} jobs in {r.peer_seconds[variant]:.2f} s = "
            f"{r.peer_us(variant):.1f} µs/job; extrapolated to {r.reminders:,} reminders: "
            f"{total:,.0f} s ({total / 60:.1f} min) [EXTRAPOLATED, not measured]"
        )


def print_goals(all_results: list[Results]) -> list[str]:
    """Print the goal table and the ratios; return the goals that were not met."""
    # The goal is against the naive peer as APScheduler opens its file; the tuned peer is
    # printed below for reference, to show how much of the gap is fsync cost.
    r = all_results[0]  # SQLite, where the peer ran
    ratio = r.peer_us(PEER_DEFAULT) / r.ours_us
    rows = [
        (
            f"speed-up vs naive peer ({PEER_DEFAULT})",
            f"{ratio:.1f}x",
            f">= {GOAL_RATIO:g}x",
            ratio >= GOAL_RATIO,
        )
    ]
    for b in all_results:
        rows += [
            (
                f"{b.backend}: no-change re-sync (median)",
                f"{b.resync_total:.2f} s",
                f"< {GOAL_RESYNC_S:g} s",
                b.resync_total < GOAL_RESYNC_S,
            ),
            (
                f"{b.backend}: peak memory (ru_maxrss)",
                f"{b.peak_mb:.0f} MB",
                f"< {GOAL_PEAK_MB:g} MB",
                b.peak_mb < GOAL_PEAK_MB,
            ),
            (
                f"{b.backend}: re-sync writes nothing",
                str(b.again.writes if b.again else "?"),
                "0",
                bool(b.again) and b.again.writes == 0,
            ),
        ]
    if len(all_results) > 1:
        a, b = all_results[0], all_results[1]
        print(
            f"\n  first sync: {a.backend} {a.phases['first sync']:.1f} s, {b.backend} {b.phases['first sync']:.1f} s"
        )
    missed = goal_table(rows, (50, 10, 10))
    print(f"\n  ratio peer µs/reminder / ours µs/reminder (peer extrapolated from {r.peer_sample:,} jobs):")
    for variant in r.peer_seconds:
        print(
            f"    {variant}: {r.peer_us(variant) / r.ours_us:.1f} "
            f"({r.peer_us(variant) / r.ours_with_load_us:.1f} counting our config load)"
        )
    return missed


def spreadsheet_import(scale: float, lifetimes: bool) -> list[str]:
    """bench_agencies.py on the same national size and mergers (its own processes, its own
    figures): the export of all agencies and their import from .xlsx and .csv, with the round
    trip checked."""
    print("\n=== spreadsheet import of every agency (bench/bench_agencies.py) ===", flush=True)
    extra = [] if lifetimes else ["--no-lifetimes"]
    done = subprocess.run(
        [sys.executable, str(Path(__file__).with_name("bench_agencies.py")), "--scale", str(scale), *extra],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[1],
    )
    print(done.stdout.rstrip() or done.stderr[-800:])
    return [] if "NOT met" not in done.stdout and done.returncode == 0 else ["spreadsheet import"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scale", type=float, default=1.0, help="fraction of the national size (default 1.0)"
    )
    parser.add_argument("--peer-sample", type=int, default=10_000, help="reminders added as APScheduler jobs")
    parser.add_argument(
        "--profile", action="store_true", help="also print a cProfile summary of a first sync"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (config and DBs)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the no-change re-sync (median)")
    parser.add_argument(
        "--no-lifetimes", action="store_true", help="no mergers (the configuration of earlier figures)"
    )
    parser.add_argument(
        "--postgres",
        default=POSTGRES_ADMIN_URL,
        help="the PostgreSQL server's admin URL; 'none' to measure SQLite only",
    )
    parser.add_argument(
        "--no-sheets", action="store_true", help="skip the spreadsheet import (bench_agencies)"
    )
    args = parser.parse_args()

    shape = make_shape(args.scale)
    with session("nhacviec-bench-", args.keep) as run:
        root = run.root
        lifetimes = not args.no_lifetimes
        config, seconds = timed(lambda: write_national_config(root, shape, lifetimes))
        print(f"Wrote the synthetic configuration to {config} in {seconds:.2f} s")
        url = f"sqlite:///{root / 'nhacviec.db'}"
        all_results = [measure("SQLite", url, config, args.rounds)]
        if args.postgres != "none":
            with postgres_database(args.postgres) as pg_url:
                if pg_url is not None:
                    all_results.append(measure("PostgreSQL", pg_url, config, args.rounds))
        results = all_results[0]
        engine = make_engine(url)
        sample = sample_reminders(engine, args.peer_sample)
        engine.dispose()
        results.peer_sample = len(sample)
        for i, variant in enumerate((PEER_DEFAULT, PEER_WAL)):
            results.peer_seconds[variant] = measure_peer(
                f"sqlite:///{root / f'apscheduler-{i}.db'}", sample, variant
            )
        for each in all_results:
            print_figures(each, shape, args.scale, lifetimes)
        run.missed = print_goals(all_results)
        if not args.no_sheets:
            run.missed += spreadsheet_import(args.scale, lifetimes)
        if args.profile:
            profile_first_sync(config, f"sqlite:///{root / 'profile.db'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
