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
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from importer import rules
from importer.deadlines import (
    Deadline,
    Sentence,
    chain,
    decree_09_regimes,
    merged,
    read_deadlines,
    short_title,
)
from importer.header import Header, read_header

# A longer range is the plan's own period ("từ 01/01/2024 đến 31/12/2024"), not a campaign (days).
_LONGEST_WINDOW = 183
# Longer "sentences" are not prose (tables flattened, garbage): they are cut at this length.
_LONGEST_SENTENCE = 3000


@dataclass
class Window:
    title: str
    source: str
    where: str
    start: date
    end: date
    named: bool = False  # dates from the table of action months, not from the text
    confidence: float = 0.9


@dataclass
class Observance:
    title: str
    source: str
    where: str
    day: int
    month: int
    confidence: float = 0.9


@dataclass
class Findings(Header):
    """The document's own facts, and the calendar read out of it."""

    deadlines: list[Deadline] = field(default_factory=list)
    windows: list[Window] = field(default_factory=list)
    observances: list[Observance] = field(default_factory=list)
    agencies: list[str] = field(default_factory=list)  # headings of "Tổ chức thực hiện"
    focal: str | None = None
    contacts: list[str] = field(default_factory=list)
    yearless: bool = False  # names no year: a standing regime, its rules recur from `year` on
    roles: list[Any] = field(default_factory=list)  # importer.proposal.RoleMatch, once proposed

    def is_empty(self) -> bool:
        return not (self.deadlines or self.windows or self.observances)


def extract(
    paragraphs: list[str], locations: list[str], year: int | None = None, first_year: int | None = None
) -> Findings:
    """Everything the rules find; `year` overrides the year read from the document.

    A document that names no year may still state a recurring regime ("báo cáo định kỳ 6 tháng,
    hằng năm …", "trước ngày 15/12 hằng năm"): with `first_year` (the year of the import) its
    rules recur from then on. A deadline it gives once, without a year, still needs `year`."""
    found = Findings(**vars(read_header(paragraphs)))
    found.year = year or found.year
    if found.year is None and first_year is not None:
        found.year, found.yearless = first_year, True
    if found.year is None:
        found.notes.append("không xác định được năm của kế hoạch: dùng --year")
        return found
    cites_decree_09 = any(rules.DECREE_09.search(p) for p in paragraphs)
    for sentence in _sentences(paragraphs, locations, found):
        found.deadlines.extend(read_deadlines(sentence, found.year, cites_decree_09))
        _windows(sentence, found)
        _observances(sentence, found)
        found.contacts.extend(_contacts(sentence.text))
    _named_windows(paragraphs, locations, found)
    found.deadlines = merged(found.deadlines)
    chain(found.deadlines)
    if cites_decree_09:
        found.deadlines = decree_09_regimes(found.deadlines)
    found.focal = _focal(found)
    found.contacts = list(dict.fromkeys(found.contacts))
    if found.yearless and (once := [d for d in found.deadlines if d.recurrence == "once" and d.due]):
        found.year, found.deadlines, found.windows, found.observances = None, [], [], []
        found.notes.append(
            f"văn bản không ghi năm mà có hạn một lần («{_quote(once[0].source)}»): dùng --year"
        )
    return found


def _quote(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- sentences, with the agency heading and the subject they fall under -------------------

_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-ZĐÀ-Ỹ\"“(\-+•])")


def _sentences(paragraphs: list[str], locations: list[str], found: Findings) -> Iterator[Sentence]:
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
            yield Sentence(part, where, heading, own or subject)
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


def _windows(sentence: Sentence, found: Findings) -> None:
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
                last_day = calendar.monthrange(in_year, month)[1]
                _add_window(found, sentence, m.end(), date(in_year, month, 1), date(in_year, month, last_day))


def _add_window(found: Findings, sentence: Sentence, at: int, start: date | None, end: date | None) -> None:
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
    return short_title(clause[:1].upper() + clause[1:]) or _UNNAMED


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


def _observances(sentence: Sentence, found: Findings) -> None:
    text = sentence.text
    for named in rules.OBSERVANCES:
        if named.pattern.search(text):
            _add_observance(found, sentence, named.name, named.day, named.month, 0.9)
    for m in rules.NAMED_DAY.finditer(text):
        day, month = int(m["d"]), int(m["m"])
        if 1 <= month <= 12 and 1 <= day <= 31:
            _add_observance(found, sentence, "Ngày " + m["name"].strip(" ,"), day, month, 0.7)


def _add_observance(
    found: Findings, sentence: Sentence, title: str, day: int, month: int, sure: float
) -> None:
    if any(o.day == day and o.month == month for o in found.observances):
        return
    found.observances.append(Observance(title, sentence.text.strip(), sentence.where, day, month, sure))


# --- contacts --------------------------------------------------------------------------------


def _contacts(text: str) -> list[str]:
    return [m.group(0) for m in rules.EMAIL.finditer(text)] + [
        re.sub(r"[\s.]", "", m.group(0)) for m in rules.PHONE.finditer(text)
    ]
