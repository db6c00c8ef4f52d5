"""A channel is added by installing a distribution: the demonstration `fax` plug-in.

tests/plugin_demo holds a fake installed distribution (nhacviec_fax-0.1.dist-info with
its entry_points.txt) and its module; importlib.metadata finds it once the directory
is on sys.path (in this process) or PYTHONPATH (in the daemon's).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from notifiers.base import Message, NotConfigured, Notifier, Setup
from notifiers.registry import channel_names, notifier_class, refresh
from scheduler.config.loader import load_config
from scheduler.config.settings import SettingsError, load_settings
from scheduler.config.yamlfile import ConfigInvalid
from scheduler.outbox.store import Reminder, Status, open_store
from tests.support.smtp_sink import free_port

PLUGIN_DIR = Path(__file__).resolve().parent / "plugin_demo"
BUILT_IN = ("console", "email", "eoffice", "sms", "webhook", "zalo")
TTH_AGENCIES = "agencies/thua-thien-hue.yaml"
FOCAL_CHANNELS = "channels: [email, zalo]}"
FAX_NUMBER = "+84 24 3826 4567"


@pytest.fixture
def fax_installed() -> Iterator[None]:
    """The demonstration distribution on sys.path for this test only."""
    sys.path.insert(0, str(PLUGIN_DIR))
    refresh()
    try:
        yield
    finally:
        sys.path.remove(str(PLUGIN_DIR))
        sys.modules.pop("nhacviec_fax", None)
        refresh()


def edit(config_dir: Path, file: str, old: str, new: str) -> None:
    path = config_dir / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture drifted: {old!r} not in {file}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# --- discovery and configuration ---------------------------------------------------------


def test_the_plugin_is_listed_next_to_the_built_in_channels(fax_installed):
    assert channel_names() == tuple(sorted((*BUILT_IN, "fax")))
    cls = notifier_class("fax")
    assert issubclass(cls, Notifier)
    assert (cls.channel, cls.address, cls.secrets) == ("fax", "fax", ("FAX_OUTBOX",))


def test_without_the_distribution_there_is_no_fax_channel():
    assert channel_names() == BUILT_IN
    with pytest.raises(KeyError):
        notifier_class("fax")


def test_a_channel_not_installed_is_refused_at_load_time_naming_the_installed_ones(config_dir):
    edit(config_dir, TTH_AGENCIES, FOCAL_CHANNELS, "channels: [email, telex]}")
    with pytest.raises(ConfigInvalid) as caught:
        load_config(config_dir)
    [error] = caught.value.errors
    assert error.file == str(config_dir / TTH_AGENCIES)
    assert error.field == "agencies[1].contacts[0].channels[1]"
    assert "kênh 'telex' không có; các kênh đã cài: console, email, eoffice, sms, webhook, zalo" in str(error)


def test_the_installed_plugin_is_named_among_the_choices(config_dir, fax_installed):
    edit(config_dir, TTH_AGENCIES, FOCAL_CHANNELS, "channels: [email, telex]}")
    with pytest.raises(
        ConfigInvalid, match="các kênh đã cài: console, email, eoffice, fax, sms, webhook, zalo"
    ):
        load_config(config_dir)


def test_a_contact_is_reached_by_fax_through_its_addresses(config_dir, fax_installed):
    edit(
        config_dir,
        TTH_AGENCIES,
        FOCAL_CHANNELS,
        f'channels: [email, fax], addresses: {{fax: "{FAX_NUMBER}"}}}}',
    )
    deployment = load_config(config_dir)
    focal = deployment.contacts["tth-so-ldtbxh"][0]
    assert focal.channels == ("email", "fax")
    assert focal.address("fax") == FAX_NUMBER


def test_a_fax_contact_without_a_fax_number_is_refused(config_dir, fax_installed):
    edit(config_dir, TTH_AGENCIES, FOCAL_CHANNELS, "channels: [email, fax]}")
    with pytest.raises(ConfigInvalid, match=r"kênh 'fax' cần addresses\.fax của đầu mối"):
        load_config(config_dir)


def test_the_plugins_variables_are_accepted_only_when_it_is_installed(tmp_path, fax_installed):
    outbox = str(tmp_path / "fax.jsonl")
    assert load_settings(env={"NHACVIEC_FAX_OUTBOX": outbox}, dotenv=False).channel_env == {
        "FAX_OUTBOX": outbox
    }
    sys.path.remove(str(PLUGIN_DIR))
    refresh()
    try:
        with pytest.raises(SettingsError, match="NHACVIEC_FAX_OUTBOX"):
            load_settings(env={"NHACVIEC_FAX_OUTBOX": outbox}, dotenv=False)
    finally:
        sys.path.insert(0, str(PLUGIN_DIR))  # the fixture removes it


def test_the_fax_notifier_needs_its_outbox_and_writes_to_it(tmp_path, fax_installed):
    cls = notifier_class("fax")
    with pytest.raises(NotConfigured, match="NHACVIEC_FAX_OUTBOX"):
        cls.from_setup(Setup(options=cls.Options(), secrets={}, settings=None))
    outbox = tmp_path / "fax.jsonl"
    fax = cls.from_setup(Setup(options=cls.Options(), secrets={"FAX_OUTBOX": str(outbox)}, settings=None))
    message = Message(
        key="k1",
        channel="fax",
        recipient=FAX_NUMBER,
        recipient_name="Văn phòng Sở",
        subject="Nhắc hạn",
        text="Kính gửi",
    )
    delivery = asyncio.run(fax.send(message))
    assert delivery.provider_id == "fax-k1"
    assert [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()] == [
        {
            "key": "k1",
            "to": FAX_NUMBER,
            "recipient_name": "Văn phòng Sở",
            "subject": "Nhắc hạn",
            "text": "Kính gửi",
        }
    ]


# --- end to end: the daemon sends through the plug-in ----------------------------------------


def write_fax_config(root: Path) -> Path:
    """One agency reached only by fax, one obligation due today at 00:00: due at start."""
    day = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    config = root / "config"
    (config / "agencies").mkdir(parents=True)
    (config / "plans").mkdir()
    (config / "agencies" / "so.yaml").write_text(
        "agencies:\n"
        "  - {id: so-ldtbxh, name: Sở Lao động - Thương binh và Xã hội,\n"
        # The loader wants an e-mail, mobile or Zalo number on every contact; only fax is used.
        f"     contacts: [{{name: Văn phòng Sở, email: vanphong@ldtbxh.example.org, channels: [fax],\n"
        f'                  addresses: {{fax: "{FAX_NUMBER}"}}}}]}}\n',
        encoding="utf-8",
    )
    (config / "policies.yaml").write_text(
        "default: ngay\npolicies:\n  - id: ngay\n    send_time: '00:00'\n    non_working_day: keep\n"
        "    deadline:\n      - {offset: 0d}\n",
        encoding="utf-8",
    )
    (config / "plans" / "fax.yaml").write_text(
        f"id: fax\nnumber: 15/KH-SLĐTBXH\ntitle: Kế hoạch thử kênh fax năm {day.year}\n"
        f"issuer: UBND tỉnh\nyear: {day.year}\nfocal_agency: so-ldtbxh\nobligations:\n"
        f"  - {{id: bao-cao-fax, title: Báo cáo kết quả thử kênh fax, on: '{day:%d/%m/%Y}', who: [so-ldtbxh]}}\n",
        encoding="utf-8",
    )
    return config


def daemon_env(root: Path, outbox: Path) -> dict[str, str]:
    python_path = os.pathsep.join(p for p in (str(PLUGIN_DIR), os.environ.get("PYTHONPATH", "")) if p)
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith("NHACVIEC_")},
        "PYTHONPATH": python_path,
        "NHACVIEC_DATABASE_URL": f"sqlite:///{root / 'nhacviec.db'}",
        "NHACVIEC_CONFIG_DIR": str(root / "config"),
        "NHACVIEC_DELIVERY": "live",
        "NHACVIEC_QUIET_HOURS": "00:00-00:00",
        "NHACVIEC_HTTP_PORT": str(free_port()),
        "NHACVIEC_SECRET_KEY": "khoa-kiem-thu-du-dai-32-byte-tro-len",
        "NHACVIEC_FAX_OUTBOX": str(outbox),
    }


@pytest.fixture
def fax_daemon(tmp_path: Path) -> Iterator[tuple[subprocess.Popen, Path, Path]]:
    """`python -m scheduler run` with the plug-in on PYTHONPATH; always stopped."""
    write_fax_config(tmp_path)
    outbox = tmp_path / "fax-outbox.jsonl"
    log = tmp_path / "daemon.log"
    with log.open("ab") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "scheduler", "run"],
            cwd=tmp_path,
            env=daemon_env(tmp_path, outbox),
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        yield process, outbox, log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def wait_for(
    condition: Callable[[], bool], timeout: float, what: str, process: subprocess.Popen, log: Path
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None or time.monotonic() > deadline:
            tail = log.read_text(encoding="utf-8", errors="replace")[-3000:]
            raise AssertionError(f"no {what} (daemon exit code {process.poll()})\n{tail}")
        time.sleep(0.05)


def faxes(outbox: Path) -> list[dict]:
    if not outbox.exists():
        return []
    return [
        json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines() if line.endswith("}")
    ]


def reminder_status(root: Path) -> dict[str, str]:
    engine = open_store(f"sqlite:///{root / 'nhacviec.db'}")
    try:
        with engine.connect() as conn:
            return dict(conn.execute(select(Reminder.key, Reminder.status)).all())
    finally:
        engine.dispose()


def test_the_daemon_delivers_a_reminder_through_the_plugin(fax_daemon):
    process, outbox, log = fax_daemon
    wait_for(lambda: bool(faxes(outbox)), 60, "fax in the outbox", process, log)
    wait_for(
        lambda: Status.SENT in reminder_status(outbox.parent).values(),
        30,
        "reminder recorded as sent",
        process,
        log,
    )
    [fax] = faxes(outbox)
    assert fax["to"] == FAX_NUMBER
    assert fax["recipient_name"] == "Văn phòng Sở"
    assert "Báo cáo kết quả thử kênh fax" in fax["subject"] + fax["text"]
    assert reminder_status(outbox.parent) == {fax["key"]: Status.SENT}
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0, log.read_text(encoding="utf-8", errors="replace")[-3000:]
