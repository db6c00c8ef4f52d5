"""Pagination: `limit` and `offset`, the `next` link, and the reminders' opaque cursor."""

import base64
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Query, Request

from scheduler.api.problems import Problem

DEFAULT_LIMIT, MAX_LIMIT = 100, 500

CURSOR_PREFIX = "r1."


def make_cursor(reminder_id: int) -> str:
    """An opaque position in the reminders (after the one of `reminder_id`, newest first)."""
    return CURSOR_PREFIX + base64.urlsafe_b64encode(str(reminder_id).encode()).decode().rstrip("=")


def read_cursor(cursor: str) -> int:
    try:
        if not cursor.startswith(CURSOR_PREFIX):
            raise ValueError(cursor)
        text = cursor[len(CURSOR_PREFIX) :]
        value = int(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode("ascii"))
        if not 0 < value < 2**62:
            raise ValueError(cursor)
    except ValueError:
        raise Problem(
            422,
            "Tham số cursor không hợp lệ: hãy dùng đúng đường dẫn «next» của trang trước.",
            errors=[{"location": "tham số truy vấn", "field": "cursor", "reason": "giá trị không hợp lệ"}],
        ) from None
    return value


def page_of(request: Request, total: int, limit: int, offset: int) -> dict[str, Any]:
    following = None
    if offset + limit < total:
        query = {**dict(request.query_params), "offset": str(offset + limit), "limit": str(limit)}
        following = f"{request.url.path}?{urlencode(query)}"
    return {"total": total, "limit": limit, "offset": offset, "next": following}


Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Số mục tối đa một trang (1–500).")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="Bỏ qua bao nhiêu mục đầu.")]
