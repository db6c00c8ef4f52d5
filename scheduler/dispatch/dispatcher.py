"""Dispatch: claim due reminders → render → send → record, crash-safe.

Each claimed row carries a lease; a process that dies leaves rows whose lease
expires and that any dispatcher takes again, so a crash never loses a reminder
(it may repeat the sends that were in flight). Every outcome is written by the recorder
(`scheduler.outbox.recorder`), every attempt with its `delivery_attempt`; sends through a
journal or a commit per turn of the event loop. A transient failure puts the row back with a later
`next_attempt_at` (exponential backoff with jitter); a permanent one, or the
last allowed attempt, makes it dead, with the reason, for the operator.

Before claiming, the catch-up rules run, so that a daemon that was down does not
flood anyone: of several missed rungs for the same recipient only the latest is
sent, reminders later than `max_lateness_hours` are skipped, and "upcoming" or
"due today" rungs of a deadline that has already passed are skipped in favour of
the overdue notice.

Per channel, before a send: its circuit breaker, rate limit and daily quota
(`scheduler.dispatch.guards`) may postpone a row without counting an attempt. A recipient
the channel cannot reach (`NotifierError.unreachable`) moves the row to the next
channel of the contact's fallback chain, keeping its key.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import defaultdict, deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from time import monotonic
from typing import Any

from sqlalchemy import Engine, Select, and_, exists, func, or_, select, update

from notifiers.base import Delivery, Message, Notifier, NotifierError
from scheduler.config.settings import Settings, in_period
from scheduler.dispatch.digest import DigestKey, digest_context
from scheduler.dispatch.guards import ChannelGuard, DailyQuota
from scheduler.outbox import events
from scheduler.outbox.feeds import FeedKind
from scheduler.outbox.metrics import Metrics
from scheduler.outbox.recorder import SendRecorder
from scheduler.outbox.store import (
    AttemptOutcome,
    ClaimedReminder,
    DeliveryAttempt,
    Occurrence,
    OccurrenceRow,
    Reminder,
    Status,
    start_of_day_utc,
    utcnow,
)
from scheduler.plan.kinds import ReminderKind
from scheduler.plan.planner import send_window
from scheduler.render.messages import MessageBuilder

log = logging.getLogger("nhacviec.dispatcher")

BATCH = 200
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_MAX = timedelta(hours=6)
PASSED_KINDS = (ReminderKind.UPCOMING, ReminderKind.DUE)
RATE_WAIT = 30.0  # seconds a send may wait for its rate slot; beyond, the row is postponed
CATCH_UP_SECONDS = 1.0  # within one run, the catch-up rules run again at most this often
# Keys of the reminders sent on each thread: (occurrence, contact, channel) -> keys, oldest first.
Threads = dict[tuple[str, str, str], tuple[str, ...]]
# What sending reads of a claimed row and of its occurrence. Every date or time column read
# is converted row by row: reading all columns cost 12 µs per message (bench/README.md).
CLAIMED = (
    "id", "key", "occurrence_key", "contact_key", "channel", "kind", "recipient", "attempts",
    "send_at", "lease_until", "maybe_sent", "ignore_quiet_hours",
)  # fmt: skip
OCCURRENCE = (
    "key", "plan_id", "item_id", "kind", "period", "agency_id", "title", "start_date", "end_date",
    "to_agency_id", "via_agency_id", "extended_to",
)  # fmt: skip
Thread = tuple[str, str, str]  # (occurrence, contact, channel): the reminders sent about it, in order


def backoff(attempts: int, rng: Callable[[], float] = random.random) -> timedelta:
    """Delay before retry number `attempts` (1, 2, …): doubling, capped, with ±50 % jitter."""
    delay: timedelta = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (attempts - 1))
    return delay * (0.5 + rng())


def in_quiet_hours(moment: datetime, start: time, end: time, tz: Any) -> bool:
    return in_period(moment.astimezone(tz).time(), start, end)


def quiet_hours_end(moment: datetime, end: time, tz: Any) -> datetime:
    """The first instant after `moment` when the quiet hours are over."""
    local = moment.astimezone(tz)
    candidate = datetime.combine(local.date(), end, tz)
    if candidate <= local:
        candidate += timedelta(days=1)
    return candidate.astimezone(UTC)


class Dispatcher:
    """Sends what is due through the notifiers, one channel's concurrency at a time."""

    def __init__(
        self,
        engine: Engine,
        builder: MessageBuilder,
        notifiers: Mapping[str, Notifier],
        settings: Settings,
        worker: str,
        metrics: Metrics | None = None,
        journal: Path | None = None,
        unconfigured: Mapping[str, str] | None = None,
    ) -> None:
        """`journal`: the file that records sends (`scheduler.outbox.recorder`), for the process alone on
        an SQLite file; without it each turn of the event loop commits its sends.
        `unconfigured`: channels in use without a notifier, with what their configuration lacks."""
        self.engine = engine
        self.builder = builder
        self.notifiers = dict(notifiers)
        self.settings = settings
        self.worker = worker
        self.metrics = metrics
        self.guards = {ch: ChannelGuard(builder.deployment.channel(ch).spec) for ch in self.notifiers}
        self.unconfigured = {
            channel: f"kênh {channel} chưa được cấu hình ({missing}): lời nhắc đang chờ, không mất, "
            "sẽ được gửi khi kênh được cấu hình và dịch vụ khởi động lại"
            for channel, missing in (unconfigured or {}).items()
        }
        self._stopping = False
        self._in_flight: set[asyncio.Task[None]] = set()
        self.table = Reminder.__table__
        self.recorder = SendRecorder(engine, metrics, journal)  # writes every outcome

    # --- the loop -------------------------------------------------------------

    async def run(self) -> int:
        """Send everything due now, batch after batch; return how many were attempted.
        During the quiet hours only reminders whose policy ignores them go out."""
        attempted = 0
        caught_up = float("-inf")
        # Sends a failed flush left unrecorded go into the database before any claim is read
        # or given back; while that fails (a full disk), nothing more is sent.
        self.recorder.flush()
        self.note_unconfigured(utcnow())
        while not self._stopping:
            now = utcnow()
            # Every run starts with the catch-up rules. They read every due row, so within a
            # long run (a backlog) they run again once a second, not before every batch of 200.
            if monotonic() - caught_up >= CATCH_UP_SECONDS:
                self.catch_up(now)
                caught_up = monotonic()
            batch = self.claim(now, quiet=self.quiet(now))
            if not batch:
                break
            occurrences, threads = self._batch_context(batch)
            queues: dict[str, deque[ClaimedReminder]] = defaultdict(deque)
            for row in batch:
                queues[row.channel].append(row)
            # A channel's `concurrency` senders share its rows: a task per row waiting on a
            # semaphore cost 0.4 ms per message more, as much as a whole HTTP send.
            senders = [
                asyncio.create_task(self._sender(rows, occurrences, threads))
                for channel, rows in queues.items()
                for _ in range(min(self.notifiers[channel].concurrency, len(rows)))
            ]
            self._in_flight.update(senders)
            for task in senders:
                task.add_done_callback(self._in_flight.discard)
            await asyncio.gather(*senders)
            self.recorder.flush()  # before the outbox is read again; raises if a commit failed
            attempted += len(batch) - sum(len(rows) for rows in queues.values())
        return attempted

    async def _sender(
        self,
        rows: deque[ClaimedReminder],
        occurrences: dict[str, OccurrenceRow],
        threads: dict[Thread, tuple[str, ...]],
    ) -> None:
        """One of a channel's senders: the batch's rows for the channel, one at a time, until
        none is left, the dispatcher stops (the rows not taken are released by `drain`) or
        sends can no longer be recorded (`run` raises the error)."""
        while rows and not self._stopping and not self.recorder.failed:
            row = rows.popleft()
            # A row whose lease ran out while it waited may be another replica's by now:
            # leave it (it comes back to pending if nobody took it) rather than send it twice.
            if utcnow() >= row.lease_until:
                log.warning("lease expired before sending: row left", extra={"reminder": row.id})
                continue
            await self._send(row, occurrences, threads)

    def quiet(self, now: datetime) -> bool:
        s = self.settings
        return in_quiet_hours(now, s.quiet_start, s.quiet_end, s.timezone)

    def next_wake(self, now: datetime) -> datetime | None:
        """When something will next be due (None: nothing pending on a served channel)."""
        wake = self._first_due()
        if wake is None:
            return None
        wake = max(wake, now)
        if self.quiet(wake):
            end = quiet_hours_end(wake, self.settings.quiet_end, self.settings.timezone)
            exempt = self._first_due(self.table.c.ignore_quiet_hours.is_(True))
            wake = max(exempt, now) if exempt is not None and exempt < end else end
        return wake

    def _first_due(self, *conditions: Any) -> datetime | None:
        """The earliest send or retry time of a pending row on a served channel."""
        t = self.table
        pending = (t.c.status == Status.PENDING, t.c.channel.in_(self.notifiers), *conditions)
        # Two index walks (status, send_at) and (status, next_attempt_at) rather than one
        # min() over an expression, which reads every pending row (343 ms at 1M rows).
        with self.engine.connect() as conn:
            first_new = conn.execute(
                select(t.c.send_at)
                .where(*pending, t.c.next_attempt_at.is_(None))
                .order_by(t.c.send_at)
                .limit(1)
            ).scalar()
            first_retry = conn.execute(
                select(t.c.next_attempt_at)
                .where(*pending, t.c.next_attempt_at.is_not(None))
                .order_by(t.c.next_attempt_at)
                .limit(1)
            ).scalar()
        candidates = [moment for moment in (first_new, first_retry) if moment is not None]
        return min(candidates) if candidates else None

    async def drain(self, grace: float) -> None:
        """Stop claiming, let in-flight sends finish within `grace` seconds, release the rest."""
        self._stopping = True
        pending = set(self._in_flight)
        if pending:
            _, still = await asyncio.wait(pending, timeout=grace)
            for task in still:
                task.cancel()
            await asyncio.gather(*still, return_exceptions=True)
        try:
            self.recorder.flush()  # a sent row given back as pending would be sent again
        except Exception as exc:
            # Their rows keep their claims: on SQLite the journal writes them at the next start;
            # elsewhere their leases expire and they may go again.
            log.error(
                "sends could not be recorded: their reminders stay claimed",
                extra={"count": self.recorder.unrecorded, "error": f"{type(exc).__name__}: {exc}"},
            )
            return
        self.release_claims(self.worker)

    # --- database steps ---------------------------------------------------------

    def release_claims(self, worker: str | None = None) -> int:
        """Give claimed rows back (one worker's, or every worker's when the caller knows it is alone)."""
        t = self.table
        condition = t.c.status == Status.CLAIMED
        if worker is not None:
            condition = and_(condition, t.c.claimed_by == worker)
        with self.engine.begin() as conn:
            return conn.execute(
                update(t).where(condition).values(status=Status.PENDING, lease_until=None, claimed_by=None)
            ).rowcount

    def catch_up(self, now: datetime) -> None:
        """Expired leases back to pending; superseded, too-late and passed-deadline rungs skipped.
        A row's due time is its retry time if it has one (the dispatcher moved it: a retry, a
        postponement), else its send time."""
        t = self.table
        later = t.alias()
        too_late = now - timedelta(hours=self.settings.max_lateness_hours)
        tz = self.settings.timezone
        today = now.astimezone(tz).date()
        tomorrow = start_of_day_utc(today + timedelta(days=1), tz)
        with self.engine.begin() as conn:
            conn.execute(
                update(t)
                .where(t.c.status == Status.CLAIMED, t.c.lease_until < now)
                .values(status=Status.PENDING, lease_until=None, claimed_by=None)
            )
            # Of the rungs of one occurrence due for one recipient by the end of today, only the
            # latest goes: after downtime, or when a postponement carried a rung into another's day.
            conn.execute(
                update(t)
                .where(
                    t.c.status == Status.PENDING,
                    t.c.send_at <= now,
                    t.c.kind != ReminderKind.EVENT,  # every event goes (scheduler.outbox.events)
                    exists().where(
                        later.c.occurrence_key == t.c.occurrence_key,
                        later.c.contact_key == t.c.contact_key,
                        later.c.channel == t.c.channel,
                        later.c.send_at > t.c.send_at,
                        later.c.send_at < tomorrow,
                        later.c.status.in_((Status.PENDING, Status.CLAIMED, Status.SENT)),
                    ),
                )
                .values(status=Status.SKIPPED, last_error="bỏ qua: đã có lời nhắc mới hơn", updated_at=now)
            )
            conn.execute(
                update(t)
                .where(
                    t.c.status == Status.PENDING,
                    t.c.kind != ReminderKind.EVENT,  # an e-office system wants it even late
                    or_(
                        and_(t.c.next_attempt_at.is_(None), t.c.send_at < too_late),
                        t.c.next_attempt_at < too_late,
                    ),
                )
                .values(
                    status=Status.SKIPPED,
                    last_error=f"bỏ qua: trễ quá {self.settings.max_lateness_hours} giờ so với giờ gửi",
                    updated_at=now,
                )
            )
            passed = conn.execute(
                select(t.c.id, t.c.due_date, t.c.send_at, t.c.next_attempt_at).where(
                    t.c.status == Status.PENDING,
                    t.c.send_at <= now,
                    t.c.kind.in_(PASSED_KINDS),
                    t.c.due_date < today,
                )
            ).all()
            # Skipped for the overdue notice: a rung that was due on or before its effective
            # deadline, now past. Not one the quiet hours or a retry carried beyond it: it goes.
            workdays = self.builder.deployment.workdays
            ids = [
                row.id
                for row in passed
                if (deadline := workdays.next_working_day(row.due_date)) < today
                and (row.next_attempt_at or row.send_at).astimezone(tz).date() <= deadline
            ]
            if ids:
                conn.execute(
                    update(t)
                    .where(t.c.id.in_(ids), t.c.status == Status.PENDING)
                    .values(
                        status=Status.SKIPPED,
                        last_error="bỏ qua: đã quá hạn, gửi thông báo quá hạn",
                        updated_at=now,
                    )
                )

    def note_unconfigured(self, now: datetime) -> None:
        """Due reminders on a channel that is not configured wait; say why on each (`nhacviec
        outbox` shows it) and count them per channel (/metrics)."""
        if not self.unconfigured:
            return
        t = self.table
        waiting = and_(t.c.status == Status.PENDING, t.c.send_at <= now, t.c.channel.in_(self.unconfigured))
        with self.engine.begin() as conn:
            for channel, reason in self.unconfigured.items():
                conn.execute(
                    update(t)
                    .where(
                        waiting,
                        t.c.channel == channel,
                        or_(t.c.last_error.is_(None), t.c.last_error != reason),
                    )
                    .values(last_error=reason, updated_at=now)
                )
            found = conn.execute(select(t.c.channel, func.count()).where(waiting).group_by(t.c.channel))
            counts: dict[str, int] = {channel: count for channel, count in found}
        if self.metrics:
            for channel in self.unconfigured:
                self.metrics.waiting_unconfigured(channel, counts.get(channel, 0))

    def claim(self, now: datetime, quiet: bool = False) -> list[ClaimedReminder]:
        """Lease a batch of due rows to this worker (in the quiet hours, only the exempt ones);
        the rows have the CLAIMED columns."""
        t = self.table
        with self.engine.begin() as conn:
            return conn.execute(  # type: ignore[return-value]  # Rows with the CLAIMED columns
                update(t)
                .where(t.c.id.in_(self.due(now, quiet).scalar_subquery()))
                .values(
                    status=Status.CLAIMED,
                    lease_until=now + timedelta(seconds=self.settings.lease_seconds),
                    claimed_by=self.worker,
                    updated_at=now,
                )
                .returning(*(t.c[name] for name in CLAIMED))
            ).all()

    def due(self, now: datetime, quiet: bool = False) -> Select[Any]:
        """The ids of the next batch to claim, oldest first; on PostgreSQL locked, skipping the
        rows other replicas are claiming. It walks the (status, send_at) index."""
        t = self.table
        conditions = [
            t.c.status == Status.PENDING,
            t.c.send_at <= now,
            or_(t.c.next_attempt_at.is_(None), t.c.next_attempt_at <= now),
            t.c.channel.in_(self.notifiers),
        ]
        if quiet:
            conditions.append(t.c.ignore_quiet_hours.is_(True))
        due = select(t.c.id).where(*conditions).order_by(t.c.send_at, t.c.id).limit(BATCH)
        if self.engine.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        return due

    # --- one reminder -----------------------------------------------------------

    def _batch_context(
        self, batch: list[ClaimedReminder]
    ) -> tuple[dict[str, OccurrenceRow], dict[Thread, tuple[str, ...]]]:
        """The batch's occurrences, and the keys of reminders already sent about them (for threading),
        read in two queries rather than two per message."""
        keys = list({row.occurrence_key for row in batch if row.kind != ReminderKind.DIGEST})
        threads: dict[Thread, tuple[str, ...]] = {}
        if not keys:
            return {}, threads
        occ, rem = Occurrence.__table__, self.table
        with self.engine.connect() as conn:
            columns = [occ.c[name] for name in OCCURRENCE]
            occurrences: dict[str, OccurrenceRow] = {
                o.key: o for o in conn.execute(select(*columns).where(occ.c.key.in_(keys)))
            }
            for sent in conn.execute(
                select(rem.c.occurrence_key, rem.c.contact_key, rem.c.channel, rem.c.key)
                .where(rem.c.occurrence_key.in_(keys), rem.c.status == Status.SENT)
                .order_by(rem.c.sent_at)
            ):
                thread = (sent.occurrence_key, sent.contact_key, sent.channel)
                threads[thread] = (*threads.get(thread, ()), sent.key)
        return occurrences, threads

    async def _send(
        self,
        row: ClaimedReminder,
        occurrences: dict[str, OccurrenceRow],
        threads: dict[Thread, tuple[str, ...]],
    ) -> None:
        guard = self.guards[row.channel]
        if await self._held_back(row, guard):
            return
        try:
            message = self._message(row, occurrences, threads)
            delivery = await self._deliver(row.channel, guard, message)
        except events.Obsolete as exc:  # an overdue event that no longer holds
            guard.release_quota()
            self.recorder.cancel(row, utcnow(), str(exc))
            log.info("event cancelled", extra={"reminder": row.id, "reason": str(exc)})
        except NotifierError as exc:
            guard.release_quota()
            self._provider_failed(row.channel, guard, exc)
            if exc.unreachable:
                self._fall_back(row, str(exc))
            else:
                self._failed(row, str(exc), exc.permanent, exc.retry_after, exc.alert, exc.maybe_sent)
        except asyncio.CancelledError:
            guard.release_quota()
            raise
        except Exception as exc:  # a bug must not lose the reminder: retry it, loudly
            guard.release_quota()
            log.exception("unexpected error sending reminder %s", row.id)
            self._failed(row, f"{type(exc).__name__}: {exc}", permanent=False, retry_after=None)
        else:
            guard.circuit.succeeded()
            self.recorder.add(row, delivery)
            log.info(
                "reminder sent", extra=outcome(row, AttemptOutcome.SENT, provider_id=delivery.provider_id)
            )

    async def _deliver(self, channel: str, guard: ChannelGuard, message: Message) -> Delivery:
        """One attempt, within the channel's rate (its token is taken after rendering, as
        close to the request as can be, and given back when the attempt has finished)."""
        if guard.rate is None:
            return await self.notifiers[channel].send(message)
        await guard.rate.acquire()
        try:
            return await self.notifiers[channel].send(message)
        finally:
            guard.rate.release()

    # --- guards: circuit, quota, rate -------------------------------------------------

    async def _held_back(self, row: ClaimedReminder, guard: ChannelGuard) -> bool:
        """Postpone the row if its channel's circuit is open, its rate full for longer than
        RATE_WAIT or its daily quota spent; otherwise take its place in the quota. True:
        postponed. (The rate's token is taken later, just before the request.)"""
        paused = guard.circuit.blocked_for()
        if paused:
            self._postpone(
                row, paused, f"tạm dừng kênh {row.channel} sau nhiều lỗi liên tiếp của nhà cung cấp"
            )
            return True
        if guard.rate and (wait := guard.rate.wait()) > RATE_WAIT:
            self._postpone(row, wait, f"giới hạn tốc độ gửi của kênh {row.channel}")
            return True
        if guard.quota:
            now = utcnow()
            self._start_quota_day(row.channel, guard.quota, now)
            if guard.quota.exhausted():
                midnight = quiet_hours_end(now, time(0, 0), self.settings.timezone)  # the next 00:00
                reason = f"hết hạn mức {guard.quota.limit} tin/ngày của kênh {row.channel}"
                self._postpone(row, (midnight - now).total_seconds(), reason)
                return True
            guard.quota.used += 1  # taken now, so that concurrent sends cannot overshoot
        return False

    def _start_quota_day(self, channel: str, quota: DailyQuota, now: datetime) -> None:
        """On the first send of a local day, count what this channel already sent today."""
        today = now.astimezone(self.settings.timezone).date()
        if quota.day == today:
            return
        midnight = datetime.combine(today, time(0, 0), self.settings.timezone).astimezone(UTC)
        attempts = DeliveryAttempt.__table__
        with self.engine.connect() as conn:
            used = conn.execute(
                select(func.count())
                .select_from(attempts)
                .where(
                    attempts.c.channel == channel,
                    attempts.c.outcome == AttemptOutcome.SENT,
                    attempts.c.attempted_at >= midnight,
                )
            ).scalar_one()
        quota.start_day(today, used)

    def _provider_failed(self, channel: str, guard: ChannelGuard, exc: NotifierError) -> None:
        """Transient failures without a hint from the provider (5xx, timeouts) feed the circuit."""
        if exc.permanent or exc.retry_after is not None:
            return
        if guard.circuit.failed():
            log.warning(
                "circuit opened: channel paused", extra={"channel": channel, "seconds": guard.circuit.pause}
            )

    def _postpone(self, row: ClaimedReminder, seconds: float, reason: str) -> None:
        """Give the row back for later without counting an attempt: nothing was sent."""
        now = utcnow()
        self.recorder.postpone(row, now, self._retry_at(row, now + timedelta(seconds=seconds)), reason)

    def _retry_at(self, row: ClaimedReminder, moment: datetime) -> datetime:
        """When a row moved to `moment` goes: out of the quiet hours onto a working day (unless its
        policy ignores them), so that a retry never lands on a day off because of the night."""
        if row.ignore_quiet_hours:
            return moment
        return send_window(moment, self.settings, self.builder.deployment.workdays)

    # --- outcomes ----------------------------------------------------------------------

    def _fall_back(self, row: ClaimedReminder, error: str) -> None:
        """The recipient cannot be reached on this channel: move the reminder to the next channel
        of the contact's fallback chain (one it is not already reached on), or make it dead."""
        deployment = self.builder.deployment
        contact = deployment.contact(row.contact_key)
        chain = (
            []
            if contact is None
            else [c for c in deployment.fallback(contact, row.channel) if c not in contact.channels]
        )
        if contact is None or not chain:
            self._failed(row, f"{error}; không còn kênh dự phòng", permanent=True, retry_after=None)
            return
        target = next((c for c in chain if c in self.notifiers), chain[0])
        now = utcnow()
        self.recorder.fallback(
            row, now, target, contact.address(target), f"{error}; chuyển sang kênh {target}"
        )
        log.info(
            "fell back to another channel",
            extra=outcome(row, AttemptOutcome.FALLBACK, to=target, error=error),
        )
        if self.metrics:
            self.metrics.failed(row.channel, permanent=True, dead=False)

    def _message(
        self,
        row: ClaimedReminder,
        occurrences: dict[str, OccurrenceRow],
        threads: dict[Thread, tuple[str, ...]],
    ) -> Message:
        now = utcnow()
        if row.kind == ReminderKind.DIGEST:
            plan_id = DigestKey.parse(row.occurrence_key).plan_id
            today = now.astimezone(self.settings.timezone).date()
            context = digest_context(
                self.engine,
                self.builder.deployment,
                plan_id,
                today,
                self.settings.timezone,
                self.unconfigured,
                self.settings.due_soon_days,
                self.builder.links.board_url(plan_id),
                self.builder.calendar_url(FeedKind.PLAN, plan_id),
            )
            return self.builder.digest(row, context, self.notifiers[row.channel].renders)
        if row.kind == ReminderKind.EVENT:
            return self._event(row, now)
        thread = threads.get((row.occurrence_key, row.contact_key, row.channel), ())
        occurrence = occurrences[row.occurrence_key]
        return self.builder.reminder(row, occurrence, thread, now, self.notifiers[row.channel].renders)

    def _event(self, row: ClaimedReminder, now: datetime) -> Message:
        """An event's message: its JSON body (scheduler.outbox.events) as the text."""
        rem, occ = self.table, Occurrence.__table__
        with self.engine.connect() as conn:
            facts = conn.execute(select(rem.c.payload).where(rem.c.id == row.id)).scalar_one()
            occurrence = conn.execute(select(occ).where(occ.c.key == row.occurrence_key)).first()
        if occurrence is None or not facts:
            raise events.Obsolete("hủy: không còn lần xuất hiện của sự kiện")
        text = events.body(facts, occurrence, self.builder.deployment, now, self.settings.timezone)
        return Message(
            key=row.key,
            channel=row.channel,
            recipient=row.recipient,
            recipient_name=row.recipient,
            subject=str(facts["type"]),
            text=text.decode("utf-8"),
            attempt=row.attempts + 1,
        )

    def _failed(
        self,
        row: ClaimedReminder,
        error: str,
        permanent: bool,
        retry_after: float | None,
        alert: bool = False,
        maybe_sent: bool = False,
    ) -> None:
        """`maybe_sent`: the provider may have taken it (NotifierError.maybe_sent); later sends of
        the reminder are recorded as possible duplicates."""
        now = utcnow()
        attempts = row.attempts + 1
        dead = permanent or attempts >= MAX_ATTEMPTS
        if dead:
            reason = error if permanent else f"hết {MAX_ATTEMPTS} lần thử: {error}"
            self.recorder.dead(row, now, error, reason, maybe_sent)
        else:
            delay = backoff(attempts)
            if retry_after:
                delay = max(delay, timedelta(seconds=retry_after))
            self.recorder.retry(row, now, error, self._retry_at(row, now + delay), maybe_sent)
        extra = outcome(row, AttemptOutcome.DEAD if dead else AttemptOutcome.RETRY, dead=dead, error=error)
        if maybe_sent:
            extra["maybe_sent"] = True
        if alert:  # only the operator can fix it: a key, a template, a balance
            log.error("channel needs the operator: check its configuration", extra=extra)
        else:
            log.warning("send failed", extra=extra)
        if self.metrics:
            self.metrics.failed(row.channel, permanent=permanent, dead=dead, alert=alert)


def outcome(row: ClaimedReminder, result: AttemptOutcome, **details: Any) -> dict[str, Any]:
    """The fields of the one log line each send outcome gets (sent, retry, dead, fallback)."""
    fields = {"reminder": row.id, "channel": row.channel, "outcome": str(result), "attempt": row.attempts + 1}
    if getattr(row, "maybe_sent", False):
        fields["possible_duplicate"] = True
    return {**fields, **details}
