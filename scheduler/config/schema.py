"""The shape of the configuration files, field by field.

These models check one file at a time: types, dates, addresses, offsets. What
spans files (an agency named in a plan exists, IDs do not collide) is checked by
`scheduler.config.loader`. Field names are English; values are what the documents say.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from notifiers.registry import channel_names
from scheduler.calendar.dates import DayOfYear, parse_date, parse_date_or_day, parse_day_of_year
from scheduler.calendar.periods import PeriodDue, PeriodKind, parse_due, parse_period_kinds
from scheduler.config.contacts import normalise_email, normalise_mobile
from scheduler.config.settings import parse_clock


def _slug(text: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", text):
        raise ValueError(
            f"mã '{text}' không hợp lệ: chỉ dùng chữ thường không dấu, số và - _ . (ví dụ so-ldtbxh)"
        )
    return text


def _channel(text: str) -> str:
    if text not in channel_names():
        raise ValueError(f"kênh '{text}' không có; các kênh đã cài: {', '.join(channel_names())}")
    return text


def _url(text: str) -> str:
    if not re.fullmatch(r"https?://[^\s/]+(/\S*)?", str(text).strip()):
        raise ValueError(f"địa chỉ '{text}' không hợp lệ: cần một URL http:// hoặc https://")
    return str(text).strip()


def _rate(text: str) -> tuple[int, float]:
    m = re.fullmatch(r"(\d+)\s*/\s*(\d*)\s*(s|min|h)", str(text).strip())
    if not m or int(m[1]) == 0:
        raise ValueError(f"giới hạn '{text}' không hợp lệ: cần dạng 60/min, 10/s, 2/5s hoặc 1000/h")
    seconds = {"s": 1, "min": 60, "h": 3600}[m[3]] * int(m[2] or 1)
    return int(m[1]), float(seconds)


@dataclass(frozen=True, order=True)
class Offset:
    """A rung's distance from its anchor: `-14d` calendar days, `+1wd` working days."""

    amount: int
    working_days: bool

    def __str__(self) -> str:
        sign = "+" if self.amount > 0 else ""
        return f"{sign}{self.amount}{'wd' if self.working_days else 'd'}"


def _offset(text: str) -> Offset:
    m = re.fullmatch(r"([+-]?\d{1,3})\s*(d|wd)", str(text).strip())
    if not m:
        raise ValueError(
            f"khoảng cách '{text}' không hợp lệ: cần dạng -14d (ngày lịch) hoặc +1wd (ngày làm việc)"
        )
    return Offset(int(m[1]), m[2] == "wd")


Slug = Annotated[str, AfterValidator(_slug)]
Channel = Annotated[str, AfterValidator(_channel)]
Url = Annotated[str, AfterValidator(_url)]
Rate = Annotated[tuple[int, float], BeforeValidator(_rate)]
Email = Annotated[str, AfterValidator(normalise_email)]
Mobile = Annotated[str, AfterValidator(normalise_mobile)]
FullDate = Annotated[date, BeforeValidator(parse_date)]
YearDay = Annotated[DayOfYear, BeforeValidator(parse_day_of_year)]
DateOrDay = Annotated[date | DayOfYear, BeforeValidator(parse_date_or_day)]
Clock = Annotated[time, BeforeValidator(parse_clock)]
OffsetField = Annotated[Offset, BeforeValidator(_offset)]
Year = Annotated[int, Field(ge=1990, le=2200)]
PeriodKinds = Annotated[tuple[PeriodKind, ...], BeforeValidator(parse_period_kinds)]
Due = Annotated[PeriodDue, BeforeValidator(parse_due)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


# --- agencies ---------------------------------------------------------------


class ContactSpec(Strict):
    id: Slug | None = None
    name: str
    role: Literal["focal", "leader"] = "focal"
    title: str | None = None
    email: Email | None = None
    mobile: Mobile | None = None
    zalo: Mobile | None = None
    webhook: Url | None = None
    addresses: dict[str, str] = {}  # for plug-in channels: channel → address
    channels: list[Channel] | None = None
    fallback: list[Channel] | None = None  # overrides the channels' own fallback chain


class GroupSpec(Strict):
    id: Slug
    name: str


class AgencySpec(Strict):
    id: Slug
    name: str
    short_name: str | None = None
    parent: Slug | None = None
    groups: list[Slug] = []
    contacts: list[ContactSpec] = []
    # --- over time (scheduler/config/lifetimes.py) ------------------------------------------------
    valid_from: FullDate | None = None  # the first day it exists (established, merged into being)
    valid_until: FullDate | None = None  # its last day (abolished, merged, renamed with a new id)
    succeeded_by: Slug | None = None  # the agency that took over its duties after valid_until


class AgenciesFile(Strict):
    groups: list[GroupSpec] = []
    agencies: list[Any] = []  # each validated as an AgencySpec on its own, so one bad entry stays one error


# --- reminder policies ------------------------------------------------------

RungKind = Literal["upcoming", "due", "overdue", "escalation", "prepare", "start", "closing", "announce"]


class RungSpec(Strict):
    offset: OffsetField
    kind: RungKind | None = None
    anchor: Literal["start", "end"] = "start"
    to: Literal["focal", "leader"] = "focal"
    channels: list[Channel] | None = None


class PolicySpec(Strict):
    id: Slug
    name: str | None = None
    send_time: Clock | None = None
    non_working_day: Literal["previous", "next", "keep"] = "previous"
    ignore_quiet_hours: bool = False  # true: send even within NHACVIEC_QUIET_HOURS
    deadline: list[RungSpec] = []
    window: list[RungSpec] = []
    observance: list[RungSpec] = []


class PoliciesFile(Strict):
    default: Slug
    policies: list[PolicySpec]


# --- channels -----------------------------------------------------------------


class CircuitSpec(Strict):
    failures: int = Field(5, ge=1)  # consecutive provider failures that open the circuit
    pause: float = Field(60.0, gt=0)  # seconds it stays open before one trial send


class ChannelSpec(Strict):
    rate: Rate | None = None  # "60/min": at most 60 sends in any 60 s
    daily_quota: int | None = Field(None, ge=1)  # sends per day (Asia/Ho_Chi_Minh), all replicas
    circuit: CircuitSpec = CircuitSpec()
    fallback: list[Channel] = []  # tried in order when a recipient cannot be reached here
    options: dict[str, Any] = {}  # the notifier's own options, checked against its `Options`


class ChannelsFile(Strict):
    channels: dict[Channel, ChannelSpec] = {}


# --- working-day overrides --------------------------------------------------


class DayNote(Strict):
    date: FullDate
    name: str


class TetNote(Strict):
    """A year whose Tết schedule an officer has checked against the government's announcement."""

    year: int = Field(ge=1995, le=2200)
    source: str = Field(min_length=1)  # the announcement: "Thông báo số …", what it says


class WorkdaysFile(Strict):
    days_off: list[DayNote] = []
    working_days: list[DayNote] = []
    tet_confirmed: list[TetNote] = []


# --- plans ------------------------------------------------------------------


class RoleSpec(Strict):
    """An agency named by role as the document writes it ("các sở, ngành có liên quan"), mapped by a
    person to agency or group ids; the plan may use the role's id wherever it names an agency."""

    text: str
    agencies: list[Slug] = []
    # --- the importer's proposal (importer/matching.py): a match to confirm ------------------
    review: str | None = None  # why a person must confirm the mapping; `check` refuses it until removed


class ObligationSpec(Strict):
    id: Slug
    title: str
    on: DateOrDay | None = None
    yearly: YearDay | None = None
    monthly: Annotated[int, Field(ge=1, le=31)] | Literal["last_working_day"] | None = None
    until: Year | None = None
    recurring: bool = False  # true: recurs beyond the plan's year (scheduler/config/validity.py)
    who: list[Slug]
    to: Slug | None = None
    via: Slug | None = None
    after: Slug | None = None
    policy: Slug | None = None
    source: str | None = None
    note: str | None = None
    review: str | None = None  # why a person must look at this item; `check` refuses it until removed
    confidence: float | None = Field(None, ge=0, le=1)  # the importer's certainty; informational only
    # --- Decree 09/2019/NĐ-CP report periods (scheduler/calendar/periods.py) ---------------------------
    period: PeriodKinds | None = None  # monthly | quarterly | half-year | annual, or a list of them
    due: Due | None = None  # per level: 15, "+1wd", or {units: 15, focal: 20}


class WindowSpec(Strict):
    id: Slug
    title: str
    start: DateOrDay
    end: DateOrDay
    until: Year | None = None
    recurring: bool = False  # true: recurs beyond the plan's year (scheduler/config/validity.py)
    who: list[Slug] | None = None
    policy: Slug | None = None
    source: str | None = None
    note: str | None = None
    review: str | None = None  # why a person must look at this item; `check` refuses it until removed
    confidence: float | None = Field(None, ge=0, le=1)  # the importer's certainty; informational only


class ObservanceSpec(Strict):
    id: Slug
    title: str
    date: YearDay
    until: Year | None = None
    recurring: bool = False  # true: recurs beyond the plan's year (scheduler/config/validity.py)
    who: list[Slug] | None = None
    policy: Slug | None = None
    source: str | None = None
    review: str | None = None  # why a person must look at this item; `check` refuses it until removed
    confidence: float | None = Field(None, ge=0, le=1)  # the importer's certainty; informational only


class PlanSpec(Strict):
    id: Slug
    number: str | None = None
    title: str
    issuer: str
    issued: FullDate | None = None
    place: str | None = None
    year: Year
    # --- the plan's life (scheduler/config/validity.py) ----------------------------------------------
    valid_from: FullDate | None = None  # default: 1/1 of `year`
    valid_until: FullDate | None = None  # default: 31/12 of `year` (the end of recurring items too)
    until: Year | None = None  # shorthand for valid_until: 31/12 of that year
    replaces: Slug | None = None  # the plan whose recurring items stop where this one starts
    review: str | None = None  # why a person must look at the plan (`plan rollover`); `check` refuses it
    source_document: str | None = None
    focal_agency: Slug
    policy: Slug | None = None
    roles: dict[Slug, RoleSpec] = {}  # role id -> agencies; see RoleSpec
    # After an agency's valid_until its occurrences go to its successor (follow), or to nobody
    # (stop: a newer plan names the new bodies itself). See scheduler/config/lifetimes.py.
    successors: Literal["follow", "stop"] = "follow"
    participants: list[Slug] = []
    obligations: list[ObligationSpec] = []
    windows: list[WindowSpec] = []
    observances: list[ObservanceSpec] = []
