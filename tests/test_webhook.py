"""WebhookNotifier against a receiver double in its own process (tests/doubles/webhook_receiver.py).

The receiver checks the HMAC signature with its own code and the secret it was given
by environment variable; `verify` is tested on what the receiver actually got.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator

import httpx
import pytest
from pydantic import ValidationError

from notifiers.base import Delivery, Message, NotConfigured, NotifierError, Setup
from notifiers.webhook import WebhookNotifier, WebhookOptions, _answer_id, sign, verify
from scheduler.config.settings import load_settings
from tests.doubles.serve import requests, reset, script, serve
from tests.support.smtp_sink import free_port

SECRET = "khóa-ký-webhook-bí-mật-42"
RECEIVER = "tests.doubles.webhook_receiver:app"
SUBJECT = "Nhắc hạn: Báo cáo kết quả thực hiện công tác bình đẳng giới — còn 7 ngày"
TEXT = "Kính gửi chị Trần Thị Thủy,\nBáo cáo phải nộp trước ngày 15/12/2025 cho Sở LĐTBXH.\n"


def message(url: str, key: str = "9b2e4f6a8c0d1e3f5a7b9c1d3e5f7a9b") -> Message:
    return Message(
        key=key,
        channel="webhook",
        recipient=url,
        recipient_name="Trần Thị Thủy",
        subject=SUBJECT,
        text=TEXT,
        short="Hạn nộp báo cáo BĐG: 15/12/2025 (còn 7 ngày)",
        thread=("1a2b3c", "4d5e6f"),
        fields={"co_quan": "UBND xã Sơn Vi", "han": "15/12/2025"},
    )


def notifier(secret: str = SECRET, **options: float) -> WebhookNotifier:
    setup = Setup(
        options=WebhookNotifier.Options(**options), secrets={"WEBHOOK_SECRET": secret}, settings=None
    )
    built = WebhookNotifier.from_setup(setup)
    assert isinstance(built, WebhookNotifier)
    return built


def send(url: str, sender: WebhookNotifier | None = None) -> Delivery:
    return asyncio.run((sender or notifier()).send(message(url)))


def failure(url: str, sender: WebhookNotifier | None = None) -> NotifierError:
    with pytest.raises(NotifierError) as caught:
        send(url, sender)
    assert SECRET not in str(caught.value)
    return caught.value


@pytest.fixture(scope="module")
def receiver_base() -> Iterator[str]:
    with serve(RECEIVER, env={"WEBHOOK_RECEIVER_SECRET": SECRET}) as url:
        yield url


@pytest.fixture
def receiver(receiver_base: str) -> str:
    reset(receiver_base)
    return receiver_base


def test_a_signed_post_verifies_at_the_receiver_with_vietnamese_intact(receiver):
    before = time.time()
    delivery = send(f"{receiver}/hooks/so-ldtbxh")
    assert delivery.provider_id == "wh-1"
    [got] = requests(receiver)
    assert got["path"] == "/hooks/so-ldtbxh"
    assert got["signature_ok"] is True
    headers = got["headers"]
    assert headers["content-type"] == "application/json"
    assert headers["x-nhacviec-key"] == "9b2e4f6a8c0d1e3f5a7b9c1d3e5f7a9b"
    assert before - 1 <= int(headers["x-nhacviec-timestamp"]) <= time.time() + 1
    assert headers["x-nhacviec-signature"].startswith("sha256=")
    assert "Trần Thị Thủy" in got["body"] and "\\u" not in got["body"]  # UTF-8, not escaped
    assert got["json"] == {
        "key": "9b2e4f6a8c0d1e3f5a7b9c1d3e5f7a9b",
        "channel": "webhook",
        "recipient_name": "Trần Thị Thủy",
        "subject": SUBJECT,
        "text": TEXT,
        "short": "Hạn nộp báo cáo BĐG: 15/12/2025 (còn 7 ngày)",
        "fields": {"co_quan": "UBND xã Sơn Vi", "han": "15/12/2025"},
        "thread": ["1a2b3c", "4d5e6f"],
    }
    body = got["body"].encode("utf-8")
    assert verify(SECRET, headers["x-nhacviec-timestamp"], body, headers["x-nhacviec-signature"])


def test_503_twice_is_transient_with_retry_after_then_delivered_under_the_same_key(receiver):
    script(receiver, status=503, times=2, retry_after="7")
    for _ in range(2):
        error = failure(f"{receiver}/hook")
        assert (error.permanent, error.unreachable, error.retry_after) == (False, False, 7.0)
        assert "HTTP 503" in str(error)
    assert send(f"{receiver}/hook").provider_id == "wh-3"
    got = requests(receiver)
    assert [r["headers"]["x-nhacviec-key"] for r in got] == ["9b2e4f6a8c0d1e3f5a7b9c1d3e5f7a9b"] * 3
    assert all(r["signature_ok"] for r in got)


def test_429_and_408_are_transient(receiver):
    script(receiver, retry_after="7", times=1)  # alone: a 429
    error = failure(f"{receiver}/hook")
    assert (error.permanent, error.retry_after) == (False, 7.0)
    assert "HTTP 429" in str(error)
    script(receiver, status=408, times=1)
    error = failure(f"{receiver}/hook")
    assert (error.permanent, error.retry_after) == (False, None)


def test_410_makes_the_recipient_unreachable(receiver):
    script(receiver, status=410)
    error = failure(f"{receiver}/hook")
    assert error.unreachable and error.permanent and not error.alert
    assert "HTTP 410" in str(error)


def test_400_is_permanent_without_alert(receiver):
    script(receiver, status=400)
    error = failure(f"{receiver}/hook")
    assert error.permanent and not error.unreachable and not error.alert
    assert "HTTP 400" in str(error)


def test_a_wrong_secret_is_refused_by_the_receiver_and_alerts(receiver):
    error = failure(f"{receiver}/hook", notifier(secret="khóa-sai"))
    assert error.permanent and error.alert and not error.unreachable
    assert "HTTP 401" in str(error) and "NHACVIEC_WEBHOOK_SECRET" in str(error)
    assert "khóa-sai" not in str(error)
    assert requests(receiver)[0]["signature_ok"] is False


def test_a_slow_receiver_times_out_as_transient(receiver):
    script(receiver, delay=1, times=1)
    error = failure(f"{receiver}/hook", notifier(timeout=0.2))
    assert not error.permanent and error.retry_after is None
    assert "quá thời gian chờ" in str(error)


def test_a_refused_connection_is_transient():
    error = failure(f"http://127.0.0.1:{free_port()}/hook")
    assert not error.permanent
    assert "lỗi kết nối" in str(error)


def test_an_unusable_url_is_permanent():
    error = failure("ftp://example.org/hook")
    assert error.permanent and not error.unreachable


def test_the_secret_is_required():
    setup = Setup(options=WebhookNotifier.Options(), secrets={}, settings=None)
    with pytest.raises(NotConfigured, match="NHACVIEC_WEBHOOK_SECRET"):
        WebhookNotifier.from_setup(setup)


def test_the_secret_comes_from_the_channel_variables():
    settings = load_settings(env={"NHACVIEC_WEBHOOK_SECRET": SECRET}, dotenv=False)
    secrets = {k: settings.channel_env[k] for k in WebhookNotifier.secrets if k in settings.channel_env}
    assert secrets == {"WEBHOOK_SECRET": SECRET}
    WebhookNotifier.from_setup(Setup(WebhookOptions(), secrets, settings))


def test_options_are_checked():
    assert WebhookOptions().timeout == 10
    with pytest.raises(ValidationError):
        WebhookOptions(timeout=0)
    with pytest.raises(ValidationError):
        WebhookOptions.model_validate({"timeout": 5, "retries": 3})


def test_the_provider_id_is_the_answers_id_when_there_is_one():
    assert _answer_id(httpx.Response(200, json={"id": 42})) == "42"
    assert _answer_id(httpx.Response(202, json={"ok": True})) is None
    assert _answer_id(httpx.Response(204)) is None
    assert _answer_id(httpx.Response(200, text="đã nhận")) is None


# --- verify, for receivers ------------------------------------------------------------

BODY = json.dumps({"key": "k1", "subject": SUBJECT}, ensure_ascii=False).encode("utf-8")
NOW = 1_765_000_000


def test_verify_accepts_our_signature():
    assert verify(SECRET, NOW, BODY, sign(SECRET, NOW, BODY), now=NOW)
    assert verify(SECRET, str(NOW), BODY, sign(SECRET, NOW, BODY), now=NOW + 299)


def test_verify_rejects_a_tampered_body():
    tampered = BODY.replace("còn 7 ngày".encode(), "còn 70 ngày".encode())
    assert tampered != BODY
    assert not verify(SECRET, NOW, tampered, sign(SECRET, NOW, BODY), now=NOW)


def test_verify_rejects_a_wrong_secret():
    assert not verify("khóa-khác", NOW, BODY, sign(SECRET, NOW, BODY), now=NOW)


def test_verify_rejects_stale_and_future_timestamps():
    signature = sign(SECRET, NOW, BODY)
    assert not verify(SECRET, NOW, BODY, signature, now=NOW + 301)
    assert not verify(SECRET, NOW, BODY, signature, now=NOW - 301)
    assert verify(SECRET, NOW, BODY, signature, tolerance=600, now=NOW + 301)


def test_verify_rejects_malformed_headers():
    signature = sign(SECRET, NOW, BODY)
    assert not verify(SECRET, "hôm qua", BODY, signature, now=NOW)
    assert not verify(SECRET, NOW, BODY, signature.removeprefix("sha256="), now=NOW)
    assert not verify(SECRET, NOW + 1, BODY, signature, now=NOW)  # the timestamp is signed too
    assert not verify(SECRET, NOW, BODY, "", now=NOW)
