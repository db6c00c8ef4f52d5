"""A throwaway PostgreSQL database on the test server (TEST_POSTGRES_URL, default
postgres@127.0.0.1:5432). Outside CI a missing server skips the test with the reason; in CI
(CI=true) it fails it. bench_sync.py uses `unreachable` and `throwaway_database` on a server
of its choice, without pytest."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def unreachable(admin_url: str = POSTGRES_ADMIN_URL) -> str | None:
    """Why the server at `admin_url` cannot be reached, or None when it can."""
    try:
        psycopg.connect(admin_url, autocommit=True, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        return str(exc)
    return None


@contextmanager
def throwaway_database(admin_url: str, prefix: str) -> Iterator[str]:
    """Create an empty database on the server at `admin_url`, yield its URL, drop it."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def new_postgres_database(prefix: str = "nhacviec_test") -> Iterator[str]:
    """Create an empty PostgreSQL database, yield its URL, drop it. Without a server: a
    failure in CI (`CI=true`), a skip with the reason elsewhere."""
    import pytest  # here, not above: bench/ scripts import this module without pytest

    problem = unreachable(POSTGRES_ADMIN_URL)
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(
                f"PostgreSQL is required in CI and is not reachable at {POSTGRES_ADMIN_URL}: {problem}"
            )
        pytest.skip(f"no PostgreSQL server reachable at {POSTGRES_ADMIN_URL} (outside CI): {problem}")
    with throwaway_database(POSTGRES_ADMIN_URL, prefix) as url:
        yield url
