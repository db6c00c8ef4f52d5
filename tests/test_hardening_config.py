"""Hostile configuration and documents (issue 13): YAML aliases and control characters, a .docx
whose zip headers lie, templates that allocate without bound, the shared-render link marker,
and the year's days off with where each comes from."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import textwrap
import zipfile
from itertools import pairwise
from pathlib import Path

import pytest
from typer.testing import CliRunner

from importer.document import MB
from scheduler.cli.app import app
from scheduler.config.loader import load_config
from scheduler.config.yamlfile import ConfigInvalid
from scheduler.render.samples import SAMPLE_CONTEXT
from scheduler.render.templates import Templates
from tests.support.document_files import write_docx

ROOT = Path(__file__).resolve().parents[1]
PLAN = "plans/tth-2020-bdg.yaml"

# The reviewer's file: nine levels of nine aliases, 9^9 ≈ 387 million strings once expanded.
LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n" for previous, name in pairwise("abcdefghi")
)


def measured(setup: str, action: str, address_space_mb: int = 1024) -> dict:
    """Run `action` in a fresh interpreter after `setup` (the imports), its address space allowed to
    grow by `address_space_mb` at most (a regression fails fast instead of taking the machine):
    how long it took, how much its peak RSS grew, and what it raised."""
    child = textwrap.dedent(
        """
        import json, os, resource, time
        {setup}
        pages = int(open("/proc/self/statm").read().split()[0])
        limit = pages * os.sysconf("SC_PAGE_SIZE") + {address_space_mb} * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.RLIM_INFINITY))
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        try:
            {action}
            raised = None
        except BaseException as exc:
            raised = [type(exc).__name__, str(exc)]
        seconds = time.perf_counter() - start
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
        print(json.dumps({{"seconds": seconds, "grown_mb": grown / 1024, "raised": raised}}))
        """
    ).format(setup=setup, action=action, address_space_mb=address_space_mb)
    done = subprocess.run(
        [sys.executable, "-c", child], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


# --- YAML: aliases, nesting, control characters --------------------------------------------------


def test_the_billion_laughs_file_is_one_error_in_under_a_second_and_100_mb(config_dir: Path):
    hostile = config_dir / "plans" / "cuoi.yaml"
    hostile.write_text(LAUGHS, encoding="utf-8")
    assert len(LAUGHS) < 600
    result = measured(
        "import pathlib\nfrom scheduler.config.yamlfile import read_yaml",
        f"read_yaml(pathlib.Path({str(hostile)!r}))",
    )
    assert result["raised"] is not None and result["raised"][0] == "ConfigInvalid", result
    assert result["seconds"] < 1, result
    assert result["grown_mb"] < 100, result
    with pytest.raises(ConfigInvalid) as caught:  # safe to try here now: the whole configuration
        load_config(config_dir)
    assert [str(error) for error in caught.value.errors] == [
        f"{hostile}:2: bí danh YAML '*a' không được dùng trong tệp cấu hình; hãy viết đầy đủ giá trị tại chỗ"
    ]


@pytest.mark.parametrize(
    ("text", "line", "alias"),
    [
        pytest.param(
            "id: x\nparticipants: &p [tth-huyen]\nwindows:\n  - {id: w, title: T, start: 1/6, end: 30/6, who: *p}\n",
            4, "*p", id="alias",
        ),
        pytest.param(
            "id: x\nbase: &base {title: T}\nobservances:\n  - <<: *base\n    id: o\n",
            4, "*base", id="merge key",
        ),
    ],
)  # fmt: skip
def test_an_alias_is_refused_where_it_is_written(config_dir: Path, text: str, line: int, alias: str):
    (config_dir / "plans" / "bi-danh.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigInvalid) as caught:
        load_config(config_dir)
    [error] = caught.value.errors
    assert (error.file, error.line) == (str(config_dir / "plans" / "bi-danh.yaml"), line)
    assert f"bí danh YAML '{alias}' không được dùng" in error.message


def test_an_anchor_without_alias_is_harmless(config_dir: Path):
    path = config_dir / PLAN
    path.write_text(path.read_text(encoding="utf-8").replace("year: 2020\n", "year: &nam 2020\n"), "utf-8")
    assert load_config(config_dir).plans


def test_nesting_too_deep_is_one_error_not_a_recursion_error(config_dir: Path):
    (config_dir / "plans" / "sau.yaml").write_text("id: x\nnote: " + "[" * 990 + "]" * 990 + "\n", "utf-8")
    with pytest.raises(ConfigInvalid) as caught:
        load_config(config_dir)
    [error] = caught.value.errors
    assert error.line == 2 and "lồng nhau quá 30 tầng" in error.message


@pytest.mark.parametrize(
    ("character", "code"),
    [("\x00", "U+0000"), ("\x1b", "U+001B"), ("\x85", "U+0085"), ("\x9b", "U+009B"), ("\x7f", "U+007F")],
    ids=["NUL", "ESC", "NEL (C1)", "CSI (C1)", "DEL"],
)
def test_a_control_character_is_one_line_with_file_line_and_column(
    config_dir: Path, tmp_path: Path, character: str, code: str
):
    path = config_dir / PLAN
    text = path.read_text(encoding="utf-8")
    line = text[: text.index("year: 2020")].count("\n") + 1
    path.write_text(text.replace("year: 2020", f"year: 20{character}20"), encoding="utf-8")
    env = {"NHACVIEC_CONFIG_DIR": str(config_dir), "NHACVIEC_DATABASE_URL": f"sqlite:///{tmp_path / 'db'}"}
    result = CliRunner().invoke(app, ["check"], env=env)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"lỗi {path}:{line}: ký tự điều khiển {code} (không nhìn thấy) ở cột 9 không được phép trong tệp "
        "cấu hình; hãy xóa ký tự này (thường lẫn vào khi sao chép từ văn bản khác hoặc khi lưu sai bảng mã)",
        "1 lỗi; chưa có thay đổi nào được áp dụng.",
    ]


def test_a_byte_order_mark_tabs_and_vietnamese_text_still_load(config_dir: Path):
    path = config_dir / PLAN
    text = path.read_text(encoding="utf-8").replace("year: 2020\n", "year: 2020\t# năm ‘kế hoạch’ — ổn\n")
    path.write_text("\ufeff" + text, encoding="utf-8")
    assert load_config(config_dir).plans


# --- .docx whose zip headers lie -------------------------------------------------------------------


def lying_docx(folder: Path, real: int = 300 * MB, declared: int = 4096) -> Path:
    """A Word package whose word/document.xml inflates to `real` bytes while its local and central
    headers both declare `declared`: ~300 KB on disk, like the reviewer's file."""
    honest = write_docx("Báo cáo trước ngày 15/12/2020.", folder / "that.docx")
    path = folder / "noi-doi.docx"
    with zipfile.ZipFile(honest) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as package:
        for info in source.infolist():
            if info.filename != "word/document.xml":
                package.writestr(info, source.read(info))
        with package.open("word/document.xml", "w") as member:  # streamed: never 300 MB in memory here
            chunk = b" " * MB
            for _ in range(real // MB):
                member.write(chunk)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as package:
        info = package.getinfo("word/document.xml")
    struct.pack_into("<I", data, info.header_offset + 22, declared)  # local header: uncompressed size
    name = b"word/document.xml"
    (central,) = struct.unpack_from("<I", data, data.rindex(b"PK\x05\x06") + 16)  # the central directory
    while data[central + 46 : central + 46 + len(name)] != name:
        central += 46 + sum(struct.unpack_from("<HHH", data, central + 28))  # name, extra, comment
    struct.pack_into("<I", data, central + 24, declared)  # central header: uncompressed size
    path.write_bytes(bytes(data))
    with zipfile.ZipFile(path) as package:
        assert package.getinfo("word/document.xml").file_size == declared
    assert path.stat().st_size < MB
    return path


def test_a_docx_whose_headers_lie_is_refused_with_bounded_memory(tmp_path: Path):
    path = lying_docx(tmp_path)
    result = measured(
        "import docx\nfrom importer.document import read_document",
        f"read_document(__import__('pathlib').Path({str(path)!r}))",
    )
    assert result["raised"] is not None and result["raised"][0] == "DocumentError", result
    [message] = result["raised"][1].splitlines()
    assert message.startswith(f"{path}: tệp Word giải nén ra quá lớn"), message
    assert "phần word/document.xml khai 4.096 byte nhưng giải nén ra nhiều hơn thế" in message
    assert "giới hạn 50 MB cho nội dung" in message and "khai sai kích thước" in message
    assert result["grown_mb"] < 50, result
    assert result["seconds"] < 5, result


# --- templates: bounded arithmetic, a marker nobody can write --------------------------------------


@pytest.mark.parametrize(
    ("template", "words"),
    [
        pytest.param("{{ 'a' * 300000000 }}", "phép nhân '*' tạo ra chuỗi hoặc danh sách dài 300.000.000", id="str*n"),
        pytest.param("{{ 300000000 * item.title }}", "phép nhân '*' tạo ra chuỗi hoặc danh sách dài", id="n*context"),
        pytest.param("{{ [0] * 300000000 }}", "dài 300.000.000", id="list*n"),
        pytest.param("{{ 7 ** 99999999 }}", "phép lũy thừa '**' tạo ra số quá lớn", id="power"),
        pytest.param(
            "{% set a = item.title %}" + "{% set a = a + a %}" * 40 + "{{ a }}",
            "phép cộng '+' tạo ra chuỗi hoặc danh sách dài", id="doubling",
        ),
    ],
)  # fmt: skip
def test_an_override_template_that_would_allocate_without_bound_fails_at_load(
    tmp_path: Path, template: str, words: str
):
    (tmp_path / "short.txt.j2").write_text(f"{{{{ item.title }}}}\n{template}\n", encoding="utf-8")
    result = measured(
        "import pathlib\nfrom scheduler.render.templates import Templates",
        f"Templates(pathlib.Path({str(tmp_path)!r}))",
    )
    assert result["raised"] is not None and result["raised"][0] == "TemplateInvalid", result
    errors = result["raised"][1].splitlines()
    assert errors and all(
        e.startswith(f"{tmp_path / 'short.txt.j2'}:2: không được phép trong mẫu: ") for e in errors
    )
    assert words in errors[0] and "giới hạn" in errors[0]
    assert result["grown_mb"] < 50, result
    assert result["seconds"] < 5, result


def test_arithmetic_of_a_normal_size_still_works(tmp_path: Path):
    (tmp_path / "short.txt.j2").write_text(
        "{{ item.title }} {{ '-' * 3 }} {{ 2 ** 10 }} {{ days_left + 1 }} {{ [1] + [2] }} {{ confirm_url }}\n",
        encoding="utf-8",
    )
    short = Templates(tmp_path).render("upcoming", SAMPLE_CONTEXT, ("short.txt",)).short
    assert (
        short
        == f"{SAMPLE_CONTEXT['item']['title']} --- 1024 {SAMPLE_CONTEXT['days_left'] + 1} [1, 2] {SAMPLE_CONTEXT['confirm_url']}"
    )


def test_a_title_holding_the_old_fixed_marker_is_not_replaced_by_the_link():
    templates = Templates(None)
    title = "Báo cáo nhacviec-lien-ket-xac-nhan (chữ trong tên kế hoạch)"
    for context in (SAMPLE_CONTEXT, {**SAMPLE_CONTEXT, "confirm_url": "https://nhacviec.example/x/9.8.7"}):
        short = templates.render(
            "upcoming", {**context, "item": {**context["item"], "title": title}}, ("short.txt",)
        ).short
        assert title in short and short.count(context["confirm_url"]) == 1, short
    assert len(templates._kept) == 1  # the second message reused the first render


def test_the_marker_is_random_for_each_process():
    code = "from scheduler.render import shared_renders; print(shared_renders.MARKER)"
    markers = {
        subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        for _ in range(2)
    }
    assert len(markers) == 2
    for marker in markers:
        assert len(marker) >= 32 and marker.isascii() and not set(marker) & set(" .&<>\"'")
