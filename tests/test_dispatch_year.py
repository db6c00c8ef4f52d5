"""A whole year of the Thừa Thiên Huế plan, the clock moved day by day, over real SMTP."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import time_machine
from sqlalchemy import select

from scheduler.calendar.workdays import WorkCalendar
from scheduler.outbox.store import Reminder, open_store
from tests.support.dispatch_kit import make_dispatcher, sync_and_dispatch
from tests.support.settings import make_settings

D = date
A_LUOI, SO = "tth-ubnd-h-a-luoi/focal", "tth-so-ldtbxh/focal"
SO_LEADER = "tth-so-ldtbxh/leader"

# What the default policy (−14d, −7d, −3d, 0d, +1wd overdue, +3wd escalation; windows −7d
# before the start, on the start, −3d before the end) sends in 2020, day by day, worked out
# by hand: a rung on a weekend goes out the Friday before; overdue rungs count working days.
EXPECTED = sorted(
    [
        # Kế hoạch triển khai, due Wednesday 25/3/2020
        (D(2020, 3, 11), A_LUOI, "-14d"), (D(2020, 3, 18), A_LUOI, "-7d"), (D(2020, 3, 20), A_LUOI, "-3d"),
        (D(2020, 3, 25), A_LUOI, "0d"), (D(2020, 3, 26), A_LUOI, "+1wd"), (D(2020, 3, 30), A_LUOI, "+3wd"),
        # Báo cáo 6 tháng, due Wednesday 10/6/2020
        (D(2020, 5, 27), A_LUOI, "-14d"), (D(2020, 6, 3), A_LUOI, "-7d"), (D(2020, 6, 5), A_LUOI, "-3d"),
        (D(2020, 6, 10), A_LUOI, "0d"), (D(2020, 6, 11), A_LUOI, "+1wd"), (D(2020, 6, 15), A_LUOI, "+3wd"),
        # Tháng hành động 15/11 (Sunday) – 15/12
        (D(2020, 11, 6), A_LUOI, "start-7d"), (D(2020, 11, 13), A_LUOI, "start0d"),
        (D(2020, 12, 11), A_LUOI, "end-3d"),
        # Báo cáo năm, due Thursday 10/12/2020
        (D(2020, 11, 26), A_LUOI, "-14d"), (D(2020, 12, 3), A_LUOI, "-7d"), (D(2020, 12, 7), A_LUOI, "-3d"),
        (D(2020, 12, 10), A_LUOI, "0d"), (D(2020, 12, 11), A_LUOI, "+1wd"), (D(2020, 12, 15), A_LUOI, "+3wd"),
        # The chain: Sở LĐTBXH consolidates by Tuesday 15/12/2020; escalation to its director
        (D(2020, 12, 1), SO, "-14d"), (D(2020, 12, 8), SO, "-7d"), (D(2020, 12, 11), SO, "-3d"),
        (D(2020, 12, 15), SO, "0d"), (D(2020, 12, 16), SO, "+1wd"), (D(2020, 12, 18), SO_LEADER, "+3wd"),
    ]
)  # fmt: skip


def tth_2020_one_agency_plan(config_dir):
    """The sample TTH plan of 2020, with A Lưới district standing for all the units."""
    plan = config_dir / "plans" / "tth-2020-bdg.yaml"
    text = plan.read_text(encoding="utf-8").replace(
        "[tth-huyen, tth-so-nganh, tth-so-ldtbxh]", "[tth-ubnd-h-a-luoi]"
    )
    text = text.replace("[tth-huyen, tth-so-nganh]", "[tth-ubnd-h-a-luoi]")
    plan.write_text(text, encoding="utf-8")
    for other in ("lam-thao-2024-bdg.yaml", "thai-binh-hlhpn-2024-bdg.yaml", "hue-2026-bdg.yaml"):
        (config_dir / "plans" / other).unlink()


def test_the_smtp_server_receives_exactly_the_expected_messages_on_the_expected_days(
    tmp_path, config_dir, smtp_sink, database_url
):
    tth_2020_one_agency_plan(config_dir)
    settings = make_settings(tmp_path, config_dir, database_url)
    engine = open_store(settings.database_url)
    dispatcher = make_dispatcher(engine, config_dir, settings, smtp_sink)
    received: list[tuple[date, str]] = []
    day = D(2020, 1, 1)
    while day.year == 2020:
        eight_am = datetime(day.year, day.month, day.day, 8, 0, tzinfo=settings.timezone)
        with time_machine.travel(eight_am, tick=False):
            before = len(smtp_sink.received)
            sync_and_dispatch(engine, dispatcher, settings, day)
            received += [(day, r.key) for r in smtp_sink.received[before:]]
        day += timedelta(days=1)

    with engine.connect() as conn:
        rows = {r.key: r for r in conn.execute(select(Reminder.__table__))}
    got = [(day, rows[key].contact_key, rows[key].rung) for day, key in received]
    assert sorted(got) == EXPECTED  # exactly these, on these days
    assert [day for day, _, _ in got] == sorted(day for day, _, _ in got)  # in order
    workdays = WorkCalendar()
    assert all(workdays.is_working_day(day) for day, _ in received)
    assert len({key for _, key in received}) == len(received)  # never twice
    # Later reminders about one deadline thread under the earlier ones.
    by_thread: dict[tuple, list] = {}
    for message in smtp_sink.received:
        row = rows[message.key]
        by_thread.setdefault((row.occurrence_key, row.contact_key), []).append(message)
    for messages in by_thread.values():
        for n, message in enumerate(messages):
            references = str(message.message.get("References", "")).split()
            assert references == [str(m.message["Message-ID"]) for m in messages[:n]]
    subjects = [r.subject for r in smtp_sink.received]
    assert all(subjects) and any("quá hạn" in s.lower() for s in subjects)
