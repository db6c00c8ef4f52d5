"""The focal agency's action buttons in a real browser (Chromium, tests/support/browser.py): signed
in as the plan's focal user, mark received, waive, extend and reopen through the deadline page's
"Xử lý" blocks, then read the outbox; a viewer gets no buttons, and forged POSTs (a viewer's, one
without the CSRF token) are refused. The deadline page with its action block open is saved at
390×844 and 1366×768 (tests/screenshots/board-xu-ly-*)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from sqlalchemy import Engine, select

from scheduler.accounts.users import Role, add_user
from scheduler.config.loader import load_config
from scheduler.outbox.acks import ReportReference, acknowledge
from scheduler.outbox.store import (
    Occurrence,
    OccurrenceAction,
    OccurrenceStatus,
    Reminder,
    Status,
    open_store,
)
from scheduler.outbox.sync import sync
from tests.support.accounts import PASSWORD
from tests.support.browser import WebServer, click_and_wait, screenshots, sign_in, wait_gone
from tests.support.settings import make_settings

pytestmark = pytest.mark.browser

HUE = "hue-2026-bdg"
YEARLY = f"/ke-hoach/{HUE}/han/bao-cao-nam/2026"  # due Thursday 10/12/2026


def key(agency: str) -> str:
    return f"{HUE}/bao-cao-nam/2026/{agency}"


@pytest.fixture
def site(tmp_path: Path, config_dir: Path, database_url: str) -> Iterator[tuple[WebServer, Engine]]:
    """The sample synced as of 20/11/2026 into SQLite or PostgreSQL, Phú Xuân's report confirmed; the plan's
    focal user and a viewer; served by a subprocess (on the machine's clock)."""
    settings = make_settings(tmp_path, config_dir, database_url)
    engine = open_store(settings.database_url)
    sync(engine, load_config(config_dir), settings, date(2026, 11, 20))
    acknowledge(
        engine,
        key("hue-phuong-phu-xuan"),
        "Nguyễn Văn Phú",
        datetime(2026, 12, 3, 9, 0, tzinfo=settings.timezone),
        ReportReference("125/BC-UBND", date(2026, 12, 2)),
    )
    add_user(engine, "snv", "Nguyễn Thị Hoa", Role.FOCAL, PASSWORD, agency_id="hue-so-noi-vu")
    add_user(engine, "xem", "Trần Văn Xem", Role.VIEWER, PASSWORD)
    server = WebServer(settings.database_url, config_dir, tmp_path / "web.log")
    server.start()
    try:
        yield server, engine
    finally:
        server.stop()
        engine.dispose()


def submit(browser: Any, button: Any) -> None:
    click_and_wait(browser, button)


def body(browser: Any) -> str:
    return str(browser.find_element(By.TAG_NAME, "body").text)


def action_block(browser: Any, server: WebServer, agency: str, search: str) -> Any:
    """The deadline page filtered to the agency, its "Xử lý" block opened (a click on its summary)."""
    browser.get(f"{server.url}{YEARLY}?q={search}")
    row = browser.find_element(By.XPATH, f"//td[@id='dv-{agency}']/..")
    row.find_element(By.CSS_SELECTOR, "details.act summary").click()
    return row.find_element(By.CSS_SELECTOR, "details.act")


def set_date(browser: Any, field: Any, day: date) -> None:
    """A date input's value as the picker would leave it (typing into one depends on the locale)."""
    browser.execute_script("arguments[0].value = arguments[1]", field, day.isoformat())


def occurrence(engine: Engine, agency: str) -> Any:
    occ = Occurrence.__table__
    with engine.connect() as conn:
        return conn.execute(select(occ).where(occ.c.key == key(agency))).one()


def ladder(engine: Engine, agency: str) -> list[Any]:
    rem = Reminder.__table__
    with engine.connect() as conn:
        return list(conn.execute(select(rem).where(rem.c.occurrence_key == key(agency))).all())


def test_the_focal_user_marks_received_waives_extends_and_reopens(site, browser):
    server, engine = site
    today = date.today()
    sign_in(browser, server, "snv")

    # Extend A Lưới 1 two weeks past the deadline (or past today, when the deadline has passed).
    new_date = max(date(2026, 12, 10), today) + timedelta(days=14)
    block = action_block(browser, server, "hue-xa-a-luoi-1", "a luoi")
    assert "Ghi nhận đã báo cáo" in block.text and "Gia hạn" in block.text and "Miễn báo cáo" in block.text
    screenshots(browser, "board-xu-ly")
    form = block.find_element(By.CSS_SELECTOR, "form.extend")
    set_date(browser, form.find_element(By.NAME, "den-ngay"), new_date)
    form.find_element(By.NAME, "ly-do").send_keys("mất điện, xin lùi hạn")
    submit(browser, form.find_element(By.TAG_NAME, "button"))
    text = body(browser)
    assert f"Đã thực hiện cho UBND xã A Lưới 1: Gia hạn đến {new_date:%d/%m/%Y} (Nguyễn Thị Hoa)" in text
    screenshots(browser, "board-xu-ly-xong")
    extended = occurrence(engine, "hue-xa-a-luoi-1")
    assert extended.extended_to == new_date
    pending = [r for r in ladder(engine, "hue-xa-a-luoi-1") if r.status == Status.PENDING]
    assert pending and all(r.due_date == new_date for r in pending)  # its rungs moved
    assert max(r.send_at for r in pending).date() >= new_date

    # Waive Nam Đông: its reminders are cancelled.
    form = action_block(browser, server, "hue-xa-nam-dong", "nam dong").find_element(
        By.CSS_SELECTOR, "form.waive"
    )
    form.find_element(By.NAME, "ly-do").send_keys("xã mới thành lập")
    submit(browser, form.find_element(By.TAG_NAME, "button"))
    assert "Miễn báo cáo (Nguyễn Thị Hoa), lý do: xã mới thành lập" in body(browser)
    rows = ladder(engine, "hue-xa-nam-dong")
    assert occurrence(engine, "hue-xa-nam-dong").waived
    assert not any(r.status == Status.PENDING for r in rows) and any(
        r.status == Status.CANCELLED for r in rows
    )

    # Mark Phú Lộc's report received, with its number and date.
    form = action_block(browser, server, "hue-xa-phu-loc", "phu loc").find_element(
        By.CSS_SELECTOR, "form.received"
    )
    form.find_element(By.NAME, "so").send_keys("88/BC-UBND")
    set_date(browser, form.find_element(By.NAME, "ngay"), today)
    submit(browser, form.find_element(By.TAG_NAME, "button"))
    assert f"văn bản số 88/BC-UBND ngày {today:%d/%m/%Y}" in body(browser)
    received = occurrence(engine, "hue-xa-phu-loc")
    assert received.status == OccurrenceStatus.SUBMITTED
    assert (received.report_number, received.report_date) == ("88/BC-UBND", today)
    assert not any(r.status == Status.PENDING for r in ladder(engine, "hue-xa-phu-loc"))

    # Reopen Phú Xuân's confirmation: its ladder resumes.
    assert not any(r.status == Status.PENDING for r in ladder(engine, "hue-phuong-phu-xuan"))
    block = action_block(browser, server, "hue-phuong-phu-xuan", "phu xuan")
    assert "Ghi nhận đã báo cáo" not in block.text  # confirmed: only reopen
    form = block.find_element(By.CSS_SELECTOR, "form.reopen")
    form.find_element(By.NAME, "ly-do").send_keys("xác nhận nhầm đơn vị")
    submit(browser, form.find_element(By.TAG_NAME, "button"))
    assert "Mở lại (hủy xác nhận) (Nguyễn Thị Hoa)" in body(browser)
    reopened = occurrence(engine, "hue-phuong-phu-xuan")
    assert reopened.status == OccurrenceStatus.OPEN and reopened.report_number is None
    assert any(r.status == Status.PENDING for r in ladder(engine, "hue-phuong-phu-xuan"))

    # All four in the history, with who and why.
    browser.get(f"{server.url}/don-vi/hue-xa-a-luoi-1")
    assert "bởi Nguyễn Thị Hoa" in body(browser) and "lý do: mất điện, xin lùi hạn" in body(browser)
    screenshots(browser, "board-don-vi-xu-ly")
    with engine.connect() as conn:
        done = conn.execute(select(OccurrenceAction.__table__.c.action)).scalars().all()
    assert sorted(done) == ["extend", "received", "reopen", "waive"]


def forge(browser: Any, action: str, fields: dict[str, str]) -> None:
    """What a page could be made to send: a form built in the page and submitted (the browser
    sends the session's cookie with it, as with any form of this site)."""
    browser.execute_script(
        """
        const form = document.createElement("form");
        form.method = "post";
        form.action = arguments[0];
        for (const [name, value] of Object.entries(arguments[1])) {
            const input = document.createElement("input");
            input.type = "hidden"; input.name = name; input.value = value;
            form.appendChild(input);
        }
        document.body.appendChild(form);
        form.submit();
        """,
        action,
        fields,
    )


def test_a_viewer_has_no_buttons_and_forged_posts_are_refused(site, browser):
    server, engine = site
    sign_in(browser, server, "xem")
    browser.get(f"{server.url}{YEARLY}")
    assert "UBND xã A Lưới 1" in body(browser)
    assert browser.find_elements(By.CSS_SELECTOR, "details.act") == []
    assert browser.find_elements(By.CSS_SELECTOR, "form[action*='thao-tac']") == []
    token = browser.find_element(By.NAME, "csrf").get_attribute("value")  # the sign-out form's
    page = browser.find_element(By.TAG_NAME, "html")
    forge(
        browser,
        f"{YEARLY}/thao-tac",
        {"csrf": token, "don-vi": "hue-xa-a-luoi-1", "thao-tac": "waive", "ly-do": "x"},
    )
    wait_gone(browser, page)
    assert "Không có quyền truy cập" in body(browser) and "Trần Văn Xem" in body(browser)
    # The focal user, without the CSRF token: refused too.
    sign_in(browser, server, "snv")
    browser.get(f"{server.url}{YEARLY}")
    page = browser.find_element(By.TAG_NAME, "html")
    forge(browser, f"{YEARLY}/thao-tac", {"don-vi": "hue-xa-a-luoi-1", "thao-tac": "waive", "ly-do": "x"})
    wait_gone(browser, page)
    assert "Biểu mẫu không hợp lệ" in body(browser)
    with engine.connect() as conn:
        assert conn.execute(select(OccurrenceAction.__table__)).all() == []
    assert not occurrence(engine, "hue-xa-a-luoi-1").waived
