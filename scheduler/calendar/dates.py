"""Dates as Vietnamese documents and plan files write them.

`25/3/2020`, `25/03/2020` and `2020-03-25` are full dates; `10/6` is a day of the
year. Errors say what was written and why it is not a date (30/02 has no day).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

_DMY = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_DM = re.compile(r"(\d{1,2})/(\d{1,2})")


@dataclass(frozen=True, order=True)
class DayOfYear:
    """A day that recurs every year, such as 10/6 or 25/11."""

    month: int
    day: int

    def in_year(self, year: int) -> date:
        return date(year, self.month, self.day)

    def __str__(self) -> str:
        return f"{self.day:02d}/{self.month:02d}"


def _checked(year: int, month: int, day: int, text: str) -> date:
    if not 1 <= month <= 12:
        raise ValueError(f"'{text}' không phải ngày: tháng {month} không tồn tại")
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        raise ValueError(f"'{text}' không phải ngày: tháng {month}/{year} chỉ có {last} ngày")
    return date(year, month, day)


def parse_date(text: str) -> date:
    """Parse a full date: `dd/mm/yyyy` or `yyyy-mm-dd`."""
    text = str(text).strip()
    if m := _DMY.fullmatch(text):
        return _checked(int(m[3]), int(m[2]), int(m[1]), text)
    if m := _ISO.fullmatch(text):
        return _checked(int(m[1]), int(m[2]), int(m[3]), text)
    raise ValueError(f"'{text}' không phải ngày: cần dạng ngày/tháng/năm, ví dụ 10/06/2020")


def parse_day_of_year(text: str) -> DayOfYear:
    """Parse `dd/mm`, a day that recurs each year. 29/02 is refused: not every year has it."""
    text = str(text).strip()
    m = _DM.fullmatch(text)
    if not m:
        raise ValueError(f"'{text}' không phải ngày trong năm: cần dạng ngày/tháng, ví dụ 10/6")
    day, month = int(m[1]), int(m[2])
    if (month, day) == (2, 29):
        raise ValueError(f"'{text}': không phải năm nào cũng có ngày 29/02; hãy chọn 28/02 hoặc 01/03")
    _checked(2001, month, day, text)
    return DayOfYear(month, day)


def parse_date_or_day(text: str) -> date | DayOfYear:
    """A full date when the text has a year, otherwise a day of the year."""
    text = str(text).strip()
    if _DM.fullmatch(text):
        return parse_day_of_year(text)
    return parse_date(text)


def format_date(day: date) -> str:
    return day.strftime("%d/%m/%Y")
