"""`nhacviec report`: "Bảng theo dõi tình hình báo cáo" of one deadline or of a plan's year, to an
.xlsx or a .csv file (scheduler/reports/), judged as the board judges it today.

Bad input gets one Vietnamese line naming the option and exit 2; nothing to report or a file
that cannot be written: exit 1. The file is built in memory first, so a failure leaves no
half-written file behind."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from scheduler.cli.common import (
    YEARS,
    ConfigOption,
    choose,
    deployment_or_exit,
    err,
    local_today,
    out,
    settings_or_exit,
    stop,
)
from scheduler.cli.terminal import styled
from scheduler.outbox.store import open_store
from scheduler.reports import tracking
from scheduler.reports.csvfile import csv_bytes
from scheduler.reports.xlsx import xlsx_bytes


def report(
    plan: Annotated[str, typer.Option("--plan", help="Mã kế hoạch.")],
    deadline: Annotated[
        str | None,
        typer.Option("--deadline", help="Một hạn báo cáo: <mã việc>/<kỳ>, ví dụ bao-cao-nam/2026."),
    ] = None,
    year: Annotated[
        int | None,
        typer.Option("--year", help="Cả năm (mặc định: năm của kế hoạch, khi không có --deadline)."),
    ] = None,
    xlsx: Annotated[Path | None, typer.Option("--xlsx", help="Ghi ra tệp Excel (.xlsx).")] = None,
    csv: Annotated[
        Path | None, typer.Option("--csv", help="Ghi ra tệp CSV (UTF-8, mở được bằng Excel).")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Xuất bảng theo dõi tình hình báo cáo của một hạn hoặc cả năm của kế hoạch."""
    if (xlsx is None) == (csv is None):
        stop("--xlsx/--csv", "cần đúng một trong hai: --xlsx TỆP hoặc --csv TỆP")
    if deadline is not None and year is not None:
        stop("--year", "chỉ dùng một trong hai: --deadline (một hạn) hoặc --year (cả năm)")
    item_id, _, period = (deadline or "").partition("/")
    if deadline is not None and (not item_id or not period):
        stop("--deadline", f"'{deadline}' không đúng dạng <mã việc>/<kỳ>, ví dụ bao-cao-nam/2026")
    if year is not None and year not in YEARS:
        stop("--year", f"{year} không có hạn báo cáo (năm từ {YEARS.start} đến {YEARS.stop - 1})")
    settings = settings_or_exit()
    deployment = deployment_or_exit(settings, config)
    choose("--plan", plan, (p.id for p in deployment.plans), "kế hoạch ")
    spec = next(p for p in deployment.plans if p.id == plan)
    today = local_today(settings)
    engine = open_store(settings.database_url)
    try:
        if deadline is not None:
            made = tracking.deadline_report(
                engine, deployment, spec, item_id, period, today, settings.timezone, settings.due_soon_days
            )
        else:
            made = tracking.year_report(
                engine, deployment, spec, year or spec.year, today, settings.timezone, settings.due_soon_days
            )
    except tracking.ReportNotFound as exc:
        err.print(styled("lỗi", "red", f" {exc}"), highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
    target = xlsx or csv
    assert target is not None
    data = xlsx_bytes(made) if xlsx is not None else csv_bytes(made)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    except OSError as exc:
        err.print(styled("lỗi", "red", f" không ghi được {target}: {exc.strerror or exc}"), soft_wrap=True)
        raise typer.Exit(1) from None
    out.print(
        f"Đã ghi {target}: {len(made.lines)} dòng, {len(made.deadlines)} hạn báo cáo; "
        f"{tracking.counts_text(made.progress)}.",
        highlight=False,
        soft_wrap=True,
    )
