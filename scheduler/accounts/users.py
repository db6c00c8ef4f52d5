"""Users of the web pages, kept in the `app_user` table, with argon2id password hashes.

The hash is argon2-cffi's `PasswordHasher` (argon2id, RFC 9106's second recommended parameter
set); a hash made with weaker parameters than today's is replaced at the next sign-in. Passwords
are never stored, printed or logged; a login is compared in lower case.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import cache
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, insert, select, update

from scheduler.outbox.store import AppUser, aware, utcnow

HASHER = PasswordHasher()  # argon2id, t=3, m=64 MiB, p=4
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # hashing a longer one is work an attacker could ask for
LOGIN = re.compile(r"[a-z0-9][a-z0-9._@-]{1,63}")


@cache
def _dummy_hash() -> str:
    """Verified against when the login is unknown, so that the answer takes as long as for a real one."""
    return HASHER.hash("nhacviec: no such user")


class Role(StrEnum):
    ADMIN = "admin"  # everything: every plan, every action, the deliveries
    FOCAL = "focal"  # the plans whose focal agency is the user's agency: see and act
    VIEWER = "viewer"  # every plan, read only


ROLE_NAMES = {Role.ADMIN: "quản trị", Role.FOCAL: "cơ quan đầu mối", Role.VIEWER: "chỉ xem"}


class UserError(ValueError):
    """A user cannot be added or changed; the message (Vietnamese) says why."""


@dataclass(frozen=True)
class User:
    id: int
    login: str
    display_name: str
    role: Role
    agency_id: str | None
    disabled: bool
    created_at: datetime
    last_sign_in_at: datetime | None
    # A digest of the password hash: a session made before the password changed no longer matches.
    password_stamp: str

    @property
    def role_name(self) -> str:
        return ROLE_NAMES[self.role]


def hash_password(password: str) -> str:
    check_password(password)
    return HASHER.hash(password)


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"mật khẩu quá ngắn: cần ít nhất {MIN_PASSWORD} ký tự")
    if len(password) > MAX_PASSWORD:
        raise UserError(f"mật khẩu quá dài: tối đa {MAX_PASSWORD} ký tự")


def normal_login(login: str) -> str:
    return login.strip().lower()


def _user(row: Any) -> User:
    return User(
        id=row.id,
        login=row.login,
        display_name=row.display_name,
        role=Role(row.role),
        agency_id=row.agency_id,
        disabled=bool(row.disabled),
        created_at=aware(row.created_at) or utcnow(),
        last_sign_in_at=aware(row.last_sign_in_at),
        password_stamp=hashlib.sha256(row.password_hash.encode()).hexdigest()[:16],
    )


TABLE = AppUser.__table__


def add_user(
    engine: Engine,
    login: str,
    display_name: str,
    role: Role,
    password: str,
    agency_id: str | None = None,
    known_agencies: set[str] | None = None,
) -> User:
    """Add a user; UserError when the login is taken or malformed, the password too short, or a
    focal user has no agency (one of `known_agencies`, when given)."""
    login = normal_login(login)
    if not LOGIN.fullmatch(login):
        raise UserError(
            f"tên đăng nhập '{login}' không hợp lệ: 2–64 ký tự chữ thường không dấu, số, '.', '_', '-', '@'"
        )
    if not display_name.strip():
        raise UserError("cần họ tên hiển thị")
    if role is Role.FOCAL:
        if not agency_id:
            raise UserError("người dùng vai trò focal cần mã đơn vị đầu mối (--agency)")
        if known_agencies is not None and agency_id not in known_agencies:
            raise UserError(f"không có đơn vị '{agency_id}' trong cấu hình")
    elif agency_id:
        raise UserError("chỉ người dùng vai trò focal mới gắn với một đơn vị (--agency)")
    hashed = hash_password(password)
    with engine.begin() as conn:
        if conn.execute(select(TABLE.c.id).where(TABLE.c.login == login)).first():
            raise UserError(f"đã có người dùng '{login}'")
        conn.execute(
            insert(TABLE).values(
                login=login,
                display_name=display_name.strip(),
                role=role.value,
                agency_id=agency_id,
                password_hash=hashed,
                disabled=False,
                created_at=utcnow(),
            )
        )
        row = conn.execute(select(TABLE).where(TABLE.c.login == login)).one()
    return _user(row)


def list_users(engine: Engine) -> list[User]:
    with engine.connect() as conn:
        return [_user(row) for row in conn.execute(select(TABLE).order_by(TABLE.c.login))]


def find_user(engine: Engine, login: str) -> User | None:
    with engine.connect() as conn:
        row = conn.execute(select(TABLE).where(TABLE.c.login == normal_login(login))).first()
    return _user(row) if row else None


def user_by_id(engine: Engine, user_id: int) -> User | None:
    with engine.connect() as conn:
        row = conn.execute(select(TABLE).where(TABLE.c.id == user_id)).first()
    return _user(row) if row else None


def set_disabled(engine: Engine, login: str, disabled: bool = True) -> User:
    with engine.begin() as conn:
        done = conn.execute(
            update(TABLE).where(TABLE.c.login == normal_login(login)).values(disabled=disabled)
        )
    if not done.rowcount:
        raise UserError(f"không có người dùng '{normal_login(login)}'")
    user = find_user(engine, login)
    assert user is not None
    return user


def set_password(engine: Engine, login: str, password: str) -> User:
    """A new password: the user's open sessions end (their stamp no longer matches)."""
    hashed = hash_password(password)
    with engine.begin() as conn:
        done = conn.execute(
            update(TABLE).where(TABLE.c.login == normal_login(login)).values(password_hash=hashed)
        )
    if not done.rowcount:
        raise UserError(f"không có người dùng '{normal_login(login)}'")
    user = find_user(engine, login)
    assert user is not None
    return user


class SignIn(StrEnum):
    OK = "ok"
    WRONG = "wrong"  # unknown login or wrong password: the page does not say which
    DISABLED = "disabled"  # right password, account disabled


def authenticate(engine: Engine, login: str, password: str) -> tuple[SignIn, User | None]:
    """Check a login and password. On success record the sign-in and, when the hash was made
    with older parameters, replace it. An unknown login costs as much time as a known one."""
    with engine.connect() as conn:
        row = conn.execute(select(TABLE).where(TABLE.c.login == normal_login(login))).first()
    if row is None or len(password) > MAX_PASSWORD:
        with contextlib.suppress(VerificationError):
            HASHER.verify(_dummy_hash(), password[:MAX_PASSWORD])
        return SignIn.WRONG, None
    try:
        HASHER.verify(row.password_hash, password)
    except (VerificationError, InvalidHashError):
        return SignIn.WRONG, None
    if row.disabled:
        return SignIn.DISABLED, _user(row)
    values: dict[str, Any] = {"last_sign_in_at": utcnow()}
    if HASHER.check_needs_rehash(row.password_hash):
        values["password_hash"] = HASHER.hash(password)
    with engine.begin() as conn:
        conn.execute(update(TABLE).where(TABLE.c.id == row.id).values(**values))
        row = conn.execute(select(TABLE).where(TABLE.c.id == row.id)).one()
    return SignIn.OK, _user(row)
