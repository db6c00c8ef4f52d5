"""Routing across channels over the provider doubles of tests/doubles/: the sample TTH plan cut
down to A Lưới, whose focal point is on Zalo with SMS as the fallback (test_channels.py and
test_hardening_providers.py; the fixtures `doubles`, `urls` and `setup` are in conftest.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from notifiers.zalo.tokens import TokenPair, TokenStore
from scheduler.config.loader import load_config
from scheduler.config.settings import Settings
from scheduler.dispatch.dispatcher import Dispatcher
from scheduler.outbox.store import Reminder, open_store
from scheduler.render.messages import MessageBuilder
from scheduler.render.templates import Templates
from scheduler.service.channels import build_notifiers
from tests.doubles.serve import requests, script
from tests.support.configs import one_agency_plan
from tests.support.dispatch_kit import links
from tests.support.settings import make_settings

APP_ID = "1234567890"
ZALO_SECRET = "s3cr3t"
ESMS_PATH = "/MainService.svc/json/SendMultipleMessage_V4_post_json/"
SPEEDSMS_PATH = "/index.php/sms/send"
DAY = date(2026, 12, 10)  # A Lưới's annual report is due: its "due" rung goes out at 08:00

ZALO_TEMPLATE = "{template_id: '%s', data: {don_vi: {field: agency, max: 60}, noi_dung: item, han: deadline}}"


def configure(config_dir: Path, urls: dict[str, str], sms_gateway: str = "esms", sms_extra: str = "") -> None:
    """A Lưới's focal point on Zalo, falling back to SMS; both providers are the doubles.
    Called again (a restart), it only rewrites channels.yaml."""
    if not (config_dir / "channels.yaml").exists():
        one_agency_plan(config_dir)
        agencies = config_dir / "agencies" / "hue.yaml"
        agencies.write_text(
            agencies.read_text(encoding="utf-8").replace(
                'mobile: "0900 000 334"}', 'mobile: "0900 000 334", channels: [zalo]}'
            ),
            encoding="utf-8",
        )
    templates = "\n".join(
        f"        {kind}: " + ZALO_TEMPLATE % (1000 + n)
        for n, kind in enumerate(("upcoming", "due", "overdue", "escalation", "prepare", "start", "closing"))
    )
    sms_url = urls["esms"] + ESMS_PATH if sms_gateway == "esms" else urls["speedsms"] + SPEEDSMS_PATH
    (config_dir / "channels.yaml").write_text(
        f"""channels:
  zalo:
    fallback: [sms]
    options:
      api_url: {urls["zalo"]}
      oauth_url: {urls["zalo"]}
      app_id: "{APP_ID}"
      templates:
{templates}
  sms:
{sms_extra}    options: {{gateway: {sms_gateway}, url: "{sms_url}"}}
""",
        encoding="utf-8",
    )


def channel_dispatcher(
    tmp_path: Path, config_dir: Path, database_url: str, urls: dict[str, str], **kwargs: str
) -> tuple[Settings, Engine, Dispatcher]:
    """`configure(**kwargs)`, then settings with live delivery and the providers' secrets, the
    Zalo token pair stored, and a dispatcher with the daemon's notifiers (Zalo and SMS)."""
    configure(config_dir, urls, **kwargs)
    settings = make_settings(
        tmp_path, config_dir, database_url,
        NHACVIEC_DELIVERY="live", NHACVIEC_QUIET_HOURS="23:00-05:00",
        NHACVIEC_ZALO_APP_SECRET=ZALO_SECRET, NHACVIEC_SMS_ESMS_API_KEY="esms-api-key",
        NHACVIEC_SMS_ESMS_SECRET_KEY="esms-secret-key", NHACVIEC_SMS_SPEEDSMS_TOKEN="speedsms-token",
    )  # fmt: skip
    engine = open_store(settings.database_url)
    script(urls["zalo"], tokens={"access_token": "at-1", "refresh_token": "rt-1"})
    TokenStore(engine, APP_ID, None).store(TokenPair("at-1", "rt-1", 90000))
    deployment = load_config(config_dir)
    builder = MessageBuilder(deployment, Templates(None), links(settings), settings.timezone)
    notifiers = build_notifiers(settings, deployment, engine)
    assert set(notifiers) == {"zalo", "sms"}
    return settings, engine, Dispatcher(engine, builder, notifiers, settings, "test-worker")


def at(settings: Settings, day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=settings.timezone)


def rows(engine: Engine, *channels: str, rung: str = "0d") -> Sequence[Any]:
    """The reminders on `channels` of one rung of the 10/12 deadline (the others are not the point)."""
    table = Reminder.__table__
    with engine.connect() as conn:
        return conn.execute(
            select(table)
            .where(table.c.channel.in_(channels), table.c.due_date == DAY, table.c.rung == rung)
            .order_by(table.c.id)
        ).all()


def api_calls(url: str, path: str) -> list[dict[str, Any]]:
    """The requests a double received on `path`, oldest first."""
    return [r for r in requests(url) if r["path"] == path]
