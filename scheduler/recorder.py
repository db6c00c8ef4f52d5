"""Recording sends: those that finish in the same turn of the event loop, in one transaction.

Marking a reminder sent is an UPDATE, an INSERT into `delivery_attempt` and a commit.
Done one by one through SQLAlchemy it was the dispatcher's largest cost per message
(bench/README.md), so the statements are compiled once (`store.Prepared`) and the
sends that finish in one turn of the event loop share a commit: the first of them
schedules the commit with `loop.call_soon`, the others join it.

Why a crash still repeats at most the sends in flight: a callback scheduled with
`call_soon` runs before every task step scheduled after it, so once a send is added
here, no later step of the task that made it runs before the commit. Its sender's next
message can reach the provider only after the notifier has awaited I/O (an HTTP client
awaits its connection pool before it writes, an SMTP client the replies to MAIL and RCPT
before DATA), hence after that commit: each sender has at most one send that its row
does not record yet. A crash leaves those rows claimed, and they go again after their
lease, as the sends in flight always did.

The senders do not wait for the commit: any await added between two sends left HTTP
connections idle and cost 0.2–0.5 ms per message on the HTTP channels. Nothing treats a
send as recorded before its commit: the metrics count it after, and the dispatcher calls
`flush()` before it reads the outbox again or gives its claims back.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import Engine, bindparam, insert, update

from notifiers.base import Delivery
from scheduler.metrics import Metrics
from scheduler.store import DeliveryAttempt, Prepared, Reminder, Status, dbapi_transaction, utcnow

ATTEMPT_COLUMNS = ("reminder_id", "attempted_at", "channel", "outcome", "provider_id", "error")


class SendRecorder:
    """Marks rows sent and records their attempts, a turn of the event loop per transaction."""

    def __init__(self, engine: Engine, metrics: Metrics | None = None) -> None:
        self.engine = engine
        self.metrics = metrics
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
        self._pending: list[tuple[Any, Delivery]] = []
        self._scheduled: asyncio.Handle | None = None
        self._error: Exception | None = None

    @property
    def failed(self) -> bool:
        """A commit failed: stop sending (`flush` raises the error)."""
        return self._error is not None

    def add(self, row: Any, delivery: Delivery) -> None:
        """`row` was sent: committed at the start of the event loop's next turn."""
        self._pending.append((row, delivery))
        if self._scheduled is None:
            self._scheduled = asyncio.get_running_loop().call_soon(self._commit_soon)

    def flush(self) -> None:
        """Commit what is pending now; raise if this commit or one since the last flush failed.
        The records of a failed commit are lost: their rows keep their lease and go again after it."""
        if self._scheduled is not None:
            self._scheduled.cancel()
            self._scheduled = None
        error, self._error = self._error, None  # cleared even if this commit fails too
        self._commit()
        if error is not None:
            raise error

    def _commit_soon(self) -> None:
        self._scheduled = None
        try:
            self._commit()
        except Exception as exc:  # raised by the next flush(); the senders stop meanwhile
            self._error = exc

    def _commit(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        now = utcnow()  # one time for the rows committed together: converted once
        sent = [
            {"row_id": row.id, "now": now, "provider": delivery.provider_id, "new_attempts": row.attempts + 1}
            for row, delivery in pending
        ]
        attempts = [
            {
                "reminder_id": row.id, "attempted_at": now, "channel": row.channel, "outcome": "sent",
                "provider_id": delivery.provider_id, "error": None,
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
                self.metrics.sent(row.channel, (now - row.send_at).total_seconds())
