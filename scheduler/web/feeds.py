"""Calendar feeds over HTTP: `/lich/<token>.ics` serves an agency's or a plan's feed
(`scheduler.feeds.content`) to calendar applications; `/lich/lien-ket` (POST) revokes a feed's
link and makes a new one ("Thu hồi và tạo liên kết mới").

The feed needs no session: the signed token (`Links.feed`) is the capability, and it names a
`calendar_feed` row and its nonce. A forged, damaged or revoked token gets a plain 404 that says
nothing more. The body carries ETag and Last-Modified (`calendar_feed.etag`, `.changed_at`), and a
conditional request for an unchanged feed gets 304. `?bao_truoc=N` (0–30) adds an alarm N days
before each event.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from scheduler.accounts.scoping import may_act, may_see
from scheduler.accounts.users import Role, User
from scheduler.config.deployment import Deployment
from scheduler.feeds.content import MAX_ALARM_DAYS, FeedGone, body
from scheduler.outbox import feeds
from scheduler.outbox.feeds import FeedKind
from scheduler.outbox.status import DEFAULT_DUE_SOON_DAYS
from scheduler.render.links import LinkInvalid, Links
from scheduler.web.auth import Auth, forbidden, sign_in_redirect
from scheduler.web.common import page, read_form

CACHE_CONTROL = "private, max-age=900"  # calendar clients poll every few hours anyway
MEDIA_TYPE = "text/calendar; charset=utf-8"


def may_manage(user: User | None, kind: FeedKind, target_id: str, deployment: Deployment) -> bool:
    """Who may revoke a feed's link: for a plan, whoever may act on it; for an agency, admins and
    whoever may act on a plan the agency takes part in."""
    if user is None or user.disabled:
        return False
    if kind is FeedKind.PLAN:
        plan = next((p for p in deployment.plans if p.id == target_id), None)
        return plan is not None and may_act(user, plan)
    if user.role is Role.ADMIN:
        return True
    return any(
        may_act(user, plan) and target_id in deployment.resolve(plan.participants)
        for plan in deployment.plans
    )


def may_view(user: User | None, kind: FeedKind, target_id: str, deployment: Deployment) -> bool:
    """Who is shown a feed's link: those who may see the plan; for an agency, those who may see a
    plan it takes part in (as its board page)."""
    if user is None or user.disabled:
        return False
    if kind is FeedKind.PLAN:
        plan = next((p for p in deployment.plans if p.id == target_id), None)
        return plan is not None and may_see(user, plan)
    if user.role in (Role.ADMIN, Role.VIEWER):
        return True
    return any(
        may_see(user, plan) and target_id in deployment.resolve(plan.participants)
        for plan in deployment.plans
    )


def feed_block(
    engine: Engine, links: Links, deployment: Deployment, user: User | None, kind: FeedKind, target_id: str
) -> dict[str, Any] | None:
    """What a board page shows in "Đăng ký lịch" (the current feed's two URLs, made on first
    view), or None for a user who may not see it."""
    if not may_view(user, kind, target_id, deployment):
        return None
    assert user is not None
    feed = feeds.get_or_create(engine, kind, target_id, user.display_name)
    return {
        "kind": kind.value,
        "target": target_id,
        "https": links.feed_url(feed.id, feed.nonce),
        "webcal": links.feed_webcal_url(feed.id, feed.nonce),
        "manage": may_manage(user, kind, target_id, deployment),
    }


def not_found() -> Response:
    return PlainTextResponse("Not Found", status_code=404, headers={"Cache-Control": "no-store"})


class Feeds:
    def __init__(
        self,
        engine: Engine,
        deployment: Callable[[], Deployment],
        links: Links,
        auth: Auth,
        tz: tzinfo,
        due_soon_days: int = DEFAULT_DUE_SOON_DAYS,
    ) -> None:
        self.engine, self.deployment, self.links, self.auth = engine, deployment, links, auth
        self.tz, self.due_soon_days = tz, due_soon_days

    def routes(self) -> list[Route]:
        return [
            Route("/lich/lien-ket", self.rotate, methods=["POST"]),
            Route("/lich/{token}.ics", self.serve, methods=["GET", "HEAD"]),
        ]

    def serve(self, request: Request) -> Response:
        try:
            feed_id, nonce = self.links.feed(request.path_params["token"])
        except LinkInvalid:
            return not_found()
        feed = feeds.find(self.engine, feed_id, nonce)
        if feed is None:
            return not_found()
        wanted = request.query_params.get("bao_truoc")
        alarm: int | None = None
        if wanted is not None:
            if not wanted.strip().isdigit() or not 0 <= int(wanted) <= MAX_ALARM_DAYS:
                return PlainTextResponse(
                    f"Tham số bao_truoc không hợp lệ: cần số ngày báo trước từ 0 đến {MAX_ALARM_DAYS}, "
                    "ví dụ ?bao_truoc=3. Bỏ tham số này nếu không cần nhắc.",
                    status_code=400,
                )
            alarm = int(wanted)
        today = datetime.now(self.tz).date()
        try:
            built = body(self.engine, self.deployment(), feed.kind, feed.target_id, today, self.tz, alarm,
                         self.due_soon_days)  # fmt: skip
        except FeedGone:
            return not_found()
        changed = feeds.fetched(self.engine, feed, built.etag).replace(microsecond=0)
        etag = f'"{built.etag}"'
        headers = {
            "ETag": etag,
            "Last-Modified": format_datetime(changed, usegmt=True),
            "Cache-Control": CACHE_CONTROL,
        }
        if self.unchanged(request, etag, changed):
            return Response(status_code=304, headers=headers)
        return Response(built.stamped(changed), media_type=MEDIA_TYPE, headers=headers)

    @staticmethod
    def unchanged(request: Request, etag: str, changed: datetime) -> bool:
        """RFC 9110 §13.1: If-None-Match wins over If-Modified-Since."""
        if (given := request.headers.get("if-none-match")) is not None:
            tags = [tag.strip().removeprefix("W/") for tag in given.split(",")]
            return "*" in tags or etag in tags
        if (since := request.headers.get("if-modified-since")) is not None:
            try:
                moment = parsedate_to_datetime(since)
            except (TypeError, ValueError):
                return False
            return moment.tzinfo is not None and changed <= moment
        return False

    async def rotate(self, request: Request) -> Response:
        """Revoke the target's feed links and make a new one; the role is checked here again."""
        try:
            form = await read_form(request)
        except TimeoutError:
            form = None
        if form is None or not self.auth.csrf_ok(request, form):
            return Auth.csrf_refused()
        session = Auth.session(request)
        if session.user is None:
            return sign_in_redirect(request)
        deployment = self.deployment()
        kind_text, target_id = form.get("loai", ""), form.get("ma", "")
        if kind_text not in FeedKind.__members__.values() or not target_id:
            return page("Yêu cầu không hợp lệ", 400, "bad", text="Không rõ lịch nào cần tạo lại liên kết.")
        kind = FeedKind(kind_text)
        if not may_manage(session.user, kind, target_id, deployment):
            return forbidden(session, deployment, "lịch này")
        feeds.rotate(self.engine, kind, target_id, session.user.display_name)
        back = "/ke-hoach/" if kind is FeedKind.PLAN else "/don-vi/"
        return RedirectResponse(f"{back}{quote(target_id, safe='')}?lich=moi#dang-ky-lich", status_code=303)
