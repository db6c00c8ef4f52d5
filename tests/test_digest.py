"""The digest's deadlines: grouped, each with its progress and its late agencies, the statuses
those of scheduler/outbox/status.py (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select

from scheduler.dispatch.digest import digest_context
from scheduler.outbox.acks import acknowledge
from scheduler.outbox.store import Occurrence
from scheduler.render.templates import Templates
from tests.support.board import synced_sample


def test_the_digest_groups_by_deadline_with_progress_and_the_late_named(engine, tmp_path, config_dir):
    settings, deployment = synced_sample(
        tmp_path, config_dir, engine
    )  # followed from before the 10/12 deadline
    tz = settings.timezone
    context = digest_context(engine, deployment, "hue-2026-bdg", date(2026, 12, 1), tz)
    yearly = next(d for d in context["deadlines"] if d["start"] == date(2026, 12, 10))
    agencies = [r["agency"] for r in yearly["rows"]]
    first, second = _keys(engine, yearly["start"])[:2]
    acknowledge(engine, first, "Nguyễn Thị Hoa", datetime(2026, 12, 9, 9, 0, tzinfo=tz))  # on time
    acknowledge(engine, second, "Trần Văn Minh", datetime(2026, 12, 11, 9, 0, tzinfo=tz))  # a day late

    day = date(2026, 12, 14)  # a Monday
    context = digest_context(engine, deployment, "hue-2026-bdg", day, tz, due_soon_days=3)
    starts = [d["start"] for d in context["deadlines"]]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    yearly = next(d for d in context["deadlines"] if d["start"] == date(2026, 12, 10))
    n = len(agencies)
    assert (yearly["reported"], yearly["expected"], yearly["progress"]) == (2, n, f"2/{n} đã báo cáo")
    statuses = [r["status"] for r in yearly["rows"]]
    assert statuses == ["overdue"] * (n - 2) + ["late", "on_time"]  # the overdue first
    assert yearly["counts"]["overdue"] == n - 2 and len(yearly["late"]) == n - 2
    assert {r["label"] for r in yearly["rows"]} == {"Quá hạn", "Đã báo cáo muộn", "Đã báo cáo đúng hạn"}
    # 15/12 (Tuesday) is the consolidation: due soon on 14/12 with 3 days, in time with 0.
    consolidation = next(d for d in context["deadlines"] if d["start"] == date(2026, 12, 15))
    assert {r["status"] for r in consolidation["rows"]} == {"due_soon"}
    later = digest_context(engine, deployment, "hue-2026-bdg", day, tz, due_soon_days=0)
    assert {
        r["status"] for d in later["deadlines"] if d["start"] == date(2026, 12, 15) for r in d["rows"]
    } == {"open"}
    # The plan's counts are the sums of its deadlines'.
    counts = context["counts"]
    assert counts["reported"] == sum(d["reported"] for d in context["deadlines"])
    assert counts["expected"] == sum(d["expected"] for d in context["deadlines"])
    assert counts["late"] == 1 and counts["on_time"] == 1

    rendered = Templates(None).render("digest", context)
    assert f"2/{n} đã báo cáo, {n - 2} quá hạn" in rendered.text
    for name in yearly["late"]:
        assert f"   - {name}\n" in rendered.text
    assert "xác nhận bởi Trần Văn Minh lúc 09:00 11/12/2026" in rendered.text
    assert f"<strong>2/{n} đã báo cáo</strong>" in rendered.html


def _keys(engine, start: date) -> list[str]:
    occ = Occurrence.__table__
    with engine.connect() as conn:
        return list(
            conn.execute(
                select(occ.c.key)
                .where(occ.c.plan_id == "hue-2026-bdg", occ.c.start_date == start, occ.c.kind == "deadline")
                .order_by(occ.c.key)
            ).scalars()
        )
