"""`nhacviec feed create|list|revoke`: the calendar feeds' links (scheduler/outbox/feeds.py)."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Annotated

import typer
from rich import box
from rich.table import Table
from rich.text import Text

from scheduler.cli.common import ConfigOption, deployment_or_exit, links_or_exit, out, settings_or_exit, stop
from scheduler.outbox import feeds
from scheduler.outbox.feeds import FeedKind
from scheduler.outbox.store import open_store

feeds_app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False)
KINDS = {
    "agency": FeedKind.AGENCY,
    "don-vi": FeedKind.AGENCY,
    "plan": FeedKind.PLAN,
    "ke-hoach": FeedKind.PLAN,
}
KindArgument = Annotated[str, typer.Argument(help="agency (đơn vị) hoặc plan (kế hoạch).")]
TargetArgument = Annotated[str, typer.Argument(help="Mã đơn vị hoặc mã kế hoạch, ví dụ hue-2026-bdg.")]
ByOption = Annotated[str, typer.Option("--by", help="Người thực hiện.")]


def _kind(text: str) -> FeedKind:
    kind = KINDS.get(text.strip().lower())
    if kind is None:
        stop("KIND", f"'{text}' không phải loại lịch: dùng agency (đơn vị) hoặc plan (kế hoạch)")
    return kind


@feeds_app.command("create")
def create(
    kind: KindArgument,
    target: TargetArgument,
    by: ByOption = "quản trị (dòng lệnh)",
    new: Annotated[bool, typer.Option("--new", help="Thu hồi liên kết cũ và tạo liên kết mới.")] = False,
    config: ConfigOption = None,
) -> None:
    """In liên kết đăng ký lịch (webcal:// và https://) của một đơn vị hoặc kế hoạch."""
    settings = settings_or_exit()
    feed_kind = _kind(kind)
    deployment = deployment_or_exit(settings, config)
    known = deployment.agencies if feed_kind is FeedKind.AGENCY else {p.id for p in deployment.plans}
    if target not in known:
        what = "đơn vị" if feed_kind is FeedKind.AGENCY else "kế hoạch"
        stop("TARGET", f"không có {what} '{target}' trong cấu hình")
    links = links_or_exit(settings)
    engine = open_store(settings.database_url)
    try:
        if new:
            feed = feeds.rotate(engine, feed_kind, target, by)
        else:
            feed = feeds.get_or_create(engine, feed_kind, target, by)
    finally:
        engine.dispose()
    out.print(Text(f"Đăng ký lịch (webcal): {links.feed_webcal_url(feed.id, feed.nonce)}"), soft_wrap=True)
    out.print(Text(f"Dán vào «Thêm lịch từ URL»: {links.feed_url(feed.id, feed.nonce)}"), soft_wrap=True)


@feeds_app.command("list")
def listing(
    active: Annotated[bool, typer.Option("--active", help="Chỉ các liên kết chưa thu hồi.")] = False,
) -> None:
    """Liệt kê các lịch: loại, đơn vị / kế hoạch, ngày tạo, lần lấy gần nhất, thu hồi."""
    settings = settings_or_exit()
    engine = open_store(settings.database_url)
    try:
        found = feeds.listing(engine, include_revoked=not active)
    finally:
        engine.dispose()
    if not found:
        out.print("Chưa có lịch nào. Tạo bằng `nhacviec feed create plan <mã kế hoạch>`.")
        return
    view = Table(box=box.SIMPLE_HEAD, show_edge=False)
    for heading in ("Số", "Loại", "Đơn vị / kế hoạch", "Tạo lúc", "Tạo bởi", "Lấy gần nhất", "Thu hồi"):
        view.add_column(heading, overflow="fold")
    tz = settings.timezone
    for feed in found:
        cells = [
            str(feed.id),
            "đơn vị" if feed.kind is FeedKind.AGENCY else "kế hoạch",
            feed.target_id,
            _when(feed.created_at, tz),
            feed.created_by,
            _when(feed.last_fetched_at, tz) or "chưa",
            _when(feed.revoked_at, tz) or "",
        ]
        view.add_row(*(Text(cell) for cell in cells))
    out.print(view)


@feeds_app.command("revoke")
def revoke(kind: KindArgument, target: TargetArgument, by: ByOption = "quản trị (dòng lệnh)") -> None:
    """Thu hồi mọi liên kết lịch của một đơn vị hoặc kế hoạch (lịch đã đăng ký ngừng cập nhật)."""
    settings = settings_or_exit()
    feed_kind = _kind(kind)
    engine = open_store(settings.database_url)
    try:
        count = feeds.revoke(engine, feed_kind, target, by)
    finally:
        engine.dispose()
    out.print(Text(f"Đã thu hồi {count} liên kết lịch của {target}."))


def _when(moment: datetime | None, tz: tzinfo) -> str:
    return "" if moment is None else f"{moment.astimezone(tz):%d/%m/%Y %H:%M}"
