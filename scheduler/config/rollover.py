"""Next year's plan from this year's: `nhacviec plan rollover PLAN --year Y`.

Every year an office issues a new plan that mostly repeats the last one. Rolling a plan over
writes that new plan for a person to review, never applies it:

- the recurring items (yearly, monthly, Decree 09 `period`, action months and observances
  written as day/month) are kept: in a plan of year Y they fall in Y (scheduler/config/validity.py);
  an `until` before Y is dropped, `recurring: true` kept;
- the one-off items (`on: 25/03/2020`, a window with full dates) are moved to Y (29/02 to 28/02)
  and get a `review:` line, which `nhacviec check` refuses until a person removes it: the new
  document may drop the task or set another day;
- the plan gets `year: Y`, `valid_from: 01/01/Y`, `valid_until: 31/12/Y`, `replaces: <old id>`
  (the old plan's recurring items stop where the new one starts), a plan-level `review:` asking
  for the new document's number and date, and a header naming the plan and file it came from;
  the year in titles ("năm 2020") becomes Y; the number and issue date are left out.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from scheduler.calendar.dates import format_date, parse_date
from scheduler.config.schema import PlanSpec
from scheduler.config.yamlfile import ConfigInvalid, YamlDocument, read_yaml

# The plan's keys in the order hand-written plans use; keys not listed follow in the file's order.
_PLAN_ORDER = (
    "id", "title", "issuer", "place", "year", "valid_from", "valid_until", "replaces", "review",
    "source_document", "focal_agency", "policy", "roles", "participants",
    "obligations", "windows", "observances",
)  # fmt: skip
_DROPPED = ("number", "issued", "until")  # the old document's; the new one has its own


class PlanNotFound(Exception):
    """No plan file has that id (the message says which ids there are)."""


@dataclass(frozen=True)
class Rollover:
    plan_id: str  # the new plan's id
    source_id: str
    text: str  # the new plan file
    one_offs: int  # items moved to the new year and flagged for review


def find_plan(config_dir: Path, plan: str) -> Path:
    """The file of plan `plan`: a path to a plan file, or the id of a plan of `config/plans/`."""
    path = Path(plan)
    if path.suffix in (".yaml", ".yml") and path.is_file():
        return path
    plans_dir = Path(config_dir) / "plans"
    ids: list[str] = []
    for file in sorted(plans_dir.glob("*.yaml")):
        try:
            data = read_yaml(file).data
        except ConfigInvalid:
            continue
        if isinstance(data, dict) and isinstance(data.get("id"), str):
            if data["id"] == plan:
                return file
            ids.append(data["id"])
    known = ", ".join(ids) if ids else "chưa có kế hoạch nào"
    raise PlanNotFound(f"không có kế hoạch '{plan}' trong {plans_dir} (các kế hoạch: {known})")


def rollover(source: Path, year: int, today: date, new_id: str | None = None) -> Rollover:
    """The plan of `source` rolled over to `year`, as the text of a new plan file."""
    doc = read_yaml(source)
    plan = _validated(doc)
    if year <= plan.year:
        raise ConfigInvalid(
            [
                doc.error(
                    ("year",), f"kế hoạch là của năm {plan.year}: năm mới (--year) phải sau năm đó, có {year}"
                )
            ]
        )
    old = plan.year
    data: dict[str, Any] = dict(doc.data)
    target = new_id or _new_id(plan.id, old, year)
    reviews = [str(data["review"]).strip()] if data.get("review") else []
    reviews.append(
        f"kế hoạch năm {year} lập từ kế hoạch '{plan.id}' năm {old}: ghi số (number), ngày ban hành "
        f"(issued) và tên tệp văn bản (source_document) của kế hoạch mới; đối chiếu tiêu đề, cơ quan "
        "đầu mối và đơn vị thực hiện với văn bản mới"
    )
    data.update(
        id=target,
        title=_retitled(str(data["title"]), old, year),
        year=str(year),
        valid_from=f"01/01/{year}",
        valid_until=f"31/12/{year}",
        replaces=plan.id,
        review="; ".join(reviews),
    )
    one_offs = 0
    for section in ("obligations", "windows", "observances"):
        items = []
        for raw in data.get(section) or []:
            item, moved = _rolled_item(dict(raw), old, year)
            one_offs += moved
            items.append(item)
        if section in data:
            data[section] = items
    for key in _DROPPED:
        data.pop(key, None)
    ordered = {key: data[key] for key in _PLAN_ORDER if key in data}
    ordered |= {key: value for key, value in data.items() if key not in ordered}
    text = "\n".join([*_header(source, plan, year, today, doc), *_emit(ordered, 0)]) + "\n"
    return Rollover(target, plan.id, text, one_offs)


def _validated(doc: YamlDocument) -> PlanSpec:
    if not isinstance(doc.data, dict):
        raise ConfigInvalid([doc.error((), "cần một bảng 'khóa: giá trị' (tệp kế hoạch)")])
    try:
        return PlanSpec.model_validate(doc.data)
    except ValidationError as exc:
        errors = []
        for error in exc.errors():
            path = tuple(part for part in error["loc"] if isinstance(part, str | int))
            errors.append(doc.error(path, str(error["msg"])))
        raise ConfigInvalid(errors) from None


def _new_id(plan_id: str, old: int, year: int) -> str:
    """`tth-2020-bdg` → `tth-2027-bdg`; an id without its year gets `-2027`."""
    if re.search(rf"(?<!\d){old}(?!\d)", plan_id):
        return re.sub(rf"(?<!\d){old}(?!\d)", str(year), plan_id)
    return f"{plan_id}-{year}"


def _retitled(title: str, old: int, year: int) -> str:
    return re.sub(rf"(?<!\d){old}(?!\d)", str(year), title)


def _moved(day: date, old: int, year: int) -> date:
    """The same day and month, as many years later as the plan moves (29/02 → 28/02)."""
    target = day.year + (year - old)
    return date(target, day.month, min(day.day, 28 if day.month == 2 else 31))


def _rolled_item(item: dict[str, Any], old: int, year: int) -> tuple[dict[str, Any], int]:
    """The item for the new plan, and 1 if it was a one-off moved and flagged for review."""
    if "title" in item:
        item["title"] = _retitled(str(item["title"]), old, year)
    dated = [key for key in ("on", "start", "end") if _full_date(item.get(key)) is not None]
    if not dated:
        if (
            item.get("until") is not None
            and str(item["until"]).strip().isdigit()
            and int(item["until"]) < year
        ):
            item.pop("until")
        return item, 0
    was = {key: _full_date(item[key]) for key in dated}
    for key, day in was.items():
        assert day is not None
        item[key] = format_date(_moved(day, old, year))
    before = " – ".join(format_date(day) for day in was.values() if day is not None)
    after = " – ".join(str(item[key]) for key in dated)
    note = (
        f"mục một lần của kế hoạch năm {old} ({before}), đã chuyển sang {after}: kiểm tra kế hoạch năm "
        f"{year} còn việc này không và hạn ngày nào; sửa hoặc xóa mục rồi xóa dòng review"
    )
    item["review"] = f"{str(item['review']).strip()}; {note}" if item.get("review") else note
    return item, 1


def _full_date(value: Any) -> date | None:
    if not isinstance(value, str) or not re.search(r"\d{4}", value):
        return None
    try:
        return parse_date(value)
    except ValueError:
        return None


def _header(source: Path, plan: PlanSpec, year: int, today: date, doc: YamlDocument) -> list[str]:
    lines = [
        f"# Kế hoạch năm {year} lập bằng `nhacviec plan rollover` ngày {format_date(today)} từ {_c(str(source))}",
        f"# (kế hoạch '{plan.id}', năm {plan.year}), để người phụ trách xem lại:",
        f"#  - hạn lặp lại (yearly, monthly, period, đợt và ngày kỷ niệm ghi ngày/tháng) giữ nguyên, áp dụng năm {year};",
        f"#  - hạn một lần đã chuyển sang năm {year} và có dòng review: kiểm tra, sửa hoặc xóa mục, rồi xóa dòng review;",
        "#  - ghi số, ngày ban hành của kế hoạch mới rồi xóa dòng review của kế hoạch.",
        "# `nhacviec check` báo lỗi cho đến khi hết các dòng review. Câu trích (source) là của văn bản cũ.",
    ]
    original = _leading_comments(Path(doc.file))
    if original:
        lines.append(f"# Ghi chú đầu tệp {_c(Path(doc.file).name)}:")
        lines += [f"#   {line.lstrip('#').strip()}" for line in original]
    return lines


def _leading_comments(file: Path) -> list[str]:
    lines = []
    for line in file.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    return lines


# --- a small YAML writer: block mappings, flow lists of scalars, quoted text where needed ---------

_PLAIN = re.compile(r"[\w+][\w ./+\-–()&]*")  # no `,` `:` `#` `'`: quoted, in flow lists too
_NULLS = {"null", "Null", "NULL", "~", "true", "false", "True", "False", "yes", "no", "on", "off"}
_UNPRINTABLE = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    text = str(value)
    if _PLAIN.fullmatch(text) and text == text.strip() and text not in _NULLS and ": " not in text:
        return text
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m[0]):04x}", json.dumps(text, ensure_ascii=False))


def _flat(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _emit(value: dict[str, Any], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for key, item in value.items():
        if isinstance(item, dict) and item and all(_flat(v) for v in item.values()) and len(item) <= 3:
            pairs = ", ".join(f"{k}: {_scalar(v)}" for k, v in item.items())
            lines.append(f"{pad}{key}: {{{pairs}}}")
        elif isinstance(item, dict):
            lines.append(f"{pad}{key}:" if item else f"{pad}{key}: {{}}")
            lines += _emit(item, indent + 2)
        elif isinstance(item, list) and all(_flat(v) for v in item):
            lines.append(f"{pad}{key}: [{', '.join(_scalar(v) for v in item)}]")
        elif isinstance(item, list):
            if indent == 0:
                lines.append("")
            lines.append(f"{pad}{key}:")
            for element in item:
                body = (
                    _emit(element, indent + 4)
                    if isinstance(element, dict)
                    else [f"{pad}    {_scalar(element)}"]
                )
                lines.append(f"{pad}  - {body[0].lstrip()}")
                lines += body[1:]
                if indent == 0:
                    lines.append("")
            if indent == 0:
                lines.pop()
        else:
            lines.append(f"{pad}{key}: {_scalar(item)}")
    return lines


def _c(text: str) -> str:
    """Text for a comment: one line, only characters YAML allows."""
    return _UNPRINTABLE.sub("", " ".join(text.split()))
