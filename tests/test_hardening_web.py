"""Issue 13, the service's edges: the link-signing key, short links, the HTTP surface, the
start (port first, the first sync retried), the digest on working days, reloads off the loop."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import signal
import socket
import stat
import subprocess
import sys
import time
from datetime import UTC, date, datetime

import httpx
import psycopg
import pytest
from sqlalchemy import delete, func, select, update
from starlette.testclient import TestClient

from scheduler.config.loader import load_config
from scheduler.config.settings import SettingsError, load_settings
from scheduler.dispatch.digest import enqueue_digests
from scheduler.outbox.metrics import Metrics
from scheduler.outbox.singleton import once
from scheduler.outbox.store import Occurrence, Reminder, Status, make_engine, migrate, open_store
from scheduler.outbox.sync import sync
from scheduler.render.links import Links, secret_key
from scheduler.web.app import HEAD_SECONDS, create_app
from tests.support.configs import one_agency_plan, write_config
from tests.support.daemon import Daemon, Replica, outbox, wait_for
from tests.support.dispatch_kit import links
from tests.support.postgres import POSTGRES_ADMIN_URL
from tests.support.settings import make_settings
from tests.support.smtp_sink import free_port

KEY = "khoa-kiem-thu-du-dai-32-byte-tro-len"
OCCURRENCE = "hue-2026-bdg/bao-cao-nam/2026/hue-xa-a-luoi-1"
OTHER = "hue-2026-bdg/bao-cao-nam/2026/hue-xa-nam-dong"


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
    assert "UBND xã Nam Đông" in client.get(f"/x/{reissued}").text


# --- 6. the HTTP surface ----------------------------------------------------------------------


def assert_hardened(response: httpx.Response) -> None:
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "style-src 'unsafe-inline'" in policy and "script" not in policy
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "server" not in response.headers


def test_every_response_carries_the_security_headers(site):
    client, _, signer = site
    for path in (
        f"/xac-nhan/{signer.token(OCCURRENCE)}",
        "/xac-nhan/gia-mao",
        "/healthz",
        "/khong-co",
        "/metrics",
    ):
        assert_hardened(client.get(path))


def test_a_large_confirmation_body_is_refused_and_confirms_nothing(site):
    client, engine, signer = site
    url = f"/xac-nhan/{signer.token(OCCURRENCE)}"
    before = state(engine)
    declared = client.post(url, data={"by": "x" * 1_000_000})
    chunked = client.post(url, content=(b"by=" + b"x" * 1_000_000 for _ in range(3)))  # no Content-Length
    many_fields = client.post(url, content="&".join(f"f{n}=1" for n in range(300)).encode(),
                              headers={"content-type": "application/x-www-form-urlencoded"})  # fmt: skip
    for response in (declared, chunked, many_fields):
        assert response.status_code == 413 and "quá lớn" in response.text
    assert state(engine) == before
    confirmed = client.post(url, data={"by": "Nguyễn Thị Hoa"})
    assert confirmed.status_code == 200 and "Nguyễn Thị Hoa" in confirmed.text


def test_readyz_names_no_exception_class(config_dir, tmp_path):
    engine = make_engine("postgresql+psycopg://nhacviec@127.0.0.1:1/nhacviec")
    settings = make_settings(tmp_path, config_dir)
    app = create_app(
        engine, lambda: None, links(settings), Metrics(lambda: 0), lambda: True, settings.timezone
    )
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503 and response.text == "database unreachable"


def raw_request(port: int, head: bytes, body: bytes = b"") -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + body)
        return sock.recv(65536)


def test_the_running_service_hides_its_server_caps_bodies_and_serves_metrics_apart(tmp_path, smtp_sink):
    write_config(tmp_path, agencies=3)
    daemon = Daemon(tmp_path, smtp_sink)
    metrics_port = free_port()
    daemon.env["NHACVIEC_METRICS_BIND"] = f"127.0.0.1:{metrics_port}"
    daemon.start()
    try:
        daemon.wait_healthy()
        base = f"http://127.0.0.1:{daemon.port}"
        assert_hardened(httpx.get(f"{base}/healthz"))
        assert httpx.get(f"{base}/metrics").status_code == 404
        metrics = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics")
        assert metrics.status_code == 200 and "nhacviec_outbox_pending" in metrics.text
        assert 'nhacviec_reminders_stuck{reason="lease_expired"}' in metrics.text  # the ledger's gauges
        assert "server" not in metrics.headers

        engine = open_store(daemon.env["NHACVIEC_DATABASE_URL"])
        with engine.connect() as conn:
            occurrence = conn.execute(select(Occurrence.key).limit(1)).scalar_one()
        engine.dispose()
        token = Links(KEY, base, 60).token(occurrence)
        # 150 MB announced, 64 KB sent: the answer comes at once, before the rest.
        head = (
            f"POST /xac-nhan/{token} HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 157286400\r\n\r\n"
        ).encode()
        answer = raw_request(daemon.port, head, b"by=" + b"x" * 65536)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert outbox_confirmed(daemon) == 0
    finally:
        daemon.stop()


def outbox_confirmed(daemon: Daemon) -> int:
    engine = open_store(daemon.env["NHACVIEC_DATABASE_URL"])
    with engine.connect() as conn:
        count = conn.execute(
            select(func.count()).select_from(Occurrence).where(Occurrence.status == "submitted")
        ).scalar_one()
    engine.dispose()
    return count


def test_half_sent_requests_are_cut_off_and_the_service_answers_again(tmp_path, smtp_sink):
    write_config(tmp_path, agencies=3)
    daemon = Daemon(tmp_path, smtp_sink)
    daemon.start()
    held: list[socket.socket] = []
    try:
        daemon.wait_healthy()
        opened = time.monotonic()
        for _ in range(300):
            sock = socket.create_connection(("127.0.0.1", daemon.port), timeout=5)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
            held.append(sock)
        deadline = opened + HEAD_SECONDS + 15
        for sock in held:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ConnectionResetError):  # closed by the server
                assert sock.recv(1024) == b""
        assert time.monotonic() - opened < HEAD_SECONDS + 15
        assert httpx.get(f"http://127.0.0.1:{daemon.port}/healthz", timeout=5).status_code == 200
    finally:
        for sock in held:
            sock.close()
        daemon.stop()


# --- 13, 14. starting: the port first, the first sync retried -----------------------------


@pytest.mark.parametrize("busy", ["http", "metrics"])
def test_a_busy_port_stops_the_daemon_before_it_claims_anything(tmp_path, smtp_sink, busy):
    write_config(tmp_path, agencies=20)
    daemon = Daemon(tmp_path, smtp_sink)
    metrics_port = free_port()
    daemon.env["NHACVIEC_METRICS_BIND"] = f"127.0.0.1:{metrics_port}"
    synced = subprocess.run(
        [sys.executable, "-m", "scheduler", "sync"], cwd=tmp_path, env=daemon.env, capture_output=True
    )
    assert synced.returncode == 0, synced.stderr
    assert outbox(daemon)[0] == {Status.PENDING: 100}  # all due now
    with socket.socket() as other:
        other.bind(("127.0.0.1", daemon.port if busy == "http" else metrics_port))
        other.listen()
        try:
            assert daemon.start().wait(timeout=60) == 1
        finally:
            daemon.stop()
    [entry] = log_entries(daemon)
    variable = "NHACVIEC_HTTP_PORT" if busy == "http" else "NHACVIEC_METRICS_BIND"
    assert entry["level"] == "error" and variable in entry["msg"]
    assert outbox(daemon)[0] == {Status.PENDING: 100}
    assert not (tmp_path / "nhacviec.db.sent").exists() or not (tmp_path / "nhacviec.db.sent").read_bytes()


@pytest.fixture
def upgraded_postgres(empty_postgres: str) -> str:
    engine = make_engine(empty_postgres)
    migrate(engine)
    engine.dispose()
    return empty_postgres


def test_a_replica_whose_connection_is_cut_during_the_start_up_sync_tries_again(
    tmp_path, smtp_sink, upgraded_postgres
):
    agencies = 20
    config = write_config(tmp_path / "shared", agencies)
    replica = Replica(tmp_path / "r0", config, smtp_sink, upgraded_postgres)
    database = upgraded_postgres.rsplit("/", 1)[1]
    engine = make_engine(upgraded_postgres)
    try:
        with once(engine, "sync") as mine, psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            assert mine  # "another replica" syncs: the new one waits for the lock, inside its start-up sync
            replica.start()

            def waiting() -> list[int]:
                return [
                    row[0]
                    for row in admin.execute(
                        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock' "
                        "AND query LIKE 'SELECT pg_advisory_lock(%%'",
                        (database,),
                    )
                ]

            wait_for(lambda: waiting(), 60, "the replica waiting for the sync lock", replica)
            for pid in waiting():  # its connection is cut
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            wait_for(lambda: replica.entries("start-up sync failed: retrying"), 30, "the retry", replica)
        wait_for(
            lambda: outbox_counts(upgraded_postgres) == {Status.SENT: agencies * 5},
            90,
            "every reminder",
            replica,
        )
        assert replica.terminate() == 0, replica.log()
    finally:
        replica.stop()
        engine.dispose()
    entries = log_entries(replica)  # every line JSON: no traceback
    assert not [e for e in entries if e["level"] in ("error", "critical")], replica.log()
    [retry] = replica.entries("start-up sync failed: retrying")
    assert retry["retry_in"] == 1.0 and "SQL" not in retry["error"]


def outbox_counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    with engine.connect() as conn:
        counts = dict(conn.execute(select(Reminder.status, func.count()).group_by(Reminder.status)).all())
    engine.dispose()
    return counts


# --- 15. the digest on working days -----------------------------------------------------------


def test_the_digest_goes_out_on_working_days_only_unless_configured(tmp_path, config_dir, database_url):
    one_agency_plan(config_dir)
    plan = config_dir / "plans" / "hue-2026-bdg.yaml"
    plan.write_text(
        plan.read_text(encoding="utf-8").replace(
            "\nwindows:",
            "  - {id: bao-cao-quy, title: Báo cáo quý I, yearly: 15/2, recurring: true, who: [hue-xa-a-luoi-1]}\n\nwindows:",
        ),
        encoding="utf-8",
    )
    settings = make_settings(tmp_path, config_dir, database_url)
    engine = open_store(settings.database_url)
    deployment = load_config(config_dir)
    sync(engine, deployment, settings, date(2027, 1, 20))

    def digests(day: date, **options) -> int:
        morning = datetime(day.year, day.month, day.day, 7, 30, tzinfo=settings.timezone).astimezone(UTC)
        return enqueue_digests(engine, deployment, morning, settings.timezone, **options)

    days_off = (date(2027, 1, 31), date(2027, 2, 5), date(2027, 2, 8), date(2027, 2, 10))  # Sunday, Tết
    assert [digests(day) for day in days_off] == [0, 0, 0, 0]
    assert digests(date(2027, 2, 11)) == 1  # Thursday after Tết
    assert digests(date(2027, 2, 8), working_days_only=False) == 1
    engine.dispose()
    assert load_settings(env={}).digest_days == "working"
    assert load_settings(env={"NHACVIEC_DIGEST_DAYS": "all"}).digest_days == "all"
    with pytest.raises(SettingsError, match="NHACVIEC_DIGEST_DAYS"):
        load_settings(env={"NHACVIEC_DIGEST_DAYS": "chu-nhat"})


def test_the_metrics_address_setting():
    assert load_settings(env={}).metrics_bind is None
    assert load_settings(env={"NHACVIEC_METRICS_BIND": "127.0.0.1:9100"}).metrics_bind == ("127.0.0.1", 9100)
    assert load_settings(env={"NHACVIEC_METRICS_BIND": "[::1]:9100"}).metrics_bind == ("::1", 9100)
    for bad in ("9100", "127.0.0.1:", "127.0.0.1:70000", "a b:1"):
        with pytest.raises(SettingsError, match="NHACVIEC_METRICS_BIND"):
            load_settings(env={"NHACVIEC_METRICS_BIND": bad})


# --- 2. the configuration is reloaded off the event loop ------------------------------------


def test_a_large_configuration_is_read_while_the_http_server_keeps_answering(tmp_path, smtp_sink):
    config = write_config(tmp_path, agencies=3)
    daemon = Daemon(tmp_path, smtp_sink)
    daemon.start()
    try:
        daemon.wait_healthy()
        # Eighty plan files of a thousand entries each: seconds of parsing, then refused.
        entries = "\n".join(f"  - {{a: muc {n}, b: [1, 2, 3], c: 'x{n}'}}" for n in range(1000))
        for n in range(80):
            (config / "plans" / f"lon-{n:02d}.yaml").write_text(
                f"id: lon-{n}\nghi_chu:\n{entries}\n", "utf-8"
            )
        base = f"http://127.0.0.1:{daemon.port}/healthz"
        latencies: list[float] = []
        signalled = time.monotonic()
        daemon.process.send_signal(signal.SIGHUP)
        with httpx.Client(timeout=30) as client:
            while not [e for e in log_entries(daemon) if e["msg"] == "configuration not reloaded"]:
                assert time.monotonic() - signalled < 120, daemon.log()
                started = time.monotonic()
                assert client.get(base).status_code == 200
                latencies.append(time.monotonic() - started)
        reload_took = time.monotonic() - signalled
    finally:
        daemon.stop()
    assert reload_took > 1.5, f"the configuration was read in {reload_took:.2f} s: make it larger"
    assert max(latencies) < min(1.0, reload_took / 3), (max(latencies), reload_took)
