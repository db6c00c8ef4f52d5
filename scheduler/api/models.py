"""What the API's operations answer and accept (pydantic), described in Vietnamese."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from scheduler.outbox.status import AgencyStatus

StatusCode = Literal[
    "on_time", "late", "waived", "ended", "extended", "untracked", "overdue", "due_soon", "open"
]
assert set(StatusCode.__args__) == {s.value for s in AgencyStatus}  # type: ignore[attr-defined]


class Page(BaseModel):
    total: int = Field(description="Tổng số mục khớp bộ lọc.")
    limit: int = Field(description="Số mục tối đa của trang này.")
    offset: int = Field(description="Vị trí của mục đầu trang.")
    next: str | None = Field(description="Đường dẫn của trang sau; null khi là trang cuối.")


class Plan(BaseModel):
    id: str = Field(description="Mã kế hoạch.")
    title: str = Field(description="Tên kế hoạch.")
    number: str | None = Field(description="Số, ký hiệu văn bản của kế hoạch.")
    issuer: str | None = Field(description="Cơ quan ban hành.")
    year: int = Field(description="Năm của kế hoạch.")
    focal_agency_id: str = Field(description="Mã đơn vị đầu mối.")
    focal_agency_name: str = Field(description="Tên đơn vị đầu mối.")
    may_act: bool = Field(description="Người dùng của token có được thao tác (xác nhận thay) trên kế hoạch.")


class PlanList(Page):
    items: list[Plan]


class DeadlineSummary(BaseModel):
    item_id: str = Field(description="Mã nội dung báo cáo trong kế hoạch.")
    period: str = Field(description="Kỳ báo cáo, ví dụ 2026 hoặc 2026-06.")
    title: str = Field(description="Tên nội dung báo cáo.")
    deadline: date = Field(description="Hạn báo cáo.")
    effective_deadline: date = Field(
        description="Hạn thực tế (dời sang ngày làm việc kế tiếp nếu rơi vào ngày nghỉ)."
    )
    agencies: int = Field(description="Số đơn vị phải báo cáo hạn này.")
    reported: int = Field(description="Số đơn vị đã báo cáo (đúng hạn hoặc muộn).")
    expected: int = Field(description="Số đơn vị được chờ báo cáo.")
    counts: dict[StatusCode, int] = Field(description="Số đơn vị theo từng trạng thái.")


class DeadlineList(Page):
    plan_id: str
    from_date: date = Field(alias="from", description="Ngày đầu của khoảng thời gian.")
    to_date: date = Field(alias="to", description="Ngày cuối của khoảng thời gian.")
    items: list[DeadlineSummary]

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class ReminderBrief(BaseModel):
    at: datetime = Field(description="Thời điểm (UTC).")
    channel: str = Field(description="Kênh: email, zalo, sms, webhook, console.")
    recipient: str = Field(description="Người nhận.")
    outcome: Literal["sent", "dead", "retry", "pending", "skipped"] = Field(description="Kết quả.")
    reason: str | None = Field(description="Lý do khi gửi lỗi.")


class AgencyOnDeadline(BaseModel):
    agency_id: str
    agency_name: str = Field(description="Tên đơn vị (tên tại thời điểm của hạn).")
    status: StatusCode = Field(description="Trạng thái theo mô hình trạng thái của bảng theo dõi.")
    status_label: str = Field(description="Trạng thái bằng tiếng Việt, ví dụ «Quá hạn».")
    extended_to: date | None = Field(description="Ngày được gia hạn đến, nếu có.")
    confirmed_at: datetime | None = Field(description="Thời điểm xác nhận đã gửi báo cáo (UTC).")
    confirmed_by: str | None = Field(description="Người xác nhận.")
    report_number: str | None = Field(description="Số, ký hiệu văn bản báo cáo.")
    report_date: date | None = Field(description="Ngày văn bản báo cáo.")
    last_reminder: ReminderBrief | None = Field(description="Nhắc việc gần nhất đã gửi hoặc đã thử.")
    next_reminder: ReminderBrief | None = Field(description="Nhắc việc kế tiếp đang chờ.")


class DeadlineDetail(Page):
    plan_id: str
    item_id: str
    period: str
    title: str
    deadline: date
    counts: dict[StatusCode, int] = Field(description="Số đơn vị theo trạng thái (trước khi lọc).")
    items: list[AgencyOnDeadline]


class Agency(BaseModel):
    id: str = Field(description="Mã đơn vị.")
    name: str = Field(description="Tên đơn vị.")
    configured: bool = Field(description="Đơn vị còn trong cấu hình.")
    ended: bool = Field(description="Đơn vị đã giải thể / sáp nhập.")


class AgencyList(Page):
    items: list[Agency]


class AgencyDeadline(BaseModel):
    plan_id: str
    item_id: str
    period: str
    title: str
    deadline: date
    status: StatusCode
    status_label: str
    confirmed_at: datetime | None
    confirmed_by: str | None
    report_number: str | None
    report_date: date | None


class AgencyDetail(Agency):
    deadlines: list[AgencyDeadline] = Field(description="Các hạn của đơn vị trong những kế hoạch được xem.")


class Reminder(BaseModel):
    id: int
    plan_id: str
    item_id: str
    period: str
    agency_id: str
    agency_name: str | None
    title: str = Field(description="Tên nội dung báo cáo.")
    deadline: date
    channel: str
    kind: str = Field(description="Loại nhắc việc.")
    recipient: str
    status: Literal["pending", "claimed", "sent", "dead", "cancelled", "skipped"] = Field(
        description="Trạng thái trong hàng đợi gửi."
    )
    send_at: datetime
    sent_at: datetime | None
    attempts: int
    last_error: str | None


class ReminderList(Page):
    items: list[Reminder]


class Attempt(BaseModel):
    attempted_at: datetime
    channel: str
    outcome: Literal["sent", "retry", "dead", "fallback"]
    provider_id: str | None
    error: str | None
    possible_duplicate: bool


class ReminderDetail(Reminder):
    delivery_attempts: list[Attempt] = Field(description="Các lần gửi, cũ nhất trước.")


class AcknowledgementIn(BaseModel):
    """Xác nhận thay đơn vị rằng báo cáo đã được gửi."""

    model_config = ConfigDict(extra="forbid")

    plan_id: str = Field(max_length=200)
    item_id: str = Field(max_length=200)
    period: str = Field(max_length=50)
    agency_id: str = Field(max_length=200)
    report_number: str | None = Field(
        default=None, max_length=200, description="Số, ký hiệu văn bản, ví dụ 125/BC-UBND (tối đa 50 ký tự)."
    )
    report_date: str | None = Field(
        default=None,
        max_length=20,
        description="Ngày văn bản: dd/mm/yyyy hoặc yyyy-mm-dd, không sau hôm nay.",
    )


class Acknowledgement(BaseModel):
    plan_id: str
    item_id: str
    period: str
    agency_id: str
    already: bool = Field(description="Đã được xác nhận từ trước; không có gì thay đổi.")
    confirmed_at: datetime
    confirmed_by: str
    report_number: str | None
    report_date: date | None
    cancelled_reminders: int = Field(description="Số nhắc việc đang chờ đã được hủy.")


class Retry(BaseModel):
    reminder_id: int
    status: Literal["pending"] = Field(description="Nhắc việc đã được đưa lại vào hàng đợi, gửi ngay.")
