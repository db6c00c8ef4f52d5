"""The sample plans yield exactly the events that shared/seeds/README.md lists, and no others."""

from __future__ import annotations

from datetime import date

import pytest

from scheduler.config.loader import load_config
from scheduler.plan.events import Event, calendar_events
from tests.support.settings import SAMPLE_CONFIG

D = date


@pytest.fixture(scope="module")
def deployment():
    return load_config(SAMPLE_CONFIG)


def events_of(deployment, plan_id: str, year: int) -> list[Event]:
    return calendar_events(deployment, D(year, 1, 1), D(year, 12, 31), plan_id=plan_id)


def shape(events: list[Event]) -> list[tuple[str, date, date]]:
    return sorted((e.kind, e.start, e.end) for e in events)


def test_thua_thien_hue_2020(deployment):
    events = events_of(deployment, "tth-2020-bdg", 2020)
    assert shape(events) == [
        ("deadline", D(2020, 3, 25), D(2020, 3, 25)),
        ("deadline", D(2020, 6, 10), D(2020, 6, 10)),
        ("deadline", D(2020, 12, 10), D(2020, 12, 10)),
        ("deadline", D(2020, 12, 15), D(2020, 12, 15)),
        ("window", D(2020, 11, 15), D(2020, 12, 15)),
    ]
    by_day = {e.start: e for e in events if e.kind == "deadline"}
    districts = set(deployment.members["tth-huyen"])
    departments = set(deployment.members["tth-so-nganh"])
    assert len(districts) == 9 and len(departments) == 7
    for day in (D(2020, 3, 25), D(2020, 6, 10), D(2020, 12, 10)):
        assert set(by_day[day].who) == districts | departments
    for day in (D(2020, 6, 10), D(2020, 12, 10)):
        assert (by_day[day].to, by_day[day].via) == ("tth-ubnd-tinh", "tth-so-ldtbxh")
    # The chain: units by 10/12, the focal agency consolidates by 15/12.
    consolidated = by_day[D(2020, 12, 15)]
    assert consolidated.who == ("tth-so-ldtbxh",)
    assert consolidated.to == "tth-ubnd-tinh"
    assert consolidated.after == by_day[D(2020, 12, 10)].item_id


def test_lam_thao_2024(deployment):
    events = events_of(deployment, "lam-thao-2024-bdg", 2024)
    assert shape(events) == [
        ("deadline", D(2024, 11, 15), D(2024, 11, 15)),
        ("window", D(2024, 11, 15), D(2024, 12, 15)),
    ]
    deadline = next(e for e in events if e.kind == "deadline")
    assert (deadline.to, deadline.via) == ("lt-ubnd-huyen", "lt-phong-ldtbxh")
    assert set(deadline.who) == set(deployment.members["lt-phong-ban"]) | set(deployment.members["lt-xa"])


def test_thai_binh_hlhpn_2024(deployment):
    events = events_of(deployment, "thai-binh-hlhpn-2024-bdg", 2024)
    monthly = [e for e in events if e.item_id == "bao-cao-thang"]
    others = [e for e in events if e.item_id != "bao-cao-thang"]
    # Every month, on the configured day, to the provincial Union's office.
    assert sorted(e.start.month for e in monthly) == list(range(1, 13))
    assert {e.kind for e in monthly} == {"deadline"} and {e.to for e in monthly} == {"tb-van-phong"}
    assert shape(others) == [
        ("deadline", D(2024, 12, 1), D(2024, 12, 1)),
        ("observance", D(2024, 3, 8), D(2024, 3, 8)),
        ("observance", D(2024, 3, 20), D(2024, 3, 20)),
        ("observance", D(2024, 6, 28), D(2024, 6, 28)),
        ("observance", D(2024, 10, 20), D(2024, 10, 20)),
        ("observance", D(2024, 11, 25), D(2024, 11, 25)),
        ("window", D(2024, 6, 1), D(2024, 6, 30)),
        ("window", D(2024, 11, 15), D(2024, 12, 15)),
    ]
    annual = next(e for e in others if e.kind == "deadline")
    assert annual.to == "tb-ban-tuyen-giao"
    assert set(annual.who) == set(deployment.members["tb-hoi-huyen"])


SEED_PLANS = {"tth-2020-bdg": 2020, "lam-thao-2024-bdg": 2024, "thai-binh-hlhpn-2024-bdg": 2024}


@pytest.mark.parametrize("plan_id", sorted(SEED_PLANS))
def test_a_seed_plan_yields_nothing_after_its_year(deployment, plan_id):
    """A plan of one year reminds in that year only: its yearly reports, monthly reports,
    action months and observances do not say `recurring` or `until`, so they end with it."""
    year = SEED_PLANS[plan_id]
    assert events_of(deployment, plan_id, year)
    assert calendar_events(deployment, D(year + 1, 1, 1), D(2040, 12, 31), plan_id=plan_id) == []
    assert events_of(deployment, plan_id, year - 1) == []


def test_a_seed_plan_is_valid_for_its_year(deployment):
    for plan in deployment.plans:
        if plan.id in SEED_PLANS:
            life = deployment.life(plan)
            assert (life.start, life.end) == (D(SEED_PLANS[plan.id], 1, 1), D(SEED_PLANS[plan.id], 12, 31))
