"""Vietnamese working days: Tết, National Day, swapped days, the override file."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

from scheduler.loader import load_config
from scheduler.planner import send_day
from scheduler.schema import Offset
from scheduler.workdays import WorkCalendar, WorkdayOverrides
from tests.conftest import SAMPLE_CONFIG

D = date
CAL = WorkCalendar()


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def test_tet_2025_is_off_and_the_days_around_it_are_worked():
    # Tết Ất Tỵ: Eve 28/1, New Year 29/1 … 4th day 1/2 (Sat); the public sector was
    # also off on Monday 27/1 (swap) and the weekend up to Sunday 2/2.
    for day in days(D(2025, 1, 25), D(2025, 2, 2)):
        assert not CAL.is_working_day(day), day
    assert "Tết" in CAL.day_off_reason(D(2025, 1, 29))
    assert CAL.is_working_day(D(2025, 1, 24))  # Friday before
    assert CAL.is_working_day(D(2025, 2, 3))  # Monday after: back to work


def test_national_day_2025_with_its_adjacent_day():
    assert not CAL.is_working_day(D(2025, 9, 2))
    assert not CAL.is_working_day(D(2025, 9, 1))  # the adjacent day (Monday)
    assert CAL.is_working_day(D(2025, 9, 3))


def test_substitute_day_off_and_the_saturday_worked_for_it():
    # 2/5/2025 (Friday) off, in exchange for working Saturday 26/4/2025.
    assert not CAL.is_working_day(D(2025, 5, 2))
    assert CAL.is_working_day(D(2025, 4, 26))
    assert CAL.working_day_name(D(2025, 4, 26)) == "Làm bù cho ngày 02/05/2025"
    assert not CAL.is_working_day(D(2025, 4, 19))  # an ordinary Saturday


def test_override_file_adds_days_off_and_working_saturdays(config_dir: Path):
    (config_dir / "workdays.yaml").write_text(
        "days_off:\n"
        "  - {date: 05/01/2026, name: Nghỉ bù theo thông báo}\n"
        "working_days:\n"
        "  - {date: 10/01/2026, name: Làm bù cho ngày 05/01/2026}\n",
        encoding="utf-8",
    )
    workdays = load_config(config_dir).workdays
    assert workdays.day_off_reason(D(2026, 1, 5)) == "Nghỉ bù theo thông báo"
    assert workdays.is_working_day(D(2026, 1, 10))
    assert workdays.fingerprint != CAL.fingerprint


def test_a_reminder_due_inside_tet_moves_to_the_last_working_day_before_it():
    # Deadline 5/2/2025; the −7d rung would be 29/1 (Tết): it goes out on Friday 24/1.
    assert send_day(D(2025, 2, 5), Offset(-7, False), "previous", CAL) == D(2025, 1, 24)
    # The "next" rule may not push a rung past its deadline: Tết ends after it.
    assert send_day(D(2025, 1, 31), Offset(-1, False), "next", CAL) == D(2025, 1, 24)
    assert send_day(D(2025, 1, 31), Offset(-1, False), "keep", CAL) == D(2025, 1, 30)


def test_overdue_rungs_count_from_the_effective_deadline():
    # Deadline Sunday 1/12/2024 → effective Monday 2/12 (Civil Code art. 148).
    assert send_day(D(2024, 12, 1), Offset(1, True), "previous", CAL) == D(2024, 12, 3)
    assert send_day(D(2024, 12, 1), Offset(3, True), "previous", CAL) == D(2024, 12, 5)
    # Deadline Friday 24/1/2025, +1 working day crosses all of Tết.
    assert send_day(D(2025, 1, 24), Offset(1, True), "previous", CAL) == D(2025, 2, 3)
    # A due-day rung on a Sunday deadline goes out the Friday before.
    assert send_day(D(2024, 12, 1), Offset(0, False), "previous", CAL) == D(2024, 11, 29)


def test_working_day_arithmetic():
    assert CAL.add_working_days(D(2025, 1, 24), 1) == D(2025, 2, 3)
    assert CAL.add_working_days(D(2025, 2, 3), -1) == D(2025, 1, 24)
    assert CAL.last_working_day_of_month(2025, 8) == D(2025, 8, 29)
    assert CAL.last_working_day_of_month(2025, 12) == D(2025, 12, 31)
    custom = WorkCalendar(WorkdayOverrides(days_off={D(2025, 12, 31): "Nghỉ"}))
    assert custom.last_working_day_of_month(2025, 12) == D(2025, 12, 30)


# --- the facts of 2025–2026 (issue 13), the override file's places, `nhacviec workdays` ----------


def test_the_2025_and_2026_swaps_come_from_the_package():
    # 2/5/2025 off for Saturday 26/4/2025; 31/8/2026 off for Saturday 22/8/2026.
    for off, worked in ((D(2025, 5, 2), D(2025, 4, 26)), (D(2026, 8, 31), D(2026, 8, 22))):
        assert not CAL.is_working_day(off) and CAL.is_working_day(worked)
        assert CAL.working_day_name(worked) == f"Làm bù cho ngày {off:%d/%m/%Y}"


def test_the_holidays_lower_bound_is_the_first_release_with_both_swaps():
    # Installing 0.101 … 0.109 one by one: 0.106 is the first with the swaps of 2025 and 2026.
    pyproject = (SAMPLE_CONFIG.parent / "pyproject.toml").read_text(encoding="utf-8")
    bound = re.search(r'"holidays>=([\d.]+)"', pyproject)
    assert bound is not None
    assert tuple(int(part) for part in bound[1].split(".")) >= (0, 106)
