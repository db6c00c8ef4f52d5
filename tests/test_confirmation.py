"""The confirmation link: GET shows, only POST confirms; forged and expired links change nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
import time_machine
from sqlalchemy import select
from starlette.testclient import TestClient

from notifiers.email import EmailNotifier
from notifiers.sms import SmsNotifier
from scheduler.config.loader import load_config
from scheduler.outbox.metrics import Metrics
from scheduler.outbox.store import Occurrence, Reminder, Status, open_store
from scheduler.outbox.sync import sync
from scheduler.render.messages import MessageBuilder
from scheduler.render.templates import Templates
from scheduler.web.app import create_app
from tests.support.dispatch_kit import links
from tests.support.settings import make_settings

OCCURRENCE = "hue-2026-bdg/bao-cao-nam/2026/hue-xa-a-luoi-1"
OTHER = "hue-2026-bdg/bao-cao-nam/2026/hue-xa-nam-dong"


@pytest.fixture
def site(tmp_path, config_dir, database_url):
    settings = make_settings(tmp_path, config_dir, database_url)
    engine = open_store(settings.database_url)
    deployment = load_config(config_dir)
    sync(engine, deployment, settings, date(2026, 11, 20))
    signer = links(settings)
    app = create_app(engine, lambda: deployment, signer, Metrics(lambda: 0), lambda: True, settings.timezone)
    with TestClient(app) as client:
        yield client, engine, signer
    engine.dispose()


def state(engine):
    with engine.connect() as conn:
        occurrences = conn.execute(select(Occurrence.__table__).order_by(Occurrence.key)).all()
        reminders = conn.execute(select(Reminder.__table__).order_by(Reminder.key)).all()
    return occurrences, reminders


def statuses(engine, occurrence_key):
    with engine.connect() as conn:
        return set(
            conn.execute(select(Reminder.status).where(Reminder.occurrence_key == occurrence_key)).scalars()
        )


def test_get_shows_the_page_and_confirms_nothing(site):
    client, engine, signer = site
    before = state(engine)
    page = client.get(f"/xac-nhan/{signer.token(OCCURRENCE)}")
    assert page.status_code == 200
    assert "Xác nhận đã gửi báo cáo" in page.text and "UBND xã A Lưới 1" in page.text
    assert "Thứ Năm, 10/12/2026" in page.text and 'method="post"' in page.text
    assert state(engine) == before


def test_post_confirms_and_cancels_the_next_rungs_of_that_agency_only(site):
    client, engine, signer = site
    response = client.post(f"/xac-nhan/{signer.token(OCCURRENCE)}", data={"by": "Nguyễn Thị Hoa"})
    assert response.status_code == 200 and "Đã ghi nhận" in response.text
    with engine.connect() as conn:
        occurrence = conn.execute(select(Occurrence.__table__).where(Occurrence.key == OCCURRENCE)).one()
    assert occurrence.status == "submitted" and occurrence.confirmed_by == "Nguyễn Thị Hoa"
    assert statuses(engine, OCCURRENCE) == {Status.CANCELLED}
    assert statuses(engine, OTHER) == {Status.PENDING}
    again = client.get(f"/xac-nhan/{signer.token(OCCURRENCE)}")
    assert "đã được xác nhận" in again.text and "Nguyễn Thị Hoa" in again.text
    second = client.post(f"/xac-nhan/{signer.token(OCCURRENCE)}")
    assert "Đã xác nhận trước đó" in second.text


def test_forged_and_tampered_links_are_refused_and_change_nothing(site):
    client, engine, signer = site
    before = state(engine)
    token = signer.token(OCCURRENCE)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    forged = type(signer)("khoa-khac", "http://x", 60).token(OCCURRENCE)
    for bad in (tampered, forged, "khong-phai-token"):
        for method in (client.get, client.post):
            response = method(f"/xac-nhan/{bad}")
            assert response.status_code == 400
            assert "Liên kết không hợp lệ" in response.text
    assert state(engine) == before


def test_expired_links_are_refused_and_change_nothing(site):
    client, engine, signer = site
    with time_machine.travel(datetime.now(UTC) - timedelta(days=61)):
        old = signer.token(OCCURRENCE)
    before = state(engine)
    response = client.post(f"/xac-nhan/{old}")
    assert response.status_code == 410 and "Liên kết đã hết hạn" in response.text
    assert state(engine) == before


def test_health_readiness_and_metrics(site):
    client, _, _ = site
    assert client.get("/healthz").text == "ok"
    assert client.get("/readyz").status_code == 200
    assert "nhacviec_outbox_pending" in client.get("/metrics").text


def short_code(signer, engine, occurrence_key, now=None) -> str:
    with engine.connect() as conn:
        reminder_id = conn.execute(
            select(Reminder.id).where(Reminder.occurrence_key == occurrence_key).limit(1)
        ).scalar_one()
    return signer.short_url(reminder_id, occurrence_key, now).rsplit("/", 1)[1]


def test_the_short_link_of_zalo_and_sms_shows_and_confirms_like_the_long_one(site):
    client, engine, signer = site
    code = short_code(signer, engine, OCCURRENCE)
    assert len(signer.short_url(1, OCCURRENCE)) - len(signer.public_url) <= 30
    before = state(engine)
    page = client.get(f"/x/{code}")
    assert page.status_code == 200 and "UBND xã A Lưới 1" in page.text
    assert state(engine) == before
    response = client.post(f"/x/{code}", data={"by": "Lê Văn Tám"})
    assert "Đã ghi nhận" in response.text
    assert statuses(engine, OCCURRENCE) == {Status.CANCELLED}
    assert statuses(engine, OTHER) == {Status.PENDING}


def test_forged_tampered_and_expired_short_links_change_nothing(site):
    client, engine, signer = site
    code = short_code(signer, engine, OCCURRENCE)
    ident, expires, signature = code.split(".")
    other_row = f"{int(ident, 36) + 1:x}"  # another reminder with the same signature
    forged = type(signer)("khoa-khac", "http://x", 60).short_url(int(ident, 36), OCCURRENCE).rsplit("/", 1)[1]
    expired = short_code(signer, engine, OCCURRENCE, now=datetime.now(UTC).timestamp() - 61 * 86400)
    before = state(engine)
    for bad in (f"{other_row}.{expires}.{signature}", forged, f"{ident}.zz.{signature}", "x", expired):
        response = client.post(f"/x/{bad}")
        expected = 410 if bad == expired else 400
        assert response.status_code == expected, bad
    assert state(engine) == before


def test_a_reminder_to_zalo_or_sms_carries_the_short_link(site, tmp_path, config_dir):
    _, engine, signer = site
    with engine.connect() as conn:
        row = conn.execute(
            select(Reminder.__table__).where(Reminder.occurrence_key == OCCURRENCE, Reminder.rung == "-3d")
        ).first()
        occurrence = conn.execute(select(Occurrence.__table__).where(Occurrence.key == OCCURRENCE)).one()
    builder = MessageBuilder(
        load_config(config_dir), Templates(None), signer, make_settings(tmp_path, config_dir).timezone
    )
    sms_row = SimpleNamespace(**{**row._mapping, "channel": "sms"})
    sms = builder.reminder(sms_row, occurrence, (), row.send_at, SmsNotifier.renders)
    email = builder.reminder(row, occurrence, (), row.send_at, EmailNotifier.renders)
    assert sms.short_ascii.split()[-1].startswith(f"{signer.public_url}/x/")
    assert len(sms.short_ascii) <= 160
    assert "/xac-nhan/" in email.text
