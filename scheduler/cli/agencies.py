"""`nhacviec agencies …`: the agency and contact lists to and from spreadsheets (.xlsx, .csv)."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from scheduler.cli.common import (
    deployment_or_exit,
    err,
    local_today,
    out,
    settings_or_exit,
    stop,
    write_or_print,
)
from scheduler.cli.terminal import styled

if TYPE_CHECKING:
    from scheduler.config.agency_sheets import Issue

agencies_app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="Thư mục cấu hình (mặc định NHACVIEC_CONFIG_DIR).")
]


@agencies_app.command("import")
def import_command(
    sheet_file: Annotated[Path, typer.Argument(metavar="FILE", help="Bảng tính .xlsx hoặc .csv (UTF-8).")],
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Ghi tệp đơn vị, ví dụ config/agencies/ten.yaml.")
    ] = None,
    force: Annotated[bool, typer.Option(help="Ghi đè tệp --out đã có.")] = False,
    sheet: Annotated[str | None, typer.Option(help="Tên trang (mặc định: trang 'Đơn vị').")] = None,
    config: ConfigOption = None,
) -> None:
    """Đọc danh sách đơn vị, đầu mối từ bảng tính và đề xuất tệp config/agencies/*.yaml."""
    from scheduler.config.agency_sheets import SheetInvalid, import_sheet  # openpyxl: only when used

    if out_file is not None and out_file.exists() and not force:
        err.print(
            styled(
                "lỗi", "red", f" {out_file}: tệp đã có; chọn tên khác cho --out hoặc thêm --force để ghi đè"
            ),
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(2)
    settings = settings_or_exit()
    config_dir = config or settings.config_dir
    try:
        result = import_sheet(
            sheet_file, config_dir, out_file, sheet=sheet, settings=settings, today=local_today(settings)
        )
    except SheetInvalid as exc:
        _print_warnings(exc.warnings)
        for error in exc.errors:
            err.print(styled("lỗi", "red", f" {error}"), highlight=False, soft_wrap=True)
        err.print(f"{len(exc.errors)} lỗi; chưa ghi tệp nào.", style="red")
        raise typer.Exit(1) from None
    _print_warnings(result.warnings)
    write_or_print(result.text, out_file)
    summary = (
        f"trang '{result.sheet}' của {sheet_file.name}: {result.agencies} đơn vị, {result.contacts} đầu mối, "
        f"{result.groups} nhóm"
        + (
            f" ({len(result.new_groups)} nhóm mới: {', '.join(result.new_groups)})"
            if result.new_groups
            else ""
        )
        + f"; {len(result.warnings)} cảnh báo. Cấu hình kèm tệp này hợp lệ."
    )
    console = out if out_file is not None else err
    console.print(styled("Đã đọc", "green", f" {summary}"), highlight=False, soft_wrap=True)
    if out_file is not None:
        console.print(
            f"Đã ghi {out_file}; chạy `nhacviec sync` (hoặc khởi động lại dịch vụ) để áp dụng.",
            highlight=False,
        )
        agencies_dir = (config_dir / "agencies").resolve()
        if out_file.resolve().parent != agencies_dir:
            err.print(
                styled("cảnh báo", "yellow", f" {out_file} không nằm trong {config_dir / 'agencies'}: "),
                "nhacviec chỉ đọc các tệp ở đó; chuyển tệp vào đó để dùng",
                highlight=False,
                soft_wrap=True,
            )


def _print_warnings(warnings: list[Issue]) -> None:

    for warning in warnings:
        err.print(styled("cảnh báo", "yellow", f" {warning}"), highlight=False, soft_wrap=True)


@agencies_app.command("export")
def export_command(
    xlsx: Annotated[
        Path | None, typer.Option(help="Ghi bảng tính Excel (.xlsx): trang Đơn vị và Nhóm.")
    ] = None,
    csv: Annotated[Path | None, typer.Option(help="Ghi tệp CSV (UTF-8 có BOM, dấu phẩy).")] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="Chỉ các đơn vị, nhóm khai báo trong tệp này của config/agencies/."),
    ] = None,
    force: Annotated[bool, typer.Option(help="Ghi đè tệp đã có.")] = False,
    config: ConfigOption = None,
) -> None:
    """Xuất danh sách đơn vị, đầu mối ra bảng tính (không có --xlsx/--csv: CSV ra màn hình)."""
    from scheduler.config.agency_sheets import agencies_in, export_table, write_csv, write_xlsx
    from scheduler.config.yamlfile import ConfigInvalid

    if xlsx is not None and csv is not None:
        stop("--xlsx, --csv", "chọn một trong hai")
    target = xlsx or csv
    if target is not None and target.exists() and not force:
        stop(
            f"--{'xlsx' if xlsx else 'csv'}",
            f"{target}: tệp đã có; chọn tên khác hoặc thêm --force để ghi đè",
        )
    if target is not None and target.suffix.lower() != (".xlsx" if xlsx else ".csv"):
        stop(f"--{'xlsx' if xlsx else 'csv'}", f"{target}: tên tệp cần đuôi {'.xlsx' if xlsx else '.csv'}")
    settings = settings_or_exit()
    deployment = deployment_or_exit(settings, config)
    only = None
    if file is not None:
        agencies_dir = (config or settings.config_dir) / "agencies"
        candidate = file if file.is_file() else agencies_dir / file
        if not candidate.is_file() or candidate.resolve().parent != agencies_dir.resolve():
            stop("--file", f"không có tệp {file} trong {agencies_dir}")
        try:
            only = agencies_in(candidate)
        except (
            ConfigInvalid
        ) as exc:  # unreachable after deployment_or_exit, kept for a file changed meanwhile
            stop("--file", str(exc))
    table = export_table(deployment, only)
    try:
        if xlsx is not None:
            write_xlsx(table, xlsx)
        elif csv is not None:
            with csv.open("w", encoding="utf-8", newline="") as stream:
                write_csv(table, stream)
        else:
            buffer = io.StringIO()
            write_csv(table, buffer, bom=False)
            sys.stdout.write(buffer.getvalue())
    except OSError as exc:
        stop(f"--{'xlsx' if xlsx else 'csv'}", f"không ghi được {target}: {exc.strerror or exc}", 1)
    console = out if target is not None else err
    console.print(
        f"Đã xuất {table.agencies} đơn vị, {table.contacts} đầu mối, {len(table.groups)} nhóm"
        + (f" vào {target}." if target is not None else "."),
        highlight=False,
    )
