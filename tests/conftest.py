"""Shared fixtures: a copy of the sample configuration, one store per backend, an SMTP server,
the provider doubles. No module imports this file: helpers are in tests/support/.

The store fixture runs every test that uses it against SQLite and against the real
PostgreSQL server (TEST_POSTGRES_URL, default postgres@127.0.0.1:5432), in a fresh
database per test run. Outside CI a missing server skips those cases with the reason;
in CI (CI=true) it fails them.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from scheduler.config.settings import Settings
from scheduler.dispatch.dispatcher import Dispatcher
from scheduler.outbox.store import open_store
from tests.doubles.serve import reset, serve
from tests.support.browser import chromium, ensure_chromium
from tests.support.channels import channel_dispatcher
from tests.support.postgres import new_postgres_database
from tests.support.settings import SAMPLE_CONFIG
from tests.support.smtp_sink import SmtpSink


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A private copy of the sample deployment's configuration, free to edit."""
    target = tmp_path / "config"
    shutil.copytree(SAMPLE_CONFIG, target)
    return target


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, dropped afterwards."""
    with new_postgres_database() as url:
        yield url


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    """A new, empty PostgreSQL database (no schema) for one test, dropped afterwards."""
    with new_postgres_database("nhacviec_empty") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL with an empty schema, once per backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'nhacviec.db'}"
        return
    url = request.getfixturevalue("postgres_database")
    engine = open_store(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "TRUNCATE reminder, occurrence, delivery_attempt, app_user, occurrence_action, event_endpoint,"
                " api_token, api_idempotency, calendar_feed RESTART IDENTITY"
            )
        )
    engine.dispose()
    yield url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = open_store(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """A real SMTP server (aiosmtpd) on a free loopback port, stopped after the test."""
    sink = SmtpSink()
    controller = sink.start()
    try:
        yield sink
    finally:
        controller.stop()


# --- the provider doubles, and routing across channels over them (tests/support/channels.py) ---


@pytest.fixture(scope="module")
def doubles() -> Iterator[dict[str, str]]:
    """The Zalo, eSMS and SpeedSMS doubles served by uvicorn, once per test module."""
    with (
        serve("tests.doubles.zalo:app") as zalo,
        serve("tests.doubles.esms:app") as esms,
        serve("tests.doubles.speedsms:app") as speedsms,
    ):
        yield {"zalo": zalo, "esms": esms, "speedsms": speedsms}


@pytest.fixture
def urls(doubles: dict[str, str]) -> dict[str, str]:
    """The doubles' URLs, each double reset (no requests, no script) for this test."""
    for url in doubles.values():
        reset(url)
    return doubles


@pytest.fixture
def setup(
    tmp_path: Path, config_dir: Path, database_url: str, urls: dict[str, str]
) -> Iterator[Callable[..., tuple[Settings, Engine, Dispatcher]]]:
    """setup(**kwargs) → (settings, engine, dispatcher) of `channel_dispatcher`: A Lưới on Zalo
    falling back to SMS, over the doubles; every engine built is disposed after the test."""

    def build(**kwargs: str) -> tuple[Settings, Engine, Dispatcher]:
        settings, engine, dispatcher = channel_dispatcher(tmp_path, config_dir, database_url, urls, **kwargs)
        built.append(engine)
        return settings, engine, dispatcher

    built: list[Engine] = []
    yield build
    for engine in built:
        engine.dispose()


# --- a real browser (tests/support/browser.py) ---


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Chromium driven by Selenium, once per test run; Debian's chromium and
    chromium-driver are installed first when missing (CI machines start without them)."""
    ensure_chromium()
    with chromium() as driver:
        yield driver
