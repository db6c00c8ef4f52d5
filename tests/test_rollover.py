"""`nhacviec plan rollover`: next year's plan for review, and the sample deployment's live plan."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select
from typer.testing import CliRunner

from scheduler.cli.app import app
from scheduler.config.loader import load_config
from scheduler.config.settings import load_settings
from scheduler.config.yamlfile import ConfigInvalid
from scheduler.outbox.store import Reminder, Status, open_store
from scheduler.outbox.sync import sync
from scheduler.plan.events import calendar_events
from scheduler.plan.planner import Planner

D = date
NOW = "2026-12-07 09:00 +0700"


def nhacviec(config_dir: Path, *args: str, code: int = 0):
    with time_machine.travel(NOW, tick=False):
        result = CliRunner().invoke(app, [*args, "--config", str(config_dir)], env={})
    assert result.exit_code == code, result.output
    return result


def roll(config_dir: Path, plan: str, year: int = 2027) -> tuple[Path, str]:
    new_id = re.sub(r"20\d\d", str(year), plan)
    out = config_dir / "plans" / f"{new_id}.yaml"
    result = nhacviec(config_dir, "plan", "rollover", plan, "--year", str(year), "--out", str(out))
    assert f"Đã ghi {out}" in " ".join(result.stdout.split())
    return out, new_id


def resolve_reviews(file: Path) -> None:
    """What the officer does once each flagged item is checked: delete the `review:` lines."""
    lines = file.read_text(encoding="utf-8").splitlines(keepends=True)
    file.write_text("".join(line for line in lines if not line.lstrip().startswith("review:")), "utf-8")


def shape(config_dir: Path, plan_id: str, year: int) -> list[tuple[str, str, date, date]]:
    deployment = load_config(config_dir)
    events = calendar_events(deployment, D(year, 1, 1), D(year, 12, 31), plan_id=plan_id)
    return sorted((e.kind, e.item_id, e.start, e.end) for e in events)


def review_errors(config_dir: Path) -> list[str]:
    with pytest.raises(ConfigInvalid) as caught:
        load_config(config_dir)
    errors = [str(e) for e in caught.value.errors]
    assert all("cần người xem lại" in e for e in errors), errors
    return errors


def test_the_tth_plan_rolled_over_to_2027(config_dir):
    source = (config_dir / "plans" / "tth-2020-bdg.yaml").read_text(encoding="utf-8")
    out, new_id = roll(config_dir, "tth-2020-bdg")
    assert new_id == "tth-2027-bdg"
    text = out.read_text(encoding="utf-8")
    assert "từ " in text.splitlines()[0] and "tth-2020-bdg.yaml" in text.splitlines()[0]  # the source kept
    for line in ("year: 2027", "valid_from: 01/01/2027", "valid_until: 31/12/2027", "replaces: tth-2020-bdg"):
        assert f"\n{line}\n" in text
    assert "năm 2027" in text.split("\ntitle:", 1)[1].splitlines()[0]
    assert (config_dir / "plans" / "tth-2020-bdg.yaml").read_text(encoding="utf-8") == source
    # The plan (its number and date) and the one-off 25/3 are flagged; the checker refuses them.
    errors = review_errors(config_dir)
    assert len(errors) == 2
    assert any("obligations[0].review" in e and "25/03/2020" in e and "25/03/2027" in e for e in errors)

    resolve_reviews(out)
    assert "Cấu hình hợp lệ: 5 kế hoạch" in " ".join(nhacviec(config_dir, "check").stdout.split())
    assert shape(config_dir, new_id, 2027) == [
        ("deadline", "bao-cao-6-thang", D(2027, 6, 10), D(2027, 6, 10)),
        ("deadline", "bao-cao-nam", D(2027, 12, 10), D(2027, 12, 10)),
        ("deadline", "ke-hoach-trien-khai", D(2027, 3, 25), D(2027, 3, 25)),
        ("deadline", "tong-hop-bao-cao-nam", D(2027, 12, 15), D(2027, 12, 15)),
        ("window", "thang-hanh-dong-bdg", D(2027, 11, 15), D(2027, 12, 15)),
    ]
    deployment = load_config(config_dir)
    chain = calendar_events(deployment, D(2027, 12, 15), D(2027, 12, 15), plan_id=new_id)
    # The sample's Sở LĐTBXH merged into Sở Nội vụ of Huế in 2025: its consolidation goes there.
    assert [(e.after, e.who, e.to) for e in chain if e.kind == "deadline"] == [
        ("bao-cao-nam", ("hue-so-noi-vu",), "tth-ubnd-tinh")
    ]
    assert shape(config_dir, new_id, 2028) == [] and shape(config_dir, new_id, 2026) == []
    assert shape(config_dir, "tth-2020-bdg", 2027) == []


def test_the_lam_thao_plan_rolled_over_to_2027(config_dir):
    out, new_id = roll(config_dir, "lam-thao-2024-bdg")
    assert len(review_errors(config_dir)) == 2  # the plan, the one-off report of 15/11/2024
    resolve_reviews(out)
    nhacviec(config_dir, "check")
    assert shape(config_dir, new_id, 2027) == [
        ("deadline", "bao-cao-ket-qua", D(2027, 11, 15), D(2027, 11, 15)),
        ("window", "thang-hanh-dong-bdg", D(2027, 11, 15), D(2027, 12, 15)),
    ]
    assert "Báo cáo kết quả thực hiện Kế hoạch năm 2027" in out.read_text(encoding="utf-8")
    assert shape(config_dir, new_id, 2028) == []


def test_the_thai_binh_plan_rolled_over_to_2027_with_its_weekends_and_tet(config_dir):
    out, new_id = roll(config_dir, "thai-binh-hlhpn-2024-bdg")
    assert len(review_errors(config_dir)) == 1  # only the plan: every item recurs
    resolve_reviews(out)
    nhacviec(config_dir, "check")
    events = shape(config_dir, new_id, 2027)
    monthly = [start for kind, item, start, _ in events if item == "bao-cao-thang"]
    assert monthly == [D(2027, month, 20) for month in range(1, 13)]
    assert [e for e in events if e[1] != "bao-cao-thang"] == [
        ("deadline", "bao-cao-chuyen-de-nam", D(2027, 12, 1), D(2027, 12, 1)),
        ("observance", "gia-dinh-viet-nam", D(2027, 6, 28), D(2027, 6, 28)),
        ("observance", "phu-nu-viet-nam", D(2027, 10, 20), D(2027, 10, 20)),
        ("observance", "quoc-te-hanh-phuc", D(2027, 3, 20), D(2027, 3, 20)),
        ("observance", "quoc-te-phu-nu", D(2027, 3, 8), D(2027, 3, 8)),
        ("observance", "xoa-bo-bao-luc", D(2027, 11, 25), D(2027, 11, 25)),
        ("window", "thang-hanh-dong-bdg", D(2027, 11, 15), D(2027, 12, 15)),
        ("window", "thang-hanh-dong-pcbldg", D(2027, 6, 1), D(2027, 6, 30)),
    ]
    # Weekends and Tết as in any plan: the report of 20/02/2027 (a Saturday, two weeks after
    # Tết) is effective on Monday 22/02; its reminders go out on working days around it.
    deployment = load_config(config_dir)
    workdays = deployment.workdays
    assert not workdays.is_working_day(D(2027, 2, 8))  # Tết Đinh Mùi
    assert workdays.next_working_day(D(2027, 2, 20)) == D(2027, 2, 22)
    planner = Planner(deployment, load_settings(env={}))
    [occurrence] = [
        o
        for o in planner.occurrences(D(2027, 2, 1), D(2027, 2, 28))
        if o.event.item_id == "bao-cao-thang" and o.agency_id == "tb-hoi-dong-hung"
    ]
    sent = {
        r.rung: r.send_at.astimezone(load_settings(env={}).timezone).date()
        for r in planner.reminders(occurrence)
    }
    # Overdue: one working day after the effective deadline (Monday 22/02).
    assert sent == {"-3d": D(2027, 2, 17), "0d": D(2027, 2, 19), "+1wd": D(2027, 2, 23)}
    assert shape(config_dir, new_id, 2028) == []


def test_a_rollover_of_the_sample_plan_of_hue_stops_its_recurring_reports(config_dir):
    """hue-2026-bdg's periodic reports say `recurring: true`; its successor stops them."""
    assert shape(config_dir, "hue-2026-bdg", 2028)[:1] == [
        ("deadline", "bao-cao-6-thang", D(2028, 6, 10), D(2028, 6, 10))
    ]
    out, new_id = roll(config_dir, "hue-2026-bdg")
    assert "recurring: true" in out.read_text(encoding="utf-8")
    resolve_reviews(out)
    nhacviec(config_dir, "check")
    assert shape(config_dir, "hue-2026-bdg", 2027) == []
    assert [e[1:3] for e in shape(config_dir, new_id, 2028)][:1] == [("bao-cao-6-thang", D(2028, 6, 10))]


def test_bad_requests_are_refused_with_the_reason(config_dir, tmp_path):
    missing = nhacviec(config_dir, "plan", "rollover", "khong-co", "--year", "2027", code=2)
    assert "không có kế hoạch 'khong-co'" in missing.stderr and "tth-2020-bdg" in missing.stderr
    earlier = nhacviec(config_dir, "plan", "rollover", "tth-2020-bdg", "--year", "2020", code=1)
    assert "năm mới (--year) phải sau năm đó" in " ".join(earlier.stderr.split())
    existing = tmp_path / "co-roi.yaml"
    existing.write_text("x", encoding="utf-8")
    args = ("plan", "rollover", "tth-2020-bdg", "--year", "2027", "--out", str(existing))
    assert "--force" in nhacviec(config_dir, *args, code=2).stderr
    assert existing.read_text(encoding="utf-8") == "x"
    nhacviec(config_dir, *args, "--force")
    assert "id: tth-2027-bdg" in existing.read_text(encoding="utf-8")
    # Without --out the plan is printed; a plan file may be named by its path; --id chooses the id.
    printed = nhacviec(
        config_dir, "plan", "rollover", str(config_dir / "plans" / "lam-thao-2024-bdg.yaml"), "--year", "2030",
        "--id", "lt-bdg-2030",
    )  # fmt: skip
    assert "\nid: lt-bdg-2030\n" in printed.stdout and "on: 15/11/2030" in printed.stdout
    assert (
        "--id"
        in nhacviec(
            config_dir, "plan", "rollover", "tth-2020-bdg", "--year", "2027", "--id", "X", code=2
        ).stderr
    )


# --- the sample deployment: live reminders from its current-year plan ----------------------------


@pytest.mark.parametrize("today", ["2026-01-05", "2026-05-20", "2026-10-20", "2026-12-07", "2027-05-25"])
def test_the_sample_current_year_plan_gives_live_reminders(tmp_path, today):
    day = date.fromisoformat(today)
    settings = load_settings(env={"NHACVIEC_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}"})
    from tests.support.settings import SAMPLE_CONFIG

    engine = open_store(settings.database_url)
    with time_machine.travel(f"{today} 07:00 +0700", tick=False):
        report = sync(engine, load_config(SAMPLE_CONFIG), settings, day)
        now = datetime.now(UTC)
    with engine.connect() as conn:
        rows = conn.execute(
            select(Reminder.occurrence_key, Reminder.send_at).where(Reminder.status == Status.PENDING)
        ).all()
    engine.dispose()
    assert report.added > 0
    live = [key for key, send_at in rows if send_at.replace(tzinfo=UTC) >= now]
    assert live and all(key.startswith("hue-2026-bdg/") for key, _ in rows)
    first = min(send_at for _, send_at in rows).replace(tzinfo=UTC)
    assert first - now < timedelta(days=90)  # the next reminder is weeks away, not a year
