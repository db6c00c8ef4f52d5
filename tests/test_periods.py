"""The periodic reports of Decree 09/2019/NĐ-CP: data cut-offs, deadlines per level, the messages.

Art. 12: monthly data from the 15th of the previous month to the 14th; quarterly from the 15th of
the month before the quarter to the 14th of its last month; half-years 15/12–14/6 and 15/6–14/12;
the year 15/12–14/12. Art. 8: one deadline per level, each at least one working day after the
cut-off or the level below.
"""

from __future__ import annotations

import shutil
from datetime import date
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace

import pytest
from icalendar import Calendar
from sqlalchemy import select
from typer.testing import CliRunner

from notifiers.email import EmailNotifier
from notifiers.sms import SmsNotifier
from notifiers.zalo import ZaloNotifier
from scheduler.calendar.periods import ReportPeriod, level_dates, parse_due, periods_of, regime
from scheduler.calendar.workdays import WorkCalendar
from scheduler.cli.app import app
from scheduler.config.loader import load_config
from scheduler.config.yamlfile import ConfigInvalid
from scheduler.outbox.store import Occurrence, Reminder, open_store
from scheduler.outbox.sync import sync
from scheduler.plan.events import calendar_events
from scheduler.render.messages import MessageBuilder
from scheduler.render.samples import sample_context
from scheduler.render.templates import Templates
from tests.support.configs import before_the_2025_merger
from tests.support.dispatch_kit import links
from tests.support.settings import SAMPLE_CONFIG, make_settings

D = date

# --- data periods (art. 12) ----------------------------------------------------------------------


@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_each_months_data_run_from_the_15th_of_the_month_before_to_its_14th(year):
    months = periods_of("monthly", year)
    assert [(p.data_from, p.data_to) for p in months[:2]] == [
        (D(year - 1, 12, 15), D(year, 1, 14)),
        (D(year, 1, 15), D(year, 2, 14)),
    ]
    assert (months[-1].data_from, months[-1].data_to) == (D(year, 11, 15), D(year, 12, 14))
    # Back to back: every day of the year's data belongs to exactly one month.
    assert all(b.data_from.toordinal() == a.data_to.toordinal() + 1 for a, b in pairwise(months))
    assert [p.label for p in months[:2]] == [f"{year}-01", f"{year}-02"]
    assert months[5].name == f"tháng 6/{year}"


@pytest.mark.parametrize("year", [2025, 2026, 2027])
def test_quarters_half_years_and_the_year(year):
    assert [(p.name, p.data_from, p.data_to) for p in periods_of("quarterly", year)] == [
        (f"quý I/{year}", D(year - 1, 12, 15), D(year, 3, 14)),
        (f"quý II/{year}", D(year, 3, 15), D(year, 6, 14)),
        (f"quý III/{year}", D(year, 6, 15), D(year, 9, 14)),
        (f"quý IV/{year}", D(year, 9, 15), D(year, 12, 14)),
    ]
    assert [(p.name, p.data_from, p.data_to) for p in periods_of("half-year", year)] == [
        (f"6 tháng đầu năm {year}", D(year - 1, 12, 15), D(year, 6, 14)),
        (f"6 tháng cuối năm {year}", D(year, 6, 15), D(year, 12, 14)),
    ]
    [annual] = periods_of("annual", year)
    assert (annual.name, annual.label, annual.data_from, annual.data_to) == (
        f"năm {year}",
        str(year),
        D(year - 1, 12, 15),
        D(year, 12, 14),
    )


def test_a_longer_report_replaces_the_shorter_one_ending_on_the_same_cut_off():
    names = [p.name for p in regime(("quarterly", "half-year", "annual"), 2026)]
    assert names == ["quý I/2026", "6 tháng đầu năm 2026", "quý III/2026", "năm 2026"]
    assert [p.name for p in regime(("half-year", "annual"), 2026)] == ["6 tháng đầu năm 2026", "năm 2026"]
    assert len(regime(("monthly", "quarterly"), 2026)) == 12


# --- deadlines per level (art. 8) ------------------------------------------------------------------

WORKDAYS = WorkCalendar()


def chain(kinds, due, year) -> list[tuple[str, date, date, date | None, date | None]]:
    """(period, units' deadline, its effective day, focal deadline, its effective day)."""
    rows = []
    for period in regime(kinds, year):
        units, focal = level_dates(period, parse_due(due), WORKDAYS)
        rows.append(
            (
                period.name,
                units,
                WORKDAYS.next_working_day(units),
                focal,
                focal and WORKDAYS.next_working_day(focal),
            )
        )
    return rows


def test_the_provincial_half_year_and_annual_regime_2025_to_2027():
    # "báo cáo 6 tháng trước ngày 15/6 và báo cáo năm trước ngày 15/12; Sở tổng hợp báo cáo UBND
    # tỉnh trước ngày 20/6, 20/12". A deadline on a day off is effective on the next working day.
    due = {"units": 15, "focal": 20}
    assert chain(("half-year", "annual"), due, 2025) == [
        # 15/6/2025 is a Sunday: the units have until Monday 16/6; the Sở keeps 20/6 (Friday).
        ("6 tháng đầu năm 2025", D(2025, 6, 15), D(2025, 6, 16), D(2025, 6, 20), D(2025, 6, 20)),
        # 20/12/2025 is a Saturday: the Sở's deadline is effective on Monday 22/12.
        ("năm 2025", D(2025, 12, 15), D(2025, 12, 15), D(2025, 12, 20), D(2025, 12, 22)),
    ]
    assert chain(("half-year", "annual"), due, 2026) == [
        ("6 tháng đầu năm 2026", D(2026, 6, 15), D(2026, 6, 15), D(2026, 6, 20), D(2026, 6, 22)),
        ("năm 2026", D(2026, 12, 15), D(2026, 12, 15), D(2026, 12, 20), D(2026, 12, 21)),
    ]
    assert chain(("half-year", "annual"), due, 2027) == [
        ("6 tháng đầu năm 2027", D(2027, 6, 15), D(2027, 6, 15), D(2027, 6, 20), D(2027, 6, 21)),
        ("năm 2027", D(2027, 12, 15), D(2027, 12, 15), D(2027, 12, 20), D(2027, 12, 20)),
    ]


@pytest.mark.parametrize(
    ("year", "days"),
    [
        (2025, [D(2025, 3, 20), D(2025, 6, 20), D(2025, 9, 22), D(2025, 12, 22)]),  # 20/9, 20/12 weekend
        (2026, [D(2026, 3, 20), D(2026, 6, 22), D(2026, 9, 21), D(2026, 12, 21)]),
        (2027, [D(2027, 3, 22), D(2027, 6, 21), D(2027, 9, 20), D(2027, 12, 20)]),
    ],
)
def test_quarterly_reports_before_the_20th_of_the_quarters_last_month(year, days):
    rows = chain(("quarterly",), 20, year)
    assert [written for _, written, _, _, _ in rows] == [D(year, m, 20) for m in (3, 6, 9, 12)]
    assert [effective for _, _, effective, _, _ in rows] == days


def test_working_day_offsets_follow_tet():
    # Units: the first working day after the cut-off; the focal agency two working days after the
    # units' effective deadline. Tết 2026 is 14–22/2: February's report waits for Monday 23/2.
    due = {"units": "+1wd", "focal": "+2wd"}
    rows = chain(("monthly",), due, 2026)
    assert rows[0][1:] == (D(2026, 1, 15), D(2026, 1, 15), D(2026, 1, 19), D(2026, 1, 19))
    assert rows[1][1:] == (D(2026, 2, 23), D(2026, 2, 23), D(2026, 2, 25), D(2026, 2, 25))
    for year in (2025, 2026, 2027):  # whatever the calendar, each level has a working day of its own
        for period in regime(("monthly",), year):
            units, focal = level_dates(period, parse_due(due), WORKDAYS)
            assert WORKDAYS.is_working_day(units) and units > period.data_to
            assert WORKDAYS.is_working_day(focal) and focal > units


def test_a_day_past_the_months_end_is_its_last_day():
    assert level_dates(ReportPeriod(2026, 2, "monthly"), parse_due(31), WORKDAYS) == (D(2026, 2, 28), None)


# --- a plan written with the shorthand ------------------------------------------------------------------

PLAN = """\
id: tth-bao-cao-dinh-ky
title: Quy định chế độ báo cáo định kỳ về công tác bình đẳng giới
issuer: UBND tỉnh Thừa Thiên Huế
year: 2025
focal_agency: tth-so-ldtbxh
obligations:
  - id: bao-cao-bdg
    title: Báo cáo công tác bình đẳng giới
    period: [half-year, annual]       # báo cáo 6 tháng và báo cáo năm
    due: {units: 15, focal: 20}       # đơn vị trước 15/6, 15/12; Sở tổng hợp trước 20/6, 20/12
    recurring: true                   # a standing regime: every year, not only the plan's
    who: [tth-huyen, tth-so-nganh]
    to: tth-ubnd-tinh
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The sample agencies, policies and working days, and one plan with a Decree 09 regime."""
    target = tmp_path / "config"
    shutil.copytree(SAMPLE_CONFIG, target)
    shutil.rmtree(target / "plans")
    (target / "plans").mkdir()
    before_the_2025_merger(target)  # this module is about report periods, not mergers
    write(target)
    return target


def write(config: Path, old: str = "", new: str = "") -> Path:
    assert old in PLAN
    file = config / "plans" / "dinh-ky.yaml"
    file.write_text(PLAN.replace(old, new, 1), encoding="utf-8")
    return file


def test_the_shorthand_gives_each_period_a_deadline_per_level(config):
    deployment = load_config(config)
    events = calendar_events(deployment, D(2025, 1, 1), D(2027, 12, 31), agency_id="tth-so-y-te")
    assert [(e.item_id, e.period, e.start) for e in events] == [
        ("bao-cao-bdg", "2025-H1", D(2025, 6, 15)),
        ("bao-cao-bdg", "2025", D(2025, 12, 15)),
        ("bao-cao-bdg", "2026-H1", D(2026, 6, 15)),
        ("bao-cao-bdg", "2026", D(2026, 12, 15)),
        ("bao-cao-bdg", "2027-H1", D(2027, 6, 15)),
        ("bao-cao-bdg", "2027", D(2027, 12, 15)),
    ]
    units = events[2]
    assert units.title == "Báo cáo công tác bình đẳng giới 6 tháng đầu năm 2026"
    assert (units.to, units.via, units.after) == ("tth-ubnd-tinh", "tth-so-ldtbxh", None)
    assert (units.data.start, units.data.end) == (D(2025, 12, 15), D(2026, 6, 14))
    assert "tth-ubnd-h-a-luoi" in units.who and "tth-so-ldtbxh" not in units.who

    in_2026 = calendar_events(deployment, D(2026, 1, 1), D(2026, 12, 31), agency_id="tth-so-ldtbxh")
    focal = [e for e in in_2026 if "tth-so-ldtbxh" in e.who]  # the others name it as `via`
    assert [(e.item_id, e.period, e.start, e.who, e.to, e.after) for e in focal] == [
        (
            "bao-cao-bdg.tong-hop",
            "2026-H1",
            D(2026, 6, 20),
            ("tth-so-ldtbxh",),
            "tth-ubnd-tinh",
            "bao-cao-bdg",
        ),
        ("bao-cao-bdg.tong-hop", "2026", D(2026, 12, 20), ("tth-so-ldtbxh",), "tth-ubnd-tinh", "bao-cao-bdg"),
    ]
    assert focal[1].title == "Tổng hợp báo cáo công tác bình đẳng giới năm 2026"
    assert (focal[1].data.start, focal[1].data.end) == (D(2025, 12, 15), D(2026, 12, 14))


def test_until_ends_the_regime(config):
    write(config, "    to: tth-ubnd-tinh\n", "    to: tth-ubnd-tinh\n    until: 2025\n")
    events = calendar_events(load_config(config), D(2025, 1, 1), D(2027, 12, 31))
    assert [e.start for e in events] == [D(2025, 6, 15), D(2025, 6, 20), D(2025, 12, 15), D(2025, 12, 20)]


def errors_of(config: Path) -> list[tuple[str, int, str, str]]:
    with pytest.raises(ConfigInvalid) as caught:
        load_config(config)
    return [(e.file, e.line, e.field, e.message) for e in caught.value.errors]


def line_of(file: Path, needle: str) -> int:
    return next(
        n for n, line in enumerate(file.read_text(encoding="utf-8").splitlines(), 1) if needle in line
    )


def test_check_refuses_a_units_deadline_on_or_before_the_cut_off(config, tmp_path):
    file = write(config, "due: {units: 15, focal: 20}", "due: {units: 10, focal: 20}")
    [(where, line, field, message)] = errors_of(config)
    assert (where, line, field) == (str(file), line_of(file, "due:"), "obligations[0].due.units")
    assert "không sau ngày chốt số liệu (ngày 14" in message and "Điều 8" in message
    assert "ghi ngày từ 15 trở đi hoặc +1wd" in message

    env = {"NHACVIEC_CONFIG_DIR": str(config), "NHACVIEC_DATABASE_URL": f"sqlite:///{tmp_path / 'db'}"}
    result = CliRunner().invoke(app, ["check"], env=env)
    assert result.exit_code == 1 and f"dinh-ky.yaml:{line}" in result.output
    assert "Traceback" not in result.output


def test_check_refuses_levels_without_separate_deadlines(config):
    write(config, "due: {units: 15, focal: 20}", "due: {units: 15, focal: 15}")
    [(_, _, field, message)] = errors_of(config)
    assert field == "obligations[0].due.focal"
    assert "không sau hạn của các đơn vị (ngày 15)" in message and "mỗi cấp cần hạn riêng" in message


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        ("    due: {units: 15, focal: 20}       # đơn vị trước 15/6, 15/12; Sở tổng hợp trước 20/6, 20/12\n", "",
         "obligations[0]", "thiếu 'due'"),
        ("period: [half-year, annual]", "yearly: 15/06", "obligations[0].due", "'due' chỉ dùng với period"),
        ("period: [half-year, annual]", "period: [half-year, weekly]", "obligations[0].period",
         "kỳ báo cáo 'weekly' không có"),
        ("due: {units: 15, focal: 20}", "due: {units: 15, tinh: 20}", "obligations[0].due", "khóa tinh"),
        ("due: {units: 15, focal: 20}", "due: {units: 15, focal: +0wd}", "obligations[0].due",
         "cần ít nhất +1d hoặc +1wd"),
        ("period: [half-year, annual]", "period: half-year\n    on: 15/06/2025", "obligations[0]",
         "cần đúng một trong"),
    ],
)  # fmt: skip
def test_malformed_regimes_are_named(config, old, new, field, words):
    write(config, old, new)
    errors = errors_of(config)
    assert any(f == field and words in m for _, _, f, m in errors), errors


def test_days_off_that_merge_two_levels_are_a_warning(config):
    # Monthly, units by the 15th, the Sở by the 20th: in Tết 2026 both fall on Monday 23/2.
    write(config, "period: [half-year, annual]", "period: monthly")
    deployment = load_config(config)
    [warning] = [w for w in deployment.warnings if w.field == "obligations[0].due.focal"]
    assert "kỳ tháng 2/2026: hạn tổng hợp 20/02/2026 không sau hạn của các đơn vị" in warning.message
    assert "tính đến hết 23/02/2026" in warning.message and "+1wd" in warning.message


# --- the data period in the messages --------------------------------------------------------------------


@pytest.fixture
def synced(config, tmp_path):
    settings = make_settings(tmp_path, config, NHACVIEC_PUBLIC_URL="https://nhacviec.hue.gov.vn")
    engine = open_store(settings.database_url)
    deployment = load_config(config)
    sync(engine, deployment, settings, D(2026, 6, 1))
    builder = MessageBuilder(deployment, Templates(None), links(settings), settings.timezone)
    yield engine, builder
    engine.dispose()


def reminder_of(engine, occurrence_key: str):
    with engine.connect() as conn:
        occurrence = conn.execute(select(Occurrence.__table__).where(Occurrence.key == occurrence_key)).one()
        rows = conn.execute(
            select(Reminder.__table__)
            .where(Reminder.occurrence_key == occurrence_key)
            .order_by(Reminder.send_at)
        ).all()
    return occurrence, rows


def on(row, channel: str) -> SimpleNamespace:
    """The reminder row as if it went by another channel."""
    return SimpleNamespace(**{**row._mapping, "channel": channel})


def test_every_reminder_of_a_periodic_report_states_its_data_period(synced):
    engine, builder = synced
    occurrence, rows = reminder_of(engine, "tth-bao-cao-dinh-ky/bao-cao-bdg/2026-H1/tth-ubnd-h-a-luoi")
    assert occurrence.title == "Báo cáo công tác bình đẳng giới 6 tháng đầu năm 2026"
    row = rows[0]
    email = builder.reminder(row, occurrence, (), row.send_at, EmailNotifier.renders)
    assert "- Số liệu từ 15/12/2025 đến 14/06/2026\n" in email.text
    assert "Số liệu</td><td" in email.html and "từ 15/12/2025 đến 14/06/2026" in email.html
    [ics] = Calendar.from_ical(email.attachments[0].data).walk("VEVENT")
    assert "Số liệu từ 15/12/2025 đến 14/06/2026" in str(ics["description"])

    zalo = builder.reminder(on(row, "zalo"), occurrence, (), row.send_at, ZaloNotifier.renders)
    assert zalo.fields["data_period"] == "15/12/2025 - 14/06/2026"

    sms = builder.reminder(on(row, "sms"), occurrence, (), row.send_at, SmsNotifier.renders)
    assert "6 thang dau nam 2026" in sms.short_ascii and "/x/" in sms.short_ascii
    assert len(sms.short_ascii) <= 160  # one SMS: the data period itself is only in the e-mail


def test_the_focal_agencys_reminder_states_the_same_data(synced):
    engine, builder = synced
    occurrence, rows = reminder_of(engine, "tth-bao-cao-dinh-ky/bao-cao-bdg.tong-hop/2026-H1/tth-so-ldtbxh")
    email = builder.reminder(rows[0], occurrence, (), rows[0].send_at, EmailNotifier.renders)
    assert "- Nội dung: Tổng hợp báo cáo công tác bình đẳng giới 6 tháng đầu năm 2026\n" in email.text
    assert "- Số liệu từ 15/12/2025 đến 14/06/2026\n" in email.text
    # 20/6/2026 is a Saturday.
    assert "hạn được tính đến hết Thứ Hai, 22/06/2026" in email.text
    assert "- Nơi nhận báo cáo: UBND tỉnh\n" in email.text


def test_a_long_title_keeps_its_period_in_the_short_text():
    context = sample_context("upcoming")
    context["item"]["title"] = (
        "Báo cáo kết quả thực hiện công tác bình đẳng giới và vì sự tiến bộ của phụ nữ 6 tháng đầu năm 2026"
    )
    context["data_period"] = {"start": D(2025, 12, 15), "end": D(2026, 6, 14), "name": "6 tháng đầu năm 2026"}
    short = Templates(None).render("upcoming", context).short_ascii
    assert "Nhac han: Bao cao ket qua thuc hien cong tac... 6 thang dau nam 2026 (72/KH-UBND) han" in short
    context["data_period"] = None  # any other deadline: the end of the title is cut
    assert "Nhac han: Bao cao ket qua thuc hien cong tac binh dang gioi va vi... (72/KH-UBND)" in (
        Templates(None).render("upcoming", context).short_ascii
    )


def test_other_deadlines_have_no_data_period(config, tmp_path):
    shutil.copy(SAMPLE_CONFIG / "plans" / "tth-2020-bdg.yaml", config / "plans")
    events = calendar_events(load_config(config), D(2020, 1, 1), D(2020, 12, 31), plan_id="tth-2020-bdg")
    assert events and all(e.data is None for e in events)
