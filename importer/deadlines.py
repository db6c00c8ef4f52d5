"""Deadlines in a sentence: when, what is due, who submits it, to whom, through whom.

A deadline is anchored on its date ("trước ngày 10/6/2020", "trước ngày 15 hằng tháng");
the text before the anchor, back to the previous one, says what is due and its period;
the rest of the clause may name the recipient. Deadlines that feed a consolidated report
are chained to it (`chain`).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field, replace
from datetime import date
from operator import itemgetter

from importer import rules
from importer.rules import DateText
from scheduler.calendar import periods


@dataclass
class Deadline:
    title: str
    source: str
    where: str
    due: date | None  # the date (one-off), or its occurrence in the plan's year (yearly)
    recurrence: str = "once"  # once | yearly | monthly | quarterly
    day: int | None = None  # monthly and quarterly: the day of the month, if written
    period: str | None = None  # month | quarter | half-year | year
    who: list[str] = field(default_factory=list)
    to: str | None = None
    via: str | None = None
    after: Deadline | None = None
    confidence: float = 0.9
    review: list[str] = field(default_factory=list)
    # Decree 09/2019/NĐ-CP: the kinds of a `period:` rule (monthly, quarterly, half-year, annual),
    # due on `day` of the period's last month, the consolidating level (`via`) on `focal_day`.
    regime: tuple[str, ...] = ()
    focal_day: int | None = None
    every_year: bool = False  # the text says "hằng năm": it recurs beyond the document's year
    month_level: bool = False  # written as a month or a quarter: due on its last day, to confirm


@dataclass
class Sentence:
    text: str
    where: str
    heading: str | None  # the agency heading it falls under, inside "Tổ chức thực hiện"
    subject: str | None  # who the paragraph's earlier sentences named


# How far from a deadline its recipient, title and clause are looked for (characters).
_REACH = 400


@dataclass
class _Anchor:
    start: int
    end: int
    due: DateText | None
    recurrence: str
    day: int | None = None
    period: str | None = None
    first: _Anchor | None = None  # "trước ngày 15/6 và 15/12": 15/12 is due as 15/6 is
    kinds: tuple[str, ...] = ()  # a Decree 09 regime
    month_level: bool = False
    written: str = ""  # a month-level deadline as written: "tháng 6/2024", "Quý II"


def _anchors(text: str, decree_09: bool = False) -> list[_Anchor]:
    """Where deadlines are written in a sentence, in order, none overlapping. `decree_09`: the
    document cites Decree 09/2019/NĐ-CP, whose regime its periodic reports follow."""
    cited = bool(rules.DECREE_09.search(text))
    anchors = []
    listed_until = 0  # the end of the last list of dates: a deadline inside it is already read
    for m in rules.DEADLINE.finditer(text):
        if m.start() >= listed_until and (due := rules.date_from(m)):
            if m["next"] and due.year is None:
                due = replace(due, next_year=True)
            anchors.extend(_with_more_dates(text, m, due))
            listed_until = anchors[-1].end
    for m in rules.MONTHLY_BEFORE.finditer(text):
        anchors.append(_Anchor(m.start(), m.end(), None, "monthly", int(m["day"]), "month"))
    for m in rules.MONTHLY_DEADLINE.finditer(text):
        kind, period = ("monthly", "month") if m["monthly"] else ("quarterly", "quarter")
        anchors.append(_Anchor(m.start(), m.end(), None, kind, int(m["day"]), period))
        anchors[-1].kinds = _regime_of(kind, int(m["day"]), cited or decree_09)
    for m in rules.YEARLY_DATE.finditer(text):
        clause = text[max(0, m.start() - 150) : m.start()].rsplit(";", 1)[-1]
        celebrated = rules.CELEBRATION.search(clause)
        if (due := rules.date_from(m)) and rules.REPORT_VERB.search(clause) and not celebrated:
            anchors.append(_Anchor(m.start(), m.end(), due, "yearly", period="year"))
    for m in rules.UNDATED_RECURRING.finditer(text):
        monthly = "tháng" in m["period"]
        kind, period = ("monthly", "month") if monthly else ("quarterly", "quarter")
        if any(a.recurrence == kind for a in anchors):
            continue  # "báo cáo hằng quý trước ngày 20 của tháng cuối quý": the day is written
        anchors.append(_Anchor(m.start("period"), m.end(), None, kind, None, period))
        anchors[-1].kinds = _regime_of(kind, None, cited or decree_09)
    for m in rules.MONTH_DEADLINE.finditer(text):
        clause = text[max(0, m.start() - 150) : m.start()].rsplit(";", 1)[-1]
        if rules.CAMPAIGN.search(clause + m.group(0)) or _DATA_RANGE.search(clause + m.group(0)):
            continue  # "Tháng hành động … trong tháng 6" is a window; "số liệu … trong tháng 6" data
        month = int(m["m"]) if m["m"] else rules.QUARTERS[m["q"].upper()] * 3
        year = m["my"] or m["qy"]
        if 1 <= month <= 12:
            due = rules.DateText(1, month, int(year) if year else None, m.start(), m.end())
            recurrence = "yearly" if m["recurring"] else "once"
            anchors.append(_Anchor(m.start(), m.end(), due, recurrence, month_level=True, written=m["when"]))
    if not anchors and (cited or decree_09):  # "báo cáo định kỳ 6 tháng, hằng năm theo Nghị định 09"
        for m in rules.REGIME.finditer(text):
            if (kinds := rules.regime_kinds(m["periods"])) and (cited or m["regular"]):
                anchors.append(_Anchor(m.start(), m.end(), None, "regime", None, None, kinds=kinds))
    anchors.sort(key=lambda a: (a.start, -a.end))
    kept: list[_Anchor] = []
    for anchor in anchors:
        if not kept or anchor.start >= kept[-1].end:
            kept.append(anchor)
    return kept


_DATA_RANGE = re.compile(r"\b(?:số liệu|kỳ báo cáo|thời điểm)\b", re.IGNORECASE)


def _regime_of(kind: str, day: int | None, cited: bool) -> tuple[str, ...]:
    """A quarterly report ("trước ngày 20 tháng cuối quý", "hằng quý") follows the decree's periods
    unless its day comes before the cut-off (the 14th); a monthly one when the decree is cited."""
    if day is not None and day <= periods.CUT_OFF_DAY:
        return ()
    if kind == "quarterly":
        return ("quarterly",)
    return ("monthly",) if cited else ()


def _with_more_dates(text: str, m: re.Match[str], due: DateText) -> list[_Anchor]:
    """The deadline and the dates listed after it ("trước ngày 15/6 và 15/12 hằng năm")."""
    anchors = [_Anchor(m.start(), m.end(), due, "yearly" if m["recurring"] else "once")]
    end = m.end()
    while (more := rules.MORE_DATES.match(text[end : end + 80])) and (again := rules.date_from(more)):
        recurrence = "yearly" if more["recurring"] else "once"
        anchors.append(_Anchor(end, end + more.end(), again, recurrence, first=anchors[0]))
        end += more.end()
    if anchors[-1].recurrence == "yearly":  # "hằng năm" after the last date is said of them all
        for anchor in anchors:
            anchor.recurrence = "yearly"
    return anchors


def read_deadlines(sentence: Sentence, year: int, decree_09: bool = False) -> list[Deadline]:
    """The deadlines written in one sentence, in order; a date without a year is in `year`.
    `decree_09`: the document cites Decree 09/2019/NĐ-CP."""
    text = sentence.text
    previous_end = 0
    found: list[Deadline] = []
    read: dict[int, Deadline] = {}  # id(anchor) -> its deadline
    lists: dict[int, tuple[str, list[Deadline]]] = {}  # id(first anchor) -> (text before it, its list)
    for anchor in _anchors(text, decree_09):
        segment = text[max(previous_end, anchor.start - _REACH) : anchor.end]
        clause_rest = text[anchor.end : anchor.end + _REACH].split(";", 1)[0]
        previous_end = anchor.end
        previous = _what(found[-1].title) if found else None
        deadline = _deadline(anchor, segment, clause_rest, sentence, year, previous)
        if deadline is None:
            continue
        if anchor.first is not None and (first := read.get(id(anchor.first))):
            deadline.title, deadline.to, deadline.via = first.title, first.to, first.via
            deadline.who = first.who
            deadline.period = None if first.period not in ("year", None) else first.period
            lists.setdefault(id(anchor.first), (text[: anchor.first.start], [first]))[1].append(deadline)
        read[id(anchor)] = deadline
        found.append(deadline)
    for before, listed in lists.values():
        _pair_periods(before, listed, year)
    return found


def _pair_periods(before: str, listed: list[Deadline], year: int) -> None:
    """ "Định kỳ 6 tháng, năm ... (trước ngày 15/6 và 15/12)": the periods go with the dates in order."""
    periods = [name for name, _ in sorted(_period_mentions(before[-_REACH:]), key=lambda m: m[1])]
    if len(periods) != len(listed):
        return
    what = _what(listed[0].title)
    for deadline, period in zip(listed, periods, strict=True):
        deadline.period = period
        deadline.title = f"{what} {_PERIOD_WORDS[period]}"
        if period in ("half-year", "year") and deadline.due and deadline.due.year == year:
            deadline.recurrence = "yearly"


def _period_mentions(text: str) -> list[tuple[str, int]]:
    """Each period named in `text`, with where: "6 tháng, năm" is a half-year then a year."""
    mentions = [(name, m.start()) for name, pattern in rules.PERIODS for m in pattern.finditer(text)]
    mentions += [("year", m.start()) for m in rules.YEAR_LISTED.finditer(text)]
    return mentions


def _deadline(
    anchor: _Anchor, segment: str, rest: str, sentence: Sentence, year: int, previous: str | None
) -> Deadline | None:
    before = segment[: len(segment) - (anchor.end - anchor.start)]
    period = anchor.period or _period(_applies_to(rest)) or _period(before)
    recurrence = anchor.recurrence
    due = None
    if anchor.month_level and anchor.due is not None:  # its last day
        in_year = anchor.due.year or year
        due = date(in_year, anchor.due.month, calendar.monthrange(in_year, anchor.due.month)[1])
    elif anchor.due is not None:
        due = anchor.due.in_year(year)
        if due is None:
            return None
        if recurrence == "once" and period in ("half-year", "year") and due.year == year:
            recurrence = "yearly"
    deadline = Deadline(
        title=_title(segment, rest, before, previous, period),
        source=_clause(sentence.text, anchor),
        where=sentence.where,
        due=due,
        recurrence=recurrence,
        day=anchor.day,
        period=period,
        who=split_agencies(sentence.subject or sentence.heading or ""),
        to=_first_agency(_last(rules.RECIPIENT, segment) or _recipient_after(sentence.text, segment, rest)),
        via=_last(rules.VIA, segment) or _first(rules.VIA, rest),
    )
    deadline.regime, deadline.month_level = anchor.kinds, anchor.month_level
    deadline.every_year = bool(rules.EVERY_YEAR.search(segment + rest[:40]))
    if anchor.kinds:
        deadline.title = _without_periods(deadline.title)
    if consolidator := _consolidator(before):
        deadline.who, deadline.via = [consolidator], None
    elif (clause_subject := _clause_subject(before)) and clause_subject not in deadline.who:
        deadline.who = [clause_subject]  # "…; Sở Nội vụ tổng hợp, báo cáo UBND tỉnh trước ngày 20/6"
    if " | " in sentence.text:  # a row of a table: "1 | Xây dựng kế hoạch | Hội LHPN huyện | Trước ngày …"
        _table_row(deadline, sentence.text)
    _judge(deadline, anchor)
    return deadline


def _table_row(deadline: Deadline, row: str) -> None:
    """In a table the cells say what is due and who does it; the row is the source."""
    cells = [c.strip() for c in row.split(" | ") if c.strip() and not c.strip().isdigit()]
    agencies = [c for c in cells if rules.AGENCY_START.match(c) and not rules.find_dates(c)]
    tasks = [c for c in cells if c not in agencies and not rules.find_dates(c)]
    if tasks:
        deadline.title = short_title(tasks[0][:1].upper() + tasks[0][1:])
    if agencies and not deadline.who:
        deadline.who = split_agencies(agencies[0])


def _clause(sentence: str, anchor: _Anchor, limit: int = 300) -> str:
    """The sentence, or in a long one the clause (between semicolons) that holds the deadline."""
    sentence = sentence.strip()
    if len(sentence) <= limit:
        return sentence
    start = sentence.rfind(";", max(0, anchor.start - _REACH), anchor.start) + 1
    start = start or max(0, anchor.start - _REACH)
    end = sentence.find(";", anchor.end, anchor.end + _REACH)
    clause = sentence[start : end if end >= 0 else len(sentence)].strip()
    return ("… " if start else "") + clause + (" …" if end >= 0 else "")


def _judge(deadline: Deadline, anchor: _Anchor) -> None:
    """How sure the reading is, and what a person must decide."""
    if anchor.due is not None and anchor.due.year is None:
        deadline.confidence -= 0.05
    if not deadline.who:
        deadline.confidence -= 0.2
    if deadline.recurrence in ("monthly", "quarterly") and deadline.day is None:
        deadline.confidence = 0.5
        every = "tháng" if deadline.recurrence == "monthly" else "quý"
        deadline.review.append(
            f"văn bản không ghi ngày nộp báo cáo hằng {every}: hãy ghi ngày cơ quan nhận áp dụng"
            + (" (due: ngày trong tháng cuối kỳ, sau ngày chốt số liệu 14)" if deadline.regime else "")
        )
    elif deadline.recurrence == "regime":
        deadline.confidence = 0.5
        deadline.review.append(
            "văn bản không ghi hạn gửi báo cáo định kỳ (Nghị định 09/2019/NĐ-CP): ghi due theo quy định của "
            "cơ quan nhận — ngày trong tháng cuối kỳ, sau ngày chốt số liệu 14, ví dụ due: 15 hoặc "
            "{units: 15, focal: 20}"
        )
    if deadline.month_level and deadline.due is not None:
        deadline.confidence = 0.5
        deadline.review.append(
            f"văn bản chỉ ghi «{anchor.written}», không ghi ngày: đề xuất hạn là ngày cuối "
            f"({deadline.due:%d/%m/%Y}); sửa nếu cơ quan nhận cần ngày khác"
        )
    deadline.confidence = round(max(deadline.confidence, 0.1), 2)


def _clause_subject(before: str) -> str | None:
    """The agency a later clause of the sentence starts with: "…; Sở Nội vụ tổng hợp, báo cáo …"."""
    if ";" not in before:
        return None
    clause = rules.SUBJECT_LEAD.sub("", before.rsplit(";", 1)[1], count=1)
    if rules.AGENCY_START.match(clause) and (m := rules.AGENCY.match(clause)):
        return m.group(0).strip(" ,")
    return None


_PERIOD_TAIL = re.compile(
    r"(?:\s+(?:định kỳ|(?:0?6|sáu)\s+tháng(?:\s+(?:đầu|cuối)\s+năm)?|(?:hằng|hàng|mỗi)\s+(?:tháng|quý|năm)"
    r"|(?:0?1\s+|cả\s+)?năm|quý|tháng|,|và|hoặc))+$",
    re.IGNORECASE,
)


def _without_periods(title: str) -> str:
    """ "Báo cáo định kỳ 6 tháng, năm" → "Báo cáo định kỳ": the engine names each period."""
    base = _PERIOD_TAIL.sub("", title).strip(" ,")
    return "Báo cáo định kỳ" if base.lower() in ("báo cáo", "") else base


def _applies_to(rest: str) -> str:
    """`... trước ngày 15/7 đối với báo cáo 6 tháng đầu năm`: the period named after the date."""
    m = re.match(r"\s*,?\s*(?:đối với|cho)\s+(báo cáo[^,;]{0,60})", rest)
    return m[1] if m else ""


def _period(segment: str) -> str | None:
    for name, pattern in rules.PERIODS:
        if pattern.search(segment):
            return name
    return None


def _title(segment: str, rest: str, before: str, previous: str | None, period: str | None) -> str:
    """What is due: `Báo cáo <what>` when a report is due, otherwise the clause's action.

    A deadline written only as a period after another ("định kỳ 6 tháng (trước ...) và năm
    (trước ...)") is due for what the one before it is."""
    reports = list(re.finditer(r"(?i:báo cáo)\s+", segment)) or list(re.finditer(r"(?i:báo cáo)\s+", rest))
    if reports:
        where = segment if re.search(r"(?i:báo cáo)\s+", segment) else rest
        what = where[reports[-1].end() :]
        what = rules.RECIPIENT.sub("", "báo cáo " + what).strip() if rules.AGENCY_START.match(what) else what
        what = short_title(what) or ("kết quả" if "kết quả" in segment else "")
        title = f"Báo cáo {what}".strip()
    else:
        clause = re.split(r"[;:]", segment)[-1]
        clause = rules.SUBJECT_LEAD.sub("", clause, count=1)
        if (m := rules.AGENCY.match(clause)) and rules.AGENCY_START.match(clause):
            clause = clause[m.end() :]
        clause = re.sub(r"^\s*(?:chủ động|có trách nhiệm|khẩn trương)\s+", "", clause.strip())
        title = short_title(clause)
        title = title[:1].upper() + title[1:]
    if previous and _BARE.fullmatch(title):
        title = previous
    label = _period_text(_applies_to(rest)) or _period_text(before) or _PERIOD_WORDS.get(period or "")
    label = label and label[:1].lower() + label[1:]
    if label and label.lower() not in title.lower():
        title = f"{title} {label}"
    return title or "Hạn báo cáo"


_PERIOD_WORDS = {"year": "năm", "half-year": "6 tháng", "quarter": "quý", "month": "tháng"}
# A title that is only connectors and period words: "và năm", "định kỳ 6 tháng".
_BARE = re.compile(r"(?i:\W|và|hoặc|định|kỳ|năm|tháng|quý|cả|hằng|hàng|sáu|\d)*")


def _what(title: str) -> str:
    """The title without its period words, for the deadlines listed after it."""
    return re.sub(
        r"\s+(?i:(?:định kỳ\s+)?(?:0?6|sáu)\s+tháng|0?1\s+năm|(?:hằng|hàng)\s+(?:năm|tháng|quý))$", "", title
    )


_TITLE_STOP = re.compile(
    r"\s*(?:\(|\)|;|\btrong\s+(?i:tháng|quý)\b|\btrước\b|\bchậm nhất\b|\bthông qua\b|\bqua\b|\bđể\b|\bgửi\b|\bvới\b|\btheo quy định\b"
    r"|\bvào\s+(?:ngày|báo cáo)|\bđịnh kỳ\b|$)"
)


def short_title(text: str, words: int = 16) -> str:
    """The start of `text` up to the first word that begins the deadline or the recipient."""
    text = text.strip(" ,.-")
    stops = [m.start() for m in (_TITLE_STOP.search(text), rules.BARE_RECIPIENT.search(text)) if m]
    text = text[: min(stops)] if stops else text
    parts = text.split()
    return " ".join(parts[:words]).strip(" ,.-") + (" …" if len(parts) > words else "")


def _period_text(segment: str) -> str | None:
    m = re.search(
        r"(?i:định kỳ\s+)?(?:0?6|sáu)\s+tháng|\b0?1\s+năm\b|(?:hằng|hàng)\s+(?:năm|tháng|quý)", segment
    )
    return m.group(0) if m else None


def _recipient_after(sentence: str, segment: str, rest: str) -> str | None:
    """The nearest recipient after the date: "(trước ngày 15/6) về Sở …", "báo cáo UBND tỉnh".

    A plain "về" names a recipient only in a sentence about a report."""
    found = [(m.start(), m["agency"]) for m in rules.RECIPIENT.finditer(rest)]
    if rules.REPORT_VERB.search(sentence):
        found += [(m.start(), m["agency"]) for m in rules.BARE_RECIPIENT.finditer(rest)]
        if not found and (m := _last_match(rules.BARE_RECIPIENT, segment)):
            return m["agency"].strip(" ,")
    return min(found)[1].strip(" ,") if found else None


def _last_match(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    found = list(pattern.finditer(text))
    return found[-1] if found else None


def _consolidator(before: str) -> str | None:
    """ "… về Sở Y tế để tổng hợp, báo cáo UBND tỉnh trước ngày 15/12": the Sở reports by then."""
    m = rules.CONSOLIDATES.search(before[-_REACH:])
    return m["agency"].strip(" ,") if m else None


def _first_agency(text: str | None) -> str | None:
    """`UBND huyện và Sở Văn hóa và Thể thao` → `UBND huyện`: a report has one recipient here."""
    return split_agencies(text)[0] if text else None


def _last(pattern: re.Pattern[str], text: str) -> str | None:
    found = [m["agency"].strip(" ,") for m in pattern.finditer(text)]
    return found[-1] if found else None


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    m = pattern.search(text)
    return m["agency"].strip(" ,") if m else None


def split_agencies(text: str) -> list[str]:
    """`UBND thành phố Huế, các thị xã và các huyện, các sở, ngành có liên quan` → two roles."""
    parts = [p.strip(" ,;") for p in rules.AGENCY_SPLIT.split(text)]
    return [p for p in parts if p]


def merged(deadlines: list[Deadline]) -> list[Deadline]:
    """One deadline said twice (in a table and in the text) is one: the fuller reading is kept."""
    kept: dict[tuple[date | None, str, int | None, str], Deadline] = {}
    for d in deadlines:
        key = (d.due, d.recurrence, d.day, d.title.lower())
        if key not in kept or _fullness(d) > _fullness(kept[key]):
            kept[key] = d
    return list(kept.values())


def _fullness(d: Deadline) -> tuple[bool, bool, bool]:
    return bool(d.to), bool(d.via), bool(d.who)


def chain(deadlines: list[Deadline]) -> None:
    """Link a consolidated report to the reports it consolidates, and flag a chain out of order.

    A deadline whose submitter is the `via` of others ("báo cáo UBND tỉnh thông qua Sở ...":
    the Sở consolidates), or their recipient when none goes through anyone, follows the latest of them due on or before it. When they are all
    due after it, the document has the chain backwards: it is kept as written and flagged.
    """
    for later in deadlines:
        if later.due is None or len(later.who) != 1:
            continue
        feeding = [  # (its date, the deadline)
            (d.due, d)
            for d in deadlines
            if d is not later
            and d.due
            and (sender := d.via or d.to)
            and rules.same_agency(sender, later.who[0])
        ]
        if not feeding:
            continue
        before = [(due, d) for due, d in feeding if due <= later.due]
        earlier_due, earlier = max(before, key=itemgetter(0)) if before else min(feeding, key=itemgetter(0))
        later.after = earlier
        if (
            later.recurrence == "once"
            and earlier.recurrence == "yearly"
            and later.due.year == earlier_due.year
        ):
            later.recurrence = "yearly"
        if not before:
            later.review.append(
                f"hạn tổng hợp {later.due:%d/%m/%Y} đến trước hạn các đơn vị nộp ({earlier_due:%d/%m/%Y}) "
                "mà nó tổng hợp: kiểm tra lại văn bản"
            )
            later.confidence = min(later.confidence, 0.5)


def decree_09_regimes(deadlines: list[Deadline]) -> list[Deadline]:
    """In a document that cites Decree 09/2019/NĐ-CP: the half-year and annual reports of one
    sentence, due on one day after the cut-off in June and December ("báo cáo 6 tháng trước ngày
    15/6 và báo cáo năm trước ngày 15/12"), are one `period:` rule; the consolidation written with
    them ("Sở Nội vụ tổng hợp báo cáo UBND tỉnh trước ngày 20/6, 20/12") is its focal level."""
    by_sentence: dict[tuple[str, str], list[Deadline]] = {}
    for d in deadlines:
        if d.due and d.recurrence in ("once", "yearly") and not d.regime:
            by_sentence.setdefault((d.where, d.source), []).append(d)
    replaced: dict[int, Deadline] = {}
    for group in by_sentence.values():
        levels: dict[tuple[str, ...], list[Deadline]] = {}
        for d in group:
            levels.setdefault(tuple(d.who), []).append(d)
        found = [level for level in levels.values() if _half_and_year(level)]
        periodic = [level for level in found if all(d.period in ("half-year", "year") for d in level)]
        if not periodic:
            continue
        units = periodic[0]
        focal = next(
            (f for f in found if f is not units and len(f[0].who) == 1 and _day_of(f) > _day_of(units)), None
        )
        december = next(d for d in units if d.due and d.due.month == 12)
        first = units[0]
        rule = replace(
            first,
            title=_without_periods(_what(first.title)),
            due=None,
            recurrence="regime",
            day=_day_of(units),
            period=None,
            regime=("half-year",) if december.period == "half-year" else ("half-year", "annual"),
            every_year=any(d.every_year for d in units),
            after=None,
            review=[r for d in units for r in d.review],
        )
        if focal is not None:
            rule.to = focal[0].to or first.to
            rule.via, rule.focal_day = focal[0].who[0], _day_of(focal)
        for d in units + (focal or []):
            replaced[id(d)] = rule
    kept: list[Deadline] = []
    for d in deadlines:
        new = replaced.get(id(d), d)
        if new not in kept:
            kept.append(new)
        if d.after is not None and id(d.after) in replaced:
            d.after = replaced[id(d.after)] if replaced[id(d.after)] is not new else None
    return kept


def _day_of(level: list[Deadline]) -> int:
    """The day of the month a level's deadlines share."""
    return level[0].due.day if level[0].due else 0


def _half_and_year(level: list[Deadline]) -> bool:
    """Two deadlines, in June and December, on one day after the cut-off."""
    months = sorted(d.due.month for d in level if d.due)
    days = {d.due.day for d in level if d.due}
    return months == [6, 12] and len(days) == 1 and days.pop() > periods.CUT_OFF_DAY
