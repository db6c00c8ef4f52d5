"""Which configured agency or group a role of the document names ("UBND tỉnh", "các sở, ngành").

Names are compared without diacritics, case or punctuation, with the usual abbreviations spelt
out (UBND, LĐTBXH, LHPN …) and the words that only say "all of them" dropped ("các", "có liên
quan"). A name's score is the mean of two measures: how far the two names share their words
(F1 of the word sets) and how alike they are as strings (difflib's ratio, which forgives a typo).
An agency whose name holds the document's own place ("Lâm Thao" in a plan of UBND huyện Lâm
Thao) gets a small bonus, so that "UBND huyện" is that district rather than another. The
proposal fills in the best match above `PROPOSE_AT` for a person to confirm, and lists the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

from pydantic import ValidationError

from notifiers.text import unaccent
from scheduler.config.schema import AgenciesFile, AgencySpec
from scheduler.config.yamlfile import ConfigInvalid, read_yaml

PROPOSE_AT = 0.6  # the best match is filled in from this score on; below, only listed
LIST_FROM = 0.3  # candidates below this are not worth showing
PLACE_BONUS = 0.1
GROUP_BONUS = 0.1  # "UBND cấp xã", "các sở": many agencies, which a group stands for
_PLURAL = re.compile(r"\b(?:các|cấp|những)\b", re.IGNORECASE)

_ABBREVIATIONS = {
    "ubnd": "uy ban nhan dan",
    "hdnd": "hoi dong nhan dan",
    "ldtbxh": "lao dong thuong binh va xa hoi",
    "lhpn": "lien hiep phu nu",
    "mttq": "mat tran to quoc",
    "vhttdl": "van hoa the thao va du lich",
    "vhtt": "van hoa va thong tin",
    "gddt": "giao duc va dao tao",
    "khdt": "ke hoach va dau tu",
    "tttt": "thong tin va truyen thong",
    "tnmt": "tai nguyen va moi truong",
    "nnptnt": "nong nghiep va phat trien nong thon",
    "tp": "thanh pho",
    "tx": "thi xa",
}
# Words that say "every one of them", not which: "các sở, ngành có liên quan", "Thủ trưởng các …".
_FILLER = re.compile(r"\b(?:cac|co lien quan|lien quan|thu truong|cua|tren dia ban)\b")


@dataclass(frozen=True)
class Known:
    """A configured agency or group, with the names it goes by."""

    id: str
    names: tuple[str, ...]  # name, short name
    group: bool


@dataclass(frozen=True)
class Candidate:
    id: str
    name: str
    score: float
    group: bool


def normalise(text: str) -> str:
    """`Sở LĐTBXH` → `so lao dong thuong binh va xa hoi`; `GD&ĐT` → `giao duc va dao tao`."""
    text = unaccent(text).lower().replace("&", "")
    words = [_ABBREVIATIONS.get(w, w) for w in re.findall(r"[a-z0-9]+", text)]
    return " ".join(_FILLER.sub(" ", " ".join(words)).split())


def _score(role: str, name: str) -> float:
    if not role or not name:
        return 0.0
    ours, theirs = set(role.split()), set(name.split())
    shared = len(ours & theirs)
    f1 = 2 * shared / (len(ours) + len(theirs))
    return (f1 + SequenceMatcher(None, role, name).ratio()) / 2


def candidates(
    text: str, known: list[Known], places: tuple[str, ...] = (), agencies_only: bool = False
) -> list[Candidate]:
    """The configured agencies and groups `text` may name, best first, each with its score (0–1)."""
    role = normalise(text)
    near = [normalise(p) for p in places if normalise(p) and normalise(p) not in role]
    plural = bool(_PLURAL.search(text))
    found = []
    for entry in known:
        if agencies_only and entry.group:
            continue
        names = [normalise(n) for n in entry.names]
        score = max(_score(role, n) for n in names)
        if near and any(p in n for p in near for n in names):
            score += PLACE_BONUS
        if plural and entry.group:
            score += GROUP_BONUS
        if score >= LIST_FROM:
            found.append(Candidate(entry.id, entry.names[0], round(min(score, 1.0), 2), entry.group))
    return sorted(found, key=lambda c: (-c.score, c.id))


def known_agencies(config_dir: Path) -> tuple[list[Known], list[str]]:
    """The agencies and groups of `config_dir/agencies/*.yaml`, and notes on what could not be read.

    Lenient on purpose: a file or an entry with an error is skipped (`nhacviec check` reports it),
    so an import still gets the candidates the rest of the configuration offers."""
    known: list[Known] = []
    notes: list[str] = []
    for file in sorted((Path(config_dir) / "agencies").glob("*.yaml")):
        try:
            parsed = AgenciesFile.model_validate(read_yaml(file).data)
        except (ConfigInvalid, ValidationError, OSError):
            notes.append(f"{file}: không đọc được, bỏ qua khi gợi ý đơn vị (xem nhacviec check)")
            continue
        known += [Known(g.id, (g.name,), True) for g in parsed.groups]
        for raw in parsed.agencies:
            try:
                agency = AgencySpec.model_validate(raw)
            except ValidationError:
                continue
            names = (agency.name, agency.short_name) if agency.short_name else (agency.name,)
            known.append(Known(agency.id, names, False))
    return known, notes
