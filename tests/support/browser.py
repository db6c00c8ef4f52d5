"""A real browser for the page tests: Debian's Chromium driven by Selenium, headless, offline.

CI machines start without a browser: `ensure_chromium` runs .ci/install-chromium, which installs
Debian's `chromium` and `chromium-driver` with apt-get when /usr/bin/chromium or
/usr/bin/chromedriver is missing (as root, as CI runs, or through password-less sudo). Selenium is given both paths, so its Selenium Manager never
looks for a driver on the network, and Chromium starts with its background traffic turned off
(the machine's network is closed) and a fresh profile each time.

`WebServer` serves the HTTP app (scheduler/web/app.py) as a subprocess on a free port, over a
database and configuration the test prepared, signing links with `dispatch_kit.SECRET`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from tests.support.settings import ROOT
from tests.support.smtp_sink import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = ROOT / "tests" / "screenshots"  # ignored by git; README pictures are copied to docs/
SIZES = {"phone": (390, 844), "desktop": (1366, 768)}
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--lang=vi-VN",
    "--hide-scrollbars",
)


def ensure_chromium() -> None:
    """Install Debian's chromium and chromium-driver when either is missing: .ci/install-chromium,
    the one script `make browser` and .ci/run also call."""
    if CHROMIUM.exists() and CHROMEDRIVER.exists():
        return
    done = subprocess.run(
        ["bash", str(ROOT / ".ci" / "install-chromium")],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f".ci/install-chromium failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


@contextmanager
def chromium() -> Iterator[object]:
    """A headless Chromium (selenium WebDriver) with a fresh profile, quit afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="nhacviec-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def screenshots(driver: object, name: str) -> list[Path]:
    """Save the page at each of SIZES as tests/screenshots/<name>-<size>.png (the page scrolled
    to its top, its full height as far as the window allows)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    saved = []
    for size, (width, height) in SIZES.items():
        # The viewport exactly (a window's size would include its frame), as a phone shows it.
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": size == "phone"}
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)  # type: ignore[attr-defined]
        driver.execute_script("window.scrollTo(0, 0)")  # type: ignore[attr-defined]
        path = SCREENSHOTS / f"{name}-{size}.png"
        driver.save_screenshot(str(path))  # type: ignore[attr-defined]
        saved.append(path)
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})  # type: ignore[attr-defined]
    return saved


class WebServer:
    """`python -m tests.support.web_server` on a free loopback port; always stopped by `stop`."""

    def __init__(self, database_url: str, config_dir: Path, log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("NHACVIEC_")},
            "NHACVIEC_DATABASE_URL": database_url,
            "NHACVIEC_CONFIG_DIR": str(config_dir),
            "NHACVIEC_PUBLIC_URL": self.url,
            "NHACVIEC_HTTP_PORT": str(self.port),
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.support.web_server"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"the web server exited\n{self.log.read_text(errors='replace')[-3000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError(f"the web server did not answer in {timeout}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def wait_gone(driver: object, element: object, seconds: float = 10) -> None:
    """Wait until the page `element` was on is gone (a click or a script's submit does not wait
    for the next page). While Chromium swaps the document, asking about the old element may fail
    with "stale element" or with "Node … does not belong to the document": both mean gone."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    def gone(_: object) -> bool:
        try:
            element.is_enabled()  # type: ignore[attr-defined]
        except WebDriverException:  # StaleElementReferenceException is one
            return True
        return False

    WebDriverWait(driver, seconds).until(gone)


def click_and_wait(driver: object, button: object, seconds: float = 10) -> None:
    """Click a form's button and wait for the next page."""
    button.click()  # type: ignore[attr-defined]
    wait_gone(driver, button, seconds)


@contextmanager
def served(
    tmp_path: Path, config_dir: Path, database_url: str, engine: Any
) -> Iterator[tuple[WebServer, Any]]:
    """The web app on `database_url` as a subprocess, and the signer of links to it; stopped,
    and `engine` disposed, afterwards."""
    from tests.support.dispatch_kit import links
    from tests.support.settings import make_settings

    server = WebServer(database_url, config_dir, tmp_path / "web.log")
    server.start()
    try:
        yield server, links(make_settings(tmp_path, config_dir, database_url, NHACVIEC_PUBLIC_URL=server.url))
    finally:
        server.stop()
        engine.dispose()


def sign_in(driver: Any, server: WebServer, login: str) -> None:
    """Sign in through the board's form with the tests' PASSWORD. The browser is shared by the
    session's tests: the cookies of an earlier one are dropped first."""
    from selenium.webdriver.common.by import By

    from tests.support.accounts import PASSWORD

    driver.delete_all_cookies()
    driver.get(f"{server.url}/")
    driver.find_element(By.ID, "login").send_keys(login)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    click_and_wait(driver, driver.find_element(By.CSS_SELECTOR, "button[type=submit]"))
