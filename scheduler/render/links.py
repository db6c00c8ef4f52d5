"""Signed, expiring confirmation links: one per (occurrence, agency).

The occurrence key already names the agency, so the token carries just that key,
signed with the deployment's secret. Anyone holding the link may confirm for that
agency and occurrence, and for nothing else.

Zalo and SMS get a short form, `/x/<reminder id>.<expiry day>.<signature>` (about 25
characters after the host instead of 150), so that an SMS with its link fits in one
part; it names a reminder row, which names the occurrence. The signature covers that
occurrence too: a row id handed out again to another agency's reminder (a database
restored from an older backup) does not make an old link valid for it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import re
import secrets
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from scheduler.config.settings import MIN_SECRET_BYTES, Settings, SettingsError
from scheduler.outbox import feeds
from scheduler.outbox.feeds import FeedKind
from scheduler.outbox.store import sqlite_file

SALT = "nhacviec.confirm"
BOARD_SALT = "nhacviec.board"  # the digest's read-only link to a plan's board: its own salt
BOARD_DAYS = 14  # how long that link opens the board
FEED_SALT = "nhacviec.feed"  # a calendar feed's capability URL: its own salt, no expiry (revocable)
SHORT_SIGNATURE_BYTES = 9  # 72 bits, 12 characters
DAY = 86400
KEY_FILE = "secret.key"  # beside the SQLite database
SHORT_CODE = re.compile(r"([0-9a-z]{1,12})\.([0-9a-z]{1,8})\.([A-Za-z0-9_-]{12})")


class LinkInvalid(Exception):
    """The token is forged, damaged or expired; `expired` tells which.

    `hint` is the occurrence the link names, when it can be read: checked when `expired` (the
    signature is good, only its time has passed), unchecked otherwise (a damaged or forged link
    says what it likes). The refusal page uses it only to say whom to call."""

    def __init__(self, expired: bool, hint: str | None = None) -> None:
        super().__init__("liên kết đã hết hạn" if expired else "liên kết không hợp lệ")
        self.expired = expired
        self.hint = hint


def secret_key(settings: Settings) -> str:
    """NHACVIEC_SECRET_KEY, or for an SQLite database a random key kept beside its file
    (`secret.key`), created on first use. Raises SettingsError when there is none to use:
    PostgreSQL replicas must all sign alike, so they need the shared variable."""
    if settings.secret_key:
        return settings.secret_key  # its length is checked by load_settings
    database = sqlite_file(settings.database_url)
    if database is None:
        raise SettingsError(
            "chưa đặt NHACVIEC_SECRET_KEY: với PostgreSQL, mọi bản sao của dịch vụ phải ký liên kết "
            "xác nhận bằng cùng một khóa. Tạo khóa bằng `python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'` rồi đặt cùng một giá trị NHACVIEC_SECRET_KEY "
            "(hoặc NHACVIEC_SECRET_KEY_FILE) cho mọi bản sao"
        )
    path = database.parent / KEY_FILE
    try:
        if not path.exists():
            _create_key_file(path)
        key = path.read_bytes().strip()
    except OSError as exc:
        raise SettingsError(
            f"không tạo hoặc đọc được khóa ký liên kết {path}: {exc.strerror}; "
            "kiểm tra quyền ghi thư mục này, hoặc đặt NHACVIEC_SECRET_KEY"
        ) from None
    if len(key) < MIN_SECRET_BYTES:
        raise SettingsError(
            f"{path}: khóa ký liên kết chỉ có {len(key)} byte, cần ít nhất {MIN_SECRET_BYTES}. "
            "Xóa tệp này để dịch vụ tạo khóa mới (các liên kết xác nhận đã gửi sẽ không dùng được "
            "nữa), hoặc đặt NHACVIEC_SECRET_KEY"
        )
    try:
        return key.decode()
    except UnicodeDecodeError:
        raise SettingsError(
            f"{path}: khóa ký liên kết không phải văn bản UTF-8; xóa tệp này để tạo khóa mới"
        ) from None


def _create_key_file(path: Path) -> None:
    """Write a new random key at `path` unless one is there. The key is written whole to a
    temporary file, then linked into place: processes starting together read either no file
    or a complete key, never an empty one, and whichever links first wins for all of them."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{KEY_FILE}.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(handle, "w", encoding="ascii") as file:
            file.write(secrets.token_urlsafe(32) + "\n")
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):  # another process was first: its key is the key
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


class Links:
    def __init__(self, secret: str, public_url: str, max_age_days: int) -> None:
        if not secret:
            raise ValueError("a link-signing key is required")
        self._serializer = URLSafeTimedSerializer(secret, salt=SALT)
        short_key = hashlib.sha256(f"{SALT}.short:{secret}".encode()).digest()
        self._short_hmac = hmac.new(short_key, digestmod=hashlib.sha256)  # copied per link: keyed once
        self.public_url = public_url.rstrip("/")
        self.max_age = max_age_days * 86400
        self._board = URLSafeTimedSerializer(secret, salt=BOARD_SALT)
        self._feed = URLSafeSerializer(secret, salt=FEED_SALT)

    def short_url(self, reminder_id: int, occurrence_key: str, now: float | None = None) -> str:
        """The short link for a reminder row of `occurrence_key`; valid as long as the long form."""
        expires = (int(now if now is not None else time.time()) + self.max_age) // DAY + 1
        body = f"{_base36(reminder_id)}.{_base36(expires)}"
        return f"{self.public_url}/x/{body}.{self._short_signature(body, occurrence_key)}"

    def short_occurrence(
        self, code: str, occurrence_of: Callable[[int], str | None], now: float | None = None
    ) -> str:
        """The occurrence a short code was made for; raises LinkInvalid. `occurrence_of` gives
        the occurrence of a reminder row (None: no such row): the code is checked against the
        occurrence the row names now, so a reused row id does not carry an old link over."""
        match = SHORT_CODE.fullmatch(code)
        if match is None:
            raise LinkInvalid(expired=False)
        ident, expires, signature = match.groups()
        key = occurrence_of(int(ident, 36))
        body = f"{ident}.{expires}"
        if key is None or not hmac.compare_digest(
            signature.encode(), self._short_signature(body, key).encode()
        ):
            raise LinkInvalid(expired=False, hint=key)
        if int(expires, 36) * DAY <= (now if now is not None else time.time()):
            raise LinkInvalid(expired=True, hint=key)
        return key

    def _short_signature(self, body: str, occurrence_key: str) -> str:
        mac = self._short_hmac.copy()
        mac.update(f"{body}:{occurrence_key}".encode())
        digest = mac.digest()[:SHORT_SIGNATURE_BYTES]
        return base64.urlsafe_b64encode(digest).decode()

    def token(self, occurrence_key: str) -> str:
        return self._serializer.dumps(occurrence_key)

    def url(self, occurrence_key: str) -> str:
        return f"{self.public_url}/xac-nhan/{self.token(occurrence_key)}"

    def occurrence(self, token: str) -> str:
        """The occurrence key a token was made for; raises LinkInvalid."""
        try:
            key = self._serializer.loads(token, max_age=self.max_age)
        except SignatureExpired:
            raise LinkInvalid(expired=True, hint=self._payload(token)) from None
        except BadSignature:
            raise LinkInvalid(expired=False, hint=self._payload(token)) from None
        if not isinstance(key, str):
            raise LinkInvalid(expired=False)
        return key

    def board_token(self, plan_id: str) -> str:
        """A token that opens the plan's board read-only, without an account, for BOARD_DAYS."""
        return self._board.dumps(plan_id)

    def board_url(self, plan_id: str) -> str:
        """The digest's read-only link: `/ke-hoach/<plan>?xem=<token>`."""
        return f"{self.public_url}/ke-hoach/{quote(plan_id, safe='')}?xem={self.board_token(plan_id)}"

    def board_plan(self, token: str) -> str:
        """The plan a board token was made for; raises LinkInvalid (expired, forged, damaged)."""
        try:
            plan_id = self._board.loads(token, max_age=BOARD_DAYS * DAY)
        except SignatureExpired:
            raise LinkInvalid(expired=True) from None
        except BadSignature:
            raise LinkInvalid(expired=False) from None
        if not isinstance(plan_id, str):
            raise LinkInvalid(expired=False)
        return plan_id

    def feed_token(self, feed_id: int, nonce: str) -> str:
        """A calendar feed's token: it names the `calendar_feed` row and its nonce. It does not
        expire (calendar clients poll for years); revoking the row is what ends it."""
        return self._feed.dumps([feed_id, nonce])

    def feed_url(self, feed_id: int, nonce: str) -> str:
        """`https://…/lich/<token>.ics` (the scheme of NHACVIEC_PUBLIC_URL)."""
        return f"{self.public_url}/lich/{self.feed_token(feed_id, nonce)}.ics"

    def feed_webcal_url(self, feed_id: int, nonce: str) -> str:
        """The same feed as `webcal://…`, which calendar applications open as a subscription."""
        url = self.feed_url(feed_id, nonce)
        return "webcal://" + url.split("://", 1)[1]

    def feed(self, token: str) -> tuple[int, str]:
        """(row id, nonce) a feed token names; raises LinkInvalid when forged or damaged."""
        try:
            payload = self._feed.loads(token)
        except BadSignature:
            raise LinkInvalid(expired=False) from None
        if (
            not isinstance(payload, list)
            or len(payload) != 2
            or not isinstance(payload[0], int)
            or not isinstance(payload[1], str)
        ):
            raise LinkInvalid(expired=False)
        return payload[0], payload[1]

    def _payload(self, token: str) -> str | None:
        """The occurrence key a token carries, its signature unchecked; None when unreadable."""
        try:
            _, payload = self._serializer.loads_unsafe(token)
        except Exception:  # any damage: there is nothing to read
            return None
        return payload if isinstance(payload, str) and len(payload) <= 300 else None


class FeedLinks:
    """The https link of an agency's or a plan's current calendar feed, for the messages (the
    reminders to an agency, the digest of a plan): the feed row is made on first use. A link is
    kept `cache_seconds`, so a revoked link may still go out that long; a database error gives
    None (the message goes without it rather than not at all)."""

    BY = "nhacviec (thư nhắc việc)"

    def __init__(
        self,
        engine: Engine,
        links: Links,
        cache_seconds: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine, self.links, self.cache_seconds, self.clock = engine, links, cache_seconds, clock
        self._cache: dict[tuple[FeedKind, str], tuple[float, str]] = {}

    def url(self, kind: FeedKind, target_id: str) -> str | None:
        now = self.clock()
        found = self._cache.get((kind, target_id))
        if found is not None and now - found[0] < self.cache_seconds:
            return found[1]
        try:
            feed = feeds.get_or_create(self.engine, kind, target_id, self.BY)
        except SQLAlchemyError:
            return None
        url = self.links.feed_url(feed.id, feed.nonce)
        self._cache[(kind, target_id)] = (now, url)
        return url


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, digit = divmod(number, 36)
        text = digits[digit] + text
        if number == 0:
            return text
