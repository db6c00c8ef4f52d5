"""Shared fixtures: a copy of the sample configuration, settings, and one store per backend.

The store fixture runs every test that uses it against SQLite and against the real
PostgreSQL server (TEST_POSTGRES_URL, default postgres@127.0.0.1:5432), in a fresh
database per test run. Outside CI a missing server skips those cases with the reason;
in CI (CI=true) it fails them.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import Engine, text

from scheduler.config.settings import Settings, load_settings
from scheduler.outbox.store import open_store
from tests.smtp_sink import SmtpSink

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_CONFIG = ROOT / "config"
POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """A private copy of the sample deployment's configuration, free to edit."""
    target = tmp_path / "config"
    shutil.copytree(SAMPLE_CONFIG, target)
    return target


def make_settings(tmp_path: Path, config_dir: Path, database_url: str | None = None, **env: str) -> Settings:
    values = {
        "NHACVIEC_DATABASE_URL": database_url or f"sqlite:///{tmp_path / 'nhacviec.db'}",
        "NHACVIEC_CONFIG_DIR": str(config_dir),
        **env,
    }
    return load_settings(env=values)


@contextmanager
def new_postgres_database(prefix: str = "nhacviec_test") -> Iterator[str]:
    """Create an empty PostgreSQL database, yield its URL, drop it. Without a server: a
    failure in CI (`CI=true`), a skip with the reason elsewhere."""
    try:
        psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI and is not reachable at {POSTGRES_ADMIN_URL}: {exc}")
        pytest.skip(f"no PostgreSQL server reachable at {POSTGRES_ADMIN_URL} (outside CI): {exc}")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


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
        conn.execute(text("TRUNCATE reminder, occurrence, delivery_attempt RESTART IDENTITY"))
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
