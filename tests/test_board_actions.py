"""The focal agency's action buttons on the deadline page (scheduler/web/board.py, `Board.act`), on
SQLite and PostgreSQL: each action through the page changes the outbox as the action does
(scheduler/outbox/actions.py), says so and shows in the agency's history; a refused one shows why
and changes nothing; a viewer, a focal user of another plan and the read-only link get no buttons,
and their forged POSTs are refused, as is a POST without the CSRF token."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from scheduler.outbox.acks import ReportReference, acknowledge
from scheduler.outbox.store import Occurrence, OccurrenceAction, OccurrenceStatus, Reminder, Status
from scheduler.render.links import Links
from tests.support.accounts import csrf_of, sign_in, web_app
from tests.support.board import add_users, synced_sample
from tests.support.dispatch_kit import SECRET as LINK_SECRET

HUE = "hue-2026-bdg"
YEARLY = f"/ke-hoach/{HUE}/han/bao-cao-nam/2026"  # due Thursday 10/12/2026
ACT = f"{YEARLY}/thao-tac"
NOW = datetime(2026, 12, 14, 2, 0, tzinfo=UTC)  # Monday 14/12/2026, 09:00 in Vietnam


def key(agency: str) -> str:
    return f"{HUE}/bao-cao-nam/2026/{agency}"


@pytest.fixture
def site(tmp_path: Path, config_dir: Path, engine: Engine) -> Iterator[tuple[TestClient, Engine]]:
    """The sample synced as of 1/12/2026, Phú Xuân's report confirmed; the web app on 14/12/2026
    with an admin, the plan's focal user, a focal user of another plan and a viewer."""
    settings, _ = synced_sample(tmp_path, config_dir, engine)
    acknowledge(
        engine,
        key("hue-phuong-phu-xuan"),
        "Nguyễn Văn Phú",
        datetime(2026, 12, 9, 9, 0, tzinfo=settings.timezone),
        ReportReference("125/BC-UBND", date(2026, 12, 8)),
    )
    add_users(engine, "snv", "ltp", "xem")
    with time_machine.travel(NOW, tick=False), TestClient(web_app(tmp_path, config_dir, engine)) as client:
        yield client, engine


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def row_of(html: str, name: str) -> str:
    return next(r for r in html.split("<tbody>", 1)[1].split("<tr>") if name in r)


def ladder(engine: Engine, agency: str) -> dict[str, Any]:
    """The agency's reminders of the yearly report by rung (one channel: e-mail)."""
    rem = Reminder.__table__
    with engine.connect() as conn:
        rows = conn.execute(select(rem).where(rem.c.occurrence_key == key(agency))).all()
    return {r.rung: r for r in rows}


def occurrence(engine: Engine, agency: str) -> Any:
    occ = Occurrence.__table__
    with engine.connect() as conn:
        return conn.execute(select(occ).where(occ.c.key == key(agency))).one()


def everything(engine: Engine) -> tuple[Any, ...]:
    with engine.connect() as conn:
        return tuple(
            sorted(tuple(map(str, row)) for row in conn.execute(select(table)))
            for table in (Occurrence.__table__, Reminder.__table__, OccurrenceAction.__table__)
        )


def act(client: TestClient, agency: str, action: str, **fields: str) -> Any:
    """Submit the action's form as the deadline page carries it (its CSRF token)."""
    token = csrf_of(client.get(YEARLY).text)
    data = {"csrf": token, "don-vi": agency, "thao-tac": action, **fields}
    return client.post(ACT, data=data, follow_redirects=False)


def test_the_focal_user_sees_the_actions_each_row_allows(site):
    client, _ = site
    sign_in(client, "snv")
    page = client.get(YEARLY).text
    assert "<th>Xử lý</th>" in page
    open_row = row_of(page, "A Lưới 1")
    for action in ("received", "waive", "extend", "send_now"):
        assert f'name="thao-tac" value="{action}"' in open_row
    assert 'value="reopen"' not in open_row
    confirmed = row_of(page, "Phú Xuân")  # confirmed: only reopen
    assert 'value="reopen"' in confirmed and 'value="waive"' not in confirmed
    assert f'action="{ACT}"' in page and 'name="csrf"' in open_row


def test_extend_through_the_page_moves_the_agencys_rungs(site):
    client, engine = site
    sign_in(client, "snv")
    before = ladder(engine, "hue-xa-a-luoi-1")
    other = {rung: r.send_at for rung, r in ladder(engine, "hue-xa-nam-dong").items()}
    answer = act(client, "hue-xa-a-luoi-1", "extend", **{"den-ngay": "2026-12-18", "ly-do": "mất điện"})
    assert answer.status_code == 303
    target = answer.headers["location"]
    assert target.startswith(f"{YEARLY}?da-xu-ly=") and target.endswith("#dv-hue-xa-a-luoi-1")
    page = client.get(target).text
    assert (
        "Đã thực hiện cho UBND xã A Lưới 1: Gia hạn đến 18/12/2026 (Nguyễn Thị Hoa), lý do: mất điện."
        in text_of(page)
    )
    assert "Gia hạn đến 18/12/2026" in row_of(page, "A Lưới 1")
    assert occurrence(engine, "hue-xa-a-luoi-1").extended_to == date(2026, 12, 18)
    after = ladder(engine, "hue-xa-a-luoi-1")
    pending = {rung: r for rung, r in after.items() if r.status == Status.PENDING}
    assert pending and all(r.due_date == date(2026, 12, 18) for r in pending.values())
    # The rung on the new deadline moved from 10/12 to 18/12 at the policy's time (08:00).
    assert before["0d"].send_at.date() == date(2026, 12, 10)
    assert after["0d"].status == Status.PENDING and after["0d"].send_at.date() == date(2026, 12, 18)
    assert {rung: r.send_at for rung, r in ladder(engine, "hue-xa-nam-dong").items()} == other
    # The agency's page tells it, with who and why.
    history = text_of(client.get("/don-vi/hue-xa-a-luoi-1").text)
    assert "Gia hạn đến 18/12/2026, bởi Nguyễn Thị Hoa" in history and "lý do: mất điện" in history


def test_waive_through_the_page_cancels_the_agencys_reminders(site):
    client, engine = site
    sign_in(client, "snv")
    assert any(r.status == Status.PENDING for r in ladder(engine, "hue-xa-nam-dong").values())
    answer = act(client, "hue-xa-nam-dong", "waive", **{"ly-do": "xã mới thành lập"})
    assert answer.status_code == 303
    page = client.get(answer.headers["location"]).text
    assert "Miễn báo cáo (Nguyễn Thị Hoa), lý do: xã mới thành lập" in text_of(page)
    assert "Được miễn" in row_of(page, "Nam Đông")
    assert occurrence(engine, "hue-xa-nam-dong").waived
    rows = ladder(engine, "hue-xa-nam-dong").values()
    assert not any(r.status == Status.PENDING for r in rows)
    assert any(
        r.status == Status.CANCELLED and "được miễn: xã mới thành lập (Nguyễn Thị Hoa)" in r.last_error
        for r in rows
    )
    # Waived: received and reopen remain; reopening resumes the ladder.
    row = row_of(page, "Nam Đông")
    assert 'value="reopen"' in row and 'value="received"' in row and 'value="waive"' not in row
    answer = act(client, "hue-xa-nam-dong", "reopen", **{"ly-do": "miễn nhầm"})
    assert answer.status_code == 303
    assert "Mở lại (bỏ miễn)" in text_of(client.get(answer.headers["location"]).text)
    assert not occurrence(engine, "hue-xa-nam-dong").waived
    assert any(r.status == Status.PENDING for r in ladder(engine, "hue-xa-nam-dong").values())


def test_mark_received_through_the_page_records_the_report(site):
    client, engine = site
    sign_in(client, "snv")
    answer = act(client, "hue-xa-phu-loc", "received", so="  88/BC-UBND ", ngay="11/12/2026")
    assert answer.status_code == 303
    page = client.get(answer.headers["location"]).text
    assert "Ghi nhận đã báo cáo, văn bản số 88/BC-UBND ngày 11/12/2026 (Nguyễn Thị Hoa)" in text_of(page)
    row = occurrence(engine, "hue-xa-phu-loc")
    assert row.status == OccurrenceStatus.SUBMITTED
    assert (row.report_number, row.report_date) == ("88/BC-UBND", date(2026, 12, 11))
    assert row.confirmed_by == "Nguyễn Thị Hoa (ghi nhận thay đơn vị)"
    assert not any(r.status == Status.PENDING for r in ladder(engine, "hue-xa-phu-loc").values())
    assert "Đã báo cáo muộn" in row_of(page, "Phú Lộc")


def test_reopen_through_the_page_resumes_the_ladder(site):
    client, engine = site
    sign_in(client, "snv")
    assert not any(r.status == Status.PENDING for r in ladder(engine, "hue-phuong-phu-xuan").values())
    answer = act(client, "hue-phuong-phu-xuan", "reopen", **{"ly-do": "xác nhận nhầm đơn vị"})
    assert answer.status_code == 303
    page = client.get(answer.headers["location"]).text
    assert "Mở lại (hủy xác nhận) (Nguyễn Thị Hoa), lý do: xác nhận nhầm đơn vị" in text_of(page)
    row = occurrence(engine, "hue-phuong-phu-xuan")
    assert row.status == OccurrenceStatus.OPEN and row.report_number is None and row.confirmed_at is None
    resumed = [r for r in ladder(engine, "hue-phuong-phu-xuan").values() if r.status == Status.PENDING]
    assert resumed and all(r.send_at >= NOW for r in resumed)  # the overdue rungs still ahead
    assert "Quá hạn" in row_of(page, "Phú Xuân")


def test_send_now_through_the_page_queues_a_reminder_due_now(site):
    client, engine = site
    sign_in(client, "snv")
    answer = act(client, "hue-xa-a-luoi-1", "send_now")
    assert answer.status_code == 303
    assert "Gửi nhắc ngay (Nguyễn Thị Hoa). Nhắc việc sẽ được gửi" in text_of(
        client.get(answer.headers["location"]).text
    )
    now = [r for rung, r in ladder(engine, "hue-xa-a-luoi-1").items() if rung.startswith("now-")]
    assert len(now) == 1 and now[0].status == Status.PENDING and now[0].kind == "overdue"
    # Again within the minute: nothing more, and the page says so.
    again = act(client, "hue-xa-a-luoi-1", "send_now")
    assert again.status_code == 200 and "trong phút này; không gửi thêm" in again.text
    assert len([rung for rung in ladder(engine, "hue-xa-a-luoi-1") if rung.startswith("now-")]) == 1


@pytest.mark.parametrize(
    ("action", "fields", "status", "message"),
    [
        ("extend", {"den-ngay": "2026-12-11", "ly-do": "x"}, 409, "Ngày gia hạn 11/12/2026 đã qua"),
        ("extend", {"den-ngay": "", "ly-do": "x"}, 409, "Cần chọn ngày gia hạn"),
        ("waive", {"ly-do": "   "}, 409, "Cần ghi lý do."),
        ("reopen", {"ly-do": "nhầm"}, 409, "không có gì để mở lại"),
        ("received", {"ngay": "31/12/2026"}, 400, "là ngày trong tương lai"),
    ],
)
def test_a_refused_action_says_why_and_changes_nothing(site, action, fields, status, message):
    client, engine = site
    sign_in(client, "snv")
    before = everything(engine)
    answer = act(client, "hue-xa-a-luoi-1", action, **fields)
    assert answer.status_code == status
    text = text_of(answer.text)
    assert "Chưa thực hiện «" in text and "cho UBND xã A Lưới 1" in text and message in text
    assert '<details class="act" open>' in row_of(answer.text, "A Lưới 1")  # the form, open again
    assert everything(engine) == before


def test_a_viewer_sees_no_buttons_and_a_forged_post_is_refused(site):
    client, engine = site
    sign_in(client, "xem")
    page = client.get(YEARLY)
    assert page.status_code == 200 and "A Lưới 1" in page.text
    assert "thao-tac" not in page.text and "Xử lý" not in page.text
    before = everything(engine)
    forged = client.post(
        ACT,
        data={"csrf": csrf_of(page.text), "don-vi": "hue-xa-a-luoi-1", "thao-tac": "waive", "ly-do": "x"},
        follow_redirects=False,
    )
    assert forged.status_code == 403 and "Không có quyền truy cập" in forged.text
    assert "Trần Văn Xem" in forged.text
    assert everything(engine) == before


def test_a_focal_user_of_another_plan_is_refused(site):
    client, engine = site
    sign_in(client, "ltp")
    before = everything(engine)
    token = csrf_of(client.get("/").text)
    forged = client.post(
        ACT,
        data={
            "csrf": token,
            "don-vi": "hue-xa-a-luoi-1",
            "thao-tac": "extend",
            "den-ngay": "2026-12-30",
            "ly-do": "x",
        },
        follow_redirects=False,
    )
    assert forged.status_code == 403 and everything(engine) == before


def test_a_post_without_the_csrf_token_is_refused(site):
    client, engine = site
    sign_in(client, "snv")
    before = everything(engine)
    for token in ({}, {"csrf": "sai"}):
        answer = client.post(
            ACT,
            data={**token, "don-vi": "hue-xa-a-luoi-1", "thao-tac": "waive", "ly-do": "x"},
            follow_redirects=False,
        )
        assert answer.status_code == 403 and "Biểu mẫu không hợp lệ" in answer.text
    assert everything(engine) == before
    # Signed out, with no session at all: refused too.
    client.cookies.clear()
    answer = client.post(ACT, data={"don-vi": "hue-xa-a-luoi-1", "thao-tac": "waive", "ly-do": "x"})
    assert answer.status_code == 403 and everything(engine) == before


def test_the_read_only_link_shows_no_buttons(site):
    client, engine = site
    token = Links(LINK_SECRET, "http://testserver", 60).board_url(HUE).split("xem=")[1]
    page = client.get(YEARLY, params={"xem": token})
    assert page.status_code == 200 and "A Lưới 1" in page.text
    assert "thao-tac" not in page.text and "Xử lý" not in page.text
    before = everything(engine)
    visitor = csrf_of(client.get("/dang-nhap").text)  # a visitor's session token: valid, but no user
    forged = client.post(
        f"{ACT}?xem={token}",
        data={"csrf": visitor, "don-vi": "hue-xa-a-luoi-1", "thao-tac": "waive", "ly-do": "x"},
        follow_redirects=False,
    )
    assert forged.status_code == 403 and everything(engine) == before


def test_an_unknown_agency_or_action_changes_nothing(site):
    client, engine = site
    sign_in(client, "snv")
    before = everything(engine)
    assert act(client, "hue-khong-co", "waive", **{"ly-do": "x"}).status_code == 404
    assert act(client, "hue-xa-a-luoi-1", "xoa", **{"ly-do": "x"}).status_code == 400
    assert everything(engine) == before
