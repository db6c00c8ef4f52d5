"""The document's own facts: number and symbol, place and issue date, issuer, title, year.

They sit in the first lines, often in a two-column table (issuer and number on the left,
the national motto and "Huế, ngày 10 tháng 02 năm 2020" on the right), and the preamble
says who issues the plan ("…, UBND tỉnh ban hành Kế hoạch … như sau:").
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from importer import rules


@dataclass
class Header:
    title: str | None = None
    number: str | None = None  # "164/KH-UBND"; the symbol alone ("/KH-UBND") when left blank
    issuer: str | None = None
    place: str | None = None
    issued: date | None = None
    year: int | None = None  # from the title; else the issue date's; else the commonest in the text
    notes: list[str] = field(default_factory=list)  # what a person must know, for the summary


def read_header(paragraphs: list[str]) -> Header:
    """The document's own facts, from its first lines (cells of a header table too)."""
    found = Header()
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
    else:
        found.year = _likely_year(paragraphs)
    return found


def _issued(m: re.Match[str], found: Header) -> date | None:
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
    """The commonest year of the dates in the text, leaving out the dates of the documents it
    cites ("Căn cứ Nghị định số 09/2019/NĐ-CP ngày 24/01/2019"): a standing regulation that names
    no year of its own has none."""
    years = Counter(
        d.year for p in paragraphs for d in rules.find_dates(p) if d.year and not _CITED.search(p[: d.start])
    )
    return years.most_common(1)[0][0] if years else None


# A date right after the number of a cited document is that document's date.
_CITED = re.compile(
    r"\b(?:Luật|Bộ luật|Nghị định|Quyết định|Thông tư|Chỉ thị|Nghị quyết|Kế hoạch|Công văn|Kết luận"
    r"|Hướng dẫn|Thông báo|Pháp lệnh)\b[^.;:]{0,60}?ngày\s*$",
    re.IGNORECASE,
)
