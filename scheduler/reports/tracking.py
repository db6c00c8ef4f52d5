"""The rows of "Bảng theo dõi tình hình báo cáo": one deadline of a plan, or a plan's year.

Rows come from `scheduler.outbox.board` (one query for the occurrences, one GROUP BY for the
reminders sent) and every status from `scheduler.outbox.status.Statuses`, as the board's pages
judge them: a report and the board say the same thing of the same ledger on the same day.
Agencies are listed in the configuration's order (sở, ban, ngành first, then the communes, as
the offices' own lists go); agencies no longer configured come after, by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from functools import cached_property
from typing import Any

from sqlalchemy import Engine, Row

from notifiers.text import unaccent
from scheduler.calendar.dates import format_date
from scheduler.config.deployment import Deployment
from scheduler.config.schema import PlanSpec
from scheduler.outbox import board
from scheduler.outbox.status import (
    DEFAULT_DUE_SOON_DAYS,
    DISPLAY_ORDER,
    AgencyStatus,
    Progress,
    Status,
    Statuses,
    progress,
)
from scheduler.outbox.store import aware

TITLE = "BẢNG THEO DÕI TÌNH HÌNH BÁO CÁO"
NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"


class ReportNotFound(LookupError):
    """Nothing to report: the message says what was asked for, in Vietnamese."""


@dataclass(frozen=True)
class Deadline:
    item_id: str
    period: str
    title: str
    day: date

    @property
    def name(self) -> str:
        return f"{self.title} (hạn {format_date(self.day)})"


@dataclass(frozen=True)
class Line:
    """One agency on one deadline, as the table shows it (times local and naive)."""

    agency_id: str
    agency: str
    deadline: Deadline
    status: Status
    confirmed_at: datetime | None
    confirmed_by: str | None
    report_number: str | None
    report_date: date | None
    reminders_sent: int


@dataclass(frozen=True)
class Report:
    """What a sheet shows: the header block, the deadlines, the lines (per deadline, agencies in
    the configuration's order) and the progress of each deadline and of all."""

    plan_id: str
    issuer: str  # the plan's focal agency, in upper case, as the top-left block writes it
    plan_title: str
    plan_number: str | None
    scope: str  # "Hạn báo cáo: …" or "Năm 2026"
    as_of: date
    deadlines: list[Deadline]
    lines: list[Line]
    year: int | None = None  # a plan's year; None for one deadline

    @property
    def progress(self) -> Progress:
        return progress(line.status.code for line in self.lines)

    def progress_of(self, deadline: Deadline) -> Progress:
        return self._by_deadline[deadline]

    @cached_property
    def _by_deadline(self) -> dict[Deadline, Progress]:
        codes: dict[Deadline, list[AgencyStatus]] = {d: [] for d in self.deadlines}
        for line in self.lines:
            codes[line.deadline].append(line.status.code)
        return {d: progress(found) for d, found in codes.items()}

    @property
    def agencies(self) -> list[tuple[str, str]]:
        """(id, name) of every agency in the lines, in the lines' order."""
        seen: dict[str, str] = {}
        for line in self.lines:
            seen.setdefault(line.agency_id, line.agency)
        return list(seen.items())

    @property
    def filename_stem(self) -> str:
        """ASCII (plan ids and periods are slugs): bang-theo-doi_<plan>_<item>_<period> or _<year>."""
        if self.year is not None:
            return f"bang-theo-doi_{self.plan_id}_{self.year}"
        only = self.deadlines[0]
        return f"bang-theo-doi_{self.plan_id}_{only.item_id}_{only.period}"


def counts_text(done: Progress) -> str:
    """ "2/16 đã báo cáo · Quá hạn: 14 · Đã báo cáo muộn: 1 …" (the statuses that occur)."""
    parts = [f"{code.label}: {done.counts[code]}" for code in DISPLAY_ORDER if done.counts[code]]
    return " · ".join([done.text, *parts])


def local_naive(moment: datetime | None, tz: tzinfo) -> datetime | None:
    """A stored instant as the local wall time Excel shows (Excel has no time zones)."""
    if moment is None:
        return None
    return aware(moment).astimezone(tz).replace(tzinfo=None)


def _lines(
    found: Sequence[Row[Any]],
    sent: dict[str, int],
    deployment: Deployment,
    statuses: Statuses,
    tz: tzinfo,
) -> tuple[list[Deadline], list[Line]]:
    order = {agency_id: n for n, agency_id in enumerate(deployment.agencies)}
    deadlines: dict[tuple[str, str], Deadline] = {}
    lines = []
    for row in found:
        deadline = deadlines.get((row.item_id, row.period))
        if deadline is None:
            deadline = deadlines[(row.item_id, row.period)] = Deadline(
                row.item_id, row.period, row.title, row.start_date
            )
        lines.append(
            Line(
                agency_id=row.agency_id,
                agency=row.agency_name or deployment.name_of(row.agency_id),
                deadline=deadline,
                status=statuses.of(row),
                confirmed_at=local_naive(row.confirmed_at, tz),
                confirmed_by=row.confirmed_by,
                report_number=row.report_number,
                report_date=row.report_date,
                reminders_sent=sent.get(row.key, 0),
            )
        )
    ranked = sorted(deadlines.values(), key=lambda d: (d.day, d.title, d.item_id, d.period))
    rank = {(d.item_id, d.period): n for n, d in enumerate(ranked)}
    last = len(order)
    lines.sort(
        key=lambda line: (
            rank[(line.deadline.item_id, line.deadline.period)],
            order.get(line.agency_id, last),
            unaccent(line.agency).casefold(),
        )
    )
    return ranked, lines


def _header(plan: PlanSpec, deployment: Deployment) -> dict[str, Any]:
    focal = deployment.agencies.get(plan.focal_agency)
    issuer = focal.name if focal is not None else deployment.name_of(plan.focal_agency)
    return {
        "plan_id": plan.id,
        "issuer": issuer.upper(),
        "plan_title": plan.title,
        "plan_number": plan.number,
    }


def deadline_report(
    engine: Engine,
    deployment: Deployment,
    plan: PlanSpec,
    item_id: str,
    period: str,
    today: date,
    tz: tzinfo,
    due_soon_days: int = DEFAULT_DUE_SOON_DAYS,
) -> Report:
    """Every agency on one deadline (a plan's item in a period), judged on `today`."""
    found = board.deadline_occurrences(engine, plan.id, item_id, period)
    if not found:
        raise ReportNotFound(
            f"Kế hoạch {plan.id} không có hạn báo cáo {item_id}/{period}. "
            "Mã hạn có dạng <mã việc>/<kỳ>, ví dụ bao-cao-nam/2026 (xem trên trang hạn báo cáo)."
        )
    sent = board.reminders_sent(engine, plan.id, item_id, period)
    statuses = Statuses(deployment, today, tz, due_soon_days)
    deadlines, lines = _lines(found, sent, deployment, statuses, tz)
    only = deadlines[0]
    return Report(
        **_header(plan, deployment),
        scope=f"Hạn báo cáo: {only.name}",
        as_of=today,
        deadlines=deadlines,
        lines=lines,
    )


def year_report(
    engine: Engine,
    deployment: Deployment,
    plan: PlanSpec,
    year: int,
    today: date,
    tz: tzinfo,
    due_soon_days: int = DEFAULT_DUE_SOON_DAYS,
) -> Report:
    """Every agency on every deadline of a plan falling in `year`, judged on `today`."""
    found = board.plan_occurrences(engine, plan.id, date(year, 1, 1), date(year, 12, 31))
    if not found:
        raise ReportNotFound(f"Kế hoạch {plan.id} không có hạn báo cáo nào trong năm {year}.")
    sent = board.reminders_sent(engine, plan.id)
    statuses = Statuses(deployment, today, tz, due_soon_days)
    deadlines, lines = _lines(found, sent, deployment, statuses, tz)
    return Report(
        **_header(plan, deployment),
        scope=f"Năm {year}: {len(deadlines)} hạn báo cáo",
        as_of=today,
        deadlines=deadlines,
        lines=lines,
        year=year,
    )
