"""Sign-in throttling, per account and per client address, in the process's memory.

Each key (a login, an address) keeps the times of its recent failed sign-ins. A key with
`limit` failures within `window` is refused until the oldest of them leaves the window; a
success clears the account's failures (not the address's). Memory is bounded: at most
`max_keys` keys are kept, the least recently failed dropped first, and each key keeps at most
`limit` times.

Why in memory rather than a table: a refusal must not cost a database write that an attacker
could drive, and the numbers are small. The price: a restart forgets the counts, and with
several replicas behind a balancer each counts its own (the limit multiplies by their number).
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from scheduler.outbox.store import utcnow

ACCOUNT_LIMIT = 5  # failed sign-ins of one login …
ADDRESS_LIMIT = 20  # … or from one address …
WINDOW = timedelta(minutes=15)  # … within this long
MAX_KEYS = 10_000


@dataclass(frozen=True)
class Refusal:
    until: datetime  # when the next try will be heard
    by_account: bool  # the account's limit (else the address's)


class Window:
    """Failures per key within a sliding window, bounded in keys and per key."""

    def __init__(self, limit: int, window: timedelta, max_keys: int) -> None:
        self.limit, self.window, self.max_keys = limit, window, max_keys
        self._failures: OrderedDict[str, deque[datetime]] = OrderedDict()

    def blocked_until(self, key: str, now: datetime) -> datetime | None:
        times = self._failures.get(key)
        if not times:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times[0] + self.window if len(times) >= self.limit else None

    def fail(self, key: str, now: datetime) -> None:
        times = self._failures.pop(key, None) or deque(maxlen=self.limit)
        times.append(now)
        self._failures[key] = times  # most recent last
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    def clear(self, key: str) -> None:
        self._failures.pop(key, None)

    def __len__(self) -> int:
        return len(self._failures)


class Throttle:
    def __init__(
        self,
        account_limit: int = ACCOUNT_LIMIT,
        address_limit: int = ADDRESS_LIMIT,
        window: timedelta = WINDOW,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.accounts = Window(account_limit, window, max_keys)
        self.addresses = Window(address_limit, window, max_keys)
        self.clock = clock

    def refused(self, login: str, address: str) -> Refusal | None:
        """Whether a sign-in for `login` from `address` is refused now, without trying it."""
        now = self.clock()
        if until := self.accounts.blocked_until(login.strip().lower(), now):
            return Refusal(until, by_account=True)
        if until := self.addresses.blocked_until(address, now):
            return Refusal(until, by_account=False)
        return None

    def failed(self, login: str, address: str) -> None:
        now = self.clock()
        self.accounts.fail(login.strip().lower(), now)
        self.addresses.fail(address, now)

    def succeeded(self, login: str) -> None:
        self.accounts.clear(login.strip().lower())
