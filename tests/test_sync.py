"""Sync writes the calendar into the outbox idempotently, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import Engine, select, update

from scheduler.config.loader import load_config
from scheduler.outbox.store import Occurrence, Reminder, Status
from scheduler.outbox.sync import sync
from scheduler.plan.planner import idempotency_key
from tests.support.settings import make_settings

TODAY = date(2026, 11, 2)  # before the 10/12 and 15/12 deadlines and the 1/12 report


def run_sync(engine: Engine, tmp_path: Path, config_dir: Path, today: date = TODAY):
    settings = make_settings(tmp_path, config_dir, str(engine.url))
    return sync(engine, load_config(config_dir), settings, today)


def snapshot(engine: Engine) -> dict[str, tuple]:
    with engine.connect() as conn:
        return {row.key: tuple(row) for row in conn.execute(select(Reminder.__table__))}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_second_sync_of_unchanged_configuration_writes_nothing(engine, tmp_path, config_dir):
    first = run_sync(engine, tmp_path, config_dir)
    assert first.added > 100 and first.occurrences_added > 30
    before = snapshot(engine)
    second = run_sync(engine, tmp_path, config_dir)
    assert second.writes == 0
    assert snapshot(engine) == before


def test_keys_are_deterministic_and_rows_follow_the_policy(engine, tmp_path, config_dir):
    run_sync(engine, tmp_path, config_dir)
    occurrence = "hue-2026-bdg/bao-cao-nam/2026/hue-phuong-phu-xuan"
    with engine.connect() as conn:
        rows = conn.execute(select(Reminder.__table__).where(Reminder.occurrence_key == occurrence)).all()
    got = {(r.rung, r.channel, r.kind, r.contact_key) for r in rows}
    focal, leader = "hue-phuong-phu-xuan/focal", "hue-phuong-phu-xuan/leader"
    expected = {
        (rung, channel, kind, focal)
        for rung, kind in [
            ("-14d", "upcoming"),
            ("-7d", "upcoming"),
            ("-3d", "upcoming"),
            ("0d", "due"),
            ("+1wd", "overdue"),
        ]
        for channel in ("email", "zalo")
    } | {("+3wd", "email", "escalation", leader)}
    assert got == expected
    for r in rows:
        assert r.key == idempotency_key(occurrence, r.contact_key, r.channel, r.rung)
        assert r.status == Status.PENDING
    due_day = {r.rung: r.send_at for r in rows}
    # 10/12/2026 is a Thursday: −14d is Thursday 26/11 at 08:00 in Vietnam (01:00 UTC).
    assert due_day["-14d"] == datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
    assert due_day["+1wd"] == datetime(2026, 12, 11, 1, 0, tzinfo=UTC)
    assert due_day["+3wd"] == datetime(2026, 12, 15, 1, 0, tzinfo=UTC)


def test_editing_a_date_changes_only_that_occurrences_pending_rows(engine, tmp_path, config_dir):
    run_sync(engine, tmp_path, config_dir)
    before = snapshot(engine)
    edit(config_dir / "plans" / "hue-2026-bdg.yaml", "yearly: 10/12", "yearly: 11/12")
    report = run_sync(engine, tmp_path, config_dir)
    after = snapshot(engine)
    changed = {key for key in before if before[key] != after.get(key)}
    assert set(after) == set(before)  # same keys: updated in place, not cancelled and re-added
    with engine.connect() as conn:
        owners = dict(conn.execute(select(Reminder.key, Reminder.occurrence_key)).all())
    assert changed and all(re.fullmatch(r"hue-2026-bdg/bao-cao-nam/2026/.+", owners[k]) for k in changed)
    affected = {k for k, occ in owners.items() if occ.startswith("hue-2026-bdg/bao-cao-nam/2026/")}
    assert changed == affected
    assert report.updated == len(changed) and report.added == report.cancelled == 0
    with engine.connect() as conn:
        due_dates = {d for (d,) in conn.execute(select(Reminder.due_date).where(Reminder.key.in_(changed)))}
    assert due_dates == {date(2026, 12, 11)}


def test_removing_a_contact_cancels_its_pending_rows_and_keeps_sent_ones(engine, tmp_path, config_dir):
    run_sync(engine, tmp_path, config_dir)
    focal = "hue-phuong-phu-xuan/focal"
    table = Reminder.__table__
    with engine.begin() as conn:
        focal_keys = list(conn.execute(select(table.c.key).where(table.c.contact_key == focal)).scalars())
        assert len(focal_keys) >= 10
        sent_key = focal_keys[0]
        conn.execute(update(table).where(table.c.key == sent_key).values(status=Status.SENT))
    before = snapshot(engine)
    edit(
        config_dir / "agencies" / "hue.yaml",
        "      - {name: Phòng Văn hóa - Xã hội phường, email: vhxh@phuxuan.hue.example.org, "
        'mobile: "0900 000 321",\n'
        "         channels: [email, zalo]}\n",
        "",
    )
    report = run_sync(engine, tmp_path, config_dir)
    after = snapshot(engine)
    status_of = {key: row[table.c.keys().index("status")] for key, row in after.items()}
    assert after[sent_key] == before[sent_key]  # history is never rewritten
    assert all(status_of[k] == Status.CANCELLED for k in focal_keys[1:])
    assert report.cancelled == len(focal_keys) - 1
    # The agency is still reached: its leader now receives the focal point's rungs.
    new_keys = set(after) - set(before)
    with engine.connect() as conn:
        new_contacts = set(
            conn.execute(select(table.c.contact_key).where(table.c.key.in_(new_keys))).scalars()
        )
    assert new_keys and new_contacts == {"hue-phuong-phu-xuan/leader"}
    assert all(after[k] == before[k] for k in set(before) - set(focal_keys))


def test_removing_an_obligation_cancels_its_pending_rows(engine, tmp_path, config_dir):
    run_sync(engine, tmp_path, config_dir)
    plan = config_dir / "plans" / "hue-2026-bdg.yaml"
    text = plan.read_text(encoding="utf-8")
    start = text.index("  - id: tong-hop-bao-cao-nam")
    plan.write_text(text[:start] + text[text.index("windows:") :], encoding="utf-8")
    report = run_sync(engine, tmp_path, config_dir)
    with engine.connect() as conn:
        statuses = set(
            conn.execute(
                select(Reminder.status).where(
                    Reminder.occurrence_key.like("hue-2026-bdg/tong-hop-bao-cao-nam/%")
                )
            ).scalars()
        )
        occurrence = conn.execute(
            select(Occurrence.status).where(Occurrence.item_id == "tong-hop-bao-cao-nam")
        ).scalars()
        assert set(occurrence) == {"removed"}
    assert statuses == {Status.CANCELLED}
    assert report.occurrences_removed == 1 and report.cancelled > 0 and report.added == 0
    # Putting it back revives the same rows rather than adding new ones.
    plan.write_text(text, encoding="utf-8")
    again = run_sync(engine, tmp_path, config_dir)
    assert again.added == 0 and again.updated == report.cancelled


def test_rungs_already_past_are_not_added(engine, tmp_path, config_dir):
    report = run_sync(engine, tmp_path, config_dir, today=date(2026, 12, 5))
    with engine.connect() as conn:
        earliest = conn.execute(select(Reminder.send_at).order_by(Reminder.send_at)).scalars().first()
    assert earliest >= datetime(2026, 12, 4, 17, 0, tzinfo=UTC)  # 00:00 on 5/12 in Vietnam
    assert report.already_past > 0


def test_a_policy_that_ignores_the_quiet_hours_marks_its_pending_rows(engine, tmp_path, config_dir):
    plan = config_dir / "plans" / "hue-2026-bdg.yaml"
    edit(plan, "    after: bao-cao-nam\n", "    after: bao-cao-nam\n    policy: hang-thang\n")
    run_sync(engine, tmp_path, config_dir)
    edit(
        config_dir / "policies.yaml", 'send_time: "08:00"', 'send_time: "08:00"\n    ignore_quiet_hours: true'
    )
    report = run_sync(engine, tmp_path, config_dir)
    with engine.connect() as conn:
        rows = conn.execute(
            select(Reminder.__table__.c.ignore_quiet_hours).where(Reminder.status == Status.PENDING)
        ).scalars()
        flags = list(rows)
    # Every item uses the default policy except the consolidation, given "hang-thang" above.
    assert report.updated == sum(flags) > 100
    assert False in flags
