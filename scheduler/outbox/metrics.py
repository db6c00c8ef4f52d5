"""Prometheus metrics of one daemon, served on /metrics."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

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
