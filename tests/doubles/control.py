"""The control endpoints every double serves next to its provider's API (see serve.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def control_routes(
    received: Callable[[], list[dict[str, Any]]],
    reset: Callable[[], None],
    script: Callable[[dict[str, Any]], None],
) -> list[Route]:
    """`GET /_double/requests`, `POST /_double/reset`, `POST /_double/script` over the double's state."""

    async def get_requests(request: Request) -> JSONResponse:
        return JSONResponse(received())

    async def do_reset(request: Request) -> JSONResponse:
        reset()
        return JSONResponse({"ok": True})

    async def do_script(request: Request) -> JSONResponse:
        script(await request.json())
        return JSONResponse({"ok": True})

    return [
        Route("/_double/requests", get_requests, methods=["GET"]),
        Route("/_double/reset", do_reset, methods=["POST"]),
        Route("/_double/script", do_script, methods=["POST"]),
    ]


class Recorder:
    """A double's recorded requests and its scripted answer: `POST /_double/script` sets it, and a
    `times` key in it counts down the requests that get it before answers are normal again."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.script: dict[str, Any] = {}

    def next_answer(self) -> dict[str, Any]:
        """The scripted answer for this request ({} when normal), counting down `times`."""
        script = self.script
        if script and "times" in script:
            script["times"] -= 1
            if script["times"] <= 0:
                self.script = {}
        return script

    def reset(self) -> None:
        self.requests.clear()
        self.script = {}

    def set_script(self, behaviour: dict[str, Any]) -> None:
        self.script = dict(behaviour)

    def routes(self) -> list[Route]:
        """The control routes over this state (see `control_routes`)."""
        return control_routes(lambda: self.requests, self.reset, self.set_script)
