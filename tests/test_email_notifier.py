"""EmailNotifier against a real SMTP server (aiosmtpd) running in the test process."""

from __future__ import annotations

import asyncio
import email
import email.policy
import shutil
import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from notifiers.base import Attachment, Message, NotifierError
from notifiers.email import EmailNotifier, SmtpSettings, build_email

HOST = "127.0.0.1"
SENDER = "nhacviec@so-ldtbxh.example.org"
SUBJECT = "Nhắc hạn: Báo cáo kết quả thực hiện 01 năm — còn 7 ngày"
TEXT = "Kính gửi anh Nguyễn Văn Hưởng,\nBáo cáo kết quả thực hiện 01 năm phải nộp trước ngày 15/12/2025.\n"
HTML = "<p>Kính gửi anh <b>Nguyễn Văn Hưởng</b>,</p><p>Hạn nộp: <b>15/12/2025</b> — còn 7 ngày.</p>"
ICS = b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:PUBLISH\r\nEND:VCALENDAR\r\n"
PASSWORD = "mật-khẩu-bí-mật-42"
VIETNAMESE = (
    "aăâbcdđeêghiklmnoôơpqrstuưvxyáàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵĐ01:—,."
)

MESSAGE = Message(
    key="3f1c0d9a5b7e4c2a8d6f0e1b2c3d4e5f",
    channel="email",
    recipient="huong.nv@ubnd.example.gov.vn",
    recipient_name="Nguyễn Văn Hưởng",
    subject=SUBJECT,
    text=TEXT,
    html=HTML,
    attachments=(Attachment("han-nop.ics", "text/calendar; method=PUBLISH", ICS),),
)


def settings(port: int = 25, **changes: Any) -> SmtpSettings:
    base = SmtpSettings(
        host=HOST,
        port=port,
        security="none",
        username="",
        password="",
        sender=SENDER,
        sender_name="Nhắc việc báo cáo",
        timeout=10,
    )
    return replace(base, **changes)


def text_of(part: email.message.EmailMessage) -> str:
    """A text part's content; the parser keeps the CRLF line ends of the wire format."""
    return part.get_content().replace("\r\n", "\n")


def send(notifier: EmailNotifier, message: Message = MESSAGE):
    async def attempt():
        try:
            return await notifier.send(message)
        finally:
            await notifier.aclose()  # the notifier keeps its connection for the next send
            # A closed TLS connection finishes its shutdown a few loop turns later; without this pause
            # asyncio.run closes the loop first and the socket is reported as unclosed (ResourceWarning).
            await asyncio.sleep(0.05)

    return asyncio.run(attempt())


def send_error(notifier: EmailNotifier, message: Message = MESSAGE) -> NotifierError:
    with pytest.raises(NotifierError) as caught:
        send(notifier, message)
    return caught.value


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    login: bytes | None
    tls: bool

    @property
    def parsed(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.raw, policy=email.policy.default)


class Recorder:
    """An aiosmtpd handler that keeps what it receives, or answers a step with a fixed reply."""

    def __init__(self, mail: str | None = None, rcpt: str | None = None, data: str | None = None) -> None:
        self.replies = {"MAIL": mail, "RCPT": rcpt, "DATA": data}
        self.received: list[Received] = []

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.replies["MAIL"]:
            return self.replies["MAIL"]
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.replies["RCPT"]:
            return self.replies["RCPT"]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.replies["DATA"]:
            return self.replies["DATA"]
        login = session.auth_data.login if session.authenticated else None
        tls = server.transport.get_extra_info("cipher") is not None
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content, login, tls)
        )
        return "250 2.0.0 Ok: queued as 4BX9"


def authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data == (b"nhacviec", PASSWORD.encode())
    # handled=False: let aiosmtpd send the 535 itself (with the default handled=True it sends nothing).
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


@pytest.fixture
def start_server() -> Iterator[Callable[..., int]]:
    """Start an aiosmtpd server with a handler and Controller options; returns its port."""
    controllers: list[Controller] = []

    def start(handler: Recorder, **options: Any) -> int:
        port = free_port()
        controller = Controller(
            handler, hostname=HOST, port=port, server_hostname="mx.example.test", **options
        )
        controller.start()
        controllers.append(controller)
        return port

    yield start
    for controller in controllers:
        controller.stop()


@dataclass(frozen=True)
class Certificate:
    server: ssl.SSLContext
    client: ssl.SSLContext


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1 and localhost, and contexts that serve and trust it.

    Made with the openssl command: the `cryptography` package is not a dependency of the project.
    """
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    folder: Path = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", "1", "-subj", "/CN=nhacviec test SMTP", "-addext", f"subjectAltName=DNS:localhost,IP:{HOST}",
         "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=cert)
    return Certificate(server=server, client=client)


# --- build_email -------------------------------------------------------------------------------


def test_build_email_headers():
    built = build_email(MESSAGE, settings())
    raw = bytes(built)
    assert raw.decode("ascii")  # 7-bit clean: encoded words and quoted-printable only
    assert b"\r\nSubject: =?utf-8?" in raw
    assert raw.startswith(b"From: =?utf-8?")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == SUBJECT
    assert parsed["From"].addresses[0].display_name == "Nhắc việc báo cáo"
    assert parsed["From"].addresses[0].addr_spec == SENDER
    assert parsed["To"].addresses[0].display_name == "Nguyễn Văn Hưởng"
    assert parsed["To"].addresses[0].addr_spec == MESSAGE.recipient
    assert parsed["Message-ID"] == f"<{MESSAGE.key}@so-ldtbxh.example.org>"
    assert parsed["X-Nhacviec-Key"] == MESSAGE.key
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["Date"].datetime is not None
    assert "In-Reply-To" not in parsed
    assert "References" not in parsed


def test_build_email_structure_and_encoding():
    parsed = email.message_from_bytes(bytes(build_email(MESSAGE, settings())), policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/mixed"
    alternative, calendar = parsed.get_payload()
    assert alternative.get_content_type() == "multipart/alternative"
    plain, html = alternative.get_payload()
    for part, content in ((plain, TEXT), (html, HTML)):
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
        assert part.get_content_charset() == "utf-8"
        assert text_of(part) == content.rstrip("\n") + "\n"
    assert plain.get_content_type() == "text/plain"
    assert html.get_content_type() == "text/html"
    assert calendar.get_content_type() == "text/calendar"
    assert calendar.get_param("method") == "PUBLISH"
    assert calendar.get_filename() == "han-nop.ics"
    assert calendar.get_content_disposition() == "attachment"
    assert calendar.get_payload(decode=True) == ICS


def test_build_email_text_only():
    parsed = email.message_from_bytes(
        bytes(build_email(replace(MESSAGE, html=None, attachments=()), settings())),
        policy=email.policy.default,
    )
    assert parsed.get_content_type() == "text/plain"
    assert parsed["Content-Transfer-Encoding"] == "quoted-printable"
    assert text_of(parsed) == TEXT


def test_build_email_threads_earlier_reminders():
    message = replace(MESSAGE, thread=("a" * 32, "b" * 32))
    parsed = email.message_from_bytes(bytes(build_email(message, settings())), policy=email.policy.default)
    first, second = (f"<{c * 32}@so-ldtbxh.example.org>" for c in "ab")
    assert parsed["In-Reply-To"] == second
    assert parsed["References"].split() == [first, second]


def test_build_email_is_deterministic():
    first, second = (build_email(MESSAGE, settings()) for _ in range(2))
    assert first["Message-ID"] == second["Message-ID"]
    assert [h for h in first.items() if h[0] != "Date"] == [h for h in second.items() if h[0] != "Date"]


words = st.lists(st.text(alphabet=VIETNAMESE, min_size=1, max_size=12), min_size=1, max_size=25).map(" ".join)


@given(subject=words, name=words)
@hyp_settings(max_examples=200, deadline=None)
def test_vietnamese_headers_survive_folding(subject: str, name: str):
    """Long Vietnamese subjects and names are folded without losing a space (see notifiers.email._set_header)."""
    raw = bytes(build_email(replace(MESSAGE, subject=subject, recipient_name=name), settings()))
    headers = raw.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in headers.split(b"\r\n")) <= 78
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == subject
    if name.isascii():
        assert parsed["To"].addresses[0].display_name == name
    else:
        # Decoded as RFC 2047 says, ignoring the whitespace between encoded words. Python's address
        # parser would put a space there when a long name is split inside a word; mail clients do not.
        to = email.message_from_bytes(raw, policy=email.policy.compat32)["To"]
        assert str(make_header(decode_header(to))) == f"{name} <{MESSAGE.recipient}>"
    assert parsed["To"].addresses[0].addr_spec == MESSAGE.recipient


@pytest.mark.parametrize("recipient", ["không-phải-địa-chỉ", "a@b@c", "x\r\ny@example.org", ""])
def test_build_email_rejects_bad_address(recipient: str):
    with pytest.raises(NotifierError) as caught:
        build_email(replace(MESSAGE, recipient=recipient), settings())
    assert caught.value.permanent


# --- delivery ---------------------------------------------------------------------------------


def test_send_delivers_the_message(start_server):
    handler = Recorder()
    port = start_server(handler)
    delivery = send(EmailNotifier(settings(port)))
    assert delivery.provider_id == f"<{MESSAGE.key}@so-ldtbxh.example.org>"
    assert delivery.detail == "2.0.0 Ok: queued as 4BX9"
    [received] = handler.received
    assert received.mail_from == SENDER
    assert received.rcpt_tos == [MESSAGE.recipient]
    assert not received.tls
    assert b"\r\nSubject: =?utf-8?" in received.raw
    assert received.raw.decode("ascii")
    parsed = received.parsed
    assert parsed["Subject"] == SUBJECT
    assert parsed["Message-ID"] == delivery.provider_id
    assert "Bcc" not in parsed
    alternative, calendar = parsed.get_payload()
    plain, html = alternative.get_payload()
    assert plain["Content-Transfer-Encoding"] == "quoted-printable"
    assert b"Nguy=E1=BB=85n V=C4=83n H=C6=B0=E1=BB=9Fng" in received.raw  # "Nguyễn Văn Hưởng" in QP
    assert text_of(plain) == TEXT
    assert text_of(html) == HTML + "\n"
    assert calendar.get_content_type() == "text/calendar"
    assert calendar.get_payload(decode=True) == ICS


def test_retry_keeps_the_message_id_and_threads(start_server):
    handler = Recorder()
    notifier = EmailNotifier(settings(start_server(handler)))
    send(notifier)
    send(notifier)
    send(notifier, replace(MESSAGE, key="c" * 32, thread=(MESSAGE.key,)))
    first, retry, follow_up = (r.parsed for r in handler.received)
    assert first["Message-ID"] == retry["Message-ID"] == f"<{MESSAGE.key}@so-ldtbxh.example.org>"
    assert follow_up["Message-ID"] == f"<{'c' * 32}@so-ldtbxh.example.org>"
    assert follow_up["In-Reply-To"] == first["Message-ID"]
    assert follow_up["References"] == first["Message-ID"]


@pytest.mark.parametrize(
    ("step", "reply", "permanent"),
    [
        ("DATA", "451 4.3.0 Try again later", False),
        ("DATA", "550 5.7.1 Message rejected as spam", True),
        ("DATA", "552 5.3.4 Message too big", True),
        ("RCPT", "450 4.2.0 Greylisted, please try again", False),
        ("RCPT", "451 4.7.1 Service unavailable", False),
        ("RCPT", "452 4.2.2 Mailbox full", False),
        ("RCPT", "550 5.1.1 User unknown", True),
        ("RCPT", "553 5.1.3 Bad destination mailbox address", True),
        ("MAIL", "421 4.7.0 Too many connections", False),
        ("MAIL", "553 5.7.1 Sender address rejected", True),
    ],
)
def test_smtp_replies_are_classified(start_server, step: str, reply: str, permanent: bool):
    port = start_server(Recorder(**{step.lower(): reply}))
    error = send_error(EmailNotifier(settings(port)))
    assert error.permanent is permanent
    code, _, text = reply.partition(" ")
    assert code in str(error)
    assert text in str(error)


def test_server_down_is_transient():
    port = free_port()  # nothing listens there any more
    error = send_error(EmailNotifier(settings(port)))
    assert not error.permanent
    assert f"{HOST}:{port}" in str(error)
    assert "SMTPConnectError" in str(error)


def test_silent_server_times_out_as_transient():
    with socket.socket() as listener:  # accepts connections (backlog) but never greets
        listener.bind((HOST, 0))
        listener.listen()
        error = send_error(EmailNotifier(settings(listener.getsockname()[1], timeout=0.5)))
    assert not error.permanent
    assert "SMTPConnectTimeoutError" in str(error)


def test_starttls_with_login(start_server, certificate: Certificate):
    handler = Recorder()
    port = start_server(
        handler,
        tls_context=certificate.server,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=True,
    )
    smtp = settings(port, security="starttls", username="nhacviec", password=PASSWORD)
    delivery = send(EmailNotifier(smtp, tls_context=certificate.client))
    [received] = handler.received
    assert received.tls
    assert received.login == b"nhacviec"
    assert received.parsed["Message-ID"] == delivery.provider_id


def test_wrong_password_is_permanent_and_not_shown(start_server, certificate: Certificate):
    port = start_server(
        Recorder(), tls_context=certificate.server, authenticator=authenticator, auth_require_tls=True
    )
    smtp = settings(port, security="starttls", username="nhacviec", password=PASSWORD + "-sai")
    error = send_error(EmailNotifier(smtp, tls_context=certificate.client))
    assert error.permanent
    assert "535" in str(error)
    assert "Authentication credentials invalid" in str(error)
    assert PASSWORD not in str(error)


def test_implicit_tls(start_server, certificate: Certificate):
    handler = Recorder()
    port = start_server(handler, ssl_context=certificate.server)
    send(EmailNotifier(settings(port, security="tls"), tls_context=certificate.client))
    [received] = handler.received
    assert received.tls


def test_untrusted_certificate_is_transient(start_server, certificate: Certificate):
    port = start_server(Recorder(), ssl_context=certificate.server)
    error = send_error(EmailNotifier(settings(port, security="tls")))  # system trust store only
    assert not error.permanent
    assert "CERTIFICATE_VERIFY_FAILED" in str(error)


def test_starttls_required_but_not_offered_is_permanent(start_server):
    port = start_server(Recorder())
    error = send_error(EmailNotifier(settings(port, security="starttls")))
    assert error.permanent
    assert "STARTTLS" in str(error)


def test_security_none_never_upgrades(start_server, certificate: Certificate):
    handler = Recorder()
    port = start_server(handler, tls_context=certificate.server)  # offers STARTTLS
    send(EmailNotifier(settings(port)))
    [received] = handler.received
    assert not received.tls


def test_channel_and_concurrency():
    assert EmailNotifier.channel == "email"
    assert EmailNotifier.concurrency == 10


def test_connections_are_reused_between_sends():
    class Peers:
        def __init__(self) -> None:
            self.seen: list[tuple] = []

        async def handle_DATA(self, server, session, envelope):
            self.seen.append(session.peer)
            return "250 OK"

    handler, port = Peers(), free_port()
    controller = Controller(handler, hostname=HOST, port=port)
    controller.start()
    try:
        notifier = EmailNotifier(settings(port))

        async def three():
            for n in range(3):
                await notifier.send(replace(MESSAGE, key=f"{n:032d}"))
            await notifier.aclose()

        asyncio.run(three())
    finally:
        controller.stop()
    assert len(handler.seen) == 3 and len(set(handler.seen)) == 1
