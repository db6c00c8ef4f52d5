"""Synthetic configurations, written as real YAML files, for tests and benchmarks alike.

- `write_config`: one plan whose obligations are all due now, for N agencies (the daemon's
  process tests, the dispatch, channel and replica benchmarks);
- `write_national_config`: the national scale of `Shape` (34 provinces, 4,341 agencies at
  scale 1: bench_sync.py, bench_agencies.py), optionally with mergers (`lifetimes`);
- `write_channel_config`: `write_config` with every contact on one channel (Zalo or SMS)
  of the provider doubles in tests/doubles/ (bench_channels.py);
- `one_agency_plan`: the sample configuration's TTH plan cut down to one agency.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

# --- all due now -----------------------------------------------------------------------------

AGENCIES, OBLIGATIONS = 400, 5  # 2,000 reminders, all due at once


def write_config(root: Path, agencies: int = AGENCIES, day: date | None = None) -> Path:
    """One plan whose obligations are all due on `day` (today) at 00:00, for `agencies` agencies
    with one contact each: every reminder is due as soon as the daemon starts."""
    day = day or datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    config = root / "config"
    (config / "agencies").mkdir(parents=True)
    (config / "plans").mkdir()
    lines = ["groups:", "  - {id: xa, name: Các xã}", "agencies:"]
    for n in range(agencies):
        lines.append(
            f"  - {{id: xa-{n:05d}, name: UBND xã số {n}, groups: [xa], "
            f"contacts: [{{name: Đầu mối xã {n}, email: xa{n:05d}@example.org}}]}}"
        )
    (config / "agencies" / "xa.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (config / "policies.yaml").write_text(
        "default: ngay\npolicies:\n  - id: ngay\n    send_time: '00:00'\n    non_working_day: keep\n"
        "    deadline:\n      - {offset: 0d}\n",
        encoding="utf-8",
    )
    obligations = "\n".join(
        f"  - {{id: bao-cao-{k}, title: Báo cáo số {k} về kết quả thực hiện kế hoạch, "
        f"on: '{day:%d/%m/%Y}', who: [xa]}}"
        for k in range(OBLIGATIONS)
    )
    (config / "plans" / "thu.yaml").write_text(
        f"id: thu\nnumber: 72/KH-UBND\ntitle: Kế hoạch thực hiện công tác bình đẳng giới năm {day.year}\n"
        f"issuer: UBND tỉnh\nyear: {day.year}\nfocal_agency: xa-00000\nobligations:\n{obligations}\n",
        encoding="utf-8",
    )
    return config


# --- the national scale --------------------------------------------------------------------

PROVINCES = 34
COMMUNES = 3321  # communes and wards after the 2025 reorganisation
AGENCIES_PER_PROVINCE = 30  # provincial departments, boards and agencies: 1,020 in all
MOBILE_PREFIXES = ("090", "091", "093", "094", "096", "097", "098")
# Ten yearly deadlines, all late enough that even the -14d rung lies after 1/1/2027 (bench_sync's today).
DEADLINES = ("15/02", "31/03", "15/04", "31/05", "15/06", "15/07", "31/08", "15/10", "15/11", "15/12")
PLAN_YEAR = 2027
MERGER_LAST_DAY = date(PLAN_YEAR, 6, 30)  # with `lifetimes`: one agency in three merges then


def q(text: str) -> str:
    """A double-quoted YAML scalar (a JSON string is one)."""
    return json.dumps(text, ensure_ascii=False)


def spread(total: int, parts: int, minimum: int = 0) -> list[int]:
    """Split `total` into `parts` near-equal counts, each at least `minimum`."""
    base, extra = divmod(total, parts)
    return [max(minimum, base + (1 if i < extra else 0)) for i in range(parts)]


def mobile(n: int) -> str:
    """A distinct valid Vietnamese mobile number for each n, written as 09xx xxx xxx."""
    digits = MOBILE_PREFIXES[n % len(MOBILE_PREFIXES)] + f"{n // len(MOBILE_PREFIXES):07d}"
    return f"{digits[:4]} {digits[4:7]} {digits[7:]}"


def agency_yaml(
    agency_id: str, name: str, group: str, domain: str, n: int, successor: str | None = None
) -> str:
    """One agency with its two contacts; with a `successor`, it ends on MERGER_LAST_DAY."""
    life = (
        f"    valid_until: {MERGER_LAST_DAY:%d/%m/%Y}\n    succeeded_by: {successor}\n" if successor else ""
    )
    return (
        f"  - id: {agency_id}\n"
        f"    name: {q(name)}\n"
        f"    groups: [{group}]\n"
        f"{life}"
        "    contacts:\n"
        f"      - {{name: {q('Đầu mối ' + name)}, role: focal, email: dau-moi@{domain}.example.org,\n"
        f'         mobile: "{mobile(n)}", channels: [email]}}\n'
        f"      - {{name: {q('Lãnh đạo ' + name)}, role: leader, email: lanh-dao@{domain}.example.org}}\n"
    )


def merged(i: int, count: int, lifetimes: bool) -> bool:
    """With `lifetimes`, one agency in three (never the last) merges into the next."""
    return lifetimes and i % 3 == 1 and i < count


def agencies_file(p: str, agencies: int, communes: int, first_n: int, lifetimes: bool = False) -> str:
    lines = [
        "groups:\n",
        f"  - {{id: {p}-so-nganh, name: {q(f'Các sở, ban, ngành tỉnh {p}')}}}\n",
        f"  - {{id: {p}-xa, name: {q(f'UBND các xã, phường tỉnh {p}')}}}\n",
        "agencies:\n",
    ]
    n = first_n
    # (count, id and domain part, digits, name, group): the provincial agencies, then the communes
    kinds = ((agencies, "so", 2, "Sở số", "so-nganh"), (communes, "xa", 3, "UBND xã số", "xa"))
    for count, kind, width, label, group in kinds:
        for i in range(1, count + 1):
            successor = f"{p}-{kind}-{i + 1:0{width}d}" if merged(i, count, lifetimes) else None
            name = f"{label} {i:0{width}d} tỉnh {p}"
            lines.append(
                agency_yaml(f"{p}-{kind}-{i:0{width}d}", name, f"{p}-{group}", f"{kind}{i}.{p}", n, successor)
            )
            n += 1
    return "".join(lines)


def plan_file(p: str) -> str:
    lines = [
        f"id: {p}-{PLAN_YEAR}-bench\n",
        f"title: {q(f'Kế hoạch báo cáo định kỳ năm {PLAN_YEAR} tỉnh {p}')}\n",
        f"issuer: {q(f'UBND tỉnh {p}')}\n",
        f"year: {PLAN_YEAR}\n",
        f"focal_agency: {p}-so-01\n",
        f"participants: [{p}-so-nganh, {p}-xa]\n",
        "obligations:\n",
    ]
    for i, day in enumerate(DEADLINES, start=1):
        title = q(f"Báo cáo định kỳ số {i:02d}")
        lines.append(
            f"  - {{id: bao-cao-{i:02d}, title: {title}, yearly: {day}, who: [{p}-so-nganh, {p}-xa]}}\n"
        )
    return "".join(lines)


POLICIES = """\
default: bench
policies:
  - id: bench
    name: "Sáu mốc nhắc: ba mốc gửi cả e-mail và SMS, mốc cuối báo lãnh đạo"
    send_time: "08:00"
    non_working_day: previous
    deadline:
      - {offset: -14d}
      - {offset: -7d}
      - {offset: -3d, channels: [email, sms]}
      - {offset: 0d, channels: [email, sms]}
      - {offset: +1wd, kind: overdue, channels: [email, sms]}
      - {offset: +3wd, kind: escalation, to: leader}
"""
REMINDERS_PER_OCCURRENCE = 9  # 1 + 1 + 2 + 2 + 2 + 1, see POLICIES


@dataclass
class Shape:
    agencies: list[int]
    communes: list[int]

    @property
    def total_agencies(self) -> int:
        return sum(self.agencies) + sum(self.communes)

    @property
    def expected_reminders(self) -> int:
        return self.total_agencies * len(DEADLINES) * REMINDERS_PER_OCCURRENCE


def make_shape(scale: float) -> Shape:
    return Shape(
        agencies=spread(round(AGENCIES_PER_PROVINCE * PROVINCES * scale), PROVINCES, minimum=1),
        communes=spread(round(COMMUNES * scale), PROVINCES),
    )


def write_national_config(root: Path, shape: Shape, lifetimes: bool = False) -> Path:
    """Write agencies/, plans/ and policies.yaml under `root`; return the config directory.
    With `lifetimes`, one agency in three of each kind ends on MERGER_LAST_DAY and is succeeded
    by the next one (a merger in the middle of the calendar: bench_sync.py, and the columns
    Hiệu lực đến ngày / Đơn vị kế thừa in bench_agencies.py)."""
    config = root / "config"
    (config / "agencies").mkdir(parents=True)
    (config / "plans").mkdir()
    (config / "policies.yaml").write_text(POLICIES, encoding="utf-8")
    n = 0
    for index, (agencies, communes) in enumerate(zip(shape.agencies, shape.communes, strict=True), 1):
        p = f"p{index:02d}"
        text = agencies_file(p, agencies, communes, n, lifetimes)
        (config / "agencies" / f"{p}.yaml").write_text(text, encoding="utf-8")
        (config / "plans" / f"{p}-{PLAN_YEAR}.yaml").write_text(plan_file(p), encoding="utf-8")
        n += agencies + communes
    return config


# --- one channel per contact, on the provider doubles ------------------------------------------

# What the doubles accept (tests/doubles/zalo.py and esms.py defaults).
ZALO_APP_ID = "1234567890"
ESMS_PATH = "/MainService.svc/json/SendMultipleMessage_V4_post_json/"
ZNS_TEMPLATE = {
    "template_id": "301234",
    "data": {"ten_don_vi": "agency", "noi_dung": "item", "han_nop": "deadline", "so_ngay": "days_left"},
}


def phone(n: int) -> str:
    """A distinct valid Vietnamese mobile number per agency (Vinaphone 0912…)."""
    return f"0912{n:06d}"


def write_channel_config(
    root: Path, agencies: int, channel: str, urls: dict[str, str], rate: str | None
) -> Path:
    """bench_dispatch's configuration (one plan, 5 obligations due today at 00:00) whose agencies
    each have one contact reachable only on `channel`, and a channels.yaml for both doubles."""
    config = write_config(root, agencies)
    contacts = [
        {
            "id": f"xa-{n:05d}",
            "name": f"UBND xã số {n}",
            "groups": ["xa"],
            "contacts": [
                {"name": f"Đầu mối xã {n}", "mobile": phone(n), "zalo": phone(n), "channels": [channel]}
            ],
        }
        for n in range(agencies)
    ]
    agencies_file = {"groups": [{"id": "xa", "name": "Các xã"}], "agencies": contacts}
    (config / "agencies" / "xa.yaml").write_text(yaml.safe_dump(agencies_file, allow_unicode=True), "utf-8")
    channels: dict[str, Any] = {
        "zalo": {
            "options": {
                "app_id": ZALO_APP_ID,
                "api_url": urls["zalo"],
                "oauth_url": urls["zalo"],
                # A copy per kind: one object three times would be written as a YAML alias,
                # which the configuration reader refuses.
                "templates": {kind: copy.deepcopy(ZNS_TEMPLATE) for kind in ("upcoming", "due", "overdue")},
            }
        },
        "sms": {"options": {"gateway": "esms", "url": urls["sms"] + ESMS_PATH}},
    }
    if rate:
        channels[channel]["rate"] = rate
    (config / "channels.yaml").write_text(yaml.safe_dump({"channels": channels}, allow_unicode=True), "utf-8")
    return config


# --- edits of the sample configuration ------------------------------------------------------------


def one_agency_plan(config_dir):
    """The sample plan of the city of Huế (2026, its periodic reports recurring), with the
    commune A Lưới 1 standing for all the units."""
    plan = config_dir / "plans" / "hue-2026-bdg.yaml"
    text = plan.read_text(encoding="utf-8").replace(
        "[hue-xa-phuong, hue-so-nganh, hue-so-noi-vu]", "[hue-xa-a-luoi-1]"
    )
    text = text.replace("[hue-xa-phuong, hue-so-nganh]", "[hue-xa-a-luoi-1]")
    plan.write_text(text, encoding="utf-8")
    for other in ("lam-thao-2024-bdg.yaml", "thai-binh-hlhpn-2024-bdg.yaml"):
        (config_dir / "plans" / other).unlink()


def before_the_2025_merger(config_dir: Path) -> None:
    """The sample agencies of Thừa Thiên Huế as they were before Sở LĐTBXH merged into Sở Nội vụ
    (1/3/2025), for tests about something else that use them in later years."""
    file = config_dir / "agencies" / "thua-thien-hue.yaml"
    lines = file.read_text(encoding="utf-8").splitlines(keepends=True)
    ended = ("    valid_until: 28/02/2025\n", "    succeeded_by: hue-so-noi-vu\n")
    file.write_text("".join(line for line in lines if line not in ended), encoding="utf-8")
