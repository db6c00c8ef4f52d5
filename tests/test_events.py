"""Calendar rules: monthly on a day or the last working day, rules bounded by `until`."""

from __future__ import annotations

from datetime import date

from scheduler.config.loader import load_config
from scheduler.plan.events import calendar_events

PLAN = """\
id: thu-nghiem
title: Kế hoạch thử nghiệm
issuer: UBND tỉnh
year: 2025
focal_agency: tth-so-ldtbxh
participants: [tth-so-nganh]
obligations:
  - {id: cuoi-thang, title: Báo cáo cuối tháng, monthly: last_working_day, until: 2025, who: [tth-so-noi-vu]}
  - {id: ngay-31, title: Báo cáo ngày 31, monthly: 31, until: 2025, who: [tth-so-noi-vu]}
  - {id: mot-nam, title: Báo cáo năm 2025, yearly: 15/11, until: 2025, who: [tth-so-noi-vu]}
windows:
  - {id: dot-rieng, title: Đợt năm 2025, start: 01/03/2025, end: 15/03/2025}
"""


def events(config_dir, first, last, item):
    (config_dir / "plans" / "thu-nghiem.yaml").write_text(PLAN, encoding="utf-8")
    deployment = load_config(config_dir)
    return [e for e in calendar_events(deployment, first, last, plan_id="thu-nghiem") if e.item_id == item]


def test_monthly_last_working_day_skips_weekends_and_holidays(config_dir):
    found = events(config_dir, date(2025, 1, 1), date(2026, 12, 31), "cuoi-thang")
    days = [e.start for e in found]
    assert len(days) == 12  # until 2025
    assert days[0] == date(2025, 1, 24)  # 27–31/1/2025 are Tết
    assert days[4] == date(2025, 5, 30)  # 31/5 is a Saturday
    assert days[7] == date(2025, 8, 29)  # 30–31/8 weekend
    assert [e.period for e in found][:2] == ["2025-01", "2025-02"]


def test_monthly_day_31_is_the_last_day_of_shorter_months(config_dir):
    days = [e.start for e in events(config_dir, date(2025, 1, 1), date(2025, 12, 31), "ngay-31")]
    assert days[1] == date(2025, 2, 28) and days[3] == date(2025, 4, 30) and days[0] == date(2025, 1, 31)


def test_until_bounds_a_yearly_rule_and_dated_windows_happen_once(config_dir):
    assert [e.start for e in events(config_dir, date(2024, 1, 1), date(2030, 12, 31), "mot-nam")] == [
        date(2025, 11, 15)
    ]
    windows = events(config_dir, date(2024, 1, 1), date(2030, 12, 31), "dot-rieng")
    assert [(e.start, e.end) for e in windows] == [(date(2025, 3, 1), date(2025, 3, 15))]
    # A window that overlaps the period is listed even when it started before it.
    assert events(config_dir, date(2025, 3, 10), date(2025, 3, 10), "dot-rieng")
