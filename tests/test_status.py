"""The one status model (scheduler/outbox/status.py), as a table of cases."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from scheduler.calendar.workdays import WorkCalendar
from scheduler.config.settings import SettingsError, load_settings
from scheduler.outbox.status import (
    DISPLAY_ORDER,
    AgencyStatus,
    StatusInput,
    compute,
    effective_deadline,
    progress,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
WORKDAYS = WorkCalendar()
S = AgencyStatus


def local(text: str) -> datetime:
    """A confirmation time written in local time."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


THU = date(2026, 12, 10)  # a working Thursday
TET = date(2026, 2, 17)  # Tết Nguyên Đán 2026 (Tuesday): the next working day is Monday 23/2
SAT = date(2026, 10, 10)  # a Saturday: due Monday 12/10

# (name, deadline, today, other inputs, due-soon days, status, label)
CASES: list[tuple[str, date, date, dict[str, object], int, AgencyStatus, str]] = [
    # --- reported ---
    ("confirmed before the deadline", THU, date(2026, 12, 15),
     {"occurrence_status": "submitted", "confirmed_at": local("2026-12-08T09:15")}, 3, S.ON_TIME,
     "Đã báo cáo đúng hạn"),
    ("confirmed on the deadline, late in the evening", THU, date(2026, 12, 15),
     {"occurrence_status": "submitted", "confirmed_at": local("2026-12-10T23:30")}, 3, S.ON_TIME,
     "Đã báo cáo đúng hạn"),
    ("confirmed after midnight local (still the 10th in UTC)", THU, date(2026, 12, 15),
     {"occurrence_status": "submitted", "confirmed_at": datetime(2026, 12, 10, 17, 30, tzinfo=UTC)}, 3,
     S.LATE, "Đã báo cáo muộn"),
    ("confirmed the day after", THU, date(2026, 12, 15),
     {"occurrence_status": "submitted", "confirmed_at": local("2026-12-11T08:00")}, 3, S.LATE,
     "Đã báo cáo muộn"),
    ("a naive time (SQLite) is UTC", THU, date(2026, 12, 15),
     {"occurrence_status": "submitted", "confirmed_at": datetime(2026, 12, 10, 16, 59)}, 3, S.ON_TIME,
     "Đã báo cáo đúng hạn"),
    ("confirmed without a time", THU, date(2026, 12, 15), {"occurrence_status": "submitted"}, 3, S.ON_TIME,
     "Đã báo cáo đúng hạn"),
    # --- a deadline on a day off: judged against the next working day ---
    ("Tết deadline, confirmed on the Monday after", TET, date(2026, 2, 24),
     {"occurrence_status": "submitted", "confirmed_at": local("2026-02-23T16:00")}, 3, S.ON_TIME,
     "Đã báo cáo đúng hạn"),
    ("Tết deadline, confirmed on the Tuesday after", TET, date(2026, 2, 24),
     {"occurrence_status": "submitted", "confirmed_at": local("2026-02-24T08:00")}, 3, S.LATE,
     "Đã báo cáo muộn"),
    ("Tết deadline, during Tết", TET, date(2026, 2, 18), {}, 3, S.DUE_SOON, "Sắp đến hạn"),
    ("Tết deadline, on the effective day", TET, date(2026, 2, 23), {}, 3, S.DUE_SOON, "Sắp đến hạn"),
    ("Tết deadline, the day after the effective day", TET, date(2026, 2, 24), {}, 3, S.OVERDUE, "Quá hạn"),
    ("Tết deadline, a week before: 6 working days", TET, date(2026, 2, 9), {}, 3, S.OPEN, "Trong hạn"),
    ("Saturday deadline, on the Saturday", SAT, SAT, {}, 3, S.DUE_SOON, "Sắp đến hạn"),
    ("Saturday deadline, on the Monday", SAT, date(2026, 10, 12), {}, 3, S.DUE_SOON, "Sắp đến hạn"),
    ("Saturday deadline, on the Tuesday", SAT, date(2026, 10, 13), {}, 3, S.OVERDUE, "Quá hạn"),
    # --- the N-working-days boundary ---
    ("exactly 3 working days away (Mon → Thu)", THU, date(2026, 12, 7), {}, 3, S.DUE_SOON, "Sắp đến hạn"),
    ("4 working days away (Fri → Thu)", THU, date(2026, 12, 4), {}, 3, S.OPEN, "Trong hạn"),
    ("from a Sunday: Mon, Tue, Wed, Thu is 4", THU, date(2026, 12, 6), {}, 3, S.OPEN, "Trong hạn"),
    ("from a Saturday with N = 4", THU, date(2026, 12, 5), {}, 4, S.DUE_SOON, "Sắp đến hạn"),
    ("N = 5 from the Friday before", THU, date(2026, 12, 4), {}, 5, S.DUE_SOON, "Sắp đến hạn"),
    ("N = 0: only on the day", THU, THU, {}, 0, S.DUE_SOON, "Sắp đến hạn"),
    ("N = 0: the day before", THU, date(2026, 12, 9), {}, 0, S.OPEN, "Trong hạn"),
    ("on the deadline", THU, THU, {}, 3, S.DUE_SOON, "Sắp đến hạn"),
    ("the day after", THU, date(2026, 12, 11), {}, 3, S.OVERDUE, "Quá hạn"),
    # --- extension ---
    ("extended, before the old deadline", THU, date(2026, 12, 1), {"extended_to": date(2026, 12, 18)}, 3,
     S.EXTENDED, "Gia hạn đến 18/12/2026"),
    ("extended, after the old deadline", THU, date(2026, 12, 15), {"extended_to": date(2026, 12, 18)}, 3,
     S.EXTENDED, "Gia hạn đến 18/12/2026"),
    ("extended to a Sunday: due the Monday", THU, date(2026, 12, 21), {"extended_to": date(2026, 12, 20)}, 3,
     S.EXTENDED, "Gia hạn đến 20/12/2026"),
    ("extension passed", THU, date(2026, 12, 22), {"extended_to": date(2026, 12, 20)}, 3, S.OVERDUE,
     "Quá hạn"),
    ("extended, confirmed before the new date", THU, date(2026, 12, 22),
     {"extended_to": date(2026, 12, 18), "occurrence_status": "submitted",
      "confirmed_at": local("2026-12-17T10:00")}, 3, S.ON_TIME, "Đã báo cáo đúng hạn"),
    ("extended, confirmed after the new date", THU, date(2026, 12, 22),
     {"extended_to": date(2026, 12, 18), "occurrence_status": "submitted",
      "confirmed_at": local("2026-12-21T10:00")}, 3, S.LATE, "Đã báo cáo muộn"),
    ("an 'extension' before the deadline shortens nothing", THU, date(2026, 12, 9),
     {"extended_to": date(2026, 12, 5)}, 3, S.DUE_SOON, "Sắp đến hạn"),
    ("extending an untracked deadline follows it again", THU, date(2026, 12, 15),
     {"extended_to": date(2026, 12, 18), "occurrence_status": "untracked"}, 3, S.EXTENDED,
     "Gia hạn đến 18/12/2026"),
    # --- waiver ---
    ("waived, overdue otherwise", THU, date(2026, 12, 15), {"waived": True}, 3, S.WAIVED, "Được miễn"),
    ("waived and extended: the waiver wins", THU, date(2026, 12, 15),
     {"waived": True, "extended_to": date(2026, 12, 18)}, 3, S.WAIVED, "Được miễn"),
    ("waived, but the report came anyway", THU, date(2026, 12, 15),
     {"waived": True, "occurrence_status": "submitted", "confirmed_at": local("2026-12-09T10:00")}, 3,
     S.ON_TIME, "Đã báo cáo đúng hạn"),
    # --- ended agencies ---
    ("the occurrence is ended", THU, date(2026, 12, 15), {"occurrence_status": "ended"}, 3, S.ENDED,
     "Đơn vị đã giải thể / sáp nhập"),
    ("the agency ended since", THU, date(2026, 12, 1), {"agency_ended": True}, 3, S.ENDED,
     "Đơn vị đã giải thể / sáp nhập"),
    ("an ended agency that had confirmed", THU, date(2026, 12, 15),
     {"occurrence_status": "submitted", "agency_ended": True, "confirmed_at": local("2026-12-09T10:00")}, 3,
     S.ON_TIME, "Đã báo cáo đúng hạn"),
    # --- tracked since ---
    ("the occurrence is untracked", THU, date(2026, 12, 15), {"occurrence_status": "untracked"}, 3,
     S.UNTRACKED, "Không theo dõi"),
    ("first planned the day after the deadline", THU, date(2026, 12, 15),
     {"tracked_since": date(2026, 12, 11)}, 3, S.UNTRACKED, "Không theo dõi"),
    ("first planned on the deadline: followed", THU, date(2026, 12, 15), {"tracked_since": THU}, 3,
     S.OVERDUE, "Quá hạn"),
    ("Saturday deadline first planned on the Monday: followed", SAT, date(2026, 10, 14),
     {"tracked_since": date(2026, 10, 12)}, 3, S.OVERDUE, "Quá hạn"),
    ("Tết deadline first planned on the Tuesday after: untracked", TET, date(2026, 2, 25),
     {"tracked_since": date(2026, 2, 24)}, 3, S.UNTRACKED, "Không theo dõi"),
    ("untracked, but the report came anyway", THU, date(2026, 12, 15),
     {"occurrence_status": "untracked", "tracked_since": date(2026, 12, 11)} | {
         "occurrence_status": "submitted", "confirmed_at": local("2026-12-12T10:00")}, 3, S.LATE,
     "Đã báo cáo muộn"),
]  # fmt: skip


@pytest.mark.parametrize(("deadline", "today", "given", "days", "expected", "label"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])  # fmt: skip
def test_status_table(
    deadline: date, today: date, given: dict[str, object], days: int, expected: AgencyStatus, label: str
) -> None:
    status = compute(StatusInput(deadline=deadline, **given), today, WORKDAYS, TZ, days)  # type: ignore[arg-type]
    assert (status.code, status.label) == (expected, label)


def test_the_table_covers_every_status() -> None:
    assert {c[5] for c in CASES} == set(AgencyStatus)
    assert set(DISPLAY_ORDER) == set(AgencyStatus) and len(DISPLAY_ORDER) == len(AgencyStatus)


def test_the_effective_deadline() -> None:
    assert effective_deadline(TET, WORKDAYS) == date(2026, 2, 23)
    assert effective_deadline(SAT, WORKDAYS) == date(2026, 10, 12)
    assert effective_deadline(THU, WORKDAYS) == THU
    assert effective_deadline(THU, WORKDAYS, date(2026, 12, 19)) == date(2026, 12, 21)
    assert effective_deadline(THU, WORKDAYS, date(2026, 12, 1)) == THU
    status = compute(StatusInput(TET), date(2026, 2, 1), WORKDAYS, TZ)
    assert status.effective_deadline == date(2026, 2, 23)


def test_progress_counts_reports_against_the_agencies_expected_to_report() -> None:
    statuses = [
        S.ON_TIME,
        S.LATE,
        S.OVERDUE,
        S.OVERDUE,
        S.DUE_SOON,
        S.EXTENDED,
        S.WAIVED,
        S.ENDED,
        S.UNTRACKED,
    ]
    found = progress(statuses)
    assert (found.reported, found.expected, found.text) == (2, 6, "2/6 đã báo cáo")
    assert found.counts[S.OVERDUE] == 2 and found.counts[S.OPEN] == 0
    assert progress([]).text == "0/0 đã báo cáo"


def test_the_due_soon_days_setting() -> None:
    assert load_settings(env={}).due_soon_days == 3
    assert load_settings(env={"NHACVIEC_DUE_SOON_DAYS": "5"}).due_soon_days == 5
    with pytest.raises(SettingsError, match="NHACVIEC_DUE_SOON_DAYS"):
        load_settings(env={"NHACVIEC_DUE_SOON_DAYS": "ba"})
