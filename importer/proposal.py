"""Write what `importer.extract` found as a plan file, in the schema of hand-written plans.

The file is a proposal for a person: every item quotes its source sentence and says how
sure the reading was; the agencies the document names by role are listed under `roles`
with no agencies mapped yet, and doubtful items carry `review:`. `nhacviec check`
refuses the plan until both are resolved (scheduler/config/loader.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date

from importer import rules
from importer.deadlines import Deadline
from importer.extract import Findings, Observance, Window
from importer.matching import PROPOSE_AT, Candidate, Known, candidates
from scheduler.config.schema import ObligationSpec

UNKNOWN_FOCAL = "(cơ quan tổng hợp: văn bản không nêu rõ)"


@dataclass
class _Roles:
    """One role id per agency named in the document, however it is spelled."""

    ids: dict[str, str] = field(default_factory=dict)  # role id -> text as first written
    single: set[str] = field(default_factory=set)  # roles that must stand for one agency (to, via, focal)

    def one(self, text: str) -> str:
        """The role of an agency named where exactly one is needed."""
        role_id = self.of(text)
        self.single.add(role_id)
        return role_id

    def of(self, text: str) -> str:
        for role_id, known in self.ids.items():
            if rules.same_agency(known, text):
                return role_id
        role_id = base = rules.slug(text, words=10)
        n = 2
        while role_id in self.ids:
            role_id, n = f"{base}-{n}", n + 1
        self.ids[role_id] = text
        return role_id


class _Ids:
    """Item ids unique within the plan, made from titles."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def new(self, title: str) -> str:
        ident = base = rules.slug(title, words=8)
        n = 2
        while ident in self.used:
            ident, n = f"{base}-{n}", n + 1
        self.used.add(ident)
        return ident


@dataclass(frozen=True)
class RoleMatch:
    """A role of the document and the configured agencies or groups it may name, best first."""

    id: str
    text: str
    candidates: list[Candidate]
    proposed: Candidate | None  # filled in for the officer to confirm


@dataclass(frozen=True)
class Proposal:
    text: str
    roles: list[RoleMatch]


def plan_yaml(found: Findings, plan_id: str, source_name: str, today: date) -> str:
    """The plan file's text, roles left for a person to map."""
    return propose(found, plan_id, source_name, today).text


def propose(
    found: Findings, plan_id: str, source_name: str, today: date, known: list[Known] | None = None
) -> Proposal:
    """The plan file's text, with each role matched against the `known` agencies and groups."""
    roles = _Roles()
    focal = roles.one(found.focal or UNKNOWN_FOCAL)
    who = [roles.of(t) for d in found.deadlines for t in d.who]
    participants = list(dict.fromkeys(who)) or [roles.of(t) for t in found.agencies]
    ids = _Ids()
    deadline_ids: dict[int, str] = {}
    obligations: list[str] = []
    life = _Life(found.year or today.year, found.yearless)
    for deadline in found.deadlines:
        obligations.extend(_obligation(deadline, roles, ids, deadline_ids, life))
    windows = [_window(w, ids, found.year or today.year, found.yearless) for w in found.windows]
    observances = [_observance(o, ids, found.yearless) for o in found.observances]

    lines = _header(found, source_name, today)
    lines += [f"id: {plan_id}"]
    if found.number and not found.number.startswith("/"):
        lines.append(f"number: {_q(found.number)}")
    lines.append(f"title: {_q(found.title or plan_id)}")
    lines.append(f"issuer: {_q(found.issuer or 'chưa rõ (văn bản không nêu)')}")
    if found.issued:
        lines.append(f"issued: {found.issued:%d/%m/%Y}")
    if found.place:
        lines.append(f"place: {_q(found.place)}")
    if found.yearless:
        lines.append(
            f"# Văn bản không ghi năm: các hạn lặp lại từ năm {found.year} (năm nhập), không có năm kết thúc."
        )
    lines += [f"year: {found.year}", f"source_document: {_q(source_name)}", f"focal_agency: {focal}"]
    lines.append(f"participants: [{', '.join(participants)}]")
    matches = _matches(roles, found, known)
    lines += ["", *_roles_block(roles, found, matches)]
    for name, items in (("obligations", obligations), ("windows", windows), ("observances", observances)):
        if items:
            lines += ["", f"{name}:", *items]
    if found.contacts:
        lines += ["", "# Liên hệ ghi trong văn bản (thêm vào config/agencies/ nếu là đầu mối):"]
        lines += [f"#   {_c(c)}" for c in found.contacts]
    return Proposal("\n".join(lines) + "\n", matches)


def _matches(roles: _Roles, found: Findings, known: list[Known] | None) -> list[RoleMatch]:
    places = tuple(p for p in (found.place, _place_of(found.issuer)) if p)
    matches = []
    for role_id, text in roles.ids.items():
        found_here = candidates(text, known, places, role_id in roles.single) if known else []
        best = found_here[0] if found_here and found_here[0].score >= PROPOSE_AT else None
        matches.append(RoleMatch(role_id, text, found_here[:4], best))
    return matches


def _place_of(issuer: str | None) -> str | None:
    """`UBND tỉnh Thừa Thiên Huế` → `Thừa Thiên Huế`."""
    m = re.search(r"\b(?:tỉnh|thành phố|huyện|thị xã|quận|xã|phường|thị trấn)\s+(\S.*)$", issuer or "")
    return m[1] if m else None


def _header(found: Findings, source_name: str, today: date) -> list[str]:
    lines = [
        f"# Đề xuất của `nhacviec import` từ {_c(source_name)}, ngày {today:%d/%m/%Y}. Cần người xem lại:",
        "#  1. gắn mỗi vai trò trong `roles` với mã đơn vị hoặc nhóm trong config/agencies/ (agencies: [...]);",
        "#  2. đối chiếu từng mục với câu gốc (`source`), sửa mục có `review` rồi xóa dòng review.",
        "# `nhacviec check` báo lỗi cho đến khi xong cả hai việc.",
    ]
    if found.number and found.number.startswith("/"):
        lines.append(f"# Văn bản chưa ghi số ({_c(found.number)}): thêm `number:` khi có số chính thức.")
    lines += [f"# Lưu ý: {_c(note)}" for note in found.notes]
    return lines


def _roles_block(roles: _Roles, found: Findings, matches: list[RoleMatch]) -> list[str]:
    lines = [
        "# Vai trò văn bản nêu tên; ghi mã đơn vị/nhóm vào agencies. Mã gợi ý theo tên gần nhất",
        "# (độ tương đồng 0–1): xác nhận, hoặc thay bằng một gợi ý khác, rồi xóa dòng review.",
        "roles:",
    ]
    for match in matches:
        lines += [f"  {match.id}:", f"    text: {_q(match.text)}"]
        if match.proposed is None:
            lines.append("    agencies: []")
        else:
            best = match.proposed
            lines.append(f"    agencies: [{best.id}]  # {_c(best.name)} ({best.score:.2f})")
            lines.append(f"    review: {_q(_review(match))}")
        others = [c for c in match.candidates if c is not match.proposed]
        if others:
            listed = "; ".join(f"{c.id} «{c.name}» {c.score:.2f}" for c in others)
            lines.append(f"    # {'gợi ý khác' if match.proposed else 'gợi ý'}: {_c(listed)}")
    headings = [a for a in found.agencies if not any(rules.same_agency(a, t) for t in roles.ids.values())]
    if headings:
        lines.append("# Các đơn vị khác nêu ở mục Tổ chức thực hiện (thêm vào roles nếu cần nhắc):")
        lines += [f"#   - {_c(a)}" for a in headings]
    return lines


# Whether plan items say `recurring: true` (a yearly rule that goes on past the plan's year).
_RECURRING_FIELD = "recurring" in ObligationSpec.model_fields


@dataclass
class _Life:
    """How long the document's recurring rules last: its year, unless it says "hằng năm" or has no year."""

    year: int
    yearless: bool

    def lines(self, deadline: Deadline) -> list[str]:
        if self.yearless or deadline.every_year:
            return ["    recurring: true"] if _RECURRING_FIELD else []
        return [f"    until: {self.year}"]


def _review(match: RoleMatch) -> str:
    best = match.proposed
    assert best is not None
    what = "nhóm" if best.group else "đơn vị"
    text = f"gắn theo tên gần nhất: {what} «{best.name}» (độ tương đồng {best.score:.2f})"
    close = [c for c in match.candidates if c is not best and best.score - c.score < 0.1]
    if close:
        text += "; gần bằng: " + ", ".join(f"{c.id} ({c.score:.2f})" for c in close)
    return text + "; xác nhận hoặc chọn gợi ý khác"


def _obligation(
    deadline: Deadline, roles: _Roles, ids: _Ids, known: dict[int, str], life: _Life
) -> list[str]:
    if deadline.regime:
        return _obligation_lines(
            deadline, roles, ids, known, _regime_rule(deadline), "", life.lines(deadline)
        )
    if deadline.recurrence == "quarterly" and deadline.day is not None:  # due before the decree's cut-off
        lines: list[str] = []
        for quarter, month in enumerate((3, 6, 9, 12), start=1):
            rule = f"yearly: {deadline.day:02d}/{month:02d}"
            lines += _obligation_lines(
                deadline, roles, ids, known, rule, f" quý {quarter}", life.lines(deadline)
            )
        return lines
    if deadline.recurrence == "monthly":
        rule = f"monthly: {deadline.day if deadline.day is not None else 'null'}"
    elif deadline.due is None:
        rule = "# văn bản không ghi ngày: thêm on, yearly hoặc monthly"
    elif deadline.recurrence == "yearly":
        return _obligation_lines(
            deadline, roles, ids, known, f"yearly: {deadline.due:%d/%m}", "", life.lines(deadline)
        )
    else:
        rule = f"on: {deadline.due:%d/%m/%Y}"
    return _obligation_lines(deadline, roles, ids, known, rule, "", [])


def _regime_rule(deadline: Deadline) -> str:
    """`period: [half-year, annual]` and `due:` (scheduler/calendar/periods.py)."""
    kinds = deadline.regime
    period = kinds[0] if len(kinds) == 1 else f"[{', '.join(kinds)}]"
    if deadline.day is None:
        due = "null  # văn bản không ghi hạn: ghi ngày trong tháng cuối kỳ, ví dụ 15"
    elif deadline.focal_day is not None:
        due = f"{{units: {deadline.day}, focal: {deadline.focal_day}}}"
    else:
        due = str(deadline.day)
    return f"period: {period}  # Nghị định 09/2019/NĐ-CP\n    due: {due}"


def _obligation_lines(
    deadline: Deadline,
    roles: _Roles,
    ids: _Ids,
    known: dict[int, str],
    rule: str,
    suffix: str,
    life: list[str],
) -> list[str]:
    ident = ids.new(deadline.title + suffix)
    known.setdefault(id(deadline), ident)
    lines = [f"  - id: {ident}", f"    title: {_q(deadline.title + suffix)}", f"    {rule}", *life]
    review = list(deadline.review)
    if deadline.who:
        lines.append(f"    who: [{', '.join(roles.of(t) for t in deadline.who)}]")
    else:  # the schema needs `who`; empty, the plan's participants are reminded
        lines.append("    who: []")
        review.append(
            "văn bản không nêu đơn vị nộp: ghi who (mã đơn vị hoặc vai trò), "
            "hoặc để trống để nhắc mọi đơn vị tham gia (participants)"
        )
    if deadline.to:
        lines.append(f"    to: {roles.one(deadline.to)}")
    if deadline.via:
        lines.append(f"    via: {roles.one(deadline.via)}")
    if deadline.after is not None and id(deadline.after) in known:
        lines.append(f"    after: {known[id(deadline.after)]}")
    return lines + _trace(deadline.confidence, deadline.source, deadline.where, review)


def _window(window: Window, ids: _Ids, year: int, yearless: bool) -> str:
    yearly = yearless or window.named or any(m.pattern.search(window.title) for m in rules.ACTION_MONTHS)
    form = "%d/%m" if yearly and window.start.year == year else "%d/%m/%Y"
    lines = [
        f"  - id: {ids.new(window.title)}",
        f"    title: {_q(window.title)}",
        f"    start: {window.start.strftime(form)}",
        f"    end: {window.end.strftime(form)}",
    ]
    if yearless and form == "%d/%m":  # a standing regime: every year, not only the import's
        lines.append("    recurring: true")
    if window.named:
        lines.append(f"    note: {_q('văn bản nêu tên đợt mà không ghi ngày: ngày theo lệ hằng năm')}")
    return "\n".join(lines + _trace(window.confidence, window.source, window.where, []))


def _observance(observance: Observance, ids: _Ids, yearless: bool) -> str:
    lines = [
        f"  - id: {ids.new(observance.title)}",
        f"    title: {_q(observance.title)}",
        f"    date: {observance.day:02d}/{observance.month:02d}",
    ]
    if yearless:
        lines.append("    recurring: true")
    return "\n".join(lines + _trace(observance.confidence, observance.source, observance.where, []))


def _trace(confidence: float, source: str, where: str, review: list[str]) -> list[str]:
    lines = [f"    confidence: {confidence:.2f}", f"    source: {_q(_quote(source))}  # {_c(where)}"]
    if review:
        lines.append(f"    review: {_q('; '.join(review))}")
    return lines


def _quote(sentence: str, limit: int = 400) -> str:
    return sentence if len(sentence) <= limit else sentence[: limit - 1].rstrip() + "…"


def _q(text: str) -> str:
    """A YAML scalar that reads back as exactly `text` (JSON strings are YAML, once the
    characters YAML forbids even in quotes are escaped too)."""
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m[0]):04x}", json.dumps(text, ensure_ascii=False))


def _c(text: str) -> str:
    """Text for a comment: one line, only characters YAML allows."""
    return _UNPRINTABLE.sub("", " ".join(text.split()))


_UNPRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
