"""The report buttons in a real browser (Chromium, tests/support/browser.py): a focal user opens a
deadline, clicks "Tải Excel" and "Tải CSV", and the files Chromium saves open as they should.
The deadline page with its buttons is saved under tests/screenshots/ (bao-cao-*)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from selenium.webdriver.common.by import By

from scheduler.outbox.acks import ReportReference, acknowledge
from scheduler.outbox.store import open_store
from tests.support.board import HUE, PHU_XUAN, add_users, synced_sample
from tests.support.browser import WebServer, screenshots, served, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def site(tmp_path, config_dir, database_url) -> Iterator[WebServer]:
    engine = open_store(database_url)
    settings, _ = synced_sample(tmp_path, config_dir, engine, on=date(2026, 11, 20))
    acknowledge(
        engine,
        PHU_XUAN,
        "Nguyễn Thị Hoa",
        datetime(2026, 12, 3, 9, 0, tzinfo=settings.timezone),
        ReportReference("125/BC-UBND", date(2026, 12, 2)),
    )
    add_users(engine, "snv")
    with served(tmp_path, config_dir, settings.database_url, engine) as (server, _):
        yield server
    engine.dispose()


def downloaded(folder: Path, suffix: str, seconds: float = 20) -> Path:
    """The file Chromium finished saving in `folder` (no .crdownload left)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        done = [p for p in folder.glob(f"*{suffix}") if not p.name.endswith(".crdownload")]
        if done:
            return done[0]
        time.sleep(0.1)  # polling a real download, not moving a clock
    raise AssertionError(f"no {suffix} saved in {folder}: {list(folder.iterdir())}")


def test_a_focal_user_downloads_the_deadlines_table(site, browser, tmp_path):
    server = site
    folder = tmp_path / "tai-ve"
    folder.mkdir()
    browser.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)})
    sign_in(browser, server, "snv")
    browser.get(f"{server.url}/ke-hoach/{HUE}/han/bao-cao-nam/2026")
    assert "Tải Excel" in browser.find_element(By.TAG_NAME, "body").text
    screenshots(browser, "bao-cao-han")
    browser.find_element(By.LINK_TEXT, "Tải Excel").click()
    workbook = downloaded(folder, ".xlsx")
    saved_as = workbook.name
    assert saved_as.startswith(f"Bảng theo dõi tình hình báo cáo - {HUE} - "), saved_as  # filename*
    ws = load_workbook(workbook).active
    assert ws["A4"].value == "BẢNG THEO DÕI TÌNH HÌNH BÁO CÁO"
    assert any(row[6].value == "125/BC-UBND" for row in ws.iter_rows(min_row=10) if len(row) > 6)
    browser.find_element(By.LINK_TEXT, "Tải CSV").click()
    sheet = downloaded(folder, ".csv")
    assert sheet.read_bytes().startswith(b"\xef\xbb\xbf") and "Phú Xuân" in sheet.read_text("utf-8-sig")
