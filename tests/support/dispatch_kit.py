"""Building a dispatcher in the test process: real templates, real SMTP, a fixed secret."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

from sqlalchemy import Engine

from notifiers.email import EmailNotifier, SmtpSettings
from scheduler.config.deployment import Deployment
from scheduler.config.loader import load_config
from scheduler.config.settings import Settings
from scheduler.dispatch.dispatcher import Dispatcher
from scheduler.outbox.recorder import journal_path
from scheduler.outbox.sync import sync
from scheduler.render.links import Links
from scheduler.render.messages import MessageBuilder
from scheduler.render.templates import Templates
from tests.support.smtp_sink import SmtpSink

SECRET = "khoa-bi-mat-cho-kiem-thu"


def smtp_settings(sink: SmtpSink) -> SmtpSettings:
    return SmtpSettings(
        host="127.0.0.1", port=sink.port, security="none", username="", password="",
        sender="nhacviec@ldtbxh.example.org", sender_name="Nhắc việc báo cáo", timeout=5,
    )  # fmt: skip


def links(settings: Settings) -> Links:
    return Links(SECRET, settings.public_url, settings.link_days)


def make_dispatcher(engine: Engine, config_dir: Path, settings: Settings, sink: SmtpSink) -> Dispatcher:
    deployment = load_config(config_dir)
    builder = MessageBuilder(
        deployment, Templates(config_dir / "templates"), links(settings), settings.timezone
    )
    notifiers = {"email": EmailNotifier(smtp_settings(sink))}
    journal = journal_path(settings.database_url)  # as the daemon: on an SQLite file, sends are journaled
    return Dispatcher(engine, builder, notifiers, settings, "test-worker", journal=journal)


def sync_and_dispatch(engine: Engine, dispatcher: Dispatcher, settings: Settings, today: date) -> int:
    deployment: Deployment = dispatcher.builder.deployment
    sync(engine, deployment, settings, today)
    return run(dispatcher)


def run(dispatcher: Dispatcher) -> int:
    """One dispatch in a fresh event loop, closing the notifiers' connections after it, as the daemon does."""

    async def once() -> int:
        try:
            return await dispatcher.run()
        finally:
            for notifier in set(dispatcher.notifiers.values()):
                await notifier.aclose()

    return asyncio.run(once())
