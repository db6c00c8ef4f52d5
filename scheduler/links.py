"""Signed, expiring confirmation links: one per (occurrence, agency).

The occurrence key already names the agency, so the token carries just that key,
signed with the deployment's secret. Anyone holding the link may confirm for that
agency and occurrence, and for nothing else.

Zalo and SMS get a short form, `/x/<reminder id>.<expiry day>.<signature>` (about 25
characters after the host instead of 150), so that an SMS with its link fits in one
part; it names a reminder row, which names the occurrence.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from scheduler.settings import Settings

SALT = "nhacviec.confirm"
SHORT_SIGNATURE_BYTES = 9  # 72 bits, 12 characters
DAY = 86400
SECRET_FILE = Path("var/secret.key")


class LinkInvalid(Exception):
    """The token is forged, damaged or expired; `expired` tells which."""

    def __init__(self, expired: bool) -> None:
        super().__init__("liên kết đã hết hạn" if expired else "liên kết không hợp lệ")
        self.expired = expired


def secret_key(settings: Settings) -> str:
    """NHACVIEC_SECRET_KEY, or a random key kept in var/secret.key for the embedded default."""
    if settings.secret_key:
        return settings.secret_key
    if not SECRET_FILE.exists():
        SECRET_FILE.parent.mkdir(parents=True, exist_ok=True)
        SECRET_FILE.touch(mode=0o600)
        SECRET_FILE.write_text(secrets.token_urlsafe(32), encoding="ascii")
    return SECRET_FILE.read_text(encoding="ascii").strip()


class Links:
    def __init__(self, secret: str, public_url: str, max_age_days: int) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=SALT)
        short_key = hashlib.sha256(f"{SALT}.short:{secret}".encode()).digest()
        self._short_hmac = hmac.new(short_key, digestmod=hashlib.sha256)  # copied per link: keyed once
        self.public_url = public_url.rstrip("/")
        self.max_age = max_age_days * 86400

    def short_url(self, reminder_id: int, now: float | None = None) -> str:
        """The short link for a reminder row; valid as long as the long form."""
        expires = (int(now if now is not None else time.time()) + self.max_age) // DAY + 1
        body = f"{_base36(reminder_id)}.{_base36(expires)}"
        return f"{self.public_url}/x/{body}.{self._short_signature(body)}"

    def reminder_id(self, code: str, now: float | None = None) -> int:
        """The reminder row a short code was made for; raises LinkInvalid."""
        body, _, signature = code.rpartition(".")
        ident, _, expires = body.partition(".")
        if not (ident and expires) or not hmac.compare_digest(signature, self._short_signature(body)):
            raise LinkInvalid(expired=False)
        try:
            reminder_id, expiry_day = int(ident, 36), int(expires, 36)
        except ValueError:
            raise LinkInvalid(expired=False) from None
        if expiry_day * DAY <= (now if now is not None else time.time()):
            raise LinkInvalid(expired=True)
        return reminder_id

    def _short_signature(self, body: str) -> str:
        mac = self._short_hmac.copy()
        mac.update(body.encode())
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
            raise LinkInvalid(expired=True) from None
        except BadSignature:
            raise LinkInvalid(expired=False) from None
        if not isinstance(key, str):
            raise LinkInvalid(expired=False)
        return key


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    text = ""
    while True:
        number, digit = divmod(number, 36)
        text = digits[digit] + text
        if number == 0:
            return text
