"""HTTP: the confirmation page behind each reminder's link, health probes and metrics.

GET shows what is due and a button; only POST confirms, so that link scanners and
chat previews, which fetch links, never confirm anything by themselves.

The server faces the Internet (behind a proxy): every response forbids framing, scripts
and referrers (the link is a capability), a confirmation reads at most a few KB of body,
and `server_options` bounds connections and the time a client may take to send its
request head.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from datetime import date, datetime, tzinfo
from typing import Any

import h11
import phonenumbers
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine, select, text
from sqlmodel import col
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from scheduler.api.app import create_api
from scheduler.api.guards import RATE_PER_MINUTE
from scheduler.config import lifetimes, validity
from scheduler.config.deployment import Deployment
from scheduler.config.settings import Settings
from scheduler.outbox.acks import ReferenceInvalid, UnknownOccurrence, acknowledge, report_reference
from scheduler.outbox.metrics import Metrics
from scheduler.outbox.status import DEFAULT_DUE_SOON_DAYS
from scheduler.outbox.store import Occurrence, OccurrenceStatus, Reminder, utcnow
from scheduler.render.links import LinkInvalid, Links
from scheduler.web.auth import Auth, AuthSettings
from scheduler.web.board import Board
from scheduler.web.common import page, read_form
from scheduler.web.exports import Exports
from scheduler.web.feeds import Feeds

WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")
MAX_FOCAL_POINTS = 5  # on a page refusing a link that names no plan: the focal agencies of the plans in force
HEAD_SECONDS = 10.0  # to send a request's line and headers
MAX_CONNECTIONS = 200  # open connections; beyond them uvicorn answers 503
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        b"frame-ancestors 'none'; base-uri 'none'",
    ),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
]


def create_app(
    engine: Engine,
    deployment: Callable[[], Deployment],
    links: Links,
    metrics: Metrics,
    ready: Callable[[], bool],
    tz: tzinfo,
    serve_metrics: bool = True,
    writes_failing: Callable[[], bool] = lambda: False,
    auth_settings: AuthSettings | None = None,
    due_soon_days: int = DEFAULT_DUE_SOON_DAYS,
    settings: Settings | None = None,
    wake: Callable[[], None] = lambda: None,
    api_rate_per_minute: int = RATE_PER_MINUTE,
) -> Starlette:
    """`ready`: the scheduler runs; `writes_failing`: outcomes cannot be written to the database
    (a full disk), although it still answers reads. `auth_settings`: sessions and SSO (default: a
    key of this process, no SSO; the daemon passes the deployment's). `due_soon_days`: the
    board's "sắp đến hạn" (NHACVIEC_DUE_SOON_DAYS). `settings`: the deployment's, which the focal
    agency's actions on the board need (without them the board shows no action buttons); `wake`:
    called after an action queued a reminder (the daemon re-arms its dispatcher).
    `api_rate_per_minute`: requests a minute per API token."""
    auth = Auth(engine, deployment, auth_settings or AuthSettings(secret=secrets.token_urlsafe(32)), tz)

    def today() -> date:
        return datetime.now(tz).date()

    def focal_points(plan_id: str | None) -> list[dict[str, str]]:
        """Whom to call: the focal agency of the plan `plan_id` with its focal contact; for a
        plan that is not (or no longer) configured, those of the plans in force."""
        current, day = deployment(), today()
        plans = [p for p in current.plans if p.id == plan_id]
        if not plans:
            plans = [
                p
                for p in current.plans
                if current.life(p).start <= day
                and not validity.ended(p, current.life(p), day, current.workdays)
            ] or current.plans
        points: dict[str, dict[str, str]] = {}
        for plan in plans:
            agency_id = lifetimes.on_duty(current.agencies, plan.focal_agency, day) or plan.focal_agency
            if agency_id not in points and (point := focal_point(current, agency_id)):
                points[agency_id] = point
        return list(points.values())[:MAX_FOCAL_POINTS]

    def refused(error: LinkInvalid) -> HTMLResponse:
        values = details(error.hint) if error.expired and error.hint else None
        plan_id = error.hint.split("/", 1)[0] if error.hint else None
        if error.expired:
            return page(
                "Liên kết đã hết hạn",
                410,
                "bad",
                template="refused.html",
                text="Liên kết xác nhận này đã hết hạn. Vui lòng dùng liên kết trong lời nhắc mới nhất.",
                report=values,
                focal=focal_points(values["plan_id"] if values else plan_id),
            )
        return page(
            "Liên kết không hợp lệ",
            400,
            "bad",
            template="refused.html",
            text="Liên kết xác nhận không đúng hoặc đã bị sửa. Vui lòng mở lại liên kết trong tin nhắn gốc.",
            report=None,
            focal=focal_points(plan_id),
        )

    def details(key: str) -> dict[str, Any] | None:
        occurrences = Occurrence.__table__
        with engine.connect() as conn:
            row = conn.execute(select(occurrences).where(occurrences.c.key == key)).first()
        if row is None or row.status == OccurrenceStatus.REMOVED:
            return None
        current = deployment()
        plan = next((p for p in current.plans if p.id == row.plan_id), None)
        item = next((o for o in plan.obligations if o.id == row.item_id), None) if plan else None
        return {
            "plan_id": row.plan_id,
            "plan_title": plan.title if plan else (row.plan_name or row.plan_id),
            "plan_number": plan.number if plan else None,
            "title": row.title,
            "agency": row.agency_name or current.name_of(row.agency_id),  # the name of the time
            "due": f"{WEEKDAYS[row.start_date.weekday()]}, {row.start_date:%d/%m/%Y}",
            "to_agency": current.name_of(item.to) if item and item.to else None,
            "via_agency": current.name_of(item.via) if item and item.via else None,
            "confirmed_at": local(row.confirmed_at, tz),
            "confirmed_by": row.confirmed_by,
            "report_number": row.report_number,
            "report_date": f"{row.report_date:%d/%m/%Y}" if row.report_date else None,
        }

    def occurrence_of(reminder_id: int) -> str | None:
        with engine.connect() as conn:
            return conn.execute(
                select(col(Reminder.occurrence_key)).where(col(Reminder.id) == reminder_id)
            ).scalar_one_or_none()

    def occurrence_key(request: Request) -> str:
        """The occurrence a link names (long token or short code); raises LinkInvalid."""
        if "token" in request.path_params:
            return links.occurrence(request.path_params["token"])
        return links.short_occurrence(request.path_params["code"], occurrence_of)

    def not_found() -> HTMLResponse:
        return page("Không tìm thấy việc cần xác nhận", 404, "bad", text="Việc này không còn trong kế hoạch.")

    def form_page(
        values: dict[str, Any], status: int = 200, error: str = "", field: str = "", **form: str
    ) -> HTMLResponse:
        """The confirmation form, or, once confirmed, what was confirmed and whom to call."""
        if values["confirmed_at"]:
            return page(
                "Báo cáo đã được xác nhận",
                status,
                "ok",
                template="confirmed.html",
                already=True,
                focal=focal_points(values["plan_id"]),
                **values,
            )
        return page(
            "Xác nhận đã gửi báo cáo",
            status,
            template="confirm.html",
            today=today().isoformat(),
            form=form,
            error=error,
            field=field,
            **values,
        )

    async def show(request: Request) -> Response:
        try:
            key = occurrence_key(request)
        except LinkInvalid as error:
            return refused(error)
        values = details(key)
        if values is None:
            return not_found()
        return form_page(values)

    async def confirm(request: Request) -> Response:
        try:
            key = occurrence_key(request)
        except LinkInvalid as error:
            return refused(error)
        try:
            form = await read_form(request)
        except TimeoutError:
            return page(
                "Hết thời gian chờ",
                408,
                "bad",
                text="Trình duyệt gửi quá chậm. Vui lòng bấm nút xác nhận lại.",
            )
        if form is None:
            return page(
                "Nội dung gửi lên quá lớn",
                413,
                "bad",
                text="Biểu mẫu xác nhận chỉ cần họ tên, số và ngày văn bản. Vui lòng mở lại liên kết và bấm nút xác nhận.",
            )
        by = form.get("by", "").strip()[:120] or "đầu mối (qua liên kết)"
        try:
            reference = report_reference(form.get("so"), form.get("ngay"), today())
        except ReferenceInvalid as error:
            values = details(key)
            if values is None:
                return not_found()
            typed = {name: form.get(name, "")[:120] for name in ("by", "so", "ngay")}
            return form_page(values, 422, error=str(error), field=error.field, **typed)
        try:
            done = acknowledge(engine, key, by, utcnow(), reference)
        except UnknownOccurrence:
            return not_found()
        values = details(key)
        if values is None:
            return not_found()
        if done.already:
            return page(
                "Đã xác nhận trước đó",
                tone="ok",
                template="confirmed.html",
                already=True,
                focal=focal_points(values["plan_id"]),
                **values,
            )
        return page(
            "Đã ghi nhận",
            tone="ok",
            template="confirmed.html",
            already=False,
            cancelled=done.cancelled,
            **values,
        )

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(_: Request) -> Response:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:  # any database error means not ready; the probe names no internals
            return PlainTextResponse("database unreachable", status_code=503)
        if not ready():
            return PlainTextResponse("scheduler not running", status_code=503)
        if writes_failing():
            return PlainTextResponse("database writes failing: sends wait to be recorded", status_code=503)
        return PlainTextResponse("ready")

    board = Board(engine, deployment, links, auth, tz, due_soon_days, settings, wake)
    routes = [
        Route("/", auth.home, methods=["GET"]),
        *auth.routes(),
        *board.routes(),
        *Exports(board).routes(),  # Bảng theo dõi tình hình báo cáo: .xlsx, .csv
        *Feeds(engine, deployment, links, auth, tz, due_soon_days).routes(),  # calendar feeds: /lich/
        Route("/xac-nhan/{token}", show, methods=["GET"]),
        Route("/xac-nhan/{token}", confirm, methods=["POST"]),
        Route("/x/{code}", show, methods=["GET"]),
        Route("/x/{code}", confirm, methods=["POST"]),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        # The JSON API: bearer tokens only, no session (scheduler/api/app.py, auth.API_PREFIX).
        Mount("/api/v1", app=create_api(engine, deployment, tz, due_soon_days, api_rate_per_minute)),
    ]
    if serve_metrics:
        routes.append(metrics_route(metrics))
    app = Starlette(routes=routes, middleware=[Middleware(SecurityHeaders), Middleware(auth.middleware)])
    app.state.auth = auth  # the pages of the board read sessions and check CSRF through it
    return app


def metrics_route(metrics: Metrics) -> Route:
    async def metrics_page(_: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", metrics_page)


def create_metrics_app(metrics: Metrics) -> Starlette:
    """/metrics alone, for its own address (NHACVIEC_METRICS_BIND)."""
    return Starlette(routes=[metrics_route(metrics)], middleware=[Middleware(SecurityHeaders)])


class SecurityHeaders:
    """Adds SECURITY_HEADERS to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", ()), *SECURITY_HEADERS]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class HeadTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose request head (line and headers)
    has not fully arrived HEAD_SECONDS after the connection opened or the previous response
    ended: a client that sends its headers slowly, or never, does not keep its place."""

    head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        if self.head_timer is not None:
            self.head_timer.cancel()
        self.head_timer = self.loop.call_later(HEAD_SECONDS, self._head_late)

    def _head_late(self) -> None:
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def server_options() -> dict[str, Any]:
    """uvicorn.Config options of the daemon's HTTP servers."""
    return {
        "http": HeadTimeoutProtocol,
        "server_header": False,
        "limit_concurrency": MAX_CONNECTIONS,
        "timeout_keep_alive": 5,
        "h11_max_incomplete_event_size": 16 * 1024,
        # The client's address is the peer's: X-Forwarded-For is read only from the proxies of
        # NHACVIEC_TRUSTED_PROXIES (scheduler/web/auth.py), not from uvicorn's default 127.0.0.1.
        "proxy_headers": False,
    }


def local(moment: datetime | None, tz: tzinfo) -> str | None:
    return f"{moment.astimezone(tz):%H:%M ngày %d/%m/%Y}" if moment else None


def focal_point(current: Deployment, agency_id: str) -> dict[str, str] | None:
    """An agency's name with its focal contact's name, phone and e-mail (the first focal contact
    that has a phone or an e-mail); None for an agency not configured."""
    agency = current.agencies.get(agency_id)
    if agency is None:
        return None
    contacts = [c.spec for c in current.contacts.get(agency_id, [])]
    reachable = [c for c in contacts if c.mobile or c.email]
    contact = next((c for c in reachable if c.role == "focal"), reachable[0] if reachable else None)
    point = {"agency": agency.name, "name": "", "phone": "", "tel": "", "email": ""}
    if contact is not None:
        point.update(name=contact.name, email=contact.email or "")
        if contact.mobile:
            point.update(phone=national(contact.mobile), tel=contact.mobile)
    return point


def national(e164: str) -> str:
    """+84900000301 → 0900 000 301."""
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(e164, "VN"), phonenumbers.PhoneNumberFormat.NATIONAL
        )
    except phonenumbers.NumberParseException:
        return e164
