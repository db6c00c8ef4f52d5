"""Benchmark: calendar feeds (issue 17) on the national deployment of bench_board.py, SQLite and
PostgreSQL in the same run: time and peak memory of building an agency's feed and a plan's feed,
and the server time of `/lich/<token>.ics` (200 and 304).

The data is bench_board.py's (34 provinces, 4,341 agencies, 34 provincial plans × 10 deadlines and
one national plan whose three deadlines name every agency; synced as of 1/1/2027, the year so far
sent and confirmed, and a year of history: ~1M reminders), "today" Monday 21/06/2027 09:00.

Measured, `--rounds` times after a warm-up:

- **agency feed**: `p01-xa-001` (its province's plan and the national plan: 13 deadlines a year,
  the feed over the plans' validity) — `scheduler.feeds.content.body`, then the request;
- **national plan feed**: `quoc-gia-2027-bench`, 3 deadlines × 4,341 agencies, its progress counted
  by one grouped query;
- **a provincial plan's feed**: `p01-…`;
- **304**: the agency feed asked with its ETag (If-None-Match): the body is still built (the
  ETag is its hash), only not sent.

Peak memory: `tracemalloc` around one build of each feed (Python allocations, the driver's
included). Goals: p95 ≤ 300 ms per request, peak ≤ 50 MB per build. The script prints the
verdicts and exits 0: benchmarks never fail the build.

    .venv/bin/python bench/bench_feeds.py                # full scale, both databases (~3 min)
    .venv/bin/python bench/bench_feeds.py --scale 0.05   # quick smoke run
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path

import time_machine
from bench_board import AGENCY, NATIONAL, NOW, TODAY, build, count, write_config
from common import AsgiClient, databases, goal_table, national_options, percentile, session
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from zoneinfo import ZoneInfo

from scheduler.config.loader import load_config
from scheduler.feeds.content import body
from scheduler.outbox import feeds
from scheduler.outbox.feeds import FeedKind
from scheduler.render.links import Links
from tests.support.accounts import web_app
from tests.support.dispatch_kit import SECRET
from tests.support.settings import make_settings

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
GOAL_P95_MS = 300.0
GOAL_PEAK_MB = 50.0


@dataclass
class Measured:
    name: str
    events: int = 0
    size: int = 0
    build_ms: list[float] = field(default_factory=list)
    request_ms: list[float] = field(default_factory=list)
    not_modified_ms: list[float] = field(default_factory=list)
    peak_mb: float = 0.0


@dataclass
class Backend:
    name: str
    rows: tuple[int, int] = (0, 0)
    feeds: list[Measured] = field(default_factory=list)


def run_backend(name: str, url: str, root: Path, config: Path, rounds: int) -> Backend:
    result = Backend(name)
    engine, seconds = build(url, config)
    result.rows = count(engine)
    print(
        f"[{name}: {result.rows[0]:,} occurrences, {result.rows[1]:,} reminders; sync {seconds['first sync']:.0f} s]",
        flush=True,
    )
    deployment = load_config(config)
    province_plan = next(p.id for p in deployment.plans if p.id.startswith("p01-"))
    national = len(deployment.resolve(next(p for p in deployment.plans if p.id == NATIONAL).participants))
    targets = [
        (f"agency feed ({AGENCY})", FeedKind.AGENCY, AGENCY),
        (f"plan feed ({NATIONAL}, {national:,} agencies)", FeedKind.PLAN, NATIONAL),
        (f"plan feed ({province_plan})", FeedKind.PLAN, province_plan),
    ]
    settings = make_settings(root, config, url)
    links = Links(SECRET, settings.public_url, settings.link_days)
    app = web_app(root, config, engine)
    with time_machine.travel(NOW, tick=False), TestClient(app):  # the app's lifespan
        server = AsgiClient(app)
        for label, kind, target in targets:
            measured = Measured(label)
            feed = feeds.get_or_create(engine, kind, target, "bench")
            path = links.feed_url(feed.id, feed.nonce).split("://", 1)[1]
            path = "/" + path.split("/", 1)[1]
            tracemalloc.start()
            built = body(engine, deployment, kind, target, TODAY, TZ)
            measured.peak_mb = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            measured.events, measured.size = built.ics.count(b"BEGIN:VEVENT"), len(built.ics)
            etag = server.get(path).header("etag")  # warm-up
            assert etag is not None, "the feed has no ETag"
            for _ in range(rounds):
                start = time.perf_counter()
                body(engine, deployment, kind, target, TODAY, TZ)
                measured.build_ms.append((time.perf_counter() - start) * 1000)
                start = time.perf_counter()
                status = server.get(path).status
                measured.request_ms.append((time.perf_counter() - start) * 1000)
                assert status == 200, status
            for _ in range(rounds):
                start = time.perf_counter()
                status = server.get(path, {"if-none-match": etag}).status
                measured.not_modified_ms.append((time.perf_counter() - start) * 1000)
                assert status == 304, status
            result.feeds.append(measured)
        server.close()
    engine.dispose()
    return result


def main() -> int:
    args = national_options(__doc__, rounds=20, per="feed").parse_args()
    with session("nhacviec-bench-feeds-", args.keep) as run:
        config = write_config(run.root, args.scale)
        backends = [
            run_backend(name, url, root, config, args.rounds)
            for name, url, root in databases(run.root, args.postgres)
        ]
        rows: list[tuple[str, str, str, bool | None]] = []
        for b in backends:
            print(f"\n{b.name} ({b.rows[0]:,} occurrences, {b.rows[1]:,} reminders), ms p50 / p95:")
            for m in b.feeds:
                print(
                    f"  {m.name}: {m.events} events, {m.size / 1024:.0f} KB; build "
                    f"{percentile(m.build_ms, 50):.1f} / {percentile(m.build_ms, 95):.1f}; request "
                    f"{percentile(m.request_ms, 50):.1f} / {percentile(m.request_ms, 95):.1f}; 304 "
                    f"{percentile(m.not_modified_ms, 50):.1f} / {percentile(m.not_modified_ms, 95):.1f}; "
                    f"peak {m.peak_mb:.1f} MB"
                )
                p95 = percentile(m.request_ms, 95)
                rows.append(
                    (f"{b.name} {m.name} p95", f"{p95:.0f} ms", f"≤ {GOAL_P95_MS:.0f} ms", p95 <= GOAL_P95_MS)
                )
                rows.append(
                    (
                        f"{b.name} {m.name} peak",
                        f"{m.peak_mb:.1f} MB",
                        f"≤ {GOAL_PEAK_MB:.0f} MB",
                        m.peak_mb <= GOAL_PEAK_MB,
                    )
                )
        run.missed = goal_table(rows, (70, 10, 10))
    return 0


if __name__ == "__main__":
    sys.exit(main())
