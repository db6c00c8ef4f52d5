"""E-mail over SMTP with aiosmtplib, on connections kept between sends.

SMTP replies are classified for the dispatcher: 4xx replies and network failures
are transient (retried), 5xx replies are permanent. The Message-ID is derived from
the reminder's idempotency key, so a retry carries the same Message-ID as the
first attempt and later reminders about the same deadline thread under it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from dataclasses import dataclass, field
from email import encoders
from email.charset import QP, Charset
from email.errors import HeaderParseError
from email.header import Header
from email.headerregistry import Address
from email.message import Message as MimeMessage
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, formatdate
from typing import ClassVar

import aiosmtplib

from notifiers.base import Attachment, Delivery, Message, NotConfigured, Notifier, NotifierError, Setup
from notifiers.http import connection_failure

IDLE_SECONDS = 20.0
POLICY = compat32.clone(linesep="\r\n")
UTF8_QP = Charset("utf-8")
UTF8_QP.body_encoding = QP


def message_id(key: str, sender: str) -> str:
    domain = sender.rpartition("@")[2] or "localhost"
    return f"<{key}@{domain}>"


@dataclass(frozen=True)
class SmtpSettings:
    """The SMTP server and sender, from NHACVIEC_SMTP_* (scheduler/config/settings.py reads them)."""

    host: str
    port: int
    security: str  # none | starttls | tls
    username: str
    password: str = field(repr=False)
    sender: str  # From: address, e.g. "nhacviec@so-ldtbxh.example.org"
    sender_name: str
    timeout: float


def build_email(message: Message, smtp: SmtpSettings) -> MimeMessage:
    """The MIME message: mixed > alternative(text, html) + attachments; UTF-8, quoted-printable.

    Built with the `email.mime` classes (the compat32 policy): with the header registry of
    the newer `EmailMessage` API, building and flattening one reminder took ~5 ms, the
    slowest step of dispatch.
    """
    body: MimeMessage = _text(message.text, "plain")
    if message.html is not None:
        body = MIMEMultipart("alternative", _subparts=[body, _text(message.html, "html")], policy=POLICY)
    if message.attachments:
        body = MIMEMultipart("mixed", _subparts=[body, *map(_attachment, message.attachments)], policy=POLICY)
    mime_headers = [(name, body[name]) for name in ("Content-Type", "MIME-Version") if name in body]
    for name, _ in mime_headers:
        del body[name]  # re-added after the addressing headers, where readers expect them
    # A compat32 message takes a `Header` value as it is (typeshed's stubs say `str` only).
    body["From"] = _header("From", smtp.sender_name, _addr_spec(smtp.sender))  # type: ignore[assignment]
    body["To"] = _header("To", message.recipient_name, _addr_spec(message.recipient))  # type: ignore[assignment]
    body["Subject"] = _header("Subject", message.subject)  # type: ignore[assignment]
    body["Date"] = formatdate(localtime=True)
    body["Message-ID"] = message_id(message.key, smtp.sender)
    if message.thread:
        earlier = [message_id(key, smtp.sender) for key in message.thread]
        body["In-Reply-To"] = earlier[-1]
        body["References"] = " ".join(earlier)
    body["Auto-Submitted"] = "auto-generated"
    body["X-Nhacviec-Key"] = message.key
    for name, value in mime_headers:
        body[name] = value
    return body


def _text(content: str, subtype: str) -> MIMEText:
    if not content.endswith("\n"):
        content += "\n"
    # MIMEText passes a `Charset` on to `set_payload`, which takes one (typeshed: `str` only).
    return MIMEText(content, subtype, UTF8_QP, policy=POLICY)  # type: ignore[arg-type]


def _attachment(attachment: Attachment) -> MIMEBase:
    maintype, subtype, params = _content_type(attachment.content_type)
    part = MIMEBase(maintype, subtype, policy=POLICY, **params)
    part.set_payload(attachment.data)
    encoders.encode_base64(part)
    part.add_header("Content-Disposition", "attachment", filename=attachment.filename)
    return part


def _header(name: str, text: str, addr_spec: str | None = None) -> str | Header:
    """Subject, or From/To with a display name, where the text may be Vietnamese.

    Python 3.11's folder for the newer email API drops the space at a fold between two
    encoded words (CPython gh-92081: "thực hiện" arrives as "thựchiện"); the classic
    `email.header.Header` keeps the spaces inside the encoded words.
    """
    if text.isascii():
        return formataddr((text, addr_spec)) if addr_spec else text
    header = Header(text, "utf-8", header_name=name)
    if addr_spec:
        header.append(f"<{addr_spec}>", "us-ascii")
    return header


def _addr_spec(address: str) -> str:
    try:
        return Address(addr_spec=address).addr_spec
    except (ValueError, IndexError, HeaderParseError) as exc:
        raise NotifierError(f"địa chỉ thư không hợp lệ: {address!r} ({exc})", permanent=True) from None


def _content_type(value: str) -> tuple[str, str, dict[str, str]]:
    """Split e.g. "text/calendar; method=PUBLISH" into ("text", "calendar", {"method": "PUBLISH"})."""
    holder = MimeMessage(policy=POLICY)
    holder["Content-Type"] = value
    params = dict(holder.get_params([], header="Content-Type")[1:])
    return holder.get_content_maintype(), holder.get_content_subtype(), params


class EmailNotifier(Notifier):
    channel: ClassVar[str] = "email"
    renders: ClassVar[tuple[str, ...]] = ("subject.txt", "email.txt", "email.html")
    concurrency: ClassVar[int] = 10

    def __init__(self, smtp: SmtpSettings, *, tls_context: ssl.SSLContext | None = None) -> None:
        self.smtp = smtp
        self.tls_context = tls_context
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []  # connections kept between sends
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_setup(cls, setup: Setup) -> EmailNotifier:
        if setup.settings.smtp is None:
            raise NotConfigured("đặt NHACVIEC_SMTP_HOST (và các biến NHACVIEC_SMTP_*) để gửi e-mail")
        return cls(setup.settings.smtp)

    async def send(self, message: Message) -> Delivery:
        email = build_email(message, self.smtp)
        try:
            response = await self._deliver(email, message.recipient)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refusals = "; ".join(f"{r.code} {r.message} ({r.recipient})" for r in exc.recipients)
            permanent = all(_is_permanent(r.code) for r in exc.recipients)
            raise self._error(f"SMTP từ chối người nhận: {refusals}", permanent) from exc
        except aiosmtplib.SMTPResponseException as exc:
            # Also SMTPSenderRefused, SMTPDataError, SMTPAuthenticationError, SMTPHeloError and
            # SMTPConnectResponseError (a refusing greeting): the reply code decides.
            raise self._error(
                f"SMTP {exc.code} ({type(exc).__name__}): {exc.message}", _is_permanent(exc.code)
            ) from exc
        except OSError as exc:
            # SMTPConnectError, SMTPServerDisconnected and SMTPTimeoutError are OSErrors, like refused
            # connections and TLS handshake or certificate failures.
            if reason := connection_failure(exc):  # a wrong host or port: the operator's to fix
                raise NotifierError(
                    f"lỗi kết nối SMTP {self.smtp.host}:{self.smtp.port} ({type(exc).__name__}): {reason}; "
                    "kiểm tra NHACVIEC_SMTP_HOST và NHACVIEC_SMTP_PORT",
                    permanent=False,
                    alert=True,
                ) from exc
            raise self._error(
                f"lỗi kết nối SMTP {self.smtp.host}:{self.smtp.port} ({type(exc).__name__}): {exc}", False
            ) from exc
        except aiosmtplib.SMTPException as exc:
            # No reply code: the server lacks something we need (STARTTLS, AUTH, SMTPUTF8).
            raise self._error(
                f"máy chủ SMTP không hỗ trợ cấu hình này ({type(exc).__name__}): {exc}", True
            ) from exc
        except ValueError as exc:
            # aiosmtplib refuses addresses it cannot send safely before talking to the server.
            raise self._error(f"địa chỉ thư không gửi được: {exc}", True) from exc
        return Delivery(provider_id=email["Message-ID"], detail=response)

    async def _deliver(self, email: MimeMessage, recipient: str) -> str:
        """Send on a kept connection (opening one when none is fresh); keep it if all went well.

        Reusing connections doubles the rate a server takes mail at. A connection idle for
        longer than IDLE_SECONDS is closed rather than reused: servers drop idle clients, and
        a send that fails on a dropped connection could not tell whether the mail was taken.
        """
        client = await self._client()
        try:
            _, response = await client.send_message(email, sender=self.smtp.sender, recipients=[recipient])
        except BaseException:
            client.close()
            raise
        self._idle.append((client, time.monotonic()))
        return response

    async def _client(self) -> aiosmtplib.SMTP:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # connections belong to the loop that opened them
            for client, _ in self._idle:
                with contextlib.suppress(Exception):  # that loop may be closed already
                    client.close()
            self._idle, self._loop = [], loop
        while self._idle:
            client, since = self._idle.pop()
            if client.is_connected and time.monotonic() - since < IDLE_SECONDS:
                return client
            client.close()
        smtp = self.smtp
        client = aiosmtplib.SMTP(
            hostname=smtp.host,
            port=smtp.port,
            timeout=smtp.timeout,
            use_tls=smtp.security == "tls",
            # False, not None: None would try STARTTLS whenever the server offers it.
            start_tls=smtp.security == "starttls",
            tls_context=self.tls_context,
        )
        await client.connect()
        try:
            if smtp.username:
                await client.login(smtp.username, smtp.password)
        except BaseException:
            client.close()
            raise
        return client

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for client, _ in idle:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await client.quit()

    def _error(self, text: str, permanent: bool) -> NotifierError:
        if self.smtp.password:
            text = text.replace(self.smtp.password, "***")
        return NotifierError(text, permanent=permanent)


def _is_permanent(code: int) -> bool:
    """5xx is permanent; 4xx (421, 450, 451, 452, …) and unparsable replies (code -1) are retried."""
    return 500 <= code <= 599
