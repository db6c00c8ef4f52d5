"""Per-channel protections applied before a send: rate limit, daily quota, circuit breaker.

Each channel of `config/channels.yaml` may set `rate: 60/min`, `daily_quota: 20000`
and `circuit: {failures: 5, pause: 60}`. They hold per daemon process: with several
replicas, divide the rate and the quota between them. A reminder that cannot go now
is postponed, never dropped: the dispatcher gives it back with a later
`next_attempt_at` and does not count an attempt.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from datetime import date

from scheduler.schema import ChannelSpec


class RateLimit:
    """At most `limit` sends in any window of `per` seconds (a sliding window).

    Each send takes one of `limit` tokens, which comes back `per` seconds after that
    send: a token bucket that never lets a window hold more than `limit` sends, which
    a bucket refilled continuously would (up to twice the limit across a window).
    Tokens are taken at the moment a send starts, and come back `MARGIN` later than
    `per`, so that the variable delay before a request reaches the provider does not
    put `limit` + 1 sends in one of its windows.
    """

    MARGIN = 0.02

    def __init__(self, limit: int, per: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.per = per
        self.clock = clock
        self._window = per * (1 + self.MARGIN)
        self._taken: deque[float] = deque()  # when the last `limit` sends started, in order

    def wait(self) -> float:
        """Seconds before a send may start (0: now)."""
        if len(self._taken) < self.limit:
            return 0.0
        return max(0.0, self._taken[-self.limit] + self._window - self.clock())

    def take(self) -> None:
        """A send starts now (call only when `wait()` is 0, without awaiting in between)."""
        self._taken.append(self.clock())
        while len(self._taken) > self.limit:
            self._taken.popleft()

    async def acquire(self) -> None:
        """Wait until a send may start, and start it."""
        while (seconds := self.wait()) > 0:
            await asyncio.sleep(seconds)
        self.take()


class DailyQuota:
    """At most `limit` accepted sends per local day. `used` starts from the database's count."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.day: date | None = None
        self.used = 0

    def start_day(self, day: date, used: int) -> None:
        self.day, self.used = day, used

    def exhausted(self) -> bool:
        return self.used >= self.limit


class Circuit:
    """Opens after `failures` consecutive provider failures; after `pause` seconds one send
    is let through: success closes the circuit, failure opens it for another pause."""

    def __init__(self, failures: int, pause: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.failures = failures
        self.pause = pause
        self.clock = clock
        self._consecutive = 0
        self._open_until: float | None = None
        self._trial = False  # one send is on trial while half-open

    def blocked_for(self) -> float:
        """Seconds before a send may go (0: it may go now, and it is the trial when half-open)."""
        if self._open_until is None:
            return 0.0
        left = self._open_until - self.clock()
        if left > 0:
            return left
        if self._trial:
            return self.pause / 10  # wait for the trial's outcome
        self._trial = True
        return 0.0

    @property
    def is_open(self) -> bool:
        return self._open_until is not None

    def succeeded(self) -> None:
        self._consecutive, self._open_until, self._trial = 0, None, False

    def failed(self) -> bool:
        """Count a provider failure; True when this failure opened (or re-opened) the circuit."""
        self._consecutive += 1
        if self._trial or (self._open_until is None and self._consecutive >= self.failures):
            self._open_until, self._trial = self.clock() + self.pause, False
            return True
        return False


class ChannelGuard:
    """The rate limit, quota and circuit of one channel (each optional but the circuit)."""

    def __init__(self, spec: ChannelSpec, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = RateLimit(*spec.rate, clock=clock) if spec.rate else None
        self.quota = DailyQuota(spec.daily_quota) if spec.daily_quota else None
        self.circuit = Circuit(spec.circuit.failures, spec.circuit.pause, clock=clock)

    def release_quota(self) -> None:
        """Give back the place a send took in today's quota when it did not go out."""
        if self.quota:
            self.quota.used = max(0, self.quota.used - 1)
