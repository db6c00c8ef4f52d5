"""Schemathesis (4.x, its command line) against the API's served description: a real uvicorn
server subprocess (tests/support/browser.py `served`) on the synced sample, with an admin's write
token. Every operation is generated from /api/v1/openapi.json (examples, coverage and fuzzing
phases), then the stateful phase follows the description's links (plans → deadlines → agencies,
reminders → retry); no response may be a server error or break its documented schema, status
code or content type. A fixed seed and deterministic generation make the run repeatable."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select, update

from scheduler.accounts.tokens import Scope, create_token
from scheduler.accounts.users import Role, add_user
from scheduler.config.loader import load_config
from scheduler.outbox.store import Reminder, Status
from scheduler.outbox.sync import sync
from tests.support.browser import served
from tests.support.settings import make_settings

CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"
MAX_EXAMPLES = 12
OPERATIONS = {
    "GET /plans",
    "GET /plans/{plan_id}",
    "GET /plans/{plan_id}/deadlines",
    "GET /plans/{plan_id}/deadlines/{item_id}/{period}",
    "GET /agencies",
    "GET /agencies/{agency_id}",
    "GET /reminders",
    "GET /reminders/{reminder_id}",
    "POST /reminders/{reminder_id}/retry",
    "POST /acknowledgements",
}


@pytest.fixture(params=["sqlite"])
def database_url(request, tmp_path):
    """SQLite: the data paths are tested on both backends in tests/test_api.py; this run is long."""
    return f"sqlite:///{tmp_path / 'nhacviec.db'}"


def test_schemathesis_finds_no_server_error_and_no_response_that_breaks_the_schema(
    tmp_path, config_dir, engine
):
    settings = make_settings(tmp_path, config_dir, engine.url.render_as_string(hide_password=False))
    sync(engine, load_config(config_dir, settings, today=date(2026, 12, 1)), settings, date(2026, 12, 1))
    rem = Reminder.__table__
    with engine.begin() as conn:  # a few dead letters, for the retry to find
        first = conn.execute(select(rem.c.id).order_by(rem.c.send_at.desc()).limit(5)).scalars().all()
        conn.execute(
            update(rem)
            .where(rem.c.id.in_(first))
            .values(
                status=Status.DEAD, attempts=1, last_error="550", updated_at=datetime(2026, 12, 1, tzinfo=UTC)
            )
        )
    add_user(engine, "quantri", "Quản trị viên", Role.ADMIN, "mat-khau-du-dai-1")
    _, secret = create_token(engine, "schemathesis", Scope.WRITE, "quantri")
    report = tmp_path / "schemathesis.json"
    with served(tmp_path, config_dir, engine.url.render_as_string(hide_password=False), engine) as (
        server,
        _,
    ):
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "schemathesis.cli",
                "run",
                f"{server.url}/api/v1/openapi.json",
                "--url",
                f"{server.url}/api/v1",
                "--header",
                f"Authorization: Bearer {secret}",
                "--checks",
                CHECKS,
                "--max-examples",
                str(MAX_EXAMPLES),
                "--generation-deterministic",
                "--workers",
                "1",
                "--no-color",
                "--report",
                "ndjson",
                "--report-ndjson-path",
                str(report),
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
            cwd=tmp_path,
        )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    assert secret not in (tmp_path / "web.log").read_text()
    events = [json.loads(line) for line in report.read_text().splitlines() if line.strip()]
    finished = [e["ScenarioFinished"] for e in events if "ScenarioFinished" in e]
    tested = {e["recorder"]["label"] for e in finished if e["status"] != "skip" and e["phase"] != "stateful"}
    assert tested == OPERATIONS
    assert any(e["phase"] == "stateful" and e["status"] == "success" for e in finished), "no stateful run"
    codes = Counter(int(code) for code in re.findall(r'"status_code":\s*(\d+)', report.read_text()))
    assert codes[200] > 100 and not any(code >= 500 for code in codes) and not codes[429], codes
