"""HTTP: the confirmation page behind each reminder's link, health probes and metrics.

GET shows what is due and a button; only POST confirms, so that link scanners and
chat previews, which fetch links, never confirm anything by themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine, select, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from scheduler.acks import UnknownOccurrence, acknowledge
from scheduler.links import LinkInvalid, Links
from scheduler.loader import Deployment
from scheduler.metrics import Metrics
from scheduler.store import Occurrence, Reminder, utcnow

PAGES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "pages"), autoescape=select_autoescape(["html"])
)
WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")


def page(
    heading: str, status: int = 200, tone: str = "", template: str = "message.html", **values
) -> HTMLResponse:
    html = PAGES.get_template(template).render(heading=heading, tone=tone, **values)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


def create_app(
    engine: Engine,
    deployment: Callable[[], Deployment],
    links: Links,
    metrics: Metrics,
    ready: Callable[[], bool],
    tz: tzinfo,
    writes_failing: Callable[[], bool] = lambda: False,
) -> Starlette:
    """`ready`: the scheduler runs; `writes_failing`: outcomes cannot be written to the database
    (a full disk), although it still answers reads."""

    def refused(error: LinkInvalid) -> HTMLResponse:
        if error.expired:
            return page(
                "Liên kết đã hết hạn",
                410,
                "bad",
                text="Liên kết xác nhận này đã hết hạn. Vui lòng dùng liên kết trong lời nhắc mới nhất.",
            )
        return page(
            "Liên kết không hợp lệ",
            400,
            "bad",
            text="Liên kết xác nhận không đúng hoặc đã bị sửa. Vui lòng mở lại liên kết trong tin nhắn gốc.",
        )

    def details(key: str) -> dict | None:
        with engine.connect() as conn:
            row = conn.execute(select(Occurrence.__table__).where(Occurrence.key == key)).first()
        if row is None or row.status == "removed":
            return None
        current = deployment()
        plan = next((p for p in current.plans if p.id == row.plan_id), None)
        item = next((o for o in plan.obligations if o.id == row.item_id), None) if plan else None
        return {
            "plan_title": plan.title if plan else row.plan_id,
            "plan_number": plan.number if plan else None,
            "title": row.title,
            "agency": current.name_of(row.agency_id),
            "due": f"{WEEKDAYS[row.start_date.weekday()]}, {row.start_date:%d/%m/%Y}",
            "to_agency": current.name_of(item.to) if item and item.to else None,
            "via_agency": current.name_of(item.via) if item and item.via else None,
            "confirmed_at": local(row.confirmed_at, tz),
            "confirmed_by": row.confirmed_by,
        }

    def occurrence_key(request: Request) -> str | None:
        """The occurrence a link names (long token or short code); raises LinkInvalid."""
        if "token" in request.path_params:
            return links.occurrence(request.path_params["token"])
        reminder_id = links.reminder_id(request.path_params["code"])
        with engine.connect() as conn:
            return conn.execute(
                select(Reminder.occurrence_key).where(Reminder.id == reminder_id)
            ).scalar_one_or_none()

    def not_found() -> HTMLResponse:
        return page("Không tìm thấy việc cần xác nhận", 404, "bad", text="Việc này không còn trong kế hoạch.")

    async def show(request: Request) -> Response:
        try:
            key = occurrence_key(request)
        except LinkInvalid as error:
            return refused(error)
        values = details(key) if key is not None else None
        if values is None:
            return not_found()
        return page("Xác nhận đã gửi báo cáo", template="confirm.html", **values)

    async def confirm(request: Request) -> Response:
        try:
            key = occurrence_key(request)
        except LinkInvalid as error:
            return refused(error)
        form = await request.form()
        by = str(form.get("by") or "").strip()[:120] or "đầu mối (qua liên kết)"
        if key is None:
            return not_found()
        try:
            done = acknowledge(engine, key, by, utcnow())
        except UnknownOccurrence:
            return not_found()
        when = local(done.confirmed_at, tz)
        if done.already:
            return page(
                "Đã xác nhận trước đó",
                tone="ok",
                text=f"Báo cáo đã được xác nhận lúc {when} bởi {done.confirmed_by}.",
            )
        return page(
            "Đã ghi nhận",
            tone="ok",
            text=f"Cảm ơn. Đã ghi nhận đơn vị đã gửi báo cáo ({when}, {by}). Hệ thống ngừng nhắc việc này.",
        )

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(_: Request) -> Response:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # any database error means not ready
            return PlainTextResponse(f"database unreachable: {type(exc).__name__}", status_code=503)
        if not ready():
            return PlainTextResponse("scheduler not running", status_code=503)
        if writes_failing():
            return PlainTextResponse("database writes failing: sends wait to be recorded", status_code=503)
        return PlainTextResponse("ready")

    async def metrics_page(_: Request) -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return Starlette(
        routes=[
            Route("/xac-nhan/{token}", show, methods=["GET"]),
            Route("/xac-nhan/{token}", confirm, methods=["POST"]),
            Route("/x/{code}", show, methods=["GET"]),
            Route("/x/{code}", confirm, methods=["POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_page),
        ]
    )


def local(moment: datetime | None, tz: tzinfo) -> str | None:
    return f"{moment.astimezone(tz):%H:%M ngày %d/%m/%Y}" if moment else None
