"""Rate limit, circuit breaker and quota: the rules, on a clock the test moves."""

from __future__ import annotations

import asyncio
from contextlib import contextmanager
from unittest.mock import patch

from hypothesis import given
from hypothesis import strategies as st

from scheduler.config.schema import ChannelSpec
from scheduler.dispatch.guards import ChannelGuard, Circuit, DailyQuota, RateLimit


@contextmanager
def mock_sleep(replacement):
    """asyncio.sleep on the test's clock: moving the clock instead of waiting."""
    with patch("scheduler.dispatch.guards.asyncio.sleep", replacement):
        yield


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def simulate(rate: RateLimit, clock: Clock, arrivals: list[float], durations: list[float]) -> list[tuple]:
    """Sends arriving after the given gaps, one after another through `rate`, each taking its
    duration; return each send's (start, end)."""
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    async def run() -> list[tuple]:
        done = []
        for gap, duration in zip(arrivals, durations, strict=True):
            clock.now += gap
            await rate.acquire()
            start = clock.now
            clock.now += duration
            rate.release()
            done.append((start, clock.now))
        return done

    with mock_sleep(fake_sleep):
        return asyncio.run(run())


@given(
    limit=st.integers(1, 20),
    per=st.floats(0.5, 120),
    sends=st.lists(st.tuples(st.floats(0, 30), st.floats(0, 5)), min_size=1, max_size=80),
)
def test_no_window_at_the_provider_ever_holds_more_than_the_limit(limit, per, sends):
    """Whenever, between its start and its end, a request reaches the provider, no window of
    `per` seconds there holds more than `limit`: at each start, fewer than `limit` earlier
    sends ended less than `per` before it."""
    clock = Clock()
    done = simulate(RateLimit(limit, per, clock), clock, *map(list, zip(*sends, strict=True)))
    for start, _ in done:
        recent = [1 for s, e in done if s < start and e + per > start]
        assert len(recent) < limit


def test_a_full_window_delays_the_next_send_until_a_token_comes_back():
    clock = Clock()
    done = simulate(RateLimit(60, 60, clock), clock, [0.0] * 61, [0.5] + [0.0] * 60)
    assert [start for start, _ in done[:60]] == [1000.0] + [1000.5] * 59
    assert done[60][0] == 1060.5  # 60 s after the first send *ended*


def test_with_every_token_in_flight_a_send_waits_for_one_to_end():
    clock = Clock()
    rate = RateLimit(1, 10, clock)

    async def scenario() -> None:
        await rate.acquire()
        assert rate.wait() == 10  # unknown: the send has not ended
        rate.release()
        assert rate.wait() == 10

    asyncio.run(scenario())


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
