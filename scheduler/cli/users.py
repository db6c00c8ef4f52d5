"""`nhacviec user …`: the accounts of the web pages (scheduler/accounts/users.py).

A password is read with a hidden prompt, asked twice, or with `--password-stdin` from the first
line of standard input (for scripts); it is never printed nor logged."""

from __future__ import annotations

import sys
from datetime import tzinfo
from typing import Annotated

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from scheduler.accounts.users import (
    MIN_PASSWORD,
    Role,
    User,
    UserError,
    add_user,
    check_password,
    list_users,
    set_disabled,
    set_password,
)
from scheduler.cli.common import ConfigOption, deployment_or_exit, err, out, settings_or_exit
from scheduler.cli.terminal import styled
from scheduler.outbox.store import open_store

users_app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False)

StdinOption = Annotated[
    bool,
    typer.Option(
        "--password-stdin", help="Đọc mật khẩu từ dòng đầu của đầu vào chuẩn (cho script), không hỏi."
    ),
]


def _refuse(problem: str) -> typer.Exit:
    err.print(styled("Không thực hiện được:", "red", f" {problem}."), highlight=False, soft_wrap=True)
    return typer.Exit(1)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(
            f"Mật khẩu (ít nhất {MIN_PASSWORD} ký tự)",
            hide_input=True,
            confirmation_prompt="Nhập lại mật khẩu",
        )
    try:
        check_password(password)
    except UserError as exc:
        raise _refuse(str(exc)) from None
    return password


@users_app.command("add")
def add(
    login: Annotated[str, typer.Argument(help="Tên đăng nhập (chữ thường không dấu, số, . _ - @).")],
    name: Annotated[str, typer.Option("--name", help="Họ tên hiển thị.")],
    role: Annotated[
        Role,
        typer.Option("--role", help="admin: mọi việc; focal: kế hoạch của đơn vị mình; viewer: chỉ xem."),
    ],
    agency: Annotated[
        str | None, typer.Option("--agency", help="Mã đơn vị đầu mối (bắt buộc với vai trò focal).")
    ] = None,
    password_stdin: StdinOption = False,
    config: ConfigOption = None,
) -> None:
    """Thêm người dùng của trang web."""
    settings = settings_or_exit()
    known = set(deployment_or_exit(settings, config).agencies) if role is Role.FOCAL and agency else None
    password = _password(password_stdin)
    engine = open_store(settings.database_url)
    try:
        user = add_user(engine, login, name, role, password, agency, known_agencies=known)
    except UserError as exc:
        raise _refuse(str(exc)) from None
    finally:
        engine.dispose()
    out.print(f"Đã thêm người dùng {user.login} ({user.display_name}, {user.role_name}).")


@users_app.command("list")
def list_() -> None:
    """Liệt kê người dùng: vai trò, đơn vị, trạng thái, lần đăng nhập cuối."""
    settings = settings_or_exit()
    engine = open_store(settings.database_url)
    try:
        users = list_users(engine)
    finally:
        engine.dispose()
    if not users:
        out.print("Chưa có người dùng nào. Thêm bằng `nhacviec user add`.")
        return
    view = Table(box=box.SIMPLE_HEAD, show_edge=False)
    view.add_column("Tên đăng nhập", no_wrap=True)
    for heading in ("Họ tên", "Vai trò", "Đơn vị", "Trạng thái", "Đăng nhập gần nhất"):
        view.add_column(heading, overflow="fold")
    for user in users:
        view.add_row(*(Text(cell) for cell in _row(user, settings.timezone)))
    out.print(view)


def _row(user: User, tz: tzinfo) -> list[str]:
    last = "chưa" if user.last_sign_in_at is None else f"{user.last_sign_in_at.astimezone(tz):%d/%m/%Y %H:%M}"
    return [
        user.login,
        user.display_name,
        user.role_name,
        user.agency_id or "",
        "đã khóa" if user.disabled else "hoạt động",
        last,
    ]


@users_app.command("disable")
def disable(
    login: Annotated[str, typer.Argument(help="Tên đăng nhập.")],
    enable: Annotated[bool, typer.Option("--enable", help="Mở khóa lại thay vì khóa.")] = False,
) -> None:
    """Khóa một người dùng (phiên đang mở kết thúc ngay); --enable để mở khóa."""
    engine = open_store(settings_or_exit().database_url)
    try:
        user = set_disabled(engine, login, not enable)
    except UserError as exc:
        raise _refuse(str(exc)) from None
    finally:
        engine.dispose()
    out.print(f"Đã {'mở khóa' if enable else 'khóa'} người dùng {user.login}.")


@users_app.command("passwd")
def passwd(
    login: Annotated[str, typer.Argument(help="Tên đăng nhập.")],
    password_stdin: StdinOption = False,
) -> None:
    """Đặt mật khẩu mới (các phiên đang mở của người dùng kết thúc)."""
    settings = settings_or_exit()
    password = _password(password_stdin)
    engine = open_store(settings.database_url)
    try:
        user = set_password(engine, login, password)
    except UserError as exc:
        raise _refuse(str(exc)) from None
    finally:
        engine.dispose()
    out.print(f"Đã đổi mật khẩu của {user.login}.")
