"""The Zalo OA token pair, kept in the database and refreshed one at a time.

Zalo's OAuth v4 access token lives about 25 h; the refresh token about 3 months and
is single-use: every refresh returns a new pair and kills the old refresh token. Two
workers refreshing at once would leave the loser with a dead pair, so a refresh runs
under an asyncio.Lock (tasks of this process) and a database lock (processes):
`SELECT … FOR UPDATE` on PostgreSQL, `BEGIN IMMEDIATE` on SQLite. After getting the
lock the row is read again (another process may have rotated the pair already); the
new pair is committed before it is used.

The operator's only fix for a dead refresh token is to run consent again
(`nhacviec zalo authorize`); `alerts()` says when that is needed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
from sqlalchemy import Connection, Engine, Table, select, update
from sqlmodel import Field, Session, SQLModel, col

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class ZaloToken(SQLModel, table=True):
    """The Zalo OA token pair of one app (this module); rotated on every refresh."""

    if TYPE_CHECKING:  # made by the SQLAlchemy mapping: SQLModel does not declare it
        __table__: ClassVar[Table]

    __tablename__ = "zalo_token"

    app_id: str = Field(primary_key=True)
    access_token: str
    refresh_token: str
    access_expires_at: datetime
    refresh_issued_at: datetime  # the refresh token lives about 3 months from here
    version: int = 0  # incremented by every refresh
    last_error: str | None = None  # why the last refresh failed; cleared by the next success
    updated_at: datetime = Field(default_factory=utcnow)


REFRESH_LIFETIME_DAYS = 90  # about three months
REAUTHORIZE = "chạy lại `nhacviec zalo authorize` (quản trị viên OA đồng ý lại) để cấp cặp token mới"


@dataclass(frozen=True)
class TokenPair:
    """What the token endpoint returned."""

    access_token: str
    refresh_token: str
    expires_in: int  # seconds of access-token life


class OAuthError(Exception):
    """The token endpoint refused or could not be reached; the message holds no secret.

    `rejected`: Zalo answered with an error (a dead refresh token, a bad code or secret);
    otherwise the request failed on the way (network, 5xx) and may succeed later.
    """

    def __init__(self, message: str, *, rejected: bool) -> None:
        super().__init__(message)
        self.rejected = rejected


class TokenMissing(Exception):
    """No pair is stored for this app yet: consent has not been given."""


class OAuthClient:
    """Zalo's OAuth v4 token endpoint (form body, `secret_key` header, string `expires_in`)."""

    def __init__(self, oauth_url: str, app_id: str, app_secret: str, timeout: float = 10) -> None:
        self.url = oauth_url.rstrip("/") + "/v4/oa/access_token"
        self.app_id = app_id
        self._secret = app_secret
        self.timeout = timeout

    def refresh(self, refresh_token: str) -> TokenPair:
        return self._call({"refresh_token": refresh_token, "grant_type": "refresh_token"})

    def exchange(self, code: str, code_verifier: str) -> TokenPair:
        return self._call({"code": code, "grant_type": "authorization_code", "code_verifier": code_verifier})

    def _call(self, form: dict[str, str]) -> TokenPair:
        try:
            response = httpx.post(
                self.url,
                data={**form, "app_id": self.app_id},
                headers={"secret_key": self._secret},
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            raise OAuthError(
                f"không gọi được máy chủ OAuth Zalo ({type(exc).__name__})", rejected=False
            ) from None
        if response.status_code >= 500:
            raise OAuthError(f"máy chủ OAuth Zalo trả HTTP {response.status_code}", rejected=False)
        return parse_token_response(response)


def parse_token_response(response: httpx.Response) -> TokenPair:
    try:
        body = response.json()
    except ValueError:
        raise OAuthError(
            f"máy chủ OAuth Zalo trả HTTP {response.status_code} không phải JSON", rejected=False
        ) from None
    if not isinstance(body, dict) or not body.get("access_token") or not body.get("refresh_token"):
        body = body if isinstance(body, dict) else {}
        reason = body.get("error_description") or body.get("error_name") or body.get("message") or ""
        raise OAuthError(
            f"Zalo từ chối cấp token (mã {body.get('error', '?')}): {reason}".rstrip(": "), rejected=True
        )
    try:
        expires_in = int(body.get("expires_in", 90000))  # a string in Zalo's answers
    except (TypeError, ValueError):
        expires_in = 90000
    return TokenPair(str(body["access_token"]), str(body["refresh_token"]), expires_in)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class TokenStore:
    """The pair of one app, shared by every task and process using this database."""

    def __init__(
        self,
        engine: Engine,
        app_id: str,
        oauth: Any,  # has `refresh(refresh_token) -> TokenPair` (blocking; run in a thread)
        *,
        refresh_before: int = 3600,
        refresh_alert_days: int = 80,
    ) -> None:
        self.engine = engine
        self.app_id = app_id
        self.oauth = oauth
        self.refresh_before = timedelta(seconds=refresh_before)
        self.refresh_alert_days = refresh_alert_days
        self._lock = asyncio.Lock()
        self._cached: tuple[str, datetime] | None = None  # (access token, expires at)
        self._warned_on: str | None = None

    # --- public API -------------------------------------------------------

    async def current(self) -> str:
        """A usable access token, refreshed first when it has less than `refresh_before` to live."""
        if self._fresh(self._cached):
            return self._cached[0]  # type: ignore[index]
        row = await asyncio.to_thread(self._read)
        if self._fresh((row.access_token, row.access_expires_at)):
            return self._remember(row)
        async with self._lock:
            return await asyncio.to_thread(self._refresh_locked, lambda r: not self._fresh(self._pair(r)))

    async def refresh_after_auth_error(self, used_token: str) -> str:
        """Zalo refused `used_token` (-124): refresh once, unless the pair was rotated since."""
        async with self._lock:
            return await asyncio.to_thread(self._refresh_locked, lambda r: r.access_token == used_token)

    def store(self, pair: TokenPair) -> None:
        """Save a pair from consent (`nhacviec zalo authorize`), replacing any other."""
        now = utcnow()
        with Session(self.engine) as session:
            row = session.get(ZaloToken, self.app_id) or ZaloToken(
                app_id=self.app_id,
                access_token="",
                refresh_token="",
                access_expires_at=now,
                refresh_issued_at=now,
            )
            row.access_token, row.refresh_token = pair.access_token, pair.refresh_token
            row.access_expires_at = now + timedelta(seconds=pair.expires_in)
            row.refresh_issued_at, row.updated_at = now, now
            row.version, row.last_error = row.version + 1, None
            session.add(row)
            session.commit()
        self._cached = None

    def alerts(self) -> list[str]:
        return alerts(self.engine, self.refresh_alert_days, app_id=self.app_id)

    # --- internals --------------------------------------------------------

    def _fresh(self, pair: tuple[str, datetime] | None) -> bool:
        return pair is not None and _aware(pair[1]) - utcnow() > self.refresh_before

    @staticmethod
    def _pair(row: ZaloToken) -> tuple[str, datetime]:
        return row.access_token, row.access_expires_at

    def _remember(self, row: ZaloToken) -> str:
        self._cached = (row.access_token, _aware(row.access_expires_at))
        self._warn_if_old(row)
        return row.access_token

    def _read(self) -> ZaloToken:
        with Session(self.engine) as session:
            row = session.get(ZaloToken, self.app_id)
            if row is None:
                raise TokenMissing(f"chưa có token Zalo cho ứng dụng {self.app_id}: {REAUTHORIZE}")
            session.expunge(row)
            return row

    def _refresh_locked(self, needed: Callable[[ZaloToken], bool]) -> str:
        """Under the database lock: re-read; refresh if still `needed`; commit; return the token."""
        failure: OAuthError | None = None
        with _locked(self.engine) as conn:
            row = self._select(conn)
            if not needed(row):
                return self._remember(row)
            try:
                pair = self.oauth.refresh(row.refresh_token)
            except OAuthError as exc:
                self._record_failure(conn, exc)  # committed with the transaction, then raised
                failure = exc
            else:
                row = self._save(conn, row, pair)  # committed before anyone uses it
        if failure is not None:
            raise failure
        return self._remember(row)

    def _select(self, conn: Connection) -> ZaloToken:
        query = select(ZaloToken).where(col(ZaloToken.app_id) == self.app_id)
        if conn.dialect.name != "sqlite":
            query = query.with_for_update()
        found = conn.execute(query).first()
        if found is None:
            raise TokenMissing(f"chưa có token Zalo cho ứng dụng {self.app_id}: {REAUTHORIZE}")
        return ZaloToken.model_validate(found._mapping)

    def _save(self, conn: Connection, row: ZaloToken, pair: TokenPair) -> ZaloToken:
        now = utcnow()
        values = {
            "access_token": pair.access_token,
            "refresh_token": pair.refresh_token,
            "access_expires_at": now + timedelta(seconds=pair.expires_in),
            "refresh_issued_at": now,
            "version": row.version + 1,
            "last_error": None,
            "updated_at": now,
        }
        conn.execute(update(ZaloToken).where(col(ZaloToken.app_id) == self.app_id).values(**values))
        log.info("zalo token refreshed", extra={"app_id": self.app_id, "version": row.version + 1})
        return row.model_copy(update=values)

    def _record_failure(self, conn: Connection, exc: OAuthError) -> None:
        text = f"{utcnow():%Y-%m-%d %H:%M} UTC: {exc}"
        conn.execute(
            update(ZaloToken)
            .where(col(ZaloToken.app_id) == self.app_id)
            .values(last_error=text, updated_at=utcnow())
        )
        log.error("zalo token refresh failed", extra={"app_id": self.app_id, "reason": str(exc)})

    def _warn_if_old(self, row: ZaloToken) -> None:
        today = f"{utcnow():%Y-%m-%d}"
        if self._warned_on != today and _age_days(row) > self.refresh_alert_days:
            self._warned_on = today
            log.error("zalo refresh token old", extra={"app_id": self.app_id, "age_days": _age_days(row)})


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """A transaction holding the write lock (SQLite) or ready for FOR UPDATE (PostgreSQL); commits."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # waits up to the busy timeout for other writers
        try:
            yield conn
        except BaseException:
            conn.exec_driver_sql("ROLLBACK")
            raise
        conn.exec_driver_sql("COMMIT")


def _age_days(row: ZaloToken, now: datetime | None = None) -> int:
    return ((now or utcnow()) - _aware(row.refresh_issued_at)).days


def alerts(engine: Engine, refresh_alert_days: int = 80, *, app_id: str | None = None) -> list[str]:
    """What the operator must act on, one Vietnamese line each: failed refreshes, old refresh tokens."""
    with Session(engine) as session:
        query = select(ZaloToken).order_by(ZaloToken.app_id)
        if app_id is not None:
            query = query.where(col(ZaloToken.app_id) == app_id)
        rows = list(session.scalars(query))
    lines: list[str] = []
    for row in rows:
        if row.last_error:
            lines.append(
                f"Zalo OA (ứng dụng {row.app_id}): làm mới token thất bại ({row.last_error}); {REAUTHORIZE}"
            )
        age = _age_days(row)
        if age > refresh_alert_days:
            left = max(REFRESH_LIFETIME_DAYS - age, 0)
            lines.append(
                f"Zalo OA (ứng dụng {row.app_id}): refresh token đã {age} ngày tuổi, "
                f"còn khoảng {left} ngày trước khi hết hạn; {REAUTHORIZE}"
            )
    return lines
