"""The one status model: where an agency stands on one deadline (an occurrence × agency).

The digest, the board and everything after them compute a status here and nowhere else. The
computation is a pure function over a small typed input (`StatusInput`), so that it is tested
as a table (tests/test_status.py):

=========================  ===========================================================
status                     when
=========================  ===========================================================
Đã báo cáo đúng hạn        confirmed on or before the effective deadline (local date)
Đã báo cáo muộn            confirmed after it
Được miễn                  the focal agency waived the report (and nothing was confirmed)
Đơn vị đã giải thể /       the agency ended or left the configuration (the occurrence's
sáp nhập                   status `ended`, or its last day before today)
Gia hạn đến <ngày>         the focal agency extended the deadline, and the new effective
                           deadline has not passed (once it has: Quá hạn)
Không theo dõi             the deadline had passed when nhacviec first planned it (the
                           occurrence's status `untracked`): nobody was reminded, never late
Quá hạn                    today is after the effective deadline
Sắp đến hạn                the effective deadline is at most N working days away (today
                           included; `NHACVIEC_DUE_SOON_DAYS`, default 3)
Trong hạn                  otherwise
=========================  ===========================================================

The first that applies wins, in the order of the table: a report received is a fact whatever
else happened; a waiver is the focal agency's decision; an ended agency cannot report; an
extension is an explicit decision to follow the agency again, so it also overrides "không theo
dõi".

The **effective deadline** is the deadline, or the extension's date, moved to the next working
day when it falls on a day off (a weekend, a public holiday, Tết, a day off of workdays.yaml).
An extension earlier than the deadline does not shorten it. A confirmation without its time
(none is written so, but rows may be edited by hand) counts as on time.

"Đơn vị đã giải thể / sáp nhập" is kept as a status of its own, beside the eight of issue 16:
it is a fact of the configuration, not a decision of the focal agency (so not "Được miễn") and
not a deadline nobody followed (so not "Không theo dõi"), and the digest names who took over.

Progress ("x/y đã báo cáo"): x counts the reports received (on time or late); y the agencies
expected to report — every status but "Được miễn", "Đơn vị đã giải thể / sáp nhập" and "Không
theo dõi" (unless such an agency confirmed anyway: then it is a report received, in both).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from enum import StrEnum
from typing import Any

from sqlalchemy import Row

from scheduler.calendar.dates import format_date
from scheduler.calendar.workdays import WorkCalendar
from scheduler.config import lifetimes
from scheduler.config.deployment import Deployment
from scheduler.outbox.store import OccurrenceStatus, aware

DEFAULT_DUE_SOON_DAYS = 3


class AgencyStatus(StrEnum):
    """Where an agency stands on one deadline; `.label` is how every page and message says it."""

    ON_TIME = "on_time"
    LATE = "late"
    WAIVED = "waived"
    ENDED = "ended"
    EXTENDED = "extended"
    UNTRACKED = "untracked"
    OVERDUE = "overdue"
    DUE_SOON = "due_soon"
    OPEN = "open"

    @property
    def label(self) -> str:
        """The status in Vietnamese; "Gia hạn đến" needs its date: see `Status.label`."""
        return LABELS[self]

    @property
    def reported(self) -> bool:
        return self in (AgencyStatus.ON_TIME, AgencyStatus.LATE)

    @property
    def expected(self) -> bool:
        """Counted in the progress's "y": the agency is expected to report."""
        return self not in (AgencyStatus.WAIVED, AgencyStatus.ENDED, AgencyStatus.UNTRACKED)


LABELS: dict[AgencyStatus, str] = {
    AgencyStatus.ON_TIME: "Đã báo cáo đúng hạn",
    AgencyStatus.LATE: "Đã báo cáo muộn",
    AgencyStatus.WAIVED: "Được miễn",
    AgencyStatus.ENDED: "Đơn vị đã giải thể / sáp nhập",
    AgencyStatus.EXTENDED: "Gia hạn",
    AgencyStatus.UNTRACKED: "Không theo dõi",
    AgencyStatus.OVERDUE: "Quá hạn",
    AgencyStatus.DUE_SOON: "Sắp đến hạn",
    AgencyStatus.OPEN: "Trong hạn",
}

# The order in which pages and messages list agencies: what needs doing first.
DISPLAY_ORDER: tuple[AgencyStatus, ...] = (
    AgencyStatus.OVERDUE,
    AgencyStatus.DUE_SOON,
    AgencyStatus.OPEN,
    AgencyStatus.EXTENDED,
    AgencyStatus.LATE,
    AgencyStatus.ON_TIME,
    AgencyStatus.WAIVED,
    AgencyStatus.ENDED,
    AgencyStatus.UNTRACKED,
)


@dataclass(frozen=True)
class StatusInput:
    """What the ledger knows of one occurrence × agency.

    `occurrence_status`: the occurrence's `OccurrenceStatus` (open, submitted, ended, untracked);
    `confirmed_at`: when it was confirmed (aware; naive is read as UTC, as SQLite returns it);
    `agency_ended`: the agency has ended or left the configuration by today
    (`lifetimes.has_ended`); `waived`, `extended_to`: the focal agency's decisions;
    `tracked_since`: the day nhacviec first planned it, when known (a deadline already past
    then is "không theo dõi" as the occurrence status `untracked` says)."""

    deadline: date
    occurrence_status: str = OccurrenceStatus.OPEN
    confirmed_at: datetime | None = None
    agency_ended: bool = False
    waived: bool = False
    extended_to: date | None = None
    tracked_since: date | None = None


@dataclass(frozen=True)
class Status:
    """An agency's status on a deadline, with the effective deadline it was judged against."""

    code: AgencyStatus
    effective_deadline: date
    extended_to: date | None = None

    @property
    def label(self) -> str:
        """ "Gia hạn đến 20/12/2026" for an extension, the status's words otherwise."""
        if self.code is AgencyStatus.EXTENDED and self.extended_to is not None:
            return f"Gia hạn đến {format_date(self.extended_to)}"
        return self.code.label


def effective_deadline(deadline: date, workdays: WorkCalendar, extended_to: date | None = None) -> date:
    """The day a report is due: the deadline (or a later extension), moved to the next working
    day when it falls on a day off."""
    due = max(deadline, extended_to) if extended_to is not None else deadline
    return workdays.next_working_day(due)


def compute(
    given: StatusInput,
    today: date,
    workdays: WorkCalendar,
    tz: tzinfo,
    due_soon_days: int = DEFAULT_DUE_SOON_DAYS,
) -> Status:
    """The status of `given` on `today` (local date in `tz`): see the module's table."""
    extended = (
        given.extended_to if given.extended_to is not None and given.extended_to > given.deadline else None
    )
    due = effective_deadline(given.deadline, workdays, extended)

    def result(code: AgencyStatus) -> Status:
        return Status(code, due, extended)

    if given.occurrence_status == OccurrenceStatus.SUBMITTED:
        if given.confirmed_at is None:
            return result(AgencyStatus.ON_TIME)
        confirmed = aware(given.confirmed_at)
        return result(AgencyStatus.ON_TIME if confirmed.astimezone(tz).date() <= due else AgencyStatus.LATE)
    if given.waived:
        return result(AgencyStatus.WAIVED)
    if given.occurrence_status == OccurrenceStatus.ENDED or given.agency_ended:
        return result(AgencyStatus.ENDED)
    if extended is not None:
        return result(AgencyStatus.EXTENDED if today <= due else AgencyStatus.OVERDUE)
    if given.occurrence_status == OccurrenceStatus.UNTRACKED or (
        given.tracked_since is not None and lifetimes.untracked("deadline", due, given.tracked_since)
    ):
        return result(AgencyStatus.UNTRACKED)
    if today > due:
        return result(AgencyStatus.OVERDUE)
    if due <= workdays.add_working_days(today, due_soon_days):
        return result(AgencyStatus.DUE_SOON)
    return result(AgencyStatus.OPEN)


@dataclass(frozen=True)
class Progress:
    """A deadline's "x/y đã báo cáo" and its count per status."""

    reported: int
    expected: int
    counts: dict[AgencyStatus, int]

    @property
    def text(self) -> str:
        return f"{self.reported}/{self.expected} đã báo cáo"


def progress(statuses: Iterable[AgencyStatus]) -> Progress:
    counts = Counter(statuses)
    return Progress(
        reported=sum(n for s, n in counts.items() if s.reported),
        expected=sum(n for s, n in counts.items() if s.expected),
        counts={s: counts.get(s, 0) for s in AgencyStatus},
    )


class Statuses:
    """`compute` for the ledger's rows (`scheduler.outbox.board`'s occurrence columns), once per
    distinct input; whether an agency has ended is read from the configuration once per agency.
    The board's pages and the reports (scheduler/reports/) judge rows through it alike."""

    def __init__(self, deployment: Deployment, today: date, tz: tzinfo, due_soon_days: int) -> None:
        self.deployment, self.today, self.tz, self.due_soon_days = deployment, today, tz, due_soon_days
        self._ended: dict[str, bool] = {}
        self._seen: dict[tuple[Any, ...], Status] = {}

    def of(self, row: Row[Any]) -> Status:
        ended = self._ended.get(row.agency_id)
        if ended is None:
            ended = self._ended[row.agency_id] = lifetimes.has_ended(
                self.deployment.agencies, row.agency_id, self.today
            )
        confirmed = aware(row.confirmed_at)
        # The confirmation's local day is all the model reads of its time.
        day = confirmed.astimezone(self.tz).date() if confirmed else None
        waived, extended_to = bool(row.waived), row.extended_to  # the focal agency's actions
        key = (row.start_date, row.status, day, ended, waived, extended_to)
        found = self._seen.get(key)
        if found is None:
            moment = datetime(day.year, day.month, day.day, 12, tzinfo=self.tz) if day else None
            given = StatusInput(
                deadline=row.start_date,
                occurrence_status=row.status,
                confirmed_at=moment,
                agency_ended=ended,
                waived=waived,
                extended_to=extended_to,
            )
            found = self._seen[key] = compute(
                given, self.today, self.deployment.workdays, self.tz, self.due_soon_days
            )
        return found
