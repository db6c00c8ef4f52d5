"""What the command groups share: the consoles, the settings, the deployment, option checks.

Every command module imports these from here, so nothing imports the app back."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from scheduler.calendar.dates import parse_date
from scheduler.cli.terminal import console, styled
from scheduler.config.deployment import Deployment
from scheduler.config.loader import load_config
from scheduler.config.settings import Settings, SettingsError, load_settings
from scheduler.config.yamlfile import ConfigInvalid
from scheduler.outbox.former_agencies import former_agencies_at
from scheduler.render.links import Links, secret_key

out = console()
err = console(stderr=True)
YEARS = range(1990, 2201)  # dates on the command line: the years a plan can have (schema.Year)
MAX_ID = 2**63 - 1  # the largest row number the databases store

DateOption = Annotated[str | None, typer.Option(help="Ngày dạng dd/mm/yyyy hoặc yyyy-mm-dd.")]
ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="Thư mục cấu hình (mặc định NHACVIEC_CONFIG_DIR).")
]


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        err.print(styled("Lỗi cấu hình môi trường:", "red", f" {exc}"), highlight=False)
        raise typer.Exit(2) from None


def links_or_exit(settings: Settings) -> Links:
    try:
        return Links(secret_key(settings), settings.public_url, settings.link_days)
    except SettingsError as exc:
        err.print(styled("Lỗi cấu hình môi trường:", "red", f" {exc}"), highlight=False)
        raise typer.Exit(2) from None


def deployment_or_exit(settings: Settings, config: Path | None) -> Deployment:
    try:
        former = former_agencies_at(settings.database_url)
        deployment = load_config(config or settings.config_dir, settings, former=former)
    except ConfigInvalid as exc:
        for error in exc.errors:
            err.print(styled("lỗi", "red", f" {error}"), highlight=False, soft_wrap=True)
        err.print(f"{len(exc.errors)} lỗi; chưa có thay đổi nào được áp dụng.", style="red")
        raise typer.Exit(1) from None
    for warning in deployment.warnings:
        err.print(styled("cảnh báo", "yellow", f" {warning}"), highlight=False, soft_wrap=True)
    return deployment


def option_date(text: str | None, default: date, option: str) -> date:
    if text is None:
        return default
    try:
        day = parse_date(text)
    except ValueError as exc:
        stop(option, str(exc))
    if day.year not in YEARS:
        stop(option, f"{text.strip()} nằm ngoài khoảng dùng được (năm {YEARS.start} đến {YEARS.stop - 1})")
    return day


def choose(
    option: str, value: str | None, choices: Iterable[str], what: str = "", among: str = "chọn"
) -> None:
    """Stop with the choices when `value` (if given) is not one of them."""
    choices = list(choices)
    if value is not None and value not in choices:
        stop(option, f"không có {what}'{value}'; {among}: {', '.join(choices)}")


def stop(option: str, problem: str, code: int = 2) -> NoReturn:
    err.print(styled(f"{option}:", "red", f" {problem}"), soft_wrap=True)
    raise typer.Exit(code)


def is_reminder_id(value: int) -> bool:
    """Whether `value` can be a reminder's number: a larger one overflows the database driver."""
    return 0 < value <= MAX_ID


def write_or_print(text: str, out_file: Path | None) -> None:
    """`text` to `out_file` (its folder made), or to standard output; a write error stops with
    one line and exit 1."""
    if out_file is None:
        print(text, end="")
        return
    try:
        out_file.parent.mkdir(parents=True, exist_ok=True)
        out_file.write_text(text, encoding="utf-8")
    except OSError as exc:
        err.print(styled("lỗi", "red", f" không ghi được {out_file}: {exc.strerror or exc}"), soft_wrap=True)
        raise typer.Exit(1) from None


def local_today(settings: Settings) -> date:
    return datetime.now(settings.timezone).date()
