"""`nhacviec action …`: the focal agency's actions on one agency's deadline, from the command line
(scheduler/outbox/actions.py), as the board's buttons do them; `action history` lists them.

Every action names who does it (`--by`); waive, extend and reopen need a reason (`--reason`).
Bad input gets one Vietnamese line and exit 2 (an unknown occurrence: 1), and nothing changes."""

from __future__ import annotations

from typing import Annotated

import typer

from scheduler.calendar.dates import format_date
from scheduler.cli.common import (
    ConfigOption,
    deployment_or_exit,
    err,
    option_date,
    out,
    settings_or_exit,
)
from scheduler.cli.terminal import styled
from scheduler.outbox import actions
from scheduler.outbox.acks import ReferenceInvalid, report_reference
from scheduler.outbox.actions import ActionRecord, ActionRefused
from scheduler.outbox.store import open_store, utcnow

actions_app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False)

OccurrenceArgument = Annotated[
    str,
    typer.Argument(help="Mã lần xuất hiện, ví dụ hue-2026-bdg/bao-cao-nam/2026/hue-phuong-phu-xuan."),
]
ByOption = Annotated[str, typer.Option("--by", help="Người thực hiện (tên cán bộ đơn vị đầu mối).")]
ReasonOption = Annotated[
    str | None, typer.Option("--reason", help="Lý do (bắt buộc với miễn, gia hạn, mở lại).")
]


def _refused(exc: ActionRefused) -> None:
    err.print(styled(str(exc), "red"), highlight=False, soft_wrap=True)
    code = 1 if str(exc).startswith("Không có hạn báo cáo") else 2
    raise typer.Exit(code)


def _done(record: ActionRecord, text: str) -> None:
    out.print(f"{text} (ghi nhận #{record.id}, {record.by}).", highlight=False, soft_wrap=True)


@actions_app.command()
def received(
    occurrence: OccurrenceArgument,
    by: ByOption,
    so: Annotated[
        str | None, typer.Option("--so", help="Số, ký hiệu văn bản báo cáo, ví dụ 125/BC-UBND.")
    ] = None,
    ngay: Annotated[
        str | None, typer.Option("--ngay", help="Ngày văn bản, dd/mm/yyyy hoặc yyyy-mm-dd.")
    ] = None,
    reason: ReasonOption = None,
) -> None:
    """Ghi nhận thay đơn vị là đã nhận báo cáo (kèm số, ngày văn bản)."""
    settings = settings_or_exit()
    try:
        reference = report_reference(so, ngay, utcnow().astimezone(settings.timezone).date())
    except ReferenceInvalid as exc:
        err.print(styled(str(exc), "red"), highlight=False)
        raise typer.Exit(2) from None
    engine = open_store(settings.database_url)
    try:
        record = actions.mark_received(engine, occurrence, by, reference, reason)
    except ActionRefused as exc:
        _refused(exc)
        return
    finally:
        engine.dispose()
    shown = f", văn bản {reference}" if str(reference) else ""
    cancelled = record.details.get("cancelled", 0)
    _done(record, f"Đã ghi nhận đơn vị đã báo cáo{shown}; hủy {cancelled} nhắc việc đang chờ")


@actions_app.command()
def waive(occurrence: OccurrenceArgument, by: ByOption, reason: ReasonOption = None) -> None:
    """Miễn báo cáo cho một đơn vị: hủy các nhắc việc đang chờ."""
    settings = settings_or_exit()
    engine = open_store(settings.database_url)
    try:
        record = actions.waive(engine, occurrence, by, reason or "")
    except ActionRefused as exc:
        _refused(exc)
        return
    finally:
        engine.dispose()
    _done(record, f"Đã miễn báo cáo; hủy {record.details.get('cancelled', 0)} nhắc việc đang chờ")


@actions_app.command()
def extend(
    occurrence: OccurrenceArgument,
    by: ByOption,
    den_ngay: Annotated[str, typer.Option("--den-ngay", help="Hạn mới, dd/mm/yyyy hoặc yyyy-mm-dd.")],
    reason: ReasonOption = None,
    config: ConfigOption = None,
) -> None:
    """Gia hạn cho một đơn vị: lịch nhắc được lập lại theo hạn mới."""
    settings = settings_or_exit()
    new_date = option_date(den_ngay, utcnow().date(), "--den-ngay")
    deployment = deployment_or_exit(settings, config)
    engine = open_store(settings.database_url)
    try:
        record = actions.extend(engine, deployment, settings, occurrence, by, new_date, reason or "")
    except ActionRefused as exc:
        _refused(exc)
        return
    finally:
        engine.dispose()
    _done(record, f"Đã gia hạn đến {format_date(new_date)}; {_replanned(record)}")


@actions_app.command()
def reopen(
    occurrence: OccurrenceArgument, by: ByOption, reason: ReasonOption = None, config: ConfigOption = None
) -> None:
    """Mở lại một xác nhận (hoặc miễn) ghi nhầm: lịch nhắc tiếp tục."""
    settings = settings_or_exit()
    deployment = deployment_or_exit(settings, config)
    engine = open_store(settings.database_url)
    try:
        record = actions.reopen(engine, deployment, settings, occurrence, by, reason or "")
    except ActionRefused as exc:
        _refused(exc)
        return
    finally:
        engine.dispose()
    what = "bỏ miễn" if record.details.get("undone") == "waive" else "hủy xác nhận"
    _done(record, f"Đã mở lại ({what}); {_replanned(record)}")


@actions_app.command("send-now")
def send_now(occurrence: OccurrenceArgument, by: ByOption, config: ConfigOption = None) -> None:
    """Gửi ngay một nhắc việc cho đầu mối của đơn vị (ở lần đánh thức tiếp theo của dịch vụ)."""
    settings = settings_or_exit()
    deployment = deployment_or_exit(settings, config)
    engine = open_store(settings.database_url)
    try:
        record = actions.send_now(engine, deployment, settings, occurrence, by)
    except ActionRefused as exc:
        _refused(exc)
        return
    finally:
        engine.dispose()
    if record is None:
        out.print("Đã có lệnh gửi ngay trong phút này; không thêm nhắc việc nào.")
        return
    d = record.details
    _done(record, f"Đã xếp {d['reminders']} nhắc việc «{d['kind']}» gửi ngay ({', '.join(d['channels'])})")


@actions_app.command()
def history(
    occurrence: Annotated[str | None, typer.Argument(help="Mã lần xuất hiện (bỏ trống: tất cả).")] = None,
    agency: Annotated[str | None, typer.Option("--agency", help="Chỉ của một đơn vị (mã đơn vị).")] = None,
    limit: Annotated[int, typer.Option(help="Số dòng tối đa (0: tất cả).")] = 50,
) -> None:
    """Lịch sử các thao tác của đơn vị đầu mối, mới nhất trước."""
    settings = settings_or_exit()
    engine = open_store(settings.database_url)
    try:
        records = actions.history(engine, occurrence, agency, limit or None)
    finally:
        engine.dispose()
    if not records:
        out.print("Chưa có thao tác nào.")
        return
    for record in records:
        out.print(
            f"{record.occurrence_key}: {actions.describe(record, settings.timezone)}",
            highlight=False,
            soft_wrap=True,
        )


def _replanned(record: ActionRecord) -> str:
    d = record.details
    if not d.get("replanned"):
        return "hạn này không còn trong cấu hình nên không lập lại lịch nhắc"
    return f"lịch nhắc: thêm {d['added']}, cập nhật {d['updated']}, hủy {d['cancelled']}"
