"""Issue 13, the command line: data printed as written, the outbox listing, clear errors,
the files it creates, and what the wheel (and so the Docker image) must hold."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import sysconfig
import tomllib
import traceback
import venv
import zipfile
from datetime import UTC, datetime
from fnmatch import fnmatch
from importlib.metadata import distribution, version
from pathlib import Path
from types import SimpleNamespace

import pytest
import time_machine
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from sqlalchemy import select, update
from typer.testing import CliRunner

from scheduler.cli import app as cli_module
from scheduler.cli import zalo as zalo_cli
from scheduler.cli.app import app
from scheduler.outbox.store import Reminder, Status, open_store

ROOT = Path(__file__).resolve().parent.parent
NOW = "2026-11-02 09:00 +07:00"
OCCURRENCE = "hue-2026-bdg/bao-cao-nam/2026/hue-phuong-phu-xuan"
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
    plan = config_dir / "plans" / "hue-2026-bdg.yaml"
    text = plan.read_text(encoding="utf-8")
    text = text.replace(
        "phụ nữ thành phố Huế năm 2026 (mẫu)\n", f"phụ nữ thành phố Huế năm 2026 (mẫu) {MARKUP}\n", 1
    )
    text = text.replace("title: Báo cáo kết quả thực hiện 01 năm", "title: 'Báo cáo [/bold] 01 năm'", 1)
    plan.write_text(text, encoding="utf-8")
    agencies = config_dir / "agencies" / "hue.yaml"
    text = agencies.read_text(encoding="utf-8")
    agencies.write_text(
        text.replace("name: UBND phường Phú Xuân\n", "name: 'UBND [/x] Phú Xuân'\n", 1), "utf-8"
    )


# -- item 7: every piece of data is printed as written ------------------------------------------


def test_every_command_prints_markup_like_data_as_written(nhacviec, config_dir: Path) -> None:
    hostile_config(config_dir)
    assert "Cấu hình hợp lệ" in nhacviec("check").stdout
    shown = nhacviec("calendar", "--from", "01/12/2026", "--to", "31/12/2026", "--plan", "hue-2026-bdg")
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

        preview = nhacviec("preview", "--plan", "hue-2026-bdg", "--agency", "hue-phuong-phu-xuan")
    assert "Báo cáo [/bold] 01 năm" in preview.stdout and "UBND [/x] Phú Xuân" in preview.stdout

    assert "'[/x]'" in nhacviec("send-test", "--channel", "[/x]", "--to", "a", code=2).stderr
    assert "[/x]" in nhacviec("send-test", "--channel", "email", "--to", "[/x]", code=2).stderr
    assert "[/x]" in nhacviec("preview", "--plan", "[/x]", "--agency", "hue-xa-a-luoi-1", code=2).stderr


def test_configuration_errors_and_zalo_answers_print_as_written(nhacviec, config_dir: Path) -> None:
    plan = config_dir / "plans" / "hue-2026-bdg.yaml"
    plan.write_text(plan.read_text("utf-8").replace("on: 25/03/2026", "on: '[/red]'", 1), "utf-8")
    assert "'[/red]' không phải ngày" in nhacviec("check", code=1).stderr

    plan.write_text(plan.read_text("utf-8").replace("on: '[/red]'", "on: 25/03/2026", 1), "utf-8")
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
    """The consoles read no markup (scheduler/cli/terminal.py): a tag in a string would print as is."""
    tag = re.compile(r"\[/?(?:bold|dim|italic|red|green|yellow|blue|cyan|magenta)\b[^\]]*\]")
    sources = [p for p in sorted(ROOT.joinpath("scheduler", "cli").glob("*.py")) if p.name != "terminal.py"]
    found = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sources
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if tag.search(line)
    ]
    assert found == []


# -- item 24: the outbox listing, clear one-line errors, --version --------------------------------


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


@pytest.fixture
def outbox(nhacviec):
    """A synced outbox with one reminder sent a month ago and one dead letter."""
    with time_machine.travel(NOW, tick=False):
        nhacviec("sync")
    engine = open_store(nhacviec.env["NHACVIEC_DATABASE_URL"])
    c = Reminder.__table__.c
    with engine.begin() as conn:
        ids = conn.execute(select(c.id).order_by(c.send_at, c.id)).scalars().all()
        sent_at = datetime(2026, 10, 1, 1, 0, tzinfo=UTC)
        conn.execute(
            update(Reminder.__table__)
            .where(c.id == ids[-1])
            .values(status=Status.SENT, send_at=sent_at, sent_at=sent_at)
        )
        conn.execute(
            update(Reminder.__table__)
            .where(c.id == ids[-2])
            .values(status=Status.DEAD, last_error="SMTP 550 5.1.1 hộp thư không tồn tại")
        )
    engine.dispose()
    return SimpleNamespace(sent=ids[-1], dead=ids[-2], pending=ids[:-2])


def test_outbox_lists_what_is_coming_first(nhacviec, outbox) -> None:
    listed = json.loads(nhacviec("outbox", "--format", "json", "--limit", "0").stdout)
    assert len(listed) == len(outbox.pending) + 2
    waiting = listed[: len(outbox.pending)]
    assert {r["status"] for r in waiting} == {"pending"}
    assert [r["send_at"] for r in waiting] == sorted(r["send_at"] for r in waiting)
    assert waiting[0]["send_at"].startswith("2026-11-") and waiting[0]["send_at"].endswith("+07:00")
    done = listed[len(outbox.pending) :]
    assert [(r["id"], r["status_text"]) for r in done] == [
        (outbox.dead, "không gửi được"),  # the most recent first
        (outbox.sent, "đã gửi"),
    ]
    oldest = json.loads(nhacviec("outbox", "--format", "json", "--sort", "oldest", "--limit", "1").stdout)
    assert [r["id"] for r in oldest] == [outbox.sent]
    assert (
        "'sideways'; chọn: upcoming, oldest, newest"
        in nhacviec("outbox", "--sort", "sideways", code=2).stderr
    )


def test_outbox_as_csv(nhacviec, outbox) -> None:
    rows = list(csv.DictReader(io.StringIO(nhacviec("outbox", "--format", "csv", "--dead").stdout)))
    assert len(rows) == 1
    assert rows[0]["id"] == str(outbox.dead) and rows[0]["status"] == "dead"
    assert rows[0]["status_text"] == "không gửi được"
    assert rows[0]["last_error"] == "SMTP 550 5.1.1 hộp thư không tồn tại"
    assert rows[0]["occurrence"].startswith(("hue-", "tth-", "lam-thao-", "thai-binh-"))


def test_outbox_table_reads_at_80_columns_in_vietnamese(nhacviec, outbox, monkeypatch) -> None:
    monkeypatch.setattr(cli_module.out, "width", 80)
    shown = nhacviec("outbox", "--limit", "0").stdout
    lines = shown.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "chờ gửi" in shown and "đã gửi" in shown and "không gửi được" in shown
    assert "pending" not in shown and "dead" not in shown
    listed = json.loads(nhacviec("outbox", "--format", "json", "--limit", "0").stdout)
    for row in listed:  # each reminder's number, time and address read whole on one line
        local = datetime.fromisoformat(row["send_at"]).strftime("%d/%m/%Y %H:%M")
        assert any(re.match(rf"\s*{row['id']}\s+{re.escape(local)}\s", line) for line in lines), row
        if len(row["recipient"]) <= 40:
            assert any(row["recipient"] in line for line in lines), row
    assert "Lỗi gần nhất: SMTP 550 5.1.1 hộp thư không tồn tại" in shown


def test_an_empty_outbox_says_so(nhacviec) -> None:
    assert one_line(nhacviec("outbox").stdout) == "Không có nhắc việc nào."
    assert json.loads(nhacviec("outbox", "--format", "json").stdout) == []
    header = nhacviec("outbox", "--format", "csv").stdout.strip()
    assert header.startswith("id,send_at,status,status_text,")


def test_bad_input_gets_one_vietnamese_line(nhacviec, tmp_path: Path) -> None:
    target = tmp_path / "chua-co" / "lich.ics"
    line = one_line(nhacviec("calendar", "--ics", str(target), code=1).stderr)
    assert line == f"--ics: không ghi được {target}: thư mục {target.parent} chưa có; hãy tạo thư mục trước"
    assert not target.parent.exists()
    line = one_line(nhacviec("calendar", "--from", "31/12/9999", code=2).stderr)
    assert line == "--from: 31/12/9999 nằm ngoài khoảng dùng được (năm 1990 đến 2200)"
    line = one_line(nhacviec("outbox", "--due-before", "01/01/0001", code=2).stderr)
    assert line.startswith("--due-before: 01/01/0001 nằm ngoài khoảng")
    huge = "99999999999999999999"
    assert one_line(nhacviec("preview", huge, code=1).stderr) == f"Không có nhắc việc số {huge}."
    assert huge in one_line(nhacviec("retry", huge, code=1).stderr)


def test_preview_says_which_option_is_wrong(nhacviec) -> None:
    sample = ("preview", "--plan", "hue-2026-bdg", "--agency", "hue-phuong-phu-xuan")
    line = one_line(nhacviec(*sample, "--channel", "fax", code=2).stderr)
    assert line.startswith("--channel: không có kênh 'fax'; các kênh đã cài: console, email,")
    line = one_line(nhacviec("preview", "--plan", "hue-2026-bdg", "--agency", "nope", code=2).stderr)
    assert line == "--agency: không có đơn vị 'nope' trong config/agencies/"
    line = one_line(nhacviec("preview", "--plan", "nope", "--agency", "hue-phuong-phu-xuan", code=2).stderr)
    assert line.startswith("--plan: không có kế hoạch 'nope'; có: hue-2026-bdg, lam-thao-2024-bdg")
    line = one_line(nhacviec(*sample, "--kind", "sideways", code=2).stderr)
    assert line.startswith("--kind: không có loại lời nhắc 'sideways'; chọn: upcoming, due,")
    assert "Tiêu đề:" in nhacviec(*sample, "--channel", "sms").stdout


def test_version(nhacviec) -> None:
    assert one_line(nhacviec("--version").stdout) == f"nhacviec {version('nhacviec')}"


# -- item 9: the database and its folder are private ----------------------------------------------


@pytest.fixture
def loose_umask():
    """A umask that lets the group write: modes must not depend on it."""
    before = os.umask(0o002)
    yield
    os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_embedded_database_is_readable_by_its_owner_only(nhacviec, tmp_path: Path, loose_umask) -> None:
    del nhacviec.env["NHACVIEC_DATABASE_URL"]  # the default: var/nhacviec.db in the working directory
    with time_machine.travel(NOW, tick=False):
        nhacviec("sync")
    assert mode(tmp_path / "var") == 0o700
    database = tmp_path / "var" / "nhacviec.db"
    assert mode(database) == 0o600 and database.stat().st_size > 0
    for companion in tmp_path.joinpath("var").glob("nhacviec.db-*"):  # -wal, -shm: SQLite copies the mode
        assert mode(companion) == 0o600, companion


def test_the_daemon_lock_makes_a_private_folder_too(tmp_path: Path, loose_umask) -> None:
    from scheduler.service.daemon import single_instance

    with single_instance(f"sqlite:///{tmp_path / 'du-lieu' / 'nhacviec.db'}"):
        assert mode(tmp_path / "du-lieu") == 0o700
    existing = tmp_path / "chung"
    existing.mkdir(mode=0o755)
    existing.chmod(0o755)
    open_store(f"sqlite:///{existing / 'nhacviec.db'}").dispose()
    assert mode(existing) == 0o755  # a folder the operator made keeps its mode
    assert mode(existing / "nhacviec.db") == 0o600


# -- items 9 and 22: what the image installs, and what the wheel holds ------------------------------

DOCKERFILE = ROOT / "docker" / "Dockerfile"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
PACKAGES = [
    pattern.removesuffix("*") for pattern in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
]


def dockerfile_instructions() -> list[str]:
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text("utf-8"))
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def copied_sources() -> list[str]:
    """What the image's build copies from the repository (COPY without --from)."""
    sources = []
    for line in dockerfile_instructions():
        words = line.split()
        if words[0] == "COPY" and not any(w.startswith("--from") for w in words):
            sources += [w.rstrip("/") for w in words[1:-1] if not w.startswith("--")]
    return sources


def dockerignored(path: str) -> bool:
    """Whether .dockerignore keeps `path` out of the build context (the last matching line wins;
    fnmatch's `*` crosses `/`, so this errs towards ignoring)."""
    ignored = False
    parts = path.split("/")
    for line in (ROOT / ".dockerignore").read_text("utf-8").splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        keep = pattern.startswith("!")
        pattern = pattern.removeprefix("!").strip("/").removeprefix("**/")
        prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)] + parts
        if any(fnmatch(prefix, pattern) for prefix in prefixes):
            ignored = not keep
    return ignored


def lock_pins() -> dict[str, tuple[str, list[str]]]:
    """requirements.lock as {name: (version, hashes)}."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "requirements.lock").read_text("utf-8"))
    pins = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            requirement, *options = line.split()
            name, version_ = requirement.split("==")
            pins[canonicalize_name(name)] = (version_, [o.removeprefix("--hash=") for o in options])
    return pins


def test_dependency_floors_are_past_the_known_advisories() -> None:
    floors = {
        canonicalize_name(r.name): r.specifier for r in map(Requirement, PYPROJECT["project"]["dependencies"])
    }
    vulnerable = {  # the last release before each fix
        "jinja2": "3.1.5",
        "starlette": "1.3.0",
        "python-multipart": "0.0.30",
        "pypdf": "6.21.4",
        "h11": "0.15.0",
    }
    still_allowed = {n: v for n, v in vulnerable.items() if floors.get(n, SpecifierSet()).contains(v)}
    assert still_allowed == {}


def test_the_lock_pins_every_runtime_dependency_with_hashes() -> None:
    pins = lock_pins()
    assert all(
        version_ and hashes and all(h.startswith("sha256:") for h in hashes)
        for version_, hashes in pins.values()
    )
    needed = [
        *PYPROJECT["project"]["dependencies"],
        *PYPROJECT["project"]["optional-dependencies"]["postgres"],
    ]
    for requirement in map(Requirement, needed):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock: regenerate it (README, Deploying)"
        assert requirement.specifier.contains(pins[name][0]), (
            f"requirements.lock pins {name}=={pins[name][0]}"
        )
        for extra in requirement.extras:  # psycopg[binary] brings psycopg-binary
            for needs in map(Requirement, distribution(requirement.name).requires or []):
                if needs.marker is not None and needs.marker.evaluate({"extra": extra}):
                    assert canonicalize_name(needs.name) in pins, needs
    build = [Requirement(r) for r in PYPROJECT["build-system"]["requires"]]
    assert all(r.specifier.contains(pins[canonicalize_name(r.name)][0]) for r in build)


def test_the_image_installs_the_lock_on_a_pinned_base_and_copies_every_package() -> None:
    instructions = dockerfile_instructions()
    [base] = [line.split("=", 1)[1] for line in instructions if line.startswith("ARG PYTHON_IMAGE=")]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-(bookworm|trixie)(@sha256:[0-9a-f]{64})?", base), base
    assert all(
        re.fullmatch(r"FROM \$\{PYTHON_IMAGE\}( AS \w+)?", line)
        for line in instructions
        if line.startswith("FROM")
    )
    installs = [line for line in instructions if "pip install" in line]
    assert any("--require-hashes" in line and "-r requirements.lock" in line for line in installs), installs
    assert all("--require-hashes" in line or "--no-deps" in line for line in installs), installs
    sources = copied_sources()
    assert {*PACKAGES, "pyproject.toml", "README.md", "requirements.lock"} <= set(sources), sources
    assert [source for source in sources if dockerignored(source)] == []


@pytest.mark.slow
def test_the_wheel_built_from_the_image_sources_runs_every_command(tmp_path: Path) -> None:
    """Builds the wheel from exactly what the Dockerfile copies, checks it holds every module and
    data file, installs it into a fresh virtualenv (dependencies borrowed from this one) and runs
    the commands that need the importer, the migrations and the message templates."""
    context = tmp_path / "context"
    for source in copied_sources():
        if (ROOT / source).is_dir():
            shutil.copytree(ROOT / source, context / source, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            (context / source).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(ROOT / source, context / source)
    dist = tmp_path / "dist"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", dist, context], check=True)
    [wheel] = dist.glob("nhacviec-*.whl")

    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        entries = archive.read(entry_points).decode()
    shipped = {
        path.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for path in (ROOT / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert shipped - names == set()
    assert {"scheduler/outbox/migrations/env.py", "scheduler/outbox/migrations/script.py.mako"} <= names
    assert any(n.startswith("scheduler/render/message_templates/") for n in names)
    assert any(n.startswith("scheduler/web/pages/") for n in names)
    assert "nhacviec = scheduler.cli.app:main" in entries and "zalo = notifiers.zalo:ZaloNotifier" in entries

    venv_dir = tmp_path / "venv"
    venv.create(venv_dir, with_pip=False)
    python = venv_dir / "bin" / "python"
    [site_packages] = venv_dir.glob("lib/python3*/site-packages")
    borrowed = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (site_packages / "borrowed-dependencies.pth").write_text("\n".join(sorted(borrowed)) + "\n")
    subprocess.run([*pip, "--python", python, "install", "--no-deps", "--no-index", wheel], check=True)

    work = tmp_path / "srv"
    shutil.copytree(ROOT / "config", work / "config")
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "NHACVIEC_CONFIG_DIR": str(work / "config"),
        "NHACVIEC_DATABASE_URL": f"sqlite:///{work / 'var' / 'nhacviec.db'}",
    }

    def nhacviec(*args: str) -> str:
        done = subprocess.run(
            [venv_dir / "bin" / "nhacviec", *args],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"nhacviec {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout

    assert nhacviec("--version").strip() == f"nhacviec {PYPROJECT['project']['version']}"
    where = subprocess.run(
        [python, "-c", "import scheduler, notifiers, importer; print(scheduler.__file__, notifiers.__file__, importer.__file__)"],
        cwd=work, env=env, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert all(path.startswith(str(site_packages)) for path in where), where
    assert "DOCUMENT" in nhacviec("import", "--help").upper()
    nhacviec(
        "import", str(ROOT / "tests" / "import_corpus" / "lam-thao-2024-ke-hoach-bdg.txt"), "--out", "p.yaml"
    )
    assert (work / "p.yaml").read_text("utf-8").startswith("#")
    nhacviec("db", "upgrade")
    assert "Tiêu đề:" in nhacviec("preview", "--plan", "hue-2026-bdg", "--agency", "hue-phuong-phu-xuan")
