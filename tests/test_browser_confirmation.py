"""The focal point's side in a real browser (Chromium, tests/support/browser.py): open a
reminder's link, give the report's number and date, confirm, read the page that restates it;
expired, forged and already-used links name the focal agency to call. Every page is saved at
390×844 and 1366×768 under tests/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from selenium.webdriver.common.by import By
from sqlalchemy import select

from scheduler.config.loader import load_config
from scheduler.outbox.store import Occurrence, Reminder, Status, open_store
from scheduler.outbox.sync import sync
from tests.support.browser import WebServer, click_and_wait, screenshots, served
from tests.support.settings import make_settings

pytestmark = pytest.mark.browser

OCCURRENCE = "hue-2026-bdg/bao-cao-nam/2026/hue-xa-a-luoi-1"
FOCAL = ("Sở Nội vụ thành phố Huế", "Phòng Bình đẳng giới và Trẻ em", "0900 000 301")


@pytest.fixture
def site(tmp_path, config_dir, database_url) -> Iterator[tuple[WebServer, object, object]]:
    """The sample deployment synced as of 20/11/2026 into SQLite or PostgreSQL, served by a subprocess."""
    settings = make_settings(tmp_path, config_dir, database_url)
    engine = open_store(settings.database_url)
    sync(engine, load_config(config_dir), settings, date(2026, 11, 20))
    with served(tmp_path, config_dir, settings.database_url, engine) as (server, signer):
        yield server, engine, signer


def occurrence(engine):
    with engine.connect() as conn:
        return conn.execute(select(Occurrence.__table__).where(Occurrence.key == OCCURRENCE)).one()


def submit(browser) -> None:
    """Press the form's button and wait for the next page (a click does not wait for it)."""
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "button[type=submit]"))


def body(browser) -> str:
    return browser.find_element(By.TAG_NAME, "body").text


def test_open_the_link_give_the_number_and_date_confirm_and_read_it_back(site, browser):
    _, engine, signer = site
    browser.get(signer.url(OCCURRENCE))
    assert "Xác nhận đã gửi báo cáo" in browser.title and "UBND xã A Lưới 1" in body(browser)
    screenshots(browser, "xac-nhan")
    # Yesterday in Vietnam: the date input allows nothing after today, whatever day the test runs.
    signed = datetime.now(UTC).astimezone(signer_tz()).date() - timedelta(days=1)
    browser.find_element(By.ID, "so").send_keys("125/BC-UBND")
    browser.execute_script(
        "arguments[0].value = arguments[1]", browser.find_element(By.ID, "ngay"), signed.isoformat()
    )
    browser.find_element(By.ID, "by").send_keys("Nguyễn Thị Hoa")
    screenshots(browser, "xac-nhan-da-dien")
    submit(browser)
    text = body(browser)
    assert "Đã ghi nhận" in text and "UBND xã A Lưới 1" in text and "Thứ Năm, 10/12/2026" in text
    assert "125/BC-UBND" in text and f"{signed:%d/%m/%Y}" in text and "Nguyễn Thị Hoa" in text
    screenshots(browser, "da-ghi-nhan")
    row = occurrence(engine)
    assert (row.status, row.report_number, row.report_date) == ("submitted", "125/BC-UBND", signed)
    with engine.connect() as conn:
        left = set(
            conn.execute(select(Reminder.status).where(Reminder.occurrence_key == OCCURRENCE)).scalars()
        )
    assert left == {Status.CANCELLED}

    browser.get(signer.url(OCCURRENCE))  # the same link again: already used
    text = body(browser)
    assert "Báo cáo đã được xác nhận" in text and "125/BC-UBND" in text
    assert all(words in text for words in FOCAL) and "Cách khác để xác nhận" in text
    assert browser.find_elements(By.CSS_SELECTOR, "form") == []
    screenshots(browser, "da-dung")


def test_a_future_date_is_refused_in_the_page_and_nothing_is_confirmed(site, browser):
    _, engine, signer = site
    browser.get(signer.url(OCCURRENCE))
    tomorrow = datetime.now(UTC).astimezone(signer_tz()).date() + timedelta(days=1)
    field = browser.find_element(By.ID, "ngay")
    browser.execute_script(
        "arguments[0].removeAttribute('max'); arguments[0].value = arguments[1]", field, tomorrow.isoformat()
    )
    submit(browser)
    assert "trong tương lai" in body(browser) and "Chưa ghi nhận gì" in body(browser)
    screenshots(browser, "ngay-sai")
    assert occurrence(engine).status == "open"


def test_expired_and_forged_links_name_the_focal_agency(site, browser):
    server, engine, signer = site
    with time_machine.travel(datetime.now(UTC) - timedelta(days=61)):
        expired = signer.url(OCCURRENCE)
    browser.get(expired)
    text = body(browser)
    assert "Liên kết đã hết hạn" in text and "UBND xã A Lưới 1" in text
    assert all(words in text for words in FOCAL)
    assert (
        browser.find_element(By.CSS_SELECTOR, "a[href^='tel:']").get_attribute("href") == "tel:+84900000301"
    )
    screenshots(browser, "het-han")
    forged = type(signer)("khoa-gia-mao-khac-han", server.url, 60).url(OCCURRENCE)
    browser.get(forged)
    text = body(browser)
    assert "Liên kết không hợp lệ" in text and "UBND xã A Lưới 1" not in text
    assert all(words in text for words in FOCAL)
    screenshots(browser, "khong-hop-le")
    assert occurrence(engine).status == "open"


def signer_tz():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Asia/Ho_Chi_Minh")
