"""The claim query on PostgreSQL stays an index walk with a million rows in the outbox."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from scheduler.outbox.store import open_store
from tests.support.dispatch_kit import make_dispatcher
from tests.support.settings import make_settings

MILLION_ROWS = """
INSERT INTO reminder (key, occurrence_key, contact_key, channel, rung, kind, recipient, due_date, send_at,
                      status, attempts, ignore_quiet_hours, created_at, updated_at)
SELECT md5(i::text), 'p/i/2026/a' || (i % 100000), 'a/focal', 'email', '0d', 'due', 'a@example.org',
       date '2026-12-10', timestamptz '2026-12-01 01:00+00' + (i % 400) * interval '1 day',
       CASE WHEN i % 10 = 0 THEN 'sent' ELSE 'pending' END, 0, false, now(), now()
FROM generate_series(1, 1000000) AS i
"""


def test_the_claim_walks_the_status_send_at_index_at_a_million_rows(
    empty_postgres, tmp_path, config_dir, smtp_sink
):
    engine = open_store(empty_postgres)
    with engine.begin() as conn:
        conn.execute(text(MILLION_ROWS))
        conn.execute(text("ANALYZE reminder"))
    settings = make_settings(tmp_path, config_dir, empty_postgres)
    dispatcher = make_dispatcher(engine, config_dir, settings, smtp_sink)
    compiled = dispatcher.due(datetime(2026, 12, 10, 1, tzinfo=UTC)).compile(
        dialect=engine.dialect, compile_kwargs={"render_postcompile": True}
    )
    with engine.connect() as conn:
        plan = "\n".join(conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params).scalars())
    assert "ix_reminder_status_send_at" in plan, plan
    assert "Seq Scan on reminder" not in plan, plan
    claimed = dispatcher.claim(datetime(2026, 12, 10, 1, tzinfo=UTC))
    assert len(claimed) == 200 and all(r.send_at <= datetime(2026, 12, 10, 1, tzinfo=UTC) for r in claimed)
    engine.dispose()
