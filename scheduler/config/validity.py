"""A plan's life: when it starts, when it ends, and how long each of its items recurs.

A plan is valid from `valid_from` to `valid_until`, by default the whole of its `year`
(1/1–31/12). A plan-level `until: 2027` is a shorthand for `valid_until: 31/12/2027`.

- A **recurring item** (yearly, monthly, a Decree 09 `period`, an action month written
  `15/11`–`15/12`, an observance) happens within the plan's validity: "trước ngày 10/12" in a
  plan of 2020 is 10/12/2020, not every 10/12 after it. An item that says how long it lives
  decides for itself: `until: 2027` (through that year) or `recurring: true` (without end, the
  standing periodic reports): the item's own word goes beyond the plan's validity.
- A **one-off item** (`on: 25/03/2020`, a window with full dates) keeps its date.
- `replaces: <plan id>`: the replaced plan's recurring items, `recurring: true` ones included,
  stop the day before this plan starts (`valid_from`).

A Decree 09 report belongs to the plan whose life includes its data cut-off (the 14th of the
period's last month): the annual report of 2026 is the 2026 plan's, with both levels'
deadlines, even when the focal agency's falls in January 2027.

This module is pure: `Life` is computed once per configuration (by the loader) and read by
`scheduler.plan.events`; `ended` tells `nhacviec check` which plans have nothing left to remind.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from scheduler.calendar import periods
from scheduler.calendar.dates import DayOfYear, format_date
from scheduler.calendar.workdays import WorkCalendar
from scheduler.config.schema import ObligationSpec, ObservanceSpec, PlanSpec, WindowSpec
from scheduler.config.yamlfile import ConfigError

PlanItem = ObligationSpec | WindowSpec | ObservanceSpec


@dataclass(frozen=True)
class Span:
    """The days in which an item's occurrences may fall: [first, last], `last` None without end."""

    first: date
    last: date | None

    def holds(self, day: date) -> bool:
        return self.first <= day and (self.last is None or day <= self.last)

    @property
    def last_year(self) -> int | None:
        return None if self.last is None else self.last.year


@dataclass(frozen=True)
class Life:
    """One plan's validity, with the day its recurring items stop because another plan replaces it."""

    start: date
    declared_end: date | None  # valid_until, or 31/12 of the plan's `until`; None: not written
    default_end: date  # 31/12 of the plan's year
    replaced_by: str | None = None  # the plan that replaces it (the earliest to start)
    replaced_from: date | None = None  # that plan's first day

    @property
    def end(self) -> date:
        """The last day of the plan's validity as written (or by default)."""
        return self.declared_end or self.default_end

    def span(self, item: PlanItem) -> Span:
        """Where `item`'s occurrences may fall: within the validity, or as far as the item says."""
        if is_one_off(item):
            return Span(date.min, None)
        if item.until is not None:
            last: date | None = date(item.until, 12, 31)
        elif item.recurring:
            last = None
        else:
            last = self.end
        if self.replaced_from is not None:
            stop = self.replaced_from - timedelta(days=1)
            last = stop if last is None else min(last, stop)
        return Span(self.start, last)


def is_one_off(item: Any) -> bool:
    """An item with one date: `on:`, or a window whose start and end carry their year."""
    if isinstance(item, ObligationSpec):
        return item.on is not None
    if isinstance(item, WindowSpec):
        return isinstance(item.start, date) and isinstance(item.end, date)
    return False


def is_recurring(item: Any) -> bool:
    """An item that happens again every period (year, month, report period) while it lives."""
    return isinstance(item, ObligationSpec | WindowSpec | ObservanceSpec) and not is_one_off(item)


def own_life(plan: PlanSpec) -> Life:
    """The plan's validity from its own fields, without looking at the plans that replace it."""
    start = plan.valid_from or date(plan.year, 1, 1)
    if plan.valid_until is not None:
        declared: date | None = plan.valid_until
    elif plan.until is not None:
        declared = date(plan.until, 12, 31)
    else:
        declared = None
    return Life(start, declared, date(plan.year, 12, 31))


def lives(plans: Iterable[PlanSpec]) -> dict[str, Life]:
    """Every plan's life; a plan replaced by several stops where the earliest of them starts."""
    plans = list(plans)
    result = {plan.id: own_life(plan) for plan in plans}
    for plan in sorted(plans, key=lambda p: (result[p.id].start, p.id)):
        target = plan.replaces
        if target is None or target == plan.id or target not in result:
            continue
        life = result[target]
        if life.replaced_from is None:
            result[target] = Life(
                life.start, life.declared_end, life.default_end, plan.id, result[plan.id].start
            )
    return result


def last_day(plan: PlanSpec, life: Life, workdays: WorkCalendar) -> date | None:
    """The last day on which the plan can still have an occurrence (None: no end)."""
    days: list[date] = []
    items: list[ObligationSpec | WindowSpec | ObservanceSpec] = [
        *plan.obligations,
        *plan.windows,
        *plan.observances,
    ]
    for item in items:
        if is_one_off(item):
            days.append(_one_off_day(item, plan.year))
            continue
        span = life.span(item)
        if span.last is None:
            return None
        if isinstance(item, ObligationSpec) and item.period is not None and item.due is not None:
            days.append(_last_report_day(item, span, workdays) or span.last)
        else:
            days.append(span.last)
    return max(days, default=life.end)


def _last_report_day(item: ObligationSpec, span: Span, workdays: WorkCalendar) -> date | None:
    """A Decree 09 report's last deadline: its focal level may come after the cut-off that ties
    the period to the plan (a `+30d` consolidation in January for the annual report)."""
    assert span.last is not None and item.period is not None and item.due is not None
    held = [
        period
        for year in (span.last.year - 1, span.last.year)
        for period in periods.regime(item.period, year)
        if span.holds(period.data_to)
    ]
    if not held:
        return None
    units, focal = periods.level_dates(max(held, key=lambda p: p.data_to), item.due, workdays)
    return max(units, focal or units)


def _one_off_day(item: Any, year: int) -> date:
    if isinstance(item, WindowSpec):
        return item.end  # type: ignore[return-value]
    on = item.on
    return on.in_year(year) if isinstance(on, DayOfYear) else on


def ended(plan: PlanSpec, life: Life, today: date, workdays: WorkCalendar) -> str | None:
    """Why the plan has nothing more to remind on `today` (None while it still has)."""
    last = last_day(plan, life, workdays)
    if last is None or last >= today:
        return None
    if life.replaced_by is not None and life.replaced_from is not None and life.replaced_from <= today:
        return (
            f"kế hoạch '{plan.id}' đã được thay bằng kế hoạch '{life.replaced_by}' từ ngày "
            f"{format_date(life.replaced_from)}: không còn nhắc việc nào sau ngày {format_date(last)}; "
            "có thể gỡ tệp này khỏi config/plans/ (lịch sử nhắc việc vẫn giữ trong cơ sở dữ liệu)"
        )
    if life.declared_end is not None:
        how = f"hết hiệu lực ngày {format_date(life.declared_end)}"
    else:
        how = f"hết hiệu lực cuối năm {plan.year} (năm của kế hoạch)"
    return (
        f"kế hoạch '{plan.id}' {how}: không còn nhắc việc nào sau ngày {format_date(last)}. "
        f"Lập kế hoạch năm mới: nhacviec plan rollover {plan.id} --year {today.year}"
    )


# --- checks (called by scheduler.config.loader) ------------------------------------------------------

Problem = tuple[tuple[str | int, ...], str]  # (path in the plan file, message)


def plan_problems(plan: PlanSpec) -> tuple[list[Problem], list[Problem]]:
    """(errors, warnings) of one plan's validity and of how long its items recur (no warnings yet)."""
    errors: list[Problem] = []
    warnings: list[Problem] = []
    life = own_life(plan)
    if plan.valid_until is not None and plan.until is not None:
        errors.append(
            (
                ("until",),
                "ghi một trong hai: until (năm cuối) hoặc valid_until (ngày cuối hiệu lực), không cả hai",
            )
        )
    if life.declared_end is not None and life.declared_end < life.start:
        field = "valid_until" if plan.valid_until is not None else "until"
        errors.append(
            (
                (field,),
                f"kế hoạch hết hiệu lực ({format_date(life.declared_end)}) trước khi bắt đầu "
                f"({format_date(life.start)})",
            )
        )
    if plan.replaces == plan.id:
        errors.append((("replaces",), "kế hoạch không thể thay thế chính nó"))
    for section in ("obligations", "windows", "observances"):
        for i, item in enumerate(getattr(plan, section)):
            path: tuple[str | int, ...] = (section, i)
            if is_one_off(item):
                if item.recurring:
                    errors.append(
                        (
                            (*path, "recurring"),
                            "'recurring' chỉ dùng cho mục lặp lại (ngày ghi dạng ngày/tháng, "
                            "yearly, monthly, period); mục này có ngày cụ thể, xảy ra một lần",
                        )
                    )
                continue
            if item.until is not None and item.until < life.start.year:
                errors.append(
                    ((*path, "until"), f"until {item.until} trước năm kế hoạch bắt đầu ({life.start.year})")
                )
    return errors, warnings


def replacement_problems(
    plans: Iterable[PlanSpec],
) -> tuple[list[tuple[str, Problem]], list[tuple[str, Problem]]]:
    """(errors, warnings) as (plan id, problem) for `replaces` across plans: an unknown plan (removed
    from the configuration, or a typo) is a warning; a cycle, or a plan replacing one that starts
    later, is an error."""
    plans = list(plans)
    by_id = {plan.id: plan for plan in plans}
    errors: list[tuple[str, Problem]] = []
    warnings: list[tuple[str, Problem]] = []
    for plan in plans:
        target = plan.replaces
        if target is None or target == plan.id:
            continue
        if target not in by_id:
            warnings.append(
                (
                    plan.id,
                    (
                        ("replaces",),
                        f"kế hoạch '{target}' không có trong config/plans/ (đã gỡ, hoặc sai mã?)",
                    ),
                )
            )
            continue
        seen = {plan.id}
        current: str | None = target
        while current in by_id and current not in seen:
            seen.add(current)
            current = by_id[current].replaces
        if current == plan.id:
            errors.append(
                (plan.id, (("replaces",), f"các kế hoạch thay thế nhau thành vòng lặp qua '{target}'"))
            )
            continue
        mine, theirs = own_life(plan).start, own_life(by_id[target]).start
        if mine <= theirs:
            errors.append(
                (
                    plan.id,
                    (
                        ("replaces",),
                        f"kế hoạch bắt đầu ({format_date(mine)}) không sau kế hoạch '{target}' "
                        f"mà nó thay thế ({format_date(theirs)}): ghi valid_from sau ngày đó",
                    ),
                )
            )
    return errors, warnings


def ended_warnings(deployment: Any, today: date) -> list[ConfigError]:
    """`nhacviec check`'s warning for each plan of the `Deployment` that has nothing left to remind."""
    warnings = []
    for plan in deployment.plans:
        if why := ended(plan, deployment.life(plan), today, deployment.workdays):
            file, line = deployment.where[(plan.id,)].rsplit(":", 1)
            warnings.append(ConfigError(file, int(line), "id", why))
    return warnings
