"""Rate limit, circuit breaker and quota: the rules, on a clock the test moves."""

from __future__ import annotations

import asyncio
from contextlib import contextmanager
from unittest.mock import patch

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scheduler.guards import ChannelGuard, Circuit, DailyQuota, RateLimit
from scheduler.schema import ChannelSpec


@contextmanager
def mock_sleep(replacement):
    """asyncio.sleep on the test's clock: moving the clock instead of waiting."""
    with patch("scheduler.guards.asyncio.sleep", replacement):
        yield


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def send_all(limit: RateLimit, clock: Clock, count: int) -> list[float]:
    """Send `count` messages as fast as the limit lets them go; return their start times."""
    times = []
    for _ in range(count):
        clock.now += limit.wait()
        limit.take()
        times.append(clock.now)
    return times


@given(
    limit=st.integers(1, 20),
    per=st.floats(0.5, 120),
    gaps=st.lists(st.floats(0, 30), min_size=1, max_size=80),
)
def test_no_window_ever_holds_more_than_the_limit(limit, per, gaps):
    clock = Clock()
    rate = RateLimit(limit, per, clock)
    times = []
    for gap in gaps:  # arrivals at irregular times, each sent as soon as allowed
        clock.now += gap
        times += send_all(rate, clock, 1)
    for i, start in enumerate(times):
        in_window = [t for t in times[i:] if t < start + per]
        assert len(in_window) <= limit


def test_a_full_window_delays_the_next_send_until_the_oldest_leaves_it_with_a_margin():
    clock = Clock()
    rate = RateLimit(60, 60, clock)
    times = send_all(rate, clock, 61)
    assert times[:60] == [1000.0] * 60
    assert times[60] == 1000.0 + 60 * (1 + RateLimit.MARGIN)


def test_acquire_waits_its_turn():
    clock = Clock()
    rate = RateLimit(2, 10, clock)
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    async def three() -> None:
        for _ in range(3):
            await rate.acquire()

    with mock_sleep(fake_sleep):
        asyncio.run(three())
    assert slept == [pytest.approx(10 * (1 + RateLimit.MARGIN))]


def test_the_circuit_opens_after_consecutive_failures_and_lets_one_trial_through():
    clock = Clock()
    circuit = Circuit(failures=3, pause=60, clock=clock)
    assert [circuit.failed() for _ in range(3)] == [False, False, True]
    assert circuit.blocked_for() == 60
    clock.now += 61
    assert circuit.blocked_for() == 0  # the trial
    assert circuit.blocked_for() > 0  # others wait for its outcome
    assert circuit.failed() is True  # the trial failed: open again
    assert circuit.blocked_for() == 60
    clock.now += 60
    assert circuit.blocked_for() == 0
    circuit.succeeded()
    assert not circuit.is_open and circuit.blocked_for() == 0


def test_a_success_resets_the_count_of_failures():
    circuit = Circuit(failures=2, pause=10, clock=Clock())
    circuit.failed()
    circuit.succeeded()
    assert circuit.failed() is False


def test_channel_guard_builds_what_the_configuration_asks():
    guard = ChannelGuard(ChannelSpec.model_validate({"rate": "2/5s", "daily_quota": 3}))
    assert (guard.rate.limit, guard.rate.per) == (2, 5.0)
    assert isinstance(guard.quota, DailyQuota) and guard.quota.limit == 3
    bare = ChannelGuard(ChannelSpec())
    assert bare.rate is None and bare.quota is None and bare.circuit.failures == 5
