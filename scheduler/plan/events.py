"""The calendar engine: a plan's rules expanded into dated events.

An event is one deadline, window or observance in one period (a year, or a month
for monthly reports), with the agencies it concerns. Rules without a year (10/6,
15/11–15/12) recur within the plan's life (`scheduler.config.validity`): the plan's year by
default, through `until` (inclusive), or without end with `recurring: true`, and
never past the plan's `valid_until` nor into the plan that replaces it.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

from scheduler.calendar import periods
from scheduler.calendar.dates import DayOfYear
from scheduler.calendar.workdays import WorkCalendar
from scheduler.config import lifetimes
from scheduler.config.deployment import Deployment
from scheduler.config.schema import ObligationSpec, ObservanceSpec, PlanSpec, WindowSpec
from scheduler.config.validity import Span, own_life
from scheduler.plan.kinds import OccurrenceKind


@dataclass(frozen=True)
class Event:
    plan_id: str
    item_id: str
    kind: OccurrenceKind
    title: str
    period: str  # "2020" for a year, "2024-03" for a month
    start: date  # the deadline, the window's first day or the observance
    end: date  # equal to start except for windows
    who: tuple[str, ...]  # agency IDs
    refs: tuple[str, ...]  # the agencies and groups as the plan names them
    to: str | None = None
    via: str | None = None
    after: str | None = None
    policy: str | None = None
    data: periods.DataPeriod | None = None  # a Decree 09 report's data period (scheduler/calendar/periods.py)

    @property
    def uid(self) -> str:
        return f"{self.plan_id}.{self.item_id}.{self.period}@nhacviec"


def _years(span: Span, first: date, last: date) -> range:
    return range(max(span.first.year, first.year), min(span.last_year or last.year, last.year) + 1)


def _span(plan: PlanSpec, item: ObligationSpec | WindowSpec | ObservanceSpec) -> Span:
    """The item's life, from the plan's own fields (`plan_events` passes the deployment's)."""
    return own_life(plan).span(item)


def _monthly_dates(
    item: ObligationSpec, span: Span, first: date, last: date, workdays: WorkCalendar
) -> Iterator[tuple[str, date]]:
    for year in _years(span, first, last):
        for month in range(1, 13):
            if item.monthly == "last_working_day":
                due = workdays.last_working_day_of_month(year, month)
            else:
                day = min(int(item.monthly), calendar.monthrange(year, month)[1])  # type: ignore[arg-type]
                due = date(year, month, day)
            yield f"{year}-{month:02d}", due


def obligation_dates(
    item: ObligationSpec,
    plan: PlanSpec,
    first: date,
    last: date,
    workdays: WorkCalendar,
    span: Span | None = None,
) -> Iterator[tuple[str, date]]:
    """(period, due date) for each occurrence of the rule that could fall in [first, last] and
    in the item's life (`span`; by default the plan's own validity)."""
    if item.on is not None:
        due = item.on.in_year(plan.year) if isinstance(item.on, DayOfYear) else item.on
        yield str(due.year), due
        return
    span = span or _span(plan, item)
    dates: Iterator[tuple[str, date]]
    if item.yearly is not None:
        dates = ((str(year), item.yearly.in_year(year)) for year in _years(span, first, last))
    else:
        dates = _monthly_dates(item, span, first, last, workdays)
    yield from ((period, due) for period, due in dates if span.holds(due))


def window_dates(
    item: WindowSpec, plan: PlanSpec, first: date, last: date, span: Span | None = None
) -> Iterator[tuple[str, date, date]]:
    if isinstance(item.start, DayOfYear) and isinstance(item.end, DayOfYear):
        span = span or _span(plan, item)
        for year in _years(span, first, last):
            start = item.start.in_year(year)
            if span.holds(start):
                yield str(year), start, item.end.in_year(year)
    elif isinstance(item.start, date) and isinstance(item.end, date):
        yield str(item.start.year), item.start, item.end


def observance_dates(
    item: ObservanceSpec, plan: PlanSpec, first: date, last: date, span: Span | None = None
) -> Iterator[tuple[str, date]]:
    span = span or _span(plan, item)
    for year in _years(span, first, last):
        day = item.date.in_year(year)
        if span.holds(day):
            yield str(year), day


def plan_events(deployment: Deployment, plan: PlanSpec, first: date, last: date) -> list[Event]:
    """Every event of `plan` that touches the days [first, last]."""
    events: list[Event] = []
    resolved: dict[tuple[str, ...], list[str]] = {}
    follow = lifetimes.follows(plan)
    agencies = deployment.agencies
    life = deployment.life(plan)

    def add(
        item: ObligationSpec | WindowSpec | ObservanceSpec | periods.Level,
        kind: OccurrenceKind,
        period: str,
        start: date,
        end: date,
        *,
        to: str | None = None,
        via: str | None = None,
        after: str | None = None,
        data: periods.DataPeriod | None = None,
    ) -> None:
        if start <= last and end >= first:
            named = tuple(item.who or plan.participants)
            if named not in resolved:
                resolved[named] = deployment.resolve(named)
            # The agencies on duty on the event's day: an agency that has ended is replaced
            # by its successor (or by nobody), one not yet established is left out.
            who = tuple(lifetimes.on_duty_all(agencies, resolved[named], start, follow))
            if to is not None:
                to = lifetimes.on_duty(agencies, to, start, follow)
            if via is not None:
                via = lifetimes.on_duty(agencies, via, start, follow)
            events.append(
                Event(
                    plan.id,
                    item.id,
                    kind,
                    item.title,
                    period,
                    start,
                    end,
                    who,
                    named,
                    to=to,
                    via=via,
                    after=after,
                    policy=item.policy,
                    data=data,
                )
            )

    for ob in plan.obligations:
        span = life.span(ob)
        if ob.period is not None:  # Decree 09/2019 report periods: one event per period and level
            # A report period belongs to the plan whose life holds its data cut-off.
            levels = periods.levels(ob, span.first.year, plan.focal_agency, first, last, deployment.workdays)
            for level in levels:
                if span.holds(level.data.end):
                    add(level, OccurrenceKind.DEADLINE, level.period, level.due, level.due, to=level.to, via=level.via,
                        after=level.after, data=level.data)  # fmt: skip
            continue
        for period, due in obligation_dates(ob, plan, first, last, deployment.workdays, span):
            add(ob, OccurrenceKind.DEADLINE, period, due, due, to=ob.to, via=ob.via, after=ob.after)
    for win in plan.windows:
        for period, start, end in window_dates(win, plan, first, last, life.span(win)):
            add(win, OccurrenceKind.WINDOW, period, start, end)
    for obs in plan.observances:
        for period, day in observance_dates(obs, plan, first, last, life.span(obs)):
            add(obs, OccurrenceKind.OBSERVANCE, period, day, day)
    return events


def calendar_events(
    deployment: Deployment,
    first: date,
    last: date,
    plan_id: str | None = None,
    agency_id: str | None = None,
) -> list[Event]:
    """Events of all plans (or one) in [first, last], sorted by date; optionally one agency's."""
    events = [
        event
        for plan in deployment.plans
        if plan_id is None or plan.id == plan_id
        for event in plan_events(deployment, plan, first, last)
        if agency_id is None or agency_id in (*event.who, event.to, event.via)
    ]
    return sorted(events, key=lambda e: (e.start, e.end, e.plan_id, e.item_id))
