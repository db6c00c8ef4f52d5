"""`nhacviec import` as an officer runs it: the plan file, the summary, and bad documents."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scheduler.cli import app as cli_module
from scheduler.cli.app import app
from scheduler.config.yamlfile import read_yaml

CORPUS = Path(__file__).parent / "import_corpus"
SEED = CORPUS / "thua-thien-hue-2020-ke-hoach-bdg.txt"
REPO_CONFIG = Path(__file__).resolve().parents[1] / "config"


@pytest.fixture
def config(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(REPO_CONFIG, target)
    return target


@pytest.fixture
def nhacviec(config: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(cli_module.out, "width", 300)
    monkeypatch.setattr(cli_module.err, "width", 300)
    env = {"NHACVIEC_CONFIG_DIR": str(config), "NHACVIEC_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}

    def invoke(*args: str):
        return CliRunner().invoke(app, list(args), env=env)

    return invoke


def test_import_writes_the_plan_and_prints_what_needs_a_person(nhacviec, config: Path) -> None:
    target = config / "plans" / "tth-2020-nhap.yaml"
    result = nhacviec("import", str(SEED), "--out", str(target))
    assert result.exit_code == 0, result.output
    plan = read_yaml(target).data  # as the loader reads it: `on:` is a key, not YAML 1.1's True
    assert (plan["id"], plan["year"]) == ("tth-2020-nhap", "2020")
    assert [o.get("on") or o.get("yearly") for o in plan["obligations"]] == [
        "25/03/2020",
        "10/06",
        "10/12",
        "15/12",
    ]
    assert plan["windows"][0]["start"] == "15/11" and plan["windows"][0]["end"] == "15/12"
    assert plan["obligations"][3]["after"] == plan["obligations"][2]["id"]
    # Each role is matched by name against config/agencies/, to be confirmed (tests/test_import_decree_09.py).
    assert {role_id: role["agencies"] for role_id, role in plan["roles"].items()} == {
        "so-lao-dong-thuong-binh-va-xa-hoi": ["tth-so-ldtbxh"],
        "ubnd-thanh-pho-hue-cac-thi-xa-va-cac-huyen": ["tth-huyen"],
        "cac-so-nganh-co-lien-quan": ["tth-so-nganh"],
        "ubnd-tinh": ["tth-ubnd-tinh"],
    }
    assert all("gắn theo tên gần nhất" in role["review"] for role in plan["roles"].values())
    assert "Tìm thấy 4 hạn, 1 đợt, 0 ngày kỷ niệm" in result.stdout
    assert "xác nhận 4 vai trò đã gắn theo tên" in result.stdout
    assert f"Đã ghi {target}" in result.stdout

    checked = nhacviec("check")
    assert checked.exit_code == 1
    assert f"{target}:" in checked.output and "cần người xem lại: gắn theo tên gần nhất" in checked.output


def test_contacts_in_the_text_are_shown_and_kept_as_comments(nhacviec, tmp_path: Path) -> None:
    document = tmp_path / "cong-van.txt"
    document.write_text(
        "Các xã báo cáo UBND huyện trước ngày 10/6/2024. Liên hệ: chị Lan, 0912 345 678, lan@ldtbxh.example.vn.\n",
        encoding="utf-8",
    )
    result = nhacviec("import", str(document))
    assert "#   lan@ldtbxh.example.vn" in result.stdout and "#   0912345678" in result.stdout
    assert "Liên hệ ghi trong văn bản: lan@ldtbxh.example.vn, 0912345678" in result.stderr


def test_import_without_out_prints_the_plan(nhacviec) -> None:
    result = nhacviec("import", str(SEED))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# Đề xuất của `nhacviec import`")
    assert "yearly: 10/12" in result.stdout


def test_import_never_overwrites_without_force(nhacviec, tmp_path: Path) -> None:
    target = tmp_path / "plan.yaml"
    target.write_text("giữ nguyên\n", encoding="utf-8")
    refused = nhacviec("import", str(SEED), "--out", str(target))
    assert refused.exit_code == 2 and "tệp đã có" in refused.output
    assert target.read_text(encoding="utf-8") == "giữ nguyên\n"
    assert nhacviec("import", str(SEED), "--out", str(target), "--force").exit_code == 0
    assert target.read_text(encoding="utf-8").startswith("# Đề xuất")


def test_the_year_option_fills_dates_written_without_one(nhacviec, tmp_path: Path) -> None:
    document = tmp_path / "cong-van.md"
    document.write_text("Các xã gửi báo cáo về **UBND huyện** trước ngày **25/3**.\n", encoding="utf-8")
    missing = nhacviec("import", str(document))
    assert missing.exit_code == 2 and "--year" in missing.output
    result = nhacviec("import", str(document), "--year", "2025")
    assert result.exit_code == 0 and "on: 25/03/2025" in result.stdout


@pytest.mark.parametrize(
    ("name", "content", "code", "words"),
    [
        ("rong.txt", b"", 1, "không tìm thấy"),
        ("ghi-chu.txt", "Hôm nay trời đẹp. Ngày mai họp chi bộ.".encode(), 1, "không tìm thấy"),
        ("nhi-phan.txt", bytes(range(256)) * 40, 2, "nhi-phan.txt"),
        ("ke-hoach.odt", b"PK\x03\x04", 2, ".docx"),
        ("hong.pdf", b"%PDF-1.7\n1 0 obj <<", 2, "hong.pdf"),
        ("hong.docx", b"not a zip at all", 2, "hong.docx"),
    ],
)
def test_bad_documents_get_a_clear_error(nhacviec, tmp_path: Path, name, content, code, words) -> None:
    document = tmp_path / name
    document.write_bytes(content)
    result = nhacviec("import", str(document), "--year", "2024", "--out", str(tmp_path / "out.yaml"))
    assert result.exit_code == code, result.output
    assert words in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out.yaml").exists()


def test_a_missing_document(nhacviec, tmp_path: Path) -> None:
    result = nhacviec("import", str(tmp_path / "khong-co.txt"))
    assert result.exit_code == 2 and "khong-co.txt" in result.output
