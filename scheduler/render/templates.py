"""Message templates: one reminder or digest → subject, e-mail text and HTML, short text.

Templates are Jinja2 files rendered in a sandbox with `StrictUndefined`. The defaults
ship in `scheduler/render/message_templates/`; a deployment overrides any of them by putting
a file of the same name in its override directory (`config/templates/`).

File names
----------
For each output a kind-specific file wins over the generic one: the subject of an
`upcoming` reminder comes from `upcoming.subject.txt.j2` if such a file exists (in the
override directory or among the defaults), otherwise from `subject.txt.j2`.

- outputs: `subject.txt` (e-mail subject, one line), `email.txt` (plain text body),
  `email.html` (HTML body), `short.txt` (Zalo and SMS, one paragraph, aim for ≤ 160
  characters without diacritics, link included);
- kinds: `upcoming`, `due`, `overdue`, `escalation` (deadlines), `prepare`, `start`,
  `closing` (windows), `announce` (observances) and `digest` (the daily digest to the
  focal agency, with its own context);
- shared parts: files whose name starts with `_` (`_chung.j2`, `_khung.html.j2`), used
  through `{% import %}` / `{% extends %}`; they may be overridden too.

The defaults have kind-specific files only for `escalation` (it addresses the
agency's leader) and `digest`; the generic files cover the other kinds. Any other
name in the override directory is an error. Files ending in `.html.j2` are
HTML-escaped automatically, the others are not. The shared text part `_chung.j2`
only sets variables (plain strings, so they are escaped when an HTML file prints
them); do not define macros in a text file for use in HTML: a macro's output is not
escaped by the HTML file that calls it.

Whitespace: the subject and the short text are collapsed to one line; in the text
body trailing spaces are dropped and runs of blank lines become one.

Filters: `ngay` (date → "10/12/2026"), `thu` (date → "Thứ Năm"; Sunday is
"Chủ nhật"), `ngay_day_du` (date → "Thứ Năm, 10/12/2026"), `webcal` (a feed's https link →
"webcal://…", which calendar applications open as a subscription).

Context of a reminder (the contract `scheduler.render.messages` fills)
----------------------------------------------------------------
- `kind`: str, one of the reminder kinds above
- `plan`: {`id`, `number` (str or None), `title`, `issuer`}
- `item`: {`id`, `title`, `kind`: "deadline" | "window" | "observance"}
- `start`: date: the deadline, the window's first day or the observance day
- `end`: date: the window's last day; equal to `start` otherwise
- `effective_due`: date: the next working day when the deadline falls on a day off,
  else equal to `start`
- `days_left`: int: `start − today` in days, negative once `start` has passed
- `agency`: {`id`, `name`}: the agency that owes the report
- `contact`: {`name`, `role`: "focal" | "leader"}: the recipient
- `to_agency`: str or None: the agency the report goes to
- `via_agency`: str or None: the agency it goes through (to be consolidated)
- `focal_agency`: str: the plan's consolidating agency (may be "")
- `confirm_url`: str or None: the link to confirm "đã gửi báo cáo" (None for most
  windows and observances)
- `today`: date: the day of sending (Asia/Ho_Chi_Minh)
- `data_period`: {`start`, `end` (dates), `name`} or None: the data a periodic report of Decree
  09/2019/NĐ-CP covers ("Số liệu từ 15/12/2025 đến 14/06/2026"), and the period's name, with
  which the item's title ends ("6 tháng đầu năm 2026"); None for other deadlines
- `calendar_url`: str or None: the https link of the agency's calendar feed (`/lich/<token>.ics`,
  for "Đăng ký lịch"); e-mails only, None on other channels and in previews

Context of the digest (`scheduler.dispatch.digest.digest_context`)
---------------------------------------------------------
Statuses are the codes of `scheduler.outbox.status.AgencyStatus`: "on_time" (đã báo cáo đúng
hạn), "late" (đã báo cáo muộn), "open" (trong hạn), "due_soon" (sắp đến hạn), "overdue" (quá
hạn), "waived" (được miễn), "extended" (gia hạn đến …), "untracked" (không theo dõi: the deadline
had passed when it was first planned, never late), "ended" (đơn vị đã giải thể / sáp nhập).

- `plan`: {`id`, `number`, `title`, `issuer`}; `focal_agency`: str; `today`: date
- `rows`: list of {`agency`: str (the name of the time: as when the deadline was planned),
  `item`: str, `start`: date (the deadline), `effective_due`: date (the day it is judged
  against: the next working day when it falls on a day off, or the extension's),
  `status`: a status code, `label`: str (its words: "Quá hạn", "Gia hạn đến 18/12/2026" …),
  `confirmed_by`: str or None, `confirmed_at`: str or None ("09:15 08/12/2026"), `failures`:
  list of str, `note`: str or None (for "ended": since when and the successor, "từ sau
  30/06/2025; nay là …")}
- `deadlines`: the same rows grouped by deadline, in the order of their dates: list of
  {`item`: str, `start`: date, `effective_due`: date, `reported`: int, `expected`: int,
  `progress`: str ("3/5 đã báo cáo"), `counts`: {status code: int, `reported`, `expected`},
  `late`: list of str (the overdue agencies' names), `rows`: its rows, the overdue first}
- `counts`: {every status code: int, `reported`: int (on time + late), `expected`: int (every
  status but waived, ended and untracked)}
- `alerts`: list of str: problems of the channels only the operator can fix (a Zalo
  token to authorize again …), each "channel: what to do"; usually empty
- `board_url`: str or None: the signed, expiring (14 days) read-only link to the plan's board
  (`/ke-hoach/<plan>?xem=…`), which opens that plan's pages without an account; None in previews
- `calendar_url`: str or None: the https link of the plan's calendar feed; None in previews

Validation at load time
-----------------------
`Templates(...)` compiles every template, checks that the names a template reads
from the context exist in its contract, and renders every kind with realistic
sample contexts (`SAMPLE_CONTEXTS`, `SAMPLE_DIGEST` and sparse variants: no plan
number, no recipient agency, no link …). Any problem raises `TemplateInvalid`, whose
`errors` read `file:line: message`, so a bad template never reaches send time.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
    UndefinedError,
    meta,
    nodes,
)
from jinja2.exceptions import SecurityError
from jinja2.runtime import Undefined

from notifiers.text import unaccent
from scheduler.plan.kinds import RUNG_KINDS, ReminderKind
from scheduler.render import shared_renders
from scheduler.render.samples import variants
from scheduler.render.sandbox import Sandbox, imported_parts

DEFAULTS_DIR = Path(__file__).parent / "message_templates"
SUFFIX = ".j2"

REMINDER_KINDS: tuple[str, ...] = RUNG_KINDS
DIGEST = ReminderKind.DIGEST
KINDS = (*REMINDER_KINDS, DIGEST)

OUTPUTS = ("subject.txt", "email.txt", "email.html", "short.txt")

_UNDEFINED = re.compile(r"'(\w+)' is undefined")
_NO_ATTRIBUTE = re.compile(r"'(.+)' has no attribute '(.+)'")
_EXTRA_DOTS = re.compile(r"\.{4,}")
_PARTIAL = re.compile(r"_[a-z0-9][a-z0-9_-]*(\.txt|\.html)?\.j2")
SMS_LIMIT = 160
RECIPIENT = frozenset({"agency", "contact"})  # a template reading these renders for each recipient

REMINDER_KEYS = frozenset(
    {
        "kind", "plan", "item", "start", "end", "effective_due", "days_left", "agency", "contact",
        "to_agency", "via_agency", "focal_agency", "confirm_url", "today", "data_period", "calendar_url",
    }
)  # fmt: skip
DIGEST_KEYS = frozenset(
    {"plan", "focal_agency", "today", "deadlines", "rows", "counts", "alerts", "board_url", "calendar_url"}
)


# --- text helpers -------------------------------------------------------------------


WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")


def _as_date(value: Any, name: str) -> date:
    if isinstance(value, Undefined):
        str(value)  # StrictUndefined raises the usual "'x' is undefined"
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    raise TypeError(f"bộ lọc '{name}' cần một ngày (date), nhận được {value!r}")


def ngay(value: Any) -> str:
    """date → "10/12/2026"."""
    return _day_month_year(_as_date(value, "ngay"))


@lru_cache(maxsize=4096)
def _day_month_year(day: date) -> str:
    """Remembered: each message formats several dates, and the messages sent together share few."""
    return day.strftime("%d/%m/%Y")


def thu(value: Any) -> str:
    """date → "Thứ Năm" … "Chủ nhật"."""
    return WEEKDAYS[_as_date(value, "thu").weekday()]


def ngay_day_du(value: Any) -> str:
    """date → "Thứ Năm, 10/12/2026"."""
    day = _as_date(value, "ngay_day_du")
    return f"{WEEKDAYS[day.weekday()]}, {_day_month_year(day)}"


def webcal(value: Any) -> str:
    """A feed's link as `webcal://` ("https://x/lich/t.ics" → "webcal://x/lich/t.ics"), which a
    calendar application subscribes to on a click; webmail may not follow it, so the e-mails
    give the https link too."""
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise TypeError(f"bộ lọc 'webcal' cần một liên kết http(s), nhận được {value!r}")
    return "webcal://" + value.split("://", 1)[1]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _finish(out: Mapping[str, str]) -> Rendered:
    """The rendered outputs, whitespace tidied: one-line subject and short text, tidy body.
    Outputs that were not rendered stay empty."""
    short = _EXTRA_DOTS.sub(
        "...", _one_line(out.get("short.txt", ""))
    )  # "vi..." + "." from a truncated title
    return Rendered(
        subject=_one_line(out.get("subject.txt", "")),
        text=_tidy_text(out.get("email.txt", "")),
        html=out.get("email.html", "").strip(),
        short=short,
        short_ascii=unaccent(short),
    )


def _tidy_text(text: str) -> str:
    lines: list[str] = []
    for line in text.splitlines():
        line = line.rstrip()
        if line or (lines and lines[-1]):
            lines.append(line)
    return "\n".join(lines).strip("\n")


# --- results and errors -------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    short: str
    short_ascii: str


NOTHING = Rendered(subject="", text="", html="", short="", short_ascii="")


class TemplateInvalid(Exception):
    """The templates cannot be used; `errors` are lines `file:line: message`."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


class TemplateRenderError(Exception):
    """Rendering failed at send time (a context the samples did not foresee)."""


# --- names ----------------------------------------------------------------------------


def template_names(kind: str, output: str) -> list[str]:
    """The files looked up for one output of one kind, in order."""
    return [f"{kind}.{output}{SUFFIX}", f"{output}{SUFFIX}"]


VALID_NAMES = frozenset(
    [f"{output}{SUFFIX}" for output in OUTPUTS]
    + [f"{kind}.{output}{SUFFIX}" for kind in KINDS for output in OUTPUTS]
)


def is_valid_name(name: str) -> bool:
    return name in VALID_NAMES or _PARTIAL.fullmatch(name) is not None


def _invalid_name_error(path: Path) -> str:
    hint = difflib.get_close_matches(path.name, sorted(VALID_NAMES), n=1, cutoff=0.75)
    suggestion = f" (có phải là '{hint[0]}'?)" if hint else ""
    generic = ", ".join(f"{output}{SUFFIX}" for output in OUTPUTS)
    return (
        f"không phải tên mẫu hợp lệ{suggestion}; các tên hợp lệ: {generic}, "
        f"hoặc <loại>.<tên> với loại là {', '.join(KINDS)} (ví dụ upcoming.subject.txt.j2), "
        "hoặc phần dùng chung bắt đầu bằng '_' (ví dụ _chung.j2)"
    )


def _autoescape(name: str | None) -> bool:
    return name is not None and name.endswith(f".html{SUFFIX}")


# --- the templates ----------------------------------------------------------------------


class Templates:
    """The deployment's message templates, validated once; `render` turns a context into text."""

    def __init__(self, override_dir: Path | None) -> None:
        self.override_dir = override_dir if override_dir is not None and override_dir.is_dir() else None
        loaders: list[BaseLoader] = []
        if self.override_dir is not None:
            loaders.append(FileSystemLoader(self.override_dir))
        loaders.append(FileSystemLoader(DEFAULTS_DIR))
        self.env = Sandbox(
            loader=ChoiceLoader(loaders),
            undefined=StrictUndefined,
            autoescape=_autoescape,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,  # what was validated is what is sent, until the next load
            cache_size=-1,
        )
        self.env.filters.update(ngay=ngay, thu=thu, ngay_day_du=ngay_day_du, webcal=webcal)
        self.warnings: list[str] = []
        self._errors: dict[str, tuple[str, list[str]]] = {}  # where → (message, kinds)
        self._filenames: set[str] = set()
        self._chosen: dict[tuple[str, str], Template] = {}
        self._reads: dict[tuple[str, str], frozenset[str]] = {}  # of the renders shared between recipients
        self._reads_of_outputs: dict[tuple[str, tuple[str, ...]], tuple[str, ...] | None] = {}
        self._kept: dict[Any, Rendered] = {}
        self._check_names()
        if self._compile_all():
            self._render_samples()
            if not self._errors:
                self._check_shared()
        if self._errors:
            raise TemplateInvalid(
                [
                    f"{where}: {message}" + (f" (khi dựng mẫu cho loại: {', '.join(kinds)})" if kinds else "")
                    for where, (message, kinds) in self._errors.items()
                ]
            )

    # --- rendering ---------------------------------------------------------------

    def render(self, kind: str, context: Mapping[str, Any], outputs: Collection[str] = OUTPUTS) -> Rendered:
        """Render `outputs` (by default all four) for `kind`; the others stay empty.
        Raises TemplateRenderError (`file:line: …`) on failure."""
        if kind not in KINDS:
            raise ValueError(f"loại nhắc việc không hợp lệ: {kind!r}; các loại: {', '.join(KINDS)}")
        if not outputs:  # a channel that sends fields, not text (Zalo ZNS)
            return NOTHING
        names = self._shared_reads(kind, outputs)
        key = None if names is None else shared_renders.key(kind, outputs, names, context)
        if key is None:
            return self._render(kind, context, outputs)
        rendered = self._kept.get(key)
        if rendered is None:
            if len(self._kept) >= shared_renders.MAX_KEPT:
                self._kept.clear()
            rendered = self._kept[key] = self._render(kind, shared_renders.with_marker(context), outputs)
        return shared_renders.with_link(rendered, context.get(shared_renders.LINK))

    def _render(self, kind: str, context: Mapping[str, Any], outputs: Collection[str]) -> Rendered:
        values = dict(context)
        imported = imported_parts.set({})  # the outputs share what they import (sandbox.py)
        try:
            return _finish({output: self._chosen[kind, output].render(values) for output in outputs})
        except Exception as exc:
            where, message = self._describe(exc, values)
            raise TemplateRenderError(f"{where}: {message}") from exc
        finally:
            imported_parts.reset(imported)

    def _shared_reads(self, kind: str, outputs: Collection[str]) -> tuple[str, ...] | None:
        """The context names the outputs' templates read, if their renders are shared between
        recipients (`scheduler.render.shared_renders`); None if they are not."""
        wanted = (kind, tuple(outputs))
        if wanted not in self._reads_of_outputs:
            each = [self._reads.get((kind, output)) for output in outputs]
            known = [names for names in each if names is not None]
            shared = len(known) == len(each)
            self._reads_of_outputs[wanted] = tuple(sorted(set().union(*known))) if shared else None
        return self._reads_of_outputs[wanted]

    def _check_shared(self) -> None:
        """Which (kind, output) renders are shared between recipients: those whose templates do not
        read the recipient, print the link as it is, and give the same text both ways for
        every sample context."""
        reads: dict[str, frozenset[str] | None] = {}
        trees: dict[str, nodes.Template] = {}
        for kind in REMINDER_KINDS:
            for output in OUTPUTS:
                name = self._chosen[kind, output].name or ""
                if name not in reads:
                    names = shared_renders.reads(self.env, name, trees)
                    reads[name] = None if names is None or names & RECIPIENT else names
                names_read = reads[name]
                if names_read is not None and self._same_both_ways(kind, output):
                    self._reads[kind, output] = names_read

    def _same_both_ways(self, kind: str, output: str) -> bool:
        for context in variants(kind):
            link = context.get(shared_renders.LINK)
            once = self._render(kind, shared_renders.with_marker(context), (output,))
            if shared_renders.with_link(once, link) != self._render(kind, context, (output,)):
                return False
        return True

    def template_for(self, kind: str, output: str) -> str:
        """The file that renders `output` for `kind` (for the operator's information)."""
        template = self._chosen[kind, output]
        return template.filename or template.name or "?"

    # --- validation ----------------------------------------------------------------

    def _error(self, where: str, message: str, kind: str | None = None) -> None:
        """Record one error per place (file:line), with the kinds it showed up for."""
        _, kinds = self._errors.setdefault(where, (message, []))
        if kind is not None and kind not in kinds:
            kinds.append(kind)

    def _check_names(self) -> None:
        if self.override_dir is None:
            return
        for path in sorted(self.override_dir.iterdir()):
            if path.name.startswith("."):  # .gitkeep, editor and OS files
                continue
            if not path.is_file() or not is_valid_name(path.name):
                self._error(f"{path}:1", _invalid_name_error(path))

    def _compile_all(self) -> bool:
        """Compile every template and choose one per (kind, output); False if any does not compile."""
        compiled = True
        for name in self.env.list_templates():
            if not is_valid_name(name):
                continue  # reported by _check_names
            try:
                template = self.env.get_template(name)
            except TemplateSyntaxError as exc:
                self._error(*self._describe(exc))
                compiled = False
                continue
            if template.filename:
                self._filenames.add(template.filename)
            self._check_variables(name)
        for kind in KINDS:
            for output in OUTPUTS:
                try:
                    self._chosen[kind, output] = self.env.select_template(template_names(kind, output))
                except TemplateSyntaxError:
                    pass  # reported above
                except TemplateNotFound:
                    names = " hoặc ".join(template_names(kind, output))
                    self._error(f"{DEFAULTS_DIR}/{output}{SUFFIX}:1", f"thiếu mẫu {names}")
                    compiled = False
        return compiled

    def _check_variables(self, name: str) -> None:
        """Names read from the context must exist in its contract, even in branches the samples skip."""
        assert self.env.loader is not None
        source, filename, _ = self.env.loader.get_source(self.env, name)
        tree = self.env.parse(source, name, filename)
        if name.startswith(f"{DIGEST}."):
            allowed = DIGEST_KEYS
        elif name.startswith("_"):
            allowed = REMINDER_KEYS | DIGEST_KEYS
        else:
            allowed = REMINDER_KEYS
        stored = {node.name for node in tree.find_all(nodes.Name) if node.ctx in ("store", "param")}
        unknown = meta.find_undeclared_variables(tree) - allowed - stored - set(self.env.globals)
        for node in tree.find_all(nodes.Name):
            if node.ctx == "load" and node.name in unknown:
                unknown.discard(node.name)
                self._error(
                    f"{filename or name}:{node.lineno}",
                    f"biến '{node.name}' không có trong ngữ cảnh; các biến có: {', '.join(sorted(allowed))}",
                )

    def _render_samples(self) -> None:
        for kind in KINDS:
            for number, context in enumerate(variants(kind)):
                out = {}
                for output in OUTPUTS:  # one by one, so that every faulty file is reported
                    try:
                        out[output] = self._chosen[kind, output].render(context)
                    except Exception as exc:
                        self._error(*self._describe(exc, context), kind)
                if len(out) == len(OUTPUTS):
                    self._check_output(kind, _finish(out), typical=number == 0)
        # Every reminder kind must also render with the generic files, even a kind that
        # has a file of its own, so that any kind can be moved back to the generic file.
        for output in OUTPUTS:
            generic = f"{output}{SUFFIX}"
            try:
                template = self.env.get_template(generic)
            except TemplateError:
                continue
            for kind in REMINDER_KINDS:
                if self._chosen[kind, output] is template:
                    continue  # rendered above
                for context in variants(kind):
                    try:
                        template.render(context)
                    except Exception as exc:
                        self._error(*self._describe(exc, context), kind)

    def _check_output(self, kind: str, rendered: Rendered, typical: bool) -> None:
        """Empty outputs are errors; a long SMS for the typical sample is a warning."""
        for field, output in (("subject", "subject.txt"), ("text", "email.txt"), ("short", "short.txt")):
            if not getattr(rendered, field):
                self._error(f"{self.template_for(kind, output)}:1", "mẫu cho ra nội dung rỗng", kind)
        length = len(rendered.short_ascii)
        if typical and length > SMS_LIMIT:
            warning = (
                f"{self.template_for(kind, 'short.txt')}: tin nhắn ngắn cho loại {kind} dài {length} ký tự "
                f"khi bỏ dấu (dữ liệu mẫu), quá {SMS_LIMIT} ký tự của một tin SMS"
            )
            if warning not in self.warnings:
                self.warnings.append(warning)

    def _describe(self, exc: BaseException, context: Mapping[str, Any] | None = None) -> tuple[str, str]:
        """(`file:line`, message) for a template error, in the file where it happened."""
        if isinstance(exc, TemplateSyntaxError):
            return f"{exc.filename or exc.name or '?'}:{exc.lineno}", f"lỗi cú pháp: {exc.message}"
        where = self._template_frame(exc.__traceback__)
        if isinstance(exc, UndefinedError):
            text = exc.message or str(exc)
            if match := _UNDEFINED.fullmatch(text):
                keys = f"; các biến có: {', '.join(sorted(context))}" if context else ""
                return where, f"biến '{match[1]}' không xác định{keys}"
            if match := _NO_ATTRIBUTE.fullmatch(text):
                return where, f"không có thuộc tính '{match[2]}' ({match[1]})"
            return where, f"không xác định: {text}"
        if isinstance(exc, TemplateNotFound):
            return where, f"không tìm thấy mẫu '{exc.name}'"
        if isinstance(exc, SecurityError):
            return where, f"không được phép trong mẫu: {exc}"
        return where, f"{type(exc).__name__}: {exc}"

    def _template_frame(self, tb: TracebackType | None) -> str:
        """`file:line` of the innermost template frame (jinja2 maps template lines into tracebacks)."""
        where = "?:?"
        while tb is not None:
            filename = tb.tb_frame.f_code.co_filename
            if filename in self._filenames:
                where = f"{filename}:{tb.tb_lineno}"
            tb = tb.tb_next
        return where
