"""A plan's life (scheduler/config/validity.py): validity, `replaces`, items that recur beyond the plan's
year only when they say so, and `check`'s warning about a plan whose validity has ended."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import time_machine
from typer.testing import CliRunner

from scheduler.cli.app import app
from scheduler.config.loader import load_config
from scheduler.config.yamlfile import ConfigInvalid
from scheduler.plan.events import calendar_events

D = date

PLAN = """\
id: thu-nghiem
title: Kế hoạch thử nghiệm năm 2025
issuer: UBND thành phố Huế
year: 2025
focal_agency: hue-so-noi-vu
participants: [hue-so-nganh]
obligations:
  - {id: mot-lan, title: Xây dựng kế hoạch, on: 25/03/2025, who: [hue-so-nganh]}
  - {id: nam, title: Báo cáo năm, yearly: 10/12, who: [hue-so-nganh]}
  - {id: thang, title: Báo cáo tháng, monthly: 20, who: [hue-so-nganh]}
  - {id: lap-lai, title: Báo cáo 6 tháng, yearly: 10/6, recurring: true, who: [hue-so-nganh]}
  - {id: den-2027, title: Báo cáo chuyên đề, yearly: 01/12, until: 2027, who: [hue-so-nganh]}
  - {id: nghi-dinh-09, title: Báo cáo quý, period: quarterly, due: {units: 16, focal: +5d}, who: [hue-so-nganh]}
windows:
  - {id: thang-hanh-dong, title: Tháng hành động, start: 15/11, end: 15/12}
  - {id: dot-rieng, title: Đợt riêng, start: 01/03/2025, end: 15/03/2025}
observances:
  - {id: ngay-le, title: Ngày Phụ nữ Việt Nam, date: 20/10}
  - {id: ngay-le-lap-lai, title: Ngày Gia đình Việt Nam, date: 28/06, recurring: true}
"""


def write(config_dir: Path, text: str = PLAN, name: str = "thu-nghiem.yaml", **replace: str) -> Path:
    for old, new in replace.items():
        assert old in text, old
        text = text.replace(old, new)
    file = config_dir / "plans" / name
    file.write_text(text, encoding="utf-8")
    return file


FIRST, LAST = D(2020, 1, 1), D(2035, 12, 31)


def dates(config_dir: Path, item: str, first=FIRST, last=LAST, plan="thu-nghiem"):
    deployment = load_config(config_dir)
    return [e.start for e in calendar_events(deployment, first, last, plan_id=plan) if e.item_id == item]


def errors_of(config_dir: Path) -> list[str]:
    with pytest.raises(ConfigInvalid) as caught:
        load_config(config_dir)
    return [str(e) for e in caught.value.errors]


def test_items_live_in_the_plans_year_unless_they_say_so(config_dir):
    write(config_dir)
    assert dates(config_dir, "mot-lan") == [D(2025, 3, 25)]
    assert dates(config_dir, "nam") == [D(2025, 12, 10)]
    assert len(dates(config_dir, "thang")) == 12 and dates(config_dir, "thang")[-1] == D(2025, 12, 20)
    assert dates(config_dir, "thang-hanh-dong") == [D(2025, 11, 15)]
    assert dates(config_dir, "ngay-le") == [D(2025, 10, 20)]
    assert dates(config_dir, "dot-rieng") == [D(2025, 3, 1)]
    # `recurring: true`: every year, without end; `until`: through that year.
    assert dates(config_dir, "lap-lai") == [D(year, 6, 10) for year in range(2025, 2036)]
    assert dates(config_dir, "ngay-le-lap-lai")[-1] == D(2035, 6, 28)
    assert dates(config_dir, "den-2027") == [D(2025, 12, 1), D(2026, 12, 1), D(2027, 12, 1)]


def test_a_decree_09_report_belongs_to_the_plan_that_holds_its_cut_off(config_dir):
    write(config_dir)
    deployment = load_config(config_dir)
    events = [
        e for e in calendar_events(deployment, D(2024, 1, 1), D(2027, 12, 31)) if e.item_id.startswith("nghi")
    ]
    assert [(e.period, e.start) for e in events] == [
        ("2025-Q1", D(2025, 3, 16)),
        ("2025-Q1", D(2025, 3, 21)),
        ("2025-Q2", D(2025, 6, 16)),
        ("2025-Q2", D(2025, 6, 21)),
        ("2025-Q3", D(2025, 9, 16)),
        ("2025-Q3", D(2025, 9, 21)),
        ("2025-Q4", D(2025, 12, 16)),
        ("2025-Q4", D(2025, 12, 21)),
    ]


def test_valid_until_or_a_plan_level_until_extends_the_plans_own_items(config_dir):
    write(config_dir, **{"year: 2025\n": "year: 2025\nvalid_until: 30/06/2027\n"})
    assert dates(config_dir, "nam") == [D(2025, 12, 10), D(2026, 12, 10)]
    assert dates(config_dir, "thang")[-1] == D(2027, 6, 20)
    # The items that say how long they live decide for themselves.
    assert dates(config_dir, "lap-lai")[-1] == D(2035, 6, 10)
    assert dates(config_dir, "den-2027")[-1] == D(2027, 12, 1)
    # `until:` at the plan's level, refused before, is 31/12 of that year.
    write(config_dir, **{"year: 2025\n": "year: 2025\nuntil: 2026\n"})
    assert dates(config_dir, "nam") == [D(2025, 12, 10), D(2026, 12, 10)]
    assert next(p for p in load_config(config_dir).plans if p.id == "thu-nghiem").until == 2026


def test_valid_from_starts_the_plan_later_in_its_year(config_dir):
    write(config_dir, **{"year: 2025\n": "year: 2025\nvalid_from: 01/07/2025\n"})
    assert dates(config_dir, "lap-lai")[:2] == [D(2026, 6, 10), D(2027, 6, 10)]
    assert dates(config_dir, "thang")[0] == D(2025, 7, 20)
    assert dates(config_dir, "mot-lan") == [D(2025, 3, 25)]  # a one-off keeps its date


def test_the_replaced_plans_recurring_items_stop_where_the_new_one_starts(config_dir):
    write(config_dir)
    write(
        config_dir,
        "id: moi\ntitle: Kế hoạch mới\nissuer: UBND thành phố Huế\nyear: 2027\nvalid_from: 01/07/2027\n"
        "replaces: thu-nghiem\nfocal_agency: hue-so-noi-vu\nparticipants: [hue-so-nganh]\nobligations:\n"
        "  - {id: lap-lai, title: Báo cáo 6 tháng, yearly: 15/06, recurring: true, who: [hue-so-nganh]}\n",
        "moi.yaml",
    )
    deployment = load_config(config_dir)
    old = next(p for p in deployment.plans if p.id == "thu-nghiem")
    life = deployment.life(old)
    assert (life.replaced_by, life.replaced_from) == ("moi", D(2027, 7, 1))
    # 10/6/2027 is before the new plan starts: still the old plan's; then only the new one's.
    assert dates(config_dir, "lap-lai") == [D(2025, 6, 10), D(2026, 6, 10), D(2027, 6, 10)]
    assert dates(config_dir, "ngay-le-lap-lai")[-1] == D(2027, 6, 28)
    assert dates(config_dir, "lap-lai", plan="moi") == [D(year, 6, 15) for year in range(2028, 2036)]
    assert dates(config_dir, "den-2027") == [D(2025, 12, 1), D(2026, 12, 1)]  # until 2027, cut at 1/7/2027


@pytest.mark.parametrize(
    ("replace", "marker", "where", "message"),
    [
        (
            {"year: 2025\n": "year: 2025\nvalid_until: 31/12/2026\nuntil: 2026\n"},
            "until: 2026",
            "until",
            "không cả hai",
        ),
        (
            {"year: 2025\n": "year: 2025\nvalid_until: 31/12/2024\n"},
            "valid_until:",
            "valid_until",
            "trước khi bắt đầu",
        ),
        (
            {"year: 2025\n": "year: 2025\nreplaces: thu-nghiem\n"},
            "replaces:",
            "replaces",
            "thay thế chính nó",
        ),
        (
            {"on: 25/03/2025,": "on: 25/03/2025, recurring: true,"},
            "mot-lan",
            "obligations[0].recurring",
            "một lần",
        ),
        (
            {"end: 15/03/2025}": "end: 15/03/2025, recurring: yes}"},
            "dot-rieng",
            "windows[1].recurring",
            "một lần",
        ),
        (
            {"yearly: 10/12,": "yearly: 10/12, until: 2024,"},
            "id: nam,",
            "obligations[1].until",
            "trước năm kế hoạch",
        ),
        (
            {"year: 2025\n": "year: 2025\nvalid_from: 31/02/2025\n"},
            "valid_from:",
            "valid_from",
            "chỉ có 28 ngày",
        ),
        (
            {"year: 2025\n": "year: 2025\nreview: ghi số văn bản\n"},
            "review:",
            "review",
            "cần người xem lại: ghi số",
        ),
    ],
)
def test_a_wrong_validity_is_an_error_at_its_line(config_dir, replace, marker, where, message):
    file = write(config_dir, **replace)
    line = next(n for n, text in enumerate(file.read_text("utf-8").splitlines(), 1) if marker in text)
    found = [e for e in errors_of(config_dir) if f"thu-nghiem.yaml:{line}: {where}:" in e]
    assert found and message in found[0], errors_of(config_dir)


def test_plans_that_replace_each_other_in_a_cycle_or_backwards_are_errors(config_dir):
    later = (
        "id: moi\ntitle: Kế hoạch mới\nissuer: UBND thành phố Huế\nyear: 2026\nreplaces: thu-nghiem\n"
        "focal_agency: hue-so-noi-vu\nparticipants: [hue-so-nganh]\n"
    )
    write(config_dir, **{"year: 2025\n": "year: 2025\nreplaces: moi\n"})
    write(config_dir, later, "moi.yaml")
    assert any("vòng lặp" in e and "replaces" in e for e in errors_of(config_dir))
    write(config_dir)
    write(config_dir, later.replace("year: 2026", "year: 2024"), "moi.yaml")
    assert any(
        "moi.yaml:5: replaces: kế hoạch bắt đầu (01/01/2024) không sau" in e for e in errors_of(config_dir)
    )


def test_replacing_a_plan_that_is_not_configured_is_a_warning(config_dir):
    write(config_dir, **{"year: 2025\n": "year: 2025\nreplaces: ke-hoach-da-go\n"})
    warnings = [str(w) for w in load_config(config_dir).warnings]
    assert any("thu-nghiem.yaml:5: replaces: kế hoạch 'ke-hoach-da-go' không có" in w for w in warnings)


def check(config_dir: Path, today: str):
    with time_machine.travel(f"{today} 09:00 +0700", tick=False):
        return CliRunner().invoke(app, ["check", "--config", str(config_dir)], env={})


def test_check_warns_about_a_plan_whose_validity_has_ended(config_dir):
    result = check(config_dir, "2026-12-07")
    assert result.exit_code == 0, result.output
    assert "3 cảnh báo" in " ".join(result.stdout.split())
    assert (
        "tth-2020-bdg.yaml:5: id: kế hoạch 'tth-2020-bdg' đã được thay bằng kế hoạch 'hue-2026-bdg' "
        "từ ngày 01/01/2026: không còn nhắc việc nào sau ngày 31/12/2020" in " ".join(result.stderr.split())
    )
    lam_thao = " ".join(result.stderr.split())
    assert "kế hoạch 'lam-thao-2024-bdg' hết hiệu lực cuối năm 2024 (năm của kế hoạch)" in lam_thao
    assert "nhacviec plan rollover lam-thao-2024-bdg --year 2026" in lam_thao
    # The sample plan of Huế says its periodic reports recur: it never ends by itself.
    assert "hue-2026-bdg.yaml" not in result.stderr
    # In its own year a plan is not ended; nor on its last day.
    assert "lam-thao-2024-bdg" not in check(config_dir, "2024-12-31").stderr
    assert "lam-thao-2024-bdg" in check(config_dir, "2025-01-01").stderr


def test_an_ended_plan_with_a_valid_until_says_its_date(config_dir):
    write(
        config_dir,
        **{
            "year: 2025\n": "year: 2025\nvalid_until: 30/06/2026\n",
            "recurring: true, ": "",
            ", recurring: true}": "}",
        },
    )
    # The item that says `until: 2027` keeps the plan alive until its last deadline.
    assert "thu-nghiem" not in check(config_dir, "2027-12-01").stderr
    assert "kế hoạch 'thu-nghiem' hết hiệu lực" in check(config_dir, "2028-01-01").stderr
    write(
        config_dir,
        **{
            "year: 2025\n": "year: 2025\nvalid_until: 30/06/2026\n",
            "recurring: true, ": "",
            ", recurring: true}": "}",
            ", until: 2027,": ",",
        },
    )
    assert "thu-nghiem" not in check(config_dir, "2026-06-30").stderr
    words = " ".join(check(config_dir, "2026-12-07").stderr.split())
    assert (
        "kế hoạch 'thu-nghiem' hết hiệu lực ngày 30/06/2026: không còn nhắc việc nào sau ngày 30/06/2026"
        in words
    )
