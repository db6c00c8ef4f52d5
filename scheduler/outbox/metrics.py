"""Prometheus metrics of one daemon, served on /metrics: counters and gauges the dispatcher
keeps, and (`Metrics.watch_ledger`) gauges read from the ledger on scrape, the same for every
replica since they read the shared database."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, tzinfo
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, and_, case, func, literal, select
from sqlalchemy.exc import SQLAlchemyError

from scheduler.outbox.board import stuck_condition
from scheduler.outbox.store import Occurrence, OccurrenceStatus, Reminder, Status
from scheduler.plan.kinds import OccurrenceKind

log = logging.getLogger(__name__)

LATENESS_BUCKETS = (1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 72 * 3600)


class Metrics:
    def __init__(
        self, outbox_depth: Callable[[], float], operator_alerts: Callable[[], float] = lambda: 0.0
    ) -> None:
        self.registry = CollectorRegistry()
        self._sent = Counter(
            "nhacviec_reminders_sent_total",
            "Reminders accepted by a provider.",
            ["channel"],
            registry=self.registry,
        )
        self._failed = Counter(
            "nhacviec_send_failures_total",
            "Failed send attempts.",
            ["channel", "permanent"],
            registry=self.registry,
        )
        self._dead = Counter(
            "nhacviec_reminders_dead_total",
            "Reminders moved to the dead letter.",
            ["channel"],
            registry=self.registry,
        )
        self._alerts = Counter(
            "nhacviec_channel_alerts_total",
            "Failures only the operator can fix (keys, templates, balance, tokens).",
            ["channel"],
            registry=self.registry,
        )
        self._duplicates = Counter(
            "nhacviec_possible_duplicates_total",
            "Reminders sent again after an attempt the provider may have taken already (a timeout "
            "or 5xx on a channel that does not de-duplicate, e.g. ZNS): the recipient may get two.",
            ["channel"],
            registry=self.registry,
        )
        self._lateness = Histogram(
            "nhacviec_send_lateness_seconds",
            "Time from a reminder's planned send time to its delivery.",
            buckets=LATENESS_BUCKETS,
            registry=self.registry,
        )
        self._unconfigured = Gauge(
            "nhacviec_reminders_waiting_unconfigured",
            "Reminders due but waiting because their channel is not configured (a key or option missing).",
            ["channel"],
            registry=self.registry,
        )
        depth = Gauge("nhacviec_outbox_pending", "Reminders waiting to be sent.", registry=self.registry)
        depth.set_function(outbox_depth)
        alerts = Gauge(
            "nhacviec_operator_alerts",
            "Standing channel problems only the operator can fix (e.g. the Zalo token), as in the digest.",
            registry=self.registry,
        )
        alerts.set_function(operator_alerts)

    def sent(self, channel: str, lateness_seconds: float, possible_duplicate: bool = False) -> None:
        self._sent.labels(channel).inc()
        self._lateness.observe(max(0.0, lateness_seconds))
        if possible_duplicate:
            self._duplicates.labels(channel).inc()

    def failed(self, channel: str, permanent: bool, dead: bool, alert: bool = False) -> None:
        self._failed.labels(channel, str(permanent).lower()).inc()
        if dead:
            self._dead.labels(channel).inc()
        if alert:
            self._alerts.labels(channel).inc()

    def waiting_unconfigured(self, channel: str, count: int) -> None:
        self._unconfigured.labels(channel).set(count)

    def watch_ledger(self, engine: Engine, tz: tzinfo) -> LedgerCollector:
        """Serve the ledger's gauges (occurrences by plan and status, stuck reminders) too."""
        collector = LedgerCollector(engine, tz)
        self.registry.register(collector)
        return collector


# --- gauges read from the ledger on scrape -------------------------------------------------------

LEDGER_TTL_SECONDS = 30.0  # a scrape within this time of the last reads the same figures
OCCURRENCE_CATEGORIES = ("submitted", "open", "overdue", "waived", "extended", "untracked", "ended")
STUCK_REASONS = ("lease_expired", "retrying", "postponed", "not_started")


def occurrence_category(today: date) -> Any:
    """The status model's categories (scheduler/outbox/status.py), as closely as one SQL CASE
    can say them, in the model's order of precedence:

    submitted  confirmed (Đã báo cáo đúng hạn or muộn: telling them apart needs the working-day
               calendar, which SQL does not have)
    waived     Được miễn
    ended      Đơn vị đã giải thể / sáp nhập, as the occurrence's status says (an agency whose
               last day passed since the last sync is still "open" here until the next sync)
    extended   Gia hạn đến …, the extension's date not yet passed; once passed: overdue
    untracked  Không theo dõi
    overdue    Quá hạn: the deadline's calendar date is before today (the model moves a deadline
               on a day off to the next working day: on such days a deadline counts a day or two
               early here)
    open       not yet due: Trong hạn and Sắp đến hạn together
    """
    occ = Occurrence.__table__
    extended = and_(occ.c.extended_to.is_not(None), occ.c.extended_to > occ.c.start_date)
    return case(
        (occ.c.status == OccurrenceStatus.SUBMITTED, literal("submitted")),
        (occ.c.waived.is_(True), literal("waived")),
        (occ.c.status == OccurrenceStatus.ENDED, literal("ended")),
        (and_(extended, occ.c.extended_to >= today), literal("extended")),
        (and_(extended, occ.c.extended_to < today), literal("overdue")),
        (occ.c.status == OccurrenceStatus.UNTRACKED, literal("untracked")),
        (occ.c.start_date < today, literal("overdue")),
        else_=literal("open"),
    )


def stuck_reason() -> Any:
    """Why a stuck reminder (`board.stuck_condition`, as the deliveries page /gui-tin) waits, from
    its columns rather than its free-text error, so that the label's values stay a fixed few:

    lease_expired  claimed, its lease run out: the dispatcher that took it stopped
    retrying       a send failed (attempts > 0): the page's "lần gửi trước lỗi: …"
    postponed      never tried, with a note: quiet hours, a guard, or a channel not configured
    not_started    never tried, no note: the service is not running or far behind
    """
    rem = Reminder.__table__
    return case(
        (rem.c.status == Status.CLAIMED, literal("lease_expired")),
        (rem.c.attempts > 0, literal("retrying")),
        (rem.c.last_error.is_not(None), literal("postponed")),
        else_=literal("not_started"),
    )


class LedgerCollector(Collector):
    """`nhacviec_occurrences{plan, status}` and `nhacviec_reminders_stuck{reason}`, read on scrape
    in one GROUP BY each (at most every LEDGER_TTL_SECONDS). Labels are plans and the fixed
    categories above, never agencies: bounded whatever the size of the deployment. A database
    that does not answer leaves the last figures (none before the first read)."""

    def __init__(
        self,
        engine: Engine,
        tz: tzinfo,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        ttl: float = LEDGER_TTL_SECONDS,
    ) -> None:
        self.engine, self.tz, self.now, self.ttl = engine, tz, now, ttl
        self._read_at: datetime | None = None
        self._occurrences: list[tuple[str, str, int]] = []
        self._stuck: dict[str, int] = {}

    def read(self, now: datetime) -> None:
        today = now.astimezone(self.tz).date()
        occ = Occurrence.__table__
        category = occurrence_category(today).label("category")
        occurrences = (
            select(occ.c.plan_id, category, func.count())
            .where(occ.c.kind == OccurrenceKind.DEADLINE, occ.c.status != OccurrenceStatus.REMOVED)
            .group_by(occ.c.plan_id, category)
        )
        reason = stuck_reason().label("reason")
        stuck = select(reason, func.count()).where(stuck_condition(now)).group_by(reason)
        with self.engine.connect() as conn:
            self._occurrences = [(plan, cat, count) for plan, cat, count in conn.execute(occurrences)]
            self._stuck = {why: count for why, count in conn.execute(stuck)}

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = self.now()
        if self._read_at is None or not 0 <= (now - self._read_at).total_seconds() < self.ttl:
            try:
                self.read(now)
                self._read_at = now
            except SQLAlchemyError as exc:  # the scrape still answers; the log says why
                log.warning("ledger metrics not read: %s", type(exc).__name__)
        occurrences = GaugeMetricFamily(
            "nhacviec_occurrences",
            "Deadline occurrences (agency x deadline) by plan and status category: submitted, open "
            "(not yet due), overdue, waived, extended, untracked, ended.",
            labels=["plan", "status"],
        )
        for plan, cat, count in self._occurrences:
            occurrences.add_metric([plan, cat], count)
        yield occurrences
        stuck = GaugeMetricFamily(
            "nhacviec_reminders_stuck",
            "Reminders stuck as on the deliveries page (a lease run out, or waiting 30 min past their "
            "time) by reason: lease_expired, retrying, postponed, not_started.",
            labels=["reason"],
        )
        if self._read_at is not None:  # never read: no figure rather than a reassuring 0
            for why in STUCK_REASONS:
                stuck.add_metric([why], self._stuck.get(why, 0))
        yield stuck
