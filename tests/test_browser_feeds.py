"""Calendar feeds through the served app (a uvicorn subprocess, tests/support/browser.py) and in
Chromium: a calendar client's requests over real HTTP (200, then 304 on If-None-Match and on
If-Modified-Since), and the board's "Đăng ký lịch" block with its webcal:// link, rotated by an
admin. Pages are saved under tests/screenshots/ (lich-*)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import httpx
import pytest
from icalendar import Calendar
from selenium.webdriver.common.by import By

from scheduler.outbox import feeds
from scheduler.outbox.feeds import FeedKind
from scheduler.outbox.store import open_store
from tests.support.board import HUE, add_users, synced_sample
from tests.support.browser import SCREENSHOTS, WebServer, click_and_wait, screenshots, served, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def site(tmp_path, config_dir, database_url) -> Iterator[tuple[WebServer, object, object]]:
    engine = open_store(database_url)
    settings, _ = synced_sample(tmp_path, config_dir, engine, on=date(2026, 11, 20))
    add_users(engine, "quantri")
    with served(tmp_path, config_dir, settings.database_url, engine) as (server, signer):
        yield server, engine, signer


def test_a_calendar_client_polls_the_feed_over_http(site):
    server, engine, signer = site
    feed = feeds.get_or_create(engine, FeedKind.AGENCY, "hue-xa-a-luoi-1", "kiểm thử")
    url = signer.feed_url(feed.id, feed.nonce)
    assert url.startswith(server.url + "/lich/")
    first = httpx.get(url, timeout=10)
    assert first.status_code == 200 and first.headers["content-type"] == "text/calendar; charset=utf-8"
    cal = Calendar.from_ical(first.content)
    assert cal.walk("VEVENT") and str(cal["X-WR-CALNAME"]) == "Lịch báo cáo - UBND xã A Lưới 1"
    again = httpx.get(url, headers={"If-None-Match": first.headers["etag"]}, timeout=10)
    assert again.status_code == 304 and again.content == b""
    since = httpx.get(url, headers={"If-Modified-Since": first.headers["last-modified"]}, timeout=10)
    assert since.status_code == 304
    assert httpx.get(url.replace(".ics", "x.ics"), timeout=10).status_code == 404
    listed = feeds.current(engine, FeedKind.AGENCY, "hue-xa-a-luoi-1")
    assert listed is not None and listed.last_fetched_at is not None


def test_the_board_offers_the_webcal_link_and_an_admin_makes_a_new_one(site, browser):
    server, engine, signer = site
    sign_in(browser, server, "quantri")
    browser.get(f"{server.url}/ke-hoach/{HUE}")
    block = browser.find_element(By.ID, "dang-ky-lich")
    webcal = block.find_element(By.PARTIAL_LINK_TEXT, "Đăng ký lịch (webcal)").get_attribute("href")
    feed = feeds.current(engine, FeedKind.PLAN, HUE)
    assert feed is not None
    assert webcal == signer.feed_webcal_url(feed.id, feed.nonce)
    browser.execute_script("document.getElementById('dang-ky-lich').scrollIntoView()")
    screenshots(browser, "lich-ke-hoach")
    click_and_wait(browser, block.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    block = browser.find_element(By.ID, "dang-ky-lich")
    assert "Đã thu hồi liên kết cũ và tạo liên kết mới" in block.text
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    block.screenshot(str(SCREENSHOTS / "lich-khoi-dang-ky.png"))  # the block itself, below the fold
    assert httpx.get(signer.feed_url(feed.id, feed.nonce), timeout=10).status_code == 404
    new = feeds.current(engine, FeedKind.PLAN, HUE)
    assert new is not None and new.id != feed.id
    assert httpx.get(signer.feed_url(new.id, new.nonce), timeout=10).status_code == 200
    screenshots(browser, "lich-lien-ket-moi")
