"""What the web's modules share: the page templates, a page response, a bounded form reader."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

PAGES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "pages"), autoescape=select_autoescape(["html"])
)
MAX_FORM_BYTES = (
    4096  # the forms hold a few short fields (a name of 120 characters, a report number of 50, a date)
)
BODY_SECONDS = 10.0  # to send that body


def page(
    heading: str,
    status: int = 200,
    tone: str = "",
    template: str = "message.html",
    headers: dict[str, str] | None = None,
    **values: Any,
) -> HTMLResponse:
    html = PAGES.get_template(template).render(heading=heading, tone=tone, **values)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})})


async def read_form(request: Request, limit: int = MAX_FORM_BYTES) -> dict[str, str] | None:
    """The fields of an urlencoded form, reading at most `limit` bytes of body within
    BODY_SECONDS (TimeoutError); None when the body is larger. Any other kind of body
    gives no fields: the pages send nothing else."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    body = b""
    async with asyncio.timeout(BODY_SECONDS):
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                return None
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        return {}
    try:
        return dict(parse_qsl(body.decode("utf-8", "replace"), max_num_fields=20))
    except ValueError:  # too many fields
        return None
