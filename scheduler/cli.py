"""The `nhacviec` command line: check, calendar, sync, outbox."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import func, select, update

from notifiers.base import Delivery, Message, NotConfigured, Notifier, NotifierError
from notifiers.registry import channel_names, notifier_class
from scheduler.acks import UnknownOccurrence, acknowledge
from scheduler.daemon import build_notifier, run_daemon
from scheduler.dates import format_date, parse_date
from scheduler.db_cli import db_app
from scheduler.events import calendar_events
from scheduler.ics import SUMMARY_PREFIX, to_ics
from scheduler.links import Links, secret_key
from scheduler.loader import Deployment, load_config
from scheduler.logs import setup_logging
from scheduler.messages import MessageBuilder
from scheduler.planner import Planner
from scheduler.send_test import parse_recipient, sample_message
from scheduler.settings import Settings, SettingsError, load_settings
from scheduler.store import Occurrence, Reminder, Status, open_store, start_of_day_utc, utcnow
from scheduler.sync import sync as run_sync
from scheduler.templates import OUTPUTS, TemplateInvalid, Templates
from scheduler.yamlfile import ConfigInvalid
from scheduler.zalo_cli import zalo_app

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
        deployment = load_config(config or settings.config_dir, settings)
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
    _templates(settings, config)
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
    dead: Annotated[bool, typer.Option("--dead", help="Chỉ các nhắc việc hỏng (= --status dead).")] = False,
    limit: Annotated[int, typer.Option(help="Số dòng tối đa.")] = 50,
) -> None:
    """Xem hàng đợi nhắc việc."""
    settings = _settings()
    status = Status.DEAD.value if dead else status
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
    for column in (
        "Số",
        "Gửi lúc",
        "Trạng thái",
        "Loại",
        "Kênh",
        "Người nhận",
        "Lần xuất hiện",
        "Lỗi gần nhất",
    ):
        table.add_column(column, overflow="fold")
    for row in rows:
        local = row.send_at.astimezone(settings.timezone)
        table.add_row(
            str(row.id), local.strftime("%d/%m/%Y %H:%M"), row.status, row.kind, row.channel,
            row.recipient, row.occurrence_key, row.last_error or "",
        )  # fmt: skip
    out.print(table)


@app.command()
def run(config: ConfigOption = None) -> None:
    """Chạy dịch vụ: gửi nhắc việc đúng giờ, trang xác nhận, bản tổng hợp hằng ngày."""
    settings = _settings()
    if config is not None:
        settings = replace(settings, config_dir=config)
    _deployment(settings, None)  # report configuration errors plainly before starting
    _templates(settings, None)
    setup_logging(settings.secrets)
    raise typer.Exit(run_daemon(settings))


@app.command()
def ack(
    occurrence: Annotated[
        str, typer.Argument(help="Mã lần xuất hiện, ví dụ tth-2020-bdg/bao-cao-nam/2026/tth-so-y-te.")
    ],
    by: Annotated[str, typer.Option(help="Người xác nhận.")] = "quản trị viên (dòng lệnh)",
) -> None:
    """Xác nhận một đơn vị đã gửi báo cáo (như bấm nút trên trang xác nhận)."""
    settings = _settings()
    engine = open_store(settings.database_url)
    try:
        done = acknowledge(engine, occurrence, by, utcnow())
    except UnknownOccurrence:
        err.print(
            f"[red]Không có lần xuất hiện '{occurrence}'.[/red] Xem cột 'Lần xuất hiện' của `nhacviec outbox`."
        )
        raise typer.Exit(1) from None
    when = done.confirmed_at.astimezone(settings.timezone).strftime("%H:%M %d/%m/%Y")
    if done.already:
        out.print(f"Đã được xác nhận trước đó lúc {when} bởi {done.confirmed_by}; không thay đổi gì.")
    else:
        out.print(f"Đã xác nhận lúc {when} ({by}); hủy {done.cancelled} nhắc việc đang chờ.")


@app.command()
def retry(
    reminder_id: Annotated[int | None, typer.Argument(help="Số (id) của nhắc việc hỏng.")] = None,
    all_dead: Annotated[bool, typer.Option("--all-dead", help="Gửi lại mọi nhắc việc hỏng.")] = False,
) -> None:
    """Đưa nhắc việc hỏng (dead) trở lại hàng đợi để gửi ngay."""
    if (reminder_id is None) == (not all_dead):
        err.print("[red]Cho biết một số id, hoặc --all-dead.[/red]")
        raise typer.Exit(2)
    settings = _settings()
    engine = open_store(settings.database_url)
    table = Reminder.__table__
    condition = table.c.status == Status.DEAD
    if reminder_id is not None:
        condition = condition & (table.c.id == reminder_id)
    now = utcnow()
    with engine.begin() as conn:
        count = conn.execute(
            update(table)
            .where(condition)
            .values(status=Status.PENDING, send_at=now, next_attempt_at=None, attempts=0, updated_at=now)
        ).rowcount
    if reminder_id is not None and count == 0:
        err.print(f"[red]Không có nhắc việc số {reminder_id} trong danh sách hỏng.[/red]")
        raise typer.Exit(1)
    out.print(f"Đã đưa {count} nhắc việc trở lại hàng đợi; dịch vụ sẽ gửi trong lần đánh thức tới.")


@app.command()
def preview(
    reminder_id: Annotated[
        int | None, typer.Argument(help="Số (id) của một nhắc việc trong hàng đợi.")
    ] = None,
    plan: Annotated[str | None, typer.Option(help="Kế hoạch (khi không có id).")] = None,
    agency: Annotated[str | None, typer.Option(help="Đơn vị (khi không có id).")] = None,
    kind: Annotated[
        str, typer.Option(help="Loại lời nhắc: upcoming, due, overdue, escalation …")
    ] = "upcoming",
    channel: Annotated[str, typer.Option(help="Kênh: email, zalo, sms.")] = "email",
    config: ConfigOption = None,
) -> None:
    """Xem trước nội dung một lời nhắc mà không gửi."""
    settings = _settings()
    deployment = _deployment(settings, config)
    templates = _templates(settings, config)
    links = Links(secret_key(settings), settings.public_url, settings.link_days)
    builder = MessageBuilder(deployment, templates, links, settings.timezone)
    if reminder_id is not None:
        reminder, occurrence = _stored(settings, reminder_id)
    elif plan is not None and agency is not None:
        reminder, occurrence = _sample(deployment, settings, plan, agency, kind, channel)
    else:
        err.print("[red]Cho biết số id của nhắc việc, hoặc --plan và --agency.[/red]")
        raise typer.Exit(2)
    # Rendered as on the day it goes out, so that "còn N ngày" reads as the recipient will read it.
    message = builder.reminder(reminder, occurrence, (), reminder.send_at, OUTPUTS)
    out.print(f"[bold]Tiêu đề:[/bold] {message.subject}\n", highlight=False)
    out.print(message.text, highlight=False)
    out.print(f"\n[bold]Zalo:[/bold] {message.short}", highlight=False)
    out.print(f"[bold]SMS:[/bold] {message.short_ascii}", highlight=False)


def _stored(settings: Settings, reminder_id: int):
    engine = open_store(settings.database_url)
    with engine.connect() as conn:
        reminder = conn.execute(select(Reminder.__table__).where(Reminder.id == reminder_id)).first()
        occurrence = (
            reminder
            and conn.execute(
                select(Occurrence.__table__).where(Occurrence.key == reminder.occurrence_key)
            ).first()
        )
    if reminder is None:
        err.print(f"[red]Không có nhắc việc số {reminder_id}.[/red]")
        raise typer.Exit(1)
    if occurrence is None:
        err.print("[red]Đây là bản tổng hợp hằng ngày; nó được dựng lúc gửi nên không xem trước được.[/red]")
        raise typer.Exit(1)
    return reminder, occurrence


def _sample(deployment: Deployment, settings: Settings, plan: str, agency: str, kind: str, channel: str):
    """The agency's next reminder of that kind in the plan, as sync would write it."""
    planner = Planner(deployment, settings)
    today = _today(settings)
    for occurrence in planner.occurrences(today, today + timedelta(days=400)):
        event = occurrence.event
        if event.plan_id != plan or occurrence.agency_id != agency:
            continue
        for reminder in planner.reminders(occurrence):
            if reminder.kind == kind:
                row = SimpleNamespace(
                    key=occurrence.key, plan_id=event.plan_id, item_id=event.item_id, period=event.period,
                    agency_id=agency, kind=event.kind, title=event.title, start_date=event.start,
                    end_date=event.end,
                )  # fmt: skip
                return replace(reminder, channel=channel), row
    err.print(
        f"[red]Đơn vị '{agency}' không có lời nhắc '{kind}' nào trong kế hoạch '{plan}' trong 400 ngày tới.[/red]"
    )
    raise typer.Exit(1)


@app.command("import")
def import_(
    document: Annotated[
        Path, typer.Argument(help="Văn bản kế hoạch: .txt, .md, .docx hoặc .pdf có lớp chữ.")
    ],
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Ghi tệp kế hoạch, ví dụ config/plans/ten.yaml.")
    ] = None,
    year: Annotated[int | None, typer.Option(min=1990, max=2200, help="Năm của kế hoạch.")] = None,
    force: Annotated[bool, typer.Option(help="Ghi đè tệp --out đã có.")] = False,
) -> None:
    """Đọc lịch báo cáo từ văn bản kế hoạch và đề xuất tệp kế hoạch để người xem lại."""
    from importer.command import ImportFailed, import_document, print_summary  # not in the daemon's memory

    try:
        found, text = import_document(document, out_file, year, force, _today(_settings()))
    except ImportFailed as exc:
        err.print(f"[red]lỗi[/red] {exc.message}", highlight=False, soft_wrap=True)
        raise typer.Exit(exc.code) from None
    if out_file is None:
        print(text, end="")
    print_summary(found, out if out_file else err, out_file)


@app.command("send-test")
def send_test(
    channel: Annotated[str, typer.Option(help="Kênh: email, zalo, sms, webhook …")],
    to: Annotated[str, typer.Option(help="Người nhận: e-mail, số di động, URL webhook …")],
    kind: Annotated[str, typer.Option(help="Loại lời nhắc dùng làm mẫu.")] = "upcoming",
    config: ConfigOption = None,
) -> None:
    """Gửi thật một tin thử qua một kênh với cấu hình đang dùng và in câu trả lời của nhà cung cấp."""
    settings = _settings()
    deployment = _deployment(settings, config)
    templates = _templates(settings, config)
    try:
        cls = notifier_class(channel)
    except KeyError:
        err.print(f"[red]Kênh '{channel}' không có; các kênh đã cài: {', '.join(channel_names())}.[/red]")
        raise typer.Exit(2) from None
    try:
        recipient = parse_recipient(cls.address, to)
    except ValueError as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    try:
        notifier = build_notifier(channel, settings, deployment, open_store(settings.database_url))
    except NotConfigured as exc:
        err.print(f"[red]Kênh {channel} chưa được cấu hình:[/red] {exc}")
        raise typer.Exit(1) from None
    message = sample_message(templates, channel, recipient, kind)
    try:
        delivery = asyncio.run(_send_once(notifier, message))
    except NotifierError as exc:
        what = "không gửi được tới người nhận này qua kênh" if exc.unreachable else "lỗi"
        err.print(f"[red]{what}:[/red] {exc}", highlight=False)
        if exc.alert:
            err.print("Lỗi cấu hình: kiểm tra khóa, mẫu tin hoặc số dư với nhà cung cấp.")
        elif not exc.permanent:
            err.print(
                "Lỗi tạm thời: thử lại sau" + (f" {exc.retry_after:.0f} giây." if exc.retry_after else ".")
            )
        raise typer.Exit(1) from None
    out.print(f"Đã gửi qua {channel} tới {recipient}: mã của nhà cung cấp {delivery.provider_id or '—'}")
    if delivery.detail:
        out.print(delivery.detail, highlight=False)


async def _send_once(notifier: Notifier, message: Message) -> Delivery:
    try:
        return await notifier.send(message)
    finally:
        await notifier.aclose()


def _templates(settings: Settings, config: Path | None) -> Templates:
    try:
        return Templates((config or settings.config_dir) / "templates")
    except TemplateInvalid as exc:
        for error in exc.errors:
            err.print(f"[red]lỗi mẫu[/red] {error}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


app.add_typer(
    db_app, name="db", help="Cơ sở dữ liệu: nâng cấp lược đồ (upgrade), kiểm tra (check), sao chép (copy)."
)
app.add_typer(
    zalo_app, name="zalo", help="Zalo OA: cấp quyền lần đầu (authorize) và tình trạng mã truy cập (status)."
)


def main() -> None:
    app()
