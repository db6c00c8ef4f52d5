"""Signed, expiring confirmation links: one per (occurrence, agency).

The occurrence key already names the agency, so the token carries just that key,
signed with the deployment's secret. Anyone holding the link may confirm for that
agency and occurrence, and for nothing else.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from scheduler.settings import Settings

SALT = "nhacviec.confirm"
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
        self.public_url = public_url.rstrip("/")
        self.max_age = max_age_days * 86400

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
