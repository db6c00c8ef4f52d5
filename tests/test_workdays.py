"""Vietnamese working days: Tết, National Day, swapped days, the override file."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from scheduler.calendar.dates import parse_date
from scheduler.calendar.workdays import LAW, SWAP, WorkCalendar, WorkdayOverrides
from scheduler.cli.app import app
from scheduler.config.loader import load_config
from scheduler.config.schema import Offset
from scheduler.config.yamlfile import ConfigInvalid
from scheduler.plan.planner import send_day
from tests.support.settings import SAMPLE_CONFIG

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


def test_new_year_2026_is_off_from_1_to_4_january_with_saturday_10_worked():
    # Công văn 12729/VPCP-KGVX, 25/12/2025: Friday 2/1 off, in exchange for Saturday 10/1.
    workdays = load_config(SAMPLE_CONFIG).workdays
    for day in days(D(2026, 1, 1), D(2026, 1, 4)):
        assert not workdays.is_working_day(day), day
    assert workdays.is_working_day(D(2025, 12, 31)) and workdays.is_working_day(D(2026, 1, 5))
    assert workdays.is_working_day(D(2026, 1, 10))
    assert not workdays.is_working_day(D(2026, 1, 17))  # an ordinary Saturday


def test_the_readme_example_is_a_real_swap():
    readme = (SAMPLE_CONFIG.parent / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(days_off:.*?)```", readme, re.S)
    assert block is not None
    example = yaml.safe_load(block[1])
    workdays = load_config(SAMPLE_CONFIG).workdays
    assert example["days_off"] and example["working_days"]
    for entry in example["days_off"]:
        day = parse_date(entry["date"])
        assert day.weekday() < 5 and not workdays.is_working_day(day), entry
    for entry in example["working_days"]:
        day = parse_date(entry["date"])
        assert day.weekday() == 5 and workdays.is_working_day(day), entry


def test_the_listing_gives_each_day_with_its_source(config_dir: Path):
    listed = {entry.day: entry for entry in load_config(config_dir).workdays.listing(2026)}
    lines = (config_dir / "workdays.yaml").read_text(encoding="utf-8").splitlines()
    line_of = {
        day: next(i for i, text in enumerate(lines, 1) if f"date: {day}" in text)
        for day in ("02/01/2026", "10/01/2026")
    }
    expected = {
        D(2026, 1, 1): (True, LAW),
        D(2026, 1, 2): (True, f"workdays.yaml:{line_of['02/01/2026']}"),
        D(2026, 1, 10): (False, f"workdays.yaml:{line_of['10/01/2026']}"),
        D(2026, 2, 17): (True, LAW),
        D(2026, 4, 27): (True, LAW),  # Hùng Kings on Sunday 26/4: the Monday after
        D(2026, 8, 22): (False, SWAP),
        D(2026, 8, 31): (True, SWAP),
        D(2026, 9, 2): (True, LAW),
    }
    assert {day: (listed[day].off, listed[day].source) for day in expected} == expected
    assert D(2026, 1, 17) not in listed and D(2026, 1, 3) not in listed  # ordinary weekends are not listed
    assert [entry.day for entry in listed.values()] == sorted(listed)


@pytest.mark.parametrize(
    ("text", "line", "field", "words"),
    [
        (
            "days_off:\n  - {date: 02/01/2026, name: a}\nworking_days:\n  - {date: 02/01/2026, name: b}\n",
            4, "working_days[0].date", "ngày 02/01/2026 đã ghi ở",
        ),
        (
            "tet_confirmed:\n  - {year: 2026, source: a}\n  - {year: 2026, source: b}\n",
            3, "tet_confirmed[1].year", "năm 2026 đã ghi ở",
        ),
    ],
)  # fmt: skip
def test_a_day_or_a_year_written_twice_is_an_error(
    config_dir: Path, text: str, line: int, field: str, words: str
):
    (config_dir / "workdays.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigInvalid) as caught:
        load_config(config_dir)
    [error] = caught.value.errors
    assert error.field == field and error.line == line and words in error.message
    assert f"{config_dir / 'workdays.yaml'}:2" in error.message


def test_the_workdays_command_lists_the_year_and_warns_of_an_unconfirmed_tet(config_dir: Path):
    env = {"NHACVIEC_CONFIG_DIR": str(config_dir)}
    confirmed = CliRunner().invoke(app, ["workdays", "2026"], env=env)
    assert confirmed.exit_code == 0, confirmed.output
    rows = [line for line in confirmed.stdout.splitlines() if line.startswith("│ ")]
    first_cells = [row.split("│")[1:4] for row in rows if row[2].isdigit()]
    assert [cell.strip() for cell in first_cells[1]] == ["02/01/2026", "Thứ Sáu", "nghỉ"]
    assert ["10/01/2026", "Thứ Bảy", "làm việc"] in [[c.strip() for c in cells] for cells in first_cells]
    assert (
        "Lịch nghỉ Tết 2026 đã đối chiếu" in confirmed.stdout and "chưa được xác nhận" not in confirmed.stderr
    )

    unconfirmed = CliRunner().invoke(app, ["workdays", "2027"], env=env)
    assert unconfirmed.exit_code == 0
    assert unconfirmed.stderr.startswith(
        "cảnh báo lịch nghỉ Tết Nguyên đán năm 2027 chưa được xác nhận trong "
    )
    assert "tet_confirmed" in unconfirmed.stderr
    assert "05/02/2027" in unconfirmed.stdout  # the Eve of Tết Đinh Mùi, from the package
