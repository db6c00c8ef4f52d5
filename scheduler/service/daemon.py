"""`nhacviec run`: the long-running service.

One process holds an APScheduler `AsyncIOScheduler` and the HTTP server. The
scheduler times only the daemon's own few jobs — wake the dispatcher at the next
due reminder, extend the horizon each night, pick up configuration changes, the
morning digest — never one job per reminder: the outbox is the ledger.

SIGTERM (or Ctrl-C) stops claiming, lets in-flight sends finish within a grace
period, gives the rest back to the outbox and exits 0. SIGHUP reloads the
configuration at once.

Several processes may run against one PostgreSQL database (replicas). They share the
sends through row locks and leases (`Dispatcher.claim`); the work done for the whole
deployment — sync at start, on a configuration change and each night, the digest —
goes through `scheduler.outbox.singleton.once`, so that one replica does it. On PostgreSQL
the daemon does not migrate the schema (`nhacviec db upgrade` does, once per release)
and refuses to start on a schema that is not the newest; on SQLite it migrates.
A lost database connection does not stop the daemon: /readyz reports it, and the
dispatcher and the jobs (the sync at start included) try again with backoff.

The HTTP port (and NHACVIEC_METRICS_BIND) is bound first: a port in use stops the
daemon before it has synced or claimed anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
import logging
import os
import signal
import socket
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlmodel import col

from scheduler.config.deployment import Deployment
from scheduler.config.loader import load_config
from scheduler.config.settings import Settings, SettingsError
from scheduler.config.yamlfile import ConfigInvalid
from scheduler.dispatch.digest import enqueue_digests, operator_alerts
from scheduler.dispatch.dispatcher import Dispatcher
from scheduler.outbox.former_agencies import former_agencies
from scheduler.outbox.lock import AlreadyRunning, single_instance
from scheduler.outbox.metrics import Metrics
from scheduler.outbox.recorder import SendRecorder, journal_path
from scheduler.outbox.singleton import once
from scheduler.outbox.store import (
    Reminder,
    Status,
    make_engine,
    open_store,
    schema_revisions,
    utcnow,
)
from scheduler.outbox.sync import sync
from scheduler.render.links import FeedLinks, Links, secret_key
from scheduler.render.messages import MessageBuilder
from scheduler.render.templates import Templates
from scheduler.service.channels import build_notifiers, channels_in_use
from scheduler.web.app import create_app, create_metrics_app, server_options
from scheduler.web.auth import AuthSettings

log = logging.getLogger("nhacviec.daemon")

GRACE_SECONDS = 20.0
SAFETY_TICK = 300  # seconds; the dispatcher is woken at due times anyway
CONFIG_POLL = 10  # seconds
DEPTH_CACHE_SECONDS = 60
RETRY_FIRST, RETRY_MAX = 1.0, 60.0  # seconds: backoff of the dispatcher after a database error
JOB_RETRY = 30  # seconds: a sync or digest that failed, or found another replica at it, runs again


class SchemaNotCurrent(Exception):
    pass


class CannotListen(Exception):
    pass


def listen_socket(host: str, port: int, variable: str) -> socket.socket:
    """A socket bound to host:port, for uvicorn to listen on; CannotListen says why not."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise CannotListen(
            f"không mở được địa chỉ {host}:{port} ({exc.strerror}): kiểm tra {variable}"
        ) from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise CannotListen(
            f"không mở được cổng {host}:{port} ({exc.strerror}): cổng đang được một chương trình "
            f"khác dùng? Dừng chương trình đó hoặc đổi {variable}; chưa có nhắc việc nào được xử lý"
        ) from None
    return sock


def db_error(exc: SQLAlchemyError) -> str:
    """The driver's message, without the statement and its parameters (contacts' data)."""
    cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = str(cause).strip().splitlines()
    return f"{type(cause).__name__}: {lines[0] if lines else ''}"


def open_database(database_url: str) -> Any:
    """The engine. SQLite is migrated to the newest schema; PostgreSQL, shared by replicas that
    may run different versions during a rolling update, is only checked: `nhacviec db upgrade`
    migrates it, once, as a step of the release."""
    if make_url(database_url).get_backend_name() != "postgresql":
        return open_store(database_url)
    engine = make_engine(database_url)
    current, head = schema_revisions(engine)
    if current != head:
        engine.dispose()
        raise SchemaNotCurrent(
            f"lược đồ cơ sở dữ liệu đang ở bản {current or 'trống'}, phiên bản này cần bản {head}: "
            "chạy `nhacviec db upgrade` (một lần, từ một máy) rồi khởi động lại dịch vụ"
        )
    return engine


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the daemon handles signals itself
        yield


def http_server(app: Any) -> _Server:
    # log_config=None: uvicorn's own lines go to the root handler, formatted with secrets masked.
    return _Server(uvicorn.Config(app, log_level="warning", log_config=None, **server_options()))


def config_snapshot(config_dir: Path) -> tuple[tuple[str, int, int], ...]:
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
        self._retry = RETRY_FIRST  # the dispatcher's next delay after a database error
        self._reload_lock = asyncio.Lock()
        self._dispatch_failed = False  # the last dispatch could not read or write the database

    # --- lifecycle --------------------------------------------------------------

    async def run(self) -> int:
        s = self.settings
        # Before any work: a port in use must not be found after a batch was claimed.
        sockets = [listen_socket(s.http_host, s.http_port, "NHACVIEC_HTTP_HOST / NHACVIEC_HTTP_PORT")]
        try:
            if s.metrics_bind:
                sockets.append(listen_socket(*s.metrics_bind, "NHACVIEC_METRICS_BIND"))
            return await self._run(sockets)
        finally:
            for sock in sockets:
                sock.close()

    async def _run(self, sockets: list[socket.socket]) -> int:
        s = self.settings
        self.links = Links(secret_key(s), s.public_url, s.link_days)
        self.engine = open_database(s.database_url)
        self.deployment = load_config(s.config_dir, s, former=former_agencies(self.engine))
        self.templates = Templates(s.config_dir / "templates")
        unconfigured: dict[str, str] = {}
        self.notifiers = build_notifiers(s, self.deployment, self.engine, unconfigured)
        self.metrics = Metrics(self._outbox_depth, lambda: len(operator_alerts(self.engine, self.deployment)))
        self.metrics.watch_ledger(self.engine, s.timezone)
        self.builder = MessageBuilder(
            self.deployment, self.templates, self.links, s.timezone, FeedLinks(self.engine, self.links)
        )
        journal = journal_path(s.database_url)  # an SQLite file: we hold its lock, we are alone
        self.dispatcher = Dispatcher(
            self.engine, self.builder, self.notifiers, s, self.worker, self.metrics, journal, unconfigured
        )
        if journal is not None:
            recovered = SendRecorder.recover(self.engine, journal)  # before the claims are given back
            if recovered:
                log.info(
                    "recorded the sends of a stopped process from its journal", extra={"count": recovered}
                )
        if make_url(s.database_url).get_backend_name() == "sqlite":
            released = self.dispatcher.release_claims()  # we hold the lock: every claim is orphaned
            if released:
                log.info("released claims of a stopped process", extra={"count": released})
        unserved = sorted(channels_in_use(self.deployment) - set(self.notifiers))
        if unserved:
            log.warning("channels without a notifier stay pending", extra={"channels": unserved})
        self._snapshot = config_snapshot(s.config_dir)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self._stop.set)
        if not await self._first_sync():
            for notifier in set(self.notifiers.values()):
                await notifier.aclose()
            self.engine.dispose()
            log.info("stopped")
            return 0
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
            serve_metrics=s.metrics_bind is None,
            writes_failing=lambda: self._dispatch_failed or self.dispatcher.recorder.writes_failing,
            auth_settings=AuthSettings.of(s, secret_key(s)),
            due_soon_days=s.due_soon_days,
            settings=s,
            wake=self.wake,
        )
        servers = [(http_server(app), sockets[0])]
        if s.metrics_bind:
            servers.append((http_server(create_metrics_app(self.metrics)), sockets[1]))
        serving = {asyncio.create_task(server.serve(sockets=[sock])) for server, sock in servers}
        log.info(
            "nhacviec started",
            extra={"worker": self.worker, "database": s.database_url_redacted, "delivery": s.delivery,
                   "http": f"http://{s.http_host}:{s.http_port}", "plans": len(self.deployment.plans)},
        )  # fmt: skip
        self.wake()
        stop = asyncio.create_task(self._stop.wait())
        await asyncio.wait({stop, *serving}, return_when=asyncio.FIRST_COMPLETED)

        log.info("stopping: finishing the sends in flight")
        # Drain first: shutting the scheduler down would cancel the running dispatch job, and
        # with it the sends in flight, which a provider may already have accepted.
        await self.dispatcher.drain(GRACE_SECONDS)
        self.scheduler.shutdown(wait=False)
        for server, _ in servers:
            server.should_exit = True
        await asyncio.gather(*serving)
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
            try:
                await self.dispatcher.run()
                if self._stop.is_set():
                    return
                wake = self.dispatcher.next_wake(utcnow())
                lease_end = self._first_lease_end()
            except Exception as exc:  # e.g. the database is unreachable: keep running, try again
                self._dispatch_failed = True
                if self._stop.is_set():
                    return
                log.warning(
                    "dispatch failed: retrying",
                    extra={"error": f"{type(exc).__name__}: {exc}", "retry_in": self._retry},
                )
                self.wake(utcnow() + timedelta(seconds=self._retry))
                self._retry = min(RETRY_MAX, self._retry * 2)
                return
            self._retry = RETRY_FIRST
            self._dispatch_failed = False
            if lease_end is not None:  # claims left unfinished come back to the outbox then
                lease_end = max(lease_end, utcnow()) + timedelta(seconds=1)
                wake = lease_end if wake is None else min(wake, lease_end)
            if wake is not None:
                self.wake(wake)
                local = wake.astimezone(self.settings.timezone)
                log.info("next reminder", extra={"at": f"{local:%H:%M %d/%m/%Y}"})

    def _first_lease_end(self) -> datetime | None:
        """When the first lease ends: another replica's, one's that died, or ours left by a send
        whose outcome could not be recorded (the database went away)."""
        t = Reminder.__table__
        with self.engine.connect() as conn:
            first: datetime | None = conn.execute(
                select(func.min(t.c.lease_until)).where(t.c.status == Status.CLAIMED)
            ).scalar()
        return first

    async def _first_sync(self) -> bool:
        """The sync at start, tried again with backoff while the database fails (a replica
        whose connection is cut keeps trying, as it does later); False if stopped meanwhile."""
        delay = RETRY_FIRST
        while True:
            try:
                with once(self.engine, "sync", wait=True):  # replicas starting together sync in turn
                    self._sync()
                return True
            except SQLAlchemyError as exc:
                log.warning(
                    "start-up sync failed: retrying", extra={"error": db_error(exc), "retry_in": delay}
                )
            try:
                await asyncio.wait_for(self._stop.wait(), delay)
                return False
            except TimeoutError:
                delay = min(RETRY_MAX, delay * 2)

    def _sync(self) -> None:
        today = datetime.now(self.settings.timezone).date()
        report = sync(self.engine, self.deployment, self.settings, today)
        log.info(
            "synced",
            extra={"added": report.added, "updated": report.updated, "cancelled": report.cancelled},
        )
        give_back_memory()

    async def extend_horizon(self) -> None:
        """Each night: one replica writes the day that entered the horizon; the others,
        finding it at work, leave it to it."""
        self._sync_once(retry_when_busy=False)

    def _sync_once(self, retry_when_busy: bool = True) -> None:
        """Sync, unless another replica is syncing; then, or if the database fails, try again
        in JOB_RETRY seconds (when busy only with `retry_when_busy`: this replica's
        configuration may be newer than the one being synced)."""
        try:
            with once(self.engine, "sync") as mine:
                if mine:
                    self._sync()
        except SQLAlchemyError as exc:
            log.warning(
                "sync failed: retrying",
                extra={"error": f"{type(exc).__name__}: {exc}", "retry_in": JOB_RETRY},
            )
            mine = None
        if mine:
            self.wake()
            return
        if mine is False:
            log.info("another replica is syncing", extra={"retry": retry_when_busy})
            if not retry_when_busy:
                return
        self._retry_job(self._retry_sync, "sync-retry")

    async def _retry_sync(self) -> None:  # a coroutine: APScheduler runs plain functions in a thread
        self._sync_once()

    def _retry_job(self, job: Any, job_id: str) -> None:
        self.scheduler.add_job(
            job,
            DateTrigger(run_date=utcnow() + timedelta(seconds=JOB_RETRY)),
            id=job_id,
            replace_existing=True,
            misfire_grace_time=None,
        )

    async def watch_config(self) -> None:
        snapshot = config_snapshot(self.settings.config_dir)
        if snapshot != self._snapshot:
            await self.reload()

    async def reload(self) -> None:
        async with self._reload_lock:
            await self._reload()

    async def _reload(self) -> None:
        """Load the configuration again; a bad one is reported and the running one kept.
        It is read in a thread: a large configuration must not stop the HTTP server."""
        before, self._snapshot = self._snapshot, config_snapshot(self.settings.config_dir)
        try:
            deployment, templates = await asyncio.to_thread(read_configuration, self.settings, self.engine)
        except ConfigInvalid as exc:
            log.error("configuration not reloaded", extra={"errors": [str(e) for e in exc.errors]})
            return
        except Exception as exc:
            log.error("configuration not reloaded", extra={"errors": [str(exc)]})
            return
        self.deployment = self.builder.deployment = deployment
        self.templates = self.builder.templates = templates
        log.info("configuration reloaded", extra={"plans": len(deployment.plans)})
        channels = str(self.settings.config_dir / "channels.yaml")
        if [e for e in before if e[0] == channels] != [e for e in self._snapshot if e[0] == channels]:
            # Notifiers, rate limits and quotas are built at start (they hold connections and counts).
            log.warning("channels.yaml changed: restart the service to apply it")
        self._sync_once()

    async def digest(self) -> None:
        """Enqueue today's digests; one replica does it (the rows' keys make a repeat a no-op)."""
        try:
            with once(self.engine, "digest") as mine:
                if not mine:
                    log.info("another replica is enqueuing the digest")
                    return
                added = enqueue_digests(
                    self.engine,
                    self.deployment,
                    utcnow(),
                    self.settings.timezone,
                    working_days_only=self.settings.digest_days == "working",
                )
        except SQLAlchemyError as exc:
            log.warning(
                "digest failed: retrying",
                extra={"error": f"{type(exc).__name__}: {exc}", "retry_in": JOB_RETRY},
            )
            self._retry_job(self.digest, "digest-retry")
            return
        log.info("digest enqueued", extra={"added": added})
        if added:
            self.wake()

    def _outbox_depth(self) -> float:
        """Pending reminders, counted at most once a minute: a count reads the whole index."""
        now = time.monotonic()
        if now - self._depth[1] > DEPTH_CACHE_SECONDS:
            with self.engine.connect() as conn:
                count = conn.execute(
                    select(func.count()).select_from(Reminder).where(col(Reminder.status) == Status.PENDING)
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
    except SchemaNotCurrent as exc:
        log.error(str(exc))
        return 2
    except (CannotListen, SettingsError) as exc:
        log.error(str(exc))
        return 1


def read_configuration(settings: Settings, engine: Engine | None = None) -> tuple[Deployment, Templates]:
    """The configuration; with the ledger's `engine`, an old plan may name a removed agency."""
    former = former_agencies(engine) if engine is not None else None
    return load_config(settings.config_dir, settings, former=former), Templates(
        settings.config_dir / "templates"
    )


def give_back_memory() -> None:
    """A sync builds and drops large structures; glibc keeps the freed pages unless asked, so
    a daemon that syncs once a night would carry the peak of its largest sync for months.
    What survives (configuration, modules: most of the heap) is then frozen, so that the
    cyclic collector's full passes while sending walk only what came after (3–5 ms instead
    of ~0.1 s in bench_channels); it is unfrozen at the next sync, so that what a reload
    drops is still collected."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
