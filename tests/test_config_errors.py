"""Bad configuration is refused whole, with `file:line: field: what is wrong` for each problem."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from scheduler.cli.app import app
from scheduler.config.loader import load_config
from scheduler.config.yamlfile import ConfigInvalid
from scheduler.outbox.store import Reminder, open_store

TTH_PLAN = "plans/tth-2020-bdg.yaml"
TTH_AGENCIES = "agencies/thua-thien-hue.yaml"

# (file, text to replace, replacement, field, words the message must contain)
# (An unknown agency in a plan: an error in a plan of this year, a warning in an old one, as an
# agency that has left the configuration: tests/test_agency_lifetimes.py.)
CASES = [
    pytest.param(
        TTH_PLAN, "to: tth-ubnd-tinh\n", "to: tth-huyen\n",
        "obligations[1].to", "'tth-huyen' không phải đơn vị đã khai báo", id="group-where-agency-expected",
    ),
    pytest.param(
        TTH_AGENCIES, "groups: [tth-so-nganh],\n", "groups: [tth-so-nganh, nhom-la],\n",
        "agencies[2].groups[1]", "nhóm 'nhom-la' chưa được khai báo", id="unknown-group",
    ),
    pytest.param(
        TTH_PLAN, "on: 25/03/2020\n", "on: 30/02/2020\n",
        "obligations[0].on", "'30/02/2020' không phải ngày: tháng 2/2020 chỉ có 29 ngày", id="impossible-date",
    ),
    pytest.param(
        TTH_PLAN, "yearly: 10/6\n", "yearly: 31/6\n",
        "obligations[1].yearly", "tháng 6/2001 chỉ có 30 ngày", id="impossible-yearly-date",
    ),
    pytest.param(
        "plans/lam-thao-2024-bdg.yaml", "    end: 15/12\n", "    end: 10/11\n",
        "windows[0].end", "đợt kết thúc (10/11) trước khi bắt đầu (15/11)", id="window-ends-before-start",
    ),
    pytest.param(
        TTH_AGENCIES, "email: vanphong@tth.example.org}", "email: vanphong@@tth.example.org}",
        "agencies[0].contacts[0].email", "địa chỉ e-mail 'vanphong@@tth.example.org' không hợp lệ", id="bad-email",
    ),
    pytest.param(
        TTH_AGENCIES, 'mobile: "0900 000 101"', 'mobile: "0900 000 10"',
        "agencies[1].contacts[0].mobile", "số di động '0900 000 10' không hợp lệ", id="bad-mobile",
    ),
    pytest.param(
        TTH_AGENCIES, 'mobile: "0900 000 111"', 'mobile: "024 3825 1234"',
        "agencies[2].contacts[0].mobile", "cần số di động Việt Nam", id="landline-is-not-a-mobile",
    ),
    pytest.param(
        TTH_AGENCIES, "  - {id: tth-so-noi-vu,", "  - {id: lt-phong-noi-vu,",
        "agencies[2].id", "mã đơn vị 'lt-phong-noi-vu' đã được dùng ở", id="duplicate-agency-id",
    ),
    pytest.param(
        TTH_PLAN, "  - id: bao-cao-nam\n", "  - id: bao-cao-6-thang\n",
        "obligations[2].id", "mã mục 'bao-cao-6-thang' bị trùng", id="duplicate-item-id",
    ),
    pytest.param(
        TTH_AGENCIES, "channels: [email, zalo]}", "channels: [email, fax]}",
        "agencies[1].contacts[0].channels[1]", "kênh 'fax' không có; các kênh đã cài: console, email, eoffice, sms, webhook, zalo", id="unknown-channel",
    ),
    pytest.param(
        "agencies/thai-binh-hlhpn.yaml", "email: tuyengiao@hoiphunu.thaibinh.example.com}",
        "email: tuyengiao@hoiphunu.thaibinh.example.com, channels: [sms]}",
        "agencies[2].contacts[0].channels[0]", "kênh 'sms' cần trường mobile", id="channel-without-address",
    ),
    pytest.param(
        "plans/thai-binh-hlhpn-2024-bdg.yaml", "policy: hang-thang\n", "policy: khong-co\n",
        "obligations[0].policy", "chính sách 'khong-co' không có trong policies.yaml", id="unknown-policy",
    ),
    pytest.param(
        TTH_PLAN, "    yearly: 10/6\n", "    yaerly: 10/6\n",
        "obligations[1].yaerly", "trường không có trong mẫu cấu hình", id="misspelt-field",
    ),
    pytest.param(
        "policies.yaml", "      - {offset: -14d}\n", "      - {offset: -14 ngày}\n",
        "policies[0].deadline[0].offset", "khoảng cách '-14 ngày' không hợp lệ", id="bad-offset",
    ),
    pytest.param(
        "policies.yaml", '    send_time: "08:00"\n', '    send_time: "8h"\n',
        "policies[0].send_time", "cần giờ dạng HH:MM", id="bad-send-time",
    ),
    pytest.param(
        TTH_PLAN, "year: 2020\n", "year: hai nghìn\n",
        "year", "cần một số nguyên", id="not-a-number",
    ),
    pytest.param(
        TTH_PLAN, "focal_agency: tth-so-ldtbxh\n", "focal_agency: tth-so-ldtbxh\n  bad: [\n",
        "", "lỗi cú pháp YAML", id="yaml-syntax",
    ),
]  # fmt: skip


def break_config(config_dir: Path, file: str, old: str, new: str) -> int:
    """Apply the edit; return the line the new text starts on."""
    path = config_dir / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"fixture drifted: {old!r} not in {file}"
    position = text.index(old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text.count("\n", 0, position) + 1 + (1 if old.startswith("focal_agency") else 0)


@pytest.mark.parametrize(("file", "old", "new", "field", "words"), CASES)
def test_each_error_names_file_line_field_and_what_is_wrong(config_dir, file, old, new, field, words):
    line = break_config(config_dir, file, old, new)
    with pytest.raises(ConfigInvalid) as caught:
        load_config(config_dir)
    errors = [str(e) for e in caught.value.errors]
    prefix = f"{config_dir / file}:"
    matching = [e for e in errors if e.startswith(prefix) and words in e]
    assert matching, f"no error with {words!r} in {errors}"
    error = next(e for e in caught.value.errors if words in str(e))
    assert error.field == field
    if file == TTH_PLAN and field == "":
        assert line <= error.line <= line + 1  # YAML reports the syntax error where it noticed it
    else:
        assert error.line == line, str(error)


def test_duplicate_id_points_at_the_first_definition(config_dir):
    break_config(config_dir, TTH_AGENCIES, "  - {id: tth-so-noi-vu,", "  - {id: lt-phong-noi-vu,")
    with pytest.raises(ConfigInvalid) as caught:
        load_config(config_dir)
    first = (config_dir / "agencies/lam-thao.yaml").read_text(encoding="utf-8").split("\n")
    line = next(i for i, text in enumerate(first, 1) if "id: lt-phong-noi-vu" in text)
    assert f"đã được dùng ở {config_dir / 'agencies/lam-thao.yaml'}:{line}" in str(caught.value)


def test_all_errors_are_reported_at_once(config_dir):
    break_config(config_dir, TTH_PLAN, "on: 25/03/2020\n", "on: 30/02/2020\n")
    break_config(config_dir, TTH_AGENCIES, 'mobile: "0900 000 101"', 'mobile: "12345"')
    with pytest.raises(ConfigInvalid) as caught:
        load_config(config_dir)
    assert len(caught.value.errors) == 2


def test_old_eleven_digit_numbers_are_converted(config_dir):
    break_config(config_dir, TTH_AGENCIES, 'mobile: "0900 000 101"', 'mobile: "0168 765 4321"')
    deployment = load_config(config_dir)
    focal = deployment.contacts["tth-so-ldtbxh"][0]
    assert focal.spec.mobile == "+84387654321"
    assert focal.address("zalo") == "+84387654321"


def test_an_agency_without_contacts_is_a_warning_not_an_error(config_dir):
    break_config(
        config_dir, "agencies/lam-thao.yaml",
        "     contacts: [{name: Công chức Văn hóa - Xã hội, email: vhxh@sonvi.lamthao.example.net}]}",
        "     contacts: []}",
    )  # fmt: skip
    deployment = load_config(config_dir)
    assert any("'lt-xa-son-vi' chưa có đầu mối nào" in str(w) for w in deployment.warnings)


def test_a_bad_configuration_changes_nothing_in_the_database(config_dir, tmp_path, monkeypatch):
    runner = CliRunner()
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    env = {"NHACVIEC_DATABASE_URL": url, "NHACVIEC_CONFIG_DIR": str(config_dir)}
    assert runner.invoke(app, ["sync"], env=env).exit_code == 0
    engine = open_store(url)
    with engine.connect() as conn:
        before = conn.execute(select(Reminder.__table__).order_by(Reminder.key)).all()
    assert before

    line = break_config(config_dir, TTH_PLAN, "yearly: 10/12\n", "yearly: 32/12\n")
    for command in (["check"], ["sync"]):
        result = runner.invoke(app, command, env=env)
        assert result.exit_code == 1
        assert f"{config_dir / TTH_PLAN}:{line}: obligations[2].yearly:" in result.stderr
        assert "chưa có thay đổi nào được áp dụng" in result.stderr
    with engine.connect() as conn:
        assert conn.execute(select(Reminder.__table__).order_by(Reminder.key)).all() == before


def test_one_bad_agency_is_one_error_not_one_per_reference(config_dir):
    # The plan names Sở LĐTBXH as focal agency, recipient and participant: no echo of the error there.
    break_config(config_dir, TTH_AGENCIES, "email: binhdanggioi@ldtbxh", "email: binhdanggioi@@ldtbxh")
    with pytest.raises(ConfigInvalid) as caught:
        load_config(config_dir)
    assert [e.field for e in caught.value.errors] == ["agencies[1].contacts[0].email"]
