"""Benchmark: what the dispatcher's own parts cost, measured in one process against raw httpx.

`bench_channels.py` compares the daemon, a process of its own, with a raw client, one
after the other. This one runs both in this process, in turn, many short times: the raw
client of `bench_channels.replay`, then the real `Dispatcher` (claims, rendering,
notifier, recording) on a fresh copy of a synced SQLite outbox, then the raw client
again, and so on. Interleaving cancels most of the CPU's drift over minutes, and
stubbing one part shows what that part costs where it runs, among the sends:

- `--stub recording`: `SendRecorder._commit` forgets the sends instead of writing them;
- `--stub rendering`: each message is the first one rendered, with the row's key and
  recipient (no context, link, template or fields per message).

Printed per round: the CPU per message of each side and their ratio; at the end the
ratio of the sums. Rounds are short (`--n` messages), so the ratio of the sums is the
figure to read. The script always exits 0.

    .venv/bin/python bench/bench_dispatch_parts.py --channel sms
    .venv/bin/python bench/bench_dispatch_parts.py --channel zalo --stub recording
    .venv/bin/python bench/bench_dispatch_parts.py --channel zalo --stub recording,rendering
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import gc
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import bench_channels as bc
from common import BENCH_SECRET, today_local

from scheduler.config.settings import Settings, load_settings
from scheduler.dispatch.dispatcher import Dispatcher
from scheduler.outbox.recorder import journal_path
from scheduler.service.channels import build_notifiers

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the synthetic configurations
from tests.support.configs import ESMS_PATH, write_channel_config

STUBS = ("recording", "rendering")


def cpu_per_message(run: Callable[[], Any], n: int) -> float:
    """µs of this process's CPU per message."""
    gc.collect()
    start = time.process_time()
    run()
    return (time.process_time() - start) / n * 1e6


def stub(dispatcher: Dispatcher, parts: set[str]) -> None:
    if "recording" in parts:
        recorder = dispatcher.recorder
        recorder._commit = recorder._pending.clear  # type: ignore[method-assign]
    if "rendering" in parts:
        render, first = dispatcher._message, []

        def same_message(row: Any, occurrences: Any, threads: Any) -> Any:
            if not first:
                first.append(render(row, occurrences, threads))
            return dataclasses.replace(first[0], key=row.key, recipient=row.recipient)

        dispatcher._message = same_message  # type: ignore[method-assign]


def dispatch(
    database: Path, env: dict[str, str], deployment: Any, config: Path, parts: set[str]
) -> Callable[[], None]:
    """The dispatcher on this outbox, ready to send everything due (set-up is not measured)."""
    settings: Settings = load_settings(
        env={**env, "NHACVIEC_DATABASE_URL": f"sqlite:///{database}"}, dotenv=False
    )
    engine = bc.open_store(settings.database_url)
    notifiers = build_notifiers(settings, deployment, engine)
    links = bc.Links(BENCH_SECRET, settings.public_url, 60)
    builder = bc.MessageBuilder(deployment, bc.Templates(config / "templates"), links, bc.TZ)
    dispatcher = Dispatcher(
        engine, builder, notifiers, settings, "bench", journal=journal_path(settings.database_url)
    )  # as the daemon
    stub(dispatcher, parts)

    async def run() -> None:
        try:
            await dispatcher.run()
        finally:
            for notifier in notifiers.values():
                await notifier.aclose()

    def send_all() -> None:
        try:
            asyncio.run(run())
        finally:
            engine.dispose()

    return send_all


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--channel", choices=("zalo", "sms"), default="sms")
    parser.add_argument("--n", type=int, default=2000, help="messages per round and side (2000)")
    parser.add_argument("--rounds", type=int, default=6, help="rounds, raw then dispatcher (6)")
    parser.add_argument("--stub", default="", help=f"comma-separated parts to stub: {', '.join(STUBS)}")
    args = parser.parse_args()
    parts = {part.strip() for part in args.stub.split(",") if part.strip()}
    if parts - set(STUBS):
        parser.error(
            f"unknown part(s) {', '.join(sorted(parts - set(STUBS)))}; choose from {', '.join(STUBS)}"
        )
    n, channel = max(5, args.n - args.n % 5), args.channel
    root = Path(tempfile.mkdtemp(prefix="nhacviec-bench-parts-"))
    try:
        with ExitStack() as stack:
            urls = {"zalo": stack.enter_context(bc.serve("tests.doubles.zalo:app")),
                    "sms": stack.enter_context(bc.serve("tests.doubles.esms:app"))}  # fmt: skip
            if channel == "zalo":
                double = bc.Double("zalo", urls["zalo"], "/message/template", "tracking_id")
            else:
                double = bc.Double("sms", urls["sms"], ESMS_PATH, "RequestId")
            samples = bc.sample_requests(root / "samples", channel, double, urls)
            config = write_channel_config(root / "base", n // 5, channel, urls, None)
            synced = root / "base" / "nhacviec.db"
            env = {
                "NHACVIEC_CONFIG_DIR": str(config), "NHACVIEC_DELIVERY": "live",
                "NHACVIEC_QUIET_HOURS": "00:00-00:00", "NHACVIEC_SECRET_KEY": BENCH_SECRET,
                **bc.channel_env(channel),
            }  # fmt: skip
            engine = bc.open_store(f"sqlite:///{synced}")
            deployment = bc.load_config(config)
            settings = load_settings(
                env={**env, "NHACVIEC_DATABASE_URL": f"sqlite:///{synced}"}, dotenv=False
            )
            bc.sync(engine, deployment, settings, today_local())
            engine.dispose()
            if channel == "zalo":
                bc.seed_token(f"sqlite:///{synced}")
            print(
                f"{channel}: {args.rounds} rounds of {n:,} messages each side; stubbed: "
                f"{', '.join(sorted(parts)) or 'nothing'}"
            )
            totals = [0.0, 0.0]
            for r in range(args.rounds):
                double.reset()
                raw = cpu_per_message(lambda: asyncio.run(bc.replay(double, samples, n)), n)
                database = root / f"round-{r}.db"
                shutil.copy(synced, database)
                double.reset()
                ours = cpu_per_message(dispatch(database, env, deployment, config, parts), n)
                sent = len(double.records())
                totals[0], totals[1] = totals[0] + raw, totals[1] + ours
                print(
                    f"  round {r + 1}: raw {raw:,.0f} µs/msg, dispatcher {ours:,.0f} µs/msg "
                    f"({sent:,} sent): raw / dispatcher {raw / ours:.0%}",
                    flush=True,
                )
            print(f"raw / dispatcher, CPU per message over all rounds: {totals[0] / totals[1]:.0%}")
    except Exception as exc:  # a benchmark never fails the build
        print(f"\nBENCHMARK ERROR: {type(exc).__name__}: {exc}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
