"""`nhacviec db …`: the database's schema, for the operator and for deployments with replicas."""

from __future__ import annotations

from typing import Annotated

import typer

from scheduler.cli.common import err, out, settings_or_exit
from scheduler.cli.terminal import styled
from scheduler.config.settings import redact_url
from scheduler.outbox.store import make_engine, migrate, schema_revisions

db_app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False)


@db_app.command()
def upgrade() -> None:
    """Nâng cấp lược đồ cơ sở dữ liệu lên phiên bản mới nhất (an toàn khi nhiều bản chạy cùng lúc)."""

    engine = make_engine(settings_or_exit().database_url)
    before = migrate(engine)
    head = schema_revisions(engine)[1]
    if before == head:
        out.print(f"Lược đồ đã là bản mới nhất ({head}).")
    else:
        out.print(f"Đã nâng cấp lược đồ từ {before or 'trống'} lên {head}.")


@db_app.command()
def check() -> None:
    """Cho biết lược đồ có phải bản mới nhất không; thoát với mã 1 nếu cần `nhacviec db upgrade`."""

    current, head = schema_revisions(make_engine(settings_or_exit().database_url))
    if current == head:
        out.print(f"Lược đồ là bản mới nhất ({head}).")
        return
    err.print(
        styled(
            f"Lược đồ đang ở bản {current or 'trống'}, bản mới nhất là {head}:",
            "red",
            " chạy `nhacviec db upgrade`.",
        )
    )
    raise typer.Exit(1)


@db_app.command("copy")
def copy_command(
    from_: Annotated[str, typer.Option("--from", help="URL của cơ sở dữ liệu nguồn (lược đồ mới nhất).")],
    to: Annotated[str, typer.Option("--to", help="URL của cơ sở dữ liệu đích (trống).")],
    batch: Annotated[int, typer.Option(min=1, help="Số dòng mỗi lần ghi.")] = 5000,
) -> None:
    """Sao chép toàn bộ dữ liệu sang một cơ sở dữ liệu trống (ví dụ SQLite → PostgreSQL), không mất gì."""
    from scheduler.outbox.db_copy import CopyRefused, copy_database

    try:
        counts = copy_database(from_, to, batch=batch)
    except CopyRefused as exc:
        err.print(styled("Không sao chép:", "red", f" {exc}"), highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    for table, count in counts.items():
        out.print(f"{table}: {count} dòng", highlight=False)
    out.print(
        styled(f"Đã sao chép {sum(counts.values())} dòng", "green", f" sang {redact_url(to)}."),
        highlight=False,
    )
