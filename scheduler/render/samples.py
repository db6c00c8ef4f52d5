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

SAMPLE_DIGEST: dict[str, Any] = {
    "plan": _PLAN,
    "focal_agency": _SO_LDTBXH,
    "today": date(2026, 12, 11),
    "rows": [
        {
            "agency": "Sở Y tế",
            "item": "Báo cáo kết quả thực hiện 01 năm",
            "start": date(2026, 12, 10),
            "status": "confirmed",
            "confirmed_by": "Nguyễn Thị Hoa",
            "confirmed_at": "09:15 08/12/2026",
            "failures": [],
        },
        {
            "agency": "UBND thị xã Hương Thủy",
            "item": "Báo cáo kết quả thực hiện 01 năm",
            "start": date(2026, 12, 10),
            "status": "confirmed",
            "confirmed_by": "Trần Văn Minh",
            "confirmed_at": "16:40 10/12/2026",
            "failures": [],
        },
        {
            "agency": "UBND huyện A Lưới",
            "item": "Báo cáo kết quả thực hiện 01 năm",
            "start": date(2026, 12, 10),
            "status": "overdue",
            "confirmed_by": None,
            "confirmed_at": None,
            "failures": ["sms +84900000208: thuê bao không liên lạc được"],
        },
        {
            "agency": "Sở Tài chính",
            "item": "Báo cáo kết quả thực hiện 01 năm",
            "start": date(2026, 12, 10),
            "status": "overdue",
            "confirmed_by": None,
            "confirmed_at": None,
            "failures": [],
        },
        {
            "agency": _SO_LDTBXH,
            "item": "Tổng hợp, báo cáo UBND tỉnh kết quả thực hiện Kế hoạch",
            "start": date(2026, 12, 15),
            "status": "open",
            "confirmed_by": None,
            "confirmed_at": None,
            "failures": ["email giamdoc@ldtbxh.tth.example.org: 550 hộp thư không tồn tại"],
        },
    ],
    "counts": {"confirmed": 2, "overdue": 2, "open": 1},
    "alerts": [
        "zalo: token làm mới đã 82 ngày (hết hạn sau khoảng 3 tháng); chạy `nhacviec zalo authorize` để cấp lại"
    ],
}


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
        yield {
            **base,
            "plan": {**base["plan"], "number": None, "issuer": ""},
            "rows": [],
            "counts": {"confirmed": 0, "overdue": 0, "open": 0},
            "alerts": [],
        }
        return
    yield {
        **base,
        "plan": {**base["plan"], "number": None, "issuer": ""},
        "contact": {**base["contact"], "name": ""},
        "to_agency": None,
        "via_agency": None,
        "focal_agency": "",
        "confirm_url": None,
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
