"""The periodic reports of Decree 09/2019/NĐ-CP (chế độ báo cáo của cơ quan hành chính nhà nước).

Art. 12 fixes each period's data: a monthly report covers the 15th of the previous month to
the 14th of its month; a quarterly one the 15th of the month before the quarter to the 14th of
its last month; the half-years 15/12–14/6 and 15/6–14/12; the year 15/12 of the year before to
14/12. Art. 8 leaves the deadlines to the body that sets the regime, one per level of the chain
(the units report by D, the focal agency consolidates by D + n), with at least one working day
between the cut-off and the deadline.

A plan names such a regime in one obligation:

    period: [half-year, annual]      # báo cáo 6 tháng và báo cáo năm
    due: {units: 15, focal: 20}      # đơn vị trước ngày 15/6, 15/12; Sở tổng hợp trước ngày 20/6, 20/12

A due day is either a day of the period's last month (`15`) or a distance from the level before
it (`+1wd`: the first working day after the cut-off for the units, after the units' effective
deadline for the focal agency; `+5d`: five calendar days). When a regime names several
periods, the report of the longer one replaces the shorter one ending on the same cut-off: with
`[half-year, annual]` the second half-year is reported in the annual report.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Literal

from scheduler.calendar.dates import format_date
from scheduler.calendar.workdays import WorkCalendar

PeriodKind = Literal["monthly", "quarterly", "half-year", "annual"]
PERIOD_KINDS: tuple[PeriodKind, ...] = ("monthly", "quarterly", "half-year", "annual")
MONTHS: dict[str, int] = {"monthly": 1, "quarterly": 3, "half-year": 6, "annual": 12}
KIND_WORDS = {"monthly": "tháng", "quarterly": "quý", "half-year": "6 tháng", "annual": "năm"}
CUT_OFF_DAY = 14  # art. 12: the data of a period end on the 14th of its last month
FOCAL_SUFFIX = ".tong-hop"  # the focal level's item id: "<obligation id>.tong-hop"
_ROMAN = ("I", "II", "III", "IV")


@dataclass(frozen=True)
class DataPeriod:
    """The data a report covers: "Số liệu từ 15/12/2025 đến 14/06/2026" for "6 tháng đầu năm 2026"."""

    start: date
    end: date
    name: str


@dataclass(frozen=True, order=True)
class ReportPeriod:
    """One period of one kind: the 2nd quarter of 2026, the first half of 2026 …"""

    year: int
    last_month: int  # the month of its cut-off
    kind: PeriodKind

    @property
    def number(self) -> int:
        return self.last_month // MONTHS[self.kind]

    @property
    def label(self) -> str:
        """The occurrence's period: "2026-06", "2026-Q2", "2026-H1", "2026"."""
        return {
            "monthly": f"{self.year}-{self.last_month:02d}",
            "quarterly": f"{self.year}-Q{self.number}",
            "half-year": f"{self.year}-H{self.number}",
            "annual": str(self.year),
        }[self.kind]

    @property
    def name(self) -> str:
        """As titles write it: "tháng 6/2026", "quý II/2026", "6 tháng đầu năm 2026", "năm 2026"."""
        if self.kind == "monthly":
            return f"tháng {self.last_month}/{self.year}"
        if self.kind == "quarterly":
            return f"quý {_ROMAN[self.number - 1]}/{self.year}"
        if self.kind == "half-year":
            return f"6 tháng {'đầu' if self.number == 1 else 'cuối'} năm {self.year}"
        return f"năm {self.year}"

    @property
    def data_to(self) -> date:
        """The cut-off: the 14th of the period's last month."""
        return date(self.year, self.last_month, CUT_OFF_DAY)

    @property
    def data(self) -> DataPeriod:
        return DataPeriod(self.data_from, self.data_to, self.name)

    @property
    def data_from(self) -> date:
        """The 15th of the month before the period's first month."""
        before = self.last_month - MONTHS[self.kind]  # 0 or less: a month of the year before
        year, month = (self.year, before) if before >= 1 else (self.year - 1, before + 12)
        return date(year, month, CUT_OFF_DAY + 1)


def periods_of(kind: PeriodKind, year: int) -> list[ReportPeriod]:
    step = MONTHS[kind]
    return [ReportPeriod(year, month, kind) for month in range(step, 13, step)]


def regime(kinds: Iterable[PeriodKind], year: int) -> list[ReportPeriod]:
    """The periods reported in `year`, in order of cut-off; of the periods ending on the same
    cut-off only the longest is reported (the annual report replaces the second half-year's)."""
    longest: dict[int, ReportPeriod] = {}
    for kind in kinds:
        for period in periods_of(kind, year):
            kept = longest.get(period.last_month)
            if kept is None or MONTHS[kind] > MONTHS[kept.kind]:
                longest[period.last_month] = period
    return [longest[month] for month in sorted(longest)]


def period_from_label(kinds: Iterable[PeriodKind], label: str) -> ReportPeriod | None:
    """The period an occurrence's label names, for a regime of `kinds` (None if it names none)."""
    m = re.fullmatch(r"(\d{4})(?:-(\d{2})|-Q([1-4])|-H([12]))?", label)
    if m is None:
        return None
    year = int(m[1])
    if m[2]:
        wanted = ReportPeriod(year, int(m[2]), "monthly")
    elif m[3]:
        wanted = ReportPeriod(year, int(m[3]) * 3, "quarterly")
    elif m[4]:
        wanted = ReportPeriod(year, int(m[4]) * 6, "half-year")
    else:
        wanted = ReportPeriod(year, 12, "annual")
    return wanted if wanted.kind in set(kinds) else None


# --- due days -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DueRule:
    """One level's deadline: a day of the period's last month, or a distance from the level before."""

    day: int | None = None  # 15: the 15th of the period's last month (the last day if shorter)
    after: int = 0  # +N: N days after the cut-off (units) or the units' deadline (focal)
    working: bool = False  # … counted in working days

    def __str__(self) -> str:
        return str(self.day) if self.day is not None else f"+{self.after}{'wd' if self.working else 'd'}"


@dataclass(frozen=True)
class PeriodDue:
    """The deadline of each level: the units (`who`), then the focal agency that consolidates."""

    units: DueRule
    focal: DueRule | None = None


_DUE = re.compile(r"(?:(\d{1,2})|\+(\d{1,3})\s*(d|wd))")
_DUE_HELP = (
    "ghi ngày trong tháng cuối kỳ (ví dụ 15: trước ngày 15/6, 15/12) "
    "hoặc khoảng cách sau mốc trước (ví dụ +1wd: ngày làm việc đầu tiên sau ngày chốt số liệu; +5d)"
)


def parse_due_rule(value: Any) -> DueRule:
    text = str(value).strip()
    m = _DUE.fullmatch(text) if not isinstance(value, bool) else None
    if m is None:
        raise ValueError(f"hạn '{text}' không hợp lệ: {_DUE_HELP}")
    if m[1] is not None:
        day = int(m[1])
        if not 1 <= day <= 31:
            raise ValueError(f"hạn '{text}' không hợp lệ: ngày trong tháng từ 1 đến 31")
        return DueRule(day=day)
    if int(m[2]) == 0:
        raise ValueError(f"hạn '{text}' không hợp lệ: cần ít nhất +1d hoặc +1wd sau mốc trước")
    return DueRule(after=int(m[2]), working=m[3] == "wd")


def parse_due(value: Any) -> PeriodDue:
    """`15`, `"+1wd"` (the units only) or `{units: 15, focal: 20}`."""
    if isinstance(value, PeriodDue):
        return value
    if isinstance(value, dict):
        unknown = sorted(str(k) for k in value if k not in ("units", "focal"))
        if unknown:
            raise ValueError(
                f"khóa {', '.join(unknown)} không có trong due; dùng units (hạn của các đơn vị) "
                "và focal (hạn tổng hợp của cơ quan đầu mối)"
            )
        if value.get("units") is None:
            raise ValueError("due cần units: hạn gửi báo cáo của các đơn vị")
        focal = value.get("focal")
        return PeriodDue(parse_due_rule(value["units"]), None if focal is None else parse_due_rule(focal))
    return PeriodDue(parse_due_rule(value))


def parse_period_kinds(value: Any) -> tuple[PeriodKind, ...]:
    """`half-year` or `[half-year, annual]`, in the order of PERIOD_KINDS, each once."""
    values = value if isinstance(value, list | tuple) else [value]
    unknown = [str(v) for v in values if v not in PERIOD_KINDS]
    if unknown or not values:
        choices = ", ".join(f"{k} ({KIND_WORDS[k]})" for k in PERIOD_KINDS)
        raise ValueError(f"kỳ báo cáo '{', '.join(unknown)}' không có; chọn trong: {choices}")
    return tuple(k for k in PERIOD_KINDS if k in values)


# --- the levels' deadlines ----------------------------------------------------------------------


def _on(
    rule: DueRule, period: ReportPeriod, previous: date, from_cut_off: bool, workdays: WorkCalendar
) -> date:
    if rule.day is not None:
        last = calendar.monthrange(period.year, period.last_month)[1]
        return date(period.year, period.last_month, min(rule.day, last))
    if not rule.working:
        return previous + timedelta(days=rule.after)
    # From the cut-off the count starts the day after it; from a deadline, after its effective day.
    start = previous if from_cut_off else workdays.next_working_day(previous)
    return workdays.add_working_days(start, rule.after)


def level_dates(period: ReportPeriod, due: PeriodDue, workdays: WorkCalendar) -> tuple[date, date | None]:
    """The units' deadline and the focal agency's (None when the regime has no focal level)."""
    units = _on(due.units, period, period.data_to, True, workdays)
    focal = None if due.focal is None else _on(due.focal, period, units, False, workdays)
    return units, focal


# --- art. 8 ---------------------------------------------------------------------------------------


def rule_errors(due: PeriodDue) -> list[tuple[str, str]]:
    """(field, message) for deadlines that can never leave the working day art. 8 requires."""
    errors = []
    if due.units.day is not None and due.units.day <= CUT_OFF_DAY:
        errors.append(
            (
                "units",
                f"hạn của các đơn vị (ngày {due.units.day}) không sau ngày chốt số liệu (ngày {CUT_OFF_DAY} của "
                "tháng cuối kỳ): Nghị định 09/2019/NĐ-CP (Điều 8, Điều 12) yêu cầu ít nhất 01 ngày làm việc "
                f"giữa ngày chốt số liệu và hạn gửi báo cáo; ghi ngày từ {CUT_OFF_DAY + 1} trở đi hoặc +1wd",
            )
        )
    focal = due.focal
    if (
        focal is not None
        and focal.day is not None
        and due.units.day is not None
        and focal.day <= due.units.day
    ):
        errors.append(
            (
                "focal",
                f"hạn tổng hợp của cơ quan đầu mối (ngày {focal.day}) không sau hạn của các đơn vị "
                f"(ngày {due.units.day}): mỗi cấp cần hạn riêng, cấp trên sau cấp dưới ít nhất 01 ngày "
                "làm việc (Nghị định 09/2019/NĐ-CP, Điều 8); ghi ngày muộn hơn hoặc +1wd",
            )
        )
    return errors


def calendar_problems(
    kinds: Iterable[PeriodKind], due: PeriodDue, years: Iterable[int], workdays: WorkCalendar
) -> Iterator[tuple[str, str]]:
    """(field, message) for each period of `years` where days off leave the focal agency no working
    day of its own: its deadline and the units' move to the same working day (Tết, long weekends).
    The units always have one: a deadline after the cut-off is effective on a working day after it."""
    kinds = tuple(kinds)
    for year in years:
        for period in regime(kinds, year):
            units, focal = level_dates(period, due, workdays)
            units_effective = workdays.next_working_day(units)
            if focal is not None and workdays.next_working_day(focal) <= units_effective:
                moved = f", tính đến hết {format_date(units_effective)}" if units_effective != units else ""
                yield (
                    "focal",
                    f"kỳ {period.name}: hạn tổng hợp {format_date(focal)} không sau hạn của các đơn vị "
                    f"({format_date(units)}{moved}) ít nhất 01 ngày làm việc vì trùng ngày nghỉ "
                    "(Nghị định 09/2019/NĐ-CP, Điều 8); ghi focal dạng +1wd để luôn cách một ngày làm việc",
                )


# --- events -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Level:
    """One level's deadline for one period, shaped as a plan item for `scheduler.plan.events`."""

    id: str
    title: str
    who: list[str]
    policy: str | None
    period: str  # the label
    due: date
    to: str | None
    via: str | None
    after: str | None
    data: DataPeriod


def levels(
    item: Any, plan_year: int, focal_agency: str, first: date, last: date, workdays: WorkCalendar
) -> Iterator[Level]:
    """Each period's deadlines of an obligation with `period`: the units' (`who`, item id), then
    the focal agency's (`via`, else the plan's focal agency; id `<item>.tong-hop`), in [first, last].

    The units report to the focal agency when there is a focal level; it reports to `to`."""
    focal = item.via or focal_agency
    # A period of the year before may still have a deadline in `first`'s year (a focal `+30d`).
    years = range(max(plan_year, first.year - 1), min(item.until or last.year, last.year) + 1)
    for year in years:
        for period in regime(item.period, year):
            units_due, focal_due = level_dates(period, item.due, workdays)
            data = period.data
            title = f"{item.title} {period.name}"
            lowered = title[:1].lower() + title[1:] if title[1:2].islower() else title  # not "uBND"
            if first <= units_due <= last:
                via = focal if focal_due is not None else item.via
                yield Level(
                    item.id, title, item.who, item.policy, period.label, units_due, item.to, via, None, data
                )
            if focal_due is not None and first <= focal_due <= last:
                yield Level(
                    f"{item.id}{FOCAL_SUFFIX}",
                    f"Tổng hợp {lowered}",
                    [focal],
                    item.policy,
                    period.label,
                    focal_due,
                    item.to,
                    None,
                    item.id,
                    data,
                )
