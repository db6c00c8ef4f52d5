"""Read a plan's reporting calendar out of its paragraphs, with `importer.rules`.

The result is what a careful reader notes: the document's number, issuer, date and
year; its deadlines (with what is due, who submits, to whom and through whom), its
windows and observances, each with the sentence it came from; the agencies named as
headings of the section that assigns the work; the contacts written in the text.
Nothing is guessed silently: what needs a person carries a `review` reason.
"""

from __future__ import annotations

import calendar
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import date

from importer import rules
from importer.rules import DateText


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


@dataclass
class Window:
    title: str
    source: str
    where: str
    start: date
    end: date
    named: bool = False  # dates from the table of action months, not from the text
    confidence: float = 0.9
    review: list[str] = field(default_factory=list)


@dataclass
class Observance:
    title: str
    source: str
    where: str
    day: int
    month: int
    confidence: float = 0.9


@dataclass
class Findings:
    title: str | None = None
    number: str | None = None  # "164/KH-UBND"; the symbol alone ("/KH-UBND") when left blank
    issuer: str | None = None
    place: str | None = None
    issued: date | None = None
    year: int | None = None
    deadlines: list[Deadline] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)
    observances: list[Observance] = field(default_factory=list)
    agencies: list[str] = field(default_factory=list)  # headings of "Tổ chức thực hiện"
    focal: str | None = None
    contacts: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what a person must know, for the summary

    def is_empty(self) -> bool:
        return not (self.deadlines or self.windows or self.observances)


@dataclass
class _Sentence:
    text: str
    where: str
    heading: str | None  # the agency heading it falls under, inside "Tổ chức thực hiện"
    subject: str | None  # who the paragraph's earlier sentences named


def extract(paragraphs: list[str], locations: list[str], year: int | None = None) -> Findings:
    """Everything the rules find; `year` overrides the year read from the document."""
    found = Findings()
    _header(paragraphs, found)
    found.year = year or found.year or _likely_year(paragraphs)
    if found.year is None:
        found.notes.append("không xác định được năm của kế hoạch: dùng --year")
        return found
    for sentence in _sentences(paragraphs, locations, found):
        _deadlines(sentence, found)
        _windows(sentence, found)
        _observances(sentence, found)
        found.contacts.extend(_contacts(sentence.text))
    _named_windows(paragraphs, locations, found)
    found.deadlines = _merged(found.deadlines)
    _chain(found.deadlines)
    found.focal = _focal(found)
    found.contacts = list(dict.fromkeys(found.contacts))
    return found


# --- the header: number, place and date, issuer, title, year --------------------------


def _header(paragraphs: list[str], found: Findings) -> None:
    """Read the document's own facts from its first lines (cells of a header table too)."""
    cells = [(i, c.strip()) for i, p in enumerate(paragraphs[:40]) for c in p.split("|") if c.strip()]
    issuer_lines: list[str] = []
    body = 0
    for k, (i, text) in enumerate(cells):
        if text.rstrip(":") == "Số" and k + 1 < len(cells):
            text = f"Số: {cells[k + 1][1]}"  # "Số:" and the number on lines of their own
        if found.number is None and (m := rules.NUMBER.match(text)):
            found.number = f"{m['number']}/{m['symbol']}" if m["number"] else f"/{m['symbol']}"
        elif found.place is None and (m := rules.PLACE_DATE.match(text)):
            found.place = m["place"].strip()
            found.issued = _issued(m, found)
        elif m := rules.PLAN_HEADING.match(text):
            body = i + 1
            rest = [m["rest"]] if m["rest"] else []
            while body < len(paragraphs) and (not rest or paragraphs[body].isupper()) and len(rest) < 4:
                rest.append(paragraphs[body])  # an all-capitals title broken over lines
                body += 1
            found.title = "Kế hoạch " + _sentence_case(" ".join(rest), paragraphs)
            break
        elif found.number is None and text.isupper() and not rules.NATIONAL_HEADING.match(text):
            issuer_lines.append(text)
    preamble = " ".join(paragraphs[body : body + 3])[:2000]
    heading = " ".join(_heading_case(line) for line in issuer_lines)
    if m := rules.PREAMBLE_TITLE.search(preamble):
        found.title = found.title or m["title"].strip()
        found.issuer = _issuer(m["issuer"], f"{preamble} {heading}")
    if found.issuer is None and heading:  # "ỦY BAN NHÂN DÂN / HUYỆN HÒA VANG"
        found.issuer = heading[:1].upper() + heading[1:]
    if found.title and (years := rules.TITLE_YEAR.findall(found.title)):
        found.year = int(years[-1])
    elif found.issued:
        found.year = found.issued.year


def _issued(m: re.Match[str], found: Findings) -> date | None:
    if not (m["d"] and m["m"]):
        found.notes.append(f"ngày ban hành để trống trong văn bản: «{m.group(0).strip()}»")
        return None
    try:
        return date(int(m["y"]), int(m["m"]), int(m["d"]))
    except ValueError:
        found.notes.append(f"ngày ban hành không hợp lệ: «{m.group(0).strip()}»")
        return None


def _issuer(text: str, preamble: str) -> str | None:
    """`UBND tỉnh` becomes `UBND tỉnh Thừa Thiên Huế` when the text names the province."""
    m = re.search(r"\b(?:UBND|Ủy ban|Uỷ ban|Ban|Hội|Sở|Phòng|Bộ|Thủ tướng)\b.*", text)
    if m is None:
        return None
    issuer = m[0].strip(" ()")
    level = re.search(r"\b(tỉnh|huyện|thành phố|thị xã|xã|phường)$", issuer)
    if level and (named := re.search(rf"\b{level[1]}\s+((?:[A-ZĐÀ-Ỹ]\w*\s?)+)", preamble)):
        issuer = f"{issuer} {named[1].strip()}"
    return issuer


def _heading_case(line: str) -> str:
    """`HUYỆN HÒA VANG` → `huyện Hòa Vang`; `HỘI LHPN TỈNH QUẢNG NAM` → `hội LHPN tỉnh Quảng Nam`."""
    words = line.split()
    for i, word in enumerate(words):
        if word.lower() in _LEVELS:  # the place's name follows its level, in title case
            return " ".join([*(_acronym(w) for w in words[: i + 1]), *(w.title() for w in words[i + 1 :])])
    return " ".join(_acronym(w) for w in words)


_LEVELS = {"tỉnh", "huyện", "quận", "thị xã", "xã", "phường", "thị trấn", "thành phố"}
_ACRONYMS = {"UBND", "HĐND", "LHPN", "LĐTBXH", "MTTQ", "BCH", "BTV", "BCĐ", "TW", "VN", "CP", "TU"}


def _acronym(word: str) -> str:
    return word if word.strip(",.:") in _ACRONYMS or "/" in word else word.lower()


def _sentence_case(text: str, paragraphs: list[str]) -> str:
    """An all-capitals title in sentence case, keeping the words the body capitalises (names)."""
    if not text.isupper():
        return text[:1].lower() + text[1:]
    seen = Counter(re.findall(r"\w+", " ".join(paragraphs)))
    return re.sub(
        r"\w+",
        lambda m: m[0].capitalize() if seen[m[0].capitalize()] > seen[m[0]] else m[0],
        text.lower(),
    )


def _likely_year(paragraphs: list[str]) -> int | None:
    years = Counter(d.year for p in paragraphs for d in rules.find_dates(p) if d.year)
    return years.most_common(1)[0][0] if years else None


# --- sentences, with the agency heading and the subject they fall under -------------------

_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-ZĐÀ-Ỹ\"“(\-+•])")


def _sentences(paragraphs: list[str], locations: list[str], found: Findings):
    organisation = False
    heading: str | None = None
    for text, where in zip(paragraphs, locations, strict=True):
        if rules.SIGNATURE.match(text):
            break
        if m := rules.SECTION.match(text):
            organisation = bool(rules.ORGANISATION.search(m["title"]))
            heading = None
            continue
        if organisation and (m := rules.ITEM_HEADING.match(text)) and rules.AGENCY_START.match(m["name"]):
            rest = m["rest"] or ""
            listed = rest.endswith(":")  # "7. Các Sở, ngành: Y tế; Giáo dục ...; Cục Thống kê:"
            heading = _agency_heading(f"{m['name']}: {rest[:-1]}" if listed else m["name"])
            found.agencies.append(heading)
            text = "" if listed else rest
        subject = None
        for part in _parts(text):
            own = _subject(part)
            yield _Sentence(part, where, heading, own or subject)
            subject = own or subject


def _parts(paragraph: str) -> list[str]:
    """The paragraph's sentences, none longer than _LONGEST_SENTENCE."""
    parts = []
    for sentence in _SPLIT.split(paragraph):
        while len(sentence) > _LONGEST_SENTENCE:
            cut = sentence.rfind(";", 0, _LONGEST_SENTENCE) + 1 or _LONGEST_SENTENCE
            parts.append(sentence[:cut])
            sentence = sentence[cut:]
        parts.append(sentence)
    return parts


def _agency_heading(name: str) -> str:
    """`Phòng LĐTBXH huyện (cơ quan thường trực ...)` → `Phòng LĐTBXH huyện`."""
    return re.sub(r"\s*\(.*\)\s*$", "", name).strip(" .")


def _subject(sentence: str) -> str | None:
    """Who the sentence makes act: the agencies before its first verb, if it starts with some."""
    rest = rules.SUBJECT_LEAD.sub("", sentence, count=1)
    if not rules.AGENCY_START.match(rest):
        return None
    subject = ""
    while m := rules.AGENCY.match(rest):  # "Các sở, ban, ngành; UBND các huyện báo cáo …"
        subject += ("; " if subject else "") + m.group(0).strip(" ,")
        rest = rest[m.end() :]
        if not (rest.startswith(";") and rules.AGENCY_START.match(rest[1:])):
            break
        rest = rest[1:].lstrip()
    return subject or None


# --- deadlines -------------------------------------------------------------------------------


# How far from a deadline its recipient, title and clause are looked for (characters).
_REACH = 400
# A longer range is the plan's own period ("từ 01/01/2024 đến 31/12/2024"), not a campaign (days).
_LONGEST_WINDOW = 183
# Longer "sentences" are not prose (tables flattened, garbage): they are cut at this length.
_LONGEST_SENTENCE = 3000


@dataclass
class _Anchor:
    start: int
    end: int
    due: DateText | None
    recurrence: str
    day: int | None = None
    period: str | None = None
    first: _Anchor | None = None  # "trước ngày 15/6 và 15/12": 15/12 is due as 15/6 is


def _anchors(text: str) -> list[_Anchor]:
    """Where deadlines are written in a sentence, in order, none overlapping."""
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
    anchors.sort(key=lambda a: (a.start, -a.end))
    kept: list[_Anchor] = []
    for anchor in anchors:
        if not kept or anchor.start >= kept[-1].end:
            kept.append(anchor)
    return kept


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


def _deadlines(sentence: _Sentence, found: Findings) -> None:
    text = sentence.text
    previous_end = 0
    read: dict[int, Deadline] = {}  # id(anchor) -> its deadline
    lists: dict[int, tuple[str, list[Deadline]]] = {}  # id(first anchor) -> (text before it, its list)
    for anchor in _anchors(text):
        segment = text[max(previous_end, anchor.start - _REACH) : anchor.end]
        clause_rest = text[anchor.end : anchor.end + _REACH].split(";", 1)[0]
        previous_end = anchor.end
        previous = _what(found.deadlines[-1].title) if read else None
        deadline = _deadline(anchor, segment, clause_rest, sentence, found.year or 0, previous)
        if deadline is None:
            continue
        if anchor.first is not None and (first := read.get(id(anchor.first))):
            deadline.title, deadline.to, deadline.via = first.title, first.to, first.via
            deadline.period = None if first.period not in ("year", None) else first.period
            lists.setdefault(id(anchor.first), (text[: anchor.first.start], [first]))[1].append(deadline)
        read[id(anchor)] = deadline
        found.deadlines.append(deadline)
    for before, listed in lists.values():
        _pair_periods(before, listed, found.year or 0)


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
    anchor: _Anchor, segment: str, rest: str, sentence: _Sentence, year: int, previous: str | None
) -> Deadline | None:
    before = segment[: len(segment) - (anchor.end - anchor.start)]
    period = anchor.period or _period(_applies_to(rest)) or _period(before)
    recurrence = anchor.recurrence
    due = None
    if anchor.due is not None:
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
        who=_split_agencies(sentence.subject or sentence.heading or ""),
        to=_first_agency(_last(rules.RECIPIENT, segment) or _recipient_after(sentence.text, segment, rest)),
        via=_last(rules.VIA, segment) or _first(rules.VIA, rest),
    )
    if consolidator := _consolidator(before):
        deadline.who, deadline.via = [consolidator], None
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
        deadline.title = _cut(tasks[0][:1].upper() + tasks[0][1:])
    if agencies and not deadline.who:
        deadline.who = _split_agencies(agencies[0])


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
        )
    deadline.confidence = round(max(deadline.confidence, 0.1), 2)


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
        what = _cut(what) or ("kết quả" if "kết quả" in segment else "")
        title = f"Báo cáo {what}".strip()
    else:
        clause = re.split(r"[;:]", segment)[-1]
        clause = rules.SUBJECT_LEAD.sub("", clause, count=1)
        if (m := rules.AGENCY.match(clause)) and rules.AGENCY_START.match(clause):
            clause = clause[m.end() :]
        clause = re.sub(r"^\s*(?:chủ động|có trách nhiệm|khẩn trương)\s+", "", clause.strip())
        title = _cut(clause)
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
    r"\s*(?:\(|\)|;|\btrước\b|\bchậm nhất\b|\bthông qua\b|\bqua\b|\bđể\b|\bgửi\b|\bvới\b|\btheo quy định\b"
    r"|\bvào\s+(?:ngày|báo cáo)|\bđịnh kỳ\b|$)"
)


def _cut(text: str, words: int = 16) -> str:
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
    return _split_agencies(text)[0] if text else None


def _last(pattern: re.Pattern[str], text: str) -> str | None:
    found = [m["agency"].strip(" ,") for m in pattern.finditer(text)]
    return found[-1] if found else None


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    m = pattern.search(text)
    return m["agency"].strip(" ,") if m else None


def _split_agencies(text: str) -> list[str]:
    """`UBND thành phố Huế, các thị xã và các huyện, các sở, ngành có liên quan` → two roles."""
    parts = [p.strip(" ,;") for p in rules.AGENCY_SPLIT.split(text)]
    return [p for p in parts if p]


def _merged(deadlines: list[Deadline]) -> list[Deadline]:
    """One deadline said twice (in a table and in the text) is one: the fuller reading is kept."""
    kept: dict[tuple, Deadline] = {}
    for d in deadlines:
        key = (d.due, d.recurrence, d.day, d.title.lower())
        if key not in kept or _fullness(d) > _fullness(kept[key]):
            kept[key] = d
    return list(kept.values())


def _fullness(d: Deadline) -> tuple[bool, bool, bool]:
    return bool(d.to), bool(d.via), bool(d.who)


def _chain(deadlines: list[Deadline]) -> None:
    """Link a consolidated report to the reports it consolidates, and flag a chain out of order.

    A deadline whose submitter is the `via` of others ("báo cáo UBND tỉnh thông qua Sở ...":
    the Sở consolidates), or their recipient when none goes through anyone, follows the latest of them due on or before it. When they are all
    due after it, the document has the chain backwards: it is kept as written and flagged.
    """
    for later in deadlines:
        if later.due is None or len(later.who) != 1:
            continue
        feeding = [
            d
            for d in deadlines
            if d is not later and d.due and (d.via or d.to) and rules.same_agency(d.via or d.to, later.who[0])
        ]
        if not feeding:
            continue
        before = [d for d in feeding if d.due <= later.due]
        earlier = max(before, key=lambda d: d.due) if before else min(feeding, key=lambda d: d.due)
        later.after = earlier
        if (
            later.recurrence == "once"
            and earlier.recurrence == "yearly"
            and later.due.year == earlier.due.year
        ):
            later.recurrence = "yearly"
        if not before:
            later.review.append(
                f"hạn tổng hợp {later.due:%d/%m/%Y} đến trước hạn các đơn vị nộp ({earlier.due:%d/%m/%Y}) "
                "mà nó tổng hợp: kiểm tra lại văn bản"
            )
            later.confidence = min(later.confidence, 0.5)


def _focal(found: Findings) -> str | None:
    """The agency that consolidates: the one reports go through, or to, most often."""
    via = Counter(d.via for d in found.deadlines if d.via)
    if via:
        return via.most_common(1)[0][0]
    to = Counter(d.to for d in found.deadlines if d.to)
    if to:
        return to.most_common(1)[0][0]
    return found.agencies[0] if found.agencies else None


# --- windows -----------------------------------------------------------------------------------


def _windows(sentence: _Sentence, found: Findings) -> None:
    text = sentence.text
    year = found.year or 0
    for m in rules.WINDOW.finditer(text):
        tags = ("a", "b") if m["ad1"] or m["ad2"] or m["ad3"] else ("c", "e")
        first, last = rules.date_from(m, tags[0]), rules.date_from(m, tags[1])
        if first and last and not rules.NOT_A_WINDOW.search(text[max(0, m.start() - 80) : m.start()]):
            _add_window(found, sentence, m.start(), first.in_year(last.year or year), last.in_year(year))
    for m in rules.WINDOW_ONE_MONTH.finditer(text):
        month, wyear = int(m["m"]), int(m["y"] or year)
        try:
            start, end = date(wyear, month, int(m["d1"])), date(wyear, month, int(m["d2"]))
        except ValueError:
            continue
        _add_window(found, sentence, m.start(), start, end)
    for m in rules.CAMPAIGN.finditer(text):
        if whole := rules.WHOLE_MONTH.match(text[m.end() :]):
            month, in_year = int(whole["m"] or whole["mm"]), int(whole["y"] or year)
            if 1 <= month <= 12:
                last = calendar.monthrange(in_year, month)[1]
                _add_window(found, sentence, m.end(), date(in_year, month, 1), date(in_year, month, last))


def _add_window(found: Findings, sentence: _Sentence, at: int, start: date | None, end: date | None) -> None:
    if start is None or end is None or not (start <= end) or (end - start).days > _LONGEST_WINDOW:
        return  # not a calendar day, an anniversary ("20/10/1930 - 20/10/2024"), the plan's whole year
    if any(w.start == start and w.end == end for w in found.windows):
        return
    found.windows.append(
        Window(_window_title(sentence.text[:at]), sentence.text.strip(), sentence.where, start, end)
    )


def _window_title(before: str) -> str:
    campaigns = list(rules.CAMPAIGN.finditer(before))
    if campaigns:
        return campaigns[-1].group(0).strip(" ,(")
    for named in rules.ACTION_MONTHS:
        if named.pattern.search(before):
            return named.name
    clause = re.split(r"[;:(]", before)[-1]
    clause = rules.SUBJECT_LEAD.sub("", clause, count=1).strip(" ,")
    return _cut(clause[:1].upper() + clause[1:]) or _UNNAMED


_UNNAMED = "Đợt hoạt động"


def _named_windows(paragraphs: list[str], locations: list[str], found: Findings) -> None:
    """Action months the text names without dates: they recur every year on fixed days."""
    year = found.year or 0
    for text, where in zip(paragraphs, locations, strict=True):
        if rules.SIGNATURE.match(text):
            break
        text = rules.QUOTES.sub("", text)  # THÁNG HÀNH ĐỘNG “VÌ TRẺ EM”
        for named in rules.ACTION_MONTHS:
            start = date(year, named.start[1], named.start[0])
            end = date(year, named.end[1], named.end[0])
            for m in named.pattern.finditer(text):
                if same := next((w for w in found.windows if (w.start, w.end) == (start, end)), None):
                    if same.title == _UNNAMED:  # "Thời gian cao điểm: từ 01/6 đến 30/6" is this month
                        same.title = named.name
                    break
                if _dated_nearby(text, m.end()):
                    continue
                sentence = next(s for s in _parts(text) if named.pattern.search(s))
                found.windows.append(
                    Window(named.name, sentence.strip(), where, start, end, named=True, confidence=0.8)
                )


def _dated_nearby(text: str, at: int) -> bool:
    """Whether the name at `at` is followed by its own dates or month ("... (tháng 6)")."""
    after = text[at : at + 120]
    near = re.split(r"[;.]", after, maxsplit=1)[0]
    return bool(
        rules.WINDOW.search(near) or rules.WINDOW_ONE_MONTH.search(near) or rules.WHOLE_MONTH.match(after)
    )


# --- observances -------------------------------------------------------------------------------


def _observances(sentence: _Sentence, found: Findings) -> None:
    text = sentence.text
    for named in rules.OBSERVANCES:
        if named.pattern.search(text):
            _add_observance(found, sentence, named.name, named.day, named.month, 0.9)
    for m in rules.NAMED_DAY.finditer(text):
        day, month = int(m["d"]), int(m["m"])
        if 1 <= month <= 12 and 1 <= day <= 31:
            _add_observance(found, sentence, "Ngày " + m["name"].strip(" ,"), day, month, 0.7)


def _add_observance(
    found: Findings, sentence: _Sentence, title: str, day: int, month: int, sure: float
) -> None:
    if any(o.day == day and o.month == month for o in found.observances):
        return
    found.observances.append(Observance(title, sentence.text.strip(), sentence.where, day, month, sure))


# --- contacts --------------------------------------------------------------------------------


def _contacts(text: str) -> list[str]:
    return [m.group(0) for m in rules.EMAIL.finditer(text)] + [
        re.sub(r"[\s.]", "", m.group(0)) for m in rules.PHONE.finditer(text)
    ]
