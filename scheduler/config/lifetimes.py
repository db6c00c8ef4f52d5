"""Agencies over time: validity, successors (mergers), the names of the time, "không theo dõi".

An agency may say `valid_from` / `valid_until` (inclusive days) and `succeeded_by` (the agency
that took over its duties: a merger, a renamed body with a new id). A plan names agencies as they
were when it was issued; on each day of its calendar the agency *on duty* for a name is:

- the agency itself while it exists (`valid_from` ≤ day ≤ `valid_until`);
- after its end, its successor (and the successor's successor …) when the plan follows
  successors (`successors: follow`, the default) — a merger transfers the duties, and a report
  reminded to the body that carries them is worth more than a report nobody is asked for;
- nobody when the plan says `successors: stop` (a newer plan names the new bodies itself), when
  the agency has no successor, or before the agency existed.

An occurrence keeps the names of its agency and plan as they were when it was planned (stored
in the ledger: `Occurrence.agency_name`, `.plan_name`): a rename in the YAML changes what is
ahead, never what is past. An occurrence whose deadline had already passed when it was first
planned is "không theo dõi" (untracked): nobody was reminded of it, so it is never counted late.

This module is pure (no database); `scheduler.outbox.sync` and `scheduler.dispatch.digest` use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta

from scheduler.calendar.dates import format_date
from scheduler.config.schema import AgencySpec, PlanSpec

# How the digest and the pages name the statuses OccurrenceStatus.ENDED and .UNTRACKED.

ENDED_WORDS = "đơn vị đã giải thể / sáp nhập"
UNTRACKED_WORDS = "không theo dõi"
FOLLOW = "follow"  # PlanSpec.successors: occurrences after an agency's end go to its successor
STOP = "stop"


def exists_on(agency: AgencySpec, day: date) -> bool:
    """Whether the agency exists on `day` (its validity bounds are inclusive)."""
    return (agency.valid_from is None or agency.valid_from <= day) and (
        agency.valid_until is None or day <= agency.valid_until
    )


def on_duty(agencies: Mapping[str, AgencySpec], agency_id: str, day: date, follow: bool = True) -> str | None:
    """The agency that carries `agency_id`'s duties on `day`: itself, a successor, or None."""
    seen: set[str] = set()
    current: str | None = agency_id
    while current is not None and current not in seen:
        seen.add(current)
        agency = agencies.get(current)
        if agency is None:  # left the configuration
            return None
        if agency.valid_from is not None and day < agency.valid_from:
            return None
        if agency.valid_until is None or day <= agency.valid_until:
            return current
        current = agency.succeeded_by if follow else None
    return None  # a cycle of successors (refused by the loader) or none left


def on_duty_all(
    agencies: Mapping[str, AgencySpec], agency_ids: Iterable[str], day: date, follow: bool = True
) -> list[str]:
    """`on_duty` for each agency, each one once, in order; those without one left out."""
    found: dict[str, None] = {}
    for agency_id in agency_ids:
        holder = on_duty(agencies, agency_id, day, follow)
        if holder is not None:
            found[holder] = None
    return list(found)


def follows(plan: PlanSpec) -> bool:
    return plan.successors == FOLLOW


def display_name(agency: AgencySpec) -> str:
    return agency.short_name or agency.name


def plan_name(plan: PlanSpec) -> str:
    """The plan as a person names it: "Kế hoạch số 72/KH-UBND: <title>", or the title alone."""
    return f"Kế hoạch số {plan.number}: {plan.title}" if plan.number else plan.title


def ended_on(agencies: Mapping[str, AgencySpec], agency_id: str) -> date | None:
    """The agency's last day, if it has one."""
    agency = agencies.get(agency_id)
    return agency.valid_until if agency is not None else None


def has_ended(agencies: Mapping[str, AgencySpec], agency_id: str, today: date) -> bool:
    """The agency left the configuration or its last day is before `today`."""
    agency = agencies.get(agency_id)
    return agency is None or (agency.valid_until is not None and agency.valid_until < today)


def ended_note(agencies: Mapping[str, AgencySpec], agency_id: str) -> str:
    """What became of an ended agency: "từ sau 30/06/2025; nay là Sở Nội vụ", or that it is
    no longer configured."""
    agency = agencies.get(agency_id)
    if agency is None:
        return "không còn trong cấu hình"
    parts = [f"từ sau {format_date(agency.valid_until)}"] if agency.valid_until else []
    successor = agencies.get(agency.succeeded_by) if agency.succeeded_by else None
    if successor is not None:
        parts.append(f"nay là {display_name(successor)}")
    return "; ".join(parts)


def ended_reason(agencies: Mapping[str, AgencySpec], agency_id: str) -> str:
    """Why the agency's reminders are cancelled, in the words the outbox shows."""
    note = ended_note(agencies, agency_id)
    return f"hủy: {ENDED_WORDS} ({note})" if note else f"hủy: {ENDED_WORDS}"


def untracked(kind: str, effective_deadline: date, first_planned: date) -> bool:
    """A deadline whose effective day (the next working day when it falls on a day off) had
    already passed on the day it was first planned: nobody was reminded, nobody is late."""
    return kind == "deadline" and effective_deadline < first_planned


# --- configuration checks (called by scheduler.config.loader) ------------------------------------


def agency_problems(agencies: Mapping[str, AgencySpec]) -> Iterable[tuple[str, str, str, bool]]:
    """(agency id, field, message, is_error) for each problem of the agencies' lifetimes."""
    for agency_id, agency in agencies.items():
        if agency.valid_from and agency.valid_until and agency.valid_until < agency.valid_from:
            yield (
                agency_id,
                "valid_until",
                (
                    f"ngày cuối ({format_date(agency.valid_until)}) trước ngày bắt đầu "
                    f"({format_date(agency.valid_from)})"
                ),
                True,
            )
        if agency.succeeded_by is None:
            continue
        successor = agencies.get(agency.succeeded_by)
        if agency.succeeded_by == agency_id:
            yield agency_id, "succeeded_by", "đơn vị không thể kế thừa chính nó", True
        elif successor is None:
            yield (
                agency_id,
                "succeeded_by",
                (f"đơn vị kế thừa '{agency.succeeded_by}' không có trong danh sách đơn vị"),
                True,
            )
        elif agency.valid_until is None:
            yield (
                agency_id,
                "succeeded_by",
                (
                    "succeeded_by cần valid_until: ngày cuối cùng của đơn vị trước khi sáp nhập, "
                    "ví dụ valid_until: 30/06/2025"
                ),
                True,
            )
        elif not exists_on(successor, agency.valid_until + timedelta(days=1)):
            yield (
                agency_id,
                "succeeded_by",
                (
                    f"đơn vị kế thừa '{agency.succeeded_by}' chưa tồn tại (hoặc đã hết) vào ngày sau "
                    f"{format_date(agency.valid_until)}: các hạn sau ngày đó sẽ không nhắc ai"
                ),
                False,
            )
    for start in agencies:
        seen = {start}
        current = agencies[start].succeeded_by
        while current is not None and current in agencies:
            if current in seen:
                yield start, "succeeded_by", f"chuỗi kế thừa tạo thành vòng lặp qua '{current}'", True
                break
            seen.add(current)
            current = agencies[current].succeeded_by


def named_ended_warning(
    agencies: Mapping[str, AgencySpec], ref: str, plan: PlanSpec, today: date, plan_last: date | None = None
) -> str | None:
    """What `check` says of a plan naming an agency that has ended by `today` (None otherwise, and
    None when the plan has no occurrence after the agency's end: `plan_last`, its last day)."""
    agency = agencies.get(ref)
    if agency is None or agency.valid_until is None or agency.valid_until >= today:
        return None
    if plan_last is not None and plan_last <= agency.valid_until:
        return None  # an old plan, over before the agency ended: nothing to say
    text = f"đơn vị '{ref}' ({display_name(agency)}) đã giải thể / sáp nhập từ sau ngày {format_date(agency.valid_until)}"
    successor = on_duty(agencies, ref, today, follow=True) if follows(plan) else None
    if successor is not None:
        return f"{text}: các hạn sau ngày đó chuyển cho '{successor}' ({display_name(agencies[successor])})"
    why = "kế hoạch đặt successors: stop" if agency.succeeded_by else "không có succeeded_by"
    return f"{text}: các hạn sau ngày đó không nhắc ai ({why})"


def former_warning(ref: str, plan: PlanSpec) -> str:
    """What `check` says of a plan naming an agency the ledger knows that is no longer in the
    configuration."""
    return (
        f"'{ref}' không còn trong config/agencies/ ({ENDED_WORDS}?): kế hoạch năm {plan.year} không nhắc "
        "đơn vị này nữa; các hạn còn mở của đơn vị được giữ trong bản tổng hợp với tình trạng "
        f"«{ENDED_WORDS}». Nếu đơn vị được sáp nhập, hãy giữ nó trong config/agencies/ với "
        "valid_until và succeeded_by"
    )
