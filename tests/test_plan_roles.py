"""Roles in a plan: agencies a document names by what they are, mapped by a person to agency ids.

A plan proposed by `nhacviec import` names "các sở, ngành có liên quan" as a role and flags items it
could not read with `review:`; `check` refuses it, at file:line, until a person has mapped every role
and resolved every flagged item. Once loaded, the plan names agencies only.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from scheduler.cli.app import app
from scheduler.config.loader import load_config
from scheduler.config.schema import PlanSpec
from scheduler.config.settings import load_settings
from scheduler.config.yamlfile import ConfigInvalid, read_yaml
from scheduler.plan.planner import Planner
from tests.support.settings import SAMPLE_CONFIG

PLAN = """\
id: nhap-thu
title: Kế hoạch thực hiện công tác bình đẳng giới năm 2021
issuer: UBND tỉnh Thừa Thiên Huế
year: 2021
focal_agency: thuong-truc
roles:
  thuong-truc:
    text: Sở Lao động - Thương binh và Xã hội
    agencies: [tth-so-ldtbxh]
  cac-so-nganh:
    text: các sở, ngành có liên quan
    agencies: [tth-so-noi-vu, tth-so-y-te]
  cac-huyen:
    text: UBND các huyện, thị xã, thành phố
    agencies: [tth-huyen]
participants: [cac-so-nganh, cac-huyen]

obligations:
  - id: bao-cao-nam
    title: Báo cáo kết quả thực hiện năm 2021
    on: 10/12/2021
    who: [cac-so-nganh, tth-so-noi-vu, cac-huyen]
    to: tth-ubnd-tinh
    via: thuong-truc
    confidence: 0.9

windows:
  - id: thang-hanh-dong
    title: Tháng hành động vì bình đẳng giới
    start: 15/11
    end: 15/12
"""

UNMAPPED = (
    "vai trò 'cac-huyen' («UBND các huyện, thị xã, thành phố») chưa gắn với đơn vị nào: "
    "ghi mã đơn vị hoặc nhóm trong config/agencies/ vào agencies"
)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The sample agencies and policies, and no plan yet."""
    target = tmp_path / "config"
    shutil.copytree(SAMPLE_CONFIG / "agencies", target / "agencies")
    shutil.copy(SAMPLE_CONFIG / "policies.yaml", target / "policies.yaml")
    (target / "plans").mkdir()
    return target


def write_plan(config: Path, old: str = "", new: str = "") -> tuple[Path, str]:
    """Write PLAN with one edit; return the file and its text."""
    assert old in PLAN, f"fixture drifted: {old!r}"
    text = PLAN.replace(old, new, 1)
    file = config / "plans" / "nhap-thu.yaml"
    file.write_text(text, encoding="utf-8")
    return file, text


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def errors_of(config: Path) -> list[tuple[str, int, str, str]]:
    with pytest.raises(ConfigInvalid) as caught:
        load_config(config)
    return [(e.file, e.line, e.field, e.message) for e in caught.value.errors]


def check(config: Path, tmp_path: Path):
    env = {"NHACVIEC_CONFIG_DIR": str(config), "NHACVIEC_DATABASE_URL": f"sqlite:///{tmp_path / 'db'}"}
    return CliRunner().invoke(app, ["check"], env=env)


def test_an_unmapped_role_is_one_error_at_its_agencies(config, tmp_path):
    # cac-huyen is used in participants and in a `who`: still one error, at the role.
    file, text = write_plan(config, "    agencies: [tth-huyen]\n", "    agencies: []\n")
    line = line_of(text, "agencies: []")
    assert errors_of(config) == [(str(file), line, "roles.cac-huyen.agencies", UNMAPPED)]
    result = check(config, tmp_path)
    assert result.exit_code == 1
    assert f"{file}:{line}: roles.cac-huyen.agencies: {UNMAPPED}" in result.stderr


def test_a_role_without_an_agencies_line_points_at_the_role(config):
    file, text = write_plan(config, "    agencies: [tth-huyen]\n", "")
    line = line_of(text, "text: UBND các huyện")  # a block mapping starts at its first key
    assert errors_of(config) == [(str(file), line, "roles.cac-huyen.agencies", UNMAPPED)]


def test_mapped_roles_are_replaced_by_their_agencies(config):
    file, text = write_plan(config)
    deployment = load_config(config)
    assert deployment.warnings == []
    (plan,) = deployment.plans
    assert plan.focal_agency == "tth-so-ldtbxh"
    assert plan.participants == ["tth-so-noi-vu", "tth-so-y-te", "tth-huyen"]
    (obligation,) = plan.obligations
    assert obligation.who == ["tth-so-noi-vu", "tth-so-y-te", "tth-huyen"]  # in order, each once
    assert (obligation.to, obligation.via) == ("tth-ubnd-tinh", "tth-so-ldtbxh")
    assert obligation.confidence == 0.9
    assert plan.windows[0].who is None  # still falls back to the (resolved) participants
    assert deployment.where[("nhap-thu", "bao-cao-nam")] == f"{file}:{line_of(text, 'id: bao-cao-nam')}"
    assert deployment.where[("nhap-thu", "thang-hanh-dong")] == f"{file}:{line_of(text, 'id: thang-hanh')}"


def test_reminders_go_to_the_contacts_of_the_mapped_agencies(config):
    write_plan(config)
    deployment = load_config(config)
    planner = Planner(deployment, load_settings(env={}))
    occurrences = list(planner.occurrences(date(2021, 1, 1), date(2021, 12, 31)))
    districts = deployment.members["tth-huyen"]
    assert len(districts) == 9
    expected = {"tth-so-noi-vu", "tth-so-y-te", *districts}
    for item_id in ("bao-cao-nam", "thang-hanh-dong"):
        assert {o.agency_id for o in occurrences if o.event.item_id == item_id} == expected
    reached = {r.contact_key for o in occurrences for r in planner.reminders(o)}
    assert reached == {c.key for agency_id in expected for c in deployment.contacts[agency_id]}
    deadline = next(o.event for o in occurrences if o.event.item_id == "bao-cao-nam")
    assert (deadline.to, deadline.via) == ("tth-ubnd-tinh", "tth-so-ldtbxh")


def test_a_role_id_may_not_be_an_agency_or_group_id(config):
    file, text = write_plan(config, "  cac-huyen:\n", "  tth-huyen:\n")
    agencies = config / "agencies" / "thua-thien-hue.yaml"
    group_line = line_of(agencies.read_text(encoding="utf-8"), "{id: tth-huyen,")
    assert errors_of(config) == [
        (
            str(file),
            line_of(text, "text: UBND các huyện"),  # the role's first line, under `tth-huyen:`
            "roles.tth-huyen",
            f"mã vai trò 'tth-huyen' trùng với mã đơn vị/nhóm đã khai báo ở {agencies}:{group_line}: "
            "đặt mã khác cho vai trò",
        ),
        # cac-huyen is no longer a role, and nothing declares it.
        (
            str(file),
            line_of(text, "participants:"),
            "participants[1]",
            "'cac-huyen' không phải đơn vị hoặc nhóm đã khai báo trong config/agencies/",
        ),
        (
            str(file),
            line_of(text, "who:"),
            "obligations[0].who[2]",
            "'cac-huyen' không phải đơn vị hoặc nhóm đã khai báo trong config/agencies/",
        ),
    ]


def test_an_unknown_id_in_a_role_is_reported_at_that_entry_only(config):
    file, text = write_plan(
        config, "agencies: [tth-so-noi-vu, tth-so-y-te]", "agencies: [tth-so-noi-vu, so-khong-co]"
    )
    assert errors_of(config) == [
        (
            str(file),
            line_of(text, "so-khong-co"),
            "roles.cac-so-nganh.agencies[1]",
            "'so-khong-co' không phải đơn vị hoặc nhóm đã khai báo trong config/agencies/",
        )
    ]


ONE_AGENCY = "ở đây cần đúng một đơn vị: ghi thẳng mã một đơn vị, hoặc gắn vai trò với một đơn vị"


@pytest.mark.parametrize(
    ("old", "new", "field", "mapped"),
    [
        pytest.param(
            "    to: tth-ubnd-tinh\n", "    to: cac-so-nganh\n", "obligations[0].to",
            "vai trò 'cac-so-nganh' («các sở, ngành có liên quan») gắn với 2 đơn vị/nhóm "
            "(tth-so-noi-vu, tth-so-y-te)",
            id="to-two-agencies",
        ),
        pytest.param(
            "    via: thuong-truc\n", "    via: cac-huyen\n", "obligations[0].via",
            "vai trò 'cac-huyen' («UBND các huyện, thị xã, thành phố») gắn với nhóm 'tth-huyen'",
            id="via-a-group",
        ),
        pytest.param(
            "focal_agency: thuong-truc\n", "focal_agency: cac-so-nganh\n", "focal_agency",
            "vai trò 'cac-so-nganh' («các sở, ngành có liên quan») gắn với 2 đơn vị/nhóm "
            "(tth-so-noi-vu, tth-so-y-te)",
            id="focal-two-agencies",
        ),
    ],
)  # fmt: skip
def test_a_role_standing_for_one_agency_must_map_to_exactly_one(config, old, new, field, mapped):
    file, text = write_plan(config, old, new)
    line = line_of(text, new.strip())
    errors = errors_of(config)
    assert errors == [(str(file), line, field, f"{mapped}; {ONE_AGENCY}")]


@pytest.mark.parametrize(
    ("old", "field"),
    [
        ("    confidence: 0.9\n", "obligations[0].review"),
        ("    end: 15/12\n", "windows[0].review"),
    ],
)
def test_an_item_flagged_for_review_is_refused_at_its_review_line(config, tmp_path, old, field):
    review = "văn bản ghi «trước ngày 10/12» nhưng không rõ năm"
    file, text = write_plan(config, old, f"{old}    review: {review}\n")
    line = line_of(text, "review:")
    message = f"cần người xem lại: {review} — sửa mục này rồi xóa dòng review"
    assert errors_of(config) == [(str(file), line, field, message)]
    result = check(config, tmp_path)
    assert result.exit_code == 1
    assert f"{file}:{line}: {field}: {message}" in result.stderr


def test_an_emptied_review_line_no_longer_blocks(config):
    write_plan(config, "    confidence: 0.9\n", "    confidence: 0.9\n    review:\n")
    assert load_config(config).plans[0].obligations[0].review is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1.5", "giá trị '1.5' phải ≤ 1"),
        ("-0.2", "giá trị '-0.2' phải ≥ 0"),
        ("cao", "cần một số (ví dụ 0.8)"),
    ],
)
def test_confidence_is_a_number_between_zero_and_one(config, value, message):
    file, text = write_plan(config, "    confidence: 0.9\n", f"    confidence: {value}\n")
    line = line_of(text, "confidence:")
    assert errors_of(config) == [(str(file), line, "obligations[0].confidence", message)]


def test_an_unused_role_is_a_warning_only(config, tmp_path):
    file, text = write_plan(
        config,
        "participants:",
        "  cac-hoi:\n    text: các hội, đoàn thể\n    agencies: [tth-so-tu-phap]\nparticipants:",
    )
    deployment = load_config(config)
    assert [str(w) for w in deployment.warnings] == [
        f"{file}:{line_of(text, 'text: các hội')}: roles.cac-hoi: "
        "vai trò 'cac-hoi' («các hội, đoàn thể») không được dùng trong kế hoạch"
    ]
    assert "tth-so-tu-phap" not in deployment.plans[0].participants
    result = check(config, tmp_path)
    assert result.exit_code == 0, result.output
    assert "không được dùng trong kế hoạch" in result.stderr


def test_the_sample_plans_load_unchanged(tmp_path):
    deployment = load_config(SAMPLE_CONFIG)
    assert deployment.warnings == []
    files = sorted((SAMPLE_CONFIG / "plans").glob("*.yaml"))
    assert len(files) == len(deployment.plans) == 4
    for file, plan in zip(files, deployment.plans, strict=True):
        assert plan == PlanSpec.model_validate(read_yaml(file).data)
    result = check(SAMPLE_CONFIG, tmp_path)
    assert result.exit_code == 0, result.output
    assert "Cấu hình hợp lệ: 4 kế hoạch" in result.stdout
