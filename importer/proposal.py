"""Write what `importer.extract` found as a plan file, in the schema of hand-written plans.

The file is a proposal for a person: every item quotes its source sentence and says how
sure the reading was; the agencies the document names by role are listed under `roles`
with no agencies mapped yet, and doubtful items carry `review:`. `nhacviec check`
refuses the plan until both are resolved (scheduler/loader.py).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date

from importer import rules
from importer.extract import Deadline, Findings, Observance, Window

UNKNOWN_FOCAL = "(cơ quan tổng hợp: văn bản không nêu rõ)"


@dataclass
class _Roles:
    """One role id per agency named in the document, however it is spelled."""

    ids: dict[str, str] = field(default_factory=dict)  # role id -> text as first written

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


def plan_yaml(found: Findings, plan_id: str, source_name: str, today: date) -> str:
    """The plan file's text."""
    roles = _Roles()
    focal = roles.of(found.focal or UNKNOWN_FOCAL)
    who = [roles.of(t) for d in found.deadlines for t in d.who]
    participants = list(dict.fromkeys(who)) or [roles.of(t) for t in found.agencies]
    ids = _Ids()
    deadline_ids: dict[int, str] = {}
    obligations: list[str] = []
    for deadline in found.deadlines:
        obligations.extend(_obligation(deadline, roles, ids, deadline_ids))
    windows = [_window(w, ids, found.year or today.year) for w in found.windows]
    observances = [_observance(o, ids) for o in found.observances]

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
    lines += [f"year: {found.year}", f"source_document: {_q(source_name)}", f"focal_agency: {focal}"]
    lines.append(f"participants: [{', '.join(participants)}]")
    lines += ["", *_roles_block(roles, found)]
    for name, items in (("obligations", obligations), ("windows", windows), ("observances", observances)):
        if items:
            lines += ["", f"{name}:", *items]
    if found.contacts:
        lines += ["", "# Liên hệ ghi trong văn bản (thêm vào config/agencies/ nếu là đầu mối):"]
        lines += [f"#   {_c(c)}" for c in found.contacts]
    return "\n".join(lines) + "\n"


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


def _roles_block(roles: _Roles, found: Findings) -> list[str]:
    lines = ["# Vai trò văn bản nêu tên; ghi mã đơn vị/nhóm vào agencies.", "roles:"]
    for role_id, text in roles.ids.items():
        lines += [f"  {role_id}:", f"    text: {_q(text)}", "    agencies: []"]
    headings = [a for a in found.agencies if not any(rules.same_agency(a, t) for t in roles.ids.values())]
    if headings:
        lines.append("# Các đơn vị khác nêu ở mục Tổ chức thực hiện (thêm vào roles nếu cần nhắc):")
        lines += [f"#   - {_c(a)}" for a in headings]
    return lines


def _obligation(deadline: Deadline, roles: _Roles, ids: _Ids, known: dict[int, str]) -> list[str]:
    if deadline.recurrence == "quarterly" and deadline.day is not None:
        lines: list[str] = []
        for quarter, month in enumerate((3, 6, 9, 12), start=1):
            rule = f"yearly: {deadline.day:02d}/{month:02d}"
            lines += _obligation_lines(deadline, roles, ids, known, rule, f" quý {quarter}")
        return lines
    if deadline.recurrence == "monthly":
        rule = f"monthly: {deadline.day if deadline.day is not None else 'null'}"
    elif deadline.due is None:
        rule = "# văn bản không ghi ngày: thêm on, yearly hoặc monthly"
    elif deadline.recurrence == "yearly":
        rule = f"yearly: {deadline.due:%d/%m}"
    else:
        rule = f"on: {deadline.due:%d/%m/%Y}"
    return _obligation_lines(deadline, roles, ids, known, rule, "")


def _obligation_lines(
    deadline: Deadline, roles: _Roles, ids: _Ids, known: dict[int, str], rule: str, suffix: str
) -> list[str]:
    ident = ids.new(deadline.title + suffix)
    known.setdefault(id(deadline), ident)
    lines = [f"  - id: {ident}", f"    title: {_q(deadline.title + suffix)}", f"    {rule}"]
    if deadline.who:
        lines.append(f"    who: [{', '.join(roles.of(t) for t in deadline.who)}]")
    if deadline.to:
        lines.append(f"    to: {roles.of(deadline.to)}")
    if deadline.via:
        lines.append(f"    via: {roles.of(deadline.via)}")
    if deadline.after is not None and id(deadline.after) in known:
        lines.append(f"    after: {known[id(deadline.after)]}")
    return lines + _trace(deadline.confidence, deadline.source, deadline.where, deadline.review)


def _window(window: Window, ids: _Ids, year: int) -> str:
    yearly = window.named or any(m.pattern.search(window.title) for m in rules.ACTION_MONTHS)
    form = "%d/%m" if yearly and window.start.year == year else "%d/%m/%Y"
    lines = [
        f"  - id: {ids.new(window.title)}",
        f"    title: {_q(window.title)}",
        f"    start: {window.start.strftime(form)}",
        f"    end: {window.end.strftime(form)}",
    ]
    if window.named:
        lines.append(f"    note: {_q('văn bản nêu tên đợt mà không ghi ngày: ngày theo lệ hằng năm')}")
    return "\n".join(lines + _trace(window.confidence, window.source, window.where, []))


def _observance(observance: Observance, ids: _Ids) -> str:
    lines = [
        f"  - id: {ids.new(observance.title)}",
        f"    title: {_q(observance.title)}",
        f"    date: {observance.day:02d}/{observance.month:02d}",
    ]
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
