"""Issue 13, the service's edges: the link-signing key, short links, the HTTP surface, the
start (port first, the first sync retried), the digest on working days, reloads off the loop."""

from __future__ import annotations

import json
import multiprocessing
import stat
from datetime import date

import pytest
from sqlalchemy import delete, func, select, update
from starlette.testclient import TestClient

from scheduler.links import Links, secret_key
from scheduler.loader import load_config
from scheduler.metrics import Metrics
from scheduler.settings import SettingsError, load_settings
from scheduler.store import Occurrence, Reminder, open_store
from scheduler.sync import sync
from scheduler.web import create_app
from tests.conftest import make_settings
from tests.dispatch_kit import links
from tests.test_daemon_process import Daemon, write_config

KEY = "khoa-kiem-thu-du-dai-32-byte-tro-len"
OCCURRENCE = "tth-2020-bdg/bao-cao-nam/2026/tth-ubnd-h-a-luoi"
OTHER = "tth-2020-bdg/bao-cao-nam/2026/tth-ubnd-h-nam-dong"


def log_entries(daemon: Daemon) -> list[dict]:
    """Every line of the daemon's stderr, each of which must be one JSON object."""
    return [
        json.loads(line) for line in (daemon.root / "daemon.log").read_text(encoding="utf-8").splitlines()
    ]


# --- 1. the link-signing key ----------------------------------------------------------------


def _key_in_a_process(database_url: str, barrier, queue) -> None:
    settings = load_settings(env={"NHACVIEC_DATABASE_URL": database_url})
    barrier.wait()
    try:
        queue.put(secret_key(settings))
    except Exception as exc:  # reported to the test, which fails with it
        queue.put(f"{type(exc).__name__}: {exc}")


def test_four_processes_starting_together_always_share_one_key(tmp_path, monkeypatch):
    context = multiprocessing.get_context("fork")
    for round_ in range(50):
        root = tmp_path / f"r{round_}"
        root.mkdir()
        monkeypatch.chdir(root)  # where the key used to go: the outcome must not depend on it
        barrier, queue = context.Barrier(4), context.Queue()
        url = f"sqlite:///{root / 'var' / 'nhacviec.db'}"
        processes = [context.Process(target=_key_in_a_process, args=(url, barrier, queue)) for _ in range(4)]
        for process in processes:
            process.start()
        keys = [queue.get(timeout=60) for _ in processes]
        for process in processes:
            process.join(timeout=60)
        assert len(set(keys)) == 1 and len(keys[0]) >= 32, f"round {round_}: {keys}"
        assert (root / "var" / "secret.key").read_text(encoding="ascii").strip() == keys[0]
        assert [p.name for p in (root / "var").iterdir()] == ["secret.key"]  # no temporary file left


def test_the_key_file_lives_beside_the_database_whatever_the_working_directory(tmp_path, monkeypatch):
    data, elsewhere = tmp_path / "data", tmp_path / "elsewhere"
    elsewhere.mkdir()
    settings = load_settings(env={"NHACVIEC_DATABASE_URL": f"sqlite:///{data / 'nhacviec.db'}"})
    monkeypatch.chdir(elsewhere)
    first = secret_key(settings)
    monkeypatch.chdir(tmp_path)
    assert secret_key(settings) == first == (data / "secret.key").read_text(encoding="ascii").strip()
    assert list(elsewhere.iterdir()) == []
    assert stat.S_IMODE((data / "secret.key").stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700


@pytest.mark.parametrize("content", ["", "\n", "ngan", "x" * 31])
def test_an_empty_or_short_key_file_is_refused_and_kept(tmp_path, content):
    key_file = tmp_path / "secret.key"
    key_file.write_text(content, encoding="ascii")
    settings = load_settings(env={"NHACVIEC_DATABASE_URL": f"sqlite:///{tmp_path / 'nhacviec.db'}"})
    with pytest.raises(SettingsError) as error:
        secret_key(settings)
    assert str(key_file) in str(error.value)
    assert "cần ít nhất 32" in str(error.value) and "Xóa tệp này" in str(error.value)
    assert key_file.read_text(encoding="ascii") == content  # the operator decides


def test_a_short_key_in_the_environment_is_refused_without_showing_it(tmp_path):
    short_file = tmp_path / "key"
    short_file.write_text("khoa-ngan-trong-tep\n", encoding="utf-8")
    for env in ({"NHACVIEC_SECRET_KEY": "khoa-ngan"}, {"NHACVIEC_SECRET_KEY_FILE": str(short_file)}):
        with pytest.raises(SettingsError, match="NHACVIEC_SECRET_KEY") as error:
            load_settings(env=env)
        assert "khoa-ngan" not in str(error.value) and "32 byte" in str(error.value)
    assert load_settings(env={"NHACVIEC_SECRET_KEY": KEY}).secret_key == KEY
    with pytest.raises(ValueError):
        Links("", "http://127.0.0.1:8080", 60)


def test_postgresql_without_a_shared_key_refuses_to_start(tmp_path, smtp_sink):
    write_config(tmp_path, agencies=2)
    daemon = Daemon(tmp_path, smtp_sink)
    del daemon.env["NHACVIEC_SECRET_KEY"]
    daemon.env["NHACVIEC_DATABASE_URL"] = "postgresql+psycopg://nhacviec@127.0.0.1:1/nhacviec"
    try:
        assert daemon.start().wait(timeout=60) == 1
    finally:
        daemon.stop()
    [entry] = log_entries(daemon)
    assert entry["level"] == "error" and "NHACVIEC_SECRET_KEY" in entry["msg"]
    assert "mọi bản sao" in entry["msg"]


# --- 5. short links ---------------------------------------------------------------------------


@pytest.fixture
def site(tmp_path, config_dir, database_url):
    settings = make_settings(tmp_path, config_dir, database_url)
    engine = open_store(settings.database_url)
    deployment = load_config(config_dir)
    sync(engine, deployment, settings, date(2026, 11, 20))
    signer = links(settings)
    app = create_app(engine, lambda: deployment, signer, Metrics(lambda: 0), lambda: True, settings.timezone)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, engine, signer
    engine.dispose()


def state(engine) -> tuple[list, list]:
    with engine.connect() as conn:
        occurrences = conn.execute(select(Occurrence.__table__).order_by(Occurrence.key)).all()
        reminders = conn.execute(select(Reminder.__table__).order_by(Reminder.key)).all()
    return occurrences, reminders


def first_reminder(engine, occurrence_key: str) -> int:
    with engine.connect() as conn:
        return conn.execute(
            select(func.min(Reminder.id)).where(Reminder.occurrence_key == occurrence_key)
        ).scalar_one()


def test_non_ascii_and_oversized_short_codes_get_the_invalid_link_page(site):
    client, engine, _ = site
    before = state(engine)
    for code in ("2.g3b.%C3%A9", "2.g3b.é", "%C3%A9", "2.g3b." + "é" * 12, "zzzzzzzzzzzzz.g3b.AAAAAAAAAAAA"):
        for method in (client.get, client.post):
            response = method(f"/x/{code}")
            assert response.status_code == 400, (code, response.text[:200])
            assert "Liên kết không hợp lệ" in response.text
    assert state(engine) == before


def test_a_short_link_cannot_confirm_another_agency_once_its_row_id_is_reused(site):
    client, engine, signer = site
    mine, theirs = first_reminder(engine, OCCURRENCE), first_reminder(engine, OTHER)
    code = signer.short_url(mine, OCCURRENCE).rsplit("/", 1)[1]
    assert client.get(f"/x/{code}").status_code == 200
    # A restore from an older backup: the row is gone and its id is handed out again, to
    # a reminder of another agency.
    with engine.begin() as conn:
        conn.execute(delete(Reminder).where(Reminder.id == mine))
        conn.execute(update(Reminder).where(Reminder.id == theirs).values(id=mine))
    before = state(engine)
    for method in (client.get, client.post):
        response = method(f"/x/{code}")
        assert response.status_code == 400 and "Liên kết không hợp lệ" in response.text
    assert state(engine) == before
    reissued = signer.short_url(mine, OTHER).rsplit("/", 1)[1]  # what that row's own reminder carries
    assert "UBND huyện Nam Đông" in client.get(f"/x/{reissued}").text
