"""Agencies over time: a merger on 1/7/2025, a rename, an agency removed from the configuration,
and "không theo dõi" for deadlines that had passed before they were first planned — on SQLite and
PostgreSQL (sync and the digest write and read the stored names and statuses on both)."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from scheduler.cli.app import app
from scheduler.config.loader import load_config
from scheduler.config.yamlfile import ConfigInvalid
from scheduler.dispatch.digest import digest_context
from scheduler.outbox.former_agencies import former_agencies
from scheduler.outbox.store import Occurrence, Reminder, Status
from scheduler.outbox.sync import sync
from scheduler.plan.events import calendar_events
from scheduler.render.links import Links
from scheduler.render.messages import MessageBuilder
from tests.support.settings import make_settings

PLAN = "ke-hoach-2025"
BEFORE_MERGER = """
groups:
  - {id: cac-so, name: "Các sở, ngành"}
  - {id: cac-xa, name: UBND các xã}
agencies:
  - {id: ubnd-tinh, name: Ủy ban nhân dân tỉnh Mẫu, contacts: [{name: Văn phòng, email: vp@tinh.example.org}]}
  - id: so-ldtbxh
    name: Sở Lao động - Thương binh và Xã hội
    short_name: Sở LĐTBXH
    groups: [cac-so]
    contacts:
      - {name: Phòng BĐG, email: bdg@ldtbxh.example.org}
      - {name: Giám đốc, role: leader, email: gd@ldtbxh.example.org}
  - {id: so-noi-vu, name: Sở Nội vụ, groups: [cac-so], contacts: [{name: Văn phòng, email: vp@noivu.example.org}]}
  - {id: so-y-te, name: Sở Y tế, groups: [cac-so], contacts: [{name: Văn phòng, email: vp@yte.example.org}]}
  - id: xa-an-hoa
    name: UBND xã An Hòa
    groups: [cac-xa]
    contacts:
      - {name: Văn hóa - xã hội, email: vhxh@anhoa.example.org}
      - {name: Chủ tịch, role: leader, email: ct@anhoa.example.org}
  - {id: xa-binh-an, name: UBND xã Bình An, groups: [cac-xa], contacts: [{name: VHXH, email: vhxh@binhan.example.org}]}
"""
# The same bodies on 1/7/2025: Sở LĐTBXH merged into Sở Nội vụ; An Hòa and Bình An into Hòa An.
MERGER = {
    "  - id: so-ldtbxh\n": "  - id: so-ldtbxh\n    valid_until: 30/06/2025\n    succeeded_by: so-noi-vu\n",
    "  - id: xa-an-hoa\n": "  - id: xa-an-hoa\n    valid_until: 30/06/2025\n    succeeded_by: xa-hoa-an\n",
    "  - {id: xa-binh-an, name: UBND xã Bình An,": (
        "  - {id: xa-binh-an, valid_until: 30/06/2025, succeeded_by: xa-hoa-an, name: UBND xã Bình An,"
    ),
}
NEW_COMMUNE = """  - {id: xa-hoa-an, name: UBND xã Hòa An, valid_from: 01/07/2025, groups: [cac-xa],
     contacts: [{name: VHXH, email: vhxh@hoaan.example.org}]}
"""
PLAN_FILE = f"""
id: {PLAN}
number: 15/KH-UBND
title: Kế hoạch thực hiện công tác bình đẳng giới năm 2025
issuer: UBND tỉnh Mẫu
year: 2025
focal_agency: so-ldtbxh
participants: [cac-so, cac-xa]
obligations:
  - {{id: bao-cao-6-thang, title: Báo cáo 6 tháng, yearly: 10/6, who: [cac-so, cac-xa], to: ubnd-tinh,
     via: so-ldtbxh}}
  - {{id: bao-cao-cuoi-thang-6, title: Báo cáo chuyên đề, yearly: 26/6, who: [cac-xa]}}
  - {{id: bao-cao-9-thang, title: Báo cáo 9 tháng, yearly: 10/9, who: [cac-so, cac-xa], to: ubnd-tinh,
     via: so-ldtbxh}}
  - {{id: bao-cao-nam, title: Báo cáo năm, yearly: 10/12, who: [cac-so, cac-xa], to: ubnd-tinh, via: so-ldtbxh}}
"""


@pytest.fixture
def config(config_dir: Path) -> Path:
    """The sample's policies and working days, with the agencies and plan above."""
    shutil.rmtree(config_dir / "agencies")
    shutil.rmtree(config_dir / "plans")
    (config_dir / "agencies").mkdir()
    (config_dir / "plans").mkdir()
    (config_dir / "agencies" / "tinh.yaml").write_text(BEFORE_MERGER, encoding="utf-8")
    (config_dir / "plans" / f"{PLAN}.yaml").write_text(PLAN_FILE, encoding="utf-8")
    return config_dir


def merge(config: Path) -> None:
    path = config / "agencies" / "tinh.yaml"
    text = path.read_text(encoding="utf-8")
    for old, new in MERGER.items():
        assert old in text, old
        text = text.replace(old, new, 1)
    path.write_text(text + NEW_COMMUNE, encoding="utf-8")


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def run_sync(engine: Engine, tmp_path: Path, config: Path, today: date):
    settings = make_settings(tmp_path, config, str(engine.url))
    deployment = load_config(config, settings, today=today, former=former_agencies(engine))
    return sync(engine, deployment, settings, today), deployment, settings


def occurrences(engine: Engine) -> dict[str, tuple]:
    table = Occurrence.__table__
    with engine.connect() as conn:
        return {
            row.key: (row.status, row.agency_name, row.plan_name)
            for row in conn.execute(
                select(table.c.key, table.c.status, table.c.agency_name, table.c.plan_name)
            )
        }


def reminders(engine: Engine, occurrence_key: str) -> list:
    with engine.connect() as conn:
        return conn.execute(
            select(Reminder.__table__)
            .where(Reminder.occurrence_key == occurrence_key)
            .order_by(Reminder.send_at)
        ).all()


def key(item: str, agency: str) -> str:
    return f"{PLAN}/{item}/2025/{agency}"


def test_a_merger_keeps_the_past_with_its_names_and_sends_the_future_to_the_successor(
    engine, tmp_path, config
):
    run_sync(engine, tmp_path, config, date(2025, 5, 20))  # the service runs before the merger
    before = occurrences(engine)
    assert before[key("bao-cao-6-thang", "xa-an-hoa")] == (
        "open",
        "UBND xã An Hòa",
        "Kế hoạch số 15/KH-UBND: Kế hoạch thực hiện công tác bình đẳng giới năm 2025",
    )
    assert before[key("bao-cao-9-thang", "so-ldtbxh")][:2] == ("open", "Sở LĐTBXH")

    merge(config)  # the officer records the merger on 20/6/2025, ahead of 1/7
    _report, deployment, settings = run_sync(engine, tmp_path, config, date(2025, 6, 20))
    after = occurrences(engine)

    # Before 1/7: the old bodies, their names, their reminders up to 30/6.
    for agency in ("so-ldtbxh", "xa-an-hoa", "xa-binh-an"):
        assert after[key("bao-cao-6-thang", agency)][0] == "open"
    assert after[key("bao-cao-6-thang", "xa-an-hoa")][1] == "UBND xã An Hòa"
    # 26/6 (Thursday): overdue on 27/6, escalation on 1/7 — after An Hòa's last day: cancelled.
    late = {r.kind: r for r in reminders(engine, key("bao-cao-cuoi-thang-6", "xa-an-hoa"))}
    assert late["overdue"].status == Status.PENDING
    assert late["escalation"].status == Status.CANCELLED
    assert late["escalation"].last_error == (
        "hủy: đơn vị đã giải thể / sáp nhập (từ sau 30/06/2025; nay là UBND xã Hòa An)"
    )

    # From 1/7: the successors. Sở Nội vụ was already in the group: one occurrence, not two.
    for agency in ("so-ldtbxh", "xa-an-hoa", "xa-binh-an"):
        assert after[key("bao-cao-9-thang", agency)][0] == "removed"
        assert all(r.status != Status.PENDING for r in reminders(engine, key("bao-cao-9-thang", agency)))
    moved = reminders(engine, key("bao-cao-9-thang", "so-ldtbxh"))
    assert {r.last_error for r in moved if r.status == Status.CANCELLED} == {
        "hủy: đơn vị đã giải thể / sáp nhập (từ sau 30/06/2025; nay là Sở Nội vụ)"
    }
    assert after[key("bao-cao-9-thang", "xa-hoa-an")][:2] == ("open", "UBND xã Hòa An")
    assert after[key("bao-cao-9-thang", "so-noi-vu")][:2] == ("open", "Sở Nội vụ")
    new_commune = reminders(engine, key("bao-cao-9-thang", "xa-hoa-an"))
    assert new_commune and {r.recipient for r in new_commune} == {"vhxh@hoaan.example.org"}
    # The reports of the autumn go through Sở Nội vụ, those of June through Sở LĐTBXH.
    events = {
        (e.item_id, e.start.month): e
        for e in calendar_events(deployment, date(2025, 6, 1), date(2025, 9, 30))
    }
    assert events[("bao-cao-6-thang", 6)].via == "so-ldtbxh"
    assert events[("bao-cao-9-thang", 9)].via == "so-noi-vu"
    assert set(events[("bao-cao-9-thang", 9)].who) == {"so-noi-vu", "so-y-te", "xa-hoa-an"}

    # The digest of 2/7: the June rows with the old names, shown as ended, to Sở Nội vụ.
    context = digest_context(engine, deployment, PLAN, date(2025, 7, 2), settings.timezone)
    assert context["focal_agency"] == "Sở Nội vụ"
    rows = {(r["agency"], r["item"]): r for r in context["rows"]}
    ended = rows[("UBND xã An Hòa", "Báo cáo chuyên đề")]
    assert ended["status"] == "ended"
    assert ended["note"] == "từ sau 30/06/2025; nay là UBND xã Hòa An"
    assert rows[("Sở LĐTBXH", "Báo cáo 6 tháng")]["status"] == "ended"
    assert rows[("Sở Y tế", "Báo cáo 6 tháng")]["status"] == "overdue"  # still exists: still late
    assert context["counts"]["ended"] == 5  # 3 × 10/6, 2 × 26/6
    # A reminder rendered after the merger names Sở Nội vụ as the body reports go through.
    reminder = new_commune[0]
    with engine.connect() as conn:
        occurrence = conn.execute(
            select(Occurrence.__table__).where(Occurrence.key == reminder.occurrence_key)
        ).one()
    links = Links("khoa-kiem-thu-du-dai-32-byte-tro-len", "https://nhacviec.example.org", 30)
    builder = MessageBuilder(deployment, None, links, settings.timezone)  # type: ignore[arg-type]
    fields = builder.reminder_context(reminder, occurrence, builder._event(occurrence), date(2025, 9, 1))
    assert fields["agency"]["name"] == "UBND xã Hòa An"
    assert fields["via_agency"] == "Sở Nội vụ"
    # Nothing more to do on the next run.
    assert run_sync(engine, tmp_path, config, date(2025, 6, 20))[0].writes == 0


def test_a_rename_keeps_the_old_name_on_past_occurrences(engine, tmp_path, config):
    merge(config)
    run_sync(engine, tmp_path, config, date(2025, 8, 20))
    edit(config / "agencies" / "tinh.yaml", "name: UBND xã Hòa An", "name: UBND phường Hòa An")
    edit(
        config / "plans" / f"{PLAN}.yaml", "title: Kế hoạch thực hiện", "title: Kế hoạch (sửa đổi) thực hiện"
    )
    run_sync(engine, tmp_path, config, date(2025, 9, 20))  # after the 10/9 deadline, before 10/12
    after = occurrences(engine)
    past, ahead = after[key("bao-cao-9-thang", "xa-hoa-an")], after[key("bao-cao-nam", "xa-hoa-an")]
    assert past[1:] == (
        "UBND xã Hòa An",
        "Kế hoạch số 15/KH-UBND: Kế hoạch thực hiện công tác bình đẳng giới năm 2025",
    )
    assert ahead[1:] == (
        "UBND phường Hòa An",
        "Kế hoạch số 15/KH-UBND: Kế hoạch (sửa đổi) thực hiện công tác bình đẳng giới năm 2025",
    )
    settings = make_settings(tmp_path, config, str(engine.url))
    deployment = load_config(config, settings, today=date(2025, 9, 22))
    rows = digest_context(engine, deployment, PLAN, date(2025, 9, 22), settings.timezone)["rows"]
    assert {r["agency"] for r in rows if r["item"] == "Báo cáo 9 tháng"} >= {"UBND xã Hòa An"}
    assert "UBND phường Hòa An" not in {r["agency"] for r in rows}


def test_an_agency_removed_from_the_configuration(engine, tmp_path, config, monkeypatch):
    run_sync(engine, tmp_path, config, date(2025, 6, 5))
    agencies = config / "agencies" / "tinh.yaml"
    edit(
        agencies,
        "  - {id: so-y-te, name: Sở Y tế, groups: [cac-so], contacts: [{name: Văn phòng, email: vp@yte.example.org}]}\n",
        "",
    )
    edit(config / "plans" / f"{PLAN}.yaml", "who: [cac-xa]}", "who: [cac-xa, so-y-te]}")  # named directly

    # A plan naming an id the ledger never saw: a typo, an error; one it knows: a warning.
    with pytest.raises(ConfigInvalid, match="'so-y-te' không phải đơn vị hoặc nhóm đã khai báo"):
        load_config(config, today=date(2025, 6, 20))
    deployment = load_config(config, today=date(2025, 6, 20), former=former_agencies(engine))
    assert any("'so-y-te' không còn trong config/agencies/" in str(w) for w in deployment.warnings)

    _report, deployment, settings = run_sync(engine, tmp_path, config, date(2025, 6, 20))
    state = occurrences(engine)
    assert state[key("bao-cao-6-thang", "so-y-te")][0] == "ended"
    assert state[key("bao-cao-6-thang", "so-y-te")][1] == "Sở Y tế"
    cancelled = [
        r for r in reminders(engine, key("bao-cao-6-thang", "so-y-te")) if r.status == Status.CANCELLED
    ]
    reason = "hủy: đơn vị đã giải thể / sáp nhập (không còn trong cấu hình)"
    assert cancelled and {r.last_error for r in cancelled} == {reason}
    assert not any(r.status == Status.PENDING for r in reminders(engine, key("bao-cao-9-thang", "so-y-te")))

    rows = digest_context(engine, deployment, PLAN, date(2025, 6, 20), settings.timezone)["rows"]
    gone = next(r for r in rows if r["agency"] == "Sở Y tế")
    assert (gone["status"], gone["note"]) == ("ended", "không còn trong cấu hình")

    # `nhacviec outbox` shows the reason and the name of the time; `check` passes with a warning.
    runner = CliRunner()
    env = {"NHACVIEC_DATABASE_URL": str(engine.url.render_as_string(hide_password=False)),
           "NHACVIEC_CONFIG_DIR": str(config), "NHACVIEC_SECRET_KEY": "khoa-kiem-thu-du-dai-32-byte-tro-len"}  # fmt: skip
    monkeypatch.chdir(tmp_path)
    listed = runner.invoke(
        app, ["outbox", "--status", "cancelled", "--format", "json", "--limit", "0"], env=env
    )
    assert listed.exit_code == 0, listed.output
    mine = [r for r in json.loads(listed.stdout) if r["occurrence"].endswith("/so-y-te")]
    assert mine and {(r["agency"], r["last_error"]) for r in mine} == {("Sở Y tế", reason)}
    checked = runner.invoke(app, ["check"], env=env)
    assert checked.exit_code == 0, checked.output
    assert "không còn trong config/agencies/" in checked.output


def test_deadlines_passed_before_they_were_first_planned_are_not_followed(engine, tmp_path, config):
    # The service starts on 20/6/2025: 10/6 has passed, 26/6 has not.
    _report, deployment, settings = run_sync(engine, tmp_path, config, date(2025, 6, 20))
    state = occurrences(engine)
    assert state[key("bao-cao-6-thang", "so-y-te")][0] == "untracked"
    assert reminders(engine, key("bao-cao-6-thang", "so-y-te")) == []  # no overdue, no escalation
    assert state[key("bao-cao-cuoi-thang-6", "xa-an-hoa")][0] == "open"
    context = digest_context(engine, deployment, PLAN, date(2025, 6, 20), settings.timezone)
    assert context["counts"]["overdue"] == 0
    assert context["counts"]["untracked"] == 5  # three sở, two xã
    # It stays so, also when the configuration changes.
    edit(config / "plans" / f"{PLAN}.yaml", "title: Báo cáo 6 tháng,", "title: Báo cáo sáu tháng,")
    run_sync(engine, tmp_path, config, date(2025, 6, 23))
    assert occurrences(engine)[key("bao-cao-6-thang", "so-y-te")][0] == "untracked"
    assert reminders(engine, key("bao-cao-6-thang", "so-y-te")) == []
    later = digest_context(engine, deployment, PLAN, date(2025, 6, 30), settings.timezone)
    assert later["counts"]["overdue"] == 2  # the two xã of 26/6, followed from the start, are late
    assert later["counts"]["untracked"] == 5


def test_the_first_digest_of_the_sample_on_a_fresh_database_counts_nothing_late(engine, tmp_path, config_dir):
    today = date(2026, 12, 21)  # the sample's 10/12 and 15/12 deadlines have passed
    settings = make_settings(tmp_path, config_dir, str(engine.url))
    deployment = load_config(config_dir, settings, today=today)
    sync(engine, deployment, settings, today)
    counts = [
        digest_context(engine, deployment, p.id, today, settings.timezone)["counts"] for p in deployment.plans
    ]
    assert sum(c["overdue"] for c in counts) == 0
    assert sum(c["untracked"] for c in counts) > 0


def test_lifetime_mistakes_are_errors_at_their_line(config):
    path = config / "agencies" / "tinh.yaml"
    merge(config)
    edit(path, "    succeeded_by: so-noi-vu\n", "    succeeded_by: so-khong-co\n")
    edit(path, "valid_from: 01/07/2025,", "valid_from: 01/07/2025, valid_until: 01/01/2025,")
    with pytest.raises(ConfigInvalid) as caught:
        load_config(config)
    messages = {(e.field, e.message) for e in caught.value.errors}
    assert (
        "agencies[1].succeeded_by",
        "đơn vị kế thừa 'so-khong-co' không có trong danh sách đơn vị",
    ) in messages
    assert any(f == "agencies[6].valid_until" and "trước ngày bắt đầu" in m for f, m in messages)
    lines = path.read_text(encoding="utf-8").split("\n")
    error = next(e for e in caught.value.errors if e.field == "agencies[1].succeeded_by")
    assert "succeeded_by: so-khong-co" in lines[error.line - 1]


def test_a_plan_that_stops_at_successors_reminds_nobody_after_the_end(engine, tmp_path, config):
    merge(config)
    edit(config / "plans" / f"{PLAN}.yaml", "year: 2025\n", "year: 2025\nsuccessors: stop\n")
    run_sync(engine, tmp_path, config, date(2025, 6, 20))
    state = occurrences(engine)
    assert key("bao-cao-9-thang", "so-noi-vu") in state  # Sở Nội vụ is named by the plan itself
    assert key("bao-cao-9-thang", "xa-hoa-an") in state  # so is every xã of the group
    deployment = load_config(config, today=date(2025, 7, 2))
    warning = next(str(w) for w in deployment.warnings if "so-ldtbxh" in str(w))
    assert "các hạn sau ngày đó không nhắc ai (kế hoạch đặt successors: stop)" in warning
    events = calendar_events(deployment, date(2025, 9, 1), date(2025, 9, 30))
    assert all(e.via is None for e in events if e.item_id == "bao-cao-9-thang")


def test_the_sample_merger_warns_only_about_plans_that_outlive_it(config_dir: Path):
    """The sample's Sở LĐTBXH merged into Sở Nội vụ of Huế on 1/3/2025: the plan of 2020, over
    long before, is not warned about; the same plan made to recur is, naming the successor."""
    today = date(2026, 12, 7)
    warnings = [str(w) for w in load_config(config_dir, today=today).warnings]
    assert not [w for w in warnings if "tth-so-ldtbxh" in w]
    edit(config_dir / "plans" / "tth-2020-bdg.yaml", "year: 2020\n", "year: 2020\nvalid_until: 31/12/2026\n")
    warnings = [str(w) for w in load_config(config_dir, today=today).warnings]
    [merged] = [w for w in warnings if "'tth-so-ldtbxh'" in w]
    assert "đơn vị 'tth-so-ldtbxh' (Sở LĐTBXH) đã giải thể / sáp nhập từ sau ngày 28/02/2025" in merged
    assert "chuyển cho 'hue-so-noi-vu'" in merged
