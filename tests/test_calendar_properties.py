"""Properties of the calendar rules, over generated dates and policies (hypothesis)."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.calendar.dates import DayOfYear, format_date, parse_date, parse_day_of_year
from scheduler.calendar.workdays import WorkCalendar
from scheduler.config.loader import load_config
from scheduler.config.schema import Offset, PolicySpec
from scheduler.config.settings import load_settings
from scheduler.plan.planner import Planner, send_day
from tests.support.settings import SAMPLE_CONFIG

CAL = WorkCalendar()
DEPLOYMENT = load_config(SAMPLE_CONFIG)
SETTINGS = load_settings(env={})

days = st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31))
offsets = st.builds(Offset, st.integers(min_value=-40, max_value=10), st.booleans())
rules = st.sampled_from(["previous", "next"])


@given(anchor=days, offset=offsets, rule=rules)
def test_send_day_is_a_working_day_on_the_right_side_of_the_anchor(anchor, offset, rule):
    day = send_day(anchor, offset, rule, CAL)
    assert CAL.is_working_day(day)
    if offset.amount <= 0:
        assert day <= anchor
    else:
        assert day > anchor


rung = st.fixed_dictionaries(
    {"offset": st.builds(lambda n, wd: f"{n:+d}{'wd' if wd else 'd'}", st.integers(-30, 8), st.booleans())},
    optional={"to": st.sampled_from(["focal", "leader"])},
)


@settings(max_examples=40, deadline=None)
@given(
    rungs=st.lists(rung, min_size=1, max_size=6, unique_by=lambda r: r["offset"]),
    rule=rules,
    start=st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)),  # the live sample plan
)
def test_every_planned_reminder_is_on_a_working_day_and_never_late_unless_overdue(rungs, rule, start):
    policy = PolicySpec.model_validate(
        {"id": "generated", "non_working_day": rule, "deadline": rungs, "window": rungs, "observance": rungs}
    )
    every_policy = dict.fromkeys(DEPLOYMENT.policies, policy)
    deployment = dataclasses.replace(DEPLOYMENT, policies=every_policy)
    planner = Planner(deployment, SETTINGS)
    count = 0
    for occurrence in planner.occurrences(start, start + timedelta(days=366)):
        for reminder in planner.reminders(occurrence):
            local_day = reminder.send_at.astimezone(SETTINGS.timezone).date()
            assert DEPLOYMENT.workdays.is_working_day(local_day), reminder  # with config/workdays.yaml
            if occurrence.event.kind == "deadline" and reminder.kind not in ("overdue", "escalation"):
                assert local_day <= occurrence.event.start, reminder
            count += 1
    assert count > 0


@given(days)
def test_dates_round_trip_through_the_vietnamese_format(day):
    assert parse_date(format_date(day)) == day
    assert parse_date(day.isoformat()) == day
    assert parse_date(f"{day.day}/{day.month}/{day.year}") == day


@given(st.integers(1, 12), st.integers(1, 31))
def test_day_of_year_accepts_exactly_the_days_that_exist_every_year(month, day):
    exists_every_year = day <= [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    try:
        parsed = parse_day_of_year(f"{day}/{month}")
    except ValueError:
        assert not exists_every_year
    else:
        assert exists_every_year and parsed == DayOfYear(month, day)
