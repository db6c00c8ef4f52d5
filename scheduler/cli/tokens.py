"""`nhacviec token …`: the JSON API's bearer tokens (scheduler/accounts/tokens.py).

`create` prints the token once (to standard output alone, so that a script can capture it);
it cannot be shown again: only its SHA-256 and its first characters are kept."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Annotated

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from scheduler.accounts.tokens import Scope, TokenError, create_token, list_tokens, revoke_token
from scheduler.accounts.users import list_users
from scheduler.cli.common import err, out, settings_or_exit
from scheduler.cli.terminal import styled
from scheduler.outbox.store import open_store

tokens_app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False)


def _refuse(problem: str) -> typer.Exit:
    err.print(styled("Không thực hiện được:", "red", f" {problem}."), highlight=False, soft_wrap=True)
    return typer.Exit(1)


@tokens_app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="Tên token (duy nhất), ví dụ eoffice-so-noi-vu.")],
    scope: Annotated[Scope, typer.Option("--scope", help="read: chỉ đọc; write: đọc và xác nhận, gửi lại.")],
    user: Annotated[str, typer.Option("--user", help="Tên đăng nhập của người dùng mà token mang quyền.")],
) -> None:
    """Tạo token cho API; token chỉ được in ra một lần."""
    engine = open_store(settings_or_exit().database_url)
    try:
        token, secret = create_token(engine, name, scope, user)
    except TokenError as exc:
        raise _refuse(str(exc)) from None
    finally:
        engine.dispose()
    err.print(
        f"Đã tạo token số {token.id} «{token.name}» (phạm vi {token.scope.value}). Lưu token dưới đây "
        "ngay: nó không được hiển thị lại.",
        highlight=False,
        soft_wrap=True,
    )
    print(secret)


def _when(moment: datetime | None, tz: tzinfo, never: str) -> str:
    return never if moment is None else f"{moment.astimezone(tz):%d/%m/%Y %H:%M}"


@tokens_app.command("list")
def list_() -> None:
    """Liệt kê token: tên, người dùng, phạm vi, ngày tạo, lần dùng gần nhất, thu hồi."""
    settings = settings_or_exit()
    engine = open_store(settings.database_url)
    try:
        tokens = list_tokens(engine)
        logins = {u.id: u.login for u in list_users(engine)}
    finally:
        engine.dispose()
    if not tokens:
        out.print("Chưa có token nào. Tạo bằng `nhacviec token create`.")
        return
    tz = settings.timezone
    view = Table(box=box.SIMPLE_HEAD, show_edge=False)
    view.add_column("Số", no_wrap=True)
    for heading in ("Tên", "Người dùng", "Phạm vi", "Mở đầu", "Tạo lúc", "Dùng gần nhất", "Thu hồi"):
        view.add_column(heading, overflow="fold")
    for token in tokens:
        cells = [
            str(token.id),
            token.name,
            logins.get(token.user_id, f"#{token.user_id}"),
            token.scope.value,
            f"{token.prefix}…",
            _when(token.created_at, tz, ""),
            _when(token.last_used_at, tz, "chưa dùng"),
            _when(token.revoked_at, tz, "—"),
        ]
        view.add_row(*(Text(cell) for cell in cells))
    out.print(view)


@tokens_app.command("revoke")
def revoke(which: Annotated[str, typer.Argument(help="Số hoặc tên của token.")]) -> None:
    """Thu hồi một token: các yêu cầu dùng nó bị từ chối ngay."""
    engine = open_store(settings_or_exit().database_url)
    try:
        token = revoke_token(engine, which)
    except TokenError as exc:
        raise _refuse(str(exc)) from None
    finally:
        engine.dispose()
    out.print(Text(f"Đã thu hồi token số {token.id} «{token.name}»."))
