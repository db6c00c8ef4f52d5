"""The occurrence keeps its route (to, via) for rendering; a digest row names its plan and day.

Rendering builds a reminder's event from its occurrence row and the plan's item, without
expanding the calendar again; rows stored before migration 0010 (no route) are rendered
from the calendar as before, and the next sync writes their route."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time
from types import SimpleNamespace

import pytest
import time_machine
from alembic import command
from sqlalchemy import select, update

import scheduler.render.messages as messages
from notifiers.email import EmailNotifier
from notifiers.sms import SmsNotifier
from scheduler.config.loader import load_config
from scheduler.dispatch.digest import DigestKey, enqueue_digests
from scheduler.outbox.store import Occurrence, Reminder, Status, alembic_config, open_store, utcnow
from scheduler.outbox.sync import sync
from scheduler.plan.kinds import OccurrenceKind, ReminderKind
from scheduler.plan.planner import Planner, idempotency_key
from scheduler.render.messages import MessageBuilder
from scheduler.render.templates import Templates
from tests.support.dispatch_kit import links, make_dispatcher, run
from tests.support.settings import make_settings


def at(settings, day: date, hour: int = 8) -> datetime:
    return datetime.combine(day, time(hour), settings.timezone).astimezone(UTC)


OCCURRENCE = "hue-2026-bdg/bao-cao-nam/2026/hue-xa-a-luoi-1"
DAY = date(2026, 11, 20)


@pytest.fixture
def synced(tmp_path, config_dir, database_url):
    settings = make_settings(tmp_path, config_dir, database_url)
    engine = open_store(settings.database_url)
    sync(engine, load_config(config_dir), settings, DAY)
    yield settings, engine
    engine.dispose()


def builder(config_dir, settings) -> MessageBuilder:
    """A fresh builder: its event cache is empty."""
    return MessageBuilder(load_config(config_dir), Templates(None), links(settings), settings.timezone)


def occurrences(engine):
    with engine.connect() as conn:
        return {o.key: o for o in conn.execute(select(Occurrence.__table__))}


def reminder_row(engine, occurrence_key: str = OCCURRENCE):
    with engine.connect() as conn:
        return conn.execute(
            select(Reminder.__table__).where(
                Reminder.occurrence_key == occurrence_key, Reminder.rung == "-3d"
            )
        ).first()


def forget_routes(engine, *keys: str) -> None:
    """As a row stored before migration 0010."""
    table = Occurrence.__table__
    condition = table.c.key.in_(keys) if keys else True
    with engine.begin() as conn:
        conn.execute(update(table).where(condition).values(to_agency_id=None, via_agency_id=None))


def no_calendar(monkeypatch) -> list[str]:
    """Record every expansion of the calendar by the message builder."""
    calls: list[str] = []
    expand = messages.calendar_events

    def counted(deployment, first, last, plan_id=None, agency_id=None):
        calls.append(plan_id)
        return expand(deployment, first, last, plan_id=plan_id, agency_id=agency_id)

    monkeypatch.setattr(messages, "calendar_events", counted)
    return calls


def test_sync_writes_the_route_and_rendering_reads_it_without_the_calendar(synced, config_dir, monkeypatch):
    settings, engine = synced
    stored = occurrences(engine)
    assert (stored[OCCURRENCE].to_agency_id, stored[OCCURRENCE].via_agency_id) == (
        "hue-ubnd",
        "hue-so-noi-vu",
    )
    window = next(o for o in stored.values() if o.kind == OccurrenceKind.WINDOW)
    assert (window.to_agency_id, window.via_agency_id) == ("", "")  # none, yet recorded
    calls = no_calendar(monkeypatch)
    row = reminder_row(engine)
    render = builder(config_dir, settings)
    email = render.reminder(row, stored[OCCURRENCE], (), row.send_at, EmailNotifier.renders)
    sms = render.reminder(
        SimpleNamespace(**{**row._mapping, "channel": "sms"}),
        stored[OCCURRENCE],
        (),
        row.send_at,
        SmsNotifier.renders,
    )
    assert calls == []
    names = render.deployment.name_of
    assert (sms.fields["to_agency"], sms.fields["via_agency"]) == (
        names("hue-ubnd"),
        names("hue-so-noi-vu"),
    )
    assert [a.filename for a in email.attachments] == ["han-bao-cao.ics"]


def test_a_row_stored_before_the_route_renders_the_same_from_the_calendar(synced, config_dir, monkeypatch):
    settings, engine = synced
    row = reminder_row(engine)
    routed = occurrences(engine)[OCCURRENCE]
    forget_routes(engine, OCCURRENCE)
    old = occurrences(engine)[OCCURRENCE]
    assert old.to_agency_id is None and old.via_agency_id is None
    calls = no_calendar(monkeypatch)
    for renders in (EmailNotifier.renders, SmsNotifier.renders):
        with time_machine.travel(at(settings, DAY), tick=False):  # the same link expiry in both
            from_row = builder(config_dir, settings).reminder(row, routed, (), row.send_at, renders)
            assert calls == []
            from_calendar = builder(config_dir, settings).reminder(row, old, (), row.send_at, renders)
        assert calls == ["hue-2026-bdg"]
        assert from_calendar == from_row
        calls.clear()


def test_the_event_built_from_a_row_is_the_calendars(synced, config_dir):
    settings, engine = synced
    render = builder(config_dir, settings)
    rows = list(occurrences(engine).values())
    # The sample plan of Huế has deadlines and a window (no observance: those carry no route).
    assert {row.kind for row in rows} == {OccurrenceKind.DEADLINE, OccurrenceKind.WINDOW}
    for row in rows:
        built, found = render._stored_event(row), render._find_event(row)
        assert found is not None and built == dataclasses.replace(found, who=()), row.key


def test_an_upgraded_database_renders_its_old_rows_and_the_next_sync_routes_them(
    synced, config_dir, monkeypatch
):
    settings, engine = synced
    config = alembic_config()
    with engine.begin() as conn:  # the database as the version before this one left it
        config.attributes["connection"] = conn
        command.downgrade(config, "0009")
    engine.dispose()
    engine = open_store(settings.database_url)  # the daemon's start: upgraded to the newest
    stored = occurrences(engine)
    assert {(o.to_agency_id, o.via_agency_id) for o in stored.values()} == {(None, None)}
    calls = no_calendar(monkeypatch)
    row = reminder_row(engine)
    email = builder(config_dir, settings).reminder(
        row, stored[OCCURRENCE], (), row.send_at, EmailNotifier.renders
    )
    assert calls and email.attachments and email.text

    with engine.connect() as conn:
        before = conn.execute(select(Reminder.__table__).order_by(Reminder.key)).all()
    report = sync(engine, load_config(config_dir), settings, DAY)
    with engine.connect() as conn:
        after = conn.execute(select(Reminder.__table__).order_by(Reminder.key)).all()
    assert report.writes == 0 and after == before  # the route only: no reminder recomputed
    routed = occurrences(engine)
    assert (routed[OCCURRENCE].to_agency_id, routed[OCCURRENCE].via_agency_id) == (
        "hue-ubnd",
        "hue-so-noi-vu",
    )
    assert all(o.to_agency_id is not None for o in routed.values() if o.end_date >= DAY)
    engine.dispose()


def test_a_plan_that_changes_its_route_changes_the_rows(synced, config_dir):
    settings, engine = synced
    plan = config_dir / "plans" / "hue-2026-bdg.yaml"
    text = plan.read_text(encoding="utf-8")
    plan.write_text(text.replace("    via: hue-so-noi-vu\n", ""), encoding="utf-8")
    report = sync(engine, load_config(config_dir), settings, DAY)
    assert report.occurrences_changed
    annual = [o for o in occurrences(engine).values() if o.item_id == "bao-cao-nam"]
    assert annual and {(o.to_agency_id, o.via_agency_id) for o in annual} == {("hue-ubnd", "")}


def test_the_fingerprint_reads_the_kind_as_the_string_it_always_was(config_dir, tmp_path):
    planner = Planner(load_config(config_dir), make_settings(tmp_path, config_dir))
    for planned in planner.occurrences(DAY, date(2027, 12, 31)):
        text = planner._event_text(planned.event)
        assert f"'{planned.event.kind.value}'" in text and "OccurrenceKind" not in text


def test_a_digest_key_is_its_plan_and_day_in_the_format_rows_always_had():
    key = DigestKey("hue-2026-bdg", date(2026, 12, 14))
    assert key.occurrence_key == "digest/hue-2026-bdg/2026-12-14"
    assert DigestKey.parse("digest/hue-2026-bdg/2026-12-14") == key
    with pytest.raises(ValueError):
        DigestKey.parse(OCCURRENCE)


def test_a_digest_row_written_by_the_version_before_is_sent(tmp_path, config_dir, smtp_sink, database_url):
    settings = make_settings(tmp_path, config_dir, database_url)
    engine = open_store(settings.database_url)
    dispatcher = make_dispatcher(engine, config_dir, settings, smtp_sink)
    deployment = dispatcher.builder.deployment
    day = date(2026, 12, 14)
    with time_machine.travel(at(settings, day, 7), tick=False):
        sync(engine, deployment, settings, day)
        now = utcnow()
        old_key = f"digest/hue-2026-bdg/{day.isoformat()}"  # as the version before wrote it
        contact = "hue-so-noi-vu/focal"
        row = {
            "key": idempotency_key(old_key, contact, "email", "digest"), "occurrence_key": old_key,
            "contact_key": contact, "channel": "email", "rung": "digest", "kind": "digest",
            "recipient": "binhdanggioi@noivu.hue.example.org", "due_date": day, "send_at": now,
            "status": "pending", "attempts": 0, "created_at": now, "updated_at": now,
        }  # fmt: skip
        with engine.begin() as conn:
            conn.execute(Reminder.__table__.insert().values(**row))
        # Today's digests are that row: the same idempotency key, so none is added for the plan.
        enqueue_digests(engine, deployment, now, settings.timezone)
        run(dispatcher)
    with engine.connect() as conn:
        digests = conn.execute(
            select(Reminder.__table__).where(
                Reminder.kind == ReminderKind.DIGEST, Reminder.occurrence_key == old_key
            )
        ).all()
    assert [(d.key, d.status) for d in digests] == [(row["key"], Status.SENT)]
    sent = next(m for m in smtp_sink.received if m.key == row["key"])
    assert "UBND xã A Lưới 1" in sent.text()
    engine.dispose()
