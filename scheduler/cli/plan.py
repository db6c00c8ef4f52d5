"""`nhacviec plan …`: a plan's life over the years (next year's plan: `rollover`)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from scheduler.cli.common import err, local_today, out, settings_or_exit, write_or_print
from scheduler.cli.terminal import styled

plan_app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False)

ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="Thư mục cấu hình (mặc định NHACVIEC_CONFIG_DIR).")
]


@plan_app.command("rollover")
def rollover_command(
    plan: Annotated[
        str, typer.Argument(metavar="PLAN", help="Mã kế hoạch trong config/plans/, hoặc tệp .yaml.")
    ],
    year: Annotated[
        int, typer.Option("--year", help="Năm của kế hoạch mới, ví dụ 2027.", min=1990, max=2200)
    ],
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Ghi kế hoạch mới vào tệp (mặc định: in ra màn hình).")
    ] = None,
    new_id: Annotated[
        str | None, typer.Option("--id", help="Mã kế hoạch mới (mặc định: mã cũ, năm thay bằng --year).")
    ] = None,
    force: Annotated[bool, typer.Option(help="Ghi đè tệp --out đã có.")] = False,
    config: ConfigOption = None,
) -> None:
    """Lập kế hoạch năm mới từ một kế hoạch để người phụ trách xem lại."""
    from scheduler.config.rollover import PlanNotFound, find_plan, rollover
    from scheduler.config.yamlfile import ConfigInvalid

    if new_id is not None and not _valid_id(new_id):
        _fail(f"--id: mã '{new_id}' không hợp lệ: chỉ dùng chữ thường không dấu, số và - _ .", 2)
    if out_file is not None and out_file.exists() and not force:
        _fail(f"{out_file}: tệp đã có; chọn tên khác cho --out hoặc thêm --force để ghi đè", 2)
    settings = settings_or_exit()
    config_dir = config or settings.config_dir
    try:
        source = find_plan(config_dir, plan)
        result = rollover(source, year, local_today(settings), new_id)
    except PlanNotFound as exc:
        _fail(str(exc), 2)
    except ConfigInvalid as exc:
        for error in exc.errors:
            err.print(styled("lỗi", "red", f" {error}"), highlight=False, soft_wrap=True)
        err.print(f"{len(exc.errors)} lỗi; chưa lập kế hoạch mới.", style="red")
        raise typer.Exit(1) from None
    if result.plan_id == result.source_id:
        _fail(f"--id: kế hoạch mới cần mã khác mã '{result.source_id}' của kế hoạch cũ", 2)
    write_or_print(result.text, out_file)
    console = out if out_file is not None else err
    where = f"Đã ghi {out_file}" if out_file is not None else "Đã in"
    console.print(
        styled(
            where,
            "green",
            f": kế hoạch '{result.plan_id}' năm {year}, thay thế '{result.source_id}' từ 01/01/{year}; "
            f"{result.one_offs} mục một lần cần xem lại, cùng số và ngày ban hành của kế hoạch. "
            "Sửa các mục có dòng review rồi xóa dòng đó; `nhacviec check` báo lỗi cho đến khi xong.",
        ),
        highlight=False,
        soft_wrap=True,
    )


def _valid_id(text: str) -> bool:
    return re.fullmatch(r"[a-z0-9][a-z0-9_.-]*", text) is not None


def _fail(message: str, code: int) -> NoReturn:

    err.print(styled("lỗi", "red", f" {message}"), highlight=False, soft_wrap=True)
    raise typer.Exit(code)
