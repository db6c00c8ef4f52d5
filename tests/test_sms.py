"""SmsNotifier over real HTTP against the eSMS and SpeedSMS doubles (tests/doubles/)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from notifiers.base import Delivery, Message, NotConfigured, NotifierError, Setup
from notifiers.sms import SmsNotifier, fit, gsm_text, request_id, reset_seconds, segments
from notifiers.text import unaccent
from tests.doubles.serve import requests, reset, script, serve

ESMS_SECRETS = {"SMS_ESMS_API_KEY": "esms-api-key", "SMS_ESMS_SECRET_KEY": "esms-secret-key"}
SPEEDSMS_SECRETS = {"SMS_SPEEDSMS_TOKEN": "speedsms-token"}
ESMS_PATH = "/MainService.svc/json/SendMultipleMessage_V4_post_json/"
SPEEDSMS_PATH = "/index.php/sms/send"
KEY = "3f1c2a9b8d7e6f5a4b3c2d1e0f9a8b7c"
LINK = "https://nhacviec.example.vn/x/3f1c2a9b8d7e"
SHORT = f"Nhắc hạn: Sở Y tế nộp Báo cáo quý IV trước 15/12/2025. Xác nhận: {LINK}"


def sms(short: str = SHORT, *, key: str = KEY, recipient: str = "+84912345678") -> Message:
    return Message(
        key=key,
        channel="sms",
        recipient=recipient,
        recipient_name="Nguyễn Văn Hưởng",
        subject="Nhắc hạn",
        text="",
        short=short,
        short_ascii=unaccent(short),
    )


def notifier(secrets: dict[str, str], **options: Any) -> SmsNotifier:
    return SmsNotifier.from_setup(
        Setup(options=SmsNotifier.Options(**options), secrets=secrets, settings=None)
    )


def send(notifier: SmsNotifier, message: Message) -> Delivery:
    async def attempt() -> Delivery:
        try:
            return await notifier.send(message)
        finally:
            await notifier.aclose()

    return asyncio.run(attempt())


def failure(notifier: SmsNotifier, message: Message) -> NotifierError:
    with pytest.raises(NotifierError) as caught:
        send(notifier, message)
    return caught.value


@pytest.fixture(scope="module")
def esms_server() -> Iterator[str]:
    with serve("tests.doubles.esms:app") as url:
        yield url


@pytest.fixture
def esms(esms_server: str) -> str:
    reset(esms_server)
    return esms_server


@pytest.fixture(scope="module")
def speedsms_server() -> Iterator[str]:
    with serve("tests.doubles.speedsms:app") as url:
        yield url


@pytest.fixture
def speedsms(speedsms_server: str) -> str:
    reset(speedsms_server)
    return speedsms_server


def esms_notifier(base: str, **options: Any) -> SmsNotifier:
    return notifier(ESMS_SECRETS, gateway="esms", url=base + ESMS_PATH, **options)


def speedsms_notifier(base: str, secrets: dict[str, str] = SPEEDSMS_SECRETS, **options: Any) -> SmsNotifier:
    return notifier(secrets, gateway="speedsms", url=base + SPEEDSMS_PATH, **options)


# --- segments and the cap -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ("GSM-7", 1)),
        ("a" * 160, ("GSM-7", 1)),
        ("a" * 161, ("GSM-7", 2)),
        ("a" * 306, ("GSM-7", 2)),
        ("a" * 307, ("GSM-7", 3)),
        ("a" * 459, ("GSM-7", 3)),
        ("{" * 80, ("GSM-7", 1)),  # extension characters take two septets
        ("{" * 81, ("GSM-7", 2)),
        ("a" * 158 + "€", ("GSM-7", 1)),
        ("a" * 159 + "€", ("GSM-7", 2)),
        ("a" * 152 + "[" + "a" * 152, ("GSM-7", 3)),  # ESC + [ is not split across parts
        ("a" * 151 + "[" + "a" * 153, ("GSM-7", 2)),
        ("@£$¥èéùìòÇ_ΔΦΓÆßÉ¡ÄÖÑÜ§¿äöñüà", ("GSM-7", 1)),
        ("ơ" * 70, ("UCS-2", 1)),
        ("ơ" * 71, ("UCS-2", 2)),
        ("a" * 134, ("GSM-7", 1)),
        ("a" * 133 + "đ", ("UCS-2", 2)),  # one character outside GSM-7 turns the whole text UCS-2
        ("ư" * 134, ("UCS-2", 2)),
        ("ư" * 135, ("UCS-2", 3)),
        ("😀" * 35, ("UCS-2", 1)),  # beyond the BMP: two UTF-16 units
        ("😀" * 36, ("UCS-2", 2)),
        ("ç", ("UCS-2", 1)),  # only Ç is in the GSM-7 basic set
    ],
)
def test_segments(text: str, expected: tuple[str, int]) -> None:
    assert segments(text) == expected


def test_gsm_text_strips_diacritics_and_typography() -> None:
    assert gsm_text("Đề nghị Sở – “Y tế”… ½") == 'De nghi So - "Y te"... ?'
    assert segments(gsm_text("Ủy ban nhân dân tỉnh Đắk Lắk — đợt 2"))[0] == "GSM-7"


def test_truncate_keeps_the_link_whole_at_the_end() -> None:
    text = "Nhac han: " + " ".join(f"tu{i}" for i in range(80)) + f" Xac nhan: {LINK}"
    assert segments(text)[1] > 2
    for cap in (1, 2):
        (cut,) = fit(text, cap, "truncate")
        assert segments(cut)[1] <= cap
        assert cut.endswith(f"... {LINK}")
        assert cut.startswith("Nhac han: tu0 tu1")
        assert len(cut) > (153 * cap if cap > 1 else 160) - 10  # words are cut only as far as needed


def test_truncate_of_a_text_without_link_cuts_words() -> None:
    (cut,) = fit("chu " * 100, 1, "truncate")
    assert cut.endswith("chu...") and segments(cut)[1] == 1


def test_split_makes_single_segment_sms_at_most_max_segments() -> None:
    text = " ".join(f"tu{i}" for i in range(100)) + f" {LINK}"
    parts = fit(text, 4, "split")
    assert all(segments(part)[1] == 1 for part in parts)
    assert " ".join(parts) == text and len(parts) == 4
    capped = fit(text, 2, "split")
    assert len(capped) == 2 and all(segments(part)[1] == 1 for part in capped)
    assert capped[-1].endswith(f"... {LINK}")


def test_request_ids_are_at_most_50_characters() -> None:
    assert request_id(KEY) == KEY and request_id(KEY, 2) == f"{KEY}.2"
    long_id = request_id("k" * 60, 3)
    assert len(long_id) <= 50 and long_id == request_id("k" * 60, 3) != request_id("k" * 60, 2)


def test_rate_limit_reset_as_seconds_or_epoch() -> None:
    assert reset_seconds("42") == 42
    assert 29 <= reset_seconds(str(int(time.time()) + 30)) <= 31
    assert reset_seconds(None) is None and reset_seconds("soon") is None


# --- options and setup ------------------------------------------------------------------


def test_options_defaults_and_validation() -> None:
    options = SmsNotifier.Options()
    assert (options.gateway, options.unicode, options.max_segments, options.overflow) == (
        "esms",
        False,
        2,
        "truncate",
    )
    assert SmsNotifier.Options(gateway="speedsms", sms_type=3, sender="SOYTE").brandname == "SOYTE"
    with pytest.raises(ValidationError, match="cần url"):
        SmsNotifier.Options(gateway="http")
    with pytest.raises(ValidationError, match="chỉ dùng với gateway: http"):
        SmsNotifier.Options(gateway="esms", body={"to": "{phone}"})
    with pytest.raises(ValidationError, match="phone85"):
        SmsNotifier.Options(gateway="http", url="https://sms.example.vn", body={"to": "{phone85}"})
    with pytest.raises(ValidationError):
        SmsNotifier.Options(max_segments=0)
    with pytest.raises(ValidationError):
        SmsNotifier.Options(brandname="QUA-MUOI-MOT-KY-TU")


@pytest.mark.parametrize(
    ("options", "secrets", "missing"),
    [
        ({"gateway": "esms"}, {}, "NHACVIEC_SMS_ESMS_API_KEY"),
        ({"gateway": "esms"}, {"SMS_ESMS_API_KEY": "a"}, "NHACVIEC_SMS_ESMS_SECRET_KEY"),
        ({"gateway": "speedsms"}, ESMS_SECRETS, "NHACVIEC_SMS_SPEEDSMS_TOKEN"),
        (
            {
                "gateway": "http",
                "url": "https://sms.example.vn",
                "headers": {"Authorization": "Bearer {token}"},
            },
            {},
            "NHACVIEC_SMS_HTTP_TOKEN",
        ),
    ],
)
def test_from_setup_names_the_missing_secret(options: dict, secrets: dict, missing: str) -> None:
    with pytest.raises(NotConfigured, match=missing):
        notifier(secrets, **options)


def test_http_gateway_without_token_placeholder_needs_no_token() -> None:
    assert notifier({}, gateway="http", url="https://sms.example.vn", body={"to": "{phone}"})


# --- eSMS ------------------------------------------------------------------------------


def test_esms_sends_string_fields_with_the_key_as_request_id(esms: str) -> None:
    delivery = send(esms_notifier(esms, brandname="SOYTE"), sms())
    (received,) = requests(esms)
    body = received["body"]
    assert body == {
        "ApiKey": "esms-api-key",
        "SecretKey": "esms-secret-key",
        "Phone": "0912345678",
        "Content": unaccent(SHORT),
        "Brandname": "SOYTE",
        "SmsType": "2",
        "IsUnicode": "0",
        "Sandbox": "0",
        "RequestId": KEY,
    }
    assert all(isinstance(value, str) for value in body.values())
    assert delivery.provider_id == httpx.Response(200, text=received["response"]).json()["SMSID"]
    assert "GSM-7, 1 phần" in delivery.detail


def test_vietnamese_text_goes_unaccented_in_two_gsm7_parts(esms: str) -> None:
    short = "Kính gửi Sở Tài chính: đề nghị nộp báo cáo tổng hợp " + "đúng hạn " * 8 + "nhé " + LINK
    assert len(unaccent(short)) == 170
    delivery = send(esms_notifier(esms), sms(short))
    content = requests(esms)[0]["body"]["Content"]
    assert content == unaccent(short) and content.isascii()
    assert content.startswith("Kinh gui So Tai chinh: de nghi nop bao cao")
    assert segments(content) == ("GSM-7", 2)
    assert "GSM-7, 2 phần" in delivery.detail


def test_unicode_mode_keeps_diacritics_and_one_of_them_makes_ucs2(esms: str) -> None:
    send(esms_notifier(esms, unicode=True), sms("Han nop bao cao: 15/12 ơ"))
    body = requests(esms)[0]["body"]
    assert body["Content"] == "Han nop bao cao: 15/12 ơ" and body["IsUnicode"] == "1"
    assert segments(body["Content"]) == ("UCS-2", 1)


def test_esms_truncates_to_the_cap_keeping_the_link(esms: str) -> None:
    short = "Nhắc hạn nộp báo cáo " + "rất quan trọng " * 30 + LINK
    send(esms_notifier(esms, max_segments=1), sms(short))
    content = requests(esms)[0]["body"]["Content"]
    assert segments(content) == ("GSM-7", 1) and content.endswith(f"... {LINK}")


def test_esms_split_sends_one_segment_sms_each_with_its_own_request_id(esms: str) -> None:
    short = "Nhắc hạn nộp báo cáo " + "rất quan trọng " * 20 + LINK
    delivery = send(esms_notifier(esms, max_segments=3, overflow="split"), sms(short))
    received = requests(esms)
    assert [r["body"]["RequestId"] for r in received] == [KEY, f"{KEY}.2", f"{KEY}.3"]
    contents = [r["body"]["Content"] for r in received]
    assert all(segments(content) == ("GSM-7", 1) for content in contents)
    assert " ".join(contents) == unaccent(short)
    ids = [httpx.Response(200, text=r["response"]).json()["SMSID"] for r in received]
    assert delivery.provider_id == ",".join(ids)


def test_esms_duplicate_request_id_counts_as_delivered(esms: str) -> None:
    first = send(esms_notifier(esms), sms())
    again = send(esms_notifier(esms), sms())
    assert first.provider_id and "124" in again.detail
    assert [r["body"]["RequestId"] for r in requests(esms)] == [KEY, KEY]
    assert '"124"' in requests(esms)[1]["response"]


def test_esms_bad_phone_is_unreachable(esms: str) -> None:
    script(esms, codes={"0912345678": "108"})
    error = failure(esms_notifier(esms), sms())
    assert error.unreachable and error.permanent and not error.alert
    assert "số điện thoại không hợp lệ" in str(error) and "108" in str(error)


def test_esms_bad_keys_alert_without_showing_them(esms: str) -> None:
    secrets = {"SMS_ESMS_API_KEY": "khoa-sai-123", "SMS_ESMS_SECRET_KEY": "bi-mat-sai-456"}
    error = failure(notifier(secrets, gateway="esms", url=esms + ESMS_PATH), sms())
    assert error.permanent and error.alert and not error.unreachable
    assert "101" in str(error) and "sai ApiKey hoặc SecretKey" in str(error)
    assert "khoa-sai-123" not in str(error) and "bi-mat-sai-456" not in str(error)
    assert requests(esms)[0]["body"]["ApiKey"] == "khoa-sai-123"


@pytest.mark.parametrize(("code", "permanent"), [("146", True), ("177", True), ("103", True), ("999", False)])
def test_esms_configuration_codes_alert_others_are_transient(esms: str, code: str, permanent: bool) -> None:
    script(esms, codes={"0912345678": code})
    error = failure(esms_notifier(esms), sms())
    assert (error.permanent, error.alert, error.unreachable) == (permanent, permanent, False)


def test_esms_5xx_storm_is_transient_then_succeeds(esms: str) -> None:
    script(esms, fail_next=2, status=503, retry_after="7")
    one = esms_notifier(esms)
    for _ in range(2):
        error = failure(one, sms())
        assert not error.permanent and error.retry_after == 7 and "503" in str(error)
        assert "esms-api-key" not in str(error) and "esms-secret-key" not in str(error)
    assert send(one, sms()).provider_id
    assert [r["status"] for r in requests(esms)] == [503, 503, 200]


def test_esms_timeout_is_transient(esms: str) -> None:
    script(esms, delay=1)
    error = failure(esms_notifier(esms, timeout=0.2), sms())
    assert not error.permanent and "hết thời gian chờ" in str(error)
    deadline = time.monotonic() + 5
    while not requests(esms) and time.monotonic() < deadline:  # let the double finish before reset
        time.sleep(0.05)
    assert len(requests(esms)) == 1


def test_connection_refused_is_transient() -> None:
    error = failure(notifier(ESMS_SECRETS, gateway="esms", url="http://127.0.0.1:9/"), sms())
    assert not error.permanent and "lỗi kết nối" in str(error)


def test_foreign_number_is_unreachable_without_a_request(esms: str) -> None:
    error = failure(esms_notifier(esms), sms(recipient="+14155550100"))
    assert error.unreachable and requests(esms) == []


# --- SpeedSMS --------------------------------------------------------------------------


def test_speedsms_sends_with_basic_auth(speedsms: str) -> None:
    delivery = send(speedsms_notifier(speedsms, sender="SOYTE", sms_type=3), sms())
    (received,) = requests(speedsms)
    assert received["auth"] == {"username": "speedsms-token", "password": "x"}
    assert received["body"] == {
        "to": ["0912345678"],
        "content": unaccent(SHORT),
        "sms_type": 3,
        "sender": "SOYTE",
    }
    assert delivery.provider_id == str(
        httpx.Response(200, text=received["response"]).json()["data"]["tranId"]
    )


def test_speedsms_rate_limit_gives_retry_after(speedsms: str) -> None:
    script(speedsms, rate_limit=1, window=60)
    one = speedsms_notifier(speedsms)
    send(one, sms())
    error = failure(one, sms())
    assert not error.permanent and error.retry_after is not None and 55 <= error.retry_after <= 60
    assert requests(speedsms)[1]["status"] == 429


def test_speedsms_rate_limit_reset_as_epoch(speedsms: str) -> None:
    script(speedsms, rate_limit=0, window=30, reset_epoch=True)
    error = failure(speedsms_notifier(speedsms), sms())
    assert error.retry_after is not None and 25 <= error.retry_after <= 31


def test_speedsms_bad_phone_is_unreachable(speedsms: str) -> None:
    script(speedsms, codes={"0912345678": "105"})
    error = failure(speedsms_notifier(speedsms), sms())
    assert error.unreachable and "0912345678" in str(error)


@pytest.mark.parametrize(("code", "permanent"), [("300", True), ("009", True), ("500", False)])
def test_speedsms_error_codes(speedsms: str, code: str, permanent: bool) -> None:
    script(speedsms, codes={"0912345678": code})
    error = failure(speedsms_notifier(speedsms), sms())
    assert (error.permanent, error.alert, error.unreachable) == (permanent, permanent, False)


def test_speedsms_wrong_token_alerts_without_showing_it(speedsms: str) -> None:
    error = failure(speedsms_notifier(speedsms, {"SMS_SPEEDSMS_TOKEN": "token-sai-789"}), sms())
    assert error.permanent and error.alert and "401" in str(error) and "token-sai-789" not in str(error)


# --- generic HTTP gateway (against the eSMS double) --------------------------------------------


def generic(base: str, **options: Any) -> SmsNotifier:
    body = {
        "ApiKey": "{token}",
        "SecretKey": "esms-secret-key",
        "Phone": "{phone}",
        "Content": "{text}",
        "RequestId": "{key}",
        "SmsType": "2",
    }
    return notifier(
        {"SMS_HTTP_TOKEN": "esms-api-key"},
        gateway="http",
        body=body,
        headers={"X-Phone": "{phone84}", "X-Note": "{not a placeholder}"},
        success_field="CodeResult",
        success_value="100",
        id_field="SMSID",
        **options,
    )


def test_http_gateway_fills_placeholders_and_reads_the_id(esms: str) -> None:
    delivery = send(generic(esms, url=esms + ESMS_PATH), sms())
    (received,) = requests(esms)
    assert received["body"]["ApiKey"] == "esms-api-key" and received["body"]["Phone"] == "0912345678"
    assert received["body"]["Content"] == unaccent(SHORT) and received["body"]["RequestId"] == KEY
    assert received["headers"]["x-phone"] == "84912345678"
    assert received["headers"]["x-note"] == "{not a placeholder}"
    assert delivery.provider_id == httpx.Response(200, text=received["response"]).json()["SMSID"]


def test_http_gateway_get_sends_the_body_as_query(esms: str) -> None:
    url = esms + "/MainService.svc/json/SendMultipleMessage_V4_get"
    assert send(generic(esms, url=url, method="GET"), sms()).provider_id
    (received,) = requests(esms)
    assert received["method"] == "GET" and received["query"]["Phone"] == "0912345678"


def test_http_gateway_success_field_decides(esms: str) -> None:
    script(esms, codes={"0912345678": "108"})
    error = failure(generic(esms, url=esms + ESMS_PATH), sms())
    assert not error.permanent and "CodeResult = '108'" in str(error)
    assert "esms-api-key" not in str(error)


def test_http_gateway_4xx_is_a_configuration_alert(esms: str) -> None:
    error = failure(notifier({}, gateway="http", url=esms + "/khong-co", body={"to": "{phone}"}), sms())
    assert error.permanent and error.alert and "404" in str(error)
