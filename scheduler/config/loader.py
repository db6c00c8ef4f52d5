"""Load and validate the whole configuration directory, all or nothing.

    config/
      agencies/*.yaml   groups and agencies with their contacts
      policies.yaml     reminder policies and the default one
      workdays.yaml     (optional) the year's announced swaps of days off
      plans/*.yaml      one plan (Kế hoạch) per file

`load_config()` either returns a `Deployment` in which every reference resolves,
or raises `ConfigInvalid` listing every problem as `file:line: field: message`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from notifiers.registry import PluginError, notifier_class
from scheduler.calendar import periods
from scheduler.calendar.dates import DayOfYear, format_date
from scheduler.calendar.workdays import WorkCalendar, WorkdayOverrides
from scheduler.config import lifetimes, validity
from scheduler.config.deployment import (
    ADDRESS_FIELDS,
    ChannelConfig,
    Contact,
    Deployment,
    address_kind,
    contact_address,
)
from scheduler.config.schema import (
    AgenciesFile,
    AgencySpec,
    ChannelsFile,
    ContactSpec,
    GroupSpec,
    ObligationSpec,
    ObservanceSpec,
    PlanSpec,
    PoliciesFile,
    PolicySpec,
    RoleSpec,
    WindowSpec,
    WorkdaysFile,
)
from scheduler.config.settings import Settings
from scheduler.config.yamlfile import ConfigError, ConfigInvalid, Path_, YamlDocument, read_yaml

Model = TypeVar("Model", bound=BaseModel)
Item = TypeVar("Item", ObligationSpec, WindowSpec, ObservanceSpec)

_MESSAGES = {
    "missing": "thiếu trường bắt buộc",
    "extra_forbidden": "trường không có trong mẫu cấu hình (kiểm tra chính tả)",
    "int_parsing": "cần một số nguyên",
    "int_type": "cần một số nguyên",
    "float_parsing": "cần một số (ví dụ 0.8)",
    "float_type": "cần một số (ví dụ 0.8)",
    "string_type": "cần một đoạn chữ",
    "list_type": "cần một danh sách (mỗi mục bắt đầu bằng '- ')",
    "model_type": "cần một bảng 'khóa: giá trị'",
    "dict_type": "cần một bảng 'khóa: giá trị'",
}


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "value_error":
        return str(error["ctx"]["error"])
    if kind == "literal_error":
        return f"giá trị '{error['input']}' không hợp lệ; chọn một trong: {error['ctx']['expected']}"
    if kind in ("greater_than_equal", "less_than_equal"):
        ctx = error["ctx"]
        bound = ctx["ge"] if "ge" in ctx else ctx["le"]
        bound = int(bound) if bound == int(bound) else bound  # `le=1` on a float field says 1.0
        relation = "≥" if kind == "greater_than_equal" else "≤"
        return f"giá trị '{error['input']}' phải {relation} {bound}"
    return _MESSAGES.get(kind, error["msg"])


def _validate(
    model: type[Model], doc: YamlDocument, errors: list[ConfigError], data: Any = None, at: Path_ = ()
) -> Model | None:
    """Validate the file (or the part `data` found at path `at`); report errors with their lines."""
    data = doc.data if data is None else data
    if not isinstance(data, dict):
        errors.append(doc.error(at, "cần một bảng 'khóa: giá trị'"))
        return None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        reported: set[Path_] = set()
        for error in exc.errors():
            path: Path_ = at
            for part in error["loc"]:
                candidate = (*path, part)
                if candidate in doc.lines or (error["type"] == "missing" and part == error["loc"][-1]):
                    path = candidate
            if path not in reported:
                reported.add(path)
                errors.append(doc.error(path, _message(error)))
        return None


def _read_all(files: Iterable[Path], errors: list[ConfigError]) -> list[YamlDocument]:
    docs = []
    for file in files:
        try:
            docs.append(read_yaml(file))
        except ConfigInvalid as exc:
            errors.extend(exc.errors)
    return docs


class _Checker:
    """Cross-file checks; collects errors and warnings with their file and line."""

    def __init__(self) -> None:
        self.errors: list[ConfigError] = []
        self.warnings: list[ConfigError] = []
        self.ids: dict[str, str] = {}  # agency/group id -> where first defined
        self.broken: set[str] = set()  # agencies with errors of their own

    def claim_id(self, doc: YamlDocument, path: Path_, ident: str, what: str) -> bool:
        where = f"{doc.file}:{doc.line_of(path)}"
        if ident in self.ids:
            self.errors.append(
                doc.error((*path, "id"), f"mã {what} '{ident}' đã được dùng ở {self.ids[ident]}")
            )
            return False
        self.ids[ident] = where
        return True


def _load_agencies(
    docs: list[tuple[YamlDocument, AgenciesFile]], check: _Checker
) -> tuple[dict[str, AgencySpec], dict[str, GroupSpec], dict[str, list[str]], dict[str, list[Contact]]]:
    """The agencies, the groups, each group's members and each agency's contacts, by id."""
    agencies: dict[str, AgencySpec] = {}
    groups: dict[str, GroupSpec] = {}
    members: dict[str, list[str]] = {}
    contacts: dict[str, list[Contact]] = {}
    where_agency: dict[str, tuple[YamlDocument, Path_]] = {}
    for doc, parsed in docs:
        for i, group in enumerate(parsed.groups):
            if check.claim_id(doc, ("groups", i), group.id, "nhóm"):
                groups[group.id] = group
                members[group.id] = []
        for i, agency in enumerate(parsed.agencies):
            if agency is None:  # invalid, reported; kept in place so that the next ones keep their index
                continue
            if check.claim_id(doc, ("agencies", i), agency.id, "đơn vị"):
                agencies[agency.id] = agency
                where_agency[agency.id] = (doc, ("agencies", i))
    for agency_id, agency in agencies.items():
        doc, path = where_agency[agency_id]
        if agency.parent is not None and agency.parent not in agencies:
            check.errors.append(
                doc.error(
                    (*path, "parent"), f"đơn vị cấp trên '{agency.parent}' không có trong danh sách đơn vị"
                )
            )
        for j, group_id in enumerate(agency.groups):
            if group_id in groups:
                members[group_id].append(agency_id)
            else:
                check.errors.append(
                    doc.error((*path, "groups", j), f"nhóm '{group_id}' chưa được khai báo trong mục groups")
                )
        contacts[agency_id] = _contacts(doc, path, agency, check)
    _check_cycles(agencies, where_agency, check)
    for agency_id, field_name, message, is_error in lifetimes.agency_problems(agencies):
        doc, path = where_agency[agency_id]
        (check.errors if is_error else check.warnings).append(doc.error((*path, field_name), message))
    return agencies, groups, members, contacts


def _contacts(doc: YamlDocument, path: Path_, agency: AgencySpec, check: _Checker) -> list[Contact]:
    result: list[Contact] = []
    seen: set[str] = set()
    for k, spec in enumerate(agency.contacts):
        cpath = (*path, "contacts", k)
        contact_id = spec.id or spec.role
        if contact_id in seen:
            check.errors.append(
                doc.error(
                    cpath, f"đơn vị có hai đầu mối cùng mã '{contact_id}': đặt 'id' riêng cho mỗi người"
                )
            )
            continue
        seen.add(contact_id)
        if not (spec.email or spec.mobile or spec.zalo or spec.webhook or spec.addresses):
            check.errors.append(
                doc.error(cpath, "đầu mối cần ít nhất một trong email, mobile, zalo, webhook, addresses")
            )
            continue
        if spec.channels is None:
            channels = tuple(c for c in ("email", "zalo", "sms", "webhook") if _reachable(spec, c))[:1]
        else:
            channels = tuple(spec.channels)
            for m, channel in enumerate(channels):
                if not _reachable(spec, channel):
                    check.errors.append(
                        doc.error(
                            (*cpath, "channels", m), f"kênh '{channel}' cần {_need(channel)} của đầu mối"
                        )
                    )
        for field, named in (("channels", spec.channels or []), ("fallback", spec.fallback or [])):
            for m, channel in enumerate(named):
                if not notifier_class(channel).for_contacts:
                    check.errors.append(
                        doc.error(
                            (*cpath, field, m),
                            f"kênh '{channel}' gửi sự kiện tới hệ thống, không gửi cho đầu mối: "
                            "khai báo điểm nhận trong config/channels.yaml",
                        )
                    )
        for m, channel in enumerate(spec.fallback or []):
            if not _reachable(spec, channel):
                check.errors.append(
                    doc.error(
                        (*cpath, "fallback", m), f"kênh dự phòng '{channel}' cần {_need(channel)} của đầu mối"
                    )
                )
        result.append(
            Contact(f"{agency.id}/{contact_id}", agency.id, spec, channels, tuple(spec.fallback or ()))
        )
    return result


def _reachable(spec: ContactSpec, channel: str) -> bool:
    return bool(contact_address(spec, channel))


def _need(channel: str) -> str:
    kind = address_kind(channel)
    if kind == "zalo":
        return "trường zalo hoặc mobile"
    return f"trường {kind}" if kind in ADDRESS_FIELDS else f"addresses.{channel}"


def _load_channels(
    doc: YamlDocument, parsed: ChannelsFile, errors: list[ConfigError]
) -> dict[str, ChannelConfig]:
    """Each channel's block, its `options` validated against the notifier's own model."""
    channels: dict[str, ChannelConfig] = {}
    for name, spec in parsed.channels.items():
        try:
            model = notifier_class(name).Options
        except PluginError as exc:
            errors.append(doc.error(("channels", name), str(exc)))
            continue
        options = _validate(model, doc, errors, spec.options, ("channels", name, "options"))
        if options is not None:
            channels[name] = ChannelConfig(spec, options)
    return channels


def _check_channels(doc: YamlDocument | None, deployment: Deployment, errors: list[ConfigError]) -> None:
    """What a notifier can only check against the whole configuration (e.g. value lengths)."""
    for name, config in deployment.channels.items():
        for path, message in notifier_class(name).check(config.options, deployment):
            if doc is not None:
                errors.append(doc.error(("channels", name, "options", *path), message))


def _check_cycles(
    agencies: dict[str, AgencySpec], where: dict[str, tuple[YamlDocument, Path_]], check: _Checker
) -> None:
    for start in agencies:
        seen = {start}
        current = agencies[start].parent
        while current in agencies:
            if current in seen:
                doc, path = where[start]
                check.errors.append(
                    doc.error((*path, "parent"), f"cấp trên tạo thành vòng lặp qua '{current}'")
                )
                break
            seen.add(current)
            current = agencies[current].parent


def _load_policies(
    doc: YamlDocument, parsed: PoliciesFile, check: _Checker, settings: Settings | None
) -> dict[str, PolicySpec]:
    policies: dict[str, PolicySpec] = {}
    for i, policy in enumerate(parsed.policies):
        if policy.id in policies:
            check.errors.append(doc.error(("policies", i, "id"), f"mã chính sách '{policy.id}' bị trùng"))
        policies[policy.id] = policy
        if not policy.deadline:
            check.errors.append(
                doc.error(("policies", i), "chính sách cần ít nhất một mốc nhắc trong 'deadline'")
            )
        if settings is not None and (problem := _quiet_send_time(policy, settings)):
            at = ("policies", i, "send_time") if policy.send_time else ("policies", i)
            check.errors.append(doc.error(at, problem))
    if parsed.default not in policies:
        check.errors.append(
            doc.error(
                ("default",), f"chính sách mặc định '{parsed.default}' không có trong danh sách policies"
            )
        )
    return policies


def _quiet_send_time(policy: PolicySpec, settings: Settings) -> str | None:
    """A send time inside the quiet hours would hold every reminder of the policy until they end,
    often the next day, after the deadline or on a day off."""
    clock = policy.send_time or settings.send_time
    if policy.ignore_quiet_hours or not settings.quiet(clock):
        return None
    quiet = f"{settings.quiet_start:%H:%M}-{settings.quiet_end:%H:%M}"
    what = "giờ gửi" if policy.send_time else "giờ gửi mặc định (NHACVIEC_SEND_TIME)"
    return (
        f"{what} {clock:%H:%M} nằm trong khung giờ không gửi tin {quiet} (NHACVIEC_QUIET_HOURS): "
        "lời nhắc sẽ bị hoãn đến hết khung giờ đó, có khi sang ngày hôm sau, quá hạn hoặc vào ngày nghỉ; "
        "chọn giờ gửi ngoài khung giờ này, hoặc đặt ignore_quiet_hours: true nếu chính sách phải gửi "
        "cả trong khung giờ đó"
    )


class _PlanChecker:
    """Checks one plan against the agencies and policies, and resolves its roles.

    A role (`roles:`) stands for the agencies a document names only by what they are ("các sở,
    ngành có liên quan"); the plan may use its id wherever it names an agency or group.
    """

    def __init__(self, doc: YamlDocument, plan: PlanSpec, check: _Checker, known: dict[str, Any]):
        self.doc, self.plan, self.check = doc, plan, check
        self.agencies, self.groups, self.policies = known["agencies"], known["groups"], known["policies"]
        self.workdays: WorkCalendar = known["workdays"]
        self.today: date = known["today"]
        # The plan's last possible day (its own validity): an ended agency it names matters only
        # if the plan still has occurrences after the agency's end.
        self.last_day = validity.last_day(plan, validity.own_life(plan), self.workdays)
        self.former: Collection[str] = known["former"]
        self.ended_warned: set[str] = set()  # agencies already warned about in this plan
        self.roles: dict[str, RoleSpec] = {}  # filled by check_roles: those whose id is not an agency's
        self.used: set[str] = set()  # role ids named somewhere in the plan

    def error(self, path: Path_, message: str) -> None:
        self.check.errors.append(self.doc.error(path, message))

    def ref(self, path: Path_, ref: str | None, agency_only: bool = False) -> None:
        """An agency or group id, or the id of one of the plan's roles."""
        if ref in self.roles:
            self.used.add(ref)
            if agency_only:
                self.one_agency(path, ref)
            return
        self.declared(path, ref, agency_only)

    def declared(self, path: Path_, ref: str | None, agency_only: bool = False) -> None:
        if (
            ref is not None
            and ref not in self.ended_warned
            and (
                warning := lifetimes.named_ended_warning(
                    self.agencies, ref, self.plan, self.today, self.last_day
                )
            )
        ):
            self.ended_warned.add(ref)
            self.check.warnings.append(self.doc.error(path, warning))
        if (
            ref is None
            or ref in self.agencies
            or ref in self.check.broken
            or (not agency_only and ref in self.groups)
        ):
            return
        if ref in self.former and ref not in self.groups:
            # An agency the ledger has occurrences of, since removed from the configuration
            # (abolished, merged): a warning, so that the old plans naming it still load. An id
            # the ledger never saw is most likely a typo: an error.
            if ref not in self.ended_warned:
                self.ended_warned.add(ref)
                warning = lifetimes.former_warning(ref, self.plan)
                self.check.warnings.append(self.doc.error(path, warning))
            return
        what = "đơn vị" if agency_only else "đơn vị hoặc nhóm"
        self.error(path, f"'{ref}' không phải {what} đã khai báo trong config/agencies/")

    def check_roles(self) -> None:
        """Each role once, however often it is used: so an unmapped role is one error, not one per use."""
        for role_id, role in self.plan.roles.items():
            path: Path_ = ("roles", role_id)
            if role_id in self.check.ids:
                self.error(
                    path,
                    f"mã vai trò '{role_id}' trùng với mã đơn vị/nhóm đã khai báo ở {self.check.ids[role_id]}: "
                    "đặt mã khác cho vai trò",
                )
                continue
            self.roles[role_id] = role
            if not role.agencies:
                self.error(
                    (*path, "agencies"),
                    f"vai trò '{role_id}' («{role.text}») chưa gắn với đơn vị nào: "
                    "ghi mã đơn vị hoặc nhóm trong config/agencies/ vào agencies",
                )
            for j, ref in enumerate(role.agencies):
                self.declared((*path, "agencies", j), ref)
            if role.review and role.review.strip():  # a match `nhacviec import` proposed
                self.error(
                    (*path, "review"),
                    f"cần người xem lại: {role.review.strip()} — xác nhận agencies rồi xóa dòng review",
                )

    def one_agency(self, path: Path_, role_id: str) -> None:
        """`focal_agency`, `to` and `via` name one agency: a role stands there only for exactly one.

        An empty or unknown mapping was reported at the role itself."""
        role = self.roles[role_id]
        refs = list(dict.fromkeys(role.agencies))
        if len(refs) > 1:
            mapped = f"{len(refs)} đơn vị/nhóm ({', '.join(refs)})"
        elif refs and refs[0] in self.groups:
            mapped = f"nhóm '{refs[0]}'"
        else:
            return
        self.error(
            path,
            f"vai trò '{role_id}' («{role.text}») gắn với {mapped}; ở đây cần đúng một đơn vị: "
            "ghi thẳng mã một đơn vị, hoặc gắn vai trò với một đơn vị",
        )

    def warn_unused_roles(self) -> None:
        for role_id, role in self.roles.items():
            if role_id not in self.used:
                self.check.warnings.append(
                    self.doc.error(
                        ("roles", role_id),
                        f"vai trò '{role_id}' («{role.text}») không được dùng trong kế hoạch",
                    )
                )

    def run(self) -> None:
        plan = self.plan
        self.check_roles()
        self.check_life()
        self.ref(("focal_agency",), plan.focal_agency, agency_only=True)
        self.ref_policy(("policy",), plan.policy)
        for i, ref in enumerate(plan.participants):
            self.ref(("participants", i), ref)
        item_ids: set[str] = set()
        for section in ("obligations", "windows", "observances"):
            for i, item in enumerate(getattr(plan, section)):
                path: Path_ = (section, i)
                if item.id in item_ids:
                    self.error((*path, "id"), f"mã mục '{item.id}' bị trùng trong kế hoạch")
                item_ids.add(item.id)
                self.item(path, item)
        for i, obligation in enumerate(plan.obligations):
            self.obligation(("obligations", i), obligation)
        for i, window in enumerate(plan.windows):
            path = ("windows", i)
            start, end = window.start, window.end
            if type(start) is not type(end):
                self.error(
                    (*path, "end"),
                    "'start' và 'end' phải cùng dạng: cả hai có năm, hoặc cả hai chỉ ngày/tháng",
                )
            elif (isinstance(start, date) and isinstance(end, date) and end < start) or (
                isinstance(start, DayOfYear) and isinstance(end, DayOfYear) and end < start
            ):
                self.error((*path, "end"), f"đợt kết thúc ({window.end}) trước khi bắt đầu ({window.start})")
        self.warn_unused_roles()

    def check_life(self) -> None:
        """Validity, `replaces`, `until`/`recurring` of the items (scheduler/config/validity.py), and the
        review `nhacviec plan rollover` asks for."""
        errors, warnings = validity.plan_problems(self.plan)
        for path, message in errors:
            self.error(path, message)
        for path, message in warnings:
            self.check.warnings.append(self.doc.error(path, message))
        if self.plan.review and self.plan.review.strip():
            self.error(
                ("review",),
                f"cần người xem lại: {self.plan.review.strip()} — sửa kế hoạch rồi xóa dòng review",
            )

    def item(self, path: Path_, item: Item) -> None:
        """What every kind of item shares: its policy, who carries it out, a pending review."""
        self.ref_policy((*path, "policy"), item.policy)
        if item.who is None and not self.plan.participants:
            self.error(path, "thiếu 'who' (đơn vị thực hiện) và kế hoạch không có 'participants'")
        for j, ref in enumerate(item.who or []):
            self.ref((*path, "who", j), ref)
        if item.review and item.review.strip():
            self.error(
                (*path, "review"),
                f"cần người xem lại: {item.review.strip()} — sửa mục này rồi xóa dòng review",
            )

    def ref_policy(self, path: Path_, policy: str | None) -> None:
        if policy is not None and policy not in self.policies:
            self.error(path, f"chính sách '{policy}' không có trong policies.yaml")

    def obligation(self, path: Path_, item: ObligationSpec) -> None:
        rules = [name for name in ("on", "yearly", "monthly", "period") if getattr(item, name) is not None]
        if len(rules) != 1:
            self.error(
                path,
                "cần đúng một trong: on (một lần), yearly (hằng năm), monthly (hằng tháng), "
                "period (kỳ báo cáo theo Nghị định 09/2019/NĐ-CP)",
            )
        self.report_periods(path, item)
        if item.until is not None and item.on is not None:
            self.error((*path, "until"), "'until' chỉ dùng cho hạn lặp lại (yearly, monthly, period)")
        self.ref((*path, "to"), item.to, agency_only=True)
        self.ref((*path, "via"), item.via, agency_only=True)
        if item.after is None:
            return
        earlier = next((o for o in self.plan.obligations if o.id == item.after), None)
        if earlier is None or earlier.id == item.id:
            self.error((*path, "after"), f"'{item.after}' không phải một hạn khác trong kế hoạch này")
        elif _sample_due(earlier, self.plan.year) > _sample_due(item, self.plan.year):
            self.check.warnings.append(
                self.doc.error((*path, "after"), f"hạn tổng hợp đến trước hạn '{earlier.id}' mà nó tổng hợp")
            )

    # --- Decree 09/2019/NĐ-CP report periods (scheduler/calendar/periods.py) ---------------------------

    def report_periods(self, path: Path_, item: ObligationSpec) -> None:
        """`period` needs `due`; art. 8: each level's deadline after the cut-off or the level below."""
        if item.period is None:
            if item.due is not None:
                self.error(
                    (*path, "due"), "'due' chỉ dùng với period (kỳ báo cáo); hạn khác ghi bằng on, yearly"
                )
            return
        if item.due is None:
            self.error(
                path, "thiếu 'due': hạn gửi báo cáo của các đơn vị, ví dụ due: 15 hoặc {units: 15, focal: 20}"
            )
            return
        if item.due.focal is not None:
            focal_id = f"{item.id}{periods.FOCAL_SUFFIX}"
            if any(o.id == focal_id for o in self.plan.obligations):
                self.error(
                    (*path, "id"), f"mã '{focal_id}' là của hạn tổng hợp của mục '{item.id}': đặt mã khác"
                )
        errors = periods.rule_errors(item.due)
        for field_name, message in errors:
            self.error((*path, "due", field_name), message)
        if errors:
            return
        span = validity.own_life(self.plan).span(item)
        last = span.last_year if span.last_year is not None else self.plan.year + 4
        seen: set[str] = set()
        for field_name, message in periods.calendar_problems(
            item.period, item.due, range(self.plan.year, last + 1), self.workdays
        ):
            if field_name not in seen:  # the first period that shows it: one warning per level
                seen.add(field_name)
                self.check.warnings.append(self.doc.error((*path, "due", field_name), message))

    def resolved(self) -> PlanSpec:
        """The plan with every role replaced by the agencies it stands for, so that the planner,
        sync, digest and calendar only ever see agency and group ids."""
        if not self.roles:
            return self.plan
        plan = self.plan
        return plan.model_copy(
            update={
                "focal_agency": self.one(plan.focal_agency),
                "participants": self.many(plan.participants),
                "obligations": [self.resolved_item(item) for item in plan.obligations],
                "windows": [self.resolved_item(item) for item in plan.windows],
                "observances": [self.resolved_item(item) for item in plan.observances],
            }
        )

    def resolved_item(self, item: Item) -> Item:
        update: dict[str, Any] = {"who": None if item.who is None else self.many(item.who)}
        if isinstance(item, ObligationSpec):
            update |= {"to": self.one(item.to), "via": self.one(item.via)}
        return item.model_copy(update=update)

    def many(self, refs: list[str]) -> list[str]:
        """Roles expanded to their agencies and groups, in order, each id once."""
        expanded: dict[str, None] = {}
        for ref in refs:
            expanded.update(dict.fromkeys(self.roles[ref].agencies if ref in self.roles else [ref]))
        return list(expanded)

    def one(self, ref: str | None) -> str | None:
        """A role mapped to a single id becomes that id (anything else was reported by `run`)."""
        agencies = set(self.roles[ref].agencies) if ref in self.roles else set()
        return agencies.pop() if len(agencies) == 1 else ref


def _sample_due(item: ObligationSpec, year: int) -> tuple[int, int]:
    """A comparable due day for checking the order of a chain."""
    if isinstance(item.on, DayOfYear):
        return (item.on.month, item.on.day)
    if item.on is not None:
        return (item.on.month, item.on.day)
    if item.yearly is not None:
        return (item.yearly.month, item.yearly.day)
    return (12, 31)


def _warn_unreachable(
    plans: list[PlanSpec],
    members: dict[str, list[str]],
    contacts: dict[str, list[Contact]],
    where: dict[tuple[str, ...], str],
    check: _Checker,
) -> None:
    """An agency that a plan names but that has no contact will get no reminder."""
    warned: set[str] = set()
    for plan in plans:
        for section in ("obligations", "windows", "observances"):
            for item in getattr(plan, section):
                for ref in item.who or plan.participants:
                    for agency_id in members.get(ref, [ref]):
                        if agency_id in contacts and not contacts[agency_id] and agency_id not in warned:
                            warned.add(agency_id)
                            file, line = where[(plan.id, item.id)].rsplit(":", 1)
                            check.warnings.append(
                                ConfigError(
                                    file,
                                    int(line),
                                    f"{item.id}.who",
                                    f"đơn vị '{agency_id}' chưa có đầu mối nào: sẽ không nhận được nhắc việc",
                                )
                            )


def _load_workdays(file: Path, errors: list[ConfigError]) -> WorkdayOverrides:
    """config/workdays.yaml (optional), each entry with its line for `nhacviec workdays`."""
    for doc in _read_all([file] if file.is_file() else [], errors):
        if (parsed := _validate(WorkdaysFile, doc, errors)) is None:
            break
        lines: dict[date, int] = {}
        for section in ("days_off", "working_days"):
            for i, note in enumerate(getattr(parsed, section)):
                if note.date in lines:
                    errors.append(
                        doc.error(
                            (section, i, "date"),
                            f"ngày {format_date(note.date)} đã ghi ở {doc.file}:{lines[note.date]}",
                        )
                    )
                lines[note.date] = doc.line_of((section, i))
        tet: dict[int, tuple[str, int]] = {}
        for i, confirmed in enumerate(parsed.tet_confirmed):
            if confirmed.year in tet:
                errors.append(
                    doc.error(
                        ("tet_confirmed", i, "year"),
                        f"năm {confirmed.year} đã ghi ở {doc.file}:{tet[confirmed.year][1]}",
                    )
                )
            tet[confirmed.year] = (confirmed.source, doc.line_of(("tet_confirmed", i)))
        return WorkdayOverrides(
            {d.date: d.name for d in parsed.days_off},
            {d.date: d.name for d in parsed.working_days},
            lines,
            tet,
        )
    return WorkdayOverrides()


def load_workdays(config_dir: Path) -> WorkdayOverrides:
    """Only config/workdays.yaml, for `nhacviec workdays`; raise ConfigInvalid on errors."""
    errors: list[ConfigError] = []
    overrides = _load_workdays(Path(config_dir) / "workdays.yaml", errors)
    if errors:
        raise ConfigInvalid(errors)
    return overrides


def load_config(
    config_dir: Path,
    settings: Settings | None = None,
    today: date | None = None,
    former: Collection[str] | None = None,
) -> Deployment:
    """Read and validate every file; raise ConfigInvalid with all problems found. With the
    `settings`, also what depends on them (a policy's send time against the quiet hours).
    `today` (default: today in Vietnam): a plan naming an agency ended by then is warned about.
    `former` (scheduler/outbox/former_agencies.py): the ids of the agencies the ledger knows; a plan may
    still name one of them after it has left the configuration (a warning, not an error)."""
    if today is None:
        today = datetime.now(settings.timezone).date() if settings is not None else date.today()
    config_dir = Path(config_dir)
    errors: list[ConfigError] = []
    if not config_dir.is_dir():
        raise ConfigInvalid([ConfigError(str(config_dir), 1, "", "thư mục cấu hình không tồn tại")])
    check = _Checker()

    agency_files = sorted((config_dir / "agencies").glob("*.yaml"))
    agency_docs = []
    for doc in _read_all(agency_files, errors):
        if (parsed := _validate(AgenciesFile, doc, errors)) is not None:
            valid = []
            for i, raw in enumerate(parsed.agencies):
                agency = _validate(AgencySpec, doc, errors, raw, ("agencies", i))
                valid.append(agency)
                if agency is None and isinstance(raw, dict) and isinstance(raw.get("id"), str):
                    check.broken.add(raw["id"])  # reported once, not again at every plan naming it
            agency_docs.append((doc, parsed.model_copy(update={"agencies": valid})))
    agencies, groups, members, contacts = _load_agencies(agency_docs, check)
    if not agency_files:
        errors.append(ConfigError(str(config_dir / "agencies"), 1, "", "chưa có tệp đơn vị nào (*.yaml)"))

    policies: dict[str, PolicySpec] = {}
    default_policy = ""
    policy_file = config_dir / "policies.yaml"
    if not policy_file.is_file():
        errors.append(ConfigError(str(policy_file), 1, "", "thiếu tệp chính sách nhắc việc"))
    for doc in _read_all([policy_file] if policy_file.is_file() else [], errors):
        if (policies_file := _validate(PoliciesFile, doc, errors)) is not None:
            policies = _load_policies(doc, policies_file, check, settings)
            default_policy = policies_file.default

    overrides = _load_workdays(config_dir / "workdays.yaml", errors)

    channels: dict[str, ChannelConfig] = {}
    channels_file = config_dir / "channels.yaml"
    channels_doc = None
    for channels_doc in _read_all([channels_file] if channels_file.is_file() else [], errors):
        if (channels_spec := _validate(ChannelsFile, channels_doc, errors)) is not None:
            channels = _load_channels(channels_doc, channels_spec, errors)

    plans: list[PlanSpec] = []
    plan_docs: dict[str, YamlDocument] = {}
    where: dict[tuple[str, ...], str] = {}
    plan_ids: dict[str, str] = {}
    workdays = WorkCalendar(overrides)
    known = {
        "agencies": agencies,
        "groups": groups,
        "policies": policies,
        "workdays": workdays,
        "today": today,
        "former": former or (),
    }
    for doc in _read_all(sorted((config_dir / "plans").glob("*.yaml")), errors):
        plan = _validate(PlanSpec, doc, errors)
        if plan is None:
            continue
        if plan.id in plan_ids:
            errors.append(doc.error(("id",), f"mã kế hoạch '{plan.id}' đã dùng ở {plan_ids[plan.id]}"))
            continue
        plan_ids[plan.id] = f"{doc.file}:{doc.line_of(('id',))}"
        checker = _PlanChecker(doc, plan, check, known)
        checker.run()
        plans.append(checker.resolved())
        plan_docs[plan.id] = doc
        where[(plan.id,)] = plan_ids[plan.id]
        for section in ("obligations", "windows", "observances"):
            for i, item in enumerate(getattr(plan, section)):
                where[(plan.id, item.id)] = f"{doc.file}:{doc.line_of((section, i))}"

    replacement_errors, replacement_warnings = validity.replacement_problems(plans)
    check.errors += [
        plan_docs[plan_id].error(path, message) for plan_id, (path, message) in replacement_errors
    ]
    check.warnings += [
        plan_docs[plan_id].error(path, message) for plan_id, (path, message) in replacement_warnings
    ]
    errors.extend(check.errors)
    if not errors:
        _warn_unreachable(plans, members, contacts, where, check)
    if errors:
        raise ConfigInvalid(errors)
    deployment = Deployment(
        agencies=agencies,
        groups=groups,
        members=members,
        contacts=contacts,
        policies=policies,
        default_policy=default_policy,
        plans=plans,
        workdays=workdays,
        warnings=check.warnings,
        where=where,
        channels=channels,
        lives=validity.lives(plans),
    )
    _check_channels(channels_doc, deployment, errors)
    if errors:
        raise ConfigInvalid(errors)
    return deployment
