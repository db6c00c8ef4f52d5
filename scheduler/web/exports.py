"""The board's downloads: "Bảng theo dõi tình hình báo cáo" as .xlsx or .csv (scheduler/reports/).

- `/ke-hoach/<plan>/han/<item>/<period>/bang-theo-doi.xlsx|.csv`: one deadline (the "Tải Excel",
  "Tải CSV" buttons of the deadline page);
- `/ke-hoach/<plan>/bang-theo-doi.xlsx|.csv?nam=<year>`: the plan's year (default: the plan's
  own year; the buttons of the plan page).

Whoever may see the page may download its table, and no one else: the same check as the page
(`Board.plan_access`: a signed-in user who `may_see` the plan, or the digest's read-only link
`?xem=`). The file is built off the event loop (a national year takes seconds) and sent as an
attachment with an ASCII file name and its Vietnamese form (RFC 6266 `filename*`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from scheduler.accounts.users import User
from scheduler.reports import tracking
from scheduler.reports.csvfile import csv_bytes
from scheduler.reports.xlsx import xlsx_bytes
from scheduler.web.board import Board
from scheduler.web.common import page

FILE = "bang-theo-doi"
FORMATS: dict[str, tuple[str, Callable[[tracking.Report], bytes]]] = {
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", xlsx_bytes),
    "csv": ("text/csv; charset=utf-8", csv_bytes),
}


def disposition(report: tracking.Report, extension: str) -> str:
    """attachment; filename="<ascii>"; filename*=UTF-8''<Vietnamese name, percent-encoded>."""
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "-", report.filename_stem) + f".{extension}"
    scope = str(report.year) if report.year is not None else report.deadlines[0].name
    wide = f"Bảng theo dõi tình hình báo cáo - {report.plan_id} - {scope}.{extension}".replace("/", "-")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(wide, safe='')}"


class Exports:
    """The download routes, on the board's access rules and clock."""

    def __init__(self, board: Board) -> None:
        self.board = board

    def routes(self) -> list[Route]:
        return [
            Route(
                f"/ke-hoach/{{plan}}/han/{{item}}/{{period}}/{FILE}.{{fmt}}", self.deadline, methods=["GET"]
            ),
            Route(f"/ke-hoach/{{plan}}/{FILE}.{{fmt}}", self.year, methods=["GET"]),
        ]

    async def deadline(self, request: Request) -> Response:
        access = self.board.plan_access(request)
        if isinstance(access, Response):
            return access
        plan, viewer, deployment = access
        fmt = request.path_params["fmt"]
        if fmt not in FORMATS:
            return self.board.not_found("định dạng tệp", viewer.user, viewer.csrf)
        item_id, period = request.path_params["item"], request.path_params["period"]
        board = self.board

        def build() -> tracking.Report:
            return tracking.deadline_report(
                board.engine, deployment, plan, item_id, period, board.today(), board.tz, board.due_soon_days
            )

        return await self.send(build, fmt, viewer.user, viewer.csrf)

    async def year(self, request: Request) -> Response:
        access = self.board.plan_access(request)
        if isinstance(access, Response):
            return access
        plan, viewer, deployment = access
        fmt = request.path_params["fmt"]
        if fmt not in FORMATS:
            return self.board.not_found("định dạng tệp", viewer.user, viewer.csrf)
        given = request.query_params.get("nam", "").strip()
        if given and not (given.isdigit() and len(given) == 4):
            return page(
                "Năm không hợp lệ",
                400,
                "bad",
                text="Năm cần có bốn chữ số, ví dụ nam=2026.",
                user=viewer.user,
                csrf=viewer.csrf,
                home=viewer.user is not None,
            )
        year = int(given) if given else plan.year
        board = self.board

        def build() -> tracking.Report:
            return tracking.year_report(
                board.engine, deployment, plan, year, board.today(), board.tz, board.due_soon_days
            )

        return await self.send(build, fmt, viewer.user, viewer.csrf)

    async def send(
        self, build: Callable[[], tracking.Report], fmt: str, user: User | None, csrf: str
    ) -> Response:
        media_type, render = FORMATS[fmt]

        def made() -> tuple[tracking.Report, bytes]:
            report = build()
            return report, render(report)

        try:
            report, data = await run_in_threadpool(made)
        except tracking.ReportNotFound:
            return self.board.not_found("hạn báo cáo", user, csrf)
        return Response(
            data,
            media_type=media_type,
            headers={
                "content-disposition": disposition(report, fmt),
                "cache-control": "private, no-store",
            },
        )
