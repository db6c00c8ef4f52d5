"""`nhacviec import` on real plans: the events a careful reader extracts, and no others.

tests/import_corpus/ holds the three seed plans and the openings of more real plans, each
with the events a person read out of it (README.md there says how to add one).
"""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path

import pytest
import yaml

from importer.document import read_document
from importer.extract import extract
from importer.proposal import plan_yaml
from importer.quality import (
    corpus_documents,
    expected_events,
    format_report,
    found_events,
    score_corpus,
)
from scheduler.config.loader import load_config
from scheduler.config.yamlfile import ConfigInvalid
from scheduler.plan.events import calendar_events
from tests.support.document_files import write_docx, write_pdf

CORPUS = Path(__file__).parent / "import_corpus"
SEEDS = [
    "thua-thien-hue-2020-ke-hoach-bdg",
    "lam-thao-2024-ke-hoach-bdg",
    "thai-binh-hlhpn-2024-ke-hoach-bdg",
]
REPO_CONFIG = Path(__file__).resolve().parents[1] / "config"
TODAY = date(2026, 11, 24)


def propose(document: Path) -> str:
    doc = read_document(document)
    return plan_yaml(extract(doc.paragraphs, doc.locations), "de-xuat", "van-ban", TODAY)


@pytest.mark.parametrize("name", SEEDS)
def test_each_seed_yields_exactly_the_readers_events(name: str) -> None:
    doc = read_document(CORPUS / f"{name}.txt")
    expected = yaml.safe_load((CORPUS / f"{name}.yaml").read_text(encoding="utf-8"))
    assert found_events(extract(doc.paragraphs, doc.locations)) == expected_events(expected)


def test_recall_and_precision_over_the_corpus(capsys) -> None:
    report = score_corpus(CORPUS)
    with capsys.disabled():
        print(f"\nimport quality over {len(report.documents)} documents\n{format_report(report)}")
    assert len(report.documents) == len(corpus_documents(CORPUS)) >= 12
    for score in [*report.scores.values(), report.total()]:
        assert score.precision >= 0.95 and score.recall >= 0.95, format_report(report)


@pytest.mark.parametrize("name", SEEDS)
def test_word_and_pdf_documents_give_the_same_plan_as_the_text(name: str, tmp_path: Path) -> None:
    text = (CORPUS / f"{name}.txt").read_text(encoding="utf-8")
    write_docx(text, tmp_path / f"{name}.docx")
    write_pdf(text, tmp_path / f"{name}.pdf")
    plans = [
        _without_locations(propose(tmp_path.parent / tmp_path.name / f"{name}{s}")) for s in (".docx", ".pdf")
    ]
    assert plans[0] == plans[1] == _without_locations(propose(CORPUS / f"{name}.txt"))


def map_roles(plan: str, mapping: dict[str, str]) -> str:
    """What the officer does: write each role's agency into its `agencies: []`."""
    for role, agency in mapping.items():
        plan, found = re.subn(rf"(\n  {role}:\n    text: [^\n]*\n    agencies: )\[\]", rf"\1[{agency}]", plan)
        assert found == 1, f"no role {role} in\n{plan}"
    return plan


def _without_locations(plan: str) -> str:
    """The plan without the `# file:line` comments, which differ by format by design."""
    return re.sub(r"  # \S+:[^\n]*", "", plan)


def test_a_proposal_is_refused_until_roles_are_mapped_then_yields_the_events(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(REPO_CONFIG, config)
    plan_file = config / "plans" / "de-xuat.yaml"
    plan_file.write_text(propose(CORPUS / "thua-thien-hue-2020-ke-hoach-bdg.txt"), encoding="utf-8")

    with pytest.raises(ConfigInvalid) as refused:
        load_config(config)
    unmapped = [e for e in refused.value.errors if e.file == str(plan_file)]
    assert unmapped and all("chưa gắn với đơn vị nào" in e.message for e in unmapped)
    assert {e.field for e in unmapped} >= {"roles.ubnd-tinh.agencies"}

    mapping = {
        "so-lao-dong-thuong-binh-va-xa-hoi": "tth-so-ldtbxh",
        "ubnd-thanh-pho-hue-cac-thi-xa-va-cac-huyen": "tth-huyen",
        "cac-so-nganh-co-lien-quan": "tth-so-nganh",
        "ubnd-tinh": "tth-ubnd-tinh",
    }
    plan_file.write_text(map_roles(plan_file.read_text(encoding="utf-8"), mapping), encoding="utf-8")

    deployment = load_config(config)
    events = calendar_events(deployment, date(2020, 1, 1), date(2020, 12, 31), plan_id="de-xuat")
    assert sorted((e.kind, e.start, e.end) for e in events) == [
        ("deadline", date(2020, 3, 25), date(2020, 3, 25)),
        ("deadline", date(2020, 6, 10), date(2020, 6, 10)),
        ("deadline", date(2020, 12, 10), date(2020, 12, 10)),
        ("deadline", date(2020, 12, 15), date(2020, 12, 15)),
        ("window", date(2020, 11, 15), date(2020, 12, 15)),
    ]
    annual = next(e for e in events if e.start == date(2020, 12, 10))
    assert (annual.to, annual.via) == ("tth-ubnd-tinh", "tth-so-ldtbxh")
    assert "tth-ubnd-h-a-luoi" in annual.who and "tth-so-noi-vu" in annual.who


def test_a_flagged_item_is_refused_until_resolved(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(REPO_CONFIG, config)
    plan_file = config / "plans" / "de-xuat.yaml"
    mapping = {
        "van-phong-hoi-lhpn-tinh": "tb-van-phong",
        "hoi-lhpn-huyen-thanh-pho-cac-don-vi": "tb-hoi-huyen",
        "ban-tuyen-giao-to-chuc-chinh-sach-luat-phap-hoi": "tb-ban-tuyen-giao",
    }
    plan = map_roles(propose(CORPUS / "thai-binh-hlhpn-2024-ke-hoach-bdg.txt"), mapping)
    plan_file.write_text(plan, encoding="utf-8")

    with pytest.raises(ConfigInvalid) as refused:
        load_config(config)
    messages = [e.message for e in refused.value.errors if e.file == str(plan_file)]
    assert any("cần người xem lại: văn bản không ghi ngày nộp báo cáo hằng tháng" in m for m in messages)

    resolved = re.sub(r"monthly: null", "monthly: 20", plan)
    resolved = re.sub(r"\n    review: [^\n]*", "", resolved)
    plan_file.write_text(resolved, encoding="utf-8")
    deployment = load_config(config)
    events = calendar_events(deployment, date(2024, 1, 1), date(2024, 12, 31), plan_id="de-xuat")
    deadlines = [e.start for e in events if e.kind == "deadline"]
    assert len(deadlines) == 13 and date(2024, 12, 1) in deadlines and date(2024, 5, 20) in deadlines
