"""`nhacviec zalo …`: give consent for the Zalo OA (OAuth v4 with PKCE) and show the tokens' state."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select
from sqlmodel import Session, col

from notifiers.zalo import ZaloOptions
from notifiers.zalo.consent import code_from, consent_url, pkce_pair
from notifiers.zalo.tokens import (
    REFRESH_LIFETIME_DAYS,
    OAuthClient,
    OAuthError,
    TokenStore,
    ZaloToken,
    alerts,
)
from scheduler.cli.common import deployment_or_exit, settings_or_exit
from scheduler.cli.terminal import console, styled
from scheduler.config.settings import Settings
from scheduler.outbox.store import open_store

zalo_app = typer.Typer(
    help="Kênh Zalo ZNS: cấp quyền cho Official Account và xem trạng thái token.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
out = console()
err = console(stderr=True)
ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="Thư mục cấu hình (mặc định NHACVIEC_CONFIG_DIR).")
]


def _zalo(config: Path | None) -> tuple[ZaloOptions, str, Settings]:
    settings = settings_or_exit()
    options = deployment_or_exit(settings, config).channel("zalo").options
    secret = settings.channel_env.get("ZALO_APP_SECRET", "")
    if not isinstance(options, ZaloOptions) or not options.app_id:
        err.print("Chưa khai báo channels.zalo.options.app_id trong config/channels.yaml", style="red")
        raise typer.Exit(2)
    if not secret:
        err.print("Chưa đặt NHACVIEC_ZALO_APP_SECRET (khóa bí mật của ứng dụng Zalo)", style="red")
        raise typer.Exit(2)
    return options, secret, settings


@zalo_app.command()
def authorize(
    redirect_uri: Annotated[
        str | None,
        typer.Option(help="URL chuyển hướng đã đăng ký với ứng dụng Zalo (mặc định NHACVIEC_PUBLIC_URL)."),
    ] = None,
    code: Annotated[str | None, typer.Option(help="Mã code (hoặc URL chuyển hướng) đã nhận.")] = None,
    verifier: Annotated[
        str | None, typer.Option(help="code_verifier của lần mở URL cấp quyền (bắt buộc khi dùng --code).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Cấp quyền cho Official Account (OAuth v4, PKCE) và lưu cặp token vào cơ sở dữ liệu."""
    options, secret, settings = _zalo(config)
    if code is not None and verifier is None:
        err.print("--code cần kèm --verifier (in ra ở lần chạy mở URL cấp quyền)", style="red")
        raise typer.Exit(2)
    state = None
    if code is None:
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(16)
        url = consent_url(
            options.oauth_url, options.app_id, redirect_uri or settings.public_url, challenge, state
        )
        out.print("Mở URL sau bằng tài khoản quản trị viên OA và bấm “Cho phép”:", highlight=False)
        out.print(url, highlight=False, soft_wrap=True)
        out.print(
            f"code_verifier (dùng với --verifier nếu dán mã sau): {verifier}", highlight=False, soft_wrap=True
        )
        code = typer.prompt("Dán URL chuyển hướng (hoặc mã code)")
    try:
        pasted = code_from(code, state)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    try:
        pair = OAuthClient(options.oauth_url, options.app_id, secret, options.timeout).exchange(
            pasted, verifier or ""
        )
    except OAuthError as exc:
        err.print(styled("Không đổi được mã lấy token:", "red", f" {exc}"), highlight=False)
        raise typer.Exit(1) from None
    engine = open_store(settings.database_url)
    TokenStore(engine, options.app_id, None).store(pair)
    expires = datetime.now(settings.timezone).timestamp() + pair.expires_in
    when = datetime.fromtimestamp(expires, settings.timezone)
    out.print(
        styled(
            "Đã lưu token Zalo",
            "green",
            f" cho ứng dụng {options.app_id}: access token hết hạn lúc {when:%H:%M %d/%m/%Y} (tự làm mới); "
            f"refresh token dùng được khoảng {REFRESH_LIFETIME_DAYS} ngày.",
        ),
    )


@zalo_app.command()
def status(config: ConfigOption = None) -> None:
    """Tuổi của token Zalo và các cảnh báo cần xử lý; thoát với mã 1 nếu có cảnh báo."""
    options, _, settings = _zalo(config)
    engine = open_store(settings.database_url)
    tz = settings.timezone
    with Session(engine) as session:
        row = session.scalars(select(ZaloToken).where(col(ZaloToken.app_id) == options.app_id)).first()
    if row is None:
        err.print(
            styled(f"Chưa có token cho ứng dụng {options.app_id}:", "red", " chạy `nhacviec zalo authorize`.")
        )
        raise typer.Exit(1)
    now = datetime.now(UTC)
    expires = row.access_expires_at.replace(tzinfo=row.access_expires_at.tzinfo or UTC)
    issued = row.refresh_issued_at.replace(tzinfo=row.refresh_issued_at.tzinfo or UTC)
    left = (expires - now).total_seconds() / 3600
    out.print(f"Ứng dụng {row.app_id}, lần làm mới thứ {row.version}", highlight=False)
    out.print(
        f"  access token: hết hạn lúc {expires.astimezone(tz):%H:%M %d/%m/%Y}"
        + (f" (còn {left:.1f} giờ)" if left > 0 else " (đã hết hạn)"),
        highlight=False,
    )
    out.print(
        f"  refresh token: cấp lúc {issued.astimezone(tz):%H:%M %d/%m/%Y}, {(now - issued).days} ngày tuổi",
        highlight=False,
    )
    found = alerts(engine, options.refresh_alert_days, app_id=options.app_id)
    for line in found:
        err.print(styled("cảnh báo", "yellow", f" {line}"), highlight=False, soft_wrap=True)
    if found:
        raise typer.Exit(1)
    out.print("Không có cảnh báo.", style="green")
