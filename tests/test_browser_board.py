"""The board in a real browser (Chromium, tests/support/browser.py): sign in, open a plan, a
deadline, an agency, the deliveries page and retry a dead letter; the digest's read-only link.
Every page is saved at 390×844 and 1366×768 under tests/screenshots/ (board-*)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from selenium.webdriver.common.by import By
from sqlalchemy import select, update

from scheduler.outbox.acks import ReportReference, acknowledge
from scheduler.outbox.store import Reminder, Status, open_store
from tests.support.board import HUE, PHU_XUAN, THUAN_HOA, add_users, reminder_ids, synced_sample
from tests.support.browser import WebServer, click_and_wait, screenshots, served, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def site(tmp_path, config_dir, database_url) -> Iterator[tuple[WebServer, object, object]]:
    """The sample synced as of 20/11/2026 into SQLite or PostgreSQL, two reports confirmed and one reminder dead,
    an admin and a focal user; served by a subprocess."""
    engine = open_store(database_url)
    settings, _ = synced_sample(tmp_path, config_dir, engine, on=date(2026, 11, 20))
    tz = settings.timezone
    acknowledge(
        engine,
        PHU_XUAN,
        "Nguyễn Thị Hoa",
        datetime(2026, 12, 3, 9, 0, tzinfo=tz),
        ReportReference("125/BC-UBND", date(2026, 12, 2)),
    )
    acknowledge(engine, THUAN_HOA, "Trần Văn Minh", datetime(2026, 12, 4, 15, 30, tzinfo=tz))
    first, rem = reminder_ids(engine)[0], Reminder.__table__
    with engine.begin() as conn:
        conn.execute(
            update(rem)
            .where(rem.c.id == first)
            .values(status=Status.DEAD, attempts=1, last_error="550 5.1.1 hộp thư không tồn tại",
                    updated_at=datetime(2026, 11, 26, 1, 0, tzinfo=UTC))
        )  # fmt: skip
    add_users(engine, "quantri", "snv")
    with served(tmp_path, config_dir, settings.database_url, engine) as (server, signer):
        yield server, engine, signer


def submit(browser, selector: str = "button[type=submit]") -> None:
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, selector))


def body(browser) -> str:
    return browser.find_element(By.TAG_NAME, "body").text


def test_sign_in_and_open_a_plan_a_deadline_and_an_agency(site, browser):
    server, _, _ = site
    sign_in(browser, server, "snv")
    browser.find_element(By.PARTIAL_LINK_TEXT, "bình đẳng giới").click()
    text = body(browser)
    assert "Cơ quan đầu mối: Sở Nội vụ" in text and "đã báo cáo" in text
    assert "Hạn 10/12/2026" in text
    screenshots(browser, "board-ke-hoach")
    browser.find_element(By.PARTIAL_LINK_TEXT, "01 năm").click()
    text = body(browser)
    assert "2/16 đã báo cáo" in text and "125/BC-UBND" in text and "Trần Văn Minh" in text
    assert "550 5.1.1 hộp thư không tồn tại" in text
    screenshots(browser, "board-han")
    field = browser.find_element(By.ID, "q")
    field.send_keys("a luoi")
    submit(browser, "form.filters button")
    text = body(browser)
    assert "UBND xã A Lưới 1" in text and "Phú Xuân" not in text
    screenshots(browser, "board-han-loc")
    browser.find_element(By.PARTIAL_LINK_TEXT, "A Lưới 1").click()
    text = body(browser)
    assert "Các hạn báo cáo" in text and "không gửi được" in text
    screenshots(browser, "board-don-vi")
    browser.get(f"{server.url}/gui-tin")
    assert "Không có quyền truy cập" in body(browser)


def test_an_operator_retries_a_dead_letter(site, browser):
    server, engine, _ = site
    sign_in(browser, server, "quantri")
    browser.find_element(By.PARTIAL_LINK_TEXT, "Gửi tin").click()
    text = body(browser)
    assert "Không gửi được (1)" in text and "550 5.1.1 hộp thư không tồn tại" in text
    screenshots(browser, "board-gui-tin")
    submit(browser, "table.rows button")
    assert "Đã đưa 1 nhắc việc trở lại hàng đợi" in body(browser)
    with engine.connect() as conn:
        dead = conn.execute(
            select(Reminder.__table__.c.id).where(Reminder.__table__.c.status == Status.DEAD)
        ).all()
    assert dead == []


def test_the_digest_link_opens_the_read_only_board_and_nothing_else(site, browser):
    server, _, signer = site
    browser.get(signer.board_url(HUE))
    text = body(browser)
    assert "chỉ xem, không cần tài khoản" in text and "Đăng xuất" not in text
    screenshots(browser, "board-chi-xem")
    browser.find_element(By.PARTIAL_LINK_TEXT, "01 năm").click()
    text = body(browser)
    assert "2/16 đã báo cáo" in text and browser.find_elements(By.CSS_SELECTOR, "a[href^='/don-vi/']") == []
    browser.get(f"{server.url}/don-vi/hue-xa-a-luoi-1")
    assert "Đăng nhập" in browser.title
    browser.get(f"{server.url}/ke-hoach/lam-thao-2024-bdg?xem={signer.board_url(HUE).split('xem=')[1]}")
    assert "Liên kết xem không hợp lệ" in body(browser)
