"""The web app with accounts, for the tests of sign-in, sessions and scoping."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.testclient import TestClient

from scheduler.config.loader import load_config
from scheduler.outbox.metrics import Metrics
from scheduler.web.app import create_app
from scheduler.web.auth import AuthSettings
from tests.support.dispatch_kit import links
from tests.support.settings import make_settings

SECRET = "khoa-kiem-thu-du-dai-32-byte-tro-len"
PASSWORD = "mat-khau-du-dai-1"


def web_app(tmp_path: Path, config_dir: Path, engine: Engine, **env: str) -> Starlette:
    """The daemon's HTTP app on `engine`, with the sessions and SSO that `env` configures."""
    settings = make_settings(
        tmp_path,
        config_dir,
        engine.url.render_as_string(hide_password=False),
        NHACVIEC_SECRET_KEY=SECRET,
        **env,
    )
    deployment = load_config(config_dir)
    return create_app(
        engine,
        lambda: deployment,
        links(settings),
        Metrics(lambda: 0),
        lambda: True,
        settings.timezone,
        auth_settings=AuthSettings.of(settings, SECRET),
        settings=settings,
    )


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found[1]


def sign_in(client: TestClient, login: str, password: str = PASSWORD, **extra: str) -> Any:
    """GET the sign-in page (for its token), then POST the form; the final response."""
    form = client.get("/dang-nhap")
    return client.post(
        "/dang-nhap", data={"csrf": csrf_of(form.text), "login": login, "password": password, **extra}
    )
