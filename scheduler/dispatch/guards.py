"""Per-channel protections applied before a send: rate limit, daily quota, circuit breaker.

Each channel of `config/channels.yaml` may set `rate: 60/min`, `daily_quota: 20000`
and `circuit: {failures: 5, pause: 60}`. They hold per daemon process: with several
replicas, divide the rate and the quota between them. A reminder that cannot go now
is postponed, never dropped: the dispatcher gives it back with a later
`next_attempt_at` and does not count an attempt.
"""

from __future__ import annotations

import asyncio
import heapq
import time
from collections.abc import Callable
from datetime import date

from scheduler.config.schema import ChannelSpec


class RateLimit:
    """At most `limit` sends in any window of `per` seconds, as the provider counts them.

    A token bucket whose `limit` tokens come back `per` seconds after the send that took
    one has *finished*. The provider sees a request somewhere between its start and its
    end, so counting from the end is what guarantees that no window of `per` seconds at
    the provider holds more than `limit` requests, whatever the delays on the way;
    counting from the start let 56 through in a second at 50/s.
    """

    def __init__(self, limit: int, per: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.per = per
        self.clock = clock
        self._free = [float("-inf")] * limit  # a heap: when each token not in use comes back

    def wait(self) -> float:
        """Seconds before a token comes back (`per` when every token is in use)."""
        if not self._free:
            return self.per
        return max(0.0, self._free[0] - self.clock())

    async def acquire(self) -> None:
        """Wait for a token and take it; call `release` when the send has finished."""
        while self.wait() > 0:
            await asyncio.sleep(self.wait() if self._free else self.per / self.limit)
        heapq.heappop(self._free)

    def release(self) -> None:
        """The send that took a token has finished: the token comes back `per` seconds from now."""
        heapq.heappush(self._free, self.clock() + self.per)


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
