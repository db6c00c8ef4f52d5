"""The JSON API (FastAPI), mounted by scheduler/web/app.py at /api/v1.

- Authentication: `Authorization: Bearer <token>` only (`scheduler.accounts.tokens`), never the
  web's session cookie, so there is no CSRF surface. A token acts for its user, with the board's
  role rules (`scheduler.accounts.scoping`): a plan the user may not see is answered 404, as one
  that does not exist. Scope `read` reads; `write` also confirms and (admins) retries.
- Statuses are the board's: `scheduler.outbox.status.Statuses`.
- Errors are problem details (scheduler/api/problems.py); the description is at
  /api/v1/openapi.json, and no Swagger/ReDoc page is served (the CSP forbids their scripts).
- Each token may make RATE_PER_MINUTE requests a minute (one process's count); beyond: 429.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, FastAPI, Header, Path, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.exc import IntegrityError

from scheduler.accounts.scoping import may_act, may_operate, may_see, sees_every_plan, visible_plans
from scheduler.accounts.tokens import Scope, Token, authenticate_token
from scheduler.accounts.users import Role, User
from scheduler.api import models
from scheduler.api.description import DESCRIPTION, TAGS, describe
from scheduler.api.guards import RATE_PER_MINUTE, BodyLimit, RateLimit
from scheduler.api.paging import DEFAULT_LIMIT, Limit, Offset, make_cursor, page_of, read_cursor
from scheduler.api.problems import Problem, install, responses
from scheduler.config import lifetimes
from scheduler.config.deployment import Deployment
from scheduler.config.schema import PlanSpec
from scheduler.outbox import board as rows
from scheduler.outbox.acks import ReferenceInvalid, UnknownOccurrence, confirm, report_reference
from scheduler.outbox.queries import retry_dead
from scheduler.outbox.status import DEFAULT_DUE_SOON_DAYS, AgencyStatus, Statuses, progress
from scheduler.outbox.store import (
    ApiIdempotency,
    DeliveryAttempt,
    Occurrence,
    Reminder,
    Status,
    aware,
    start_of_day_utc,
    utcnow,
)
from scheduler.plan.kinds import OccurrenceKind

BACK_DAYS, AHEAD_DAYS = 30, 90  # a plan's deadlines by default: as the board shows them
MAX_SPAN_DAYS = 3 * 366
MAX_KEY = 200
KEEP_KEYS = timedelta(days=30)  # how long an Idempotency-Key's answer is kept


@dataclass(frozen=True)
class Caller:
    token: Token
    user: User


PlanId = Annotated[str, Path(max_length=200, description="Mã kế hoạch.")]


def create_api(
    engine: Engine,
    deployment: Callable[[], Deployment],
    tz: tzinfo,
    due_soon_days: int = DEFAULT_DUE_SOON_DAYS,
    rate_per_minute: int = RATE_PER_MINUTE,
) -> FastAPI:
    api = FastAPI(
        title="nhacviec API",
        version="1",
        description=DESCRIPTION,
        docs_url=None,  # no Swagger UI nor ReDoc: the CSP forbids their CDN scripts
        redoc_url=None,
        openapi_url="/openapi.json",
        openapi_tags=TAGS,
        redirect_slashes=False,  # /plans/ is not /plans: a 404 problem, not a redirect
    )
    install(api)
    api.add_middleware(BodyLimit)
    bearer = HTTPBearer(
        auto_error=False,
        bearerFormat="nv_…",
        description="Token tạo bằng `nhacviec token create`; chỉ hiện một lần khi tạo.",
    )
    limiter = RateLimit(rate_per_minute)

    def today() -> date:
        return datetime.now(tz).date()

    def authenticated(credentials: HTTPAuthorizationCredentials | None) -> Caller:
        if credentials is None:
            raise Problem(
                401,
                "Cần token: gửi tiêu đề «Authorization: Bearer <token>»; token do quản trị viên tạo bằng "
                "lệnh nhacviec token create.",
                {"WWW-Authenticate": 'Bearer realm="nhacviec"'},
            )
        found = authenticate_token(engine, credentials.credentials)
        if found is None:
            raise Problem(
                401,
                "Token không hợp lệ, đã bị thu hồi, hoặc người dùng của token đã bị khóa. "
                "Vui lòng liên hệ quản trị viên để được cấp token mới.",
                {"WWW-Authenticate": 'Bearer realm="nhacviec", error="invalid_token"'},
            )
        token, user = found
        wait = limiter.wait(token.id)
        if wait:
            raise Problem(
                429,
                f"Token này đã gửi quá {limiter.per_minute} yêu cầu trong một phút. Vui lòng thử lại sau {wait} giây.",
                {"Retry-After": str(wait)},
            )
        return Caller(token, user)

    def reader(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Caller:
        return authenticated(credentials)

    def writer(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Caller:
        caller = authenticated(credentials)
        if caller.token.scope is not Scope.WRITE:
            raise Problem(403, "Token chỉ có phạm vi read (chỉ đọc); thao tác này cần token phạm vi write.")
        return caller

    Read = Annotated[Caller, Depends(reader)]
    Write = Annotated[Caller, Depends(writer)]

    def visible(caller: Caller) -> tuple[Deployment, list[PlanSpec]]:
        current = deployment()
        return current, visible_plans(caller.user, current.plans)

    def plan_of(caller: Caller, plan_id: str) -> tuple[Deployment, PlanSpec]:
        current = deployment()
        plan = next((p for p in current.plans if p.id == plan_id), None)
        if plan is None or not may_see(caller.user, plan):  # the same answer: do not reveal it exists
            raise Problem(
                404, f"Không có kế hoạch '{plan_id[:100]}', hoặc token không được xem kế hoạch này."
            )
        return current, plan

    def plan_model(caller: Caller, plan: PlanSpec, current: Deployment) -> models.Plan:
        return models.Plan(
            id=plan.id,
            title=plan.title,
            number=plan.number,
            issuer=plan.issuer,
            year=plan.year,
            focal_agency_id=plan.focal_agency,
            focal_agency_name=current.name_of(plan.focal_agency),
            may_act=may_act(caller.user, plan),
        )

    def statuses(current: Deployment) -> Statuses:
        return Statuses(current, today(), tz, due_soon_days)

    errors_read = responses(401, 403, 404, 422, 429, 500)

    @api.get(
        "/plans",
        operation_id="listPlans",
        tags=["kế hoạch"],
        summary="Danh sách kế hoạch",
        description="Các kế hoạch người dùng của token được xem, theo mã kế hoạch.",
        response_model=models.PlanList,
        responses=errors_read,
    )
    def list_plans(request: Request, caller: Read, limit: Limit = DEFAULT_LIMIT, offset: Offset = 0) -> Any:
        current, plans = visible(caller)
        plans = sorted(plans, key=lambda p: p.id)
        items = [plan_model(caller, p, current) for p in plans[offset : offset + limit]]
        return {"items": items, **page_of(request, len(plans), limit, offset)}

    @api.get(
        "/plans/{plan_id}",
        operation_id="getPlan",
        tags=["kế hoạch"],
        summary="Một kế hoạch",
        response_model=models.Plan,
        responses=errors_read,
    )
    def get_plan(plan_id: PlanId, caller: Read) -> Any:
        current, plan = plan_of(caller, plan_id)
        return plan_model(caller, plan, current)

    @api.get(
        "/plans/{plan_id}/deadlines",
        operation_id="listDeadlines",
        tags=["kế hoạch"],
        summary="Các hạn báo cáo của kế hoạch trong một khoảng thời gian",
        description="Mỗi hạn (nội dung × kỳ) với số đơn vị theo trạng thái. Mặc định từ 30 ngày trước "
        f"đến 90 ngày sau hôm nay; khoảng dài nhất {MAX_SPAN_DAYS} ngày.",
        response_model=models.DeadlineList,
        responses=errors_read,
    )
    def list_deadlines(
        request: Request,
        plan_id: PlanId,
        caller: Read,
        from_: Annotated[date | None, Query(alias="from", description="Từ ngày (yyyy-mm-dd).")] = None,
        to: Annotated[date | None, Query(description="Đến ngày (yyyy-mm-dd).")] = None,
        limit: Limit = DEFAULT_LIMIT,
        offset: Offset = 0,
    ) -> Any:
        current, plan = plan_of(caller, plan_id)
        start = from_ or today() - timedelta(days=BACK_DAYS)
        end = to or today() + timedelta(days=AHEAD_DAYS)
        if end < start:
            raise Problem(422, f"Khoảng thời gian sai: «from» ({start}) sau «to» ({end}).")
        if (end - start).days > MAX_SPAN_DAYS:
            raise Problem(422, f"Khoảng thời gian dài quá {MAX_SPAN_DAYS} ngày: vui lòng chia nhỏ.")
        found = statuses(current)
        groups: dict[tuple[date, str, str], list[AgencyStatus]] = {}
        titles: dict[tuple[date, str, str], str] = {}
        for row in rows.plan_occurrences(engine, plan.id, start, end):
            key = (row.start_date, row.item_id, row.period)
            groups.setdefault(key, []).append(found.of(row).code)
            titles.setdefault(key, row.title)
        ordered = sorted(groups, key=lambda k: (k[0], titles[k], k[1], k[2]))
        items = []
        for key in ordered[offset : offset + limit]:
            done = progress(groups[key])
            items.append(
                models.DeadlineSummary(
                    item_id=key[1],
                    period=key[2],
                    title=titles[key],
                    deadline=key[0],
                    effective_deadline=current.workdays.next_working_day(key[0]),
                    agencies=len(groups[key]),
                    reported=done.reported,
                    expected=done.expected,
                    counts={code.value: n for code, n in done.counts.items() if n},
                )
            )
        return {
            "plan_id": plan.id,
            "from": start,
            "to": end,
            "items": items,
            **page_of(request, len(ordered), limit, offset),
        }

    @api.get(
        "/plans/{plan_id}/deadlines/{item_id}/{period}",
        operation_id="getDeadline",
        tags=["kế hoạch"],
        summary="Trạng thái của từng đơn vị trên một hạn báo cáo",
        description="Mỗi đơn vị với trạng thái (như bảng theo dõi), xác nhận, số và ngày văn bản, nhắc việc "
        "gần nhất và kế tiếp; lọc theo trạng thái, theo tên đơn vị.",
        response_model=models.DeadlineDetail,
        responses=errors_read,
    )
    def get_deadline(
        request: Request,
        plan_id: PlanId,
        item_id: Annotated[str, Path(max_length=200, description="Mã nội dung báo cáo.")],
        period: Annotated[str, Path(max_length=50, description="Kỳ báo cáo.")],
        caller: Read,
        status: Annotated[
            models.StatusCode | None, Query(description="Chỉ các đơn vị có trạng thái này.")
        ] = None,
        limit: Limit = DEFAULT_LIMIT,
        offset: Offset = 0,
    ) -> Any:
        current, plan = plan_of(caller, plan_id)
        found = rows.deadline_occurrences(engine, plan.id, item_id, period)
        if not found:
            raise Problem(404, f"Kế hoạch không có hạn báo cáo '{item_id[:100]}' kỳ '{period[:50]}'.")
        computed = statuses(current)
        pairs = [(row, computed.of(row)) for row in found]
        counts = progress(s.code for _, s in pairs).counts
        if status is not None:
            pairs = [(row, s) for row, s in pairs if s.code.value == status]
        pairs.sort(key=lambda pair: ((pair[0].agency_name or pair[0].agency_id).lower(), pair[0].agency_id))
        shown = pairs[offset : offset + limit]
        deliveries = rows.last_and_next(rows.reminders_of(engine, [row.key for row, _ in shown]))
        items = []
        for row, state in shown:
            last, upcoming = deliveries.get(row.key, (None, None))
            items.append(
                models.AgencyOnDeadline(
                    agency_id=row.agency_id,
                    agency_name=row.agency_name or current.name_of(row.agency_id),
                    status=state.code.value,
                    status_label=state.label,
                    extended_to=row.extended_to,
                    confirmed_at=aware(row.confirmed_at),
                    confirmed_by=row.confirmed_by,
                    report_number=row.report_number,
                    report_date=row.report_date,
                    last_reminder=brief(last),
                    next_reminder=brief(upcoming),
                )
            )
        first = found[0]
        return {
            "plan_id": plan.id,
            "item_id": item_id,
            "period": period,
            "title": first.title,
            "deadline": first.start_date,
            "counts": {code.value: n for code, n in counts.items() if n},
            "items": items,
            **page_of(request, len(pairs), limit, offset),
        }

    def agency_model(current: Deployment, agency_id: str, name: str | None = None) -> dict[str, Any]:
        return {
            "id": agency_id,
            "name": name or current.name_of(agency_id) or agency_id,
            "configured": agency_id in current.agencies,
            "ended": lifetimes.has_ended(current.agencies, agency_id, today()),
        }

    @api.get(
        "/agencies",
        operation_id="listAgencies",
        tags=["đơn vị"],
        summary="Danh sách đơn vị",
        description="Quản trị và người chỉ xem: mọi đơn vị trong cấu hình; cơ quan đầu mối: các đơn vị có hạn "
        "báo cáo trong kế hoạch của mình.",
        response_model=models.AgencyList,
        responses=errors_read,
    )
    def list_agencies(
        request: Request, caller: Read, limit: Limit = DEFAULT_LIMIT, offset: Offset = 0
    ) -> Any:
        current, plans = visible(caller)
        if caller.user.role is Role.FOCAL:
            occ = Occurrence.__table__
            with engine.connect() as conn:
                ids = sorted(
                    conn.execute(
                        select(occ.c.agency_id)
                        .where(
                            occ.c.plan_id.in_([p.id for p in plans]), occ.c.kind == OccurrenceKind.DEADLINE
                        )
                        .distinct()
                    ).scalars()
                )
        else:
            ids = sorted(current.agencies)
        items = [agency_model(current, agency_id) for agency_id in ids[offset : offset + limit]]
        return {"items": items, **page_of(request, len(ids), limit, offset)}

    @api.get(
        "/agencies/{agency_id}",
        operation_id="getAgency",
        tags=["đơn vị"],
        summary="Một đơn vị và các hạn báo cáo của đơn vị",
        description="Các hạn của đơn vị trong những kế hoạch người dùng của token được xem, mới nhất trước.",
        response_model=models.AgencyDetail,
        responses=errors_read,
    )
    def get_agency(
        agency_id: Annotated[str, Path(max_length=200, description="Mã đơn vị.")], caller: Read
    ) -> Any:
        current, plans = visible(caller)
        ids = {p.id for p in plans}
        found = [row for row in rows.agency_occurrences(engine, agency_id) if row.plan_id in ids]
        if not found and (caller.user.role is Role.FOCAL or agency_id not in current.agencies):
            raise Problem(404, f"Không có đơn vị '{agency_id[:100]}', hoặc token không được xem đơn vị này.")
        computed = statuses(current)
        deadlines = []
        for row in found:
            state = computed.of(row)
            deadlines.append(
                models.AgencyDeadline(
                    plan_id=row.plan_id,
                    item_id=row.item_id,
                    period=row.period,
                    title=row.title,
                    deadline=row.start_date,
                    status=state.code.value,
                    status_label=state.label,
                    confirmed_at=aware(row.confirmed_at),
                    confirmed_by=row.confirmed_by,
                    report_number=row.report_number,
                    report_date=row.report_date,
                )
            )
        name = next((row.agency_name for row in found if row.agency_name), None)
        return {**agency_model(current, agency_id, name), "deadlines": deadlines}

    rem, occ = Reminder.__table__, Occurrence.__table__
    reminder_columns = (
        rem.c.id,
        occ.c.plan_id,
        occ.c.item_id,
        occ.c.period,
        occ.c.agency_id,
        occ.c.agency_name,
        occ.c.title,
        occ.c.start_date.label("deadline"),
        rem.c.channel,
        rem.c.kind,
        rem.c.recipient,
        rem.c.status,
        rem.c.send_at,
        rem.c.sent_at,
        rem.c.attempts,
        rem.c.last_error,
    )

    def reminder_model(row: Any) -> dict[str, Any]:
        values = dict(row._mapping)
        for name in ("send_at", "sent_at"):
            values[name] = aware(values[name])
        return values

    @api.get(
        "/reminders",
        operation_id="listReminders",
        tags=["nhắc việc"],
        summary="Danh sách nhắc việc",
        description="Nhắc việc của các kế hoạch được xem, mới tạo nhất trước (số giảm dần); lọc theo kế hoạch, "
        "đơn vị, trạng thái và ngày gửi (theo giờ Việt Nam). Trang sau: theo đường dẫn `next` (dùng "
        "`cursor`, nhanh ở mọi độ sâu), hoặc theo `offset`.",
        response_model=models.ReminderList,
        responses=errors_read,
    )
    def list_reminders(
        request: Request,
        caller: Read,
        plan_id: Annotated[str | None, Query(max_length=200, description="Mã kế hoạch.")] = None,
        agency_id: Annotated[str | None, Query(max_length=200, description="Mã đơn vị.")] = None,
        status: Annotated[
            Status | None, Query(description="Trạng thái: pending, claimed, sent, dead, cancelled, skipped.")
        ] = None,
        from_: Annotated[date | None, Query(alias="from", description="Gửi từ ngày (yyyy-mm-dd).")] = None,
        to: Annotated[date | None, Query(description="Gửi đến hết ngày (yyyy-mm-dd).")] = None,
        cursor: Annotated[
            str | None, Query(max_length=40, description="Vị trí trang sau, lấy từ đường dẫn `next`.")
        ] = None,
        limit: Limit = DEFAULT_LIMIT,
        offset: Offset = 0,
    ) -> Any:
        after = read_cursor(cursor) if cursor is not None else None
        if from_ and to and to < from_:
            raise Problem(422, f"Khoảng thời gian sai: «from» ({from_}) sau «to» ({to}).")
        conditions = []
        if plan_id is not None:
            plan_of(caller, plan_id)
            conditions.append(occ.c.plan_id == plan_id)
        elif not sees_every_plan(caller.user):
            conditions.append(occ.c.plan_id.in_([p.id for p in visible(caller)[1]]))
        if agency_id is not None:
            conditions.append(occ.c.agency_id == agency_id)
        by_occurrence = bool(conditions)  # else the count reads the reminders alone
        if status is not None:
            conditions.append(rem.c.status == status)
        if from_ is not None:
            conditions.append(rem.c.send_at >= start_of_day_utc(from_, tz))
        if to is not None:
            conditions.append(rem.c.send_at < start_of_day_utc(to + timedelta(days=1), tz))
        counted = select(func.count()).select_from(rem)
        if by_occurrence:
            counted = counted.join(occ, occ.c.key == rem.c.occurrence_key)
        query = select(*reminder_columns).join(occ, occ.c.key == rem.c.occurrence_key).where(*conditions)
        if after is not None:
            query = query.where(rem.c.id < after)
        with engine.connect() as conn:
            total = conn.execute(counted.where(*conditions)).scalar_one()
            found = conn.execute(query.order_by(rem.c.id.desc()).limit(limit + 1).offset(offset)).all()
        page = page_of(request, total, limit, offset)
        page["next"] = None
        if len(found) > limit:  # a next page: after the last one shown, by its id
            found = found[:limit]
            query_args = {k: v for k, v in request.query_params.items() if k not in ("offset", "cursor")}
            page["next"] = (
                f"{request.url.path}?{urlencode({**query_args, 'cursor': make_cursor(found[-1].id)})}"
            )
        return {"items": [reminder_model(r) for r in found], **page}

    def reminder_row(caller: Caller, reminder_id: int) -> Any:
        with engine.connect() as conn:
            row = conn.execute(
                select(*reminder_columns)
                .join(occ, occ.c.key == rem.c.occurrence_key)
                .where(rem.c.id == reminder_id)
            ).first()
        current = deployment()
        plan = next((p for p in current.plans if row is not None and p.id == row.plan_id), None)
        seen = sees_every_plan(caller.user) or (plan is not None and may_see(caller.user, plan))
        if row is None or not seen:
            raise Problem(
                404, f"Không có nhắc việc số {reminder_id}, hoặc token không được xem nhắc việc này."
            )
        return row

    ReminderId = Annotated[int, Path(ge=1, le=2**62, description="Số của nhắc việc.")]

    @api.get(
        "/reminders/{reminder_id}",
        operation_id="getReminder",
        tags=["nhắc việc"],
        summary="Một nhắc việc và các lần gửi",
        response_model=models.ReminderDetail,
        responses=errors_read,
    )
    def get_reminder(reminder_id: ReminderId, caller: Read) -> Any:
        row = reminder_row(caller, reminder_id)
        att = DeliveryAttempt.__table__
        with engine.connect() as conn:
            attempts = conn.execute(
                select(att).where(att.c.reminder_id == reminder_id).order_by(att.c.attempted_at, att.c.id)
            ).all()
        return {
            **reminder_model(row),
            "delivery_attempts": [
                {
                    "attempted_at": aware(a.attempted_at),
                    "channel": a.channel,
                    "outcome": a.outcome,
                    "provider_id": a.provider_id,
                    "error": a.error,
                    "possible_duplicate": bool(a.possible_duplicate),
                }
                for a in attempts
            ],
        }

    @api.post(
        "/reminders/{reminder_id}/retry",
        operation_id="retryReminder",
        tags=["nhắc việc"],
        summary="Gửi lại một nhắc việc lỗi (dead letter)",
        description="Đưa nhắc việc đã gửi lỗi hẳn trở lại hàng đợi, gửi ngay. Cần token phạm vi write của "
        "quản trị viên.",
        response_model=models.Retry,
        responses=responses(401, 403, 404, 409, 422, 429, 500),
    )
    def retry_reminder(reminder_id: ReminderId, caller: Write) -> Any:
        if not may_operate(caller.user):
            raise Problem(403, "Chỉ quản trị viên được gửi lại nhắc việc lỗi.")
        row = reminder_row(caller, reminder_id)
        if row.status != Status.DEAD:
            raise Problem(
                409,
                f"Nhắc việc số {reminder_id} không ở trạng thái gửi lỗi (dead) mà là «{row.status}»: không gửi lại.",
            )
        if not retry_dead(engine, reminder_id):
            raise Problem(409, f"Nhắc việc số {reminder_id} vừa được thay đổi; vui lòng tải lại.")
        return {"reminder_id": reminder_id, "status": "pending"}

    @api.post(
        "/acknowledgements",
        operation_id="createAcknowledgement",
        tags=["xác nhận"],
        summary="Xác nhận thay đơn vị đã gửi báo cáo",
        description="Ghi nhận báo cáo của một đơn vị cho một hạn, với số, ký hiệu và ngày văn bản (kiểm tra như "
        "trang xác nhận), và hủy các nhắc việc đang chờ. Cần token phạm vi write của người được thao tác "
        "trên kế hoạch. Với tiêu đề Idempotency-Key, gửi lại cùng khóa và cùng nội dung nhận lại đúng kết "
        "quả cũ (trong 30 ngày); cùng khóa với nội dung khác bị từ chối (422).",
        response_model=models.Acknowledgement,
        status_code=201,
        responses={
            200: {
                "model": models.Acknowledgement,
                "description": "Đã được xác nhận từ trước; không có gì thay đổi.",
            },
            **responses(401, 403, 404, 409, 413, 422, 429, 500),
        },
    )
    def create_acknowledgement(
        body: models.AcknowledgementIn,
        response: Response,
        caller: Write,
        idempotency_key: Annotated[
            str | None,
            Header(
                alias="Idempotency-Key",
                min_length=1,
                max_length=MAX_KEY,
                pattern=r"^[\x21-\x7e]+$",
                description="Khóa do bên gọi sinh (ví dụ một UUID) để gửi lại an toàn.",
            ),
        ] = None,
    ) -> Any:
        _, plan = plan_of(caller, body.plan_id)
        if not may_act(caller.user, plan):
            raise Problem(403, "Người dùng của token chỉ được xem, không được xác nhận trên kế hoạch này.")
        row = rows.agency_deadline(engine, plan.id, body.item_id, body.period, body.agency_id)
        if row is None:
            raise Problem(
                404,
                "Không có hạn báo cáo này của đơn vị trong kế hoạch (kiểm tra item_id, period, agency_id).",
            )
        try:
            reference = report_reference(body.report_number, body.report_date, today())
        except ReferenceInvalid as error:
            field = "report_number" if error.field == "number" else "report_date"
            raise Problem(
                422, str(error), errors=[{"location": "nội dung", "field": field, "reason": str(error)}]
            ) from None
        request_hash = hashlib.sha256(
            json.dumps(["createAcknowledgement", body.model_dump()], sort_keys=True).encode()
        ).hexdigest()
        by = f"{caller.user.display_name} (qua API, token {caller.token.name})"
        idem = ApiIdempotency.__table__
        for _ in range(2):  # a second try when another request with the same key won the race
            try:
                with engine.begin() as conn:
                    if idempotency_key is not None:
                        kept = conn.execute(
                            select(idem).where(
                                idem.c.token_id == caller.token.id, idem.c.key == idempotency_key
                            )
                        ).first()
                        if kept is not None:
                            if kept.request_hash != request_hash:
                                raise Problem(
                                    422,
                                    "Idempotency-Key này đã được dùng cho một yêu cầu khác. Mỗi yêu cầu mới cần "
                                    "một khóa mới.",
                                    kind="idempotency-key-reused",
                                )
                            response.status_code = kept.status_code
                            return kept.body
                    done = confirm(conn, row.key, by, utcnow(), reference)
                    body_out = models.Acknowledgement(
                        plan_id=plan.id,
                        item_id=body.item_id,
                        period=body.period,
                        agency_id=body.agency_id,
                        already=done.already,
                        confirmed_at=aware(done.confirmed_at) or done.confirmed_at,
                        confirmed_by=done.confirmed_by,
                        report_number=done.reference.number,
                        report_date=done.reference.day,
                        cancelled_reminders=done.cancelled,
                    ).model_dump(mode="json")
                    code = 200 if done.already else 201
                    if idempotency_key is not None:
                        conn.execute(  # a key is remembered KEEP_KEYS; older ones of the token go
                            delete(idem).where(
                                idem.c.token_id == caller.token.id, idem.c.created_at < utcnow() - KEEP_KEYS
                            )
                        )
                        conn.execute(
                            insert(idem).values(
                                token_id=caller.token.id,
                                key=idempotency_key,
                                request_hash=request_hash,
                                status_code=code,
                                body=body_out,
                                created_at=utcnow(),
                            )
                        )
            except IntegrityError:
                continue
            except UnknownOccurrence:
                raise Problem(404, "Hạn báo cáo này vừa bị xóa khỏi kế hoạch.") from None
            response.status_code = code
            return body_out
        raise Problem(409, "Một yêu cầu khác với cùng Idempotency-Key đang được xử lý; vui lòng thử lại.")

    api.openapi = lambda: describe(api)  # type: ignore[method-assign]
    return api


def brief(found: rows.Delivery | None) -> models.ReminderBrief | None:
    if found is None:
        return None
    return models.ReminderBrief(
        at=found.at,
        channel=found.channel,
        recipient=found.recipient,
        outcome=found.outcome,
        reason=found.reason if found.outcome != "sent" else None,
    )
