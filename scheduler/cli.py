"""The `nhacviec` command line: check, calendar, sync, outbox."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import func, select

from scheduler.dates import format_date, parse_date
from scheduler.events import calendar_events
from scheduler.ics import SUMMARY_PREFIX, to_ics
from scheduler.loader import Deployment, load_config
from scheduler.settings import Settings, SettingsError, load_settings
from scheduler.store import Reminder, Status, open_store, start_of_day_utc
from scheduler.sync import sync as run_sync
from scheduler.yamlfile import ConfigInvalid

app = typer.Typer(
    help="nhacviec: nhắc hạn báo cáo của các kế hoạch (Kế hoạch) cho đầu mối các đơn vị.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
out = Console()
err = Console(stderr=True)

DateOption = Annotated[str | None, typer.Option(help="Ngày dạng dd/mm/yyyy hoặc yyyy-mm-dd.")]
ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="Thư mục cấu hình (mặc định NHACVIEC_CONFIG_DIR).")
]


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        err.print(f"[red]Lỗi cấu hình môi trường:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None


def _deployment(settings: Settings, config: Path | None) -> Deployment:
    try:
        deployment = load_config(config or settings.config_dir)
    except ConfigInvalid as exc:
        for error in exc.errors:
            err.print(f"[red]lỗi[/red] {error}", highlight=False, soft_wrap=True)
        err.print(f"[red]{len(exc.errors)} lỗi; chưa có thay đổi nào được áp dụng.[/red]")
        raise typer.Exit(1) from None
    for warning in deployment.warnings:
        err.print(f"[yellow]cảnh báo[/yellow] {warning}", highlight=False, soft_wrap=True)
    return deployment


def _date(text: str | None, default: date, option: str) -> date:
    if text is None:
        return default
    try:
        return parse_date(text)
    except ValueError as exc:
        err.print(f"[red]{option}:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None


def _today(settings: Settings) -> date:
    return datetime.now(settings.timezone).date()


@app.command()
def check(config: ConfigOption = None) -> None:
    """Kiểm tra toàn bộ cấu hình; thoát với mã khác 0 nếu có lỗi."""
    settings = _settings()
    deployment = _deployment(settings, config)
    contacts = sum(len(c) for c in deployment.contacts.values())
    out.print(
        f"[green]Cấu hình hợp lệ[/green]: {len(deployment.plans)} kế hoạch, "
        f"{len(deployment.agencies)} đơn vị, {len(deployment.groups)} nhóm, {contacts} đầu mối, "
        f"{len(deployment.policies)} chính sách nhắc; {len(deployment.warnings)} cảnh báo.",
        highlight=False,
    )


@app.command()
def calendar(
    from_: Annotated[str | None, typer.Option("--from", help="Từ ngày (mặc định: hôm nay).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Đến ngày (mặc định: 90 ngày tới).")] = None,
    plan: Annotated[str | None, typer.Option(help="Chỉ một kế hoạch (mã).")] = None,
    agency: Annotated[str | None, typer.Option(help="Chỉ các việc của một đơn vị (mã).")] = None,
    ics: Annotated[Path | None, typer.Option(help="Ghi lịch ra tệp .ics (RFC 5545).")] = None,
    config: ConfigOption = None,
) -> None:
    """Lịch hạn báo cáo, đợt hoạt động và ngày kỷ niệm trong một khoảng thời gian."""
    settings = _settings()
    deployment = _deployment(settings, config)
    first = _date(from_, _today(settings), "--from")
    last = _date(to, first + timedelta(days=90), "--to")
    if last < first:
        err.print(f"[red]--to ({format_date(last)}) trước --from ({format_date(first)})[/red]")
        raise typer.Exit(2)
    if plan is not None and plan not in {p.id for p in deployment.plans}:
        err.print(
            f"[red]--plan:[/red] không có kế hoạch '{plan}'; có: {', '.join(p.id for p in deployment.plans)}"
        )
        raise typer.Exit(2)
    if agency is not None and agency not in deployment.agencies:
        err.print(f"[red]--agency:[/red] không có đơn vị '{agency}' trong config/agencies/")
        raise typer.Exit(2)
    events = calendar_events(deployment, first, last, plan, agency)
    if ics is not None:
        ics.write_bytes(to_ics(deployment, events, datetime.now(settings.timezone)))
        out.print(f"Đã ghi {len(events)} sự kiện vào {ics}", highlight=False)
        return
    table = Table(title=f"Lịch từ {format_date(first)} đến {format_date(last)}", show_lines=False)
    for column in ("Ngày", "Loại", "Nội dung", "Kế hoạch", "Đơn vị thực hiện", "Gửi đến / ghi chú"):
        table.add_column(column, overflow="fold")
    for event in events:
        when = format_date(event.start)
        if event.end != event.start:
            when += f" – {format_date(event.end)}"
        notes = []
        if event.to:
            via = f" (qua {deployment.name_of(event.via)})" if event.via else ""
            notes.append(f"{deployment.name_of(event.to)}{via}")
        if event.after:
            notes.append(f"tổng hợp từ '{event.after}'")
        if event.kind == "deadline" and (reason := deployment.workdays.day_off_reason(event.start)):
            effective = deployment.workdays.next_working_day(event.start)
            notes.append(
                f"hạn rơi vào ngày nghỉ ({reason}); ngày làm việc tiếp theo {format_date(effective)}"
            )
        who = "; ".join(deployment.name_of(ref) for ref in event.refs)
        table.add_row(when, SUMMARY_PREFIX[event.kind], event.title, event.plan_id, who, "; ".join(notes))
    out.print(table)
    out.print(f"{len(events)} sự kiện.")


@app.command()
def sync(config: ConfigOption = None) -> None:
    """Ghi lịch nhắc việc vào hàng đợi gửi (outbox); chạy lại nhiều lần không ghi trùng."""
    settings = _settings()
    deployment = _deployment(settings, config)
    engine = open_store(settings.database_url)
    today = _today(settings)
    with Progress(console=err, transient=True) as progress:
        task = progress.add_task("Đồng bộ", total=None, visible=False)

        def report_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total, visible=total >= 1000)

        report = run_sync(engine, deployment, settings, today, report_progress)
    out.print(
        f"Đồng bộ xong ({settings.database_url_redacted}): "
        f"thêm {report.added}, cập nhật {report.updated}, hủy {report.cancelled} nhắc việc; "
        f"lần xuất hiện: mới {report.occurrences_added}, đổi {report.occurrences_changed}, "
        f"bỏ {report.occurrences_removed}."
        + (f" {report.already_past} mốc nhắc đã qua nên không thêm." if report.already_past else ""),
        highlight=False,
    )


@app.command()
def outbox(
    due_before: DateOption = None,
    status: Annotated[
        str | None, typer.Option(help=f"Trạng thái: {', '.join(s.value for s in Status)}.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Số dòng tối đa.")] = 50,
) -> None:
    """Xem hàng đợi nhắc việc."""
    settings = _settings()
    if status is not None and status not in {s.value for s in Status}:
        err.print(f"[red]--status:[/red] '{status}' không có; chọn: {', '.join(s.value for s in Status)}")
        raise typer.Exit(2)
    engine = open_store(settings.database_url)
    query = select(Reminder)
    if status:
        query = query.where(Reminder.status == status)
    if due_before:
        day = _date(due_before, _today(settings), "--due-before")
        query = query.where(Reminder.send_at < start_of_day_utc(day, settings.timezone))
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
        rows = conn.execute(query.order_by(Reminder.send_at, Reminder.id).limit(limit)).all()
    table = Table(
        title=f"Hàng đợi: {total} nhắc việc" + (f" (hiện {len(rows)})" if total > len(rows) else "")
    )
    for column in ("Gửi lúc", "Trạng thái", "Loại", "Kênh", "Người nhận", "Lần xuất hiện", "Lỗi gần nhất"):
        table.add_column(column, overflow="fold")
    for row in rows:
        local = row.send_at.astimezone(settings.timezone)
        table.add_row(
            local.strftime("%d/%m/%Y %H:%M"), row.status, row.kind, row.channel,
            row.recipient, row.occurrence_key, row.last_error or "",
        )  # fmt: skip
    out.print(table)


def main() -> None:
    app()
