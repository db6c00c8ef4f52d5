"""The repository's paths, the sample configuration, and settings for a test."""

from __future__ import annotations

from pathlib import Path

from scheduler.config.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_CONFIG = ROOT / "config"


def make_settings(tmp_path: Path, config_dir: Path, database_url: str | None = None, **env: str) -> Settings:
    values = {
        "NHACVIEC_DATABASE_URL": database_url or f"sqlite:///{tmp_path / 'nhacviec.db'}",
        "NHACVIEC_CONFIG_DIR": str(config_dir),
        **env,
    }
    return load_settings(env=values)
