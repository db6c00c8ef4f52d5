"""The report's number and date on a confirmation (issue 16, item 4): checked, stored on the
occurrence on SQLite and PostgreSQL, restated after confirming; expired, forged and already-used
links name the focal agency to call."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from sqlalchemy import select
from starlette.testclient import TestClient
from typer.testing import CliRunner

from scheduler.cli import app as cli_module
from scheduler.cli.app import app as cli_app
from scheduler.config.loader import load_config
from scheduler.outbox.acks import ReferenceInvalid, ReportReference, acknowledge, report_reference
from scheduler.outbox.metrics import Metrics
from scheduler.outbox.store import Occurrence, Reminder, Status, open_store, utcnow
from scheduler.outbox.sync import sync
from scheduler.web.app import create_app
from tests.support.dispatch_kit import links
from tests.support.settings import make_settings

OCCURRENCE = "hue-2026-bdg/bao-cao-nam/2026/hue-xa-a-luoi-1"
TODAY = date(2026, 12, 7)
NOON = "2026-12-07 12:00 +07:00"
FOCAL = ("Sở Nội vụ thành phố Huế", "Phòng Bình đẳng giới và Trẻ em", "0900 000 301")
FOCAL_EMAIL = "binhdanggioi@noivu.hue.example.org"


@pytest.mark.parametrize(
    ("number", "day", "expected"),
    [
        ("125/BC-UBND", "08/12/2026", ReportReference("125/BC-UBND", date(2026, 12, 8))),
        (" 125/BC-UBND ", "2026-12-07", ReportReference("125/BC-UBND", date(2026, 12, 7))),
        ("1234/KH-SNV  BĐG&TE", "", ReportReference("1234/KH-SNV BĐG&TE", None)),
        ("", "1/12/2026", ReportReference(None, date(2026, 12, 1))),
        (None, None, ReportReference()),
        ("x" * 50, None, ReportReference("x" * 50, None)),
    ],
)
def test_a_reference_as_typed(number, day, expected):
    assert report_reference(number, day, date(2026, 12, 8)) == expected


@pytest.mark.parametrize(
    ("number", "day", "field", "words"),
    [
        ("x" * 51, None, "number", "dài quá 50 ký tự"),
        ("125/BC\x00UBND", None, "number", "không in được"),
        ("125\u200b/BC", None, "number", "không in được"),
        (None, "09/12/2026", "day", "trong tương lai"),
        (None, "31/02/2026", "day", "không đúng"),
        (None, "hôm qua", "day", "không đúng"),
        (None, "01/01/1900", "day", "quá xa"),
    ],
)
def test_a_reference_refused_says_why(number, day, field, words):
    with pytest.raises(ReferenceInvalid) as refused:
        report_reference(number, day, date(2026, 12, 8))
    assert refused.value.field == field and words in str(refused.value)


def test_the_reference_reads_as_a_document_cites_it():
    assert str(ReportReference("125/BC-UBND", date(2026, 12, 8))) == "số 125/BC-UBND ngày 08/12/2026"
    assert str(ReportReference()) == ""


def stored(engine, key=OCCURRENCE):
    with engine.connect() as conn:
        return conn.execute(select(Occurrence.__table__).where(Occurrence.key == key)).one()


def test_the_reference_is_stored_once_and_a_second_confirmation_keeps_the_first(engine, tmp_path, config_dir):
    settings = make_settings(tmp_path, config_dir)
    sync(engine, load_config(config_dir), settings, date(2026, 11, 20))
    first = acknowledge(
        engine, OCCURRENCE, "Hoa", utcnow(), ReportReference("125/BC-UBND", date(2026, 12, 8))
    )
    assert not first.already and first.cancelled > 0
    row = stored(engine)
    assert (row.report_number, row.report_date) == ("125/BC-UBND", date(2026, 12, 8))
    second = acknowledge(engine, OCCURRENCE, "Tám", utcnow(), ReportReference("999/BC", date(2026, 12, 1)))
    assert second.already and second.reference == ReportReference("125/BC-UBND", date(2026, 12, 8))
    assert stored(engine).report_number == "125/BC-UBND"


@pytest.fixture
def site(tmp_path, config_dir, database_url):
    settings = make_settings(tmp_path, config_dir, database_url)
    engine = open_store(settings.database_url)
    deployment = load_config(config_dir)
    sync(engine, deployment, settings, date(2026, 11, 20))
    signer = links(settings)
    app = create_app(engine, lambda: deployment, signer, Metrics(lambda: 0), lambda: True, settings.timezone)
    with time_machine.travel(NOON, tick=False), TestClient(app) as client:
        yield client, engine, signer
    engine.dispose()


def test_the_form_asks_for_the_number_and_the_date_no_later_than_today(site):
    client, _, signer = site
    page = client.get(f"/xac-nhan/{signer.token(OCCURRENCE)}")
    assert "Số, ký hiệu văn bản" in page.text and "Ngày văn bản" in page.text
    assert 'type="date" id="ngay" name="ngay" max="2026-12-07"' in page.text


def test_confirming_with_the_reference_stores_it_and_restates_the_report(site):
    client, engine, signer = site
    response = client.post(
        f"/xac-nhan/{signer.token(OCCURRENCE)}", data={"so": "125/BC-UBND", "ngay": "2026-12-05", "by": "Hoa"}
    )
    assert response.status_code == 200 and "Đã ghi nhận" in response.text
    for shown in (
        "UBND xã A Lưới 1",  # the agency
        "Kế hoạch thực hiện công tác bình đẳng giới và vì sự tiến bộ của phụ nữ thành phố Huế năm 2026",
        "Thứ Năm, 10/12/2026",  # the deadline
        "125/BC-UBND",
        "05/12/2026",
        "12:00 ngày 07/12/2026, Hoa",
    ):
        assert shown in response.text, shown
    row = stored(engine)
    assert (row.status, row.report_number, row.report_date) == ("submitted", "125/BC-UBND", date(2026, 12, 5))


def test_the_date_typed_the_vietnamese_way_is_taken(site):
    client, engine, signer = site
    client.post(f"/x/{short(engine, signer)}", data={"ngay": "5/12/2026"})
    row = stored(engine)
    assert (row.report_number, row.report_date) == (None, date(2026, 12, 5))


def short(engine, signer) -> str:
    with engine.connect() as conn:
        reminder_id = conn.execute(
            select(Reminder.id).where(Reminder.occurrence_key == OCCURRENCE).limit(1)
        ).scalar_one()
    return signer.short_url(reminder_id, OCCURRENCE).rsplit("/", 1)[1]


@pytest.mark.parametrize(
    ("form", "words"),
    [
        ({"so": "125/BC-UBND", "ngay": "2026-12-08"}, "trong tương lai"),
        ({"so": "x" * 60, "ngay": ""}, "dài quá 50 ký tự"),
        ({"so": "125/BC\x07", "ngay": ""}, "không in được"),
        ({"ngay": "32/12/2026"}, "không đúng"),
    ],
)
def test_a_bad_reference_is_refused_with_the_form_kept_and_nothing_confirmed(site, form, words):
    client, engine, signer = site
    before = stored(engine)
    response = client.post(f"/xac-nhan/{signer.token(OCCURRENCE)}", data={**form, "by": "Hoa <b>"})
    assert response.status_code == 422 and words in response.text and "Chưa ghi nhận gì" in response.text
    assert 'value="Hoa &lt;b&gt;"' in response.text  # kept, escaped
    assert stored(engine) == before
    with engine.connect() as conn:
        pending = conn.execute(
            select(Reminder.status).where(
                Reminder.occurrence_key == OCCURRENCE, Reminder.status == Status.PENDING
            )
        ).all()
    assert pending


def test_an_already_used_link_restates_the_confirmation_and_names_the_focal_agency(site):
    client, _, signer = site
    url = f"/xac-nhan/{signer.token(OCCURRENCE)}"
    client.post(url, data={"so": "125/BC-UBND", "ngay": "05/12/2026", "by": "Hoa"})
    for response in (client.get(url), client.post(url, data={"so": "999/BC"})):
        assert response.status_code == 200
        assert "đã được xác nhận trước đó" in response.text and "125/BC-UBND" in response.text
        assert "999/BC" not in response.text
        assert all(words in response.text for words in FOCAL) and FOCAL_EMAIL in response.text
        assert 'href="tel:+84900000301"' in response.text and "Cách khác để xác nhận" in response.text


def test_an_expired_link_says_which_report_and_whom_to_call(site):
    client, engine, signer = site
    with time_machine.travel(datetime.now(UTC) - timedelta(days=61)):
        old = signer.token(OCCURRENCE)
    before = stored(engine)
    response = client.post(f"/xac-nhan/{old}", data={"so": "125/BC-UBND"})
    assert response.status_code == 410 and "Liên kết đã hết hạn" in response.text
    assert "UBND xã A Lưới 1" in response.text and "Thứ Năm, 10/12/2026" in response.text
    assert all(words in response.text for words in FOCAL) and FOCAL_EMAIL in response.text
    assert stored(engine) == before


def test_a_forged_link_names_the_focal_agency_but_no_report(site):
    client, engine, signer = site
    forged = type(signer)("khoa-khac-hoan-toan", "http://x", 60).token(OCCURRENCE)
    before = stored(engine)
    for url in (f"/xac-nhan/{forged}", "/xac-nhan/khong-phai-token", "/x/1.zz.AAAAAAAAAAAA"):
        response = client.post(url, data={"so": "125/BC-UBND"})
        assert response.status_code == 400 and "Liên kết không hợp lệ" in response.text, url
        assert all(words in response.text for words in FOCAL), url
        assert "UBND xã A Lưới 1" not in response.text  # an unchecked link shows no report
    assert stored(engine) == before


def test_a_link_naming_no_plan_lists_only_the_focal_agencies_of_plans_in_force(site):
    client, _, _ = site
    response = client.get("/xac-nhan/khong-phai-token")
    assert "Sở Nội vụ thành phố Huế" in response.text
    assert response.text.count('class="contact"') == 1
    # The plans of Thái Bình and Lâm Thao ended in 2024; Thừa Thiên Huế's focal agency merged into Sở Nội vụ.
    assert "Hội LHPN tỉnh Thái Bình" not in response.text and "Lâm Thao" not in response.text


@pytest.fixture
def cli(tmp_path, config_dir, monkeypatch, database_url):
    monkeypatch.setattr(cli_module.out, "width", 500)
    runner = CliRunner()
    env = {
        "NHACVIEC_DATABASE_URL": database_url,
        "NHACVIEC_CONFIG_DIR": str(config_dir),
        "NHACVIEC_SECRET_KEY": "khoa-kiem-thu-du-dai-32-byte-tro-len",
    }
    monkeypatch.chdir(tmp_path)

    def invoke(*args: str):
        return runner.invoke(cli_app, list(args), env=env)

    return invoke


def test_ack_takes_the_number_and_the_date(cli, database_url):
    with time_machine.travel(NOON, tick=False):
        assert cli("sync").exit_code == 0
        refused = cli("ack", OCCURRENCE, "--so", "125/BC-UBND", "--ngay", "08/12/2026")
        assert refused.exit_code == 2 and "trong tương lai" in refused.stderr
        done = cli("ack", OCCURRENCE, "--so", "125/BC-UBND", "--ngay", "05/12/2026")
    assert done.exit_code == 0 and "văn bản số 125/BC-UBND ngày 05/12/2026" in done.stdout
    engine = open_store(database_url)
    row = stored(engine)
    engine.dispose()
    assert (row.report_number, row.report_date) == ("125/BC-UBND", date(2026, 12, 5))
