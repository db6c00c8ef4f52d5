"""The JSON API (scheduler/api/) on the board's synced sample, SQLite and PostgreSQL, through the
whole web app (its middleware included): bearer tokens and their scopes, the board's role rules,
pagination and filters, acknowledgements with Idempotency-Key, the dead-letter retry, problem
details in Vietnamese; and `nhacviec token` create/list/revoke."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import insert, select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from scheduler.accounts.tokens import Scope, create_token, list_tokens, revoke_token
from scheduler.accounts.users import set_disabled
from scheduler.cli.app import app as cli
from scheduler.config.loader import load_config
from scheduler.outbox.acks import ReportReference, acknowledge
from scheduler.outbox.store import ApiToken, DeliveryAttempt, Occurrence, Reminder, Status
from tests.support.accounts import sign_in, web_app
from tests.support.board import A_LUOI, HUE, PHU_XUAN, add_users, one_sent_one_dead, synced_sample
from tests.support.cli import cli_env

LAM_THAO = "lam-thao-2024-bdg"
YEARLY = f"/api/v1/plans/{HUE}/deadlines/bao-cao-nam/2026"
NOW = datetime(2026, 12, 14, 2, 0, tzinfo=UTC)  # Monday 14/12/2026, 09:00 in Vietnam
PROBLEM = "application/problem+json"


@pytest.fixture
def api(tmp_path, config_dir, engine):
    """The board's sample (Phú Xuân's report confirmed, one reminder sent and one dead), users of every
    role, and a token for each; the web app on it, on 14/12/2026."""
    settings, _ = synced_sample(tmp_path, config_dir, engine)
    acknowledge(
        engine,
        PHU_XUAN,
        "Nguyễn Thị Hoa",
        datetime(2026, 12, 9, 9, 0, tzinfo=settings.timezone),
        ReportReference("125/BC-UBND"),
    )
    ids = one_sent_one_dead(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(DeliveryAttempt.__table__).values(
                reminder_id=ids[1],
                attempted_at=datetime(2026, 12, 10, 1, 0, tzinfo=UTC),
                channel="email",
                outcome="dead",
                error="550 hộp thư không tồn tại",
            )
        )
    add_users(engine)
    tokens = {
        name: create_token(engine, name, scope, login)[1]
        for name, scope, login in (
            ("admin-write", Scope.WRITE, "quantri"),
            ("admin-read", Scope.READ, "quantri"),
            ("snv-write", Scope.WRITE, "snv"),
            ("ltp-write", Scope.WRITE, "ltp"),
            ("xem-write", Scope.WRITE, "xem"),
        )
    }
    with time_machine.travel(NOW, tick=False), TestClient(web_app(tmp_path, config_dir, engine)) as client:
        yield client, engine, tokens, ids


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_problem(answer, status: int, *words: str) -> dict:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM)
    body = answer.json()
    assert set(body) >= {"type", "title", "status", "detail", "instance"}
    assert body["status"] == status
    for word in words:
        assert word in body["detail"] or word in body["title"], body
    return body


# --- who may do what ---


def test_no_token_or_a_bad_one_is_401_with_a_bearer_challenge(api):
    client, _, tokens, _ = api
    answer = client.get("/api/v1/plans")
    body = assert_problem(answer, 401, "Chưa xác thực", "Authorization: Bearer")
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert body["instance"] == "/api/v1/plans"
    forged = tokens["admin-read"][:-4] + "AAAA"
    answer = client.get("/api/v1/plans", headers=bearer(forged))
    assert_problem(answer, 401, "Token không hợp lệ")
    assert forged not in answer.text and "invalid_token" in answer.headers["www-authenticate"]
    assert_problem(client.get("/api/v1/plans", headers={"Authorization": "Basic eDp5"}), 401)


def test_the_session_cookie_does_not_authenticate_and_the_api_sets_none(api):
    client, _, _, _ = api
    sign_in(client, "quantri")  # a signed-in browser: its cookie goes with every request
    answer = client.get("/api/v1/plans")
    assert_problem(answer, 401)
    assert "set-cookie" not in answer.headers
    # No CSRF field, no redirect to the sign-in page: a POST is judged by its token alone.
    answer = client.post("/api/v1/acknowledgements", json={})
    assert_problem(answer, 401)


def test_a_read_token_cannot_write(api):
    client, _, tokens, ids = api
    body = {"plan_id": HUE, "item_id": "bao-cao-nam", "period": "2026", "agency_id": "hue-xa-a-luoi-1"}
    answer = client.post("/api/v1/acknowledgements", json=body, headers=bearer(tokens["admin-read"]))
    assert_problem(answer, 403, "phạm vi read")
    answer = client.post(f"/api/v1/reminders/{ids[1]}/retry", headers=bearer(tokens["admin-read"]))
    assert_problem(answer, 403)
    assert client.get("/api/v1/plans", headers=bearer(tokens["admin-read"])).status_code == 200


def test_a_revoked_token_and_a_disabled_users_token_are_401(api):
    client, engine, tokens, _ = api
    assert client.get("/api/v1/plans", headers=bearer(tokens["snv-write"])).status_code == 200
    revoke_token(engine, "snv-write")
    assert_problem(client.get("/api/v1/plans", headers=bearer(tokens["snv-write"])), 401)
    assert client.get("/api/v1/plans", headers=bearer(tokens["xem-write"])).status_code == 200
    set_disabled(engine, "xem")
    assert_problem(client.get("/api/v1/plans", headers=bearer(tokens["xem-write"])), 401)


def test_a_focal_user_of_another_agency_sees_no_plan_of_it(api):
    client, _, tokens, ids = api
    mine = client.get("/api/v1/plans", headers=bearer(tokens["ltp-write"])).json()
    assert [p["id"] for p in mine["items"]] == [LAM_THAO] and mine["total"] == 1
    for path in (
        f"/api/v1/plans/{HUE}",
        f"/api/v1/plans/{HUE}/deadlines",
        YEARLY,
        f"/api/v1/reminders/{ids[1]}",
    ):
        assert_problem(client.get(path, headers=bearer(tokens["ltp-write"])), 404)
    # Not there at all: the same answer.
    missing = client.get("/api/v1/plans/khong-co", headers=bearer(tokens["ltp-write"]))
    hidden = client.get(f"/api/v1/plans/{HUE}", headers=bearer(tokens["ltp-write"]))
    assert missing.json()["title"] == hidden.json()["title"] and missing.status_code == hidden.status_code
    assert_problem(client.get(f"/api/v1/reminders?plan_id={HUE}", headers=bearer(tokens["ltp-write"])), 404)
    listed = client.get("/api/v1/reminders", headers=bearer(tokens["ltp-write"])).json()
    assert all(r["plan_id"] == LAM_THAO for r in listed["items"])
    agencies = client.get("/api/v1/agencies?limit=500", headers=bearer(tokens["ltp-write"])).json()
    assert "hue-xa-a-luoi-1" not in {a["id"] for a in agencies["items"]}
    assert_problem(client.get("/api/v1/agencies/hue-xa-a-luoi-1", headers=bearer(tokens["ltp-write"])), 404)
    body = {"plan_id": HUE, "item_id": "bao-cao-nam", "period": "2026", "agency_id": "hue-xa-a-luoi-1"}
    assert_problem(
        client.post("/api/v1/acknowledgements", json=body, headers=bearer(tokens["ltp-write"])), 404
    )


def test_a_viewer_reads_every_plan_but_cannot_post(api):
    client, engine, tokens, ids = api
    plans = client.get("/api/v1/plans", headers=bearer(tokens["xem-write"])).json()
    assert {HUE, LAM_THAO} <= {p["id"] for p in plans["items"]}
    assert not any(p["may_act"] for p in plans["items"])
    body = {"plan_id": HUE, "item_id": "bao-cao-nam", "period": "2026", "agency_id": "hue-xa-a-luoi-1"}
    answer = client.post("/api/v1/acknowledgements", json=body, headers=bearer(tokens["xem-write"]))
    assert_problem(answer, 403, "chỉ được xem")
    assert_problem(client.post(f"/api/v1/reminders/{ids[1]}/retry", headers=bearer(tokens["xem-write"])), 403)
    with engine.connect() as conn:
        status = conn.execute(
            select(Occurrence.__table__.c.status).where(Occurrence.__table__.c.key == A_LUOI)
        ).scalar_one()
    assert status != "submitted"


# --- reads, pagination and filters ---


def test_a_deadline_lists_each_agency_with_the_boards_status(api):
    client, _, tokens, _ = api
    answer = client.get(YEARLY, headers=bearer(tokens["snv-write"]))
    assert answer.status_code == 200
    body = answer.json()
    assert body["title"] and body["deadline"] == "2026-12-10" and body["total"] == 16
    assert body["counts"]["on_time"] == 1 and body["counts"]["overdue"] == 15
    by_agency = {row["agency_id"]: row for row in body["items"]}
    assert by_agency["hue-phuong-phu-xuan"]["status_label"] == "Đã báo cáo đúng hạn"
    assert by_agency["hue-phuong-phu-xuan"]["report_number"] == "125/BC-UBND"
    a_luoi = by_agency["hue-xa-a-luoi-1"]
    assert a_luoi["status"] == "overdue" and a_luoi["status_label"] == "Quá hạn"
    assert a_luoi["last_reminder"]["outcome"] == "dead" and "550" in a_luoi["last_reminder"]["reason"]
    only = client.get(YEARLY + "?status=on_time", headers=bearer(tokens["snv-write"])).json()
    assert [r["agency_id"] for r in only["items"]] == ["hue-phuong-phu-xuan"] and only["total"] == 1
    bad = client.get(YEARLY + "?status=xong", headers=bearer(tokens["snv-write"]))
    problem = assert_problem(bad, 422, "status")
    assert problem["errors"][0]["field"] == "status"


def test_pagination_with_a_total_and_a_next_link(api):
    client, _, tokens, _ = api
    seen, path, pages = [], YEARLY + "?limit=5", 0
    while path:
        body = client.get(path, headers=bearer(tokens["admin-read"])).json()
        assert body["total"] == 16 and len(body["items"]) <= 5
        seen += [row["agency_id"] for row in body["items"]]
        path, pages = body["next"], pages + 1
    assert pages == 4 and len(seen) == len(set(seen)) == 16
    for bad in ("limit=0", "limit=501", "offset=-1", "limit=mot"):
        problem = assert_problem(
            client.get(f"/api/v1/agencies?{bad}", headers=bearer(tokens["admin-read"])), 422
        )
        assert problem["title"] == "Dữ liệu không hợp lệ" and "Vui lòng sửa" in problem["detail"]
    # The reminders page by cursor: newest first, every one once, the total on each page.
    everything = client.get(
        f"/api/v1/reminders?plan_id={HUE}&limit=500", headers=bearer(tokens["admin-read"])
    ).json()
    assert 5 < everything["total"] <= 500 and everything["next"] is None
    seen, path = [], f"/api/v1/reminders?plan_id={HUE}&limit=7"
    while path:
        body = client.get(path, headers=bearer(tokens["admin-read"])).json()
        assert body["total"] == everything["total"] and len(body["items"]) <= 7
        seen += [r["id"] for r in body["items"]]
        path = body["next"]
        assert path is None or ("cursor=" in path and f"plan_id={HUE}" in path)
    assert seen == [r["id"] for r in everything["items"]] == sorted(seen, reverse=True)
    agencies = client.get("/api/v1/agencies?limit=3&offset=3", headers=bearer(tokens["admin-read"])).json()
    assert len(agencies["items"]) == 3 and agencies["offset"] == 3 and "offset=6" in agencies["next"]


def test_a_plans_deadlines_in_a_period(api):
    client, _, tokens, _ = api
    body = client.get(
        f"/api/v1/plans/{HUE}/deadlines?from=2026-12-01&to=2026-12-31", headers=bearer(tokens["snv-write"])
    ).json()
    assert body["from"] == "2026-12-01" and body["to"] == "2026-12-31"
    yearly = next(d for d in body["items"] if d["item_id"] == "bao-cao-nam")
    assert yearly["reported"] == 1 and yearly["expected"] == 16 and yearly["counts"]["overdue"] == 15
    assert all("2026-12-01" <= d["deadline"] <= "2026-12-31" for d in body["items"])
    assert_problem(
        client.get(
            f"/api/v1/plans/{HUE}/deadlines?from=2026-12-31&to=2026-12-01",
            headers=bearer(tokens["snv-write"]),
        ),
        422,
        "from",
    )
    assert_problem(
        client.get(f"/api/v1/plans/{HUE}/deadlines?from=31/12/2026", headers=bearer(tokens["snv-write"])), 422
    )


def test_reminders_filtered_and_one_with_its_attempts(api):
    client, _, tokens, ids = api
    dead = client.get(
        f"/api/v1/reminders?status=dead&plan_id={HUE}", headers=bearer(tokens["admin-read"])
    ).json()
    assert [r["id"] for r in dead["items"]] == [ids[1]] and dead["total"] == 1
    by_agency = client.get(
        "/api/v1/reminders?agency_id=hue-xa-a-luoi-1&from=2026-12-03&to=2026-12-03",
        headers=bearer(tokens["admin-read"]),
    ).json()
    assert by_agency["total"] >= 1
    assert all(
        r["agency_id"] == "hue-xa-a-luoi-1" and r["send_at"].startswith("2026-12-0")
        for r in by_agency["items"]
    )
    one = client.get(f"/api/v1/reminders/{ids[1]}", headers=bearer(tokens["admin-read"])).json()
    assert one["status"] == "dead" and one["delivery_attempts"][0]["outcome"] == "dead"
    assert_problem(client.get("/api/v1/reminders?status=lost", headers=bearer(tokens["admin-read"])), 422)
    assert_problem(
        client.get("/api/v1/reminders?cursor=r1.xx!", headers=bearer(tokens["admin-read"])), 422, "cursor"
    )
    assert_problem(
        client.get("/api/v1/reminders?cursor=abc", headers=bearer(tokens["admin-read"])), 422, "cursor"
    )
    assert_problem(client.get("/api/v1/reminders/999999", headers=bearer(tokens["admin-read"])), 404)


def test_unknown_paths_and_methods_are_problems_in_vietnamese(api):
    client, _, tokens, _ = api
    assert_problem(client.get("/api/v1/khong-co", headers=bearer(tokens["admin-read"])), 404, "Không có")
    assert_problem(client.delete("/api/v1/plans", headers=bearer(tokens["admin-read"])), 405)
    described = client.get("/api/v1/openapi.json").json()
    assert described["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert client.get("/api/v1/docs").status_code == 404 and client.get("/api/v1/redoc").status_code == 404


# --- writes ---


def test_an_acknowledgement_is_idempotent_by_its_key(api):
    client, engine, tokens, _ = api
    body = {
        "plan_id": HUE,
        "item_id": "bao-cao-nam",
        "period": "2026",
        "agency_id": "hue-xa-a-luoi-1",
        "report_number": "310/BC-UBND",
        "report_date": "12/12/2026",
    }
    headers = {**bearer(tokens["snv-write"]), "Idempotency-Key": "eoffice-4711"}
    first = client.post("/api/v1/acknowledgements", json=body, headers=headers)
    assert first.status_code == 201, first.text
    again = client.post("/api/v1/acknowledgements", json=body, headers=headers)
    assert again.status_code == 201 and again.json() == first.json()
    done = first.json()
    assert (
        done["already"] is False
        and done["report_number"] == "310/BC-UBND"
        and done["report_date"] == "2026-12-12"
    )
    assert "Nguyễn Thị Hoa" in done["confirmed_by"] and "snv-write" in done["confirmed_by"]
    occ = Occurrence.__table__
    with engine.connect() as conn:
        row = conn.execute(select(occ).where(occ.c.key == A_LUOI)).one()
        waiting = conn.execute(
            select(Reminder.__table__.c.id).where(
                Reminder.__table__.c.occurrence_key == A_LUOI, Reminder.__table__.c.status == Status.PENDING
            )
        ).all()
    assert row.status == "submitted" and row.report_number == "310/BC-UBND" and not waiting
    status = client.get(YEARLY + "?status=late", headers=bearer(tokens["snv-write"])).json()
    assert "hue-xa-a-luoi-1" in [r["agency_id"] for r in status["items"]]
    other = client.post(
        "/api/v1/acknowledgements", json={**body, "report_number": "311/BC-UBND"}, headers=headers
    )
    assert_problem(other, 422, "Idempotency-Key")
    # Another key for the same deadline: already confirmed, nothing changes.
    later = client.post(
        "/api/v1/acknowledgements",
        json={**body, "report_number": "999/BC"},
        headers={**headers, "Idempotency-Key": "k2"},
    )
    assert later.status_code == 200 and later.json()["already"] is True
    assert later.json()["report_number"] == "310/BC-UBND"
    # A key is remembered for 30 days: after them, the key may name another request.
    with time_machine.travel(NOW + timedelta(days=31), tick=False):
        client.post("/api/v1/acknowledgements", json=body, headers={**headers, "Idempotency-Key": "k3"})
        reused = client.post(
            "/api/v1/acknowledgements", json={**body, "report_number": "311/BC-UBND"}, headers=headers
        )
    assert reused.status_code == 200 and reused.json()["already"] is True


def test_an_acknowledgement_is_checked_as_the_confirmation_page_checks_it(api):
    client, engine, tokens, _ = api
    body = {"plan_id": HUE, "item_id": "bao-cao-nam", "period": "2026", "agency_id": "hue-xa-a-luoi-1"}
    future = client.post(
        "/api/v1/acknowledgements",
        json={**body, "report_date": "20/12/2026"},
        headers=bearer(tokens["snv-write"]),
    )
    problem = assert_problem(future, 422, "Ngày văn bản 20/12/2026 là ngày trong tương lai")
    assert problem["errors"][0]["field"] == "report_date"
    long = client.post(
        "/api/v1/acknowledgements",
        json={**body, "report_number": "1" * 60},
        headers=bearer(tokens["snv-write"]),
    )
    assert_problem(long, 422, "Số, ký hiệu văn bản dài quá")
    unknown = client.post(
        "/api/v1/acknowledgements",
        json={**body, "agency_id": "khong-co"},
        headers=bearer(tokens["snv-write"]),
    )
    assert_problem(unknown, 404)
    assert_problem(
        client.post("/api/v1/acknowledgements", content=b"{", headers=bearer(tokens["snv-write"])), 422
    )
    occ = Occurrence.__table__
    with engine.connect() as conn:
        assert conn.execute(select(occ.c.status).where(occ.c.key == A_LUOI)).scalar_one() != "submitted"


def test_an_admin_retries_a_dead_letter_once(api):
    client, engine, tokens, ids = api
    assert_problem(client.post(f"/api/v1/reminders/{ids[1]}/retry", headers=bearer(tokens["snv-write"])), 403)
    answer = client.post(f"/api/v1/reminders/{ids[1]}/retry", headers=bearer(tokens["admin-write"]))
    assert answer.status_code == 200 and answer.json() == {"reminder_id": ids[1], "status": "pending"}
    rem = Reminder.__table__
    with engine.connect() as conn:
        row = conn.execute(select(rem).where(rem.c.id == ids[1])).one()
    assert row.status == Status.PENDING and row.attempts == 0
    assert_problem(
        client.post(f"/api/v1/reminders/{ids[1]}/retry", headers=bearer(tokens["admin-write"])), 409
    )
    assert_problem(client.post("/api/v1/reminders/999999/retry", headers=bearer(tokens["admin-write"])), 404)


def test_last_use_is_written_at_most_once_a_minute(api):
    client, engine, tokens, _ = api

    def last_use() -> datetime | None:
        return next(t.last_used_at for t in list_tokens(engine) if t.name == "admin-read")

    assert last_use() is None
    client.get("/api/v1/plans", headers=bearer(tokens["admin-read"]))
    assert last_use() == NOW
    with time_machine.travel(NOW + timedelta(seconds=30), tick=False):
        client.get("/api/v1/plans", headers=bearer(tokens["admin-read"]))
        assert last_use() == NOW
    with time_machine.travel(NOW + timedelta(seconds=61), tick=False):
        client.get("/api/v1/plans", headers=bearer(tokens["admin-read"]))
        assert last_use() == NOW + timedelta(seconds=61)
    with engine.connect() as conn:
        stored = conn.execute(select(ApiToken.__table__.c.token_hash)).scalars().all()
    assert tokens["admin-read"] not in stored and all(len(h) == 64 for h in stored)


def test_a_large_body_is_413_and_no_answer_is_cached(api):
    client, _, tokens, _ = api
    big = {"plan_id": HUE, "item_id": "x" * 20_000, "period": "2026", "agency_id": "a"}
    answer = client.post("/api/v1/acknowledgements", json=big, headers=bearer(tokens["snv-write"]))
    assert_problem(answer, 413, "16 KB")

    def chunks():
        yield b'{"plan_id": "'
        yield b"x" * 20_000
        yield b'"}'

    streamed = client.post("/api/v1/acknowledgements", content=chunks(), headers=bearer(tokens["snv-write"]))
    assert_problem(streamed, 413)
    answer = client.get("/api/v1/plans", headers=bearer(tokens["snv-write"]))
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-content-type-options"] == "nosniff"  # the web app's headers too
    assert_problem(client.get("/api/v1/plans/", headers=bearer(tokens["snv-write"])), 404)


def test_an_unexpected_failure_is_a_500_problem_that_names_no_internals(tmp_path, config_dir, engine):
    from scheduler.api.app import create_api

    add_users(engine, "quantri")
    _, secret = create_token(engine, "t", Scope.READ, "quantri")

    def broken():
        raise RuntimeError("postgresql://nhacviec:mat-khau@db/nhacviec is down")

    client = TestClient(create_api(engine, broken, UTC), raise_server_exceptions=False)
    answer = client.get("/plans", headers=bearer(secret))
    assert_problem(answer, 500, "Máy chủ gặp lỗi")
    assert "mat-khau" not in answer.text and "RuntimeError" not in answer.text


def test_too_many_requests_is_429_with_retry_after(tmp_path, config_dir, engine):
    from scheduler.api.app import create_api

    deployment = load_config(config_dir)
    add_users(engine, "quantri")
    _, secret = create_token(engine, "t", Scope.READ, "quantri")
    client = TestClient(create_api(engine, lambda: deployment, UTC, rate_per_minute=3))
    answers = [client.get("/plans", headers=bearer(secret)).status_code for _ in range(5)]
    assert answers[:3] == [200, 200, 200] and 429 in answers[3:]
    limited = client.get("/plans", headers=bearer(secret))
    assert_problem(limited, 429, "Quá nhiều yêu cầu")
    assert int(limited.headers["retry-after"]) >= 1


# --- the command line ---


def test_the_token_commands(tmp_path, config_dir, engine, monkeypatch):
    runner = CliRunner()
    env = cli_env(monkeypatch, engine.url.render_as_string(hide_password=False), config_dir, 200)
    monkeypatch.chdir(tmp_path)
    add_users(engine, "quantri")

    def run(*args):
        return runner.invoke(cli, list(args), env=env)

    created = run("token", "create", "--name", "eoffice", "--scope", "write", "--user", "quantri")
    assert created.exit_code == 0, created.output
    secret = re.search(r"^nv_\S+$", created.output, re.M)
    assert secret and "không được hiển thị lại" in created.output
    assert run("token", "create", "--name", "eoffice", "--scope", "read", "--user", "quantri").exit_code == 1
    unknown = run("token", "create", "--name", "x", "--scope", "read", "--user", "khong-co")
    assert unknown.exit_code == 1 and "không có người dùng 'khong-co'" in unknown.output
    bad_scope = run("token", "create", "--name", "x", "--scope", "admin", "--user", "quantri")
    assert bad_scope.exit_code == 2

    listed = run("token", "list")
    assert listed.exit_code == 0 and "eoffice" in listed.output and "quantri" in listed.output
    assert "chưa dùng" in listed.output and secret[0] not in listed.output
    deployment = load_config(config_dir)
    from scheduler.api.app import create_api

    with time_machine.travel(NOW, tick=False):
        client = TestClient(create_api(engine, lambda: deployment, UTC))
        assert client.get("/plans", headers=bearer(secret[0])).status_code == 200
    listed = run("token", "list")
    assert "chưa dùng" not in listed.output and "14/12/2026 09:00" in listed.output
    assert next(row for row in listed.output.splitlines() if "eoffice" in row).rstrip().endswith("—")

    revoked = run("token", "revoke", "eoffice")
    assert revoked.exit_code == 0 and "Đã thu hồi token số 1" in revoked.output
    line = next(row for row in run("token", "list").output.splitlines() if "eoffice" in row)
    assert not line.rstrip().endswith("—")  # the time it was revoked
    assert_problem(
        TestClient(create_api(engine, lambda: deployment, UTC)).get("/plans", headers=bearer(secret[0])), 401
    )
    assert run("token", "revoke", "42").exit_code == 1
