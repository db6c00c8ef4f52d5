"""Settings are parsed strictly; the migrations build exactly the schema the models describe."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from scheduler.config.settings import SettingsError, load_settings, redact_url
from scheduler.outbox.db_copy import TABLES  # noqa: F401 - the channels' tables too
from scheduler.outbox.store import SQLModel, open_store


def test_defaults():
    settings = load_settings(env={})
    assert settings.database_url == "sqlite:///var/nhacviec.db"
    assert str(settings.timezone) == "Asia/Ho_Chi_Minh"
    assert settings.send_time == time(8, 0)
    assert settings.horizon_days == 180
    assert settings.config_dir == Path("config")


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("NHACVIEC_TIMEZONE", "Asia/Hanoi_City", "không phải múi giờ IANA"),
        ("NHACVIEC_SEND_TIME", "25:00", "cần giờ dạng HH:MM"),
        ("NHACVIEC_HORIZON_DAYS", "0", "từ 1 đến 3660"),
        ("NHACVIEC_SMTP_SECURITY", "ssl", "chọn một trong: none, starttls, tls"),
        ("NHACVIEC_QUIET_HOURS", "22:00", "HH:MM-HH:MM"),
        ("NHACVIEC_DATABASE_URL", "mysql://x@y/z", "không được hỗ trợ"),
        ("NHACVIEC_SEND_TIMES", "08:00", "biến cấu hình không có: NHACVIEC_SEND_TIMES"),
    ],
)
def test_bad_values_name_the_variable(key, value, words):
    with pytest.raises(SettingsError, match=words):
        load_settings(env={key: value})


def test_secrets_come_from_a_file_and_are_redacted(tmp_path):
    secret = tmp_path / "db_url"
    secret.write_text("postgresql+psycopg://nhacviec:s3cr3t@db.internal/nhacviec\n", encoding="utf-8")
    settings = load_settings(env={"NHACVIEC_DATABASE_URL_FILE": str(secret)})
    assert settings.database_url.endswith("@db.internal/nhacviec")
    assert "s3cr3t" not in settings.database_url_redacted
    assert redact_url("postgresql://u:p@h/d") == "postgresql://u:***@h/d"
    with pytest.raises(SettingsError) as caught:
        load_settings(env={"NHACVIEC_DATABASE_URL": "mysql://u:s3cr3t@h/d"})
    assert "s3cr3t" not in str(caught.value)


def test_migrations_match_the_models(database_url):
    engine = open_store(database_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    assert diff == []
    open_store(database_url)  # upgrading again is a no-op


def test_sqlite_runs_in_wal_mode(tmp_path):
    engine = open_store(f"sqlite:///{tmp_path / 'sub' / 'n.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_bulk_insert_writes_what_a_plain_insert_writes(engine):
    from datetime import UTC, date, datetime

    from sqlalchemy import String, func, insert, select

    from scheduler.outbox.store import Reminder, bulk_insert

    row = {
        "occurrence_key": "p/i/2026/a", "contact_key": "a/focal", "channel": "email", "rung": "-7d",
        "kind": "upcoming", "recipient": "a@example.org", "due_date": date(2026, 12, 10),
        "send_at": datetime(2026, 12, 3, 1, 0, tzinfo=UTC), "status": "pending", "attempts": 0,
    }  # fmt: skip
    table = Reminder.__table__
    with engine.begin() as conn:
        conn.execute(
            insert(table).values(created_at=func.now(), updated_at=func.now()), [{**row, "key": "plain"}]
        )
        bulk_insert(conn, table, [{**row, "key": "bulk"}], created_at=func.now(), updated_at=func.now())
        rows = {r.key: r for r in conn.execute(select(table))}
    columns = [c.name for c in table.columns if c.name not in ("id", "key", "created_at", "updated_at")]
    assert [getattr(rows["bulk"], c) for c in columns] == [getattr(rows["plain"], c) for c in columns]
    assert rows["bulk"].send_at == datetime(2026, 12, 3, 1, 0, tzinfo=UTC)
    with engine.connect() as conn:  # the same stored text too: SQLite compares dates as text
        stored = dict(conn.execute(select(table.c.key, func.cast(table.c.send_at, String))).all())
    assert stored["bulk"] == stored["plain"]
    assert abs(rows["bulk"].created_at - datetime.now(UTC)).total_seconds() < 60


def test_env_example_documents_every_setting_with_valid_values():
    from dotenv import dotenv_values

    from notifiers.registry import channel_names, notifier_class
    from scheduler.config.settings import DEFAULTS, PREFIX
    from tests.support.settings import ROOT

    example = dotenv_values(ROOT / ".env.example")
    channel_secrets = {
        PREFIX + name for channel in channel_names() for name in notifier_class(channel).secrets
    }
    assert set(example) == {PREFIX + key for key in DEFAULTS} | channel_secrets
    load_settings(env={k: v or "" for k, v in example.items()})


def test_upgrading_rewrites_send_at_stored_in_the_old_sqlite_form(tmp_path):
    from alembic import command
    from alembic.config import Config

    from scheduler.outbox.store import MIGRATIONS, make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0005")
        conn.execute(
            text(
                "INSERT INTO reminder (key, occurrence_key, contact_key, channel, rung, kind, recipient, due_date,"
                " send_at, status, attempts, created_at, updated_at) VALUES"
                " ('k1', 'o', 'c', 'email', '0d', 'due', 'a@example.org', '2026-12-10',"
                " '2026-12-10 01:00:00+00:00', 'pending', 0, '2026-11-01 00:00:00', '2026-11-01 00:00:00'),"
                " ('k2', 'o', 'c', 'email', '-3d', 'upcoming', 'a@example.org', '2026-12-10',"
                " '2026-12-07 01:00:00.250000+00:00', 'pending', 0, '2026-11-01 00:00:00', '2026-11-01 00:00:00')"
            )
        )
    open_store(str(engine.url))
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT key, send_at FROM reminder")).all())
    assert stored == {"k1": "2026-12-10 01:00:00.000000", "k2": "2026-12-07 01:00:00.250000"}
