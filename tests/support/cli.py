"""The environment of `nhacviec` commands run in-process (typer's CliRunner) by the tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from scheduler.cli import common as cli_common
from tests.support.accounts import SECRET


def cli_env(
    monkeypatch: pytest.MonkeyPatch, database_url: str, config_dir: Path, width: int
) -> dict[str, str]:
    """The variables that point a command at this store and configuration, with the tests' SECRET.
    The consoles are made once, at import: COLUMNS set later does not reach them, so their width is
    set here too (`width` wide enough for the longest line a test reads)."""
    monkeypatch.setattr(cli_common.out, "width", width)
    monkeypatch.setattr(cli_common.err, "width", width)
    return {
        "NHACVIEC_DATABASE_URL": database_url,
        "NHACVIEC_CONFIG_DIR": str(config_dir),
        "NHACVIEC_SECRET_KEY": SECRET,
        "COLUMNS": str(width),
    }
