"""Accounts of the web pages: argon2id hashes, sign-in and its throttling, disabled users,
idle sessions, CSRF, role scoping at `/`, the SSO header only from trusted proxies, the CLI."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
import time_machine
from argon2 import PasswordHasher
from sqlalchemy import select, update
from starlette.testclient import TestClient
from typer.testing import CliRunner

from scheduler.accounts.scoping import may_act, may_operate, may_see, visible_plans
from scheduler.accounts.throttle import Throttle
from scheduler.accounts.users import (
    HASHER,
    Role,
    SignIn,
    UserError,
    add_user,
    authenticate,
    find_user,
    list_users,
    set_disabled,
    set_password,
)
from scheduler.cli.app import app as cli
from scheduler.config.loader import load_config
from scheduler.outbox.store import AppUser
from scheduler.web.auth import local_next
from tests.support.accounts import PASSWORD, csrf_of, sign_in, web_app
from tests.support.cli import cli_env

HUE = "hue-2026-bdg"  # focal agency hue-so-noi-vu
LAM_THAO = "lam-thao-2024-bdg"  # focal agency lt-phong-ldtbxh
NOW = datetime(2026, 5, 4, 2, 0, tzinfo=UTC)


def users(engine):
    add_user(engine, "quantri", "Quản trị viên", Role.ADMIN, PASSWORD)
    add_user(engine, "snv", "Nguyễn Thị Hoa", Role.FOCAL, PASSWORD, agency_id="hue-so-noi-vu")
    add_user(engine, "xem", "Trần Văn Xem", Role.VIEWER, PASSWORD)


@pytest.fixture
def site(tmp_path, config_dir, engine):
    users(engine)
    with TestClient(web_app(tmp_path, config_dir, engine)) as client:
        yield client, engine


# --- hashing ---


def test_passwords_are_stored_as_argon2id_and_verified(engine):
    user = add_user(engine, "Snv", "Nguyễn Thị Hoa", Role.FOCAL, PASSWORD, agency_id="hue-so-noi-vu")
    assert user.login == "snv"
    with engine.connect() as conn:
        stored = conn.execute(select(AppUser.__table__.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    assert authenticate(engine, "SNV", PASSWORD)[0] is SignIn.OK
    assert authenticate(engine, "snv", PASSWORD + "x") == (SignIn.WRONG, None)
    assert authenticate(engine, "khong-co", PASSWORD) == (SignIn.WRONG, None)
    assert find_user(engine, "snv").last_sign_in_at is not None


def test_a_hash_of_older_parameters_is_replaced_at_the_next_sign_in(engine):
    add_user(engine, "snv", "Hoa", Role.VIEWER, PASSWORD)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    table = AppUser.__table__
    with engine.begin() as conn:
        conn.execute(update(table).values(password_hash=weak))
    assert HASHER.check_needs_rehash(weak)
    assert authenticate(engine, "snv", PASSWORD)[0] is SignIn.OK
    with engine.connect() as conn:
        stored = conn.execute(select(table.c.password_hash)).scalar_one()
    assert stored != weak and not HASHER.check_needs_rehash(stored)
    assert authenticate(engine, "snv", PASSWORD)[0] is SignIn.OK


def test_bad_users_are_refused(engine):
    with pytest.raises(UserError, match="quá ngắn"):
        add_user(engine, "a1", "A", Role.ADMIN, "ngan")
    with pytest.raises(UserError, match="cần mã đơn vị"):
        add_user(engine, "f1", "F", Role.FOCAL, PASSWORD)
    with pytest.raises(UserError, match="không có đơn vị"):
        add_user(engine, "f1", "F", Role.FOCAL, PASSWORD, "khong-co", known_agencies={"hue-so-noi-vu"})
    add_user(engine, "a1", "A", Role.ADMIN, PASSWORD)
    with pytest.raises(UserError, match="đã có"):
        add_user(engine, "A1", "A", Role.ADMIN, PASSWORD)


def test_a_disabled_user_cannot_sign_in_and_an_open_session_ends(site):
    client, engine = site
    assert sign_in(client, "snv").url.path == "/"
    assert client.get("/", follow_redirects=False).status_code == 200
    set_disabled(engine, "snv")
    assert authenticate(engine, "snv", PASSWORD)[0] is SignIn.DISABLED
    assert client.get("/", follow_redirects=False).headers["location"].startswith("/dang-nhap")
    refused = sign_in(client, "snv")
    assert refused.status_code == 403 and "Tài khoản đã bị khóa" in refused.text
    set_disabled(engine, "snv", False)
    assert sign_in(client, "snv").status_code == 200


def test_a_new_password_ends_the_open_sessions(site):
    client, engine = site
    sign_in(client, "snv")
    set_password(engine, "snv", "mat-khau-moi-du-dai")
    assert client.get("/", follow_redirects=False).status_code == 303
    assert sign_in(client, "snv", "mat-khau-moi-du-dai").url.path == "/"


# --- sign-in, throttling, CSRF, cookies ---


def test_a_wrong_password_shows_the_form_again_in_vietnamese(site):
    client, _ = site
    answer = sign_in(client, "snv", "sai-mat-khau-roi")
    assert answer.status_code == 401
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in answer.text
    assert 'value="snv"' in answer.text and "sai-mat-khau-roi" not in answer.text
    assert client.get("/", follow_redirects=False).status_code == 303  # not signed in


def test_sign_in_is_throttled_per_account_then_heard_again(site):
    client, _ = site
    with time_machine.travel(NOW, tick=False) as clock:
        for _ in range(5):
            assert sign_in(client, "snv", "sai-mat-khau-roi").status_code == 401
        refused = sign_in(client, "snv")  # even the right password
        assert refused.status_code == 429
        assert "Tạm ngừng đăng nhập" in refused.text and "tài khoản này" in refused.text
        assert 0 < int(refused.headers["retry-after"]) <= 15 * 60
        assert sign_in(client, "quantri").url.path == "/"  # another account from the same address
        clock.shift(timedelta(minutes=15, seconds=1))
        assert sign_in(client, "snv").url.path == "/"


def test_sign_in_is_throttled_per_address():
    throttle = Throttle(account_limit=5, address_limit=20)
    for n in range(20):
        assert throttle.refused(f"u{n}", "203.0.113.7") is None
        throttle.failed(f"u{n}", "203.0.113.7")
    refusal = throttle.refused("someone-else", "203.0.113.7")
    assert refusal and not refusal.by_account
    assert throttle.refused("someone-else", "203.0.113.8") is None


def test_the_throttle_keeps_bounded_memory():
    throttle = Throttle(max_keys=100)
    for n in range(10_000):
        throttle.failed(f"u{n}", f"10.0.{n // 256}.{n % 256}")
    assert len(throttle.accounts) == 100 and len(throttle.addresses) == 100
    for _ in range(50):
        throttle.failed("u1", "10.9.9.9")
    assert len(throttle.accounts._failures["u1"]) == 5


def test_a_post_without_the_csrf_token_is_refused(site):
    client, _ = site
    client.get("/dang-nhap")
    refused = client.post("/dang-nhap", data={"login": "snv", "password": PASSWORD})
    assert refused.status_code == 403 and "Biểu mẫu không hợp lệ" in refused.text
    forged = client.post("/dang-nhap", data={"csrf": "x" * 32, "login": "snv", "password": PASSWORD})
    assert forged.status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 303
    sign_in(client, "snv")
    assert client.post("/dang-xuat", data={}).status_code == 403
    assert client.get("/", follow_redirects=False).status_code == 200  # still signed in
    token = csrf_of(client.get("/").text)
    out = client.post("/dang-xuat", data={"csrf": token})
    assert out.status_code == 200 and "Bạn đã đăng xuất." in out.text
    assert client.get("/", follow_redirects=False).status_code == 303


def test_signing_in_issues_a_new_csrf_token(site):
    client, _ = site
    before = csrf_of(client.get("/dang-nhap").text)
    sign_in(client, "snv")
    assert csrf_of(client.get("/").text) != before


def test_the_cookie_is_signed_httponly_lax_and_secure_behind_https(tmp_path, config_dir, engine):
    users(engine)
    with TestClient(web_app(tmp_path, config_dir, engine)) as client:
        cookie = client.get("/dang-nhap").headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
        client.cookies.set("nhacviec_session", "eyJ1IjoxfQ.gia-mao")  # forged: {"u": 1}
        assert client.get("/", follow_redirects=False).status_code == 303
    app = web_app(tmp_path, config_dir, engine, NHACVIEC_PUBLIC_URL="https://nhacviec.example.gov.vn")
    with TestClient(app, base_url="https://testserver") as client:
        assert "Secure" in client.get("/dang-nhap").headers["set-cookie"]


def test_sign_in_goes_back_to_a_local_page_only(site):
    client, _ = site
    first = client.get("/", follow_redirects=False)
    assert first.headers["location"] == "/dang-nhap?tiep=%2F"
    assert sign_in(client, "snv", tiep="https://evil.example/").url.path == "/"
    client.cookies.clear()
    assert sign_in(client, "snv", tiep="//evil.example/").url.path == "/"


# --- idle expiry ---


def test_an_idle_session_expires_and_activity_keeps_it(site):
    client, _ = site
    with time_machine.travel(NOW, tick=False) as clock:
        sign_in(client, "snv")
        for _ in range(3):  # 3 × 50 minutes, each time active
            clock.shift(timedelta(minutes=50))
            assert client.get("/", follow_redirects=False).status_code == 200
        clock.shift(timedelta(minutes=61))
        gone = client.get("/", follow_redirects=False)
        assert gone.status_code == 303
        page = client.get(gone.headers["location"])
        assert "Phiên làm việc đã hết hạn" in page.text


def test_the_idle_time_is_a_setting(tmp_path, config_dir, engine):
    users(engine)
    app = web_app(tmp_path, config_dir, engine, NHACVIEC_SESSION_IDLE_MINUTES="5")
    with time_machine.travel(NOW, tick=False) as clock, TestClient(app) as client:
        sign_in(client, "snv")
        clock.shift(timedelta(minutes=6))
        assert client.get("/", follow_redirects=False).status_code == 303


# --- scoping ---


def plans():
    return [SimpleNamespace(id="a", focal_agency="so-a"), SimpleNamespace(id="b", focal_agency="so-b")]


def test_the_scoping_helpers(engine):
    admin = add_user(engine, "qt", "QT", Role.ADMIN, PASSWORD)
    focal = add_user(engine, "fa", "FA", Role.FOCAL, PASSWORD, agency_id="so-a")
    viewer = add_user(engine, "xem", "X", Role.VIEWER, PASSWORD)
    a, b = plans()
    assert [p.id for p in visible_plans(admin, plans())] == ["a", "b"]
    assert [p.id for p in visible_plans(focal, plans())] == ["a"]
    assert [p.id for p in visible_plans(viewer, plans())] == ["a", "b"]
    assert may_see(focal, a) and not may_see(focal, b) and not may_act(focal, b)
    assert may_act(focal, a) and may_act(admin, b)
    assert may_see(viewer, b) and not may_act(viewer, a) and not may_act(viewer, b)
    assert not may_see(None, a) and not may_act(None, a)
    assert may_operate(admin) and not may_operate(focal) and not may_operate(viewer)
    disabled = set_disabled(engine, "qt")
    assert not may_see(disabled, a) and not may_act(disabled, a) and not may_operate(disabled)


def test_the_home_page_lists_only_the_plans_a_user_may_see(site, config_dir):
    client, _ = site
    assert client.get("/", follow_redirects=False).status_code == 303  # not signed in
    sign_in(client, "snv")
    home = client.get("/")
    assert home.status_code == 200 and "Các kế hoạch" in home.text
    assert f'href="/ke-hoach/{HUE}"' in home.text
    assert f"/ke-hoach/{LAM_THAO}" not in home.text and "Lâm Thao" not in home.text
    assert "Nguyễn Thị Hoa" in home.text and "Sở Nội vụ" in home.text
    assert "Năm 2026" in home.text

    client.cookies.clear()
    sign_in(client, "xem")
    everything = client.get("/").text
    deployment = load_config(config_dir)
    assert all(f'href="/ke-hoach/{plan.id}"' in everything for plan in deployment.plans)
    assert "chỉ xem" in everything and "không được thao tác" in everything


def test_a_focal_user_of_no_plan_is_told_so(site, engine):
    client, _ = site
    add_user(engine, "ytb", "Y", Role.FOCAL, PASSWORD, agency_id="hue-phuong-phu-xuan")
    sign_in(client, "ytb")
    home = client.get("/")
    assert "hiện chưa có kế hoạch nào" in home.text and "/ke-hoach/" not in home.text


# --- single sign-on through a trusted proxy ---


def sso_app(tmp_path, config_dir, engine):
    return web_app(
        tmp_path,
        config_dir,
        engine,
        NHACVIEC_TRUSTED_USER_HEADER="X-Remote-User",
        NHACVIEC_TRUSTED_PROXIES="10.0.0.1, 192.168.5.0/24",
    )


def test_the_user_header_is_honoured_only_from_a_trusted_proxy(tmp_path, config_dir, engine):
    users(engine)
    app = sso_app(tmp_path, config_dir, engine)
    header = {"X-Remote-User": "snv"}
    with TestClient(app, client=("10.0.0.9", 4000)) as stranger:
        assert stranger.get("/", headers=header, follow_redirects=False).status_code == 303
    with TestClient(app, client=("10.0.0.1", 4000)) as proxy:
        home = proxy.get("/", headers=header, follow_redirects=False)
        assert home.status_code == 200 and f"/ke-hoach/{HUE}" in home.text
        assert proxy.get("/", headers={"X-Remote-User": "quantri"}).text.count("/ke-hoach/") == 4
        unknown = proxy.get("/", headers={"X-Remote-User": "nguoi-la"})
        assert unknown.status_code == 403 and "nguoi-la" in unknown.text
        set_disabled(engine, "snv")
        assert proxy.get("/", headers=header).status_code == 403
        assert proxy.get("/", follow_redirects=False).status_code == 303  # no header: not signed in
    with TestClient(app, client=("192.168.5.20", 4000)) as other_proxy:
        assert "/ke-hoach/" in other_proxy.get("/", headers={"X-Remote-User": "xem"}).text


def test_throttling_behind_the_proxy_counts_the_forwarded_address(tmp_path, config_dir, engine):
    users(engine)
    app = sso_app(tmp_path, config_dir, engine)
    with TestClient(app, client=("10.0.0.1", 4000)) as proxy:
        forwarded = {"X-Forwarded-For": "203.0.113.7, 10.0.0.1"}
        for _ in range(5):
            proxy.headers.update(forwarded)
            sign_in(proxy, "snv", "sai-mat-khau-roi")
        throttle = app.state.auth.throttle
        assert throttle.addresses._failures.keys() == {"203.0.113.7"}
    with TestClient(app, client=("10.0.0.9", 4000)) as stranger:
        stranger.headers.update({"X-Forwarded-For": "198.51.100.1"})
        sign_in(stranger, "quantri", "sai-mat-khau-roi")
        assert "10.0.0.9" in throttle.addresses._failures  # a stranger's header is not believed


def test_the_sso_header_needs_trusted_proxies(tmp_path, config_dir):
    from scheduler.config.settings import SettingsError
    from tests.support.settings import make_settings

    with pytest.raises(SettingsError, match="NHACVIEC_TRUSTED_PROXIES"):
        make_settings(tmp_path, config_dir, NHACVIEC_TRUSTED_USER_HEADER="X-Remote-User")
    with pytest.raises(SettingsError, match="không phải địa chỉ IP"):
        make_settings(tmp_path, config_dir, NHACVIEC_TRUSTED_PROXIES="proxy.local")


# --- the command line ---


def test_the_user_commands(tmp_path, config_dir, engine, monkeypatch):
    runner = CliRunner()
    env = cli_env(monkeypatch, engine.url.render_as_string(hide_password=False), config_dir, 160)
    monkeypatch.chdir(tmp_path)

    def run(*args, stdin=None):
        return runner.invoke(cli, list(args), env=env, input=stdin)

    added = run("user", "add", "snv", "--name", "Nguyễn Thị Hoa", "--role", "focal",
                "--agency", "hue-so-noi-vu", "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "Đã thêm người dùng snv" in added.output and PASSWORD not in added.output
    prompted = run("user", "add", "quantri", "--name", "Quản trị", "--role", "admin",
                   stdin=f"{PASSWORD}\n{PASSWORD}\n")  # fmt: skip
    assert prompted.exit_code == 0, prompted.output
    assert "Nhập lại mật khẩu" in prompted.output and PASSWORD not in prompted.output
    wrong = run("user", "add", "x1", "--name", "X", "--role", "focal", "--agency", "khong-co",
                "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    assert wrong.exit_code == 1 and "không có đơn vị 'khong-co'" in wrong.output
    short = run("user", "add", "x2", "--name", "X", "--role", "viewer", "--password-stdin", stdin="ngan\n")
    assert short.exit_code == 1 and "mật khẩu quá ngắn" in short.output

    listed = run("user", "list")
    assert listed.exit_code == 0
    assert "snv" in listed.output and "cơ quan đầu mối" in listed.output and "hoạt động" in listed.output
    assert "$argon2" not in listed.output

    assert run("user", "disable", "snv").exit_code == 0
    assert "đã khóa" in run("user", "list").output
    assert find_user(engine, "snv").disabled
    assert run("user", "disable", "khong-co").exit_code == 1

    changed = run("user", "passwd", "quantri", "--password-stdin", stdin="mat-khau-moi-du-dai\n")
    assert changed.exit_code == 0 and "Đã đổi mật khẩu của quantri" in changed.output
    assert authenticate(engine, "quantri", "mat-khau-moi-du-dai")[0] is SignIn.OK
    assert [u.login for u in list_users(engine)] == ["quantri", "snv"]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/ke-hoach/hue-2026-bdg?tu=01/12/2026", "/ke-hoach/hue-2026-bdg?tu=01/12/2026"),
        ("//evil.example/x", "/"),
        ("/\t/evil.example", "/"),
        ("/\n/evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_after_signing_in_only_a_path_of_this_site_is_followed(target, expected):
    assert local_next(target) == expected
