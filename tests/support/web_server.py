"""The HTTP app alone, for the browser tests: `python -m tests.support.web_server`, configured by
NHACVIEC_DATABASE_URL, NHACVIEC_CONFIG_DIR, NHACVIEC_PUBLIC_URL and NHACVIEC_HTTP_PORT, links
signed with `dispatch_kit.SECRET`. The test has synced the database; this only serves it."""

from __future__ import annotations

import uvicorn

from scheduler.config.loader import load_config
from scheduler.config.settings import load_settings
from scheduler.outbox.metrics import Metrics
from scheduler.outbox.store import open_store
from scheduler.web.app import create_app, server_options
from tests.support.dispatch_kit import links


def main() -> None:
    settings = load_settings(dotenv=False)
    deployment = load_config(settings.config_dir)
    engine = open_store(settings.database_url)
    app = create_app(
        engine,
        lambda: deployment,
        links(settings),
        Metrics(lambda: 0),
        lambda: True,
        settings.timezone,
        settings=settings,
        api_rate_per_minute=1_000_000,  # schemathesis sends hundreds a minute; test_api.py tests the limit
    )
    uvicorn.run(app, host="127.0.0.1", port=settings.http_port, log_level="warning", **server_options())


if __name__ == "__main__":
    main()
