"""Bearer tokens of the JSON API (`scheduler/api/`), kept in the `api_token` table.

A token is 32 random bytes (URL-safe base64, prefixed `nv_`), shown once when created and never
again: the table keeps its SHA-256 (a token of that entropy needs no slow hash) and its first
characters, to recognise it. A token acts for one user, with that user's role
(`scheduler.accounts.scoping`), and with a scope: `read` reads, `write` also writes. A revoked
token, or one whose user is disabled, is refused. Its last use is written at most once a minute.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Engine, insert, select, update

from scheduler.accounts.users import User, find_user, normal_login, user_by_id
from scheduler.outbox.store import ApiToken, aware, utcnow

PREFIX = "nv_"
SHOWN = 8  # characters of the token kept to recognise it ("nv_AbCdE")
LAST_USE_EVERY = timedelta(minutes=1)
MAX_NAME = 80
TABLE = ApiToken.__table__


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"


class TokenError(ValueError):
    """A token cannot be created or revoked; the message (Vietnamese) says why."""


@dataclass(frozen=True)
class Token:
    id: int
    name: str
    user_id: int
    scope: Scope
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _token(row: Any) -> Token:
    return Token(
        id=row.id,
        name=row.name,
        user_id=row.user_id,
        scope=Scope(row.scope),
        prefix=row.prefix,
        created_at=aware(row.created_at) or utcnow(),
        last_used_at=aware(row.last_used_at),
        revoked_at=aware(row.revoked_at),
    )


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()


def create_token(engine: Engine, name: str, scope: Scope, login: str) -> tuple[Token, str]:
    """A new token for the user `login`: (its row, the secret to show once)."""
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise TokenError(f"tên token cần 1–{MAX_NAME} ký tự in được, ví dụ: eoffice-so-noi-vu")
    if name.isdigit():
        raise TokenError("tên token không được chỉ gồm chữ số (số là mã của token)")
    user = find_user(engine, login)
    if user is None:
        raise TokenError(f"không có người dùng '{normal_login(login)}'")
    if user.disabled:
        raise TokenError(f"người dùng '{user.login}' đã bị khóa")
    secret = PREFIX + secrets.token_urlsafe(32)
    with engine.begin() as conn:
        if conn.execute(select(TABLE.c.id).where(TABLE.c.name == name)).first():
            raise TokenError(f"đã có token tên '{name}'")
        conn.execute(
            insert(TABLE).values(
                name=name,
                user_id=user.id,
                scope=scope.value,
                token_hash=digest(secret),
                prefix=secret[:SHOWN],
                created_at=utcnow(),
            )
        )
        row = conn.execute(select(TABLE).where(TABLE.c.name == name)).one()
    return _token(row), secret


def list_tokens(engine: Engine) -> list[Token]:
    with engine.connect() as conn:
        return [_token(row) for row in conn.execute(select(TABLE).order_by(TABLE.c.id))]


def revoke_token(engine: Engine, which: str) -> Token:
    """Revoke the token whose id or name is `which` (revoking twice keeps the first time)."""
    column = TABLE.c.id if which.isdigit() else TABLE.c.name
    value: int | str = int(which) if which.isdigit() else which.strip()
    with engine.begin() as conn:
        row = conn.execute(select(TABLE).where(column == value)).first()
        if row is None:
            raise TokenError(f"không có token '{which}'")
        if row.revoked_at is None:
            conn.execute(update(TABLE).where(TABLE.c.id == row.id).values(revoked_at=utcnow()))
            row = conn.execute(select(TABLE).where(TABLE.c.id == row.id)).one()
    return _token(row)


def authenticate_token(engine: Engine, secret: str) -> tuple[Token, User] | None:
    """The token and its user for a bearer secret, or None (unknown, revoked, user disabled)."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    hashed = digest(secret)
    with engine.connect() as conn:
        row = conn.execute(select(TABLE).where(TABLE.c.token_hash == hashed)).first()
    # The lookup is by the hash of a random secret: its time says nothing of the secret; the
    # comparison is made in constant time all the same.
    if row is None or not hmac.compare_digest(row.token_hash, hashed) or row.revoked_at is not None:
        return None
    user = user_by_id(engine, row.user_id)
    if user is None or user.disabled:
        return None
    token = _token(row)
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USE_EVERY:
        with engine.begin() as conn:
            conn.execute(update(TABLE).where(TABLE.c.id == token.id).values(last_used_at=now))
    return token, user
