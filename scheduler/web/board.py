"""The focal agency's board: pages of plans, deadlines and agencies, the focal agency's actions on
one agency's deadline, and the operators' deliveries page (which puts dead letters back in the queue).

- `/ke-hoach/<plan>`: the plan's deadlines in a period (`tu`, `den`; default 30 days back to 90
  ahead), the next ones first, each with its progress and counts per status;
- `/ke-hoach/<plan>/han/<item>/<period>`: every agency on one deadline, with its status, its
  confirmation, the report's number and date, the last reminder and the next; filtered by status
  (`trang-thai`) and by name without accents (`q`), 200 a page (`trang`);
- `.../han/<item>/<period>/thao-tac` (POST): an action of `scheduler.outbox.actions` on one agency
  of the deadline (mark received, waive, extend, send a reminder now, reopen), for the users who
  `may_act` on the plan; the deadline page shows the forms ("Xử lý") only to them;
- `/don-vi/<agency>`: the agency's deadlines in the plans the user may see, and its history
  (reminders, confirmations and the focal agency's actions);
- `/gui-tin`: dead letters and stuck reminders, retried one by one or all at once (admins).

Every page needs a signed-in user who may see it (`scheduler.accounts.scoping`), except the plan's
pages opened with the digest's read-only link (`?xem=<token>`, `Links.board_plan`): those show that
plan's board and its deadline pages, without an account, with no link to anything else.
Statuses come from `scheduler.outbox.status`, computed once per distinct input (a deadline of
4,341 agencies has a handful of them).

The pages that only read (GET) are plain functions, which Starlette runs in its thread pool: a
deadline page of 4,341 agencies takes ~0.1 s of database and rendering, and the daemon's event
loop, which also sends the reminders, must not wait for it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import quote, urlencode

from sqlalchemy import Engine, Row
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from notifiers.text import unaccent
from scheduler.accounts.scoping import may_act, may_operate, may_see, visible_plans
from scheduler.accounts.users import Role, User
from scheduler.calendar.dates import format_date
from scheduler.config import lifetimes
from scheduler.config.deployment import Deployment
from scheduler.config.schema import PlanSpec
from scheduler.config.settings import Settings
from scheduler.outbox import actions
from scheduler.outbox import board as rows
from scheduler.outbox.acks import ReferenceInvalid, report_reference
from scheduler.outbox.actions import Action, ActionRecord, ActionRefused
from scheduler.outbox.feeds import FeedKind
from scheduler.outbox.queries import retry_dead
from scheduler.outbox.status import (
    DEFAULT_DUE_SOON_DAYS,
    DISPLAY_ORDER,
    LABELS,
    AgencyStatus,
    Status,
    Statuses,
    progress,
)
from scheduler.outbox.store import OccurrenceStatus, aware, utcnow
from scheduler.render.links import LinkInvalid, Links
from scheduler.web.auth import Auth, forbidden, sign_in_redirect
from scheduler.web.common import page, read_form
from scheduler.web.feeds import feed_block

BACK_DAYS, AHEAD_DAYS = 30, 90  # the plan page's default period around today
MAX_SPAN_DAYS = 3 * 366  # a longer period asked for is cut to this
PAGE_SIZE = 200  # agencies a deadline page lists at once
HISTORY_LIMIT = 100  # reminders in an agency's history
DELIVERIES_LIMIT = 200  # dead and stuck reminders listed (the counts are of all)
ACTION_FORM_BYTES = 8192  # an action's form: a reason of 500 characters, percent-encoded, fits
RETURN_PARAMS = ("trang-thai", "q", "trang")  # the deadline page's view, kept across an action
CHANNELS = {
    "email": "E-mail",
    "zalo": "Zalo",
    "sms": "SMS",
    "console": "Màn hình",
    "webhook": "Webhook",
    "eoffice": "Sự kiện tới văn phòng điện tử",
}
OUTCOMES = {
    "sent": "đã gửi",
    "dead": "không gửi được",
    "retry": "gửi lỗi, sẽ thử lại",
    "pending": "chờ gửi",
    "skipped": "bỏ qua",
    "cancelled": "đã hủy",
    "claimed": "đang gửi",
}
TONES = {
    AgencyStatus.OVERDUE: "bad",
    AgencyStatus.DUE_SOON: "warn",
    AgencyStatus.LATE: "warn",
    AgencyStatus.ON_TIME: "ok",
    AgencyStatus.EXTENDED: "info",
}


@dataclass(frozen=True)
class Viewer:
    """Who looks at a page: a signed-in user, or (user None) the holder of a read-only link."""

    user: User | None
    csrf: str = ""
    token: str | None = None

    @property
    def read_only_link(self) -> bool:
        return self.user is None


def parse_day(text: str | None) -> date | None:
    """yyyy-mm-dd (a date field) or dd/mm/yyyy; None when empty or not a date."""
    if not text:
        return None
    text = text.strip()
    try:
        if "/" in text:
            day, month, year = (int(part) for part in text.split("/"))
            return date(year, month, day)
        return date.fromisoformat(text)
    except ValueError:
        return None


def deadline_path(plan_id: str, item_id: str, period: str) -> str:
    return f"/ke-hoach/{quote(plan_id, safe='')}/han/{quote(item_id, safe='')}/{quote(period, safe='')}"


class Board:
    """The board's routes, on the app's engine, configuration, links and sessions."""

    def __init__(
        self,
        engine: Engine,
        deployment: Callable[[], Deployment],
        links: Links,
        auth: Auth,
        tz: tzinfo,
        due_soon_days: int = DEFAULT_DUE_SOON_DAYS,
        settings: Settings | None = None,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        """`settings`: what the actions that re-plan a ladder need (without them, no action is
        offered); `wake`: called after a reminder was queued to go now."""
        self.engine, self.deployment, self.links, self.auth = engine, deployment, links, auth
        self.tz, self.due_soon_days = tz, due_soon_days
        self.settings, self.wake = settings, wake

    def routes(self) -> list[Route]:
        return [
            Route("/ke-hoach/{plan}", self.plan_page, methods=["GET"]),
            Route("/ke-hoach/{plan}/han/{item}/{period}", self.deadline_page, methods=["GET"]),
            Route("/ke-hoach/{plan}/han/{item}/{period}/thao-tac", self.act, methods=["POST"]),
            Route("/don-vi/{agency}", self.agency_page, methods=["GET"]),
            Route("/gui-tin", self.deliveries_page, methods=["GET"]),
            Route("/gui-tin/thu-lai", self.retry, methods=["POST"]),
        ]

    # --- who may see what ---

    def today(self) -> date:
        return datetime.now(self.tz).date()

    @staticmethod
    def not_found(what: str, user: User | None = None, csrf: str = "") -> Response:
        return page(
            f"Không tìm thấy {what}",
            404,
            "bad",
            text=f"Không có {what} này trong hệ thống. Vui lòng kiểm tra lại đường dẫn.",
            user=user,
            csrf=csrf,
            home=user is not None,
        )

    def plan_access(self, request: Request) -> tuple[PlanSpec, Viewer, Deployment] | Response:
        """The plan the URL names and who looks at it, or the page that refuses."""
        deployment = self.deployment()
        plan_id = request.path_params["plan"]
        plan = next((p for p in deployment.plans if p.id == plan_id), None)
        session = Auth.session(request)
        if session.user is not None:
            if plan is None:
                return self.not_found("kế hoạch", session.user, session.csrf)
            if may_see(session.user, plan):
                return plan, Viewer(session.user, session.csrf), deployment
            if not request.query_params.get("xem"):
                return forbidden(session, deployment, "kế hoạch này")
        token = request.query_params.get("xem")
        if not token:
            return sign_in_redirect(request)
        try:
            linked = self.links.board_plan(token)
        except LinkInvalid as error:
            return self.link_refused(error.expired)
        if linked != plan_id:
            return self.link_refused(False)
        if plan is None:
            return self.not_found("kế hoạch")
        return plan, Viewer(None, token=token), deployment

    @staticmethod
    def link_refused(expired: bool) -> Response:
        if expired:
            return page(
                "Liên kết xem đã hết hạn",
                410,
                "bad",
                text="Liên kết xem bảng theo dõi trong bản tổng hợp chỉ có hiệu lực 14 ngày. Vui lòng dùng "
                "liên kết trong bản tổng hợp mới nhất, hoặc đăng nhập.",
                signin=True,
            )
        return page(
            "Liên kết xem không hợp lệ",
            403,
            "bad",
            text="Liên kết xem bảng theo dõi không đúng, đã bị sửa, hoặc không dành cho trang này. "
            "Vui lòng mở lại liên kết trong bản tổng hợp, hoặc đăng nhập.",
            signin=True,
        )

    def signed_in(self, request: Request) -> tuple[User, str, Deployment] | Response:
        session = Auth.session(request)
        if session.user is None:
            return sign_in_redirect(request)
        return session.user, session.csrf, self.deployment()

    def common(self, viewer: Viewer, deployment: Deployment) -> dict[str, Any]:
        return {
            "user": viewer.user,
            "csrf": viewer.csrf,
            "read_only_link": viewer.read_only_link,
            "token": viewer.token,
            "operator": may_operate(viewer.user),
            "wide": True,
        }

    # --- the plan ---

    def plan_page(self, request: Request) -> Response:
        access = self.plan_access(request)
        if isinstance(access, Response):
            return access
        plan, viewer, deployment = access
        today = self.today()
        given = {name: request.query_params.get(name, "").strip()[:20] for name in ("tu", "den")}
        bad_dates = ", ".join(text for text in given.values() if text and parse_day(text) is None)
        start = parse_day(given["tu"]) or today - timedelta(days=BACK_DAYS)
        end = parse_day(given["den"]) or today + timedelta(days=AHEAD_DAYS)
        notice = ""
        if end < start:
            start, end = end, start
        if (end - start).days > MAX_SPAN_DAYS:
            end = start + timedelta(days=MAX_SPAN_DAYS)
            notice = f"Khoảng thời gian dài nhất là {MAX_SPAN_DAYS} ngày: chỉ hiện đến {format_date(end)}."
        statuses = Statuses(deployment, today, self.tz, self.due_soon_days)
        groups: dict[tuple[date, str, str], list[AgencyStatus]] = {}
        titles: dict[tuple[date, str, str], str] = {}
        effective: dict[tuple[date, str, str], date] = {}
        for row in rows.plan_occurrences(self.engine, plan.id, start, end):
            key = (row.start_date, row.item_id, row.period)
            status = statuses.of(row)
            codes = groups.get(key)
            if codes is None:  # the first row of a deadline: what all its rows share
                codes = groups[key] = []
                titles[key] = row.title
                effective[key] = deployment.workdays.next_working_day(row.start_date)
            codes.append(status.code)
        deadlines = []
        for key, codes in groups.items():
            done = progress(codes)
            deadlines.append(
                {
                    "title": titles[key],
                    "start": key[0],
                    "effective": effective[key],
                    "upcoming": effective[key] >= today,
                    "agencies": len(codes),
                    "progress": done,
                    "percent": round(100 * done.reported / done.expected) if done.expected else 100,
                    "tone": "bad"
                    if done.counts[AgencyStatus.OVERDUE]
                    else ("ok" if done.reported == done.expected else ""),
                    "counts": [
                        (code, LABELS[code], done.counts[code]) for code in DISPLAY_ORDER if done.counts[code]
                    ],
                    "href": self.with_token(deadline_path(plan.id, key[1], key[2]), viewer),
                }
            )
        upcoming = sorted((d for d in deadlines if d["upcoming"]), key=lambda d: (d["effective"], d["title"]))
        past = sorted(
            (d for d in deadlines if not d["upcoming"]),
            key=lambda d: (d["effective"], d["title"]),
            reverse=True,
        )
        return page(
            plan.title,
            template="board_plan.html",
            plan=self.plan_facts(plan, deployment),
            upcoming=upcoming,
            past=past,
            start=start,
            end=end,
            notice=notice,
            bad_dates=bad_dates,
            today=today,
            tones=TONES,
            downloads=self.downloads(
                f"Bảng theo dõi năm {plan.year}",
                f"/ke-hoach/{quote(plan.id, safe='')}",
                viewer,
                nam=str(plan.year),
            ),
            feed=feed_block(self.engine, self.links, deployment, viewer.user, FeedKind.PLAN, plan.id),
            feed_rotated=request.query_params.get("lich") == "moi",
            **self.common(viewer, deployment),
        )

    def plan_facts(self, plan: PlanSpec, deployment: Deployment) -> dict[str, Any]:
        return {
            "id": plan.id,
            "title": plan.title,
            "number": plan.number,
            "issuer": plan.issuer,
            "year": plan.year,
            "focal": deployment.name_of(plan.focal_agency),
        }

    def downloads(self, title: str, path: str, viewer: Viewer, **query: str) -> dict[str, Any]:
        """The "Tải Excel" / "Tải CSV" links of a page (scheduler/web/exports.py), under `title`."""
        links = [
            (label, self.with_token(f"{path}/bang-theo-doi.{fmt}", viewer, **query))
            for label, fmt in (("Tải Excel", "xlsx"), ("Tải CSV", "csv"))
        ]
        return {"title": title, "links": links}

    @staticmethod
    def with_token(path: str, viewer: Viewer, **query: str) -> str:
        values = {k: v for k, v in query.items() if v}
        if viewer.token:
            values["xem"] = viewer.token
        return f"{path}?{urlencode(values)}" if values else path

    # --- a deadline ---

    def deadline_page(self, request: Request) -> Response:
        access = self.plan_access(request)
        if isinstance(access, Response):
            return access
        plan, viewer, deployment = access
        recorded = request.query_params.get("da-xu-ly", "")
        return self.render_deadline(
            request, plan, viewer, deployment, recorded=int(recorded) if recorded.isdigit() else None
        )

    def may_act(self, viewer: Viewer, plan: PlanSpec) -> bool:
        """Whether the page offers the actions: a signed-in user who may act, and the settings
        the actions need."""
        return self.settings is not None and not viewer.read_only_link and may_act(viewer.user, plan)

    def render_deadline(
        self,
        request: Request,
        plan: PlanSpec,
        viewer: Viewer,
        deployment: Deployment,
        *,
        recorded: int | None = None,
        notice: str = "",
        error: str = "",
        retry: dict[str, Any] | None = None,
        http_status: int = 200,
    ) -> Response:
        """The deadline page; `recorded`: the id of an action just recorded (the page says what it
        did); `error` and `retry`: an action refused, its form shown again open with what was typed."""
        item_id, period = request.path_params["item"], request.path_params["period"]
        found = rows.deadline_occurrences(self.engine, plan.id, item_id, period)
        if not found:
            return self.not_found("hạn báo cáo", viewer.user, viewer.csrf)
        acting = self.may_act(viewer, plan)
        if recorded is not None and acting and (record := actions.find(self.engine, recorded)):
            row = next((r for r in found if r.key == record.occurrence_key), None)
            if row is not None:
                notice = self.action_notice(record, row.agency_name or deployment.name_of(row.agency_id))
        today = self.today()
        statuses = Statuses(deployment, today, self.tz, self.due_soon_days)
        judged = [(row, statuses.of(row)) for row in found]
        done = progress(status.code for _, status in judged)
        wanted = request.query_params.get("trang-thai", "")
        code = AgencyStatus(wanted) if wanted in AgencyStatus.__members__.values() else None
        query = request.query_params.get("q", "").strip()[:100]
        needle = unaccent(query).casefold()
        order = {status: n for n, status in enumerate(DISPLAY_ORDER)}
        shown = [
            (row, status, name)
            for row, status in judged
            if (code is None or status.code is code)
            and needle in unaccent(name := row.agency_name or deployment.name_of(row.agency_id)).casefold()
        ]
        shown.sort(key=lambda entry: (order[entry[1].code], unaccent(entry[2]).casefold()))
        pages = max(1, -(-len(shown) // PAGE_SIZE))
        try:
            number = min(max(1, int(request.query_params.get("trang", "1"))), pages)
        except ValueError:
            number = 1
        window = shown[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
        reminders = rows.last_and_next(rows.reminders_of(self.engine, [row.key for row, _, _ in window]))
        agencies = []
        for row, status, name in window:
            last, upcoming = reminders.get(row.key, (None, None))
            confirmed = aware(row.confirmed_at)
            agencies.append(
                {
                    "id": row.agency_id,
                    "name": name,
                    "code": status.code.value,
                    "label": status.label,
                    "tone": TONES.get(status.code, ""),
                    "confirmed_at": self.local(confirmed),
                    "confirmed_by": row.confirmed_by,
                    "report_number": row.report_number,
                    "report_date": format_date(row.report_date) if row.report_date else None,
                    "last": self.delivery(last),
                    "next": self.delivery(upcoming),
                    "actions": self.actions_for(row, status) if acting else (),
                }
            )
        first = found[0]
        path = deadline_path(plan.id, item_id, period)
        filters = [
            {
                "label": LABELS[s],
                "count": done.counts[s],
                "href": self.with_token(path, viewer, **{"trang-thai": s.value, "q": query}),
                "active": s is code,
            }
            for s in DISPLAY_ORDER
            if done.counts[s]
        ]
        return page(
            first.title,
            template="board_deadline.html",
            plan=self.plan_facts(plan, deployment),
            plan_href=self.with_token(f"/ke-hoach/{plan.id}", viewer),
            start=first.start_date,
            effective=deployment.workdays.next_working_day(first.start_date),
            progress=done,
            percent=round(100 * done.reported / done.expected) if done.expected else 100,
            filters=filters,
            all_href=self.with_token(path, viewer, q=query),
            statuses=[(s.value, LABELS[s]) for s in DISPLAY_ORDER],
            code=code.value if code else "",
            query=query,
            agencies=agencies,
            matched=len(shown),
            total=len(found),
            page_number=number,
            pages=pages,
            page_href=lambda n: self.with_token(
                path, viewer, **{"trang-thai": code.value if code else "", "q": query, "trang": str(n)}
            ),
            may_act=acting,
            downloads=self.downloads("Bảng theo dõi", path, viewer),
            action_href=self.with_token(
                f"{path}/thao-tac",
                viewer,
                **{param: request.query_params.get(param, "") for param in RETURN_PARAMS},
            ),
            today_iso=today.isoformat(),
            notice=notice,
            error=error,
            retry=retry,
            **self.common(viewer, deployment),
            status=http_status,
        )

    @staticmethod
    def actions_for(row: Row[Any], status: Status) -> tuple[str, ...]:
        """The actions that apply to an agency's deadline in its state (the others would be refused)."""
        if status.code is AgencyStatus.ENDED or row.status == OccurrenceStatus.ENDED:
            return ()
        if row.status == OccurrenceStatus.SUBMITTED:
            return (Action.REOPEN.value,)
        if row.waived:
            return (Action.RECEIVED.value, Action.REOPEN.value)
        return (Action.RECEIVED.value, Action.WAIVE.value, Action.EXTEND.value, Action.SEND_NOW.value)

    def action_notice(self, record: ActionRecord, agency: str) -> str:
        text = f"Đã thực hiện cho {agency}: {actions.summary(record)} ({record.by})"
        if record.reason:
            text += f", lý do: {record.reason}"
        if record.action is Action.SEND_NOW:
            text += ". Nhắc việc sẽ được gửi trong vài phút (ngoài giờ yên lặng)"
        return text + "."

    async def act(self, request: Request) -> Response:
        """One of the focal agency's actions on one agency of the deadline, from its form; the
        role is checked here again, whatever the page showed."""
        try:
            form = await read_form(request, ACTION_FORM_BYTES)
        except TimeoutError:
            form = None
        if form is None or not self.auth.csrf_ok(request, form):
            return Auth.csrf_refused()
        session = Auth.session(request)
        deployment = self.deployment()
        plan = next((p for p in deployment.plans if p.id == request.path_params["plan"]), None)
        if session.user is None:
            return forbidden(session, deployment)
        if plan is None:
            return self.not_found("kế hoạch", session.user, session.csrf)
        viewer = Viewer(session.user, session.csrf)
        if not may_act(session.user, plan):  # a viewer, another plan's focal user, a disabled user
            return forbidden(session, deployment, "kế hoạch này")
        if self.settings is None:
            return page(
                "Chưa bật thao tác",
                503,
                "bad",
                text="Máy chủ chưa được cấu hình để thực hiện thao tác này.",
                user=session.user,
                csrf=session.csrf,
                home=True,
            )
        item_id, period = request.path_params["item"], request.path_params["period"]
        agency_id = form.get("don-vi", "")
        row = rows.agency_deadline(self.engine, plan.id, item_id, period, agency_id)
        if row is None:
            return self.not_found("hạn báo cáo của đơn vị", session.user, session.csrf)
        name = row.agency_name or deployment.name_of(agency_id)
        wanted = form.get("thao-tac", "")
        if wanted not in Action.__members__.values():
            return page("Yêu cầu không hợp lệ", 400, "bad", text="Không rõ thao tác nào cần thực hiện.")
        action = Action(wanted)
        by = session.user.display_name
        try:
            record = self.perform(action, row.key, by, form, deployment, self.settings)
        except (ActionRefused, ReferenceInvalid) as refused:
            return self.render_deadline(
                request,
                plan,
                viewer,
                deployment,
                error=f"Chưa thực hiện «{action.label}» cho {name}: {refused}",
                retry={"agency": agency_id, "action": action.value, "values": form},
                http_status=409 if isinstance(refused, ActionRefused) else 400,
            )
        if record is None:  # a reminder was already sent now within this minute
            return self.render_deadline(
                request,
                plan,
                viewer,
                deployment,
                notice=f"Đã có nhắc việc gửi ngay cho {name} trong phút này; không gửi thêm.",
            )
        if action is Action.SEND_NOW:
            self.wake()
        back = {param: request.query_params.get(param, "") for param in RETURN_PARAMS}
        target = self.with_token(
            deadline_path(plan.id, item_id, period), viewer, **back, **{"da-xu-ly": str(record.id)}
        )
        return RedirectResponse(f"{target}#dv-{quote(agency_id, safe='')}", status_code=303)

    def perform(
        self,
        action: Action,
        key: str,
        by: str,
        form: dict[str, str],
        deployment: Deployment,
        settings: Settings,
    ) -> ActionRecord | None:
        reason = form.get("ly-do", "")
        if action is Action.RECEIVED:
            reference = report_reference(form.get("so"), form.get("ngay"), self.today())
            return actions.mark_received(self.engine, key, by, reference, reason)
        if action is Action.WAIVE:
            return actions.waive(self.engine, key, by, reason)
        if action is Action.EXTEND:
            new_date = parse_day(form.get("den-ngay"))
            if new_date is None:
                raise ActionRefused("Cần chọn ngày gia hạn (ngày/tháng/năm), ví dụ 18/12/2026.")
            return actions.extend(self.engine, deployment, settings, key, by, new_date, reason)
        if action is Action.SEND_NOW:
            return actions.send_now(self.engine, deployment, settings, key, by)
        return actions.reopen(self.engine, deployment, settings, key, by, reason)

    def local(self, moment: datetime | None) -> str | None:
        return f"{moment.astimezone(self.tz):%H:%M %d/%m/%Y}" if moment else None

    def delivery(self, found: rows.Delivery | None) -> dict[str, Any] | None:
        if found is None:
            return None
        return {
            "at": self.local(found.at),
            "channel": CHANNELS.get(found.channel, found.channel),
            "recipient": found.recipient,
            "outcome": OUTCOMES.get(found.outcome, found.outcome),
            "tone": {"sent": "ok", "dead": "bad", "retry": "warn"}.get(found.outcome, ""),
            "reason": found.reason if found.outcome != "sent" else None,
        }

    # --- an agency ---

    def agency_page(self, request: Request) -> Response:
        signed = self.signed_in(request)
        if isinstance(signed, Response):
            return signed
        user, csrf, deployment = signed
        agency_id = request.path_params["agency"]
        found = rows.agency_occurrences(self.engine, agency_id)
        if not found and agency_id not in deployment.agencies:
            return self.not_found("đơn vị", user, csrf)
        plans = {p.id: p for p in visible_plans(user, deployment.plans)}
        visible = [row for row in found if row.plan_id in plans]
        if not visible and user.role is Role.FOCAL:
            return forbidden(Auth.session(request), deployment, "đơn vị này")
        today = self.today()
        statuses = Statuses(deployment, today, self.tz, self.due_soon_days)
        deadlines = []
        for row in visible:
            status = statuses.of(row)
            confirmed = aware(row.confirmed_at)
            deadlines.append(
                {
                    "plan": plans[row.plan_id].title,
                    "title": row.title,
                    "start": row.start_date,
                    "label": status.label,
                    "tone": TONES.get(status.code, ""),
                    "confirmed_at": self.local(confirmed),
                    "confirmed_by": row.confirmed_by,
                    "report_number": row.report_number,
                    "report_date": format_date(row.report_date) if row.report_date else None,
                    "href": deadline_path(row.plan_id, row.item_id, row.period),
                }
            )
        history = self.history(agency_id, visible, plans, deployment)
        name = next((r.agency_name for r in visible if r.agency_name), None) or deployment.name_of(agency_id)
        agency = deployment.agencies.get(agency_id)
        return page(
            name,
            template="board_agency.html",
            agency_id=agency_id,
            ended=lifetimes.ended_note(deployment.agencies, agency_id)
            if lifetimes.has_ended(deployment.agencies, agency_id, today)
            else None,
            configured=agency is not None,
            deadlines=deadlines,
            history=history,
            history_limit=HISTORY_LIMIT,
            feed=feed_block(self.engine, self.links, deployment, user, FeedKind.AGENCY, agency_id)
            if agency is not None
            else None,
            feed_rotated=request.query_params.get("lich") == "moi",
            **self.common(Viewer(user, csrf), deployment),
        )

    def history(
        self, agency_id: str, visible: Sequence[Row[Any]], plans: dict[str, PlanSpec], deployment: Deployment
    ) -> list[dict[str, Any]]:
        """Reminders sent, failed or skipped, confirmations, and the focal agency's actions, newest first."""
        events: list[tuple[datetime, dict[str, Any]]] = []
        for r in rows.agency_history(self.engine, agency_id, list(plans), HISTORY_LIMIT):
            at = aware(r.at) or datetime.min.replace(tzinfo=UTC)
            outcome = "retry" if r.status == "pending" else r.status
            events.append(
                (
                    at,
                    {
                        "at": self.local(at),
                        "what": f"Nhắc việc qua {CHANNELS.get(r.channel, r.channel)} đến {r.recipient}: "
                        f"{OUTCOMES.get(outcome, outcome)}",
                        "reason": r.last_error if r.status != "sent" else None,
                        "tone": {"sent": "ok", "dead": "bad", "retry": "warn"}.get(outcome, ""),
                        "about": f"{r.title} (hạn {format_date(r.start_date)})",
                    },
                )
            )
        for row in visible:
            confirmed = aware(row.confirmed_at)
            if confirmed is None:
                continue
            reference = ", ".join(
                part
                for part in (
                    f"số {row.report_number}" if row.report_number else "",
                    f"ngày {format_date(row.report_date)}" if row.report_date else "",
                )
                if part
            )
            events.append(
                (
                    confirmed,
                    {
                        "at": self.local(confirmed),
                        "what": f"Xác nhận đã gửi báo cáo{f' ({reference})' if reference else ''}"
                        f"{f', bởi {row.confirmed_by}' if row.confirmed_by else ''}",
                        "reason": None,
                        "tone": "ok",
                        "about": f"{row.title} (hạn {format_date(row.start_date)})",
                    },
                )
            )
        titles = {row.key: f"{row.title} (hạn {format_date(row.start_date)})" for row in visible}
        for record in actions.history(self.engine, agency_id=agency_id, limit=HISTORY_LIMIT):
            if record.occurrence_key not in titles:  # a plan the user may not see
                continue
            events.append(
                (
                    record.at,
                    {
                        "at": self.local(record.at),
                        "what": f"{actions.summary(record)}, bởi {record.by}",
                        "reason": f"lý do: {record.reason}" if record.reason else None,
                        "tone": "info",
                        "about": titles[record.occurrence_key],
                    },
                )
            )
        events.sort(key=lambda e: e[0], reverse=True)
        return [event for _, event in events]

    # --- deliveries ---

    def deliveries_page(self, request: Request) -> Response:
        signed = self.signed_in(request)
        if isinstance(signed, Response):
            return signed
        user, csrf, deployment = signed
        if not may_operate(user):
            return forbidden(Auth.session(request), deployment, "trang gửi tin")
        now = utcnow()
        dead_count, dead, stuck_count, stuck = rows.deliveries(self.engine, now, DELIVERIES_LIMIT)
        retried = request.query_params.get("da-thu-lai")
        return page(
            "Gửi tin: lỗi và tồn đọng",
            template="deliveries.html",
            dead=[self.delivery_row(r, deployment, now) for r in dead],
            dead_count=dead_count,
            stuck=[self.delivery_row(r, deployment, now) for r in stuck],
            stuck_count=stuck_count,
            limit=DELIVERIES_LIMIT,
            retried=int(retried) if retried and retried.isdigit() else None,
            **self.common(Viewer(user, csrf), deployment),
        )

    def delivery_row(self, r: Row[Any], deployment: Deployment, now: datetime) -> dict[str, Any]:
        due = aware(r.next_attempt_at or r.send_at)
        if r.status == "dead":
            reason = r.last_error or "không rõ lý do"
        elif r.status == "claimed":
            reason = "đang gửi nhưng hết thời hạn giữ (tiến trình gửi có thể đã dừng); sẽ được lấy lại để gửi"
        else:
            reason = (f"lần gửi trước lỗi: {r.last_error}; " if r.last_error else "") + (
                f"chưa gửi dù đã đến giờ ({self.local(due)}): dịch vụ không chạy, "
                "đang trong giờ yên lặng, hoặc kênh chưa được cấu hình"
            )
        return {
            "id": r.id,
            "channel": CHANNELS.get(r.channel, r.channel),
            "recipient": r.recipient,
            "agency": r.agency_name or (deployment.name_of(r.agency_id) if r.agency_id else "—"),
            "about": f"{r.title} (hạn {format_date(r.start_date)})" if r.title else r.occurrence_key,
            "when": self.local(aware(r.updated_at) if r.status == "dead" else due),
            "attempts": r.attempts,
            "reason": reason,
        }

    async def retry(self, request: Request) -> Response:
        signed = self.signed_in(request)
        if isinstance(signed, Response):
            return signed
        user, _, deployment = signed
        try:
            form = await read_form(request)
        except TimeoutError:
            form = None
        if form is None or not self.auth.csrf_ok(request, form):
            return Auth.csrf_refused()
        if not may_operate(user):
            return forbidden(Auth.session(request), deployment, "trang gửi tin")
        which = form.get("id", "")
        if which == "tat-ca":
            count = retry_dead(self.engine)
        elif which.isdigit():
            count = retry_dead(self.engine, int(which))
        else:
            return page("Yêu cầu không hợp lệ", 400, "bad", text="Không rõ nhắc việc nào cần gửi lại.")
        return RedirectResponse(f"/gui-tin?da-thu-lai={count}", status_code=303)
