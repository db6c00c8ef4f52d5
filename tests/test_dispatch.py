"""Dispatch over real SMTP: catch-up after downtime, SMTP faults, retries, quiet hours."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import pytest
import time_machine
from aiosmtpd.controller import Controller
from sqlalchemy import select

from notifiers.email import EmailNotifier
from notifiers.sms import SmsNotifier
from notifiers.zalo import ZaloNotifier
from scheduler.outbox.recorder import SendRecorder
from scheduler.outbox.store import DeliveryAttempt, Occurrence, Reminder, Status, open_store
from scheduler.outbox.sync import sync
from tests.support.configs import one_agency_plan
from tests.support.dispatch_kit import make_dispatcher, run, sync_and_dispatch
from tests.support.settings import make_settings
from tests.support.smtp_sink import SmtpSink, free_port

A_LUOI = "hue-xa-a-luoi-1/focal"


def at(settings, day: date, hour: int = 8, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=settings.timezone)


@pytest.fixture
def setup(tmp_path, config_dir, smtp_sink, database_url):
    yield from dispatcher_on(database_url, tmp_path, config_dir, smtp_sink)


@pytest.fixture
def sqlite_setup(tmp_path, config_dir, smtp_sink):
    """A dispatcher on an SQLite file, which journals its sends as the daemon does."""
    yield from dispatcher_on(f"sqlite:///{tmp_path / 'nhacviec.db'}", tmp_path, config_dir, smtp_sink)


def dispatcher_on(database_url, tmp_path, config_dir, smtp_sink):
    one_agency_plan(config_dir)
    settings = make_settings(tmp_path, config_dir, database_url)
    engine = open_store(settings.database_url)
    dispatcher = make_dispatcher(engine, config_dir, settings, smtp_sink)
    yield settings, engine, dispatcher
    engine.dispose()


def reminders(engine, **where):
    query = select(Reminder.__table__)
    for column, value in where.items():
        query = query.where(Reminder.__table__.c[column] == value)
    with engine.connect() as conn:
        return conn.execute(query).all()


def attempts(engine, reminder_id):
    with engine.connect() as conn:
        return conn.execute(
            select(DeliveryAttempt.__table__)
            .where(DeliveryAttempt.reminder_id == reminder_id)
            .order_by(DeliveryAttempt.id)
        ).all()


def test_downtime_sends_one_catch_up_per_occurrence_and_skips_the_rest(setup, smtp_sink):
    settings, engine, dispatcher = setup
    day = date(2026, 12, 1)
    while day <= date(2026, 12, 9):  # running normally
        with time_machine.travel(at(settings, day), tick=False):
            sync_and_dispatch(engine, dispatcher, settings, day)
        day += timedelta(days=1)
    before = len(smtp_sink.received)
    # Down on Thursday 10/12 (A Lưới's deadline, rung 0d) and Friday 11/12 (its +1wd overdue
    # notice, the window's closing rung, and the −3d rung of Sở LĐTBXH's consolidated report);
    # back on Saturday 12/12 at 10:00: one message per occurrence.
    with time_machine.travel(at(settings, date(2026, 12, 12), 10), tick=False):
        sync_and_dispatch(engine, dispatcher, settings, date(2026, 12, 12))
    sent_now = [reminders(engine, key=m.key)[0] for m in smtp_sink.received[before:]]
    caught_up = {(r.contact_key, r.rung) for r in sent_now}
    assert caught_up == {(A_LUOI, "+1wd"), (A_LUOI, "end-3d"), ("hue-so-noi-vu/focal", "-3d")}
    assert len(sent_now) == 3
    due_day = reminders(engine, occurrence_key="hue-2026-bdg/bao-cao-nam/2026/hue-xa-a-luoi-1", rung="0d")[0]
    assert due_day.status == Status.SKIPPED
    assert due_day.last_error.startswith("bỏ qua:")


def test_a_4xx_is_retried_with_backoff_then_delivered(setup, smtp_sink):
    settings, engine, dispatcher = setup
    answers = iter(["451 4.3.0 Máy chủ bận, thử lại sau"])
    smtp_sink.reply = lambda: next(answers, "250 OK")
    with time_machine.travel(at(settings, date(2026, 12, 10)), tick=False):
        sync_and_dispatch(engine, dispatcher, settings, date(2026, 12, 10))
        row = reminders(engine, rung="0d", contact_key=A_LUOI)[0]
        assert row.status == Status.PENDING and row.attempts == 1 and "451" in row.last_error
        assert row.next_attempt_at > datetime.now(settings.timezone) + timedelta(seconds=20)
        # The wake-up is the retry, not the rows due later (the next one is −14d … +3wd away).
        assert dispatcher.next_wake(datetime.now(settings.timezone)) == row.next_attempt_at
        assert run(dispatcher) == 0  # not before the backoff
    with time_machine.travel(at(settings, date(2026, 12, 10), 9), tick=False):
        run(dispatcher)
    row = reminders(engine, id=row.id)[0]
    assert row.status == Status.SENT and row.attempts == 2
    assert [a.outcome for a in attempts(engine, row.id)] == ["retry", "sent"]
    assert smtp_sink.keys() == [row.key]


def test_a_5xx_goes_to_the_dead_letter_with_the_servers_text(setup, smtp_sink):
    settings, engine, dispatcher = setup
    smtp_sink.reply = lambda: "550 5.1.1 Hộp thư không tồn tại"
    with time_machine.travel(at(settings, date(2026, 12, 10)), tick=False):
        sync_and_dispatch(engine, dispatcher, settings, date(2026, 12, 10))
    row = reminders(engine, rung="0d", contact_key=A_LUOI)[0]
    assert row.status == Status.DEAD
    assert "550" in row.last_error and "Hộp thư không tồn tại" in row.last_error
    assert [a.outcome for a in attempts(engine, row.id)] == ["dead"]


def test_a_server_that_is_down_loses_nothing(tmp_path, config_dir, database_url):
    one_agency_plan(config_dir)
    settings = make_settings(tmp_path, config_dir, database_url)
    engine = open_store(settings.database_url)
    sink = SmtpSink(port=free_port())  # nothing listens there yet
    dispatcher = make_dispatcher(engine, config_dir, settings, sink)
    with time_machine.travel(at(settings, date(2026, 12, 10)), tick=False):
        sync_and_dispatch(engine, dispatcher, settings, date(2026, 12, 10))
    row = reminders(engine, rung="0d", contact_key=A_LUOI)[0]
    assert row.status == Status.PENDING and row.attempts == 1
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        with time_machine.travel(at(settings, date(2026, 12, 10), 12), tick=False):
            run(dispatcher)
    finally:
        controller.stop()
    assert reminders(engine, id=row.id)[0].status == Status.SENT
    assert sink.keys() == [row.key]


def test_nothing_is_sent_in_quiet_hours(setup, smtp_sink):
    settings, engine, dispatcher = setup
    with time_machine.travel(at(settings, date(2026, 12, 10), 22), tick=False):
        sync_and_dispatch(engine, dispatcher, settings, date(2026, 12, 10))
        assert smtp_sink.received == []
        wake = dispatcher.next_wake(datetime.now(settings.timezone))
    assert wake.astimezone(settings.timezone) == at(settings, date(2026, 12, 11), 7)


def test_a_policy_may_send_in_the_quiet_hours(tmp_path, config_dir, smtp_sink, database_url):
    one_agency_plan(config_dir)
    policies = config_dir / "policies.yaml"
    policies.write_text(
        policies.read_text(encoding="utf-8").replace(
            'send_time: "08:00"', 'send_time: "22:00"\n    ignore_quiet_hours: true'
        ),
        encoding="utf-8",
    )
    settings = make_settings(tmp_path, config_dir, database_url)
    engine = open_store(settings.database_url)
    dispatcher = make_dispatcher(engine, config_dir, settings, smtp_sink)
    with time_machine.travel(at(settings, date(2026, 12, 10), 21, 40), tick=False):
        sync_and_dispatch(engine, dispatcher, settings, date(2026, 12, 10))
        assert smtp_sink.received == []  # quiet hours, but nothing is due yet
        wake = dispatcher.next_wake(datetime.now(settings.timezone))
    assert wake.astimezone(settings.timezone) == at(settings, date(2026, 12, 10), 22)
    with time_machine.travel(at(settings, date(2026, 12, 10), 22), tick=False):
        sync_and_dispatch(engine, dispatcher, settings, date(2026, 12, 10))
    sent = [reminders(engine, key=m.key)[0] for m in smtp_sink.received]
    assert {(r.contact_key, r.rung) for r in sent} == {(A_LUOI, "0d")}
    engine.dispose()


def test_each_channel_renders_only_what_it_sends(setup):
    settings, engine, dispatcher = setup
    with time_machine.travel(at(settings, date(2026, 12, 1)), tick=False):
        sync(engine, dispatcher.builder.deployment, settings, date(2026, 12, 1))
    row = reminders(engine, contact_key=A_LUOI, status=Status.PENDING)[0]
    with engine.connect() as conn:
        occurrence = conn.execute(
            select(Occurrence.__table__).where(Occurrence.key == row.occurrence_key)
        ).one()
    now = row.send_at
    as_sms = SimpleNamespace(**{**row._mapping, "channel": "sms"})
    email = dispatcher.builder.reminder(row, occurrence, (), now, EmailNotifier.renders)
    sms = dispatcher.builder.reminder(as_sms, occurrence, (), now, SmsNotifier.renders)
    zns = dispatcher.builder.reminder(as_sms, occurrence, (), now, ZaloNotifier.renders)
    assert email.subject and email.text and email.html and not email.short
    assert sms.short and sms.short_ascii and not (sms.subject or sms.text or sms.html)
    assert "Kính gửi" in email.text and "đ" not in sms.short_ascii
    assert not (zns.subject or zns.text or zns.short) and zns.fields["agency"] == "UBND xã A Lưới 1"


def test_a_row_whose_lease_ran_out_before_its_turn_is_left_not_sent(setup, smtp_sink):
    """Another replica may have taken it back; it returns to pending if nobody did."""
    settings, engine, dispatcher = setup
    day = date(2026, 12, 10)
    with time_machine.travel(at(settings, day), tick=False):
        sync(engine, dispatcher.builder.deployment, settings, day)
        batch = dispatcher.claim(datetime.now(settings.timezone))
    assert batch
    late = at(settings, day) + timedelta(seconds=settings.lease_seconds + 1)
    with time_machine.travel(late, tick=False):
        asyncio.run(dispatcher._sender(deque(batch), *dispatcher._batch_context(batch)))
        assert smtp_sink.received == []
        dispatcher.catch_up(datetime.now(settings.timezone))
    assert {r.status for r in reminders(engine, id=batch[0].id)} == {Status.PENDING}


def test_a_batchs_sends_are_journaled_and_a_crash_before_the_flush_repeats_none(sqlite_setup, smtp_sink):
    """On an SQLite file each send is in the journal before the sender's next one; what a
    crash left there is written at the next start, so the rows are not sent again."""
    settings, engine, dispatcher = sqlite_setup
    journal = dispatcher.recorder.journal
    day = date(2026, 12, 10)

    async def send_without_flush(batch) -> None:  # then the process dies
        await dispatcher._sender(deque(batch), *dispatcher._batch_context(batch))
        await dispatcher.notifiers["email"].aclose()

    with time_machine.travel(at(settings, day), tick=False):
        sync(engine, dispatcher.builder.deployment, settings, day)
        batch = dispatcher.claim(datetime.now(settings.timezone))
        asyncio.run(send_without_flush(batch))
    assert batch and len(smtp_sink.received) == len(batch)
    lines = journal.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)[0] for line in lines] == [row.id for row in batch]
    assert {r.status for r in reminders(engine)} >= {Status.CLAIMED}
    with journal.open("a", encoding="utf-8") as cut_short:  # the crash cut the last write
        cut_short.write('[999999, 1, "email"')

    assert SendRecorder.recover(engine, journal) == len(batch)
    assert not journal.exists()
    for row in batch:
        (stored,) = reminders(engine, id=row.id)
        assert (stored.status, stored.attempts, stored.claimed_by) == (Status.SENT, 1, None)
        assert [a.outcome for a in attempts(engine, row.id)] == ["sent"]
    assert dispatcher.release_claims() == 0
    with time_machine.travel(at(settings, day, 9), tick=False):
        assert run(dispatcher) == 0  # nothing of the batch goes again
    assert len(smtp_sink.received) == len(batch)


def test_a_flush_writes_the_journaled_sends_and_empties_the_journal(sqlite_setup, smtp_sink):
    settings, engine, dispatcher = sqlite_setup
    journal = dispatcher.recorder.journal
    day = date(2026, 12, 10)
    with time_machine.travel(at(settings, day), tick=False):
        sync(engine, dispatcher.builder.deployment, settings, day)
        sent = run(dispatcher)
    assert sent == len(smtp_sink.received) > 0
    assert journal.read_bytes() == b""
    assert SendRecorder.recover(engine, journal) == 0  # already committed: nothing written twice
    assert all(len(attempts(engine, r.id)) == 1 for r in reminders(engine, status=Status.SENT))


def test_a_failed_commit_of_sends_is_raised_and_its_sends_are_kept_until_written(tmp_path):
    """The senders stop; the sends stay pending (their rows are not taken back and sent again)
    until a flush writes them."""
    from sqlalchemy import func, text

    from notifiers.base import Delivery
    from scheduler.outbox.recorder import SendRecorder

    engine = open_store(f"sqlite:///{tmp_path / 'n.db'}")
    recorder = SendRecorder(engine)
    row = SimpleNamespace(id=1, attempts=0, channel="email", send_at=datetime(2026, 1, 1))
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE delivery_attempt RENAME TO moved_away"))

    async def send_then_flush_twice() -> list[str]:
        recorder.add(row, Delivery(provider_id="p"))
        await asyncio.sleep(0)  # the commit runs at the loop's next turn, and fails
        outcomes = ["failed" if recorder.failed else "ok"]
        recorder.add(row, Delivery(provider_id="p"))  # committed by the flush, which fails too
        for _ in range(2):
            try:
                recorder.flush()
                outcomes.append("ok")
            except Exception as exc:
                outcomes.append(type(exc).__name__)
        return outcomes

    outcomes = asyncio.run(send_then_flush_twice())
    assert outcomes == ["failed", "OperationalError", "OperationalError"]
    assert not recorder.failed and recorder.unrecorded == 2
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE moved_away RENAME TO delivery_attempt"))
    recorder.flush()
    assert recorder.unrecorded == 0
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(DeliveryAttempt)).scalar_one() == 2
    engine.dispose()


def test_the_journal_keeps_the_sends_of_a_failed_flush_until_a_later_one_writes_them(tmp_path):
    from sqlalchemy import func, text

    from notifiers.base import Delivery
    from scheduler.outbox.recorder import SendRecorder

    engine = open_store(f"sqlite:///{tmp_path / 'n.db'}")
    journal = tmp_path / "n.db.sent"
    recorder = SendRecorder(engine, journal=journal)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE delivery_attempt RENAME TO moved_away"))
    for n in (1, 2):
        recorder.add(
            SimpleNamespace(id=n, attempts=0, channel="email", send_at=datetime(2026, 1, 1)), Delivery()
        )
    with pytest.raises(Exception, match="no such table"):
        recorder.flush()
    assert len(journal.read_text().splitlines()) == 2 and recorder.writes_failing
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE moved_away RENAME TO delivery_attempt"))
    recorder.add(SimpleNamespace(id=3, attempts=0, channel="email", send_at=datetime(2026, 1, 1)), Delivery())
    recorder.flush()  # the next batch's: it writes the first batch's sends too, then empties the journal
    assert journal.read_text() == "" and not recorder.writes_failing
    with engine.connect() as conn:
        recorded = conn.execute(select(DeliveryAttempt.reminder_id).order_by(DeliveryAttempt.reminder_id))
        assert list(recorded.scalars()) == [1, 2, 3]
        assert conn.execute(select(func.count()).select_from(DeliveryAttempt)).scalar_one() == 3
    engine.dispose()
