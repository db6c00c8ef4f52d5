"""The board's pages (scheduler/web/board.py) on a synced sample, SQLite and PostgreSQL: a plan's
deadlines with their progress, a deadline's agencies with their status, confirmation, report and
reminders, an agency's deadlines and history, the deliveries page and its retries; who may see
what (URL guessing included), the digest's read-only link, CSRF."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import event, select, update
from starlette.testclient import TestClient

from scheduler.config.loader import load_config
from scheduler.dispatch.digest import digest_context
from scheduler.outbox import actions
from scheduler.outbox.acks import ReportReference, acknowledge
from scheduler.outbox.store import Occurrence, Reminder, Status
from scheduler.render.links import Links
from scheduler.render.templates import Templates
from tests.support.accounts import csrf_of, sign_in, web_app
from tests.support.board import A_LUOI, HUE, PHU_XUAN, THUAN_HOA, add_users, one_sent_one_dead, synced_sample
from tests.support.dispatch_kit import SECRET as LINK_SECRET
from tests.support.settings import make_settings

LAM_THAO = "lam-thao-2024-bdg"
YEARLY = f"/ke-hoach/{HUE}/han/bao-cao-nam/2026"
NOW = datetime(2026, 12, 14, 2, 0, tzinfo=UTC)  # Monday 14/12/2026, 09:00 in Vietnam


@pytest.fixture
def board(tmp_path, config_dir, engine):
    """The sample synced as of 1/12/2026, two reports confirmed (one late), one reminder sent and
    one dead; the web app on it, on 14/12/2026."""
    settings, _ = synced_sample(tmp_path, config_dir, engine)
    tz = settings.timezone
    acknowledge(
        engine,
        PHU_XUAN,
        "Nguyễn Thị Hoa",
        datetime(2026, 12, 9, 9, 0, tzinfo=tz),
        ReportReference("125/BC-UBND", date(2026, 12, 8)),
    )
    acknowledge(engine, THUAN_HOA, "Trần Văn Minh", datetime(2026, 12, 11, 9, 0, tzinfo=tz))
    ids = one_sent_one_dead(engine)
    add_users(engine)
    with time_machine.travel(NOW, tick=False), TestClient(web_app(tmp_path, config_dir, engine)) as client:
        yield client, engine, ids


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_plan_page_lists_the_next_deadlines_first_with_their_progress(board):
    client, _, _ = board
    sign_in(client, "snv")
    answer = client.get(f"/ke-hoach/{HUE}")
    assert answer.status_code == 200
    text = text_of(answer.text)
    upcoming, past = text.split("Hạn sắp tới")[1].split("Hạn đã qua")
    assert "Hạn 15/12/2026" in upcoming and "0/1 đã báo cáo" in upcoming and "Sắp đến hạn: 1" in upcoming
    assert "Hạn 10/12/2026" in past and "2/16 đã báo cáo" in past
    assert "Quá hạn: 14" in past and "Đã báo cáo muộn: 1" in past and "Đã báo cáo đúng hạn: 1" in past
    assert f'href="{YEARLY}"' in answer.text
    # Another period: only the deadlines in it.
    narrow = text_of(client.get(f"/ke-hoach/{HUE}?tu=2026-12-12&den=20/12/2026").text)
    assert "Hạn 15/12/2026" in narrow and "Hạn 10/12/2026" not in narrow
    assert 'value="12/12/2026"' in client.get(f"/ke-hoach/{HUE}?tu=2026-12-12").text
    wrong = client.get(f"/ke-hoach/{HUE}?tu=31/02/2026")
    assert wrong.status_code == 200 and "Ngày không hợp lệ: 31/02/2026" in wrong.text
    assert 'value="14/11/2026"' in wrong.text  # the default: 30 days back


def test_the_deadline_page_shows_each_agency_with_its_confirmation_report_and_reminders(board):
    client, _, _ = board
    sign_in(client, "snv")
    answer = client.get(YEARLY)
    assert answer.status_code == 200
    text = text_of(answer.text)
    assert "2/16 đã báo cáo" in text and "16 đơn vị" in text
    assert "Nguyễn Thị Hoa" in text and "125/BC-UBND" in text and "ngày 08/12/2026" in text
    assert "09:00 11/12/2026" in text and "Trần Văn Minh" in text
    # A Lưới 1: the dead reminder is the last one, with why; the next one waits.
    row = next(r for r in answer.text.split("<tr>") if "A Lưới 1" in r)
    assert "không gửi được" in row and "550 hộp thư không tồn tại" in row and "Quá hạn" in row
    upcoming = re.search(r'data-label="Lần nhắc tới">(.*?)</td>', row)
    assert upcoming and re.search(r"\d\d:\d\d \d\d/\d\d/2026 · E-mail", upcoming[1])
    # The overdue first.
    assert text.index("Quá hạn") < text.index("Đã báo cáo muộn") < text.index("Đã báo cáo đúng hạn")
    # Filter by status; search without accents.
    late = text_of(client.get(YEARLY, params={"trang-thai": "late"}).text)
    assert "1 / 16 đơn vị khớp bộ lọc" in late and "Trần Văn Minh" in late and "125/BC-UBND" not in late
    found = client.get(YEARLY, params={"q": "a luoi"}).text
    assert "A Lưới 1" in found and "Phú Xuân" not in found
    assert "A Lưới 1" in client.get(YEARLY, params={"q": "A LƯỚI"}).text
    assert "Không có đơn vị nào khớp" in client.get(YEARLY, params={"q": "không có"}).text
    assert client.get(f"/ke-hoach/{HUE}/han/bao-cao-nam/1999").status_code == 404


def test_the_deadline_page_reads_its_rows_in_a_few_queries(board):
    client, engine, _ = board
    sign_in(client, "snv")
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    assert client.get(YEARLY).status_code == 200
    assert len(statements) <= 4  # the user, the occurrences, their reminders


def test_the_agency_page_lists_its_deadlines_and_history(board):
    client, _, _ = board
    sign_in(client, "snv")
    answer = client.get("/don-vi/hue-xa-a-luoi-1")
    assert answer.status_code == 200
    text = text_of(answer.text)
    assert "UBND xã A Lưới 1" in text and "Quá hạn" in text and f'href="{YEARLY}"' in answer.text
    assert "không gửi được : 550 hộp thư không tồn tại" in text and "đã gửi" in text
    confirmed = text_of(client.get("/don-vi/hue-phuong-phu-xuan").text)
    assert "Xác nhận đã gửi báo cáo (số 125/BC-UBND, ngày 08/12/2026), bởi Nguyễn Thị Hoa" in confirmed
    assert client.get("/don-vi/khong-co-don-vi").status_code == 404
    assert "Không tìm thấy đơn vị" in client.get("/don-vi/khong-co-don-vi").text


def test_every_page_needs_a_user_who_may_see_it(board):
    client, _, _ = board
    for path in (f"/ke-hoach/{HUE}", YEARLY, "/don-vi/hue-xa-a-luoi-1", "/gui-tin"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/dang-nhap?tiep=")
    sign_in(client, "ltp")  # focal agency of Lâm Thao: not Huế's plan, by URL guessing neither
    assert client.get(f"/ke-hoach/{LAM_THAO}").status_code == 200
    for path in (f"/ke-hoach/{HUE}", YEARLY, "/don-vi/hue-xa-a-luoi-1", "/gui-tin"):
        answer = client.get(path)
        assert answer.status_code == 403 and "Không có quyền truy cập" in answer.text, path
        assert "A Lưới" not in answer.text
    missing = client.get("/ke-hoach/khong-co")
    assert missing.status_code == 404 and "Không tìm thấy kế hoạch" in missing.text


def test_a_viewer_sees_every_plan_but_not_the_deliveries(board):
    client, _, _ = board
    sign_in(client, "xem")
    assert client.get(YEARLY).status_code == 200
    assert client.get(f"/ke-hoach/{LAM_THAO}").status_code == 200
    assert client.get("/gui-tin").status_code == 403


def test_the_digest_link_opens_its_plan_read_only_and_nothing_else(board, tmp_path, config_dir):
    client, engine, _ = board
    links = Links(LINK_SECRET, "http://testserver", 60)
    url = links.board_url(HUE)
    token = url.split("xem=")[1]
    answer = client.get(url.removeprefix("http://testserver"))
    assert answer.status_code == 200 and "2/16 đã báo cáo" in text_of(answer.text)
    assert "chỉ xem, không cần tài khoản" in answer.text and "Đăng xuất" not in answer.text
    assert f"{YEARLY}?xem={token}" in answer.text
    deadline = client.get(YEARLY, params={"xem": token})
    assert deadline.status_code == 200 and "A Lưới 1" in deadline.text and "/don-vi/" not in deadline.text
    # Another plan, another page, a forged or expired token: refused.
    assert client.get(f"/ke-hoach/{LAM_THAO}", params={"xem": token}).status_code == 403
    assert (
        client.get("/don-vi/hue-xa-a-luoi-1", params={"xem": token}, follow_redirects=False).status_code
        == 303
    )
    assert client.get("/gui-tin", params={"xem": token}, follow_redirects=False).status_code == 303
    forged = client.get(f"/ke-hoach/{HUE}", params={"xem": token[:-2] + "xx"})
    assert forged.status_code == 403 and "Liên kết xem không hợp lệ" in forged.text
    confirm_token = links.token(A_LUOI)  # a confirmation link's token is not a board token
    assert client.get(f"/ke-hoach/{HUE}", params={"xem": confirm_token}).status_code == 403
    with time_machine.travel(NOW + timedelta(days=15), tick=False):
        expired = client.get(f"/ke-hoach/{HUE}", params={"xem": token})
    assert expired.status_code == 410 and "Liên kết xem đã hết hạn" in expired.text
    # The digest carries the link.
    settings = make_settings(tmp_path, config_dir, engine.url.render_as_string(hide_password=False))
    deployment = load_config(config_dir, settings, today=date(2026, 12, 14))
    context = digest_context(engine, deployment, HUE, date(2026, 12, 14), settings.timezone, board_url=url)
    rendered = Templates(None).render("digest", context)
    assert url in rendered.text and f'href="{url}"' in rendered.html


def test_the_deliveries_page_lists_dead_letters_and_retries_them_with_csrf(board):
    client, engine, ids = board
    sign_in(client, "quantri")
    page = client.get("/gui-tin")
    assert page.status_code == 200
    text = text_of(page.text)
    assert "Không gửi được (1)" in text and "550 hộp thư không tồn tại" in text and "UBND xã A Lưới 1" in text
    # Without the token: refused, nothing changes.
    refused = client.post("/gui-tin/thu-lai", data={"id": str(ids[1])})
    assert refused.status_code == 403 and "Biểu mẫu không hợp lệ" in refused.text

    def status() -> str:
        with engine.connect() as conn:
            return conn.execute(
                select(Reminder.__table__.c.status).where(Reminder.__table__.c.id == ids[1])
            ).scalar_one()

    assert status() == Status.DEAD
    done = client.post("/gui-tin/thu-lai", data={"id": str(ids[1]), "csrf": csrf_of(page.text)})
    assert done.status_code == 200 and "Đã đưa 1 nhắc việc trở lại hàng đợi" in done.text
    assert status() == Status.PENDING
    with engine.begin() as conn:
        conn.execute(
            update(Reminder.__table__).where(Reminder.__table__.c.id == ids[1]).values(status=Status.DEAD)
        )
    again = client.post("/gui-tin/thu-lai", data={"id": "tat-ca", "csrf": csrf_of(done.text)})
    assert "Đã đưa 1 nhắc việc" in again.text and status() == Status.PENDING


def test_only_operators_retry(board):
    client, engine, ids = board
    sign_in(client, "snv")
    page = client.get(f"/ke-hoach/{HUE}")
    answer = client.post("/gui-tin/thu-lai", data={"id": "tat-ca", "csrf": csrf_of(page.text)})
    assert answer.status_code == 403
    with engine.connect() as conn:
        assert (
            conn.execute(
                select(Reminder.__table__.c.status).where(Reminder.__table__.c.id == ids[1])
            ).scalar_one()
            == Status.DEAD
        )


def test_occurrences_are_untouched_by_reading(board):
    client, engine, _ = board
    sign_in(client, "quantri")
    with engine.connect() as conn:
        before = conn.execute(select(Occurrence.__table__)).all()
    for path in (f"/ke-hoach/{HUE}", YEARLY, "/don-vi/hue-xa-a-luoi-1", "/gui-tin"):
        assert client.get(path).status_code == 200
    with engine.connect() as conn:
        assert conn.execute(select(Occurrence.__table__)).all() == before


def test_the_deadline_page_shows_waivers_and_extensions(board, config_dir, tmp_path):
    """The focal agency's actions (scheduler/outbox/actions.py) reach the page's statuses."""
    client, engine, _ = board
    settings = make_settings(tmp_path, config_dir, engine.url.render_as_string(hide_password=False))
    deployment = load_config(config_dir, settings, today=date(2026, 12, 14))
    actions.waive(engine, A_LUOI, "Nguyễn Thị Hoa", "xã mới thành lập, chưa có số liệu")
    vy_da = f"{HUE}/bao-cao-nam/2026/hue-phuong-vy-da"
    actions.extend(engine, deployment, settings, vy_da, "Nguyễn Thị Hoa", date(2026, 12, 18), "xin lùi hạn")
    sign_in(client, "snv")
    rows = client.get(YEARLY).text.split("<tr>")
    assert "Được miễn" in next(r for r in rows if "A Lưới 1" in r)
    assert "Gia hạn đến 18/12/2026" in next(r for r in rows if "Vỹ Dạ" in r)
