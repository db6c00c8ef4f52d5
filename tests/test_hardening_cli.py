"""Issue 13, the command line: data printed as written, the outbox listing, clear errors,
the files it creates, and what the wheel (and so the Docker image) must hold."""

from __future__ import annotations

import re
import traceback
from pathlib import Path

import pytest
import time_machine
from typer.testing import CliRunner

from scheduler import cli as cli_module
from scheduler import zalo_cli
from scheduler.cli import app

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-11-02 09:00 +07:00"
OCCURRENCE = "tth-2020-bdg/bao-cao-nam/2026/tth-ubnd-tp-hue"
MARKUP = "[/red]"  # rich would read this as a closing tag and raise MarkupError


@pytest.fixture
def nhacviec(tmp_path: Path, config_dir: Path, monkeypatch):
    """Runs the command line; checks the exit code and that no exception escaped."""
    for console in (cli_module.out, cli_module.err, zalo_cli.out, zalo_cli.err):
        monkeypatch.setattr(console, "width", 300)  # one table row per line
    monkeypatch.chdir(tmp_path)  # var/ of the embedded default goes here
    runner = CliRunner()
    env = {
        "NHACVIEC_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'nhacviec.db'}",
        "NHACVIEC_CONFIG_DIR": str(config_dir),
    }

    def invoke(*args: str, code: int = 0):
        result = runner.invoke(app, list(args), env=env)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            trace = "".join(traceback.format_exception(result.exception))
            pytest.fail(f"nhacviec {' '.join(args)} raised:\n{trace}")
        assert result.exit_code == code, result.output
        return result

    invoke.env = env
    return invoke


def hostile_config(config_dir: Path) -> None:
    """A plan, an obligation and an agency whose names read as rich markup."""
    plan = config_dir / "plans" / "tth-2020-bdg.yaml"
    text = plan.read_text(encoding="utf-8")
    text = text.replace("phụ nữ tỉnh năm 2020\n", f"phụ nữ tỉnh năm 2020 {MARKUP}\n", 1)
    text = text.replace("title: Báo cáo kết quả thực hiện 01 năm", "title: 'Báo cáo [/bold] 01 năm'", 1)
    plan.write_text(text, encoding="utf-8")
    agencies = config_dir / "agencies" / "thua-thien-hue.yaml"
    text = agencies.read_text(encoding="utf-8")
    agencies.write_text(text.replace("name: UBND thành phố Huế\n", "name: 'UBND [/x] Huế'\n", 1), "utf-8")


# -- item 7: every piece of data is printed as written ------------------------------------------


def test_every_command_prints_markup_like_data_as_written(nhacviec, config_dir: Path) -> None:
    hostile_config(config_dir)
    assert "Cấu hình hợp lệ" in nhacviec("check").stdout
    shown = nhacviec("calendar", "--from", "01/12/2026", "--to", "31/12/2026", "--plan", "tth-2020-bdg")
    assert "Báo cáo [/bold] 01 năm" in shown.stdout
    assert "'[/x]'" in nhacviec("calendar", "--plan", "[/x]", code=2).stderr
    assert "'[/x]'" in nhacviec("calendar", "--agency", "[/x]", code=2).stderr
    assert "'[/x]'" in nhacviec("outbox", "--status", "[/x]", code=2).stderr

    with time_machine.travel(NOW, tick=False):
        nhacviec("sync")
        acked = nhacviec("ack", OCCURRENCE, "--by", MARKUP)
        assert f"({MARKUP})" in acked.stdout
        assert f"bởi {MARKUP}" in nhacviec("ack", OCCURRENCE).stdout
        assert "'[/x]'" in nhacviec("ack", "[/x]", code=1).stderr
        listing = nhacviec("outbox", "--status", "cancelled")
        assert f"đã xác nhận gửi báo cáo ({MARKUP})" in listing.stdout

        preview = nhacviec("preview", "--plan", "tth-2020-bdg", "--agency", "tth-ubnd-tp-hue")
    assert "Báo cáo [/bold] 01 năm" in preview.stdout and "UBND [/x] Huế" in preview.stdout

    assert "'[/x]'" in nhacviec("send-test", "--channel", "[/x]", "--to", "a", code=2).stderr
    assert "[/x]" in nhacviec("send-test", "--channel", "email", "--to", "[/x]", code=2).stderr


def test_configuration_errors_and_zalo_answers_print_as_written(nhacviec, config_dir: Path) -> None:
    plan = config_dir / "plans" / "tth-2020-bdg.yaml"
    plan.write_text(plan.read_text("utf-8").replace("on: 25/03/2020", "on: '[/red]'", 1), "utf-8")
    assert "'[/red]' không phải ngày" in nhacviec("check", code=1).stderr

    plan.write_text(plan.read_text("utf-8").replace("on: '[/red]'", "on: 25/03/2020", 1), "utf-8")
    (config_dir / "channels.yaml").write_text(
        "channels:\n  zalo:\n    options:\n      app_id: '[/x]'\n", encoding="utf-8"
    )
    nhacviec.env["NHACVIEC_ZALO_APP_SECRET"] = "bí-mật-của-ứng-dụng"
    assert "ứng dụng [/x]" in nhacviec("zalo", "status", code=1).stderr


def test_a_document_with_markup_like_text_is_imported(nhacviec, tmp_path: Path) -> None:
    document = tmp_path / "ke-hoach.txt"
    document.write_text(
        "UBND HUYỆN [/bold] LÂM THAO\nSố: 12/KH-UBND\n"
        "KẾ HOẠCH [/bold] thực hiện công tác bình đẳng giới năm 2024\n"
        "Các phòng, ban báo cáo kết quả [/red] thực hiện về UBND huyện trước ngày 15/11/2024.\n",
        encoding="utf-8",
    )
    target = tmp_path / "plan.yaml"
    result = nhacviec("import", str(document), "--out", str(target))
    assert "[/bold]" in result.stdout and "[/red]" in result.stdout
    assert target.exists()


def test_cli_sources_hold_no_markup_tags() -> None:
    """The consoles read no markup (scheduler/terminal.py): a tag in a string would print as is."""
    tag = re.compile(r"\[/?(?:bold|dim|italic|red|green|yellow|blue|cyan|magenta)\b[^\]]*\]")
    sources = [*ROOT.joinpath("scheduler").glob("*cli*.py"), ROOT / "importer" / "command.py"]
    found = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sources
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if tag.search(line)
    ]
    assert found == []
