"""The `nhacviec` command line: check, calendar, sync, outbox."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import replace
from datetime import datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import select

from notifiers.base import Delivery, Message, NotConfigured, Notifier, NotifierError
from notifiers.registry import channel_names, notifier_class
from scheduler.calendar.dates import format_date
from scheduler.cli.actions import actions_app
from scheduler.cli.agencies import agencies_app
from scheduler.cli.common import (
    ConfigOption,
    DateOption,
    choose,
    deployment_or_exit,
    err,
    is_reminder_id,
    links_or_exit,
    local_today,
    option_date,
    out,
    settings_or_exit,
    stop,
)
from scheduler.cli.db import db_app
from scheduler.cli.feeds import feeds_app
from scheduler.cli.outbox_listing import FORMATS, write_csv, write_json
from scheduler.cli.outbox_listing import table as listing
from scheduler.cli.plan import plan_app
from scheduler.cli.report import report as report_command
from scheduler.cli.send_test import parse_recipient, trial_message
from scheduler.cli.terminal import styled
from scheduler.cli.tokens import tokens_app
from scheduler.cli.users import users_app
from scheduler.cli.zalo import zalo_app
from scheduler.config import validity
from scheduler.config.deployment import Deployment
from scheduler.config.settings import Settings
from scheduler.config.yamlfile import ConfigInvalid
from scheduler.outbox.acks import ReferenceInvalid, UnknownOccurrence, acknowledge, report_reference
from scheduler.outbox.queries import SORTS, list_reminders, retry_dead
from scheduler.outbox.store import Occurrence, Reminder, Status, open_store, start_of_day_utc, utcnow
from scheduler.outbox.sync import sync as run_sync
from scheduler.plan.events import calendar_events
from scheduler.plan.ics import SUMMARY_PREFIX, to_ics
from scheduler.plan.kinds import OccurrenceKind
from scheduler.plan.planner import PlannedReminder, Planner
from scheduler.render.messages import MessageBuilder
from scheduler.render.templates import OUTPUTS, REMINDER_KINDS, TemplateInvalid, Templates
from scheduler.service.channels import build_notifier
from scheduler.service.daemon import run_daemon
from scheduler.service.logs import setup_logging

if TYPE_CHECKING:
    from sqlalchemy import Row

app = typer.Typer(
    help="nhacviec: nhắc hạn báo cáo của các kế hoạch (Kế hoạch) cho đầu mối các đơn vị.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version(show: bool) -> None:
    if show:
        try:
            out.print(f"nhacviec {version('nhacviec')}")
        except PackageNotFoundError:  # run from a source tree that was never installed
            out.print("nhacviec (chưa cài đặt: không rõ phiên bản)")
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="In phiên bản rồi thoát."),
    ] = False,
) -> None:
    pass


@app.command()
def check(config: ConfigOption = None) -> None:
    """Kiểm tra toàn bộ cấu hình; thoát với mã khác 0 nếu có lỗi."""
    settings = settings_or_exit()
    deployment = deployment_or_exit(settings, config)
    _templates(settings, config)
    ended = validity.ended_warnings(deployment, local_today(settings))  # plans with nothing left to remind
    for warning in ended:
        err.print(styled("cảnh báo", "yellow", f" {warning}"), highlight=False, soft_wrap=True)
    contacts = sum(len(c) for c in deployment.contacts.values())
    out.print(
        styled(
            "Cấu hình hợp lệ",
            "green",
            f": {len(deployment.plans)} kế hoạch, "
            f"{len(deployment.agencies)} đơn vị, {len(deployment.groups)} nhóm, {contacts} đầu mối, "
            f"{len(deployment.policies)} chính sách nhắc; {len(deployment.warnings) + len(ended)} cảnh báo.",
        ),
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
    settings = settings_or_exit()
    deployment = deployment_or_exit(settings, config)
    first = option_date(from_, local_today(settings), "--from")
    last = option_date(to, first + timedelta(days=90), "--to")
    if last < first:
        err.print(f"--to ({format_date(last)}) trước --from ({format_date(first)})", style="red")
        raise typer.Exit(2)
    _known_plan_and_agency(deployment, plan, agency)
    events = calendar_events(deployment, first, last, plan, agency)
    if ics is not None:
        _write("--ics", ics, to_ics(deployment, events, datetime.now(settings.timezone)))
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
        if event.data is not None:
            notes.append(f"số liệu từ {format_date(event.data.start)} đến {format_date(event.data.end)}")
        if event.kind == OccurrenceKind.DEADLINE and (
            reason := deployment.workdays.day_off_reason(event.start)
        ):
            effective = deployment.workdays.next_working_day(event.start)
            notes.append(
                f"hạn rơi vào ngày nghỉ ({reason}); ngày làm việc tiếp theo {format_date(effective)}"
            )
        who = "; ".join(deployment.name_of(ref) for ref in event.refs)
        table.add_row(when, SUMMARY_PREFIX[event.kind], event.title, event.plan_id, who, "; ".join(notes))
    out.print(table)
    out.print(f"{len(events)} sự kiện.")


def _known_plan_and_agency(deployment: Deployment, plan: str | None, agency: str | None) -> None:
    choose("--plan", plan, [p.id for p in deployment.plans], "kế hoạch ", among="có")
    if agency is not None and agency not in deployment.agencies:
        stop("--agency", f"không có đơn vị '{agency}' trong config/agencies/")


def _write(option: str, path: Path, data: bytes) -> None:
    """Write a file the user named; a failure is one line saying what to do, not a traceback."""
    try:
        path.write_bytes(data)
    except FileNotFoundError:
        stop(option, f"không ghi được {path}: thư mục {path.parent} chưa có; hãy tạo thư mục trước", 1)
    except IsADirectoryError:
        stop(
            option,
            f"không ghi được {path}: đây là một thư mục; hãy ghi cả tên tệp, ví dụ {path / 'lich.ics'}",
            1,
        )
    except PermissionError:
        stop(option, f"không ghi được {path}: không có quyền ghi vào đó", 1)
    except OSError as exc:
        stop(option, f"không ghi được {path}: {exc.strerror or exc}", 1)


@app.command()
def sync(config: ConfigOption = None) -> None:
    """Ghi lịch nhắc việc vào hàng đợi gửi (outbox); chạy lại nhiều lần không ghi trùng."""
    settings = settings_or_exit()
    deployment = deployment_or_exit(settings, config)
    engine = open_store(settings.database_url)
    today = local_today(settings)
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
        + (f" {report.already_past} mốc nhắc đã qua nên không thêm." if report.already_past else "")
        + (
            f" Sự kiện gửi văn phòng điện tử: thêm {report.events_added}, hủy {report.events_cancelled}."
            if report.events_added or report.events_cancelled
            else ""
        ),
        highlight=False,
    )


@app.command()
def outbox(
    due_before: DateOption = None,
    status: Annotated[
        str | None, typer.Option(help=f"Trạng thái: {', '.join(s.value for s in Status)}.")
    ] = None,
    dead: Annotated[bool, typer.Option("--dead", help="Chỉ các nhắc việc hỏng (= --status dead).")] = False,
    limit: Annotated[int, typer.Option(min=0, help="Số dòng tối đa (0: không giới hạn).")] = 50,
    sort: Annotated[
        str, typer.Option(help="; ".join(f"{name}: {what}" for name, what in SORTS.items()) + ".")
    ] = "upcoming",
    format_: Annotated[
        str, typer.Option("--format", help="table (bảng), csv hoặc json (ghi ra stdout).")
    ] = "table",
) -> None:
    """Xem hàng đợi nhắc việc."""
    settings = settings_or_exit()
    status = Status.DEAD.value if dead else status
    choose("--status", status, [s.value for s in Status])
    choose("--sort", sort, SORTS)
    choose("--format", format_, FORMATS)
    before = None
    if due_before:
        day = option_date(due_before, local_today(settings), "--due-before")
        before = start_of_day_utc(day, settings.timezone)
    engine = open_store(settings.database_url)
    total, rows = list_reminders(engine, status=status, sent_before=before, sort=sort, limit=limit)
    if format_ == "csv":
        write_csv(rows, settings.timezone, sys.stdout)
    elif format_ == "json":
        write_json(rows, settings.timezone, sys.stdout)
    elif not rows:
        out.print("Không có nhắc việc nào" + (" khớp điều kiện đã chọn." if status or due_before else "."))
    else:
        shown = f" (hiện {len(rows)})" if total > len(rows) else ""
        out.print(listing(rows, settings.timezone, f"Hàng đợi: {total} nhắc việc{shown}"))


@app.command()
def run(config: ConfigOption = None) -> None:
    """Chạy dịch vụ: gửi nhắc việc đúng giờ, trang xác nhận, bản tổng hợp hằng ngày."""
    settings = settings_or_exit()
    if config is not None:
        settings = replace(settings, config_dir=config)
    deployment_or_exit(settings, None)  # report configuration errors plainly before starting
    _templates(settings, None)
    setup_logging(settings.secrets, settings.timezone, settings.log_format)
    raise typer.Exit(run_daemon(settings))


@app.command()
def ack(
    occurrence: Annotated[
        str, typer.Argument(help="Mã lần xuất hiện, ví dụ tth-2020-bdg/bao-cao-nam/2026/tth-so-y-te.")
    ],
    by: Annotated[str, typer.Option(help="Người xác nhận.")] = "quản trị viên (dòng lệnh)",
    so: Annotated[
        str | None, typer.Option("--so", help="Số, ký hiệu văn bản báo cáo, ví dụ 125/BC-UBND.")
    ] = None,
    ngay: Annotated[
        str | None, typer.Option("--ngay", help="Ngày văn bản báo cáo, dd/mm/yyyy hoặc yyyy-mm-dd.")
    ] = None,
) -> None:
    """Xác nhận một đơn vị đã gửi báo cáo (như bấm nút trên trang xác nhận)."""
    settings = settings_or_exit()
    try:
        reference = report_reference(so, ngay, utcnow().astimezone(settings.timezone).date())
    except ReferenceInvalid as exc:
        err.print(styled(str(exc), "red"))
        raise typer.Exit(2) from None
    engine = open_store(settings.database_url)
    try:
        done = acknowledge(engine, occurrence, by, utcnow(), reference)
    except UnknownOccurrence:
        err.print(
            styled(
                f"Không có lần xuất hiện '{occurrence}'.",
                "red",
                " Xem cột 'Lần xuất hiện' của `nhacviec outbox`.",
            )
        )
        raise typer.Exit(1) from None
    when = done.confirmed_at.astimezone(settings.timezone).strftime("%H:%M %d/%m/%Y")
    shown = f", văn bản {done.reference}" if str(done.reference) else ""
    if done.already:
        out.print(f"Đã được xác nhận trước đó lúc {when} bởi {done.confirmed_by}{shown}; không thay đổi gì.")
    else:
        out.print(f"Đã xác nhận lúc {when} ({by}{shown}); hủy {done.cancelled} nhắc việc đang chờ.")


@app.command()
def retry(
    reminder_id: Annotated[int | None, typer.Argument(help="Số (id) của nhắc việc hỏng.")] = None,
    all_dead: Annotated[bool, typer.Option("--all-dead", help="Gửi lại mọi nhắc việc hỏng.")] = False,
) -> None:
    """Đưa nhắc việc hỏng (dead) trở lại hàng đợi để gửi ngay."""
    if (reminder_id is None) == (not all_dead):
        err.print("Cho biết một số id, hoặc --all-dead.", style="red")
        raise typer.Exit(2)
    settings = settings_or_exit()
    engine = open_store(settings.database_url)
    count = 0
    if reminder_id is None or is_reminder_id(reminder_id):
        count = retry_dead(engine, reminder_id)
    if reminder_id is not None and count == 0:
        err.print(f"Không có nhắc việc số {reminder_id} trong danh sách hỏng.", style="red")
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
    settings = settings_or_exit()
    deployment = deployment_or_exit(settings, config)
    _known_plan_and_agency(deployment, plan, agency)
    choose("--channel", channel, channel_names(), "kênh ", among="các kênh đã cài")
    choose("--kind", kind, REMINDER_KINDS, "loại lời nhắc ")
    templates = _templates(settings, config)
    links = links_or_exit(settings)
    builder = MessageBuilder(deployment, templates, links, settings.timezone)
    reminder: Row[*tuple[Any, ...]] | PlannedReminder  # a row of the outbox, or one planned as sync would
    occurrence: Row[*tuple[Any, ...]] | SimpleNamespace
    if reminder_id is not None:
        reminder, occurrence = _stored(settings, reminder_id)
    elif plan is not None and agency is not None:
        reminder, occurrence = _sample(deployment, settings, plan, agency, kind, channel)
    else:
        err.print("Cho biết số id của nhắc việc, hoặc --plan và --agency.", style="red")
        raise typer.Exit(2)
    # Rendered as on the day it goes out, so that "còn N ngày" reads as the recipient will read it.
    message = builder.reminder(reminder, occurrence, (), reminder.send_at, OUTPUTS)
    out.print(styled("Tiêu đề:", "bold", f" {message.subject}\n"), highlight=False)
    out.print(message.text, highlight=False)
    out.print()
    out.print(styled("Zalo:", "bold", f" {message.short}"), highlight=False)
    out.print(styled("SMS:", "bold", f" {message.short_ascii}"), highlight=False)


def _stored(settings: Settings, reminder_id: int) -> tuple[Row[*tuple[Any, ...]], Row[*tuple[Any, ...]]]:
    """A reminder of the outbox and its occurrence, as the dispatcher reads them."""
    engine = open_store(settings.database_url)
    reminder = occurrence = None
    reminders, occurrences = Reminder.__table__, Occurrence.__table__
    if is_reminder_id(reminder_id):
        with engine.connect() as conn:
            reminder = conn.execute(select(reminders).where(reminders.c.id == reminder_id)).first()
            occurrence = (
                reminder
                and conn.execute(
                    select(occurrences).where(occurrences.c.key == reminder.occurrence_key)
                ).first()
            )
    if reminder is None:
        err.print(f"Không có nhắc việc số {reminder_id}.", style="red")
        raise typer.Exit(1)
    if occurrence is None:
        err.print(
            "Đây là bản tổng hợp hằng ngày; nó được dựng lúc gửi nên không xem trước được.", style="red"
        )
        raise typer.Exit(1)
    return reminder, occurrence


def _sample(
    deployment: Deployment, settings: Settings, plan: str, agency: str, kind: str, channel: str
) -> tuple[PlannedReminder, SimpleNamespace]:
    """The agency's next reminder of that kind in the plan, as sync would write it."""
    planner = Planner(deployment, settings)
    today = local_today(settings)
    for occurrence in planner.occurrences(today, today + timedelta(days=400)):
        event = occurrence.event
        if event.plan_id != plan or occurrence.agency_id != agency:
            continue
        for reminder in planner.reminders(occurrence):
            if reminder.kind == kind:
                row = SimpleNamespace(
                    key=occurrence.key, plan_id=event.plan_id, item_id=event.item_id, period=event.period,
                    agency_id=agency, kind=event.kind, title=event.title, start_date=event.start,
                    end_date=event.end, to_agency_id=event.to or "", via_agency_id=event.via or "",
                )  # fmt: skip
                return replace(reminder, channel=channel), row
    err.print(
        f"Đơn vị '{agency}' không có lời nhắc '{kind}' nào trong kế hoạch '{plan}' trong 400 ngày tới.",
        style="red",
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
    from scheduler.cli.importing import (  # not in the daemon's memory
        ImportFailed,
        import_document,
        print_summary,
    )

    try:
        settings = settings_or_exit()
        found, text = import_document(
            document, out_file, year, force, local_today(settings), settings.config_dir
        )
    except ImportFailed as exc:
        err.print(styled("lỗi", "red", f" {exc.message}"), highlight=False, soft_wrap=True)
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
    settings = settings_or_exit()
    deployment = deployment_or_exit(settings, config)
    templates = _templates(settings, config)
    try:
        cls = notifier_class(channel)
    except KeyError:
        err.print(f"Kênh '{channel}' không có; các kênh đã cài: {', '.join(channel_names())}.", style="red")
        raise typer.Exit(2) from None
    try:
        recipient = parse_recipient(cls.address, to)
    except ValueError as exc:
        err.print(str(exc), style="red")
        raise typer.Exit(2) from None
    try:
        notifier = build_notifier(channel, settings, deployment, open_store(settings.database_url))
    except NotConfigured as exc:
        err.print(styled(f"Kênh {channel} chưa được cấu hình:", "red", f" {exc}"))
        raise typer.Exit(1) from None
    links = links_or_exit(settings)
    try:
        message = trial_message(
            deployment, settings, templates, links, channel, recipient, kind, local_today(settings)
        )
    except ValueError as exc:
        err.print(str(exc), style="red", highlight=False)
        raise typer.Exit(2) from None
    out.print(
        f"Tin thử dựng từ cấu hình đang dùng: {message.fields['plan']}, "
        f"đơn vị {message.fields['agency']}; liên kết tới {settings.public_url} "
        "(mở được trang xác nhận nhưng không xác nhận việc nào).",
        highlight=False,
    )
    try:
        delivery = asyncio.run(_send_once(notifier, message))
    except NotifierError as exc:
        what = "không gửi được tới người nhận này qua kênh" if exc.unreachable else "lỗi"
        err.print(styled(f"{what}:", "red", f" {exc}"), highlight=False)
        if exc.alert:
            err.print(
                "Lỗi cấu hình: sửa theo lỗi ở trên (địa chỉ máy chủ, khóa, mẫu tin hoặc số dư) rồi chạy lại.",
                highlight=False,
            )
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
            err.print(styled("lỗi mẫu", "red", f" {error}"), highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


@app.command()
def workdays(
    year: Annotated[int, typer.Argument(min=1995, max=2200, help="Năm, ví dụ 2026.")],
    config: ConfigOption = None,
) -> None:
    """Ngày nghỉ và ngày làm bù của một năm, mỗi ngày với nguồn, để đối chiếu với thông báo của Chính phủ."""
    from holidays.version import __version__ as holidays_version

    from scheduler.calendar.workdays import WorkCalendar
    from scheduler.config.loader import load_workdays
    from scheduler.render.templates import WEEKDAYS

    file = (config or settings_or_exit().config_dir) / "workdays.yaml"
    try:
        overrides = load_workdays(file.parent)
    except ConfigInvalid as exc:
        for error in exc.errors:
            err.print(styled("lỗi", "red", f" {error}"), highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None
    table = Table(title=f"Ngày nghỉ và ngày làm bù năm {year}")
    for column in ("Ngày", "Thứ", "", "Tên", "Nguồn"):
        table.add_column(column, overflow="fold")
    for listed in WorkCalendar(overrides).listing(year):
        when = format_date(listed.day)
        kind = "nghỉ" if listed.off else "làm việc"
        table.add_row(when, WEEKDAYS[listed.day.weekday()], kind, listed.name, listed.source)
    out.print(table)
    out.print(
        f"Nguồn: luật — ngày lễ, Tết theo Bộ luật Lao động (Điều 112), do gói holidays {holidays_version} "
        "tính; hoán đổi đã công bố — ngày nghỉ, ngày làm bù Chính phủ đã công bố, có trong gói holidays; "
        f"workdays.yaml:dòng — {file}. Các thứ Bảy, Chủ nhật khác là ngày nghỉ hằng tuần.",
        highlight=False,
    )
    if confirmed := overrides.tet_confirmed.get(year):
        source, line = confirmed
        out.print(f"Lịch nghỉ Tết {year} đã đối chiếu: {source} (workdays.yaml:{line}).", highlight=False)
    else:
        err.print(
            styled("cảnh báo", "yellow"),
            f"lịch nghỉ Tết Nguyên đán năm {year} chưa được xác nhận trong "
            f"{file}: hãy đối chiếu các ngày trên với thông báo của Chính phủ, ghi ngày nghỉ, "
            f"ngày làm bù còn thiếu vào days_off, working_days rồi ghi năm vào tet_confirmed "
            f'(ví dụ - {{year: {year}, source: "Thông báo số …"}})',
            highlight=False,
            soft_wrap=True,
        )


app.add_typer(
    db_app, name="db", help="Cơ sở dữ liệu: nâng cấp lược đồ (upgrade), kiểm tra (check), sao chép (copy)."
)
app.add_typer(agencies_app, name="agencies", help="Danh sách đơn vị, đầu mối: nhập từ / xuất ra bảng tính.")
app.add_typer(plan_app, name="plan", help="Kế hoạch qua các năm: lập kế hoạch năm mới (rollover).")
app.add_typer(
    zalo_app, name="zalo", help="Zalo OA: cấp quyền lần đầu (authorize) và tình trạng mã truy cập (status)."
)
app.add_typer(
    users_app,
    name="user",
    help="Người dùng trang web: thêm (add), liệt kê (list), khóa (disable), đổi mật khẩu (passwd).",
)
app.add_typer(
    actions_app,
    name="action",
    help="Thao tác của đơn vị đầu mối: ghi nhận (received), miễn (waive), gia hạn (extend), "
    "mở lại (reopen), gửi nhắc ngay (send-now), lịch sử (history).",
)
app.add_typer(
    tokens_app, name="token", help="Token của API JSON: tạo (create), liệt kê (list), thu hồi (revoke)."
)
app.command("report")(report_command)  # Bảng theo dõi tình hình báo cáo (.xlsx, .csv)

app.add_typer(
    feeds_app,
    name="feed",
    help="Lịch đăng ký (ICS): tạo liên kết (create), liệt kê (list), thu hồi (revoke).",
)


def main() -> None:
    app()
