"""Message templates: defaults for every kind, overrides, load-time validation, unaccent."""

from __future__ import annotations

import unicodedata
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import StrictUndefined, Undefined
from jinja2.sandbox import SandboxedEnvironment

from notifiers.text import unaccent
from scheduler.render.samples import SAMPLE_CONTEXT, SAMPLE_DIGEST, digest_sample, sample_context, variants
from scheduler.render.templates import (
    DEFAULTS_DIR,
    KINDS,
    OUTPUTS,
    REMINDER_KINDS,
    TemplateInvalid,
    TemplateRenderError,
    Templates,
    is_valid_name,
    ngay,
    ngay_day_du,
    thu,
)

URL = SAMPLE_CONTEXT["confirm_url"]
DEADLINE_KINDS = ("upcoming", "due", "overdue", "escalation")
NO_LINK_KINDS = ("prepare", "start", "closing", "announce")


@pytest.fixture(scope="module")
def templates() -> Templates:
    return Templates(None)


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def invalid(directory: Path) -> list[str]:
    with pytest.raises(TemplateInvalid) as caught:
        Templates(directory)
    return caught.value.errors


# --- defaults ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_its_sample(templates: Templates, kind: str):
    rendered = templates.render(kind, sample_context(kind))
    assert rendered.subject and rendered.text and rendered.html and rendered.short
    assert "\n" not in rendered.subject and "\n" not in rendered.short
    assert rendered.html.startswith("<!DOCTYPE html>") and rendered.html.endswith("</html>")
    for output in (rendered.subject, rendered.text, rendered.html, rendered.short):
        assert "None" not in output
        assert unicodedata.is_normalized("NFC", output)
    assert rendered.short_ascii == unaccent(rendered.short)


def test_defaults_load_without_warnings(templates: Templates):
    assert templates.warnings == []


FIELDS = {"subject.txt": "subject", "email.txt": "text", "email.html": "html", "short.txt": "short"}


@pytest.mark.parametrize("kind", KINDS)
def test_outputs_rendered_together_read_as_each_rendered_alone(templates: Templates, kind: str):
    """The outputs of one message share the parts they import "with context" (evaluated once)."""
    for context in variants(kind):
        together = templates.render(kind, context)
        for output, field in FIELDS.items():
            assert getattr(templates.render(kind, context, (output,)), field) == getattr(together, field)


def test_a_part_imported_in_another_context_is_evaluated_again(tmp_path: Path):
    write(tmp_path, "_phan.j2", '{% set ten = agency.name ~ "!" %}')
    write(tmp_path, "upcoming.subject.txt.j2", '{% import "_phan.j2" as p with context %}{{ p.ten }}')
    write(
        tmp_path,
        "_khung-khac.html.j2",
        '{% set agency = {"name": "Đơn vị khác"} %}{% block b %}{% endblock %}',
    )
    write(
        tmp_path,
        "upcoming.email.html.j2",
        '{% extends "_khung-khac.html.j2" %}{% block b %}{% import "_phan.j2" as p with context %}{{ p.ten }}'
        "{% endblock %}",
    )
    write(
        tmp_path,
        "upcoming.email.txt.j2",
        '{% set agency = {"name": "Đơn vị thứ ba"} %}{% import "_phan.j2" as p with context %}{{ p.ten }}',
    )
    rendered = Templates(tmp_path).render("upcoming", SAMPLE_CONTEXT)
    assert rendered.subject == f"{SAMPLE_CONTEXT['agency']['name']}!"
    assert rendered.html == "Đơn vị khác!"
    assert rendered.text == "Đơn vị thứ ba!"


def test_attributes_of_context_dicts_resolve_as_in_jinja(templates: Templates):
    plain = SandboxedEnvironment(undefined=StrictUndefined)
    record = {"name": "UBND xã", "items": "a key named like a dict method"}
    assert templates.env.getattr(record, "name") == plain.getattr(record, "name") == "UBND xã"
    assert templates.env.getattr(record, "items") == plain.getattr(record, "items") == record.items
    assert isinstance(templates.env.getattr(record, "khong_co"), Undefined)
    assert isinstance(templates.env.getattr(record, "__class__"), Undefined)


def test_kind_specific_defaults_win_over_generic_ones(templates: Templates):
    assert templates.template_for("upcoming", "email.txt").endswith("/email.txt.j2")
    assert templates.template_for("escalation", "email.txt").endswith("/escalation.email.txt.j2")
    assert templates.template_for("digest", "short.txt").endswith("/digest.short.txt.j2")


@pytest.mark.parametrize("kind", REMINDER_KINDS)
def test_generic_defaults_render_every_reminder_kind(templates: Templates, kind: str):
    for output in OUTPUTS:
        assert templates.env.get_template(f"{output}.j2").render(sample_context(kind)).strip()


def test_upcoming_reminder_in_administrative_vietnamese(templates: Templates):
    rendered = templates.render("upcoming", SAMPLE_CONTEXT)
    text = rendered.text
    assert text.startswith("Kính gửi: UBND huyện A Lưới (Phòng LĐTBXH huyện)")
    assert "Kế hoạch số 72/KH-UBND của UBND tỉnh Thừa Thiên Huế về thực hiện công tác bình đẳng giới" in text
    assert "- Nội dung: Báo cáo kết quả thực hiện 01 năm" in text
    assert "- Hạn gửi báo cáo: Thứ Năm, 10/12/2026 (còn 7 ngày)" in text
    assert (
        "- Nơi nhận báo cáo: Ủy ban nhân dân tỉnh Thừa Thiên Huế "
        "(qua Sở Lao động - Thương binh và Xã hội tỉnh Thừa Thiên Huế để tổng hợp)"
    ) in text
    assert "Đề nghị quý đơn vị chủ động chuẩn bị và gửi báo cáo đúng hạn." in text
    assert f"Xác nhận đã gửi báo cáo: {URL}" in text
    assert rendered.subject == (
        "Nhắc hạn báo cáo: Báo cáo kết quả thực hiện 01 năm (72/KH-UBND) – hạn 10/12/2026, còn 7 ngày"
    )
    assert "Thứ Năm, 10/12/2026" in rendered.html and f'href="{URL}"' in rendered.html
    assert rendered.short_ascii == (
        f"Nhac han: Bao cao ket qua thuc hien 01 nam (72/KH-UBND) han 10/12/2026, con 7 ngay. Xac nhan da gui: {URL}"
    )


def test_due_today(templates: Templates):
    rendered = templates.render("due", sample_context("due"))
    assert "(hôm nay là hạn cuối)" in rendered.text
    assert "Đề nghị quý đơn vị hoàn thành và gửi báo cáo trong ngày." in rendered.text
    assert rendered.subject.startswith("Hôm nay là hạn cuối: ")


def test_escalation_addresses_the_leader(templates: Templates):
    rendered = templates.render("escalation", sample_context("escalation"))
    assert rendered.text.startswith("Kính gửi: Lãnh đạo UBND huyện A Lưới (Chủ tịch UBND huyện)")
    assert "Đến nay báo cáo đã quá hạn 5 ngày." in rendered.text
    assert "Kính đề nghị lãnh đạo đơn vị quan tâm, chỉ đạo" in rendered.text
    assert "Lãnh đạo UBND huyện A Lưới" in rendered.html
    assert rendered.subject.startswith("Báo cáo quá hạn 5 ngày chưa được gửi: ")
    assert rendered.short.startswith(
        "UBND huyện A Lưới chưa gửi Báo cáo kết quả thực hiện 01 năm, quá hạn 5 ngày."
    )


@pytest.mark.parametrize("kind", NO_LINK_KINDS)
def test_windows_and_observances(templates: Templates, kind: str):
    rendered = templates.render(kind, sample_context(kind))
    if kind == "announce":
        assert (
            "Thứ Tư, 25/11/2026 là Ngày Quốc tế xóa bỏ bạo lực đối với phụ nữ (còn 7 ngày)" in rendered.text
        )
    else:
        assert "từ Chủ nhật, 15/11/2026 đến Thứ Ba, 15/12/2026" in rendered.text
    wording = {
        "prepare": "Còn 9 ngày nữa là đến ngày bắt đầu. Đề nghị quý đơn vị chủ động xây dựng kế hoạch",
        "start": "Đề nghị quý đơn vị triển khai các hoạt động theo kế hoạch",
        "closing": "sẽ kết thúc vào Thứ Ba, 15/12/2026 (còn 4 ngày). Đề nghị quý đơn vị hoàn thành các hoạt động",
        "announce": "Đề nghị quý đơn vị chủ động tổ chức các hoạt động hưởng ứng",
    }
    assert wording[kind] in rendered.text


# --- dates, overdue, days off ----------------------------------------------------------


def overdue_context(kind: str, days: int) -> dict:
    context = sample_context(kind)
    context.update(today=context["start"] + timedelta(days=days), days_left=-days)
    return context


@pytest.mark.parametrize("kind", ["overdue", "upcoming"])  # an upcoming reminder sent late says so too
def test_negative_days_left_reads_as_overdue(templates: Templates, kind: str):
    rendered = templates.render(kind, overdue_context(kind, 2))
    assert "(đã quá hạn 2 ngày)" in rendered.text
    assert "Đến nay, báo cáo đã quá hạn 2 ngày" in rendered.text
    assert "còn" not in rendered.subject and rendered.subject.startswith("Quá hạn 2 ngày: ")
    assert rendered.short.startswith("Quá hạn 2 ngày: Báo cáo kết quả thực hiện 01 năm")
    assert "quá hạn 2 ngày" in rendered.html


def test_deadline_on_a_day_off_mentions_the_effective_due_date(templates: Templates):
    saturday, monday = date(2026, 10, 10), date(2026, 10, 12)
    context = sample_context("upcoming")
    context.update(start=saturday, end=saturday, effective_due=monday, today=date(2026, 10, 3), days_left=7)
    text = templates.render("upcoming", context).text
    assert "Hạn gửi báo cáo: Thứ Bảy, 10/10/2026 (còn 7 ngày)" in text
    assert "Ngày 10/10/2026 là ngày nghỉ nên hạn được tính đến hết Thứ Hai, 12/10/2026." in text

    context.update(today=date(2026, 10, 11), days_left=-1, kind="overdue")  # Sunday: not late yet
    rendered = templates.render("overdue", context)
    assert "quá hạn" not in rendered.text and "còn 1 ngày" in rendered.text
    assert "chậm nhất trong ngày Thứ Hai, 12/10/2026" in rendered.text
    assert rendered.subject.endswith("hạn được tính đến hết 12/10/2026")

    context.update(today=date(2026, 10, 13), days_left=-3)  # Tuesday: one day after Monday
    assert "(đã quá hạn 1 ngày)" in templates.render("overdue", context).text


@pytest.mark.parametrize("kind", REMINDER_KINDS)
def test_no_link_means_no_link_text(templates: Templates, kind: str):
    context = {**sample_context(kind), "confirm_url": None, "calendar_url": None}
    rendered = templates.render(kind, context)
    for output in (rendered.text, rendered.short, rendered.html):
        assert "Xác nhận" not in output and "None" not in output
    assert "<a " not in rendered.html


def test_sparse_context_reads_cleanly(templates: Templates):
    context = sample_context("upcoming")
    context.update(
        plan={**context["plan"], "number": None, "issuer": ""},
        contact={"name": "", "role": "focal"},
        to_agency=None,
        via_agency=None,
        focal_agency="",
    )
    rendered = templates.render("upcoming", context)
    assert rendered.text.startswith("Kính gửi: UBND huyện A Lưới\n")
    assert (
        "Theo Kế hoạch thực hiện công tác bình đẳng giới và vì sự tiến bộ của phụ nữ tỉnh năm 2020, quý"
        in rendered.text
    )
    assert "Nơi nhận" not in rendered.text and "()" not in rendered.subject + rendered.short


# --- SMS ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_sms_fits_one_message_with_the_link(templates: Templates, kind: str):
    rendered = templates.render(kind, sample_context(kind))
    assert rendered.short_ascii.isascii()
    assert len(rendered.short_ascii) <= 160
    if kind in DEADLINE_KINDS:
        assert rendered.short_ascii.endswith(URL)


# --- escaping ----------------------------------------------------------------------------


def test_html_is_escaped_and_text_is_not(templates: Templates):
    context = sample_context("upcoming")
    context["plan"] = {**context["plan"], "title": "Kế hoạch <script>alert('x')</script> & cộng sự"}
    context["item"] = {**context["item"], "title": 'Báo cáo "<b>năm</b>"'}
    context["agency"] = {"id": "x", "name": "UBND <i>xã</i>"}
    rendered = templates.render("upcoming", context)
    assert "<script>" not in rendered.html and "<b>" not in rendered.html and "<i>" not in rendered.html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; cộng sự" in rendered.html
    assert "&lt;b&gt;năm&lt;/b&gt;" in rendered.html and "UBND &lt;i&gt;xã&lt;/i&gt;" in rendered.html
    assert "<script>alert('x')</script> & cộng sự" in rendered.text  # plain text stays plain
    assert 'Báo cáo "<b>năm</b>"' in rendered.subject


def test_subject_is_one_line(templates: Templates):
    context = sample_context("upcoming")
    context["item"] = {**context["item"], "title": "Báo cáo\nkết quả   thực hiện"}
    assert templates.render("upcoming", context).subject.startswith(
        "Nhắc hạn báo cáo: Báo cáo kết quả thực hiện ("
    )


# --- overrides ----------------------------------------------------------------------------


def test_kind_specific_override_applies_to_that_kind_only(tmp_path: Path, templates: Templates):
    write(tmp_path, "upcoming.subject.txt.j2", "[{{ plan.number }}]  Sắp đến hạn:\n{{ item.title }}\n")
    custom = Templates(tmp_path)
    assert custom.render("upcoming", SAMPLE_CONTEXT).subject == (
        "[72/KH-UBND] Sắp đến hạn: Báo cáo kết quả thực hiện 01 năm"
    )
    due = sample_context("due")
    assert custom.render("due", due).subject == templates.render("due", due).subject
    assert custom.render("upcoming", SAMPLE_CONTEXT).text == templates.render("upcoming", SAMPLE_CONTEXT).text


def test_generic_override_does_not_replace_a_kind_specific_default(tmp_path: Path, templates: Templates):
    write(tmp_path, "short.txt.j2", "{{ item.title }} - {{ start | ngay }}")
    custom = Templates(tmp_path)
    assert custom.render("upcoming", SAMPLE_CONTEXT).short == "Báo cáo kết quả thực hiện 01 năm - 10/12/2026"
    escalation = sample_context("escalation")
    assert custom.render("escalation", escalation).short == templates.render("escalation", escalation).short


def test_shared_layout_can_be_overridden(tmp_path: Path):
    write(
        tmp_path,
        "_khung.html.j2",
        "<!DOCTYPE html><html><body><h1>Sở LĐTBXH</h1>{% block noi_dung %}{% endblock %}</body></html>",
    )
    custom = Templates(tmp_path)
    for kind in ("upcoming", "escalation", "digest"):
        assert "<h1>Sở LĐTBXH</h1>" in custom.render(kind, sample_context(kind)).html


def test_dotfiles_are_ignored_and_a_missing_directory_means_defaults(tmp_path: Path, templates: Templates):
    write(tmp_path, ".gitkeep", "")
    assert Templates(tmp_path).render("due", sample_context("due")) == templates.render(
        "due", sample_context("due")
    )
    assert Templates(tmp_path / "khong-co").render("upcoming", SAMPLE_CONTEXT).subject


def test_what_was_validated_is_what_is_rendered(tmp_path: Path):
    path = write(tmp_path, "upcoming.subject.txt.j2", "Bản đã kiểm tra")
    custom = Templates(tmp_path)
    path.write_text("{{ hong }", encoding="utf-8")  # edited after loading: takes effect at the next load
    assert custom.render("upcoming", SAMPLE_CONTEXT).subject == "Bản đã kiểm tra"


# --- load-time validation ------------------------------------------------------------------


def test_syntax_error_names_the_file_and_line(tmp_path: Path):
    path = write(tmp_path, "due.email.txt.j2", "Kính gửi: {{ agency.name }}\n\nHạn: {{ start | ngay }\n")
    [error] = invalid(tmp_path)
    assert error.startswith(f"{path}:3: lỗi cú pháp:")


def test_unknown_variable_is_caught_at_load_even_in_a_branch_not_taken(tmp_path: Path):
    path = write(
        tmp_path,
        "overdue.short.txt.j2",
        "{{ item.title }}\n{% if days_left > 1000 %}\n{{ so_ngay_con }}\n{% endif %}\n",
    )
    [error] = invalid(tmp_path)
    assert error.startswith(f"{path}:3: biến 'so_ngay_con' không có trong ngữ cảnh")
    assert "days_left" in error  # lists what there is


def test_undefined_attribute_is_caught_at_load_with_its_line(tmp_path: Path):
    path = write(tmp_path, "email.txt.j2", "Kính gửi: {{ agency.name }}\n\n\n{{ plan.so_hieu }}\n")
    errors = invalid(tmp_path)
    assert len(errors) == 1
    assert errors[0].startswith(f"{path}:4: không có thuộc tính 'so_hieu'")
    assert "khi dựng mẫu cho loại: upcoming, due" in errors[0]


def test_undefined_in_an_included_part_names_that_part(tmp_path: Path):
    partial = write(tmp_path, "_rieng.j2", "{% set a = 1 %}\n{% set tieu_de = 'Về ' ~ item.tieu_de %}\n")
    write(tmp_path, "subject.txt.j2", '{% import "_rieng.j2" as r with context %}{{ r.tieu_de }}')
    [error] = invalid(tmp_path)
    assert error.startswith(f"{partial}:2: ")


def test_digest_templates_are_checked_against_the_digest_context(tmp_path: Path):
    path = write(tmp_path, "digest.subject.txt.j2", "Tổng hợp cho {{ agency.name }}")
    [error] = invalid(tmp_path)
    assert error.startswith(f"{path}:1: biến 'agency' không có trong ngữ cảnh")


def test_unknown_file_name_is_an_error(tmp_path: Path):
    path = write(tmp_path, "upcomming.subject.txt.j2", "Nhắc hạn")
    [error] = invalid(tmp_path)
    assert error.startswith(f"{path}:1: không phải tên mẫu hợp lệ (có phải là 'upcoming.subject.txt.j2'?)")
    assert "các tên hợp lệ: subject.txt.j2, email.txt.j2, email.html.j2, short.txt.j2" in error
    write(tmp_path, "upcomming.subject.txt.j2", "").unlink()
    write(tmp_path, "ghi-chu.txt", "")
    assert "không phải tên mẫu hợp lệ" in invalid(tmp_path)[0]


def test_all_errors_are_reported_together(tmp_path: Path):
    write(tmp_path, "due.subject.txt.j2", "{% if %}")
    write(tmp_path, "sai-ten.j2", "")
    errors = invalid(tmp_path)
    assert len(errors) == 2
    with pytest.raises(TemplateInvalid) as caught:
        Templates(tmp_path)
    assert str(caught.value) == "\n".join(errors)


def test_empty_output_is_an_error(tmp_path: Path):
    path = write(tmp_path, "announce.subject.txt.j2", "{# chưa viết #}")
    [error] = invalid(tmp_path)
    assert error.startswith(f"{path}:1: mẫu cho ra nội dung rỗng") and "announce" in error


def test_sandbox_refuses_python_internals(tmp_path: Path):
    path = write(tmp_path, "due.short.txt.j2", "{{ plan.__class__.__mro__ }}")
    [error] = invalid(tmp_path)
    assert error.startswith(f"{path}:1: không được phép trong mẫu: access to attribute '__class__'")


def test_every_faulty_file_is_reported_not_just_the_first(tmp_path: Path):
    broken = [
        write(tmp_path, "email.txt.j2", "{{ item.title | ngay }}"),
        write(tmp_path, "due.short.txt.j2", "{{ agency.ten }}"),
        write(tmp_path, "sai.txt", ""),
    ]
    errors = invalid(tmp_path)
    assert sorted(error.split(":")[0] for error in errors) == sorted(str(path) for path in broken)
    assert any("bộ lọc 'ngay' cần một ngày" in error for error in errors)


# --- send time ------------------------------------------------------------------------------


def test_render_errors_at_send_time_say_where(templates: Templates):
    context = sample_context("upcoming")
    del context["agency"]
    with pytest.raises(
        TemplateRenderError, match=r"_chung\.j2:\d+: biến 'agency' không xác định; các biến có"
    ):
        templates.render("upcoming", context)
    with pytest.raises(ValueError, match="loại nhắc việc không hợp lệ"):
        templates.render("reminder", SAMPLE_CONTEXT)


# --- digest -----------------------------------------------------------------------------------


def test_digest_lists_units_by_status_and_delivery_failures(templates: Templates):
    rendered = templates.render("digest", SAMPLE_DIGEST)
    assert rendered.subject == (
        "Tổng hợp tình hình báo cáo ngày 11/12/2026 – Kế hoạch 72/KH-UBND: 3/9 đã báo cáo, 2 quá hạn, 1 sắp đến hạn"
    )
    text = rendered.text
    assert "- Đã báo cáo: 3/9 (muộn: 1)\n- Quá hạn, chưa báo cáo: 2\n- Sắp đến hạn: 1\n" in text
    # Grouped by deadline, in the order of their dates, the overdue agencies named first.
    first, second, third = (text.index(f"{n}. HẠN {d}/12/2026") for n, d in ((1, 10), (2, 15), (3, 19)))
    assert first < second < third
    assert "1. HẠN 10/12/2026 – Báo cáo kết quả thực hiện 01 năm\n   3/6 đã báo cáo, 2 quá hạn\n" in text
    assert "   Quá hạn, chưa báo cáo:\n   - Sở Tài chính\n   - UBND huyện A Lưới\n" in text
    assert "   - UBND thành phố Huế, xác nhận bởi Lê Văn Nam lúc 08:30 11/12/2026" in text
    assert "Sở Y tế (Nguyễn Thị Hoa, 09:15 08/12/2026)" in text  # who confirmed, and when
    assert "   - UBND huyện Nam Đông: gia hạn đến 18/12/2026" in text
    assert "   Được miễn:\n   - UBND huyện Phong Điền" in text
    assert "(trùng ngày nghỉ, hạn thực tế Thứ Hai, 21/12/2026)" in text
    assert "UBND huyện Phú Lộc (từ sau 30/06/2025; nay là UBND thị xã Phú Lộc)" in text
    assert "   Trong hạn, chưa báo cáo: 2 đơn vị\n" in text  # nothing to do yet: counted only
    assert "   Sắp đến hạn, chưa báo cáo: 1 đơn vị: Sở Lao động - Thương binh" in text
    assert "- UBND huyện A Lưới – Báo cáo kết quả thực hiện 01 năm: sms +84900000208: thuê bao" in text
    html = rendered.html
    assert "<table" not in html.split("Tổng hợp hằng ngày", 1)[1]  # blocks, no wide table
    assert html.count("border-left:4px solid") == len(SAMPLE_DIGEST["deadlines"])
    assert "Không gửi được: sms +84900000208" in html and "Nguyễn Thị Hoa, 09:15 08/12/2026" in html
    assert "<strong>3/6 đã báo cáo</strong>" in html and "2 quá hạn</span>" in html
    assert "• UBND huyện A Lưới" in html and "• Sở Tài chính" in html
    assert rendered.short == (
        "Tổng hợp KH 72/KH-UBND ngày 11/12/2026: 3/9 đã báo cáo, 2 quá hạn, 1 sắp đến hạn. Chi tiết trong thư điện tử."
    )


def test_digest_without_rows(templates: Templates):
    context = digest_sample({**SAMPLE_DIGEST, "alerts": []}, [])
    rendered = templates.render("digest", context)
    assert "Không có hạn báo cáo nào trong khoảng thời gian theo dõi." in rendered.text
    assert "Không có hạn báo cáo nào" in rendered.html and "border-left" not in rendered.html
    assert "0/0 đã báo cáo, 0 quá hạn" in rendered.subject


# --- filters and unaccent ----------------------------------------------------------------------


def test_date_filters():
    assert ngay(date(2026, 6, 5)) == "05/06/2026"
    assert thu(date(2026, 12, 10)) == "Thứ Năm"
    assert thu(date(2026, 12, 13)) == "Chủ nhật"
    assert [thu(date(2026, 12, 7) + timedelta(days=i)) for i in range(6)] == [
        "Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy",
    ]  # fmt: skip
    assert ngay_day_du(date(2026, 12, 10)) == "Thứ Năm, 10/12/2026"
    assert ngay_day_du(datetime(2026, 12, 10, 8, 0)) == "Thứ Năm, 10/12/2026"
    with pytest.raises(TypeError, match="cần một ngày"):
        ngay("10/12/2026")


def test_unaccent():
    assert (
        unaccent("Đề nghị Sở Lao động – Thương binh và Xã hội gửi báo cáo")
        == "De nghi So Lao dong – Thuong binh va Xa hoi gui bao cao"
    )
    assert unaccent("ĐỒNG ĐĂNG, đường Trường Sơn; Quảng Ngãi") == "DONG DANG, duong Truong Son; Quang Ngai"
    decomposed = unicodedata.normalize("NFD", "Thừa Thiên Huế")  # text typed with combining marks
    assert unaccent(decomposed) == "Thua Thien Hue"


VOWELS = (
    "aàáảãạ" "ăằắẳẵặ" "âầấẩẫậ" "eèéẻẽẹ" "êềếểễệ" "iìíỉĩị"
    "oòóỏõọ" "ôồốổỗộ" "ơờớởỡợ" "uùúủũụ" "ưừứửữự" "yỳýỷỹỵ"
)  # fmt: skip
LETTERS = VOWELS + "bcdđghklmnpqrstvx" + "fjwz"
VIETNAMESE = LETTERS + LETTERS.upper() + " .,;:!?-()/\"'0123456789"


def test_the_alphabet_is_complete():
    assert len(VOWELS) == 72 and len(set(VOWELS)) == 72 and "Đ" in VIETNAMESE


@given(st.text(alphabet=VIETNAMESE))
def test_unaccent_gives_ascii_letter_for_letter(text: str):
    plain = unaccent(text)
    assert plain.isascii()
    assert len(plain) == len(text)
    assert unaccent(plain) == plain
    assert unaccent(unicodedata.normalize("NFD", text)) == plain
    for original, stripped in zip(text, plain, strict=True):
        assert stripped.isalpha() == original.isalpha()
        assert stripped.isupper() == original.isupper()


# --- packaging -------------------------------------------------------------------------------------


def test_default_files_have_valid_names_and_match_the_package_data_glob():
    files = sorted(path.name for path in DEFAULTS_DIR.iterdir())
    assert files and all(Path(name).match("*.j2") and is_valid_name(name) for name in files)
    assert {"subject.txt.j2", "email.txt.j2", "email.html.j2", "short.txt.j2"} <= set(files)


LATIN = st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0x24F),  # Latin, with its extensions
    st.characters(min_codepoint=0x300, max_codepoint=0x36F),  # combining diacritical marks
    st.characters(min_codepoint=0x1E00, max_codepoint=0x1EFF),  # Latin Extended Additional (ạ, ế, ữ …)
)


@settings(max_examples=500)
@given(st.text(alphabet=LATIN))
def test_unaccent_is_the_whole_text_without_its_marks(text: str):
    """Character by character (cached) gives what decomposing the whole text gives, for the
    Latin script, precomposed or decomposed (other scripts compose across characters)."""
    strokes = str.maketrans({"đ": "d", "Đ": "D", "\u00d0": "D", "\u00f0": "d"})
    decomposed = unicodedata.normalize("NFD", text.translate(strokes))
    expected = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    assert unaccent(text) == unicodedata.normalize("NFC", expected)


# --- renders shared between recipients (scheduler/render/shared_renders.py) --------------------------

OTHER_RECIPIENT = {
    **SAMPLE_CONTEXT,
    "agency": {"id": "tth-ubnd-x-huong-phong", "name": "UBND xã Hương Phong"},
    "contact": {"name": "Chị Lan", "role": "focal"},
    "confirm_url": "https://nhacviec.hue.gov.vn/x/2s.8z7.AbCdEfGhIjKl",
}


def test_a_short_text_is_rendered_once_for_every_recipient_of_the_same_deadline():
    templates = Templates(None)
    first = templates.render("upcoming", SAMPLE_CONTEXT, ("short.txt",))
    second = templates.render("upcoming", OTHER_RECIPIENT, ("short.txt",))
    assert len(templates._kept) == 1
    assert first.short.endswith(f": {URL}") and second.short.endswith(f": {OTHER_RECIPIENT['confirm_url']}")
    assert first.short.replace(URL, "") == second.short.replace(OTHER_RECIPIENT["confirm_url"], "")
    assert second == templates._render("upcoming", OTHER_RECIPIENT, ("short.txt",))  # as rendered alone
    later = {**OTHER_RECIPIENT, "days_left": 3}
    assert "còn 3 ngày" in templates.render("upcoming", later, ("short.txt",)).short
    assert len(templates._kept) == 2


def test_renders_that_read_the_recipient_are_not_shared(templates: Templates):
    e_mail = templates.render("upcoming", OTHER_RECIPIENT, ("email.txt",))
    assert "UBND xã Hương Phong" in e_mail.text and OTHER_RECIPIENT["confirm_url"] in e_mail.text
    assert templates._shared_reads("upcoming", ("email.txt",)) is None
    assert templates._shared_reads("escalation", ("short.txt",)) is None  # it names the agency


@pytest.mark.parametrize(
    ("template", "shown"),
    [  # the link changed by a filter; a file included that may be missing (so not analysed)
        ('{{ item.title }} {{ confirm_url | replace("https://", "") if confirm_url }}', "replaced"),
        ('{% include "_khong-co.j2" ignore missing %}{{ item.title }} {{ confirm_url }}', "as is"),
    ],
)
def test_templates_the_marker_cannot_stand_in_are_rendered_for_each_message(
    tmp_path: Path, template: str, shown: str
):
    write(tmp_path, "short.txt.j2", template)
    templates = Templates(tmp_path)
    texts = [templates.render("upcoming", c, ("short.txt",)).short for c in (SAMPLE_CONTEXT, OTHER_RECIPIENT)]
    assert texts == [
        f"{SAMPLE_CONTEXT['item']['title']} {url.removeprefix('https://') if shown == 'replaced' else url}"
        for url in (URL, OTHER_RECIPIENT["confirm_url"])
    ]
    assert templates._kept == {}


def test_a_shared_html_render_gets_each_link_escaped(tmp_path: Path):
    write(
        tmp_path,
        "email.html.j2",
        '<p>{{ item.title }}</p>{% if confirm_url %}<a href="{{ confirm_url }}">x</a>{% endif %}',
    )
    templates = Templates(tmp_path)
    link = "https://nhacviec.example/x/1.2.3?a=1&b=<2>"
    html = templates.render("upcoming", {**OTHER_RECIPIENT, "confirm_url": link}, ("email.html",)).html
    assert html.endswith('<a href="https://nhacviec.example/x/1.2.3?a=1&amp;b=&lt;2&gt;">x</a>')
    assert (
        html == templates._render("upcoming", {**OTHER_RECIPIENT, "confirm_url": link}, ("email.html",)).html
    )
    assert len(templates._kept) == 1
