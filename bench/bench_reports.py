"""Benchmark: "Bảng theo dõi tình hình báo cáo" of a plan's national year (4,341 agencies × 10
deadlines = 43,410 rows) as .xlsx and .csv, SQLite and PostgreSQL in the same run.

The data, the same on both databases: the synthetic national configuration of bench_sync.py
(tests/support/configs.py, 4,341 agencies) plus one national plan whose ten yearly deadlines
(the configuration's DEADLINES) name every agency; its occurrences inserted directly (no sync:
the report reads occurrences and counts reminders, it does not plan): of the deadlines before
"today" (21/06/2027), 80 % confirmed in time, 8 % late (half with the report's number and date),
the rest overdue; the reminders 14, 7 and 3 days before each deadline, those before today sent
(one in a hundred of the last dead).

Measured, each in a forked process so that its peak memory is its own (the growth of the
resident set over the process's start, ru_maxrss):

- the report's rows: `tracking.year_report` (the occurrences' query, the reminders' GROUP BY,
  a status per row through `status.Statuses`);
- the rows + the .xlsx (openpyxl write-only, two sheets), written to a file;
- the rows + the .csv.

The tables are ANALYZEd after loading, as autovacuum would have: without statistics, right after
a bulk load, PostgreSQL joins the reminders sent to the plan's occurrences with a nested loop
over the (status, send_at) index, ~50 s at full scale instead of ~0.1 s.

Goals (issue 17: "exported in seconds"): the .xlsx within 10 s and 400 MB of growth. Figures
are printed; the script always exits 0.

    .venv/bin/python bench/bench_reports.py                # both databases, full scale
    .venv/bin/python bench/bench_reports.py --scale 0.1    # quick smoke run
    .venv/bin/python bench/bench_reports.py --postgres none
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench_board import national_plan
from common import databases, goal_table, national_options, session

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/support: configs
from sqlalchemy import Engine, insert, text

from scheduler.config.loader import load_config
from scheduler.config.settings import load_settings
from scheduler.outbox.store import Occurrence, OccurrenceStatus, Reminder, Status, open_store
from scheduler.reports import tracking
from scheduler.reports.csvfile import csv_bytes
from scheduler.reports.xlsx import write_xlsx
from tests.support.configs import DEADLINES, PLAN_YEAR, make_shape, write_national_config

NATIONAL = f"quoc-gia-{PLAN_YEAR}-bao-cao"
TODAY = date(PLAN_YEAR, 6, 21)
GOAL_SECONDS = 10.0
GOAL_MB = 400.0
BATCH = 5000


def fill(engine: Engine, agencies: list[str]) -> tuple[int, int]:
    """The national plan's occurrences and their reminders; (occurrences, reminders)."""
    occ, rem = Occurrence.__table__, Reminder.__table__
    occurrences: list[dict[str, Any]] = []
    reminders: list[dict[str, Any]] = []
    stamp = datetime(PLAN_YEAR, 1, 1, tzinfo=UTC)
    for d, day_month in enumerate(DEADLINES, start=1):
        day, month = (int(part) for part in day_month.split("/"))
        due = date(PLAN_YEAR, month, day)
        for n, agency_id in enumerate(agencies):
            key = f"{NATIONAL}/tong-hop-{d:02d}/{PLAN_YEAR}/{agency_id}"
            roll = (n * 7919 + d * 104729) % 100
            row: dict[str, Any] = {
                "key": key, "plan_id": NATIONAL, "item_id": f"tong-hop-{d:02d}", "kind": "deadline",
                "period": str(PLAN_YEAR), "agency_id": agency_id, "title": f"Báo cáo tổng hợp toàn quốc số {d:02d}",
                "start_date": due, "end_date": due, "status": OccurrenceStatus.OPEN, "fingerprint": "bench",
                "updated_at": stamp, "confirmed_at": None, "confirmed_by": None, "report_number": None,
                "report_date": None,
            }  # fmt: skip
            if due < TODAY and roll < 88:
                late = roll >= 80
                at = datetime.combine(due + timedelta(days=3 if late else -1), datetime.min.time(), UTC)
                row |= {"status": OccurrenceStatus.SUBMITTED, "confirmed_at": at + timedelta(hours=2),
                        "confirmed_by": "Cán bộ đầu mối"}  # fmt: skip
                if roll % 2:
                    row |= {"report_number": f"{n + 1}/BC-UBND", "report_date": at.date()}
            occurrences.append(row)
            for r, before in enumerate((14, 7, 3)):
                send = datetime.combine(due - timedelta(days=before), datetime.min.time(), UTC) + timedelta(
                    hours=1
                )
                if send.date() >= TODAY:
                    continue
                dead = r == 2 and roll == 99
                reminders.append(
                    {
                        "key": f"{d:02d}{n:05d}{r}", "occurrence_key": key, "contact_key": f"{agency_id}/dau-moi",
                        "channel": "email", "rung": f"-{before}d", "kind": "upcoming", "recipient": "x@example.org",
                        "due_date": due, "send_at": send, "status": Status.DEAD if dead else Status.SENT,
                        "attempts": 1, "sent_at": None if dead else send, "created_at": stamp, "updated_at": send,
                    }
                )  # fmt: skip
    with engine.begin() as conn:
        for start in range(0, len(occurrences), BATCH):
            conn.execute(insert(occ), occurrences[start : start + BATCH])
        for start in range(0, len(reminders), BATCH):
            conn.execute(insert(rem), reminders[start : start + BATCH])
    with engine.connect() as conn:  # statistics, as autovacuum (or SQLite's optimize) keeps them
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    return len(occurrences), len(reminders)


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def measure(what: str, url: str, config: Path, out: Path, result: Any) -> None:
    """In a forked child: load the configuration, then time `what`; send (seconds, MB, size)."""
    settings = load_settings(env={"NHACVIEC_DATABASE_URL": url, "NHACVIEC_CONFIG_DIR": str(config)})
    deployment = load_config(config, settings, today=TODAY)
    plan = next(p for p in deployment.plans if p.id == NATIONAL)
    engine = open_store(url)
    base = rss_mb()
    start = time.perf_counter()
    report = tracking.year_report(engine, deployment, plan, PLAN_YEAR, TODAY, settings.timezone)
    size = 0
    if what == "xlsx":
        write_xlsx(report, out)
        size = out.stat().st_size
    elif what == "csv":
        data = csv_bytes(report)
        out.write_bytes(data)
        size = len(data)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3  # kB → MB
    result.send((seconds, max(0.0, peak - base), size, len(report.lines)))
    engine.dispose()


def run_backend(name: str, url: str, config: Path, root: Path) -> dict[str, tuple[float, float, int, int]]:
    settings = load_settings(env={"NHACVIEC_DATABASE_URL": url, "NHACVIEC_CONFIG_DIR": str(config)})
    deployment = load_config(config, settings, today=TODAY)
    engine = open_store(url)
    start = time.perf_counter()
    occurrences, reminders = fill(engine, list(deployment.agencies))
    engine.dispose()
    print(
        f"{name}: {occurrences:,} occurrences, {reminders:,} reminders in {time.perf_counter() - start:.1f} s"
    )
    figures = {}
    context = multiprocessing.get_context("fork")
    for what in ("rows", "xlsx", "csv"):
        parent, child = context.Pipe()
        process = context.Process(target=measure, args=(what, url, config, root / f"nam.{what}", child))
        process.start()
        figures[what] = parent.recv()
        process.join()
        seconds, mb, size, lines = figures[what]
        print(
            f"  {what:5} {seconds:6.2f} s  +{mb:6.0f} MB  {size / 1e6:5.1f} MB file  {lines:,} rows",
            flush=True,
        )
    return figures


def main() -> int:
    args = national_options(__doc__).parse_args()
    with session("nhacviec-bench-reports-", args.keep) as run:
        config = write_national_config(run.root, make_shape(args.scale))
        plan = national_plan(NATIONAL, DEADLINES, number="15/KH-BNV")
        (config / "plans" / f"{NATIONAL}.yaml").write_text(plan, encoding="utf-8")
        results = {
            name: run_backend(name, url, config, root)
            for name, url, root in databases(run.root, args.postgres)
        }
        rows: list[tuple[str, str, str, bool | None]] = []
        for name, figures in results.items():
            seconds, mb, _, _ = figures["xlsx"]
            rows.append(
                (
                    f"{name}: plan-year .xlsx time",
                    f"{seconds:.2f} s",
                    f"≤ {GOAL_SECONDS:g} s",
                    seconds <= GOAL_SECONDS,
                )
            )
            rows.append(
                (f"{name}: plan-year .xlsx memory", f"+{mb:.0f} MB", f"≤ {GOAL_MB:g} MB", mb <= GOAL_MB)
            )
        run.missed = goal_table(rows, (34, 10, 10))
    return 0


if __name__ == "__main__":
    sys.exit(main())
