"""Calendar feeds (scheduler/feeds/, scheduler/web/feeds.py, scheduler/outbox/feeds.py) on the
synced sample, SQLite and PostgreSQL: the ICS parsed with icalendar and expanded with
recurring_ical_events, RFC 5545's required properties, stable UIDs, the status in the summary
before and after a confirmation, ETag / Last-Modified and 304, revoked and forged tokens, the
alarm; the links on the board and their rotation."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
import recurring_ical_events
import time_machine
from icalendar import Calendar
from sqlalchemy import select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from scheduler.cli.app import app
from scheduler.config.loader import load_config
from scheduler.dispatch.digest import enqueue_digests
from scheduler.feeds.content import status_tag
from scheduler.outbox import feeds
from scheduler.outbox.acks import ReportReference, acknowledge
from scheduler.outbox.feeds import FeedKind
from scheduler.outbox.status import AgencyStatus, Status
from scheduler.outbox.store import Reminder, open_store, utcnow
from scheduler.outbox.sync import sync
from scheduler.render.links import FeedLinks, Links
from tests.support.accounts import SECRET, csrf_of, sign_in, web_app
from tests.support.board import add_users, synced_sample
from tests.support.cli import cli_env
from tests.support.configs import one_agency_plan
from tests.support.dispatch_kit import links, make_dispatcher, run
from tests.support.settings import make_settings

HUE = "hue-2026-bdg"
A_LUOI = "hue-xa-a-luoi-1"
PHU_XUAN = "hue-phuong-phu-xuan"
NOW = datetime(2026, 12, 14, 2, 0, tzinfo=UTC)  # Monday 14/12/2026, 09:00 in Vietnam


@pytest.fixture
def served(tmp_path, config_dir, engine):
    settings, _ = synced_sample(tmp_path, config_dir, engine)
    add_users(engine, "quantri", "xem")
    made = links(settings)
    plan_feed = feeds.get_or_create(engine, FeedKind.PLAN, HUE, "kiểm thử")
    agency_feed = feeds.get_or_create(engine, FeedKind.AGENCY, A_LUOI, "kiểm thử")
    with time_machine.travel(NOW, tick=False), TestClient(web_app(tmp_path, config_dir, engine)) as client:
        yield {
            "client": client,
            "engine": engine,
            "settings": settings,
            "plan": made.feed_url(plan_feed.id, plan_feed.nonce),
            "agency": made.feed_url(agency_feed.id, agency_feed.nonce),
            "links": made,
            "make_app": lambda: web_app(tmp_path, config_dir, engine),
        }


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def parsed(body: bytes) -> Calendar:
    return Calendar.from_ical(body)


def events_of(cal: Calendar) -> list:
    return list(cal.walk("VEVENT"))


def test_the_plan_feed_is_valid_ics_with_each_deadline_window_and_its_progress(served):
    client = served["client"]
    answer = client.get(path_of(served["plan"]))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/calendar; charset=utf-8"
    assert "max-age" in answer.headers["cache-control"]
    cal = parsed(answer.content)
    assert cal["PRODID"] and str(cal["VERSION"]) == "2.0"
    assert (
        b"REFRESH-INTERVAL;VALUE=DURATION:PT6H" in answer.content
        and b"X-PUBLISHED-TTL:PT6H" in answer.content
    )
    changed = parsedate_to_datetime(answer.headers["last-modified"])
    assert changed == NOW  # first served now
    for event in events_of(cal):  # RFC 5545 §3.6.1: UID and DTSTAMP required; DTSTART with METHOD
        assert event["UID"] and event["DTSTART"]
        assert event["DTSTAMP"].dt == changed  # when the body last changed, not a placeholder
        assert type(event["DTSTART"].dt) is date and type(event["DTEND"].dt) is date  # all-day
    year = recurring_ical_events.of(cal).between(date(2026, 1, 1), date(2027, 1, 1))
    summaries = sorted(str(e["SUMMARY"]) for e in year)
    # 25/3 plan, 10/6 and 10/12 reports, 15/12 consolidation, the action month 15/11–15/12.
    assert len(year) == 5, summaries
    yearly = next(s for s in summaries if "Báo cáo kết quả thực hiện 01 năm" in s)
    assert "(0/16 đã báo cáo, 16 quá hạn)" in yearly
    assert any(s.startswith("Đợt: Tháng hành động") for s in summaries)
    described = next(e for e in year if "01 năm" in str(e["SUMMARY"]))
    assert "Tình hình ngày 14/12/2026: 0/16 đã báo cáo, 16 quá hạn" in str(described["DESCRIPTION"])


def test_the_agency_feed_shows_its_status_and_it_changes_after_a_confirmation(served):
    client, engine = served["client"], served["engine"]
    first = client.get(path_of(served["agency"]))
    assert first.status_code == 200
    year = recurring_ical_events.of(parsed(first.content)).between(date(2026, 1, 1), date(2027, 1, 1))
    summaries = {str(e["UID"]): str(e["SUMMARY"]) for e in year}
    assert len(year) == 4, summaries  # not the consolidation, which is Sở Nội vụ's
    uid = f"{HUE}.bao-cao-nam.2026.{A_LUOI}@nhacviec"
    assert summaries[uid] == "[Quá hạn] Hạn: Báo cáo kết quả thực hiện 01 năm"
    assert summaries[f"{HUE}.thang-hanh-dong-bdg.2026.{A_LUOI}@nhacviec"].startswith("Đợt: ")
    described = next(e for e in year if str(e["UID"]) == uid)
    assert "Tình trạng ngày 14/12/2026: Quá hạn" in str(described["DESCRIPTION"])
    acknowledge(
        engine,
        f"{HUE}/bao-cao-nam/2026/{A_LUOI}",
        "Nguyễn Văn A",
        NOW - timedelta(hours=1),
        ReportReference("88/BC-UBND", date(2026, 12, 13)),
    )
    second = client.get(path_of(served["agency"]))
    after = {str(e["UID"]): e for e in events_of(parsed(second.content))}
    assert str(after[uid]["SUMMARY"]) == "[Đã báo cáo] Hạn: Báo cáo kết quả thực hiện 01 năm"
    assert "Tình trạng ngày 14/12/2026: Đã báo cáo muộn (văn bản số 88/BC-UBND)" in str(
        after[uid]["DESCRIPTION"]
    )
    assert second.headers["etag"] != first.headers["etag"]
    # The plan's progress moved too.
    plan = {str(e["SUMMARY"]) for e in events_of(parsed(client.get(path_of(served["plan"])).content))}
    assert any("(1/16 đã báo cáo, 15 quá hạn)" in s for s in plan)


def test_uids_are_the_same_across_syncs_and_after_a_restart(served, config_dir):
    client, engine, settings = served["client"], served["engine"], served["settings"]
    before = client.get(path_of(served["agency"]))
    uids = [str(e["UID"]) for e in events_of(parsed(before.content))]
    assert len(uids) == len(set(uids))
    sync(engine, load_config(config_dir, settings, today=date(2026, 12, 14)), settings, date(2026, 12, 14))
    with TestClient(served["make_app"]()) as restarted:  # a new process's app on the same database
        again = restarted.get(path_of(served["agency"]))
    assert [str(e["UID"]) for e in events_of(parsed(again.content))] == uids
    assert again.headers["etag"] == before.headers["etag"]
    assert again.content == before.content  # DTSTAMP is the time the body last changed


def test_an_unchanged_feed_answers_304_to_if_none_match_and_if_modified_since(served):
    client = served["client"]
    url = path_of(served["plan"])
    first = client.get(url)
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    assert "set-cookie" not in first.headers  # the URL is the capability: no session, no cookie
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(url, headers={"If-None-Match": '"autre"'}).status_code == 200
    assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get(url, headers={"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"}).status_code == 200
    with time_machine.travel(NOW + timedelta(hours=3), tick=False):  # later, nothing changed
        later = client.get(url, headers={"If-None-Match": etag})
        assert later.status_code == 304 and later.headers["last-modified"] == modified


def test_revoked_forged_and_truncated_tokens_get_a_plain_404(served):
    client, engine = served["client"], served["engine"]
    url = path_of(served["plan"])
    token = url.removeprefix("/lich/").removesuffix(".ics")
    payload, signature = token.rsplit(".", 1)
    # The signature's first character (its last may differ only in padding bits, which decode alike).
    forged = f"{payload}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"
    for bad in (token[:-3], forged, "abc", token + "x", f"{payload[:-2]}.{signature}"):
        answer = client.get(f"/lich/{bad}.ics")
        assert answer.status_code == 404 and answer.text == "Not Found"
    # Signed with another key: forged.
    other = type(served["links"])("mot-khoa-khac-du-dai-32-byte-tro-len", "https://x", 30)
    assert client.get(path_of(other.feed_url(1, "nonce"))).status_code == 404
    # The right signature but another nonce (a row made again after a restore): 404.
    feed = feeds.current(engine, FeedKind.PLAN, HUE)
    assert feed is not None
    assert client.get(path_of(served["links"].feed_url(feed.id, "khac"))).status_code == 404
    assert client.get(url).status_code == 200
    new = feeds.rotate(engine, FeedKind.PLAN, HUE, "kiểm thử")
    assert client.get(url).status_code == 404
    assert client.get(path_of(served["links"].feed_url(new.id, new.nonce))).status_code == 200


def test_the_alarm_and_its_bad_values(served):
    client = served["client"]
    url = path_of(served["agency"])
    cal = parsed(client.get(url, params={"bao_truoc": "3"}).content)
    alarms = [a for e in events_of(cal) for a in e.walk("VALARM")]
    assert alarms and len(alarms) == len(events_of(cal))
    assert str(alarms[0]["ACTION"]) == "DISPLAY" and alarms[0]["TRIGGER"].dt == timedelta(days=-3)
    assert str(alarms[0]["DESCRIPTION"]).startswith("Nhắc việc (còn 3 ngày): ")
    assert not list(parsed(client.get(url).content).walk("VALARM"))
    for bad in ("31", "-1", "ba", ""):
        answer = client.get(url, params={"bao_truoc": bad})
        assert answer.status_code == 400 and "bao_truoc" in answer.text and "từ 0 đến 30" in answer.text


def test_the_board_shows_the_links_and_an_admin_rotates_them_with_csrf(served):
    client = served["client"]
    sign_in(client, "xem")
    page = client.get(f"/ke-hoach/{HUE}")
    assert "Đăng ký lịch" in page.text and served["plan"] in page.text
    assert served["plan"].replace("https://", "webcal://").replace("http://", "webcal://") in page.text
    assert "Thu hồi và tạo liên kết mới" not in page.text  # a viewer may not
    refused = client.post("/lich/lien-ket", data={"csrf": csrf_of(page.text), "loai": "plan", "ma": HUE})
    assert refused.status_code == 403
    client.post("/dang-xuat", data={"csrf": csrf_of(page.text)})
    sign_in(client, "quantri")
    page = client.get(f"/ke-hoach/{HUE}")
    assert "Thu hồi và tạo liên kết mới" in page.text
    no_csrf = client.post("/lich/lien-ket", data={"loai": "plan", "ma": HUE})
    assert no_csrf.status_code == 403
    done = client.post("/lich/lien-ket", data={"csrf": csrf_of(page.text), "loai": "plan", "ma": HUE})
    assert done.status_code == 200 and served["plan"] not in done.text
    assert client.get(path_of(served["plan"])).status_code == 404
    new = re.search(r'href="(https?://[^"]+/lich/[^"]+\.ics)"', done.text)
    assert new and client.get(path_of(new[1])).status_code == 200
    agency = client.get(f"/don-vi/{A_LUOI}")
    assert "Đăng ký lịch" in agency.text and served["agency"] in agency.text
    assert "Thu hồi và tạo liên kết mới" in agency.text
    moved = client.post("/lich/lien-ket", data={"csrf": csrf_of(agency.text), "loai": "agency", "ma": A_LUOI})
    assert moved.status_code == 200 and str(moved.url).endswith(f"/don-vi/{A_LUOI}?lich=moi#dang-ky-lich")
    assert "Đã thu hồi liên kết cũ" in moved.text and served["agency"] not in moved.text
    assert client.get(path_of(served["agency"])).status_code == 404


def test_the_cli_creates_lists_and_revokes_feeds(tmp_path, config_dir, monkeypatch, database_url):
    env = cli_env(monkeypatch, database_url, config_dir, 500)
    runner = CliRunner()
    made = runner.invoke(app, ["feed", "create", "plan", HUE], env=env)
    assert made.exit_code == 0, made.output
    webcal, https = (line.split()[-1] for line in made.stdout.strip().splitlines())
    assert webcal.startswith("webcal://") and webcal.split("://")[1] == https.split("://")[1]
    again = runner.invoke(app, ["feed", "create", "plan", HUE], env=env)
    assert again.stdout == made.stdout  # the current feed, not a new one
    token = https.rsplit("/", 1)[1].removesuffix(".ics")
    engine = open_store(database_url)
    try:
        feed_id, nonce = Links(SECRET, "https://x", 30).feed(token)
        assert feeds.find(engine, feed_id, nonce) is not None
        listed = runner.invoke(app, ["feed", "list"], env=env)
        assert listed.exit_code == 0 and HUE in listed.stdout and "kế hoạch" in listed.stdout
        unknown = runner.invoke(app, ["feed", "create", "agency", "khong-co"], env=env)
        assert unknown.exit_code == 2 and "không có đơn vị 'khong-co'" in unknown.output
        revoked = runner.invoke(app, ["feed", "revoke", "plan", HUE], env=env)
        assert revoked.exit_code == 0 and re.search(r"Đã thu hồi [1-9]\d* liên kết", revoked.stdout)
        assert feeds.find(engine, feed_id, nonce) is None
        assert HUE not in runner.invoke(app, ["feed", "list", "--active"], env=env).stdout
    finally:
        engine.dispose()


def test_the_reminder_and_the_digest_e_mails_carry_the_feed_links(
    tmp_path, config_dir, smtp_sink, database_url
):

    one_agency_plan(config_dir)
    settings = make_settings(tmp_path, config_dir, database_url)
    engine = open_store(settings.database_url)
    dispatcher = make_dispatcher(engine, config_dir, settings, smtp_sink)
    dispatcher.builder.feeds = FeedLinks(engine, dispatcher.builder.links)
    deployment = dispatcher.builder.deployment
    day = date(2026, 12, 9)
    try:
        sync(engine, deployment, settings, day)
        # 11/12 09:00: A Lưới 1's yearly report is overdue and its action month closes; Sở Nội vụ's
        # consolidation is near. Each agency's e-mails carry its own feed; the digest the plan's.
        with time_machine.travel(datetime(2026, 12, 11, 9, 0, tzinfo=settings.timezone), tick=False):
            enqueue_digests(engine, deployment, utcnow(), settings.timezone)
            run(dispatcher)
        with engine.connect() as conn:
            sent = {
                r.key: r for r in conn.execute(select(Reminder.key, Reminder.kind, Reminder.occurrence_key))
            }
        made = dispatcher.builder.links

        def feed_url(kind: FeedKind, target: str) -> str:
            feed = feeds.current(engine, kind, target)
            assert feed is not None
            return made.feed_url(feed.id, feed.nonce)

        agencies = set()
        for message in smtp_sink.received:
            found = re.findall(r"https?://\S+/lich/\S+\.ics", message.text())
            subscribe = re.findall(r"webcal://\S+/lich/\S+\.ics", message.text())
            row = sent[message.key]
            if row.kind == "digest":
                expected = feed_url(FeedKind.PLAN, HUE)
            else:
                agency = row.occurrence_key.rsplit("/", 1)[1]
                agencies.add(agency)
                expected = feed_url(FeedKind.AGENCY, agency)
            # The https link to paste, and the same feed as webcal:// to open in a calendar app.
            assert found == [expected]
            assert subscribe == ["webcal://" + expected.split("://", 1)[1]]
            html = message.message.get_body(("html",)).get_content()
            assert f'href="{subscribe[0]}"' in html and f'href="{expected}"' in html
        assert agencies == {A_LUOI, "hue-so-noi-vu"}
        agency_url = feed_url(FeedKind.AGENCY, A_LUOI)
        html = next(m for m in smtp_sink.received if sent[m.key].kind == "digest").message.get_body(("html",))
        assert "Đăng ký lịch của kế hoạch" in html.get_content()
        # The link in the e-mail opens the agency's calendar.
        with TestClient(web_app(tmp_path, config_dir, engine)) as client:
            answer = client.get(path_of(agency_url))
        assert answer.status_code == 200 and b"BEGIN:VCALENDAR" in answer.content
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("status", "tag"),
    [
        (Status(AgencyStatus.ON_TIME, date(2026, 12, 10)), "[Đã báo cáo]"),
        (Status(AgencyStatus.LATE, date(2026, 12, 10)), "[Đã báo cáo]"),
        (Status(AgencyStatus.OVERDUE, date(2026, 12, 10)), "[Quá hạn]"),
        (Status(AgencyStatus.DUE_SOON, date(2026, 12, 10)), "[Sắp đến hạn]"),
        (Status(AgencyStatus.WAIVED, date(2026, 12, 10)), "[Được miễn]"),
        (Status(AgencyStatus.EXTENDED, date(2026, 12, 18), date(2026, 12, 18)), "[Gia hạn đến 18/12]"),
        (Status(AgencyStatus.OPEN, date(2026, 12, 10)), ""),
    ],
)
def test_each_status_has_its_words_in_the_summary(status, tag):
    assert status_tag(status) == tag


def test_a_past_plan_with_monthly_reports_and_observances_expands_over_its_year(served):
    client, engine = served["client"], served["engine"]
    feed = feeds.create(engine, FeedKind.PLAN, "thai-binh-hlhpn-2024-bdg", "kiểm thử")
    answer = client.get(path_of(served["links"].feed_url(feed.id, feed.nonce)))
    cal = parsed(answer.content)
    year = recurring_ical_events.of(cal).between(date(2024, 1, 1), date(2025, 1, 1))
    kinds = sorted(str(e["CATEGORIES"].cats[0]) for e in year)
    # 12 monthly reports and the yearly one; two action months; five observances.
    assert kinds == ["deadline"] * 13 + ["observance"] * 5 + ["window"] * 2
    assert len(events_of(cal)) == 20  # nothing outside the plan's year
    eighth = next(e for e in year if "Quốc tế Phụ nữ" in str(e["SUMMARY"]))
    assert eighth["DTSTART"].dt == date(2024, 3, 8) and eighth["DTEND"].dt == date(2024, 3, 9)
