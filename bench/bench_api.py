"""Benchmark: the JSON API's list calls (scheduler/api/) on the national deployment of
bench_board.py, SQLite and PostgreSQL in the same run.

The data is bench_board.py's, built by its functions (35 plans, 4,341 agencies, one national plan
whose deadlines name every agency, the year so far and a year of history: ~1M outbox rows at full
scale). Measured in-process, as bench_board measures pages: the ASGI app of the API called
directly in this thread with an admin's read token (`Authorization: Bearer`), the clock frozen at
"today", `--rounds` requests per call after a warm-up. Each call is paginated as a client pages
(`limit`, `offset`): the first page and a deep one. Figures: p50 and p95; goal p95 <= 300 ms (the
board's). Always exits 0: benchmarks never fail the build.

    .venv/bin/python bench/bench_api.py                # full scale, both databases
    .venv/bin/python bench/bench_api.py --scale 0.05   # quick smoke run
    .venv/bin/python bench/bench_api.py --postgres none
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import time_machine
from bench_board import AGENCY, MEASURED_ITEM, NATIONAL, NOW, TODAY, build, count, write_config
from common import AsgiClient, databases, goal_table, national_options, percentile, session
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scheduler.accounts.tokens import Scope, create_token
from scheduler.accounts.users import Role, add_user
from scheduler.api.app import create_api
from scheduler.api.paging import make_cursor
from scheduler.config.loader import load_config
from scheduler.config.settings import load_settings
from tests.support.accounts import PASSWORD
from tests.support.configs import PLAN_YEAR

GOAL_P95_MS = 300.0


@dataclass
class Call:
    name: str
    path: str
    ms: list[float] = field(default_factory=list)
    status: int = 0
    size: int = 0


def calls() -> list[Call]:
    deadline = f"/plans/{NATIONAL}/deadlines/{MEASURED_ITEM}/{PLAN_YEAR}"
    start, end = TODAY - timedelta(days=180), TODAY + timedelta(days=180)
    return [
        Call("plans", "/plans"),
        Call("a plan's deadlines (default period)", f"/plans/{NATIONAL}/deadlines"),
        Call("a plan's deadlines (a year)", f"/plans/{NATIONAL}/deadlines?from={start}&to={end}"),
        Call("deadline, first 100 agencies", f"{deadline}?limit=100"),
        Call("deadline, 500 at offset 3,800", f"{deadline}?limit=500&offset=3800"),
        Call("deadline, overdue only", f"{deadline}?status=overdue&limit=100"),
        Call("agencies, 500 at offset 3,800", "/agencies?limit=500&offset=3800"),
        Call("an agency with its deadlines", f"/agencies/{AGENCY}"),
        Call("reminders, first 100", "/reminders?limit=100"),
        Call("reminders, 100 at offset 100,000", "/reminders?limit=100&offset=100000"),
        Call("reminders, 100 after a deep cursor", "/reminders?limit=100&cursor=CURSOR"),
        Call("reminders, dead, first 100", "/reminders?status=dead&limit=100"),
        Call(
            "reminders of a plan in a month",
            f"/reminders?plan_id={NATIONAL}&from={TODAY}&to={TODAY + timedelta(days=30)}",
        ),
        Call("reminders of an agency", f"/reminders?agency_id={AGENCY}&limit=100"),
    ]


def run_backend(name: str, url: str, config: Path, rounds: int) -> tuple[str, list[Call]]:
    engine, _ = build(url, config)
    occurrences, reminders = count(engine)
    add_user(engine, "quantri", "Quản trị viên", Role.ADMIN, PASSWORD)
    _, token = create_token(engine, "bench", Scope.READ, "quantri")
    settings = load_settings(env={"NHACVIEC_DATABASE_URL": url, "NHACVIEC_CONFIG_DIR": str(config)})
    deployment = load_config(config)
    api = create_api(engine, lambda: deployment, settings.timezone, rate_per_minute=10**9)
    measured = calls()
    with engine.connect() as conn:  # the position of the 100,001st newest reminder
        deep = conn.execute(text("SELECT id FROM reminder ORDER BY id DESC LIMIT 1 OFFSET 100000")).scalar()
    for call in measured:
        call.path = call.path.replace("CURSOR", make_cursor(deep or 1))
    with time_machine.travel(NOW, tick=False):
        client = AsgiClient(api, {"authorization": f"Bearer {token}"})
        for call in measured:
            for _ in range(2):
                client.get(call.path)
            for _ in range(rounds):
                start = time.perf_counter()
                call.status, call.size, _ = client.get(call.path)
                call.ms.append((time.perf_counter() - start) * 1000)
        client.close()
    engine.dispose()
    return f"{name}: {occurrences:,} occurrences, {reminders:,} reminders", measured


def main() -> int:
    args = national_options(__doc__, rounds=20, per="call").parse_args()
    with session("nhacviec-bench-api-", args.keep) as run:
        config = write_config(run.root, args.scale)
        results = [
            run_backend(name, url, config, args.rounds) for name, url, _ in databases(run.root, args.postgres)
        ]
        table: list[tuple[str, str, str, bool | None]] = []
        for title, measured in results:
            print(f"\n=== {title} ===")
            print(f"  {'call':<40} {'HTTP':>4} {'KB':>6} {'p50':>8} {'p95':>8}")
            for c in measured:
                p50, p95 = percentile(c.ms, 50), percentile(c.ms, 95)
                print(f"  {c.name:<40} {c.status:>4} {c.size / 1024:>6.0f} {p50:>6.1f}ms {p95:>6.1f}ms")
                table.append(
                    (
                        f"{title.split(':')[0]}: {c.name}, p95",
                        f"{p95:.0f} ms",
                        f"<= {GOAL_P95_MS:g} ms",
                        c.status == 200 and p95 <= GOAL_P95_MS,
                    )
                )
        run.missed = goal_table(table, (56, 9, 9))
    return 0


if __name__ == "__main__":
    sys.exit(main())
