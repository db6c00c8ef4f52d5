"""Realistic sample contexts of every kind of message: `Templates` renders each template with
them (and with sparse variants: no plan number, no recipient agency, no link …) when it loads,
so that a bad template never reaches send time; `nhacviec preview` and the tests use them too."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import date
from typing import Any

from scheduler.plan.kinds import OccurrenceKind, ReminderKind

DIGEST = ReminderKind.DIGEST

_PLAN = {
    "id": "tth-2020-bdg",
    "number": "72/KH-UBND",
    "title": "Kế hoạch thực hiện công tác bình đẳng giới và vì sự tiến bộ của phụ nữ tỉnh năm 2020",
    "issuer": "UBND tỉnh Thừa Thiên Huế",
}
_SO_LDTBXH = "Sở Lao động - Thương binh và Xã hội tỉnh Thừa Thiên Huế"

SAMPLE_CONTEXT: dict[str, Any] = {
    "kind": "upcoming",
    "plan": _PLAN,
    "item": {"id": "bao-cao-nam", "title": "Báo cáo kết quả thực hiện 01 năm", "kind": "deadline"},
    "start": date(2026, 12, 10),
    "end": date(2026, 12, 10),
    "effective_due": date(2026, 12, 10),
    "days_left": 7,
    "agency": {"id": "tth-ubnd-h-a-luoi", "name": "UBND huyện A Lưới"},
    "contact": {"name": "Phòng LĐTBXH huyện", "role": "focal"},
    "to_agency": "Ủy ban nhân dân tỉnh Thừa Thiên Huế",
    "via_agency": _SO_LDTBXH,
    "focal_agency": _SO_LDTBXH,
    "confirm_url": "https://nhacviec.hue.gov.vn/xac-nhan/k7Qm2ZpX",
    "calendar_url": "https://nhacviec.hue.gov.vn/lich/WzEsIm1hdSJd.mau.ics",
    "today": date(2026, 12, 3),
    "data_period": None,
}

_WINDOW = {
    "item": {
        "id": "thang-hanh-dong-bdg",
        "title": "Tháng hành động vì bình đẳng giới và phòng chống bạo lực trên cơ sở giới",
        "kind": "window",
    },
    "start": date(2026, 11, 15),
    "end": date(2026, 12, 15),
    "effective_due": date(2026, 11, 15),
    "to_agency": None,
    "via_agency": None,
    "confirm_url": None,
}

_KIND_CHANGES: dict[str, dict[str, Any]] = {
    "upcoming": {},
    "due": {"today": date(2026, 12, 10), "days_left": 0},
    "overdue": {"today": date(2026, 12, 11), "days_left": -1},
    "escalation": {
        "today": date(2026, 12, 15),
        "days_left": -5,
        "contact": {"name": "Chủ tịch UBND huyện", "role": "leader"},
    },
    "prepare": {**_WINDOW, "today": date(2026, 11, 6), "days_left": 9},
    "start": {**_WINDOW, "today": date(2026, 11, 13), "days_left": 2},
    "closing": {**_WINDOW, "today": date(2026, 12, 11), "days_left": -26},
    "announce": {
        "item": {
            "id": "ngay-25-11",
            "title": "Ngày Quốc tế xóa bỏ bạo lực đối với phụ nữ",
            "kind": "observance",
        },
        "start": date(2026, 11, 25),
        "end": date(2026, 11, 25),
        "effective_due": date(2026, 11, 25),
        "today": date(2026, 11, 18),
        "days_left": 7,
        "to_agency": None,
        "via_agency": None,
        "confirm_url": None,
    },
}

SAMPLE_CONTEXTS: dict[str, dict[str, Any]] = {
    kind: {**SAMPLE_CONTEXT, "kind": kind, **changes} for kind, changes in _KIND_CHANGES.items()
}

_YEARLY = "Báo cáo kết quả thực hiện 01 năm"
_CONSOLIDATED = "Tổng hợp, báo cáo UBND tỉnh kết quả thực hiện Kế hoạch"
_QUARTER = "Báo cáo chuyên đề phòng chống bạo lực gia đình"
_LABELS = {
    "on_time": "Đã báo cáo đúng hạn", "late": "Đã báo cáo muộn", "waived": "Được miễn",
    "ended": "Đơn vị đã giải thể / sáp nhập", "untracked": "Không theo dõi", "overdue": "Quá hạn",
    "due_soon": "Sắp đến hạn", "open": "Trong hạn",
}  # fmt: skip
_ORDER = ("overdue", "due_soon", "open", "extended", "late", "on_time", "waived", "ended", "untracked")


def _row(agency: str, item: str, start: date, status: str, **more: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "agency": agency, "item": item, "start": start, "effective_due": start, "status": status,
        "label": _LABELS.get(status, ""), "confirmed_by": None, "confirmed_at": None, "failures": [], "note": None,
    }  # fmt: skip
    row.update(more)
    return row


def digest_sample(base: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A digest context made of `rows`: its deadlines (grouped as `digest_context` groups them)
    and its counts, so that a sample cannot contradict itself."""
    groups: dict[tuple[date, str], list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["start"], row["item"]), []).append(row)

    def counted(members: list[dict[str, Any]]) -> dict[str, int]:
        counts = {code: sum(1 for r in members if r["status"] == code) for code in _ORDER}
        counts["reported"] = counts["on_time"] + counts["late"]
        counts["expected"] = len(members) - counts["waived"] - counts["ended"] - counts["untracked"]
        return counts

    deadlines = []
    for (start, item), members in sorted(groups.items()):
        members = sorted(members, key=lambda r: (_ORDER.index(r["status"]), r["agency"]))
        counts = counted(members)
        deadlines.append(
            {
                "item": item, "start": start, "effective_due": members[0]["effective_due"],
                "reported": counts["reported"], "expected": counts["expected"],
                "progress": f"{counts['reported']}/{counts['expected']} đã báo cáo", "counts": counts,
                "late": [r["agency"] for r in members if r["status"] == "overdue"], "rows": members,
            }
        )  # fmt: skip
    return {**base, "deadlines": deadlines, "rows": rows, "counts": counted(rows)}


_SATURDAY = date(2026, 12, 19)  # a deadline on a day off: due Monday 21/12/2026
SAMPLE_DIGEST: dict[str, Any] = digest_sample(
    {
        "plan": _PLAN,
        "focal_agency": _SO_LDTBXH,
        "today": date(2026, 12, 11),
        "board_url": "https://nhacviec.hue.example.org/ke-hoach/hue-2026-bdg?xem=InNhbXBsZSI.Z1k9QA.mau",
        "calendar_url": "https://nhacviec.hue.example.org/lich/WzIsIm1hdSJd.mau.ics",
        "alerts": [
            "zalo: token làm mới đã 82 ngày (hết hạn sau khoảng 3 tháng); chạy `nhacviec zalo authorize` để cấp lại"
        ],
    },
    [
        _row("Sở Y tế", _YEARLY, date(2026, 12, 10), "on_time",
             confirmed_by="Nguyễn Thị Hoa", confirmed_at="09:15 08/12/2026"),
        _row("UBND thị xã Hương Thủy", _YEARLY, date(2026, 12, 10), "on_time",
             confirmed_by="Trần Văn Minh", confirmed_at="16:40 10/12/2026"),
        _row("UBND thành phố Huế", _YEARLY, date(2026, 12, 10), "late",
             confirmed_by="Lê Văn Nam", confirmed_at="08:30 11/12/2026"),
        _row("UBND huyện A Lưới", _YEARLY, date(2026, 12, 10), "overdue",
             failures=["sms +84900000208: thuê bao không liên lạc được"]),
        _row("Sở Tài chính", _YEARLY, date(2026, 12, 10), "overdue"),
        _row("UBND huyện Nam Đông", _YEARLY, date(2026, 12, 10), "extended",
             label="Gia hạn đến 18/12/2026", effective_due=date(2026, 12, 18)),
        _row("UBND huyện Phong Điền", _YEARLY, date(2026, 12, 10), "waived"),
        _row(_SO_LDTBXH, _CONSOLIDATED, date(2026, 12, 15), "due_soon",
             failures=["email giamdoc@ldtbxh.tth.example.org: 550 hộp thư không tồn tại"]),
        _row("UBND huyện A Lưới", _QUARTER, _SATURDAY, "open", effective_due=date(2026, 12, 21)),
        _row("UBND thị xã Hương Thủy", _QUARTER, _SATURDAY, "open", effective_due=date(2026, 12, 21)),
        _row("UBND huyện Phú Lộc", _QUARTER, _SATURDAY, "ended", effective_due=date(2026, 12, 21),
             note="từ sau 30/06/2025; nay là UBND thị xã Phú Lộc"),
    ],
)  # fmt: skip


def sample_context(kind: str = "upcoming") -> dict[str, Any]:
    """A fresh copy of the sample context for `kind` (the digest's for "digest")."""
    if kind == DIGEST:
        return copy.deepcopy(SAMPLE_DIGEST)
    if kind not in SAMPLE_CONTEXTS:
        raise ValueError(f"loại nhắc việc không hợp lệ: {kind!r}")
    return copy.deepcopy(SAMPLE_CONTEXTS[kind])


def variants(kind: str) -> Iterator[dict[str, Any]]:
    """The sample for `kind`, a sparse one (None wherever the contract allows it), a rich one."""
    base = sample_context(kind)
    yield base
    if kind == DIGEST:
        yield digest_sample(
            {
                **base,
                "plan": {**base["plan"], "number": None, "issuer": ""},
                "alerts": [],
                "board_url": None,
                "calendar_url": None,
            },
            [],
        )
        return
    yield {
        **base,
        "plan": {**base["plan"], "number": None, "issuer": ""},
        "contact": {**base["contact"], "name": ""},
        "to_agency": None,
        "via_agency": None,
        "focal_agency": "",
        "confirm_url": None,
        "calendar_url": None,
    }
    rich = {**base, "via_agency": None, "to_agency": _SO_LDTBXH, "confirm_url": SAMPLE_CONTEXT["confirm_url"]}
    if base["item"]["kind"] == OccurrenceKind.DEADLINE:
        # 10/10/2026 is a Saturday: the deadline moves to Monday 12/10/2026.
        start = date(2026, 10, 10)
        rich.update(
            start=start,
            end=start,
            effective_due=date(2026, 10, 12),
            today=date.fromordinal(start.toordinal() - base["days_left"]),
            data_period={"start": date(2026, 6, 15), "end": date(2026, 9, 14), "name": "quý III/2026"},
        )
        rich["item"] = {
            **base["item"],
            "title": f"{base['item']['title']} quý III/2026",
        }  # a Decree 09 quarter
    yield rich
