"""Schema upgrades: from the first migration with data in it, and several replicas at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import select, text
from typer.testing import CliRunner

from scheduler.cli.app import app
from scheduler.outbox.store import (
    Occurrence,
    Reminder,
    Status,
    alembic_config,
    head_revision,
    make_engine,
    open_store,
    schema_revisions,
)
from tests.support.settings import ROOT


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    return request.getfixturevalue("empty_postgres")


FIRST_SCHEMA_ROWS = """
INSERT INTO occurrence (key, plan_id, item_id, kind, period, agency_id, title, start_date, end_date,
                        status, fingerprint, updated_at)
VALUES ('tth-2020-bdg/bao-cao-nam/2026/tth-ubnd-h-a-luoi', 'tth-2020-bdg', 'bao-cao-nam', 'deadline',
        '2026', 'tth-ubnd-h-a-luoi', 'Báo cáo kết quả thực hiện 01 năm', '2026-12-10', '2026-12-10',
        'open', 'f1', '2026-11-01 00:00:00+00');
INSERT INTO reminder (key, occurrence_key, contact_key, channel, rung, kind, recipient, due_date, send_at,
                      status, attempts, lease_until, last_error, created_at, updated_at)
VALUES ('k-upcoming', 'tth-2020-bdg/bao-cao-nam/2026/tth-ubnd-h-a-luoi', 'tth-ubnd-h-a-luoi/focal',
        'email', '-3d', 'upcoming', 'ldtbxh@aluoi.tth.example.org', '2026-12-10', '2026-12-07 01:00:00+00',
        'sent', 1, NULL, NULL, '2026-11-01 00:00:00+00', '2026-12-07 01:00:05+00'),
       ('k-due', 'tth-2020-bdg/bao-cao-nam/2026/tth-ubnd-h-a-luoi', 'tth-ubnd-h-a-luoi/focal',
        'email', '0d', 'due', 'ldtbxh@aluoi.tth.example.org', '2026-12-10', '2026-12-10 01:00:00+00',
        'pending', 0, NULL, NULL, '2026-11-01 00:00:00+00', '2026-11-01 00:00:00+00');
"""


def test_upgrading_a_database_of_the_first_migration_keeps_every_row(empty_database, monkeypatch):
    engine = make_engine(empty_database)
    config = alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        for statement in FIRST_SCHEMA_ROWS.split(";"):
            if statement.strip():
                conn.execute(text(statement))
    assert schema_revisions(engine)[0] == "0001"

    monkeypatch.setenv("NHACVIEC_DATABASE_URL", empty_database)
    runner = CliRunner()
    check = runner.invoke(app, ["db", "check"])
    assert check.exit_code == 1 and "nhacviec db upgrade" in check.output
    upgrade = runner.invoke(app, ["db", "upgrade"])
    assert upgrade.exit_code == 0, upgrade.output
    current, head = schema_revisions(engine)
    assert current == head and f"0001 lên {head}" in upgrade.output
    assert runner.invoke(app, ["db", "check"]).exit_code == 0

    with engine.connect() as conn:
        occurrence = conn.execute(select(Occurrence.__table__)).one()
        reminders = {r.key: r for r in conn.execute(select(Reminder.__table__))}
    assert occurrence.title == "Báo cáo kết quả thực hiện 01 năm" and occurrence.confirmed_at is None
    assert set(reminders) == {"k-upcoming", "k-due"}
    due = reminders["k-due"]
    assert (due.status, due.recipient, due.attempts) == (Status.PENDING, "ldtbxh@aluoi.tth.example.org", 0)
    assert due.send_at.isoformat() == "2026-12-10T01:00:00+00:00"
    assert due.ignore_quiet_hours is False and due.next_attempt_at is None
    assert reminders["k-upcoming"].status == Status.SENT
    engine.dispose()


def test_replicas_upgrading_at_once_migrate_once_and_all_start(empty_postgres):
    env = {**os.environ, "NHACVIEC_DATABASE_URL": empty_postgres}
    env = {k: v for k, v in env.items() if not k.startswith("NHACVIEC_") or k == "NHACVIEC_DATABASE_URL"}
    replicas = [
        subprocess.Popen(
            [sys.executable, "-m", "scheduler", "db", "upgrade"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = []
    try:
        for replica in replicas:
            out, err = replica.communicate(timeout=60)
            outputs.append((replica.returncode, out, err))
    finally:
        for replica in replicas:
            if replica.poll() is None:
                replica.kill()
    assert [code for code, _, _ in outputs] == [0, 0, 0], outputs
    messages = [out for _, out, _ in outputs]
    assert sum("Đã nâng cấp lược đồ từ trống" in m for m in messages) == 1, messages
    assert sum("đã là bản mới nhất" in m for m in messages) == 2, messages
    engine = open_store(empty_postgres)
    assert schema_revisions(engine)[0] == schema_revisions(engine)[1]
    engine.dispose()


def test_the_head_read_from_the_files_is_alembics_own():
    from alembic.script import ScriptDirectory

    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_the_head_is_read_in_the_style_of_the_migration_template_and_unreadable_files_fail(tmp_path):
    """script.py.mako writes `repr()`s (single quotes); a file not understood must not be skipped."""
    (tmp_path / "0001_a.py").write_text('revision = "0001"\ndown_revision = None\n', "utf-8")
    (tmp_path / "0002_b.py").write_text("revision = '0002'\ndown_revision = '0001'\n", "utf-8")
    assert head_revision(tmp_path) == "0002"
    (tmp_path / "0003_merge.py").write_text("revision = '0003'\ndown_revision = ('0001', '0002')\n", "utf-8")
    with pytest.raises(RuntimeError, match=r"0003_merge\.py"):
        head_revision(tmp_path)


def test_opening_a_current_database_does_not_load_alembic(tmp_path):
    """Alembic, Mako and Pygments (~11 MB) stay out of a daemon whose schema is current."""
    url = f"sqlite:///{tmp_path / 'current.db'}"
    open_store(url).dispose()
    probe = (
        "import sys; from scheduler.outbox.store import open_store, schema_revisions; "
        f"engine = open_store({url!r}); print(schema_revisions(engine)[0], sorted("
        "m for m in sys.modules if m.split('.')[0] in ('alembic', 'mako', 'pygments')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.split(" ", 1) == [head_revision(), "[]\n"]


def test_the_retry_index_holds_only_rows_waiting_for_a_retry(tmp_path):
    """Claims and sends leave it alone; the dispatcher's retry lookup still walks it."""
    engine = open_store(f"sqlite:///{tmp_path / 'n.db'}")
    with engine.connect() as conn:
        sql = conn.execute(
            text("SELECT sql FROM sqlite_master WHERE name = 'ix_reminder_status_next_attempt_at'")
        ).scalar()
        plan = conn.execute(
            text(
                "EXPLAIN QUERY PLAN SELECT next_attempt_at FROM reminder WHERE status = :status "
                "AND channel IN ('email') AND next_attempt_at IS NOT NULL ORDER BY next_attempt_at LIMIT 1"
            ),
            {"status": Status.PENDING},
        ).all()
    engine.dispose()
    assert sql.endswith("WHERE next_attempt_at IS NOT NULL")
    assert "USING INDEX ix_reminder_status_next_attempt_at" in " ".join(row[-1] for row in plan)
