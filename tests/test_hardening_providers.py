"""Issue 13, provider contracts and what they leak: secrets in replies and logs (item 4), Zalo
configuration codes (16), ZNS retries that may duplicate (17), eSMS 124 (18), SpeedSMS and
the PKCE verifier (19), `nhacviec send-test` (21), the outcome log lines (25).

Providers are the uvicorn-served doubles of tests/doubles/, daemons real subprocesses."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import re
import socket
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
import time_machine
from pydantic import ValidationError
from sqlalchemy import select
from typer.testing import CliRunner

from notifiers.base import Delivery, Message, NotifierError
from notifiers.sms import SmsNotifier
from notifiers.sms_requests import DatabaseLedger
from notifiers.zalo.consent import pkce_pair
from notifiers.zalo.notifier import CONFIGURATION, ZaloNotifier, ZaloOptions, token_store
from notifiers.zalo.tokens import TokenPair, TokenStore
from scheduler.cli.app import app
from scheduler.outbox.metrics import Metrics
from scheduler.outbox.store import DeliveryAttempt, Status, open_store
from scheduler.outbox.sync import sync
from scheduler.render.links import Links
from scheduler.service.logs import JsonFormatter, TextFormatter
from tests.doubles.serve import requests, reset, script, serve
from tests.support.channels import DAY, ESMS_PATH, SPEEDSMS_PATH, api_calls, at, rows
from tests.support.configs import write_config
from tests.support.daemon import Daemon
from tests.support.dispatch_kit import run as dispatch
from tests.support.smtp_sink import free_port

VN = ZoneInfo("Asia/Ho_Chi_Minh")
KEY = "3f1c2a9b8d7e6f5a4b3c2d1e0f9a8b7c"
LINK = "https://nhacviec.example.vn/x/3f1c2a9b8d7e"
LONG_TEXT = "Nhắc hạn nộp báo cáo " + "rất quan trọng " * 14 + LINK  # two GSM-7 parts, unaccented


def sms_message(short: str = f"Nhắc hạn: nộp báo cáo. {LINK}", attempt: int = 1, key: str = KEY) -> Message:
    from notifiers.text import unaccent

    return Message(
        key=key, channel="sms", recipient="+84912345678", recipient_name="", subject="", text="",
        short=short, short_ascii=unaccent(short), attempt=attempt,
    )  # fmt: skip


def sms_notifier(secrets: dict[str, str], ledger: Any = None, **options: Any) -> SmsNotifier:
    return SmsNotifier(SmsNotifier.Options(**options), secrets, ledger)


def attempt_send(notifier: Any, message: Message) -> Delivery | NotifierError:
    async def go() -> Delivery | NotifierError:
        try:
            return await notifier.send(message)
        except NotifierError as exc:
            return exc
        finally:
            await notifier.aclose()

    return asyncio.run(go())


def fragments(secret: str) -> set[str]:
    return {secret[i : i + 8] for i in range(len(secret) - 7)}


def leaks(text: str, secrets: list[str]) -> list[str]:
    """Every form of a secret found in `text`: whole, JSON-escaped, URL-encoded, 8-char pieces."""
    found = []
    for secret in secrets:
        forms = {secret, json.dumps(secret)[1:-1].replace("/", "\\/"), quote(secret, safe="")}
        found += [form for form in forms | fragments(secret) if form in text]
    return found


@pytest.fixture(scope="module")
def esms_double() -> Iterator[str]:
    with serve("tests.doubles.esms:app") as url:
        yield url


@pytest.fixture
def esms(esms_double: str) -> str:
    reset(esms_double)
    return esms_double


@pytest.fixture(scope="module")
def speedsms_double() -> Iterator[str]:
    with serve("tests.doubles.speedsms:app") as url:
        yield url


@pytest.fixture
def speedsms(speedsms_double: str) -> str:
    reset(speedsms_double)
    return speedsms_double


ESMS_SECRETS = {"SMS_ESMS_API_KEY": "esms-api-key", "SMS_ESMS_SECRET_KEY": "esms-secret-key"}


def esms_notifier(url: str, ledger: Any = None, **options: Any) -> SmsNotifier:
    return sms_notifier(ESMS_SECRETS, ledger, gateway="esms", url=url + ESMS_PATH, **options)


# --- item 4: secrets in provider replies and in logs ----------------------------------------

# A key with a "/" (JSON-escaped as "\/" by PHP), placed so that a 200-character excerpt of the
# echoed body cuts it in the middle.
ECHOED_KEY = "tk_live/" + "Zx9Qv3Lm7Rt2Wp5Ys8Nb4Kd6Hf1Jg0Ca" + "/end"


@pytest.mark.parametrize("echo_format", ["json", "text"])
def test_a_gateway_echoing_the_request_shows_no_part_of_the_key(esms: str, echo_format: str) -> None:
    script(esms, echo=400, echo_format=echo_format)
    padding = "p" * 120  # moves the token across the 200th character of the echo
    notifier = sms_notifier(
        {"SMS_HTTP_TOKEN": ECHOED_KEY}, gateway="http", url=esms + ESMS_PATH,
        body={"Pad": padding, "ApiKey": "{token}", "Phone": "{phone}", "Content": "{text}"},
    )  # fmt: skip
    error = attempt_send(notifier, sms_message())
    assert isinstance(error, NotifierError)
    echoed = requests(esms)[0]["response"]
    assert leaks(echoed, [ECHOED_KEY])  # the double does echo it, escaped
    assert leaks(str(error), [ECHOED_KEY]) == []
    assert "HTTP 400" in str(error) and error.alert


def test_an_unreadable_reply_is_named_by_its_status_not_quoted(esms: str) -> None:
    script(esms, echo=200, echo_format="text")
    error = attempt_send(esms_notifier(esms), sms_message())
    assert isinstance(error, NotifierError) and not error.permanent
    assert "HTTP 200" in str(error) and "<html>" not in str(error)
    assert leaks(str(error), list(ESMS_SECRETS.values())) == []


def test_an_error_keeps_the_providers_code_and_message(esms: str) -> None:
    secrets = {"SMS_ESMS_API_KEY": "khoa-sai-123456", "SMS_ESMS_SECRET_KEY": "bi-mat-sai-456789"}
    error = attempt_send(sms_notifier(secrets, gateway="esms", url=esms + ESMS_PATH), sms_message())
    assert isinstance(error, NotifierError) and error.alert
    assert "mã 101" in str(error) and "sai ApiKey hoặc SecretKey" in str(error)


def log_line(formatter: logging.Formatter, msg: str, *args: Any, **extra: Any) -> str:
    record = logging.makeLogRecord({"name": "nhacviec.test", "msg": msg, "args": args, "levelname": "ERROR"})
    record.__dict__.update(extra)
    return formatter.format(record)


def test_log_values_are_masked_in_every_form_and_keys_never() -> None:
    secret = "ab/cd+ef==gh-ij"
    formatter = JsonFormatter([secret, "t"], VN)
    line = log_line(
        formatter,
        "echo %s",
        json.dumps({"key": secret}).replace("/", "\\/"),
        url=f"https://sms.example/send?key={quote(secret, safe='')}",
        excerpt=secret[:10],
        nested={"items": [secret]},
        count=3,
    )
    entry = json.loads(line)  # still one valid JSON object
    assert set(entry) == {"ts", "level", "logger", "msg", "url", "excerpt", "nested", "count"}
    assert leaks(line, [secret]) == []
    # A one-character secret is masked in the values, never in the field names.
    assert entry["count"] == 3 and entry["level"] == "error" and entry["logger"] == "nhacviec.test"
    assert "***" in entry["url"] and "***" in entry["excerpt"] and entry["nested"] == {"items": ["***"]}


def test_log_time_is_local_with_its_offset_and_text_lines_are_readable() -> None:
    with time_machine.travel(datetime(2026, 3, 10, 9, 0, 0, tzinfo=VN), tick=False):
        entry = json.loads(log_line(JsonFormatter([], VN), "xin chào"))
        text = log_line(
            TextFormatter(["bi-mat-123456"], VN), "gửi %s", "x", reminder=12, error="sai bi-mat-123456"
        )
    assert entry["ts"] == "2026-03-10T09:00:00.000+07:00"
    assert text == '2026-03-10 09:00:00.000+07:00 ERROR nhacviec.test: gửi x reminder=12 error="sai ***"'


def run_daemon_briefly(tmp_path: Path, smtp_sink, **env: str) -> str:
    """Start the daemon on a one-agency deployment (5 reminders due now), send its HTTP server a
    malformed request (uvicorn logs a warning of its own), stop it; return its stderr."""
    write_config(tmp_path, agencies=1)
    daemon = Daemon(tmp_path, smtp_sink)
    daemon.env.update(env)
    daemon.start()
    try:
        daemon.wait_healthy()
        with socket.create_connection(("127.0.0.1", daemon.port)) as raw:
            raw.sendall(b"GARBAGE \x00\x01 nonsense\r\n\r\n")
            raw.settimeout(5)
            raw.recv(1024)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (  # its 5 reminders sent, its warning written
            "Invalid HTTP request" in daemon.log() and len(smtp_sink.received) >= 5
        ):
            time.sleep(0.05)
    finally:
        daemon.process.terminate()
        daemon.process.wait(timeout=30)
    return (tmp_path / "daemon.log").read_text(encoding="utf-8")


def test_the_http_servers_own_lines_are_json_in_local_time(tmp_path, smtp_sink) -> None:
    log = run_daemon_briefly(tmp_path, smtp_sink)
    lines = [json.loads(line) for line in log.splitlines()]  # every line is JSON
    [invalid] = [e for e in lines if "Invalid HTTP request" in e["msg"]]
    assert invalid["logger"] == "uvicorn.error" and invalid["level"] == "warning"
    assert all(e["ts"].endswith("+07:00") for e in lines)
    sent = [e for e in lines if e["msg"] == "reminder sent"]
    assert sent and all(
        {"reminder", "channel", "outcome", "attempt"} <= set(e) and e["outcome"] == "sent" for e in sent
    )


def test_log_format_text_gives_readable_lines(tmp_path, smtp_sink) -> None:
    log = run_daemon_briefly(tmp_path, smtp_sink, NHACVIEC_LOG_FORMAT="text")
    started = next(line for line in log.splitlines() if "nhacviec started" in line)
    assert re.match(
        r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\+07:00 INFO nhacviec\.daemon: nhacviec started ", started
    )
    assert re.search(r"WARNING uvicorn\.error: Invalid HTTP request", log)
    assert re.search(
        r"INFO nhacviec\.dispatcher: reminder sent reminder=\d+ channel=email outcome=sent attempt=1", log
    )


def test_log_format_is_checked(config_dir) -> None:
    result = CliRunner().invoke(
        app, ["check"], env={"NHACVIEC_CONFIG_DIR": str(config_dir), "NHACVIEC_LOG_FORMAT": "xml"}
    )
    assert result.exit_code == 2 and "NHACVIEC_LOG_FORMAT 'xml' không hợp lệ" in result.output


# --- item 16: Zalo configuration codes -------------------------------------------------------

ZALO_TEMPLATES = {"due": {"template_id": "301234", "data": {"ten_don_vi": "agency"}}}
NEW_CONFIGURATION_CODES = [
    -101, -102, -103, -104, -105, -106, -111, -113, -116, -120, -1201, -1202, -121, -122, -125,
    -136, -137, -138, -140, -148, -149, -150, -151, -152, -153,
]  # fmt: skip


@pytest.fixture(scope="module")
def zalo_double() -> Iterator[str]:
    with serve("tests.doubles.zalo:app") as url:
        yield url


@pytest.fixture
def zalo(zalo_double: str, tmp_path: Path) -> Iterator[tuple[str, Any]]:
    reset(zalo_double)
    script(
        zalo_double, now="2026-03-10T09:00:00+07:00", tokens={"access_token": "at-1", "refresh_token": "rt-1"}
    )
    engine = open_store(f"sqlite:///{tmp_path / 'zalo.db'}")
    TokenStore(engine, "1234567890", None).store(TokenPair("at-1", "rt-1", 90000))
    yield zalo_double, engine
    engine.dispose()


def zalo_notifier(url: str, engine: Any, **changes: Any) -> ZaloNotifier:
    options = ZaloOptions.model_validate(
        {"api_url": url, "oauth_url": url, "app_id": "1234567890", "templates": ZALO_TEMPLATES, **changes}
    )
    return ZaloNotifier(options, "s3cr3t", token_store(engine, options, "s3cr3t"), VN)


def zns_message(key: str = KEY) -> Message:
    fields = {"kind": "due", "agency": "Sở Tài chính"}
    return Message(
        key=key,
        channel="zalo",
        recipient="+84912345678",
        recipient_name="",
        subject="",
        text="",
        fields=fields,
    )


def test_zalo_configuration_codes_are_dead_letters_with_an_alert(zalo) -> None:
    url, engine = zalo
    assert set(NEW_CONFIGURATION_CODES) <= CONFIGURATION
    script(url, next=[{"error": code, "message": f"error {code}"} for code in NEW_CONFIGURATION_CODES])
    notifier = zalo_notifier(url, engine)

    async def send_all() -> list[Any]:
        try:
            return [
                await _try(notifier.send(zns_message(f"k{n}"))) for n in range(len(NEW_CONFIGURATION_CODES))
            ]
        finally:
            await notifier.aclose()

    outcomes = asyncio.run(send_all())
    for code, error in zip(NEW_CONFIGURATION_CODES, outcomes, strict=True):
        assert isinstance(error, NotifierError), code
        assert (error.permanent, error.alert, error.unreachable) == (True, True, False), code
        assert str(code) in str(error) and "cần sửa cấu hình Zalo" in str(error)


async def _try(awaitable: Any) -> Any:
    try:
        return await awaitable
    except NotifierError as exc:
        return exc


def with_metrics(dispatcher: Any) -> Metrics:
    metrics = Metrics(lambda: 0.0)
    dispatcher.metrics = dispatcher.recorder.metrics = metrics
    return metrics


def metric(metrics: Metrics, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def test_a_zalo_configuration_code_through_the_dispatcher(setup, urls, caplog) -> None:
    settings, engine, dispatcher = setup()
    metrics = with_metrics(dispatcher)
    script(
        urls["zalo"],
        now=at(settings, DAY, 8).isoformat(),
        next=[{"error": -104, "message": "Secret key invalid"}],
    )
    with time_machine.travel(at(settings, DAY, 8), tick=False), caplog.at_level(logging.INFO):
        sync(engine, dispatcher.builder.deployment, settings, DAY)
        dispatch(dispatcher)
    [row] = rows(engine, "zalo")
    assert row.status == Status.DEAD and "-104" in row.last_error and "cấu hình Zalo" in row.last_error
    assert len(api_calls(urls["zalo"], "/message/template")) == 1  # not retried
    [line] = [
        r for r in caplog.records if r.getMessage() == "channel needs the operator: check its configuration"
    ]
    assert (line.reminder, line.outcome, line.attempt, line.levelname) == (row.id, "dead", 1, "ERROR")
    assert metric(metrics, "nhacviec_channel_alerts_total", channel="zalo") == 1


# --- item 17: ZNS retries may duplicate --------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [{"msg_id": "m-1"}, {"msg_id": "m-1", "quota": {"dailyQuota": "500"}}, {"msg_id": "m-1", "quota": None}],
)
def test_a_zns_success_without_its_quota_is_a_delivery(zalo, data: dict) -> None:
    url, engine = zalo
    script(url, success_data=data)
    delivery = attempt_send(zalo_notifier(url, engine), zns_message())
    assert isinstance(delivery, Delivery) and delivery.provider_id == "m-1"


def test_a_zns_timeout_may_have_sent_the_message(zalo) -> None:
    url, engine = zalo
    script(url, delay=1.0)
    error = attempt_send(zalo_notifier(url, engine, timeout=0.2), zns_message())
    assert isinstance(error, NotifierError) and error.maybe_sent and not error.permanent
    assert "hết thời gian chờ" in str(error)
    dead = attempt_send(zalo_notifier(url, engine, timeout=0.2, after_timeout="dead"), zns_message("k2"))
    assert isinstance(dead, NotifierError) and dead.permanent and dead.maybe_sent and not dead.alert
    assert "after_timeout: dead" in str(dead)
    deadline = time.monotonic() + 5
    while len(requests(url)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    with pytest.raises(ValidationError):
        ZaloOptions(after_timeout="sometimes")


def test_a_refused_connection_is_a_configuration_alert_and_sent_nothing(zalo) -> None:
    _, engine = zalo
    error = attempt_send(zalo_notifier(f"http://127.0.0.1:{free_port()}", engine), zns_message())
    assert isinstance(error, NotifierError) and error.alert and not error.permanent and not error.maybe_sent


def test_a_retry_after_a_zns_5xx_is_recorded_and_counted_as_a_possible_duplicate(
    setup,
    urls,
    caplog,
) -> None:
    settings, engine, dispatcher = setup()
    metrics = with_metrics(dispatcher)
    script(urls["zalo"], now=at(settings, DAY, 8).isoformat(), next=[{"status": 502}])
    with time_machine.travel(at(settings, DAY, 8), tick=False):
        sync(engine, dispatcher.builder.deployment, settings, DAY)
        dispatch(dispatcher)
    [row] = rows(engine, "zalo")
    assert row.status == Status.PENDING and row.maybe_sent
    with time_machine.travel(at(settings, DAY, 9), tick=False), caplog.at_level(logging.INFO):
        dispatch(dispatcher)
    [row] = rows(engine, "zalo")
    table = DeliveryAttempt.__table__
    with engine.connect() as conn:
        recorded = conn.execute(
            select(table.c.outcome, table.c.possible_duplicate)
            .where(table.c.reminder_id == row.id)
            .order_by(table.c.id)
        ).all()
    assert row.status == Status.SENT
    assert [tuple(r) for r in recorded] == [("retry", False), ("sent", True)]
    assert metric(metrics, "nhacviec_possible_duplicates_total", channel="zalo") == 1
    [sent] = [r for r in caplog.records if r.getMessage() == "reminder sent"]
    assert (sent.reminder, sent.outcome, sent.attempt, sent.possible_duplicate) == (row.id, "sent", 2, True)


# --- item 18: eSMS 124 ----------------------------------------------------------------------------


def test_a_request_id_refused_for_the_balance_is_not_reused(esms: str, tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'sms.db'}")
    script(esms, block_refused=True, codes={"0912345678": "103"})
    first = attempt_send(esms_notifier(esms, DatabaseLedger(engine)), sms_message())
    assert isinstance(first, NotifierError) and first.alert and "103" in str(first)
    script(esms, codes={})  # the operator tops the account up and retries the dead letter
    again = attempt_send(esms_notifier(esms, DatabaseLedger(engine)), sms_message(attempt=2))
    assert isinstance(again, Delivery) and "mã 100" in again.detail
    ids = [r["body"]["RequestId"] for r in requests(esms)]
    assert ids[0] == KEY and ids[1] != KEY and len(ids[1]) <= 50
    assert json.loads(requests(esms)[1]["response"])["CodeResult"] == "100"
    engine.dispose()


def test_124_counts_as_delivered_when_its_send_status_says_so(esms: str) -> None:
    script(esms, delay=1.0)
    timed_out = attempt_send(esms_notifier(esms, timeout=0.2), sms_message())
    assert isinstance(timed_out, NotifierError) and not timed_out.maybe_sent  # eSMS de-duplicates
    deadline = time.monotonic() + 5
    while not requests(esms) and time.monotonic() < deadline:
        time.sleep(0.05)
    script(esms, delay=0)
    again = attempt_send(esms_notifier(esms), sms_message(attempt=2))
    assert isinstance(again, Delivery) and "124" in again.detail and "SendStatus 5" in again.detail
    assert again.provider_id == json.loads(requests(esms)[0]["response"])["SMSID"]


def test_124_without_proof_is_not_delivered_and_the_next_attempt_uses_a_new_id(esms: str) -> None:
    script(esms, block_refused=True, codes={"0912345678": "999"})
    notifier = esms_notifier(esms)  # one ledger in memory for both attempts
    attempt_send(notifier, sms_message())  # refused: the double now blocks the RequestId
    script(esms, codes={})
    blocked = attempt_send(esms_notifier(esms), sms_message(attempt=2))  # another process: no record
    assert isinstance(blocked, NotifierError) and not blocked.permanent and blocked.maybe_sent
    assert "124" in str(blocked) and "RequestId mới" in str(blocked)
    delivered = attempt_send(notifier, sms_message(attempt=2))
    assert isinstance(delivered, Delivery) and "mã 100" in delivered.detail


def test_a_split_message_is_not_sent_twice_when_a_later_part_fails(esms: str, tmp_path: Path) -> None:
    engine = open_store(f"sqlite:///{tmp_path / 'sms.db'}")
    script(esms, request_codes={f"{KEY}.2": "999"})
    options = {"max_segments": 3, "overflow": "split"}
    first = attempt_send(esms_notifier(esms, DatabaseLedger(engine), **options), sms_message(LONG_TEXT))
    assert isinstance(first, NotifierError) and str(first).startswith("tin 2/2")
    delivered = attempt_send(
        esms_notifier(esms, DatabaseLedger(engine), **options), sms_message(LONG_TEXT, 2)
    )
    assert isinstance(delivered, Delivery)
    sent = [(r["body"]["RequestId"], json.loads(r["response"])["CodeResult"]) for r in requests(esms)]
    assert sent == [(KEY, "100"), (f"{KEY}.2", "999"), (f"{KEY}.2.2", "100")]
    engine.dispose()


@pytest.mark.parametrize("code", ["102", "300"])
def test_esms_102_and_300_are_configuration_errors(esms: str, code: str) -> None:
    script(esms, codes={"0912345678": code})
    error = attempt_send(esms_notifier(esms), sms_message())
    assert isinstance(error, NotifierError) and error.permanent and error.alert and f"mã {code}" in str(error)


# --- item 19: SpeedSMS, PKCE -------------------------------------------------------------------

SPEEDSMS_SECRETS = {"SMS_SPEEDSMS_TOKEN": "speedsms-token"}


def speedsms_notifier(url: str, **options: Any) -> SmsNotifier:
    return sms_notifier(SPEEDSMS_SECRETS, gateway="speedsms", url=url + SPEEDSMS_PATH, **options)


def test_speedsms_type_2_sends_an_empty_sender_unless_a_number_is_configured(speedsms: str) -> None:
    attempt_send(speedsms_notifier(speedsms, brandname="SOLDTBXH", sms_type=2), sms_message())
    attempt_send(speedsms_notifier(speedsms, sender="0901234567", sms_type=2), sms_message())
    attempt_send(speedsms_notifier(speedsms, sender="SOLDTBXH", sms_type=3), sms_message())
    assert [r["body"]["sender"] for r in requests(speedsms)] == ["", "0901234567", "SOLDTBXH"]
    with pytest.raises(ValidationError, match="sms_type 3 cần sender"):
        SmsNotifier.Options(gateway="speedsms", sms_type=3)


def test_speedsms_113_on_a_multipart_text_is_truncated_not_dead(speedsms: str) -> None:
    script(speedsms, max_parts=1)
    notifier = speedsms_notifier(speedsms, max_segments=2, overflow="truncate")

    async def two() -> list[Any]:
        try:
            return [await _try(notifier.send(sms_message(LONG_TEXT, key=f"k{n}"))) for n in range(2)]
        finally:
            await notifier.aclose()

    first, second = asyncio.run(two())
    assert isinstance(first, Delivery) and isinstance(second, Delivery)
    contents = [(r["body"]["content"], json.loads(r["response"])["code"]) for r in requests(speedsms)]
    assert [code for _, code in contents] == ["113", "00", "00"]  # later texts fit one SMS at once
    assert all(content.endswith(LINK) and len(content) <= 160 for content, _ in contents[1:])


def test_the_pkce_verifier_has_43_characters() -> None:
    verifier, challenge = pkce_pair()
    assert len(verifier) == 43 and re.fullmatch(r"[A-Za-z0-9_-]{43}", verifier)
    digest = hashlib.sha256(verifier.encode()).digest()
    assert challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


# --- item 21: send-test -----------------------------------------------------------------------------


@pytest.fixture
def send_test(tmp_path: Path):
    config = write_config(tmp_path, agencies=2)
    env = {
        "NHACVIEC_DATABASE_URL": f"sqlite:///{tmp_path / 'n.db'}",
        "NHACVIEC_CONFIG_DIR": str(config),
        "NHACVIEC_PUBLIC_URL": "https://nhacviec.snv.example.vn",
        "NHACVIEC_SECRET_KEY": "khoa-ky-lien-ket-cho-kiem-thu-0123456789",
        "NHACVIEC_QUIET_HOURS": "00:00-00:00",  # the configuration sends at 00:00
    }

    def invoke(*args: str, **more: str):
        return CliRunner().invoke(app, ["send-test", *args], env={**env, **more})

    return invoke


def test_send_test_uses_the_deployments_plan_agency_and_public_url(send_test, smtp_sink) -> None:
    result = send_test(
        "--channel", "email", "--to", "dau.moi@example.org", "--kind", "due",
        NHACVIEC_SMTP_HOST="127.0.0.1", NHACVIEC_SMTP_PORT=str(smtp_sink.port),
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [received] = smtp_sink.received
    text = received.text()
    html = received.message.get_body(("html",)).get_content()
    assert received.subject.startswith("[Thử nghiệm] ")
    assert text.startswith("THỬ NGHIỆM: đây là tin thử") and "THỬ NGHIỆM: đây là tin thử" in html
    assert "Kế hoạch số 72/KH-UBND" in text and "bình đẳng giới năm" in text and "UBND xã số 0" in text
    assert "hue.gov.vn" not in text and "Thừa Thiên Huế" not in text
    [link] = re.findall(r"https://nhacviec\.snv\.example\.vn/xac-nhan/\S+", text)
    key = Links("khoa-ky-lien-ket-cho-kiem-thu-0123456789", "https://x", 60).occurrence(
        link.rsplit("/", 1)[1]
    )
    assert key.startswith("thu-nghiem/")  # opens the service, confirms nothing real


@pytest.mark.parametrize("host", ["127.0.0.1", "khong-co-may-chu-nay.invalid"])
def test_send_test_calls_an_unreachable_host_a_configuration_error(send_test, host: str) -> None:
    result = send_test(
        "--channel", "email", "--to", "a@example.org", "--kind", "due",
        NHACVIEC_SMTP_HOST=host, NHACVIEC_SMTP_PORT=str(free_port()),
    )  # fmt: skip
    assert result.exit_code == 1
    assert "Lỗi cấu hình" in result.output and "Lỗi tạm thời" not in result.output
    assert "NHACVIEC_SMTP_HOST" in result.output


def test_send_test_refused_sms_gateway_is_a_configuration_error(tmp_path: Path) -> None:
    port = free_port()
    error = attempt_send(
        sms_notifier(ESMS_SECRETS, gateway="esms", url=f"http://127.0.0.1:{port}/"), sms_message()
    )
    assert isinstance(error, NotifierError) and error.alert and not error.permanent
    assert "từ chối kết nối" in str(error)


def test_send_test_says_when_no_reminder_of_that_kind_exists(send_test) -> None:
    result = send_test(
        "--channel", "email", "--to", "a@example.org", "--kind", "announce", NHACVIEC_SMTP_HOST="127.0.0.1"
    )
    assert result.exit_code == 2 and "không có lời nhắc loại 'announce'" in result.output


# --- item 25: one line per outcome ---------------------------------------------------------------


def test_every_send_outcome_is_one_log_line(setup, urls, caplog) -> None:
    settings, engine, dispatcher = setup(sms_gateway="speedsms")
    script(urls["zalo"], now=at(settings, DAY, 8).isoformat(), no_zalo=["84900000334"])
    script(urls["speedsms"], fail_next=1, status=503)
    with time_machine.travel(at(settings, DAY, 8), tick=False), caplog.at_level(logging.INFO):
        sync(engine, dispatcher.builder.deployment, settings, DAY)
        dispatch(dispatcher)
        with time_machine.travel(at(settings, DAY, 9), tick=False):
            dispatch(dispatcher)
    [row] = rows(engine, "zalo", "sms")
    lines = [
        (r.reminder, r.channel, r.outcome, r.attempt)
        for r in caplog.records
        if getattr(r, "outcome", None) and r.reminder == row.id
    ]
    assert lines == [(row.id, "zalo", "fallback", 1), (row.id, "sms", "retry", 2), (row.id, "sms", "sent", 3)]
