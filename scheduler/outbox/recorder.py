"""Recording what came of each attempt: the one place that writes a claimed reminder's outcome.

Sent (`add`), retry, dead, fallback and postponed (`retry`, `dead`, `fallback`, `postpone`): the
dispatcher decides, this module writes. The outcomes other than sent are rare, and each is
committed at once in its own transaction (the row's new state and its `delivery_attempt`).
Sends are many, and recorded cheaply enough to keep up with the providers, so that a crash
repeats at most the sends in flight:

Marking a reminder sent is an UPDATE, an INSERT into `delivery_attempt` and a commit: done
once per message it was the dispatcher's largest cost after the HTTP exchange itself
(bench/README.md). A crash (kill -9, power cut of the process) must not send a reminder
twice except those in flight, so each send must be on record before its sender's next
message reaches a provider. Two ways, by database:

- **A journal (SQLite file).** Each send is appended as one line to a journal file next to
  the database (`<database>.sent`) before `add` returns: one `write`, durable against a
  crash of the process as soon as it returns (the page cache is the kernel's). `flush`,
  at the end of each batch, writes the batch's sends into the database in one transaction
  and empties the journal. The daemon, the only process on its SQLite file, calls
  `recover` at start before it gives back orphaned claims: the sends a crash left in the
  journal are written then, so they are not sent again. Like SQLite's own commits with
  `synchronous=NORMAL`, the journal is not flushed to the disk: an operating-system crash
  may lose its last lines, and their rows go again after their lease.
- **A commit per turn of the event loop (PostgreSQL, or SQLite without a file).** Replicas
  take over each other's rows, so a send is on record only in the shared database. The
  sends that finish in one turn share a commit: the first schedules it with
  `loop.call_soon`, the others join it. Such a callback runs before any later step of
  the task that added the send, and a sender's next message reaches a provider only after
  the notifier has awaited I/O (`Notifier.send`'s contract), hence after that commit. The
  senders do not wait for the commit: any await between two sends left HTTP connections
  idle and cost 0.2–0.5 ms per message.

Either way nothing treats a send as recorded in the database before its commit: the
metrics count it after, and the dispatcher calls `flush()` before it reads the outbox
again or gives its claims back.

A commit that fails (a full disk, a lost connection) forgets nothing: its sends stay
pending in memory and in the journal, and every later flush writes them first, so that
their rows are never taken back and sent again. The journal is emptied only by a flush
that committed everything it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, bindparam, insert, update

from notifiers.base import Delivery
from scheduler.outbox.metrics import Metrics
from scheduler.outbox.store import (
    AttemptOutcome,
    ClaimedReminder,
    DeliveryAttempt,
    Prepared,
    Reminder,
    Status,
    dbapi_transaction,
    sqlite_file,
    utcnow,
)

log = logging.getLogger("nhacviec.recorder")

ATTEMPT_COLUMNS = (
    "reminder_id", "attempted_at", "channel", "outcome", "provider_id", "error", "possible_duplicate",
)  # fmt: skip
SENT = AttemptOutcome.SENT.value  # read once: an enum member's `.value` costs 1 µs per row
ERROR_LENGTH = 1000  # the longest error or reason kept on a row or an attempt


def journal_path(database_url: str) -> Path | None:
    """Where the sends of a daemon on this SQLite file are journaled; None for other databases."""
    database = sqlite_file(database_url)
    return None if database is None else database.with_suffix(database.suffix + ".sent")


class SendRecorder:
    """Writes the outcome of every attempt on a claimed row. Sends go through a journal
    (`journal`, SQLite) or a commit per turn of the event loop; the other outcomes are
    committed at once."""

    def __init__(self, engine: Engine, metrics: Metrics | None = None, journal: Path | None = None) -> None:
        self.engine = engine
        self.metrics = metrics
        self.journal = journal
        t, dialect = Reminder.__table__, engine.dialect
        self._mark_sent = Prepared(
            update(t)
            .where(t.c.id == bindparam("row_id"))
            .values(
                status=Status.SENT, sent_at=bindparam("now"), provider_id=bindparam("provider"),
                attempts=bindparam("new_attempts"), lease_until=None, claimed_by=None, last_error=None,
                updated_at=bindparam("now"),
            ),
            dialect,
        )  # fmt: skip
        self._add_attempt = Prepared(insert(DeliveryAttempt.__table__).inline(), dialect, ATTEMPT_COLUMNS)
        self._record_attempt = insert(DeliveryAttempt.__table__)  # the other outcomes: one by one
        self._pending: list[tuple[ClaimedReminder, Delivery]] = []
        self._scheduled: asyncio.Handle | None = None
        self._journal_fd: int | None = None
        self._error: Exception | None = None
        self._writes_failing = False

    @property
    def failed(self) -> bool:
        """A commit or a journal write failed: stop sending (`flush` raises the error)."""
        return self._error is not None

    @property
    def unrecorded(self) -> int:
        """Sends not yet committed to the database (waiting for a flush, or after a failed one)."""
        return len(self._pending)

    @property
    def writes_failing(self) -> bool:
        """The last commit or journal write failed, and no commit has succeeded since."""
        return self._writes_failing

    # --- the outcomes other than sent: one transaction each ---------------------------------

    def retry(
        self, row: ClaimedReminder, now: datetime, error: str, next_attempt_at: datetime, maybe_sent: bool
    ) -> None:
        """A transient failure: the row waits for `next_attempt_at`. `maybe_sent`: the provider
        may have taken it; later sends of the reminder are recorded as possible duplicates."""
        values = self._failure(row, now, error, maybe_sent)
        values.update(status=Status.PENDING, next_attempt_at=next_attempt_at)
        self._write_outcome(row, now, values, AttemptOutcome.RETRY, error)

    def dead(self, row: ClaimedReminder, now: datetime, error: str, reason: str, maybe_sent: bool) -> None:
        """A permanent failure, or the last allowed attempt: the operator decides. `reason`: what
        the row keeps (`error`, or why no more attempts are made); the attempt keeps `error`."""
        values = self._failure(row, now, reason, maybe_sent)
        values["status"] = Status.DEAD
        self._write_outcome(row, now, values, AttemptOutcome.DEAD, error)

    def fallback(self, row: ClaimedReminder, now: datetime, channel: str, recipient: str, note: str) -> None:
        """The recipient cannot be reached on the row's channel: the row, with its key, waits
        on `channel` for `recipient`, as a new attempt."""
        values = {
            "channel": channel, "recipient": recipient, "status": Status.PENDING, "next_attempt_at": None,
            "attempts": row.attempts + 1, "lease_until": None, "claimed_by": None,
            "last_error": note[:ERROR_LENGTH], "updated_at": now,
            "maybe_sent": False,  # the recipient could not get it on that channel: not sent there
        }  # fmt: skip
        self._write_outcome(row, now, values, AttemptOutcome.FALLBACK, note)

    def postpone(self, row: ClaimedReminder, now: datetime, until: datetime, reason: str) -> None:
        """Give the row back for `until` without counting an attempt: nothing was sent."""
        values = {
            "status": Status.PENDING, "next_attempt_at": until, "lease_until": None, "claimed_by": None,
            "last_error": reason, "updated_at": now,
        }  # fmt: skip
        self._write_outcome(row, now, values, None, None)

    def cancel(self, row: ClaimedReminder, now: datetime, reason: str) -> None:
        """The row no longer holds (an overdue event whose occurrence was confirmed since): not
        sent, no attempt counted."""
        values = {
            "status": Status.CANCELLED, "next_attempt_at": None, "lease_until": None, "claimed_by": None,
            "last_error": reason[:ERROR_LENGTH], "updated_at": now,
        }  # fmt: skip
        self._write_outcome(row, now, values, None, None)

    @staticmethod
    def _failure(row: ClaimedReminder, now: datetime, reason: str, maybe_sent: bool) -> dict[str, Any]:
        values: dict[str, Any] = {
            "attempts": row.attempts + 1, "last_error": reason[:ERROR_LENGTH], "lease_until": None,
            "claimed_by": None, "updated_at": now,
        }  # fmt: skip
        if maybe_sent:
            values["maybe_sent"] = True
        return values

    def _write_outcome(
        self,
        row: ClaimedReminder,
        now: datetime,
        values: dict[str, Any],
        outcome: AttemptOutcome | None,
        error: str | None,
    ) -> None:
        """The row's new state and, for an attempt, its `delivery_attempt`, in one transaction."""
        table = Reminder.__table__
        with self.engine.begin() as conn:
            conn.execute(update(table).where(table.c.id == row.id).values(**values))
            if outcome is not None:
                conn.execute(
                    self._record_attempt,
                    {
                        "reminder_id": row.id, "attempted_at": now, "channel": row.channel, "outcome": outcome,
                        "provider_id": None, "error": None if error is None else error[:ERROR_LENGTH],
                        "possible_duplicate": _duplicate(row),
                    },
                )  # fmt: skip

    # --- sends ------------------------------------------------------------------------------

    def add(self, row: ClaimedReminder, delivery: Delivery) -> None:
        """`row` was sent: journaled now, or committed at the start of the event loop's next turn."""
        self._pending.append((row, delivery))
        if self.journal is not None:
            self._write_journal(self.journal, row, delivery)
        elif self._scheduled is None:
            self._scheduled = asyncio.get_running_loop().call_soon(self._commit_soon)

    def flush(self) -> None:
        """Commit what is pending now; raise if this commit or one since the last flush failed.
        The records of a failed commit stay pending (and in the journal) for the next flush."""
        if self._scheduled is not None:
            self._scheduled.cancel()
            self._scheduled = None
        error, self._error = self._error, None  # cleared even if this commit fails too
        try:
            self._commit()
        except Exception:
            self._close_journal(committed=False)
            raise
        self._close_journal(committed=True)
        if error is not None:
            raise error

    @staticmethod
    def recover(engine: Engine, journal: Path) -> int:
        """Write into the database the sends a crash left in `journal`, then remove it; return how
        many rows were still claimed (the others had been committed). Only for the process
        alone on the database, before it gives back orphaned claims."""
        try:
            lines = journal.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return 0
        t, attempts = Reminder.__table__, DeliveryAttempt.__table__
        recovered = 0
        with engine.begin() as conn:
            for number, line in enumerate(lines, start=1):
                try:
                    row_id, new_attempts, channel, provider, at, *flags = json.loads(line)
                    sent_at = datetime.fromisoformat(at)
                    duplicate = bool(flags and flags[0])
                except (TypeError, ValueError):  # cut short by the crash: the row goes again
                    log.warning(
                        "unreadable line in the send journal", extra={"file": str(journal), "line": number}
                    )
                    continue
                marked = conn.execute(
                    update(t)
                    .where(t.c.id == row_id, t.c.status == Status.CLAIMED)
                    .values(
                        status=Status.SENT, sent_at=sent_at, provider_id=provider, attempts=new_attempts,
                        lease_until=None, claimed_by=None, last_error=None, updated_at=sent_at,
                    )
                ).rowcount  # fmt: skip
                if marked:
                    conn.execute(
                        insert(attempts).values(
                            reminder_id=row_id, attempted_at=sent_at, channel=channel, outcome=SENT,
                            provider_id=provider, possible_duplicate=duplicate,
                        )
                    )  # fmt: skip
                    recovered += 1
        journal.unlink()
        return recovered

    def _commit_soon(self) -> None:
        self._scheduled = None
        try:
            self._commit()
        except Exception as exc:  # raised by the next flush(); the senders stop meanwhile
            self._error = exc

    def _write_journal(self, journal: Path, row: ClaimedReminder, delivery: Delivery) -> None:
        sent = [
            row.id,
            row.attempts + 1,
            row.channel,
            delivery.provider_id,
            utcnow().isoformat(),
            _duplicate(row),
        ]
        line = json.dumps(sent)
        try:
            if self._journal_fd is None:
                self._journal_fd = os.open(journal, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            os.write(self._journal_fd, line.encode() + b"\n")
        except OSError as exc:  # the send is still committed by the flush; the senders stop
            self._error = exc
            self._writes_failing = True

    def _close_journal(self, committed: bool) -> None:
        """After a flush: close the journal, and empty it when everything it holds is committed
        (also the lines of an earlier flush that failed, written by this one)."""
        fd, self._journal_fd = self._journal_fd, None
        try:
            if committed and fd is not None:
                os.ftruncate(fd, 0)
            elif committed and self.journal is not None:
                with contextlib.suppress(FileNotFoundError):
                    os.truncate(self.journal, 0)
        finally:
            if fd is not None:
                os.close(fd)

    def _commit(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        try:
            self._write(pending)
        except BaseException:
            self._pending = pending + self._pending  # kept for the next commit, oldest first
            self._writes_failing = True
            raise
        self._writes_failing = False

    def _write(self, pending: list[tuple[ClaimedReminder, Delivery]]) -> None:
        now = utcnow()  # one time for the rows committed together: converted once
        sent = [
            {"row_id": row.id, "now": now, "provider": delivery.provider_id, "new_attempts": row.attempts + 1}
            for row, delivery in pending
        ]
        attempts = [
            {
                "reminder_id": row.id, "attempted_at": now, "channel": row.channel, "outcome": SENT,
                "provider_id": delivery.provider_id, "error": None, "possible_duplicate": _duplicate(row),
            }
            for row, delivery in pending
        ]  # fmt: skip
        with dbapi_transaction(self.engine) as cursor:
            cursor.executemany(self._mark_sent.sql, [self._mark_sent.params(values) for values in sent])
            cursor.executemany(
                self._add_attempt.sql, [self._add_attempt.params(values) for values in attempts]
            )
        if self.metrics:
            for row, _ in pending:
                self.metrics.sent(row.channel, (now - row.send_at).total_seconds(), _duplicate(row))


def _duplicate(row: ClaimedReminder) -> bool:
    """The row was sent after an attempt the provider may have taken (Reminder.maybe_sent)."""
    return bool(getattr(row, "maybe_sent", False))
