"""`nhacviec run`: the long-running service.

One process holds an APScheduler `AsyncIOScheduler` and the HTTP server. The
scheduler times only the daemon's own few jobs — wake the dispatcher at the next
due reminder, extend the horizon each night, pick up configuration changes, the
morning digest — never one job per reminder: the outbox is the ledger.

SIGTERM (or Ctrl-C) stops claiming, lets in-flight sends finish within a grace
period, gives the rest back to the outbox and exits 0. SIGHUP reloads the
configuration at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import socket
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from notifiers.base import NotConfigured, Notifier, Setup
from notifiers.console import ConsoleNotifier
from notifiers.registry import channel_names, notifier_class
from scheduler.digest import enqueue_digests, operator_alerts
from scheduler.dispatcher import Dispatcher
from scheduler.links import Links, secret_key
from scheduler.loader import Deployment, load_config
from scheduler.messages import MessageBuilder
from scheduler.metrics import Metrics
from scheduler.settings import Settings
from scheduler.store import Reminder, Status, open_store, utcnow
from scheduler.sync import sync
from scheduler.templates import Templates
from scheduler.web import create_app
from scheduler.yamlfile import ConfigInvalid

log = logging.getLogger("nhacviec.daemon")

GRACE_SECONDS = 20.0
SAFETY_TICK = 300  # seconds; the dispatcher is woken at due times anyway
CONFIG_POLL = 10  # seconds
DEPTH_CACHE_SECONDS = 60


class AlreadyRunning(Exception):
    pass


@contextlib.contextmanager
def single_instance(database_url: str) -> Iterator[None]:
    """Refuse a second daemon on the same SQLite file (PostgreSQL coordinates by itself)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        yield
        return
    lock_path = Path(url.database).with_suffix(Path(url.database).suffix + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle: IO[str] = open(lock_path, "a+")  # noqa: SIM115 - held for the daemon's life
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise AlreadyRunning(
            f"một tiến trình nhacviec khác đang chạy trên {url.database} (khóa {lock_path}); "
            "hãy dừng tiến trình đó trước, hoặc dùng PostgreSQL để chạy nhiều tiến trình"
        ) from None
    try:
        yield
    finally:
        fcntl.flock(handle, fcntl.LOCK_UN)
        handle.close()


def build_notifiers(settings: Settings, deployment: Deployment, engine: Any) -> dict[str, Notifier]:
    """Console mode prints every channel. Live mode builds each channel in use through its
    plug-in; one that lacks a setting is left out with a warning, and its reminders wait."""
    if settings.delivery == "console":
        return dict.fromkeys(channel_names(), ConsoleNotifier())
    notifiers: dict[str, Notifier] = {}
    for name in sorted(channels_in_use(deployment)):
        cls = notifier_class(name)
        secrets = {key: settings.channel_env[key] for key in cls.secrets if key in settings.channel_env}
        try:
            notifiers[name] = cls.from_setup(
                Setup(channel_options(deployment, name), secrets, settings, engine)
            )
        except NotConfigured as exc:
            log.warning("channel not configured", extra={"channel": name, "reason": str(exc)})
    return notifiers


def channel_options(deployment: Deployment, name: str) -> Any:
    """The channel's validated options; NotConfigured when its notifier needs some and has none."""
    options = deployment.channel(name).options
    if options is None:
        raise NotConfigured(f"khai báo channels.{name}.options trong config/channels.yaml")
    return options


def channels_in_use(deployment: Deployment) -> set[str]:
    """The channels contacts, their fallbacks and policy rungs name."""
    used = {
        ch for contacts in deployment.contacts.values() for c in contacts for ch in (*c.channels, *c.fallback)
    }
    for policy in deployment.policies.values():
        for rung in (*policy.deadline, *policy.window, *policy.observance):
            used.update(rung.channels or ())
    for name in list(used):
        used.update(deployment.channel(name).spec.fallback)
    return used


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the daemon handles signals itself
        yield


def config_snapshot(config_dir: Path) -> tuple:
    return tuple(
        sorted((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in config_dir.rglob("*") if p.is_file())
    )


class Daemon:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.scheduler = AsyncIOScheduler(timezone=settings.timezone)
        self._dispatch_lock = asyncio.Lock()
        self._stop = asyncio.Event()
        self._depth: tuple[float, float] = (0.0, float("-inf"))  # (pending count, when counted)

    # --- lifecycle --------------------------------------------------------------

    async def run(self) -> int:
        s = self.settings
        self.engine = open_store(s.database_url)
        self.deployment = load_config(s.config_dir)
        self.templates = Templates(s.config_dir / "templates")
        self.links = Links(secret_key(s), s.public_url, s.link_days)
        self.notifiers = build_notifiers(s, self.deployment, self.engine)
        self.metrics = Metrics(self._outbox_depth, lambda: len(operator_alerts(self.engine, self.deployment)))
        self.builder = MessageBuilder(self.deployment, self.templates, self.links, s.timezone)
        self.dispatcher = Dispatcher(self.engine, self.builder, self.notifiers, s, self.worker, self.metrics)
        if make_url(s.database_url).get_backend_name() == "sqlite":
            released = self.dispatcher.release_claims()  # we hold the lock: every claim is orphaned
            if released:
                log.info("released claims of a stopped process", extra={"count": released})
        unserved = sorted(channels_in_use(self.deployment) - set(self.notifiers))
        if unserved:
            log.warning("channels without a notifier stay pending", extra={"channels": unserved})
        self._snapshot = config_snapshot(s.config_dir)
        self._sync()

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(self.reload()))

        self._add_jobs()
        self.scheduler.start()
        app = create_app(
            self.engine,
            lambda: self.deployment,
            self.links,
            self.metrics,
            lambda: self.scheduler.running,
            s.timezone,
        )
        server = _Server(uvicorn.Config(app, host=s.http_host, port=s.http_port, log_level="warning"))
        serving = asyncio.create_task(server.serve())
        log.info(
            "nhacviec started",
            extra={"worker": self.worker, "database": s.database_url_redacted, "delivery": s.delivery,
                   "http": f"http://{s.http_host}:{s.http_port}", "plans": len(self.deployment.plans)},
        )  # fmt: skip
        self.wake()
        stop = asyncio.create_task(self._stop.wait())
        await asyncio.wait({stop, serving}, return_when=asyncio.FIRST_COMPLETED)

        log.info("stopping: finishing the sends in flight")
        # Drain first: shutting the scheduler down would cancel the running dispatch job, and
        # with it the sends in flight, which a provider may already have accepted.
        await self.dispatcher.drain(GRACE_SECONDS)
        self.scheduler.shutdown(wait=False)
        server.should_exit = True
        await serving
        for notifier in set(self.notifiers.values()):
            await notifier.aclose()
        self.engine.dispose()
        log.info("stopped")
        return 0

    def _add_jobs(self) -> None:
        s = self.settings
        add = self.scheduler.add_job
        add(self.wake, IntervalTrigger(seconds=SAFETY_TICK), id="safety-tick")
        add(self.extend_horizon, CronTrigger(hour=0, minute=5, timezone=s.timezone), id="horizon")
        add(self.watch_config, IntervalTrigger(seconds=CONFIG_POLL), id="config-watch")
        digest = CronTrigger(hour=s.digest_time.hour, minute=s.digest_time.minute, timezone=s.timezone)
        add(self.digest, digest, id="digest", misfire_grace_time=3600)

    # --- jobs -------------------------------------------------------------------

    def wake(self, at: datetime | None = None) -> None:
        """(Re-)arm the dispatch job at `at` (default: now)."""
        self.scheduler.add_job(
            self.dispatch,
            DateTrigger(run_date=at or utcnow()),
            id="dispatch",
            replace_existing=True,
            misfire_grace_time=None,
            max_instances=3,
        )

    async def dispatch(self) -> None:
        async with self._dispatch_lock:
            if self._stop.is_set():
                return
            await self.dispatcher.run()
            if not self._stop.is_set():
                wake = self.dispatcher.next_wake(utcnow())
                if wake is not None:
                    self.wake(wake)
                    local = wake.astimezone(self.settings.timezone)
                    log.info("next reminder", extra={"at": f"{local:%H:%M %d/%m/%Y}"})

    def _sync(self) -> None:
        today = datetime.now(self.settings.timezone).date()
        report = sync(self.engine, self.deployment, self.settings, today)
        log.info(
            "synced",
            extra={"added": report.added, "updated": report.updated, "cancelled": report.cancelled},
        )

    async def extend_horizon(self) -> None:
        self._sync()
        self.wake()

    async def watch_config(self) -> None:
        snapshot = config_snapshot(self.settings.config_dir)
        if snapshot != self._snapshot:
            await self.reload()

    async def reload(self) -> None:
        """Load the configuration again; a bad one is reported and the running one kept."""
        self._snapshot = config_snapshot(self.settings.config_dir)
        try:
            deployment = load_config(self.settings.config_dir)
            templates = Templates(self.settings.config_dir / "templates")
        except ConfigInvalid as exc:
            log.error("configuration not reloaded", extra={"errors": [str(e) for e in exc.errors]})
            return
        except Exception as exc:
            log.error("configuration not reloaded", extra={"errors": [str(exc)]})
            return
        self.deployment = self.builder.deployment = deployment
        self.templates = self.builder.templates = templates
        self._sync()
        self.wake()
        log.info("configuration reloaded", extra={"plans": len(deployment.plans)})

    async def digest(self) -> None:
        added = enqueue_digests(self.engine, self.deployment, utcnow(), self.settings.timezone)
        if added:
            self.wake()

    def _outbox_depth(self) -> float:
        """Pending reminders, counted at most once a minute: a count reads the whole index."""
        now = time.monotonic()
        if now - self._depth[1] > DEPTH_CACHE_SECONDS:
            with self.engine.connect() as conn:
                count = conn.execute(
                    select(func.count()).select_from(Reminder).where(Reminder.status == Status.PENDING)
                ).scalar_one()
            self._depth = (count, now)
        return self._depth[0]


def run_daemon(settings: Settings) -> int:
    try:
        with single_instance(settings.database_url):
            return asyncio.run(Daemon(settings).run())
    except AlreadyRunning as exc:
        log.error(str(exc))
        return 1
