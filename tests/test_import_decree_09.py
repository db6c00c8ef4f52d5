"""`nhacviec import` on reporting regimes: Decree 09/2019 periods, documents without a year, the
end of yearly items, deadlines written as a month or a quarter, and roles matched to agencies.

The phrasings are those of provincial "Quy định chế độ báo cáo định kỳ" and of the issue; the
corpus figures (tests/test_import_corpus.py) must not move.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from typer.testing import CliRunner

from importer.extract import Findings, extract
from importer.matching import candidates, known_agencies, normalise
from importer.proposal import plan_yaml, propose
from scheduler.cli import app as cli_module
from scheduler.cli.app import app
from scheduler.config.loader import load_config
from scheduler.config.schema import ObligationSpec, PlanSpec
from scheduler.config.yamlfile import ConfigInvalid, read_yaml
from scheduler.plan.events import calendar_events
from tests.support.configs import before_the_2025_merger
from tests.support.settings import SAMPLE_CONFIG

D = date
CITES = (
    "Căn cứ Nghị định số 09/2019/NĐ-CP ngày 24/01/2019 của Chính phủ quy định về chế độ báo cáo "
    "của cơ quan hành chính nhà nước;"
)
NOW = datetime(2026, 5, 4, 9, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))


def read(text: str, year: int | None = 2024, first_year: int | None = None) -> Findings:
    paragraphs = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return extract(paragraphs, [f"t.txt:{i}" for i in range(1, len(paragraphs) + 1)], year, first_year)


_TMP = Path(tempfile.mkdtemp(prefix="nhacviec-import-"))


def proposed(found: Findings) -> PlanSpec:
    """The proposal as the loader reads it (the schema accepts it; `check` then asks for people)."""
    path = _TMP / "de-xuat.yaml"
    path.write_text(plan_yaml(found, "de-xuat", "t.txt", D(2026, 5, 4)), encoding="utf-8")
    return PlanSpec.model_validate(read_yaml(path).data)


# --- Decree 09 phrasings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kinds", "day", "to"),
    [
        (
            "Các sở, ngành thực hiện báo cáo định kỳ 6 tháng, hằng năm theo Nghị định 09/2019/NĐ-CP.",
            ("half-year", "annual"),
            None,
            None,
        ),
        ("Báo cáo 6 tháng theo Nghị định 09 gửi UBND tỉnh.", ("half-year",), None, "UBND tỉnh"),
        (
            "UBND các xã gửi báo cáo tháng, quý, 6 tháng và năm theo Nghị định số 09/2019/NĐ-CP về UBND huyện.",
            ("monthly", "quarterly", "half-year", "annual"),
            None,
            "UBND huyện",
        ),
        ("Các xã báo cáo UBND huyện trước ngày 20 tháng cuối quý.", ("quarterly",), 20, "UBND huyện"),
        ("Các sở báo cáo hằng quý về Sở Nội vụ.", ("quarterly",), None, "Sở Nội vụ"),
    ],
)
def test_decree_09_phrasings_become_period_rules(text, kinds, day, to):
    (deadline,) = read(text).deadlines
    assert (deadline.regime, deadline.day, deadline.to) == (kinds, day, to)
    assert bool(deadline.review) == (day is None)  # a day the document does not give is asked for
    plan = proposed(read(text))
    (item,) = plan.obligations
    assert item.period == kinds and item.yearly is None and item.on is None
    assert item.due is None if day is None else item.due.units.day == day
    if day is None:
        assert "ghi due" in item.review or "hãy ghi ngày" in item.review


def test_today_nothing_was_imported_from_a_half_year_report_under_decree_09():
    # The example: it imported nothing and flagged nothing.
    plan = proposed(read("Báo cáo 6 tháng theo Nghị định 09 gửi UBND tỉnh."))
    (item,) = plan.obligations
    assert (item.title, item.period, item.review is not None) == ("Báo cáo định kỳ", ("half-year",), True)


def test_the_provincial_regime_with_its_consolidation_is_one_block():
    found = read(
        f"""
        {CITES}
        Các sở, ngành, UBND các huyện báo cáo 6 tháng trước ngày 15/6 và báo cáo năm trước ngày 15/12;
        Sở Nội vụ tổng hợp báo cáo UBND tỉnh trước ngày 20/6, 20/12.
        """.replace(";\n        Sở", "; Sở")
    )
    (rule,) = found.deadlines
    assert (rule.regime, rule.day, rule.focal_day) == (("half-year", "annual"), 15, 20)
    assert (rule.who, rule.via, rule.to) == (["Các sở, ngành", "UBND các huyện"], "Sở Nội vụ", "UBND tỉnh")
    text = plan_yaml(found, "de-xuat", "t.txt", D(2026, 5, 4))
    assert (
        "    period: [half-year, annual]  # Nghị định 09/2019/NĐ-CP\n    due: {units: 15, focal: 20}\n"
        in text
    )


@pytest.mark.parametrize(
    "text",
    [
        # A periodicity of inspections, not a report (tests/import_corpus/ninh-binh-…).
        f"{CITES}\nKiểm tra, giám sát phải được thực hiện định kỳ 6 tháng, hằng năm, đầu kỳ, giữa kỳ.",
        # Without the decree, a report due on fixed dates stays two yearly items (the TTH seed).
        "Các sở định kỳ 06 tháng (trước ngày 15/6/2024) và 01 năm (trước ngày 15/12/2024) báo cáo UBND tỉnh.",
        # Due before the cut-off of the 14th: not the decree's regime.
        f"{CITES}\nCác sở báo cáo 6 tháng trước ngày 10/6 và báo cáo năm trước ngày 10/12.",
        "Các xã báo cáo UBND huyện trước ngày 10 của tháng cuối quý.",
    ],
)
def test_what_is_not_a_decree_09_regime(text):
    found = read(text)
    assert not any(d.regime for d in found.deadlines)
    if "tháng cuối quý" in text:  # four yearly items, as before
        assert [o.yearly.month for o in proposed(found).obligations] == [3, 6, 9, 12]


# --- documents without a year ----------------------------------------------------------------------

REGIME_WITHOUT_YEAR = f"""\
ỦY BAN NHÂN DÂN TỈNH THỪA THIÊN HUẾ
QUY ĐỊNH
Chế độ báo cáo định kỳ về công tác bình đẳng giới
{CITES}
Các sở, ngành có liên quan thực hiện báo cáo định kỳ 6 tháng, hằng năm theo Nghị định 09.
Các sở, ngành có liên quan báo cáo 6 tháng trước ngày 15/6 và báo cáo năm trước ngày 15/12 hằng năm; Sở Lao động - Thương binh và Xã hội tổng hợp báo cáo UBND tỉnh trước ngày 20/6, 20/12.
UBND thành phố Huế, các thị xã và các huyện báo cáo về Sở Y tế trước ngày 20 tháng cuối quý.
Tháng hành động vì bình đẳng giới từ 15/11 đến 15/12.
"""


def test_a_document_without_a_year_states_recurring_rules():
    found = read(REGIME_WITHOUT_YEAR, year=None, first_year=2026)
    assert (found.year, found.yearless) == (2026, True)  # the cited decree's 2019 is not the plan's year
    plan = proposed(found)
    assert [(o.period, o.until) for o in plan.obligations] == [
        (("half-year", "annual"), None),
        (("half-year", "annual"), None),
        (("quarterly",), None),
    ]
    assert (str(plan.windows[0].start), str(plan.windows[0].end)) == ("15/11", "15/12")
    # A standing regime recurs beyond the import's year: each item says so (scheduler/config/validity.py).
    assert all(o.recurring for o in plan.obligations) and plan.windows[0].recurring
    assert "# Văn bản không ghi năm: các hạn lặp lại từ năm 2026" in plan_yaml(
        found, "x", "t.txt", D(2026, 5, 4)
    )


def test_without_a_year_a_one_off_deadline_still_needs_one():
    found = read(
        "Các sở báo cáo 6 tháng hằng năm trước ngày 15/6.\nCác xã gửi kế hoạch trước ngày 25/3.", None, 2026
    )
    assert found.year is None and found.deadlines == []
    assert "không ghi năm mà có hạn một lần («Các xã gửi kế hoạch trước ngày 25/3.»)" in found.notes[-1]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    target = tmp_path / "config"
    shutil.copytree(SAMPLE_CONFIG, target)
    shutil.rmtree(target / "plans")
    (target / "plans").mkdir()
    return target


@pytest.fixture
def nhacviec(config: Path, tmp_path: Path, monkeypatch):
    monkeypatch.setattr(cli_module.out, "width", 300)
    monkeypatch.setattr(cli_module.err, "width", 300)
    env = {"NHACVIEC_CONFIG_DIR": str(config), "NHACVIEC_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"}

    def invoke(*args: str):
        with time_machine.travel(NOW, tick=False):
            return CliRunner().invoke(app, list(args), env=env)

    return invoke


def confirm(plan_file: Path) -> None:
    """What the officer does with the proposed matches: check them and delete the review lines."""
    text = plan_file.read_text(encoding="utf-8")
    plan_file.write_text(re.sub(r"\n    review: [^\n]*", "", text), encoding="utf-8")


def test_a_regime_without_a_year_imports_without_the_year_option_and_runs(nhacviec, config, tmp_path):
    before_the_2025_merger(config)  # the plan's focal agency stays Sở LĐTBXH in 2027
    document = tmp_path / "quy-dinh-bao-cao.txt"
    # The regime with its days (the line that gives none would need a `due` first).
    undated = "Các sở, ngành có liên quan thực hiện báo cáo định kỳ 6 tháng, hằng năm theo Nghị định 09.\n"
    document.write_text(REGIME_WITHOUT_YEAR.replace(undated, ""), encoding="utf-8")
    target = config / "plans" / "quy-dinh.yaml"
    result = nhacviec("import", str(document), "--out", str(target))
    assert result.exit_code == 0, result.output
    plan = read_yaml(target).data
    assert plan["year"] == "2026"
    assert plan["roles"]["so-lao-dong-thuong-binh-va-xa-hoi"]["agencies"] == ["tth-so-ldtbxh"]
    assert "Vai trò và đơn vị gợi ý" in result.stdout

    refused = nhacviec("check")
    assert refused.exit_code == 1 and "cần người xem lại: gắn theo tên gần nhất" in refused.output
    confirm(target)
    assert nhacviec("check").exit_code == 0, nhacviec("check").output

    deployment = load_config(config)
    events = calendar_events(deployment, D(2027, 1, 1), D(2027, 12, 31), plan_id="quy-dinh")
    half_year = [(e.item_id.endswith(".tong-hop"), e.start) for e in events if e.start.month in (6, 12)]
    assert sorted(half_year) == [
        (False, D(2027, 6, 15)),
        (False, D(2027, 6, 20)),  # quarterly: before the 20th of the quarter's last month
        (False, D(2027, 12, 15)),
        (False, D(2027, 12, 20)),
        (True, D(2027, 6, 20)),
        (True, D(2027, 12, 20)),
    ]
    focal = next(e for e in events if e.item_id.endswith(".tong-hop"))
    assert (focal.who, focal.to) == (("tth-so-ldtbxh",), "tth-ubnd-tinh")


def test_a_one_off_deadline_without_a_year_is_refused_naming_it(nhacviec, tmp_path):
    document = tmp_path / "cong-van.txt"
    document.write_text("Các xã gửi báo cáo về UBND huyện trước ngày 25/3.\n", encoding="utf-8")
    result = nhacviec("import", str(document))
    assert result.exit_code == 2 and "--year" in result.output and "trước ngày 25/3" in result.output


# --- where yearly items end ----------------------------------------------------------------------------


def test_yearly_items_end_with_the_documents_year_unless_it_says_every_year():
    found = read(
        """
        Kế hoạch thực hiện công tác bình đẳng giới năm 2024
        Các sở định kỳ 06 tháng (trước ngày 10/6/2024) báo cáo UBND tỉnh.
        Các xã báo cáo UBND huyện trước ngày 15/12 hằng năm.
        Các huyện báo cáo kết quả trước ngày 20/11 hàng năm.
        """
    )
    plan = proposed(found)
    assert [(str(o.yearly), o.until) for o in plan.obligations] == [
        ("10/06", 2024),
        ("15/12", None),
        ("20/11", None),
    ]
    if "recurring" in ObligationSpec.model_fields:  # the plan-life schema: say so explicitly
        assert [o.model_dump()["recurring"] for o in plan.obligations] == [False, True, True]


def test_the_2020_plan_no_longer_reminds_in_2026(config):
    # The issue: "trước ngày 10/12/2020" became a yearly rule that reminded in December 2026.
    from importer.document import read_document

    doc = read_document(Path(__file__).parent / "import_corpus" / "thua-thien-hue-2020-ke-hoach-bdg.txt")
    known, _ = known_agencies(config)
    plan = propose(extract(doc.paragraphs, doc.locations), "tth-nhap", "tth.txt", D(2026, 5, 4), known)
    target = config / "plans" / "tth-nhap.yaml"
    target.write_text(plan.text, encoding="utf-8")
    confirm(target)
    deployment = load_config(config)
    in_2020 = calendar_events(deployment, D(2020, 1, 1), D(2020, 12, 31), plan_id="tth-nhap")
    assert [e.start for e in in_2020 if e.kind == "deadline"] == [
        D(2020, 3, 25),
        D(2020, 6, 10),
        D(2020, 12, 10),
        D(2020, 12, 15),
    ]
    later = calendar_events(deployment, D(2021, 1, 1), D(2026, 12, 31), plan_id="tth-nhap")
    assert [e for e in later if e.kind == "deadline"] == []


# --- deadlines written as a month or a quarter ------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "due", "written"),
    [
        ("UBND các xã hoàn thành việc rà soát trong tháng 6/2024.", D(2024, 6, 30), "tháng 6/2024"),
        ("Các sở xây dựng kế hoạch, hoàn thành trong Quý II năm 2024.", D(2024, 6, 30), "Quý II năm 2024"),
        ("Các huyện gửi báo cáo sơ kết vào tháng 2.", D(2024, 2, 29), "tháng 2"),  # 2024 is a leap year
        ("Thời gian thực hiện: Quý IV/2024.", D(2024, 12, 31), "Quý IV/2024"),
    ],
)
def test_a_month_or_a_quarter_is_proposed_as_its_last_day_for_review(text, due, written):
    (deadline,) = read(text).deadlines
    assert (deadline.due, deadline.recurrence, deadline.month_level) == (due, "once", True)
    (item,) = proposed(read(text)).obligations
    assert item.on == due
    assert (
        f"văn bản chỉ ghi «{written}», không ghi ngày: đề xuất hạn là ngày cuối ({due:%d/%m/%Y})"
        in item.review
    )
    assert item.confidence == 0.5


def test_a_month_every_year_is_yearly():
    (deadline,) = read("Các xã báo cáo kết quả trong tháng 12 hằng năm.").deadlines
    assert (deadline.due, deadline.recurrence, deadline.every_year) == (D(2024, 12, 31), "yearly", True)


@pytest.mark.parametrize(
    "text",
    [
        "Tổ chức Tháng hành động vì trẻ em trong tháng 6.",  # a window, not a deadline
        "Tháng 6/2024, các xã tổ chức hội nghị.",
        "Số liệu báo cáo tính trong tháng 6/2024.",
    ],
)
def test_months_that_are_not_deadlines(text):
    assert read(text).deadlines == []


# --- roles matched to the configured agencies ---------------------------------------------------------

KNOWN, _ = known_agencies(SAMPLE_CONFIG)


@pytest.mark.parametrize(
    ("text", "places", "best"),
    [
        ("UBND tỉnh", ("Thừa Thiên Huế",), "tth-ubnd-tinh"),  # its short name
        ("Sở Lao động-Thương binh và Xã hội", (), "tth-so-ldtbxh"),
        ("SO LAO DONG THUONG BINH VA XA HOI", (), "tth-so-ldtbxh"),  # no diacritics, capitals
        ("Sở LĐTBXH", (), "tth-so-ldtbxh"),
        ("UBND thành phố Huế, các thị xã và các huyện", (), "tth-huyen"),  # a group
        ("các sở, ngành có liên quan", (), "tth-so-nganh"),
        ("UBND các xã, thị trấn", ("Lâm Thao",), "lt-xa"),
        ("UBND huyện", ("Lâm Thao",), "lt-ubnd-huyen"),  # the document's own district
        ("phòng Lao động - Thương binh và Xã hội", ("Lâm Thao",), "lt-phong-ldtbxh"),
        ("Văn phòng Hội LHPN tỉnh", ("Thái Bình",), "tb-van-phong"),
        ("Hội LHPN huyện, thành phố, các đơn vị", ("Thái Bình",), "tb-hoi-huyen"),
        ("Ban Tuyên giáo -Tổ chức - Chính sách, Luật pháp Hội LHPN tỉnh", (), "tb-ban-tuyen-giao"),
        ("Sở Nội vụ thành phố Huế", (), "hue-so-noi-vu"),  # the post-2025 sample
        ("UBND phường Phú Xuân", ("Huế",), "hue-phuong-phu-xuan"),
    ],
)
def test_roles_match_the_sample_agencies_by_name(text, places, best):
    found = candidates(text, KNOWN, places)
    assert found[0].id == best and found[0].score >= 0.9, found[:3]
    assert all(0 <= c.score <= 1 for c in found) and found == sorted(found, key=lambda c: -c.score)


def test_accents_case_and_abbreviations_do_not_matter():
    assert (
        normalise("Sở LĐTBXH")
        == normalise("SỞ LAO ĐỘNG THƯƠNG BINH VÀ XÃ HỘI")
        == ("so lao dong thuong binh va xa hoi")
    )
    assert normalise("Sở GD&ĐT") == "so giao duc va dao tao"


def test_where_one_agency_is_needed_groups_are_not_proposed():
    assert candidates("các sở, ngành có liên quan", KNOWN, agencies_only=True)[0].id != "tth-so-nganh"
    assert all(not c.group for c in candidates("UBND các huyện", KNOWN, agencies_only=True))


def test_a_role_nothing_resembles_stays_empty_with_what_is_closest_listed(tmp_path):
    found = read("Thủ trưởng các cơ quan, đơn vị liên quan báo cáo trước ngày 10/6/2024.")
    proposal = propose(found, "x", "t.txt", D(2026, 5, 4), KNOWN)
    role = next(r for r in proposal.roles if r.text.startswith("Thủ trưởng"))
    assert role.proposed is None
    block = proposal.text.split(f"  {role.id}:\n", 1)[1]
    assert block.startswith(
        '    text: "Thủ trưởng các cơ quan, đơn vị liên quan"\n    agencies: []\n    # gợi ý: '
    )


def test_check_refuses_a_proposed_match_until_it_is_confirmed(config):
    found = read("Các sở, ngành có liên quan báo cáo UBND tỉnh trước ngày 10/6/2024.")
    plan = propose(found, "x", "t.txt", D(2026, 5, 4), KNOWN)
    target = config / "plans" / "x.yaml"
    target.write_text(plan.text, encoding="utf-8")
    with pytest.raises(ConfigInvalid) as refused:
        load_config(config)
    fields = {
        e.field for e in refused.value.errors if "cần người xem lại: gắn theo tên gần nhất" in e.message
    }
    assert fields == {"roles.cac-so-nganh-co-lien-quan.review", "roles.ubnd-tinh.review"}
    line = next(n for n, t in enumerate(plan.text.splitlines(), 1) if 'review: "gắn theo tên' in t)
    assert min(e.line for e in refused.value.errors) == line
    confirm(target)
    (event,) = calendar_events(load_config(config), D(2024, 1, 1), D(2024, 12, 31), plan_id="x")
    assert event.to == "tth-ubnd-tinh" and "tth-so-y-te" in event.who
