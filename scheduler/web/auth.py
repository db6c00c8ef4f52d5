"""Sign-in, sessions, CSRF tokens and single sign-on for the web pages.

- **Session**: one cookie (`nhacviec_session`), signed with the deployment's secret
  (itsdangerous, its own salt), HttpOnly, SameSite=Lax, Secure when NHACVIEC_PUBLIC_URL is
  https. It holds the user's id, a stamp of their password hash (a new password ends every
  session), a CSRF token and the time of the last request. A session idle for longer than
  NHACVIEC_SESSION_IDLE_MINUTES is signed out; each request moves that time on. A disabled user
  is signed out at their next request. Every visitor gets the cookie (without a user) before
  they sign in, so that the sign-in form has a CSRF token too; signing in issues a new token.
- **CSRF**: every form carries the session's token in a hidden `csrf` field, and every POST
  (sign-in and sign-out included) whose field does not match it is refused (403).
- **Throttling**: scheduler/accounts/throttle.py, per login and per client address.
- **SSO**: with NHACVIEC_TRUSTED_USER_HEADER set, a request coming straight from one of
  NHACVIEC_TRUSTED_PROXIES that carries the header is signed in as the user of that login (who
  must exist and not be disabled). The header from any other address is ignored. The client
  address (for throttling) is the peer's, or, from a trusted proxy, the last address of
  X-Forwarded-For that is not itself a trusted proxy.

Other pages read `request.state.session` (a `Session`: `.user`, `.csrf`) and answer with
`sign_in_redirect` or `forbidden` when the user may not see them.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Any
from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Engine
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scheduler.accounts.scoping import may_operate, visible_plans
from scheduler.accounts.throttle import Throttle
from scheduler.accounts.users import Role, SignIn, User, authenticate, find_user, user_by_id
from scheduler.config.deployment import Deployment
from scheduler.config.settings import Settings
from scheduler.outbox.store import utcnow
from scheduler.web.common import page, read_form

COOKIE = "nhacviec_session"
SALT = "nhacviec.session"
REFRESH_SECONDS = 60  # the cookie's time of last use is rewritten at most this often
SIGN_IN = "/dang-nhap"
SIGN_OUT = "/dang-xuat"
API_PREFIX = "/api/v1"  # the JSON API: bearer tokens only, never this cookie (so no CSRF either)
FEED_PREFIX, FEED_SUFFIX = "/lich/", ".ics"  # calendar feeds: the URL is the capability, no session


def sessionless(path: str) -> bool:
    """Requests that neither read nor set the session cookie: the JSON API and the calendar
    feeds, which calendar applications fetch for years (a cookie there is only noise)."""
    if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
        return True
    return path.startswith(FEED_PREFIX) and path.endswith(FEED_SUFFIX)


@dataclass(frozen=True)
class AuthSettings:
    secret: str = field(repr=False)
    secure: bool = False  # the cookie only over https
    idle: timedelta = timedelta(minutes=60)
    trusted_user_header: str = ""  # lower case; "" = no SSO
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = ()

    @classmethod
    def of(cls, settings: Settings, secret: str) -> AuthSettings:
        return cls(
            secret=secret,
            secure=settings.public_url.lower().startswith("https://"),
            idle=timedelta(minutes=settings.session_idle_minutes),
            trusted_user_header=settings.trusted_user_header,
            trusted_proxies=settings.trusted_proxies,
        )


@dataclass
class Session:
    user: User | None = None
    csrf: str = ""
    seen: float = 0.0
    expired: bool = False  # a signed-in session ended by idleness (the sign-in page says so)
    sso_refused: str | None = None  # the proxy named a login that does not exist or is disabled
    via_sso: bool = False
    dirty: bool = False  # the cookie must be (re)written

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {"c": self.csrf, "t": int(self.seen)}
        if self.user is not None and not self.via_sso:
            data |= {"u": self.user.id, "s": self.user.password_stamp}
        return data


def _in(address: str, networks: Sequence[IPv4Network | IPv6Network]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)


def client_address(request: Request, proxies: Sequence[IPv4Network | IPv6Network]) -> str:
    peer = request.client.host if request.client else ""
    if not _in(peer, proxies):
        return peer
    hops = [hop.strip() for hop in request.headers.get("x-forwarded-for", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _in(hop, proxies):
            return hop
    return peer


def local_next(target: str | None) -> str:
    """A path on this site to go to after signing in; anything else is "/"."""
    # Browsers drop tabs and line breaks from a URL ("/\t/evil.example" is "//evil.example"): any
    # control character or space makes it "/" too.
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and not any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in target)
    ):
        return target
    return "/"


def sign_in_redirect(request: Request) -> Response:
    """To the sign-in page, and back here afterwards; it says so when the session has expired."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    expired = "&het-han=1" if Auth.session(request).expired else ""
    return RedirectResponse(f"{SIGN_IN}?tiep={quote(target, safe='')}{expired}", status_code=303)


def who(user: User, deployment: Deployment) -> str:
    """ "Nguyễn Văn A (nva, cơ quan đầu mối: Sở Nội vụ)"."""
    role = user.role_name
    if user.role is Role.FOCAL and user.agency_id:
        role += f": {deployment.name_of(user.agency_id)}"
    return f"{user.display_name} ({user.login}, {role})"


def scope_text(user: User, deployment: Deployment) -> str:
    if user.role is Role.ADMIN:
        return "Bạn được xem và thao tác trên mọi kế hoạch."
    if user.role is Role.VIEWER:
        return "Bạn được xem mọi kế hoạch, không được thao tác."
    plans = visible_plans(user, deployment.plans)
    agency = deployment.name_of(user.agency_id) if user.agency_id else "(chưa gắn đơn vị)"
    if not plans:
        return f"Bạn được xem các kế hoạch do {agency} làm đầu mối; hiện chưa có kế hoạch nào như vậy."
    return f"Bạn được xem các kế hoạch do {agency} làm đầu mối: " + "; ".join(p.title for p in plans) + "."


def forbidden(session: Session, deployment: Deployment, what: str = "trang này") -> Response:
    """The 403 page: who is signed in, and what they may see."""
    if session.user is None:
        return page("Không có quyền truy cập", 403, "bad", text="Vui lòng đăng nhập.")
    return page(
        "Không có quyền truy cập",
        403,
        "bad",
        template="forbidden.html",
        user=session.user,
        csrf=session.csrf,
        text=f"Tài khoản của bạn không được xem hoặc thao tác {what}.",
        identity=who(session.user, deployment),
        scope=scope_text(session.user, deployment),
    )


class Auth:
    """The session middleware, the sign-in and sign-out routes, and the checks pages use."""

    def __init__(
        self,
        engine: Engine,
        deployment: Callable[[], Deployment],
        settings: AuthSettings,
        tz: tzinfo,
        throttle: Throttle | None = None,
    ) -> None:
        self.engine = engine
        self.deployment = deployment
        self.settings = settings
        self.tz = tz
        self.throttle = throttle or Throttle()
        self.serializer = URLSafeSerializer(settings.secret, salt=SALT)

    # --- the session, on every request ---

    def middleware(self, app: ASGIApp) -> ASGIApp:
        async def with_session(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or sessionless(scope.get("path", "")):
                await app(scope, receive, send)
                return
            session = self.load(Request(scope))
            scope.setdefault("state", {})["session"] = session

            async def send_with_cookie(message: Message) -> None:
                if message["type"] == "http.response.start" and session.dirty:
                    cookie = self.cookie(session).encode("latin-1")
                    message = {**message, "headers": [*message.get("headers", ()), (b"set-cookie", cookie)]}
                await send(message)

            await app(scope, receive, send_with_cookie)

        return with_session

    def load(self, request: Request) -> Session:
        now = utcnow().timestamp()
        session = Session(csrf=secrets.token_urlsafe(24), seen=now, dirty=True)
        raw = request.cookies.get(COOKIE)
        data: Any = None
        if raw:
            try:
                data = self.serializer.loads(raw)
            except BadSignature:
                data = None
        if isinstance(data, dict) and isinstance(data.get("c"), str) and isinstance(data.get("t"), int):
            session = Session(csrf=data["c"], seen=data["t"])
            if now - session.seen > self.settings.idle.total_seconds():
                session = Session(csrf=secrets.token_urlsafe(24), seen=now, dirty=True)
                session.expired = "u" in data
            else:
                if now - session.seen >= REFRESH_SECONDS:
                    session.seen, session.dirty = now, True
                if isinstance(data.get("u"), int):
                    user = user_by_id(self.engine, data["u"])
                    if user and not user.disabled and user.password_stamp == data.get("s"):
                        session.user = user
                    else:  # disabled, deleted or a new password: signed out
                        session.csrf, session.dirty = secrets.token_urlsafe(24), True
        self._single_sign_on(request, session)
        return session

    def _single_sign_on(self, request: Request, session: Session) -> None:
        header = self.settings.trusted_user_header
        if not header or not (login := request.headers.get(header, "").strip()):
            return
        peer = request.client.host if request.client else ""
        if not _in(peer, self.settings.trusted_proxies):
            return  # anyone can send the header: only the proxy's counts
        user = find_user(self.engine, login)
        if user is None or user.disabled:
            session.user, session.sso_refused = None, login
            return
        session.user, session.via_sso, session.expired = user, True, False

    def cookie(self, session: Session) -> str:
        value = self.serializer.dumps(session.payload())
        parts = [f"{COOKIE}={value}", "Path=/", "HttpOnly", "SameSite=Lax"]
        if self.settings.secure:
            parts.append("Secure")
        return "; ".join(parts)

    # --- the checks ---

    @staticmethod
    def session(request: Request) -> Session:
        found = request.scope.get("state", {}).get("session")
        return found if isinstance(found, Session) else Session()

    def csrf_ok(self, request: Request, form: dict[str, str]) -> bool:
        expected = self.session(request).csrf
        given = form.get("csrf", "")
        return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())

    @staticmethod
    def csrf_refused() -> Response:
        return page(
            "Biểu mẫu không hợp lệ",
            403,
            "bad",
            text="Biểu mẫu đã hết hạn hoặc không được gửi từ trang của hệ thống. "
            "Vui lòng tải lại trang rồi thử lại.",
        )

    def sso_refused(self, session: Session) -> Response:
        return page(
            "Tài khoản chưa được cấp quyền",
            403,
            "bad",
            text=f"Tài khoản {session.sso_refused} (đăng nhập một lần qua cổng của cơ quan) chưa được tạo "
            "hoặc đã bị khóa trong hệ thống nhắc việc. Vui lòng liên hệ quản trị viên.",
        )

    # --- the routes ---

    def routes(self) -> list[Route]:
        return [
            Route(SIGN_IN, self.sign_in_form, methods=["GET"]),
            Route(SIGN_IN, self.sign_in, methods=["POST"]),
            Route(SIGN_OUT, self.sign_out, methods=["POST"]),
        ]

    def _form(
        self, request: Request, status: int = 200, error: str = "", login: str = "", target: str = "/"
    ) -> Response:
        session = self.session(request)
        expired = session.expired or request.query_params.get("het-han")
        notice = "Phiên làm việc đã hết hạn do lâu không thao tác. Vui lòng đăng nhập lại." if expired else ""
        if request.query_params.get("da-dang-xuat"):
            notice = "Bạn đã đăng xuất."
        return page(
            "Đăng nhập",
            status,
            template="signin.html",
            csrf=session.csrf,
            error=error,
            notice=notice,
            login=login,
            target=target,
        )

    async def sign_in_form(self, request: Request) -> Response:
        session = self.session(request)
        target = local_next(request.query_params.get("tiep"))
        if session.sso_refused:
            return self.sso_refused(session)
        if session.user is not None:
            return RedirectResponse(target, status_code=303)
        return self._form(request, target=target)

    async def sign_in(self, request: Request) -> Response:
        try:
            form = await read_form(request)
        except TimeoutError:
            return page("Hết thời gian chờ", 408, "bad", text="Trình duyệt gửi quá chậm. Vui lòng thử lại.")
        if form is None:
            return page("Nội dung gửi lên quá lớn", 413, "bad", text="Vui lòng mở lại trang đăng nhập.")
        if not self.csrf_ok(request, form):
            return self.csrf_refused()
        login, password = form.get("login", "").strip()[:64], form.get("password", "")
        target = local_next(form.get("tiep"))
        address = client_address(request, self.settings.trusted_proxies)
        if refusal := self.throttle.refused(login, address):
            until = refusal.until.astimezone(self.tz)
            seconds = max(1, int((refusal.until - utcnow()).total_seconds()))
            reason = "tài khoản này" if refusal.by_account else "máy của bạn"
            return page(
                "Tạm ngừng đăng nhập",
                429,
                "bad",
                headers={"Retry-After": str(seconds)},
                text=f"Đã nhập sai mật khẩu quá nhiều lần từ {reason}. Để bảo vệ tài khoản, hệ thống tạm "
                f"ngừng nhận đăng nhập đến {until:%H:%M} ngày {until:%d/%m/%Y}. Nếu quên mật khẩu, "
                "vui lòng liên hệ quản trị viên để đặt lại.",
            )
        result, user = await asyncio.to_thread(authenticate, self.engine, login, password)
        if result is SignIn.WRONG or user is None:
            self.throttle.failed(login, address)
            return self._form(
                request, 401, "Tên đăng nhập hoặc mật khẩu không đúng.", login=login, target=target
            )
        if result is SignIn.DISABLED:
            return page(
                "Tài khoản đã bị khóa",
                403,
                "bad",
                text="Tài khoản này đã bị khóa. Vui lòng liên hệ quản trị viên của hệ thống.",
            )
        self.throttle.succeeded(login)
        session = self.session(request)
        # A new token at sign-in: a token seen before it (a shared computer) is worth nothing after.
        session.user, session.csrf, session.seen = user, secrets.token_urlsafe(24), utcnow().timestamp()
        session.expired, session.dirty = False, True
        return RedirectResponse(target, status_code=303)

    async def sign_out(self, request: Request) -> Response:
        try:
            form = await read_form(request) or {}
        except TimeoutError:
            form = {}
        if not self.csrf_ok(request, form):
            return self.csrf_refused()
        session = self.session(request)
        session.user, session.csrf, session.dirty = None, secrets.token_urlsafe(24), True
        return RedirectResponse(f"{SIGN_IN}?da-dang-xuat=1", status_code=303)

    # --- "/" ---

    async def home(self, request: Request) -> Response:
        session = self.session(request)
        if session.sso_refused:
            return self.sso_refused(session)
        if session.user is None:
            return sign_in_redirect(request)
        deployment = self.deployment()
        plans = [
            {
                "id": plan.id,
                "title": plan.title,
                "number": plan.number,
                "year": plan.year,
                "focal": deployment.name_of(plan.focal_agency),
            }
            for plan in sorted(
                visible_plans(session.user, deployment.plans), key=lambda p: (-p.year, p.title)
            )
        ]
        return page(
            "Các kế hoạch",
            template="plans.html",
            user=session.user,
            csrf=session.csrf,
            plans=plans,
            identity=who(session.user, deployment),
            scope=scope_text(session.user, deployment),
            via_sso=session.via_sso,
            operator=may_operate(session.user),
        )


def local_time(moment: datetime, tz: tzinfo) -> str:
    return f"{moment.astimezone(tz):%H:%M ngày %d/%m/%Y}"
