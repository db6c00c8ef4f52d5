"""The API's OpenAPI description: its Vietnamese texts, and what FastAPI does not write itself:
errors as `application/problem+json`, the links from the ids of an answer to the operations
that take them (schemathesis follows them in its stateful phase), the base path."""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from scheduler.api.problems import MEDIA_TYPE

DESCRIPTION = """API JSON của hệ thống nhắc hạn báo cáo (nhacviec).

Xác thực bằng token (`Authorization: Bearer <token>`), do quản trị viên tạo bằng lệnh
`nhacviec token create --name TÊN --scope read|write --user TÊN-ĐĂNG-NHẬP`. Token mang quyền của
người dùng: quản trị xem và thao tác mọi kế hoạch; cơ quan đầu mối chỉ các kế hoạch do đơn vị mình
làm đầu mối; người chỉ xem đọc mọi kế hoạch, không thao tác. Phạm vi `read` chỉ đọc, `write` được
xác nhận thay đơn vị và (quản trị viên) gửi lại nhắc việc lỗi.

Danh sách được phân trang bằng `limit` (1–500, mặc định 100) và `offset`; kết quả có `total` và
`next`. Lỗi trả về theo RFC 9457 (`application/problem+json`), bằng tiếng Việt."""

TAGS = [
    {"name": "kế hoạch", "description": "Kế hoạch, các hạn báo cáo và trạng thái của từng đơn vị."},
    {"name": "đơn vị", "description": "Các đơn vị và hạn báo cáo của từng đơn vị."},
    {"name": "nhắc việc", "description": "Nhắc việc, các lần gửi, gửi lại nhắc việc lỗi."},
    {"name": "xác nhận", "description": "Xác nhận thay đơn vị đã gửi báo cáo."},
]

# OpenAPI links: the ids a response gives, to the operations that take them.
LINKS: dict[str, dict[str, dict[str, Any]]] = {
    "listPlans": {
        "GetPlan": {"operationId": "getPlan", "parameters": {"plan_id": "$response.body#/items/0/id"}},
        "ListDeadlines": {
            "operationId": "listDeadlines",
            "parameters": {"plan_id": "$response.body#/items/0/id"},
        },
    },
    "getPlan": {
        "ListDeadlines": {"operationId": "listDeadlines", "parameters": {"plan_id": "$response.body#/id"}},
        "ListPlanReminders": {
            "operationId": "listReminders",
            "parameters": {"plan_id": "$response.body#/id"},
        },
    },
    "getReminder": {
        "RetryReminder": {"operationId": "retryReminder", "parameters": {"reminder_id": "$response.body#/id"}}
    },
    "listDeadlines": {
        "GetDeadline": {
            "operationId": "getDeadline",
            "parameters": {
                "plan_id": "$response.body#/plan_id",
                "item_id": "$response.body#/items/0/item_id",
                "period": "$response.body#/items/0/period",
            },
        }
    },
    "getDeadline": {
        "GetAgency": {
            "operationId": "getAgency",
            "parameters": {"agency_id": "$response.body#/items/0/agency_id"},
        }
    },
    "listAgencies": {
        "GetAgency": {"operationId": "getAgency", "parameters": {"agency_id": "$response.body#/items/0/id"}}
    },
    "listReminders": {
        "GetReminder": {
            "operationId": "getReminder",
            "parameters": {"reminder_id": "$response.body#/items/0/id"},
        },
        "RetryReminder": {
            "operationId": "retryReminder",
            "parameters": {"reminder_id": "$response.body#/items/0/id"},
        },
    },
}


def describe(api: FastAPI) -> dict[str, Any]:
    if api.openapi_schema:
        return api.openapi_schema
    schema = get_openapi(
        title=api.title,
        version=api.version,
        description=api.description,
        routes=api.routes,
        tags=api.openapi_tags,
    )
    schema["servers"] = [{"url": "/api/v1"}]
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for code, answer in operation.get("responses", {}).items():
                if answer.get("description") == "Successful Response":
                    answer["description"] = "Thành công."
                if code[0] in "45" and "content" in answer:
                    content = answer["content"]
                    found = content.pop("application/json", None) or {}
                    if found:
                        content[MEDIA_TYPE] = found
                    elif MEDIA_TYPE in content and not content[MEDIA_TYPE]:
                        content[MEDIA_TYPE] = {"schema": {"$ref": "#/components/schemas/ProblemBody"}}
            links = LINKS.get(operation.get("operationId", ""))
            if links:
                for code in ("200", "201"):
                    if code in operation["responses"]:
                        operation["responses"][code]["links"] = links
    api.openapi_schema = schema
    return schema
