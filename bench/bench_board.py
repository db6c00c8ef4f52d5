"""Benchmark: server time of the focal agency's board on a national deployment, SQLite and
PostgreSQL in the same run.

The data, built fast and the same on both databases:

- the synthetic national configuration of bench_sync.py (34 provinces, 4,341 agencies, one plan
  per province with 10 yearly deadlines), written as real YAML files, plus one national plan whose
  three deadlines (31/03, 15/06, 30/09/2027) name every one of the 4,341 agencies: the deadline
  page is measured on one of those;
- a first sync as of 1/1/2027 (every rung ahead: every reminder inserted);
- the year as it went, up to "today" = Monday 21/06/2027 09:00: every reminder whose time has
  passed is sent (one in 200 dead, with its error), and of every deadline up to 30 days ahead
  80 % of the agencies confirmed in time (one in two with the report's number and date), 8 % late
  and the rest not (Quá hạn once the deadline is past);
- a year of history: the whole of 2027's outbox copied, in SQL, as the same plans' 2026 edition
  (period 2026, every date a year earlier, every reminder sent, every report confirmed), which
  brings the outbox to ~1M rows (1,015,794 at full scale: 507,897 reminders a year).

Measured in-process (Starlette's TestClient against `create_app`, signed in as an admin, the
clock frozen at "today" with time-machine), `--rounds` requests per page after a warm-up:

- the deadline page (15/06/2027, the 4,341 agencies of the national plan, the first 200 shown);
- the plan overview (the national plan, its default period: 30 days back, 90 ahead) and the
  same over the whole of 2027 (its three deadlines, 13,023 occurrences);
- an agency page (a commune: 26 deadlines over two years, its history of reminders).

Beside each page, the bare SQL that reads its rows, timed alone: the same functions of
scheduler/outbox/board.py the page calls, with the same arguments (for the deadline page, the
reminders of the 200 agencies it shows). Figures: p50 and p95 of each, and the ratio of the
medians (page / SQL). Goals (issue 16): p95 ≤ 300 ms, and each page within 3× its SQL. The
script prints the verdicts and always exits 0: benchmarks never fail the build.

Run from the repository root:

    .venv/bin/python bench/bench_board.py                # full scale (~1M outbox rows, both DBs)
    .venv/bin/python bench/bench_board.py --scale 0.05   # quick smoke run
    .venv/bin/python bench/bench_board.py --profile      # + cProfile of the slowest page
    .venv/bin/python bench/bench_board.py --postgres none --keep
"""

from __future__ import annotations

import cProfile
import pstats
import statistics
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import time_machine
from common import AsgiClient, databases, goal_table, national_options, percentile, session
from sqlalchemy import Engine, bindparam, func, select, text, update
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/support: config, accounts
from scheduler.accounts.users import Role, add_user
from scheduler.config.loader import load_config
from scheduler.config.settings import load_settings
from scheduler.outbox import board as rows
from scheduler.outbox.store import Occurrence, OccurrenceStatus, Reminder, Status, open_store
from scheduler.outbox.sync import sync
from scheduler.web.board import HISTORY_LIMIT, PAGE_SIZE
from tests.support.accounts import PASSWORD, sign_in, web_app
from tests.support.configs import PLAN_YEAR, PROVINCES, make_shape, q, write_national_config

SYNC_DAY = date(PLAN_YEAR, 1, 1)  # the first sync: every rung ahead
TODAY = date(PLAN_YEAR, 6, 21)  # a Monday: deadlines behind and ahead
NOW = datetime(PLAN_YEAR, 6, 21, 2, 0, tzinfo=UTC)  # 09:00 in Vietnam
HORIZON_DAYS = 366
NATIONAL = f"quoc-gia-{PLAN_YEAR}-bench"
NATIONAL_DEADLINES = ("31/03", "15/06", "30/09")
MEASURED_ITEM, MEASURED_DAY = "tong-hop-02", date(PLAN_YEAR, 6, 15)  # 6 days behind TODAY
AGENCY = "p01-xa-001"  # in p01's plan and the national one
HISTORY_PERIOD = str(PLAN_YEAR - 1)

GOAL_P95_MS = 300.0
GOAL_RATIO = 3.0


# --- the data ------------------------------------------------------------------------------


def national_plan(
    plan_id: str = NATIONAL, deadlines: Sequence[str] = NATIONAL_DEADLINES, number: str | None = None
) -> str:
    """The YAML of a plan of the ministry whose every deadline names every agency of the country."""
    groups = ", ".join(f"p{i:02d}-{kind}" for i in range(1, PROVINCES + 1) for kind in ("so-nganh", "xa"))
    lines = [
        f"id: {plan_id}\n",
        *([f"number: {q(number)}\n"] if number else []),
        f"title: {q(f'Kế hoạch tổng hợp báo cáo toàn quốc năm {PLAN_YEAR}')}\n",
        f"issuer: {q('Bộ Nội vụ')}\n",
        f"year: {PLAN_YEAR}\n",
        "focal_agency: p01-so-01\n",
        f"participants: [{groups}]\n",
        "obligations:\n",
    ]
    for i, day in enumerate(deadlines, start=1):
        title = q(f"Báo cáo tổng hợp toàn quốc số {i:02d}")
        lines.append(f"  - {{id: tong-hop-{i:02d}, title: {title}, yearly: {day}, who: [{groups}]}}\n")
    return "".join(lines)


def write_config(root: Path, scale: float) -> Path:
    config = write_national_config(root, make_shape(scale))
    (config / "plans" / f"{NATIONAL}.yaml").write_text(national_plan(), encoding="utf-8")
    return config


def first_sync(url: str, config: Path) -> tuple[Engine, float]:
    settings = load_settings(
        env={
            "NHACVIEC_DATABASE_URL": url,
            "NHACVIEC_CONFIG_DIR": str(config),
            "NHACVIEC_HORIZON_DAYS": str(HORIZON_DAYS),
        }
    )
    start = time.perf_counter()
    engine = open_store(url)
    sync(engine, load_config(config), settings, SYNC_DAY)
    return engine, time.perf_counter() - start


def the_year_so_far(engine: Engine) -> None:
    """Reminders due before NOW sent (one in 200 dead); the deadlines up to 30 days ahead
    confirmed by 80 % in time and 8 % late, decided by a hash of the occurrence's key."""
    rem, occ = Reminder.__table__, Occurrence.__table__
    with engine.begin() as conn:
        conn.execute(
            update(rem)
            .where(rem.c.send_at < NOW, rem.c.id % 200 != 0)
            .values(status=Status.SENT, sent_at=rem.c.send_at, attempts=1)
        )
        conn.execute(
            update(rem)
            .where(rem.c.send_at < NOW, rem.c.id % 200 == 0)
            .values(
                status=Status.DEAD, attempts=1, last_error="550 5.1.1 hộp thư không tồn tại", updated_at=NOW
            )
        )
        found = conn.execute(
            select(occ.c.key, occ.c.start_date).where(occ.c.start_date <= TODAY + timedelta(days=30))
        ).all()
        confirmed = []
        for key, deadline in found:
            draw = zlib.crc32(key.encode()) % 100
            if draw >= 88:
                continue
            day = deadline - timedelta(days=2) if draw < 80 else deadline + timedelta(days=3)
            if day > TODAY:
                continue
            at = datetime(day.year, day.month, day.day, 2, 30, tzinfo=UTC)
            numbered = draw % 2 == 0
            confirmed.append(
                {
                    "k": key,
                    "at": at,
                    "by": "Cán bộ đầu mối",
                    "number": f"{draw + 1}/BC-UBND" if numbered else None,
                    "day": day - timedelta(days=1) if numbered else None,
                }
            )
        conn.execute(
            update(occ)
            .where(occ.c.key == bindparam("k"))
            .values(
                status=OccurrenceStatus.SUBMITTED,
                confirmed_at=bindparam("at"),
                confirmed_by=bindparam("by"),
                report_number=bindparam("number"),
                report_date=bindparam("day"),
            ),
            confirmed,
        )


def a_year_of_history(engine: Engine) -> None:
    """The outbox of PLAN_YEAR copied as the same plans' previous edition, in SQL: the period
    one year earlier, every date a year earlier, every reminder sent, every report confirmed."""
    period = f"/{PLAN_YEAR}/"
    earlier = f"/{HISTORY_PERIOD}/"
    if engine.dialect.name == "sqlite":  # dates are text: the year is the first four characters

        def back(column: str) -> str:
            return f"CASE WHEN {column} IS NULL THEN NULL ELSE '{HISTORY_PERIOD}' || substr({column}, 5) END"

        confirmed = f"'{HISTORY_PERIOD}' || substr(start_date, 5) || ' 02:30:00.000000'"
    else:

        def back(column: str) -> str:
            return f"({column} - interval '1 year')"

        confirmed = "(start_date - interval '1 year' + interval '2 hours 30 minutes')"
    occurrence = (
        "INSERT INTO occurrence (key, plan_id, item_id, kind, period, agency_id, title, start_date, "
        "end_date, status, fingerprint, confirmed_at, confirmed_by, updated_at, to_agency_id, via_agency_id, "
        "agency_name, plan_name, report_number, report_date, waived, extended_to) "
        f"SELECT replace(key, '{period}', '{earlier}'), plan_id, item_id, kind, '{HISTORY_PERIOD}', agency_id, "
        f"title, {back('start_date')}, {back('end_date')}, '{OccurrenceStatus.SUBMITTED}', fingerprint, "
        f"{confirmed}, 'Cán bộ đầu mối', updated_at, to_agency_id, via_agency_id, agency_name, plan_name, "
        "NULL, NULL, waived, NULL FROM occurrence"
    )
    reminder = (
        "INSERT INTO reminder (key, occurrence_key, contact_key, channel, rung, kind, recipient, due_date, "
        "send_at, ignore_quiet_hours, status, attempts, sent_at, created_at, updated_at, maybe_sent) "
        f"SELECT 'h' || substr(key, 2), replace(occurrence_key, '{period}', '{earlier}'), contact_key, channel, rung, "
        f"kind, recipient, {back('due_date')}, {back('send_at')}, ignore_quiet_hours, '{Status.SENT}', 1, "
        f"{back('send_at')}, created_at, {back('send_at')}, maybe_sent FROM reminder"
    )
    with engine.begin() as conn:
        conn.execute(text(occurrence))
        conn.execute(text(reminder))
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def count(engine: Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (
            conn.execute(select(func.count()).select_from(Occurrence.__table__)).scalar_one(),
            conn.execute(select(func.count()).select_from(Reminder.__table__)).scalar_one(),
        )


def build(url: str, config: Path) -> tuple[Engine, dict[str, float]]:
    """The first sync, the year so far and a year of history; the engine and each step's seconds."""
    seconds: dict[str, float] = {}
    engine, seconds["first sync"] = first_sync(url, config)
    start = time.perf_counter()
    the_year_so_far(engine)
    seconds["the year so far (sent, confirmed)"] = time.perf_counter() - start
    start = time.perf_counter()
    a_year_of_history(engine)
    seconds["a year of history (copy in SQL)"] = time.perf_counter() - start
    return engine, seconds


# --- the measurements ------------------------------------------------------------------------


@dataclass
class Page:
    name: str
    path: str
    sql: Callable[[], object]  # the queries the page runs, alone
    page_ms: list[float] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    status: int = 0
    size: int = 0

    def p(self, which: list[float], q: float) -> float:
        return percentile(which, q)

    @property
    def ratio(self) -> float:
        return statistics.median(self.page_ms) / statistics.median(self.sql_ms)


def pages(engine: Engine) -> list[Page]:
    deadline_path = f"/ke-hoach/{NATIONAL}/han/{MEASURED_ITEM}/{PLAN_YEAR}"
    year = (date(PLAN_YEAR, 1, 1), date(PLAN_YEAR, 12, 31))
    default = (TODAY - timedelta(days=30), TODAY + timedelta(days=90))
    # The page reads the reminders of the 200 agencies it shows (the first in its order: status,
    # then name); any 200 of the deadline's agencies make the same query.
    found = rows.deadline_occurrences(engine, NATIONAL, MEASURED_ITEM, str(PLAN_YEAR))
    keys = [row.key for row in found][:PAGE_SIZE]

    def deadline_sql() -> None:
        rows.deadline_occurrences(engine, NATIONAL, MEASURED_ITEM, str(PLAN_YEAR))
        rows.reminders_of(engine, keys[:PAGE_SIZE])

    def agency_sql() -> None:
        found = rows.agency_occurrences(engine, AGENCY)
        rows.agency_history(engine, AGENCY, sorted({r.plan_id for r in found}), HISTORY_LIMIT)

    return [
        Page(f"deadline page ({len(found):,} agencies)", deadline_path, deadline_sql),
        Page(
            "plan overview (default period)",
            f"/ke-hoach/{NATIONAL}",
            lambda: rows.plan_occurrences(engine, NATIONAL, *default),
        ),
        Page(
            "plan overview (the whole year)",
            f"/ke-hoach/{NATIONAL}?tu={year[0]}&den={year[1]}",
            lambda: rows.plan_occurrences(engine, NATIONAL, *year),
        ),
        Page("agency page", f"/don-vi/{AGENCY}", agency_sql),
    ]


def measure(page: Page, client: AsgiClient, rounds: int, warmup: int = 2) -> None:
    """Page and SQL alternately, so that both see the same machine load."""
    for _ in range(warmup):
        client.get(page.path)
        page.sql()
    for _ in range(rounds):
        start = time.perf_counter()
        page.status, page.size, _ = client.get(page.path)
        page.page_ms.append((time.perf_counter() - start) * 1000)
        start = time.perf_counter()
        page.sql()
        page.sql_ms.append((time.perf_counter() - start) * 1000)


@dataclass
class Backend:
    name: str
    occurrences: int = 0
    reminders: int = 0
    build_s: dict[str, float] = field(default_factory=dict)
    pages: list[Page] = field(default_factory=list)


def run_backend(name: str, url: str, root: Path, config: Path, rounds: int, profile: bool) -> Backend:
    result = Backend(name)
    engine, result.build_s = build(url, config)
    result.occurrences, result.reminders = count(engine)
    add_user(engine, "quantri", "Quản trị viên", Role.ADMIN, PASSWORD)
    print(
        f"[{name}: {result.occurrences:,} occurrences, {result.reminders:,} reminders; built in "
        + ", ".join(f"{k} {v:.1f} s" for k, v in result.build_s.items())
        + "]",
        flush=True,
    )
    app = web_app(root, config, engine)
    with time_machine.travel(NOW, tick=False), TestClient(app) as client:
        assert sign_in(client, "quantri").status_code == 200, "the admin could not sign in"
        cookie = "; ".join(f"{name}={value}" for name, value in client.cookies.items())
        server = AsgiClient(app, {"cookie": cookie})
        result.pages = pages(engine)
        for page in result.pages:
            measure(page, server, rounds)
        if profile:
            slowest = max(result.pages, key=lambda p: statistics.median(p.page_ms))
            profiler = cProfile.Profile()
            profiler.runcall(lambda: [server.get(slowest.path) for _ in range(5)])
            print(f"\ncProfile of 5 requests of the {slowest.name} on {name}:")
            stats = pstats.Stats(profiler)
            stats.sort_stats("cumulative").print_stats(14)
            stats.sort_stats("tottime").print_stats(12)
        server.close()
    engine.dispose()
    return result


# --- report -------------------------------------------------------------------------------------


def print_backend(b: Backend) -> None:
    print(f"\n=== {b.name}: {b.occurrences:,} occurrences, {b.reminders:,} reminders ===")
    print(
        f"  {'page':<34} {'HTTP':>4} {'KB':>5} {'p50':>8} {'p95':>8} {'SQL p50':>8} {'SQL p95':>8} {'ratio':>6}"
    )
    for p in b.pages:
        print(
            f"  {p.name:<34} {p.status:>4} {p.size / 1024:>5.0f} {p.p(p.page_ms, 50):>6.1f}ms "
            f"{p.p(p.page_ms, 95):>6.1f}ms {p.p(p.sql_ms, 50):>6.1f}ms {p.p(p.sql_ms, 95):>6.1f}ms "
            f"{p.ratio:>5.1f}x"
        )


def print_goals(backends: list[Backend]) -> list[str]:
    table: list[tuple[str, str, str, bool | None]] = []
    for b in backends:
        for p in b.pages:
            p95 = p.p(p.page_ms, 95)
            ok = p.status == 200
            table.append(
                (
                    f"{b.name}: {p.name}, p95",
                    f"{p95:.0f} ms",
                    f"<= {GOAL_P95_MS:g} ms",
                    ok and p95 <= GOAL_P95_MS,
                )
            )
            table.append(
                (
                    f"{b.name}: {p.name}, page / SQL",
                    f"{p.ratio:.1f}x",
                    f"<= {GOAL_RATIO:g}x",
                    ok and p.ratio <= GOAL_RATIO,
                )
            )
    return goal_table(table, (56, 9, 9))


def main() -> int:
    parser = national_options(__doc__, rounds=30, per="page")
    parser.add_argument("--profile", action="store_true", help="also a cProfile of the slowest page")
    args = parser.parse_args()

    with session("nhacviec-bench-board-", args.keep) as run:
        config = write_config(run.root, args.scale)
        shape = make_shape(args.scale)
        print(
            f"Scale {args.scale:g}: {shape.total_agencies:,} agencies, {PROVINCES} provincial plans x 10 "
            f"deadlines + 1 national plan x {len(NATIONAL_DEADLINES)} deadlines for every agency; "
            f"today {TODAY:%d/%m/%Y}, {args.rounds} requests per page",
            flush=True,
        )
        backends = [
            run_backend(name, url, root, config, args.rounds, args.profile)
            for name, url, root in databases(run.root, args.postgres)
        ]
        for b in backends:
            print_backend(b)
        run.missed = print_goals(backends)
    return 0


if __name__ == "__main__":
    sys.exit(main())
