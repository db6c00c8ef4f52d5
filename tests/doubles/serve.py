"""Run a double (an ASGI app in tests/doubles/) under uvicorn in its own process.

Every double exposes the same control endpoints next to the provider's API:
- `GET /_double/requests`: the API requests it received, oldest first (JSON list);
- `POST /_double/reset`: forget requests and behaviours;
- `POST /_double/script`: set a behaviour (each double documents its own keys).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.support.smtp_sink import free_port

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def serve(app: str, env: dict[str, str] | None = None, timeout: float = 15) -> Iterator[str]:
    """Start `uvicorn app` on a free port; yield its base URL; always stop it."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{app} exited with {process.returncode}")
            try:
                httpx.get(f"{url}/_double/requests", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{app} did not start within {timeout} s") from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def requests(url: str) -> list[dict]:
    return httpx.get(f"{url}/_double/requests").json()


def script(url: str, **behaviour: object) -> None:
    httpx.post(f"{url}/_double/script", json=behaviour).raise_for_status()


def reset(url: str) -> None:
    httpx.post(f"{url}/_double/reset").raise_for_status()
