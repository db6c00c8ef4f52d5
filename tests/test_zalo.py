"""Zalo ZNS notifier and token store against the Zalo double (tests/doubles/zalo.py), over real HTTP.

The token store runs on SQLite and PostgreSQL (the `engine` fixture).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import multiprocessing
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import time_machine
from sqlalchemy import Engine, text, update

from notifiers.base import Message, NotConfigured, NotifierError, Setup
from notifiers.fields import FIELDS
from notifiers.zalo.notifier import ZaloNotifier, ZaloOptions, token_store
from notifiers.zalo.tokens import OAuthClient, TokenPair, TokenStore, ZaloToken, alerts
from scheduler.outbox.store import make_engine
from tests.doubles.serve import requests, reset, script, serve

VN = ZoneInfo("Asia/Ho_Chi_Minh")
APP_ID = "1234567890"
SECRET = "s3cr3t"
PHONE = "+84912345678"
TEMPLATES = {
    "due": {
        "template_id": "301234",
        "data": {
            "ten_don_vi": {"field": "agency", "max": 100},
            "noi_dung": "item",
            "han_nop": {"field": "deadline", "max": 10},
            "so_ngay": "days_left",
        },
    },
    "overdue": {"template_id": "301235", "data": {"ten_don_vi": "agency"}},
}


@pytest.fixture(scope="module")
def double_url() -> Iterator[str]:
    with serve("tests.doubles.zalo:app") as url:
        yield url


DAYTIME = "2026-03-10T09:00:00+07:00"


@pytest.fixture
def zalo(double_url: str) -> str:
    """The double, reset, its clock at a working morning (real time may be night in Vietnam)."""
    reset(double_url)
    script(double_url, now=DAYTIME)
    return double_url


def options(url: str, **changes: Any) -> ZaloOptions:
    return ZaloOptions.model_validate(
        {"api_url": url, "oauth_url": url, "app_id": APP_ID, "templates": TEMPLATES, **changes}
    )


def notifier(engine: Engine, url: str, **changes: Any) -> ZaloNotifier:
    opts = options(url, **changes)
    return ZaloNotifier(opts, SECRET, token_store(engine, opts, SECRET), VN)


def seed(
    engine: Engine, url: str, access: str = "at-seed", refresh: str = "rt-seed", life: int = 90000
) -> None:
    """A pair known to the double and stored in the database, `life` seconds of access left."""
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM zalo_token"))
    script(url, tokens={"access_token": access, "refresh_token": refresh})
    store = TokenStore(engine, APP_ID, None)
    store.store(TokenPair(access, refresh, life))


def message(key: str = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6", phone: str = PHONE, kind: str = "due") -> Message:
    fields = dict.fromkeys(FIELDS, "")
    fields.update(
        kind=kind, agency="Sở Tài chính", item="Báo cáo quý IV", deadline="15/12/2026", days_left="3"
    )
    return Message(
        key=key,
        channel="zalo",
        recipient=phone,
        recipient_name="Nguyễn Văn A",
        subject="",
        text="",
        fields=fields,
    )


def token_calls(url: str) -> list[dict]:
    return [r for r in requests(url) if r["path"] == "/v4/oa/access_token"]


def sends(url: str) -> list[dict]:
    return [r for r in requests(url) if r["path"] == "/message/template"]


def send(zn: ZaloNotifier, msg: Message | None = None) -> Any:
    async def go() -> Any:
        try:
            return await zn.send(msg or message())
        finally:
            await zn.aclose()

    return asyncio.run(go())


def send_error(zn: ZaloNotifier, msg: Message | None = None) -> NotifierError:
    with pytest.raises(NotifierError) as caught:
        send(zn, msg)
    return caught.value


# --- sending ---------------------------------------------------------------


def test_send_maps_fields_to_template_data(engine: Engine, zalo: str) -> None:
    seed(engine, zalo)
    delivery = send(notifier(engine, zalo))
    [request] = sends(zalo)
    assert request["headers"]["access_token"] == "at-seed"
    assert request["json"] == {
        "phone": "84912345678",
        "template_id": "301234",
        "template_data": {
            "ten_don_vi": "Sở Tài chính",
            "noi_dung": "Báo cáo quý IV",
            "han_nop": "15/12/2026",
            "so_ngay": "3",
        },
        "tracking_id": "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6",
    }
    assert delivery.provider_id and len(delivery.provider_id) == 32
    assert "499/500" in delivery.detail


def test_development_mode_and_appsecret_proof(engine: Engine, zalo: str) -> None:
    seed(engine, zalo)
    script(zalo, require_proof=True, dev_phones=["84912345678"])
    send(notifier(engine, zalo, development=True, appsecret_proof=True))
    assert sends(zalo)[0]["json"]["mode"] == "development"
    error = send_error(
        notifier(engine, zalo, development=True, appsecret_proof=True), message(phone="0987654321")
    )
    assert (error.permanent, error.alert, error.unreachable) == (True, True, False)
    assert "-127" in str(error)


def test_wrong_appsecret_proof_refreshes_once_then_alerts(engine: Engine, zalo: str) -> None:
    seed(engine, zalo)
    script(zalo, require_proof=True)
    error = send_error(notifier(engine, zalo))  # proof not sent
    assert "-1241" in str(error) and error.alert and not error.permanent
    assert len(token_calls(zalo)) == 1 and len(sends(zalo)) == 2


# --- tokens ------------------------------------------------------------------


def test_expired_token_refreshed_once_and_rotation_survives_restart(engine: Engine, zalo: str) -> None:
    seed(engine, zalo)
    zn = notifier(engine, zalo)
    send(zn)
    script(zalo, expire_access=True)
    send(zn, message(key="second"))
    calls = token_calls(zalo)
    assert len(calls) == 1
    assert calls[0]["form"] == {"refresh_token": "rt-seed", "app_id": APP_ID, "grant_type": "refresh_token"}
    assert calls[0]["headers"] == {"secret_key": SECRET}
    assert [r["json"]["tracking_id"] for r in sends(zalo)][-2:] == ["second", "second"]
    with engine.connect() as conn:
        row = conn.execute(ZaloToken.__table__.select()).one()
    assert row.access_token != "at-seed" and row.refresh_token != "rt-seed" and row.version == 2

    restarted = notifier(engine, zalo)  # a new process on the same database
    send(restarted, message(key="third"))
    assert sends(zalo)[-1]["headers"]["access_token"] == row.access_token
    assert len(token_calls(zalo)) == 1
    # The old pair is dead at Zalo: the refresh token is single-use.
    old = OAuthClient(zalo, APP_ID, SECRET)
    with pytest.raises(Exception, match="-14014"):
        old.refresh("rt-seed")


def test_proactive_refresh_when_little_life_left(engine: Engine, zalo: str) -> None:
    seed(engine, zalo, life=600)  # less than refresh_before (3600 s)
    send(notifier(engine, zalo))
    assert len(token_calls(zalo)) == 1
    assert sends(zalo)[0]["headers"]["access_token"] != "at-seed"


def test_concurrent_tasks_refresh_once(engine: Engine, zalo: str) -> None:
    seed(engine, zalo, life=600)
    script(zalo, token_delay=0.3)
    store = token_store(engine, options(zalo), SECRET)

    async def many() -> list[str]:
        return await asyncio.gather(*(store.current() for _ in range(5)))

    tokens = asyncio.run(many())
    assert len(set(tokens)) == 1 and tokens[0] != "at-seed"
    assert len(token_calls(zalo)) == 1


def _refresh_in_process(database_url: str, url: str, barrier: Any, results: Any) -> None:
    engine = make_engine(database_url)
    store = token_store(engine, options(url), SECRET)
    barrier.wait()
    results.put(asyncio.run(store.current()))
    engine.dispose()


def test_two_processes_refresh_once(engine: Engine, database_url: str, zalo: str) -> None:
    seed(engine, zalo, life=600)
    script(zalo, token_delay=0.5)  # the first refresh is still in flight when the second process asks
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    workers = [
        context.Process(target=_refresh_in_process, args=(database_url, zalo, barrier, results))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    tokens = {results.get(timeout=60), results.get(timeout=60)}
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    assert len(token_calls(zalo)) == 1
    assert len(tokens) == 1 and tokens != {"at-seed"}


def test_auth_error_after_another_process_rotated_uses_the_new_token(engine: Engine, zalo: str) -> None:
    seed(engine, zalo)
    zn = notifier(engine, zalo)
    send(zn)  # caches at-seed
    other = token_store(engine, options(zalo), SECRET)
    new = asyncio.run(other.refresh_after_auth_error("at-seed"))  # another process rotates
    send(zn, message(key="after"))  # -124 with the cached token, then the stored one, no refresh
    assert len(token_calls(zalo)) == 1
    assert sends(zalo)[-1]["headers"]["access_token"] == new


def test_failed_refresh_alerts(engine: Engine, zalo: str) -> None:
    seed(engine, zalo, life=600)
    reset(zalo)  # the double forgets the pair: the refresh token is rejected
    script(zalo, now=DAYTIME)
    error = send_error(notifier(engine, zalo))
    assert error.alert and not error.permanent and error.retry_after
    assert "rt-seed" not in str(error) and SECRET not in str(error)
    [line] = alerts(engine)
    assert "làm mới token thất bại" in line and "nhacviec zalo authorize" in line


def test_old_refresh_token_alerts(engine: Engine, zalo: str) -> None:
    seed(engine, zalo)
    assert alerts(engine) == []
    with engine.begin() as conn:
        conn.execute(
            update(ZaloToken).values(refresh_issued_at=datetime.now(UTC) - timedelta(days=81))  # type: ignore[arg-type]
        )
    [line] = alerts(engine)
    assert "81 ngày" in line and APP_ID in line


def test_no_token_stored(engine: Engine, zalo: str) -> None:
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM zalo_token"))
    error = send_error(notifier(engine, zalo))
    assert error.alert and not error.permanent and "authorize" in str(error)


# --- error classes ---------------------------------------------------------------


def test_not_on_zalo_is_unreachable(engine: Engine, zalo: str) -> None:
    seed(engine, zalo)
    script(zalo, no_zalo=["84912345678"])
    error = send_error(notifier(engine, zalo))
    assert error.unreachable and error.permanent and not error.alert and "-118" in str(error)


def test_bad_phone_is_unreachable(engine: Engine, zalo: str) -> None:
    seed(engine, zalo)
    error = send_error(notifier(engine, zalo), message(phone="024 3826 456"))
    assert error.unreachable


def test_night_waits_until_morning(engine: Engine, zalo: str) -> None:
    with time_machine.travel(datetime(2026, 3, 10, 22, 0, tzinfo=VN), tick=False):
        script(zalo, now="2026-03-10T22:00:00+07:00")
        seed(engine, zalo)
        error = send_error(notifier(engine, zalo))
    assert "-133" in str(error) and not error.permanent
    assert error.retry_after == 9 * 3600


def test_daily_quota_waits_until_midnight(engine: Engine, zalo: str) -> None:
    with time_machine.travel(datetime(2026, 3, 10, 15, 30, tzinfo=VN), tick=False):
        script(zalo, now="2026-03-10T15:30:00+07:00", daily_quota=1)
        seed(engine, zalo)
        send(notifier(engine, zalo))
        error = send_error(notifier(engine, zalo), message(key="second"))
    assert "-144" in str(error) and not error.permanent
    assert error.retry_after == 8.5 * 3600


def test_monthly_limit_waits_until_next_month(engine: Engine, zalo: str) -> None:
    with time_machine.travel(datetime(2026, 12, 31, 12, 0, tzinfo=VN), tick=False):
        script(zalo, now="2026-12-31T12:00:00+07:00", next=[{"error": -1441}])
        seed(engine, zalo)
        error = send_error(notifier(engine, zalo))
    assert error.retry_after == 12 * 3600 and not error.permanent


@pytest.mark.parametrize("code", [-109, -131, -1122, -130, -135, -115])
def test_configuration_codes_alert(engine: Engine, zalo: str, code: int) -> None:
    seed(engine, zalo)
    script(zalo, next=[{"error": code}])
    error = send_error(notifier(engine, zalo))
    assert error.permanent and error.alert and not error.unreachable and str(code) in str(error)


@pytest.mark.parametrize("answer", [{"status": 503}, {"status": 502}, {"error": -100}, {"error": -9999}])
def test_server_errors_are_transient(engine: Engine, zalo: str, answer: dict) -> None:
    seed(engine, zalo)
    script(zalo, next=[answer])
    error = send_error(notifier(engine, zalo))
    assert not error.permanent and not error.alert and error.retry_after is None


def test_network_error_is_transient(engine: Engine, zalo: str) -> None:
    seed(engine, zalo)
    error = send_error(notifier(engine, zalo, api_url="http://127.0.0.1:9"))
    assert not error.permanent and "at-seed" not in str(error)


def test_kind_without_template_alerts(engine: Engine, zalo: str) -> None:
    seed(engine, zalo)
    error = send_error(notifier(engine, zalo), message(kind="escalation"))
    assert error.permanent and error.alert and "escalation" in str(error)
    assert sends(zalo) == []


# --- setup and load-time checks -------------------------------------------------------


def test_from_setup_needs_secret_and_app_id(engine: Engine) -> None:
    settings = type("S", (), {"timezone": VN})()
    with pytest.raises(NotConfigured, match="NHACVIEC_ZALO_APP_SECRET"):
        ZaloNotifier.from_setup(Setup(options("http://x"), {}, settings, engine))
    with pytest.raises(NotConfigured, match="app_id"):
        ZaloNotifier.from_setup(Setup(ZaloOptions(), {"ZALO_APP_SECRET": SECRET}, settings, engine))
    built = ZaloNotifier.from_setup(Setup(options("http://x"), {"ZALO_APP_SECRET": SECRET}, settings, engine))
    assert isinstance(built, ZaloNotifier)


CHANNELS_YAML = """\
channels:
  zalo:
    fallback: [sms]
    options:
      app_id: "1234567890"
      templates:
        due:
          template_id: "301234"
          data:
            han_nop: {field: deadline, max: 10}
            ten_don_vi: {field: agency, max: 8}
            lien_ket: {field: confirm_url, max: 5}
            sai: {field: agency_name}
"""


def test_load_time_check_reports_file_and_line(config_dir: Path) -> None:
    from scheduler.config.loader import load_config
    from scheduler.config.yamlfile import ConfigInvalid

    (config_dir / "channels.yaml").write_text(CHANNELS_YAML, encoding="utf-8")
    with pytest.raises(ConfigInvalid) as caught:
        load_config(config_dir)
    errors = [e for e in caught.value.errors if "channels.yaml" in e.file]
    assert [e.line for e in errors] == [11, 13], caught.value
    assert "ten_don_vi" in errors[0].field and "tối đa 8 ký tự" in errors[0].message
    assert "dài" in errors[0].message
    assert "agency_name" in errors[1].message
    assert "channels.yaml:11" in str(caught.value)


def test_options_reject_unknown_kind_and_bad_template_id() -> None:
    with pytest.raises(ValueError):
        ZaloOptions.model_validate({"templates": {"reminder": {"template_id": "1"}}})
    with pytest.raises(ValueError):
        ZaloOptions.model_validate({"templates": {"due": {"template_id": "abc"}}})


def test_oauth_client_parses_string_expires_in(zalo: str) -> None:
    pair = OAuthClient(zalo, APP_ID, SECRET).exchange("code-1", "v" * 43)
    assert pair.expires_in == 90000 and pair.access_token.startswith("at-")
    with pytest.raises(Exception, match="-14019"):
        OAuthClient(zalo, APP_ID, SECRET).exchange("code-1", "v" * 43)  # single-use
    assert httpx.get(f"{zalo}/_double/requests").json()[0]["form"]["code_verifier"] == "v" * 43


# --- nhacviec zalo authorize / status -------------------------------------------------


def test_authorize_then_status(tmp_path: Path, config_dir: Path, zalo: str) -> None:
    from urllib.parse import parse_qs, urlparse

    from typer.testing import CliRunner

    from scheduler.cli.zalo import zalo_app

    (config_dir / "channels.yaml").write_text(
        f'channels:\n  zalo:\n    options:\n      app_id: "{APP_ID}"\n      oauth_url: "{zalo}"\n',
        encoding="utf-8",
    )
    env = {
        "NHACVIEC_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "NHACVIEC_CONFIG_DIR": str(config_dir),
        "NHACVIEC_ZALO_APP_SECRET": SECRET,
    }
    runner = CliRunner()
    args = ["authorize", "--redirect-uri", "https://nv.example/cb"]
    first = runner.invoke(zalo_app, args, env=env, input="code-pasted\n")
    assert first.exit_code == 0, first.output
    url = next(line for line in first.output.splitlines() if "/v4/oa/permission?" in line)
    query = parse_qs(urlparse(url).query)
    assert query["app_id"] == [APP_ID] and query["redirect_uri"] == ["https://nv.example/cb"]
    assert query["state"] and url.startswith(f"{zalo}/v4/oa/permission?")
    verifier = token_calls(zalo)[-1]["form"]["code_verifier"]
    assert token_calls(zalo)[-1]["form"]["code"] == "code-pasted" and f": {verifier}" in first.output
    digest = hashlib.sha256(verifier.encode()).digest()
    assert query["code_challenge"] == [base64.urlsafe_b64encode(digest).rstrip(b"=").decode()]
    assert "Đã lưu token Zalo" in first.output and "hết hạn lúc" in first.output

    wrong_state = runner.invoke(zalo_app, args, env=env, input="https://nv.example/cb?code=x&state=other\n")
    assert wrong_state.exit_code != 0 and "state" in wrong_state.output
    result = runner.invoke(zalo_app, ["authorize", "--code", "abc123", "--verifier", "v" * 43], env=env)
    assert result.exit_code == 0, result.output
    assert "Đã lưu token Zalo" in result.output
    call = token_calls(zalo)[-1]
    assert call["form"] == {
        "code": "abc123",
        "grant_type": "authorization_code",
        "code_verifier": "v" * 43,
        "app_id": APP_ID,
    }
    status = runner.invoke(zalo_app, ["status"], env=env)
    assert status.exit_code == 0, status.output
    assert "refresh token" in status.output and "Không có cảnh báo" in status.output
