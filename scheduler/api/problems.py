"""Errors of the API as RFC 9457 problem details (`application/problem+json`), in Vietnamese.

Every error the API answers goes through here: its own refusals (`Problem`), FastAPI's
validation errors, unknown paths and methods under /api/v1, and unexpected failures (500,
which names no internals)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://nhacviec.invalid/problems/"  # names a kind of problem; nothing is served there
log = logging.getLogger(__name__)

TITLES = {
    400: "Yêu cầu không hợp lệ",
    401: "Chưa xác thực",
    403: "Không có quyền",
    404: "Không tìm thấy",
    405: "Phương thức không được hỗ trợ",
    409: "Xung đột",
    413: "Nội dung quá lớn",
    415: "Kiểu nội dung không được hỗ trợ",
    422: "Dữ liệu không hợp lệ",
    429: "Quá nhiều yêu cầu",
    500: "Lỗi máy chủ",
}
KINDS = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    413: "too-large",
    415: "unsupported-media-type",
    422: "invalid",
    429: "too-many-requests",
    500: "server-error",
}


class ProblemBody(BaseModel):
    """Chi tiết lỗi theo RFC 9457."""

    type: str = Field(description="URI định danh loại lỗi.")
    title: str = Field(description="Tên loại lỗi, bằng tiếng Việt.")
    status: int = Field(description="Mã trạng thái HTTP.")
    detail: str = Field(description="Giải thích lỗi và cách khắc phục, bằng tiếng Việt.")
    instance: str = Field(description="Đường dẫn của yêu cầu gặp lỗi.")
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="Với lỗi 422: từng trường sai, vị trí và lý do."
    )


class Problem(Exception):
    """A refusal of the API: its status, its detail (Vietnamese) and any headers."""

    def __init__(
        self,
        status: int,
        detail: str,
        headers: dict[str, str] | None = None,
        kind: str | None = None,
        errors: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}
        self.kind, self.errors = kind, errors


def problem_response(
    request: Request,
    status: int,
    detail: str,
    headers: dict[str, str] | None = None,
    kind: str | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": TYPE_BASE + (kind or KINDS.get(status, "error")),
        "title": TITLES.get(status, "Lỗi"),
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers, media_type=MEDIA_TYPE)


LOCATIONS = {"query": "tham số truy vấn", "path": "đường dẫn", "body": "nội dung", "header": "tiêu đề"}


def _field_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    found = []
    for item in error.errors():
        where = [str(part) for part in item.get("loc", ())]
        place = LOCATIONS.get(where[0], where[0]) if where else ""
        name = ".".join(where[1:]) or place
        found.append({"location": place, "field": name, "reason": _reason(item)})
    return found


def _reason(item: dict[str, Any]) -> str:
    kind = str(item.get("type", ""))
    ctx = item.get("ctx") or {}
    if kind == "missing":
        return "thiếu giá trị bắt buộc"
    if kind.startswith("int") or kind == "int_parsing":
        return "cần một số nguyên"
    if kind in ("greater_than_equal", "greater_than"):
        return f"cần lớn hơn hoặc bằng {ctx.get('ge', ctx.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"cần nhỏ hơn hoặc bằng {ctx.get('le', ctx.get('lt'))}"
    if kind.startswith("date"):
        return "cần một ngày dạng yyyy-mm-dd, ví dụ 2026-12-08"
    if kind == "enum" or kind == "literal_error":
        return f"giá trị không hợp lệ; cho phép: {ctx.get('expected', '')}"
    if kind.startswith("string_too_long"):
        return f"dài quá {ctx.get('max_length')} ký tự"
    if kind.startswith("string_too_short"):
        return f"cần ít nhất {ctx.get('min_length')} ký tự"
    if kind in ("string_type", "model_type", "dict_type", "model_attributes_type"):
        return "sai kiểu dữ liệu"
    if kind == "json_invalid":
        return "nội dung không phải JSON hợp lệ"
    if kind == "extra_forbidden":
        return "trường không được biết đến"
    return "giá trị không hợp lệ"


def install(app: FastAPI) -> None:
    """Answer every error of `app` as a problem."""

    async def own(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, Problem)
        return problem_response(request, exc.status, exc.detail, exc.headers, exc.kind, exc.errors)

    async def invalid(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = _field_errors(exc)
        where = "; ".join(f"{e['field']} ({e['location']}): {e['reason']}" for e in errors[:5])
        return problem_response(
            request,
            422,
            f"Yêu cầu có giá trị không hợp lệ: {where}. Vui lòng sửa rồi gửi lại.",
            errors=errors,
        )

    async def http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        status = exc.status_code
        detail = {
            404: "Không có tài nguyên này trong API. Xem danh sách thao tác tại /api/v1/openapi.json.",
            405: "Phương thức HTTP này không dùng được với đường dẫn này. Xem /api/v1/openapi.json.",
        }.get(status, TITLES.get(status, "Lỗi") + ".")
        return problem_response(request, status, detail, dict(exc.headers or {}))

    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("API error on %s %s", request.method, request.url.path)
        return problem_response(
            request, 500, "Máy chủ gặp lỗi khi xử lý yêu cầu. Vui lòng thử lại sau hoặc báo quản trị viên."
        )

    app.add_exception_handler(Problem, own)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http)
    app.add_exception_handler(Exception, unexpected)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The documented error responses of an operation."""
    described = {
        400: "Yêu cầu không hợp lệ.",
        413: "Nội dung yêu cầu quá lớn (tối đa 16 KB).",
        401: "Thiếu token, token sai, đã thu hồi, hoặc người dùng của token đã bị khóa.",
        403: "Token không đủ phạm vi (read/write) hoặc vai trò không được thao tác.",
        404: "Không có, hoặc người dùng của token không được xem.",
        409: "Xung đột với trạng thái hiện tại.",
        422: "Tham số hoặc nội dung không hợp lệ.",
        429: "Quá nhiều yêu cầu; thử lại sau số giây trong Retry-After.",
        500: "Lỗi máy chủ.",
    }
    return {
        status: {"model": ProblemBody, "description": described[status], "content": {MEDIA_TYPE: {}}}
        for status in statuses
    }
