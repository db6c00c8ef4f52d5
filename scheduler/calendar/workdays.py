"""Vietnamese working days.

Public holidays come from the `holidays` package (Tết by the lunar calendar, Hùng
Kings, 30/4, 1/5, 2/9 with its adjacent day, days off given in exchange for a
working Saturday). The government announces swaps each year; what the package does
not have yet, the deployment adds in `config/workdays.yaml`, with the years whose Tết
schedule an officer has checked against the announcement:

    days_off:        # a working day given off in exchange for a Saturday
      - {date: 02/01/2026, name: "Nghỉ Tết Dương lịch, làm bù thứ Bảy 10/01/2026"}
    working_days:    # the Saturday worked for it
      - {date: 10/01/2026, name: Làm bù cho ngày 02/01/2026}
    tet_confirmed:
      - {year: 2026, source: "…"}
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cached_property

import holidays
from holidays.version import __version__ as holidays_version


@dataclass(frozen=True)
class WorkdayOverrides:
    days_off: dict[date, str] = field(default_factory=dict)
    working_days: dict[date, str] = field(default_factory=dict)
    lines: dict[date, int] = field(default_factory=dict)  # where each day is written in workdays.yaml
    tet_confirmed: dict[int, tuple[str, int]] = field(default_factory=dict)  # year -> (source, line)


LAW = "luật"  # a holiday of the Labour Code, as the `holidays` package computes it
SWAP = "hoán đổi đã công bố"  # a swap the `holidays` package records


@dataclass(frozen=True)
class ListedDay:
    """A day off or a weekend day worked, with where it comes from (`WorkCalendar.listing`)."""

    day: date
    off: bool
    name: str
    source: str


def _package_swaps() -> tuple[dict[date, str], set[date]]:
    """The swaps the `holidays` package records: the Saturdays worked, each with the day it is
    worked for, and those days off.

    The package lists the day off ("Ngày nghỉ (thay cho ngày 26/04/2025)") but not the
    Saturday that is worked for it; its static table holds both.
    """
    table = getattr(
        getattr(holidays.countries.vietnam, "VietnamStaticHolidays", None),
        "special_public_holidays",
        {},
    )
    worked: dict[date, str] = {}
    off: set[date] = set()
    for year, entries in table.items():
        rows = entries if isinstance(entries[0], tuple) else (entries,)
        for row in rows:
            if len(row) < 4:
                continue
            day_off = date(year, row[0], row[1])
            worked_year = row[4] if len(row) > 4 else year
            worked[date(worked_year, row[2], row[3])] = f"Làm bù cho ngày {day_off:%d/%m/%Y}"
            off.add(day_off)
    return worked, off


class WorkCalendar:
    """Answers "is this a working day?" for Vietnam's public sector (Monday–Friday)."""

    def __init__(self, overrides: WorkdayOverrides | None = None) -> None:
        self.overrides = overrides or WorkdayOverrides()
        self._holidays = holidays.country_holidays("VN", language="vi")
        self._swapped, self._swapped_off = _package_swaps()
        self._next_working: dict[date, date] = {}  # remembered: asked again for every message sent

    @cached_property
    def fingerprint(self) -> str:
        """Changes whenever the set of working days may change (package version, overrides)."""
        text = repr(
            (
                holidays_version,
                sorted(self.overrides.days_off),
                sorted(self.overrides.working_days),
            )
        )
        return hashlib.sha1(text.encode()).hexdigest()[:12]

    def day_off_reason(self, day: date) -> str | None:
        """Why `day` is not a working day, or None when it is one."""
        if day in self.overrides.working_days:
            return None
        if day in self.overrides.days_off:
            return self.overrides.days_off[day]
        if day in self._holidays:
            name: str = self._holidays[day]  # a date's names (typed Any: a slice gives a list)
            return name
        if day.weekday() == 5 and day in self._swapped:
            return None
        if day.weekday() >= 5:
            return "Thứ Bảy" if day.weekday() == 5 else "Chủ nhật"
        return None

    def is_working_day(self, day: date) -> bool:
        return self.day_off_reason(day) is None

    def working_day_name(self, day: date) -> str | None:
        """The reason a weekend day is worked (a swap), if it is one."""
        if day in self.overrides.working_days:
            return self.overrides.working_days[day]
        return self._swapped.get(day) if day.weekday() == 5 else None

    def listing(self, year: int) -> list[ListedDay]:
        """The year's days off and weekend days worked, each with its source: the law (the
        holidays the package computes), a swap the package records, or the override file."""
        listed = []
        day = date(year, 1, 1)
        while day.year == year:
            written = f"workdays.yaml:{self.overrides.lines.get(day, '?')}"
            if day in self.overrides.working_days:
                listed.append(ListedDay(day, False, self.overrides.working_days[day], written))
            elif day in self.overrides.days_off:
                listed.append(ListedDay(day, True, self.overrides.days_off[day], written))
            elif day in self._holidays:
                swap = day in self._swapped_off
                listed.append(ListedDay(day, True, self._holidays[day], SWAP if swap else LAW))
            elif day.weekday() == 5 and day in self._swapped:
                listed.append(ListedDay(day, False, self._swapped[day], SWAP))
            day += timedelta(days=1)
        return listed

    def previous_working_day(self, day: date) -> date:
        """The last working day on or before `day`."""
        while not self.is_working_day(day):
            day -= timedelta(days=1)
        return day

    def next_working_day(self, day: date) -> date:
        """The first working day on or after `day`."""
        if day not in self._next_working:
            working = day
            while not self.is_working_day(working):
                working += timedelta(days=1)
            self._next_working[day] = working
        return self._next_working[day]

    def add_working_days(self, day: date, count: int) -> date:
        """Move `count` working days from `day` (negative: backwards)."""
        step = timedelta(days=1 if count >= 0 else -1)
        remaining = abs(count)
        while remaining:
            day += step
            if self.is_working_day(day):
                remaining -= 1
        return day

    def last_working_day_of_month(self, year: int, month: int) -> date:
        first_of_next = date(year + month // 12, month % 12 + 1, 1)
        return self.previous_working_day(first_of_next - timedelta(days=1))
