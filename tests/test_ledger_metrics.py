"""The ledger's gauges on /metrics (scheduler/outbox/metrics.py LedgerCollector), SQLite and
PostgreSQL: occurrences by plan and status category agree with the status model on the synced
sample, the focal agency's decisions move them; stuck reminders by reason, as the deliveries
page counts them; labels bounded (plans, never agencies)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, select, update
from starlette.testclient import TestClient

from scheduler.outbox import board as rows
from scheduler.outbox.acks import acknowledge
from scheduler.outbox.metrics import OCCURRENCE_CATEGORIES, STUCK_REASONS, LedgerCollector, Metrics
from scheduler.outbox.status import AgencyStatus, Statuses
from scheduler.outbox.store import Occurrence, OccurrenceStatus, Reminder, Status
from scheduler.web.app import create_app
from tests.support.board import synced_sample
from tests.support.dispatch_kit import links

HUE = "hue-2026-bdg"
YEARLY = f"{HUE}/bao-cao-nam/2026"
NOW = datetime(2026, 12, 14, 2, 0, tzinfo=UTC)  # Monday 14/12/2026, 09:00 in Vietnam
TODAY = date(2026, 12, 14)
CATEGORY = {
    AgencyStatus.ON_TIME: "submitted",
    AgencyStatus.LATE: "submitted",
    AgencyStatus.WAIVED: "waived",
    AgencyStatus.ENDED: "ended",
    AgencyStatus.EXTENDED: "extended",
    AgencyStatus.UNTRACKED: "untracked",
    AgencyStatus.OVERDUE: "overdue",
    AgencyStatus.DUE_SOON: "open",
    AgencyStatus.OPEN: "open",
}


@pytest.fixture
def ledger(tmp_path, config_dir, engine):
    settings, deployment = synced_sample(tmp_path, config_dir, engine)
    metrics = Metrics(lambda: 0)
    collector = metrics.watch_ledger(engine, settings.timezone)
    collector.ttl = 0  # every scrape reads
    app = create_app(engine, lambda: deployment, links(settings), metrics, lambda: True, settings.timezone)
    with time_machine.travel(NOW, tick=False), TestClient(app) as client:
        yield client, engine, deployment, settings


def scrape(client: TestClient) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    answer = client.get("/metrics")
    assert answer.status_code == 200
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def by_plan(found, plan: str) -> dict[str, float]:
    return {
        dict(labels)["status"]: value
        for labels, value in found["nhacviec_occurrences"].items()
        if dict(labels)["plan"] == plan
    }


def model_counts(engine, deployment, settings, plan: str) -> dict[str, float]:
    statuses = Statuses(deployment, TODAY, settings.timezone, settings.due_soon_days)
    found = rows.plan_occurrences(engine, plan, date(1990, 1, 1), date(2200, 12, 31))
    return dict(Counter(CATEGORY[statuses.of(row).code] for row in found))


def test_occurrences_by_plan_and_status_follow_the_status_model(ledger):
    client, engine, deployment, settings = ledger
    tz = settings.timezone
    acknowledge(
        engine, f"{YEARLY}/hue-phuong-phu-xuan", "Nguyễn Thị Hoa", datetime(2026, 12, 9, 9, tzinfo=tz)
    )
    occ = Occurrence.__table__
    with engine.begin() as conn:
        conn.execute(update(occ).where(occ.c.key == f"{YEARLY}/hue-xa-a-luoi-1").values(waived=True))
        conn.execute(
            update(occ)
            .where(occ.c.key == f"{YEARLY}/hue-phuong-thuan-hoa")
            .values(extended_to=date(2026, 12, 20))
        )
        conn.execute(
            update(occ)
            .where(occ.c.key == f"{YEARLY}/hue-phuong-thuy-xuan")
            .values(extended_to=date(2026, 12, 11))
        )
        conn.execute(
            update(occ)
            .where(occ.c.key == f"{YEARLY}/hue-phuong-kim-long")
            .values(status=OccurrenceStatus.ENDED)
        )
    found = scrape(client)
    for plan in {p.id for p in deployment.plans}:
        expected = model_counts(engine, deployment, settings, plan)
        if expected:
            assert by_plan(found, plan) == expected, plan
    hue = by_plan(found, HUE)
    assert hue["submitted"] >= 1 and hue["waived"] == 1 and hue["extended"] == 1 and hue["ended"] >= 1
    # Bounded labels: plans and the fixed categories, no agency anywhere.
    labels = {labels for labels in found["nhacviec_occurrences"]}
    assert {dict(label)["status"] for label in labels} <= set(OCCURRENCE_CATEGORIES)
    assert set(CATEGORY.values()) == set(OCCURRENCE_CATEGORIES)  # every category of the model's
    stuck = {dict(label)["reason"] for label in found["nhacviec_reminders_stuck"]}
    assert stuck == set(STUCK_REASONS)
    assert {dict(label)["plan"] for label in labels} <= {p.id for p in deployment.plans}


def test_stuck_reminders_by_reason_as_the_deliveries_page_counts_them(ledger):
    client, engine, _, _ = ledger
    rem = Reminder.__table__
    late = NOW - timedelta(hours=2)
    before = {dict(labels)["reason"]: v for labels, v in scrape(client)["nhacviec_reminders_stuck"].items()}
    assert before["not_started"] > 0 and before["retrying"] == 0  # the sample, never dispatched
    with engine.begin() as conn:
        # Every row sent (nothing stuck), then nine made stuck, or not, one way or another.
        conn.execute(update(rem).values(status=Status.SENT, sent_at=NOW))
        ids = conn.execute(select(rem.c.id).order_by(rem.c.id).limit(9)).scalars().all()
        waiting = {"status": Status.PENDING, "attempts": 0, "last_error": None, "next_attempt_at": None}
        conn.execute(update(rem).where(rem.c.id.in_(ids)).values(**waiting))
        conn.execute(update(rem).where(rem.c.id.in_(ids[:3])).values(send_at=late))  # not started
        conn.execute(
            update(rem).where(rem.c.id.in_(ids[3:5])).values(send_at=late, last_error="giờ yên lặng")
        )
        conn.execute(
            update(rem).where(rem.c.id == ids[5]).values(send_at=late, attempts=2, last_error="HTTP 503")
        )
        conn.execute(
            update(rem)
            .where(rem.c.id == ids[6])
            .values(status=Status.CLAIMED, lease_until=NOW - timedelta(minutes=1), claimed_by="x")
        )
        # Not stuck: within 30 minutes of its time, and a live lease.
        conn.execute(update(rem).where(rem.c.id == ids[7]).values(send_at=NOW - timedelta(minutes=10)))
        conn.execute(
            update(rem)
            .where(rem.c.id == ids[8])
            .values(status=Status.CLAIMED, lease_until=NOW + timedelta(minutes=5), claimed_by="x")
        )
    stuck = {dict(labels)["reason"]: v for labels, v in scrape(client)["nhacviec_reminders_stuck"].items()}
    assert stuck == {"not_started": 3, "postponed": 2, "retrying": 1, "lease_expired": 1}
    _, _, stuck_count, _ = rows.deliveries(engine, NOW, 10)
    assert stuck_count == sum(stuck.values())  # the page's count, the same definition


def test_a_scrape_within_30_seconds_reads_the_same_figures(ledger):
    _, engine, _, settings = ledger
    collector = LedgerCollector(engine, settings.timezone)

    def overdue() -> float:
        family = next(f for f in collector.collect() if f.name == "nhacviec_occurrences")
        return sum(s.value for s in family.samples if s.labels == {"plan": HUE, "status": "overdue"})

    first = overdue()
    assert first > 0
    occ = Occurrence.__table__
    with engine.begin() as conn:
        conn.execute(update(occ).where(occ.c.key == f"{YEARLY}/hue-xa-a-luoi-1").values(waived=True))
    with time_machine.travel(NOW + timedelta(seconds=20), tick=False):
        assert overdue() == first  # read 20 s ago: not read again
    with time_machine.travel(NOW + timedelta(seconds=31), tick=False):
        assert overdue() == first - 1


def test_a_database_that_does_not_answer_leaves_the_scrape_answering(tmp_path):
    gone = create_engine(f"sqlite:///{tmp_path / 'no-such-folder' / 'x.db'}")
    families = {f.name: f for f in LedgerCollector(gone, UTC).collect()}
    assert families["nhacviec_occurrences"].samples == []
    assert families["nhacviec_reminders_stuck"].samples == []  # unknown, not 0
