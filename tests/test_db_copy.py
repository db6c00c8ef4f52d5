"""`nhacviec db copy`: SQLite → PostgreSQL loses nothing, refuses a non-empty target or an old source."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, Row, func, insert, select, text, update
from typer.testing import CliRunner

from notifiers.zalo.tokens import ZaloToken
from scheduler.cli.app import app
from scheduler.config.loader import load_config
from scheduler.outbox.acks import acknowledge
from scheduler.outbox.db_copy import TABLES, CopyRefused, copy_database
from scheduler.outbox.store import DeliveryAttempt, Reminder, Status, make_engine, open_store
from scheduler.outbox.sync import sync
from tests.support.postgres import new_postgres_database
from tests.support.settings import make_settings

TODAY = date(2026, 11, 2)
SENT_AT = datetime(2026, 11, 2, 1, 0, 3, 123456, tzinfo=UTC)


@pytest.fixture
def fresh_postgres() -> Iterator[Callable[[], str]]:
    """Makes empty PostgreSQL databases (no schema at all), dropped after the test."""
    with ExitStack() as stack:
        yield lambda: stack.enter_context(new_postgres_database("nhacviec_copy"))


@pytest.fixture
def sqlite_source(tmp_path: Path, config_dir: Path) -> str:
    """A synced sample deployment with some history: a sent reminder and its attempt,
    a confirmed occurrence, a quiet-hours override and a Zalo token pair."""
    url = f"sqlite:///{tmp_path / 'nguon.db'}"
    engine = open_store(url)
    settings = make_settings(tmp_path, config_dir, url)
    report = sync(engine, load_config(config_dir), settings, TODAY)
    assert report.added > 100
    reminders = Reminder.__table__
    with engine.begin() as conn:
        first, second = conn.execute(
            select(reminders.c.id)
            .where(reminders.c.status == Status.PENDING)
            .order_by(reminders.c.id)
            .limit(2)
        ).scalars()
        conn.execute(
            update(reminders)
            .where(reminders.c.id == first)
            .values(status=Status.SENT, sent_at=SENT_AT, attempts=1, provider_id="msg-1", claimed_by=None)
        )
        conn.execute(
            update(reminders)
            .where(reminders.c.id == second)
            .values(ignore_quiet_hours=True, last_error="Lỗi tạm thời: máy chủ bận")
        )
        conn.execute(
            insert(DeliveryAttempt.__table__).values(
                reminder_id=first,
                attempted_at=SENT_AT - timedelta(microseconds=7),
                channel="email",
                outcome="sent",
                provider_id="msg-1",
            )
        )
        conn.execute(
            insert(ZaloToken.__table__).values(
                app_id="1234567890",
                access_token="truy-cập",
                refresh_token="làm-mới",
                access_expires_at=SENT_AT + timedelta(hours=25),
                refresh_issued_at=SENT_AT,
                version=3,
                last_error=None,
                updated_at=SENT_AT,
            )
        )
        occurrence = conn.execute(
            select(reminders.c.occurrence_key).where(reminders.c.id == second)
        ).scalar_one()
    acknowledge(engine, occurrence, by="Nguyễn Văn A", at=SENT_AT + timedelta(seconds=1))
    engine.dispose()
    return url


def dump(engine: Engine) -> dict[str, list[Row]]:
    with engine.connect() as conn:
        return {
            table.name: list(conn.execute(select(table).order_by(*table.primary_key.columns)))
            for table in TABLES
        }


def test_sqlite_to_postgresql_copies_every_row_exactly(sqlite_source, fresh_postgres, tmp_path):
    target_url = fresh_postgres()
    counts = copy_database(sqlite_source, target_url, batch=50)

    source, target = make_engine(sqlite_source), make_engine(target_url)
    before, after = dump(source), dump(target)
    assert counts == {name: len(rows) for name, rows in before.items()}
    assert counts["reminder"] > 150 and counts["occurrence"] > 30  # several batches
    assert counts["delivery_attempt"] == 1 and counts["zalo_token"] == 1
    assert after == before
    # The values kept their types: aware UTC instants (to the microsecond), dates, booleans.
    sent = next(row for row in after["reminder"] if row.status == Status.SENT)
    assert sent.sent_at == SENT_AT and sent.sent_at.tzinfo is not None
    assert isinstance(sent.due_date, date) and not isinstance(sent.due_date, datetime)
    assert sum(row.ignore_quiet_hours is True for row in after["reminder"]) == 1
    assert any(
        row.status == "submitted" and row.confirmed_by == "Nguyễn Văn A" for row in after["occurrence"]
    )

    # Back from PostgreSQL into a new SQLite file: still the same rows.
    round_trip = f"sqlite:///{tmp_path / 've.db'}"
    copy_database(target_url, round_trip)
    assert dump(make_engine(round_trip)) == before


def test_a_second_copy_is_refused_and_changes_nothing(sqlite_source, fresh_postgres):
    target_url = fresh_postgres()
    copy_database(sqlite_source, target_url)
    target = make_engine(target_url)
    before = dump(target)
    with pytest.raises(CopyRefused, match="đã có dữ liệu trong bảng occurrence, reminder"):
        copy_database(sqlite_source, target_url)
    assert dump(target) == before


def test_ids_continue_after_the_copy(sqlite_source, fresh_postgres):
    target_url = fresh_postgres()
    copy_database(sqlite_source, target_url)
    target = make_engine(target_url)
    reminders, attempts = Reminder.__table__, DeliveryAttempt.__table__
    with target.begin() as conn:
        highest = conn.execute(select(func.max(reminders.c.id))).scalar_one()
        new_id = conn.execute(
            insert(reminders)
            .values(
                key="k" * 32,
                occurrence_key="moi/moi/2026/moi",
                contact_key="moi/focal",
                channel="email",
                rung="0d",
                kind="due",
                recipient="a@example.org",
                due_date=TODAY,
                send_at=SENT_AT,
            )
            .returning(reminders.c.id)
        ).scalar_one()
        attempt_id = conn.execute(
            insert(attempts)
            .values(reminder_id=new_id, attempted_at=SENT_AT, channel="email", outcome="sent")
            .returning(attempts.c.id)
        ).scalar_one()
    assert new_id > highest
    assert attempt_id == 2


def test_a_source_with_an_old_schema_is_refused(sqlite_source, tmp_path):
    engine = make_engine(sqlite_source)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0005'"))
    engine.dispose()
    target_url = f"sqlite:///{tmp_path / 'dich.db'}"
    with pytest.raises(CopyRefused, match=r"bản 0005.*nhacviec db upgrade"):
        copy_database(sqlite_source, target_url)
    assert not (tmp_path / "dich.db").exists()


def test_a_missing_sqlite_source_is_refused(tmp_path):
    with pytest.raises(CopyRefused, match="không có tệp"):
        copy_database(f"sqlite:///{tmp_path / 'khong-co.db'}", f"sqlite:///{tmp_path / 'dich.db'}")
    assert not (tmp_path / "khong-co.db").exists()


def test_the_command_prints_the_counts_and_refuses_a_second_run(sqlite_source, fresh_postgres):
    target_url = fresh_postgres()
    shown = target_url.replace("postgresql+psycopg://", "postgresql://")  # either spelling works
    runner = CliRunner()
    result = runner.invoke(app, ["db", "copy", "--from", sqlite_source, "--to", shown])
    assert result.exit_code == 0, result.output
    counts = {name: len(rows) for name, rows in dump(make_engine(sqlite_source)).items()}
    for name, count in counts.items():
        assert f"{name}: {count} dòng" in result.stdout
    assert f"Đã sao chép {sum(counts.values())} dòng" in result.stdout

    again = runner.invoke(app, ["db", "copy", "--from", sqlite_source, "--to", shown])
    assert again.exit_code == 1
    assert "Không sao chép" in again.stderr and "đã có dữ liệu" in again.stderr


def test_a_sqlite_source_in_use_by_the_service_is_refused(sqlite_source, tmp_path):
    from scheduler.service.daemon import single_instance

    with single_instance(sqlite_source), pytest.raises(CopyRefused, match="dừng dịch vụ"):
        copy_database(sqlite_source, f"sqlite:///{tmp_path / 'dich.db'}")
    assert not (tmp_path / "dich.db").exists()


def test_sends_a_stopped_daemon_left_in_its_journal_arrive_as_sent(sqlite_source, tmp_path):
    """The daemon writes a batch's sends into the database at the batch's end; after a crash
    they are only in its journal, which the copy (holding the daemon's lock) writes first."""
    import json

    from scheduler.outbox.recorder import journal_path

    source = make_engine(sqlite_source)
    reminders = Reminder.__table__
    with source.begin() as conn:
        row_id = (
            conn.execute(
                select(reminders.c.id).where(reminders.c.status == Status.PENDING).order_by(reminders.c.id)
            )
            .scalars()
            .first()
        )
        conn.execute(
            update(reminders).where(reminders.c.id == row_id).values(status=Status.CLAIMED, claimed_by="h:1")
        )
    source.dispose()
    journal = journal_path(sqlite_source)
    journal.write_text(
        json.dumps([row_id, 1, "email", "msg-2", SENT_AT.isoformat()]) + "\n", encoding="utf-8"
    )

    target_url = f"sqlite:///{tmp_path / 'dich.db'}"
    copy_database(sqlite_source, target_url)
    target = make_engine(target_url)
    with target.connect() as conn:
        copied = conn.execute(select(reminders).where(reminders.c.id == row_id)).one()
        outcomes = (
            conn.execute(select(DeliveryAttempt.outcome).where(DeliveryAttempt.reminder_id == row_id))
            .scalars()
            .all()
        )
    assert (copied.status, copied.provider_id, copied.sent_at, copied.claimed_by) == (
        Status.SENT, "msg-2", SENT_AT, None,
    )  # fmt: skip
    assert outcomes == ["sent"] and not journal.exists()
