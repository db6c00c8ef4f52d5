"""The rules that read a reporting calendar out of a Vietnamese plan: patterns and word lists.

Rules, not models: every pattern here is a regular expression or a table a person can
read and correct, and each has positive and negative tests in tests/test_import_rules.py.
`importer.extract` applies them; nothing here knows about plans or files.

Text reaching these rules is NFC with single spaces (importer.document).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

from notifiers.text import unaccent

# --- dates ------------------------------------------------------------------

_D = r"(?P<{}>\d{{1,2}})"
_Y = r"(?P<{}>(?:19|20|21)\d{{2}})"


def _date_pattern(tag: str) -> str:
    """One date: `10/6/2020`, `10/6`, `10-6-2020`, `15-4`, `10.6.2020`, `ngày 10 tháng 6 năm 2020`, `10 tháng 6`."""
    d, m, y = f"{tag}d", f"{tag}m", f"{tag}y"
    numeric = (
        rf"(?<![\d/.\w-]){_D.format(d + '1')}\s?/\s?{_D.format(m + '1')}"
        rf"(?:\s?/\s?{_Y.format(y + '1')})?(?![\d\w]|/\d|/[A-ZĐ])"
    )
    dashed = (
        rf"(?<![\d/.\w-]){_D.format(d + '2')}-{_D.format(m + '2')}(?:-{_Y.format(y + '2')})?(?![\d\w/-])"
        rf"|(?<![\d/.\w-]){_D.format(d + '4')}\.{_D.format(m + '4')}\.{_Y.format(y + '4')}(?!\d)"
    )
    worded = (
        rf"(?<!\d){_D.format(d + '3')}\s+tháng\s+{_D.format(m + '3')}"
        rf"(?:\s*(?:năm|/)\s*{_Y.format(y + '3')})?(?!\d)"
    )
    return rf"(?:{numeric}|{dashed}|{worded})"


DATE = re.compile(_date_pattern("a"), re.IGNORECASE)


@dataclass(frozen=True)
class DateText:
    """A date as written: the year may be missing (`25/3`)."""

    day: int
    month: int
    year: int | None
    start: int  # offsets in the text searched
    end: int
    next_year: bool = False  # "15/01 năm sau": the year after the document's

    def in_year(self, default_year: int) -> date | None:
        """The date, the missing year taken from `default_year`; None if no such day (30/02)."""
        try:
            return date(self.year or default_year + self.next_year, self.month, self.day)
        except ValueError:
            return None


def date_from(match: re.Match[str], tag: str = "a") -> DateText | None:
    """The date a DATE-style group `tag` matched, or None when it is no calendar day."""
    for form in "1234":
        day = match.group(f"{tag}d{form}")
        if day is not None:
            month = int(match.group(f"{tag}m{form}"))
            year = match.group(f"{tag}y{form}")
            span = match.span(f"{tag}d{form}")
            end = match.end(f"{tag}y{form}") if year else match.end(f"{tag}m{form}")
            if not (1 <= month <= 12 and 1 <= int(day) <= _days_in(month)):
                return None
            if year and int(day) == 29 and month == 2 and not calendar.isleap(int(year)):
                return None
            return DateText(int(day), month, int(year) if year else None, span[0], end)
    return None


def _days_in(month: int) -> int:
    return (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]


def find_dates(text: str) -> list[DateText]:
    """Every calendar date written in `text`, in order."""
    return [found for m in DATE.finditer(text) if (found := date_from(m)) is not None]


# --- deadlines ----------------------------------------------------------------

# Words that make the date after them a deadline: "trước ngày 10/6", "chậm nhất là ngày 15/12".
DEADLINE_MARKER = (
    r"(?:(?:trước|chậm nhất(?:\s+là)?|muộn nhất(?:\s+là)?|không muộn hơn|không quá)"
    r"(?:\s+\d{1,2}\s*(?:giờ|h)(?:\s*\d{1,2}(?:\s*phút)?)?,?)?"  # "trước 17 giờ 00 ngày 10/12"
    r"|(?:thời\s+)?hạn(?:\s+(?:chót|cuối))?(?:\s+(?:nộp|gửi|hoàn thành))?(?:\s+báo cáo)?\s*(?::|là)"
    r"\s*(?:trước\s+)?|(?:thời\s+)?hạn\s+(?:chót|cuối|nộp|gửi)(?:\s+là)?"
    r"|thời gian hoàn thành\s*:\s*(?:trước\s+)?)"
)
# "thứ Sáu, 15/11/2024": the weekday some documents write before the date.
_WEEKDAY = r"(?:(?:thứ\s+(?:hai|ba|tư|năm|sáu|bảy|[2-7])|chủ nhật)\s*,?\s*(?:ngày\s+)?)?"
DEADLINE = re.compile(
    rf"(?P<marker>{DEADLINE_MARKER})\s*(?:vào\s+)?(?:ngày\s+)?{_WEEKDAY}{_date_pattern('a')}"
    r"(?P<recurring>\s*(?:của\s+)?(?:hằng|hàng)\s+năm)?"
    r"(?P<next>\s+(?:của\s+)?năm\s+(?:sau|kế tiếp|tiếp theo))?",
    re.IGNORECASE,
)
# "trước ngày 15 hằng tháng", "trước ngày 20 của tháng cuối quý"
MONTHLY_DEADLINE = re.compile(
    rf"(?P<marker>{DEADLINE_MARKER})\s*(?:vào\s+)?ngày\s+(?P<day>\d{{1,2}})\s+"
    r"(?:(?P<monthly>(?:hằng|hàng|mỗi|của\s+các|các)\s+tháng)|(?P<quarterly>(?:của\s+)?tháng\s+cuối\s+(?:mỗi\s+)?quý))",
    re.IGNORECASE,
)
# "hằng tháng, trước ngày 20": the period first, then a day without a month.
MONTHLY_BEFORE = re.compile(
    rf"(?:hằng|hàng|mỗi)\s+tháng[^.;]{{0,40}}?{DEADLINE_MARKER}\s*(?:vào\s+)?ngày\s+(?P<day>\d{{1,2}})"
    r"(?!\d|\s*(?:[/-]|\.\d)|\s+tháng)",
    re.IGNORECASE,
)
# More dates after a deadline, due the same way: "trước ngày 15/6 và 15/12 hằng năm".
MORE_DATES = re.compile(
    rf"^\s*(?:,|và|hoặc)\s*(?:trước\s+)?(?:ngày\s+)?{_date_pattern('a')}"
    r"(?P<recurring>\s*(?:của\s+)?(?:hằng|hàng)\s+năm)?",
    re.IGNORECASE,
)
# "vào ngày 10/12 hằng năm", "ngày 15 tháng 12 hàng năm" without "trước": yearly when a report is due.
YEARLY_DATE = re.compile(
    rf"(?:vào\s+)?(?:ngày\s+)?{_date_pattern('a')}\s*(?:của\s+)?(?:hằng|hàng)\s+năm", re.IGNORECASE
)
# A recurring report with no day given: "báo cáo chung hằng tháng", "báo cáo định kỳ hằng quý".
UNDATED_RECURRING = re.compile(
    r"báo cáo(?:\s+\w+){0,4}?\s+(?:định kỳ\s+)?(?P<period>(?:hằng|hàng)\s+(?:tháng|quý))(?!\s*\d)",
    re.IGNORECASE,
)
# "năm" listed after another period: "định kỳ 6 tháng, năm", "6 tháng và năm".
YEAR_LISTED = re.compile(r"(?<=tháng)(?:,|\s+và|\s+hoặc)\s*năm\b", re.IGNORECASE)
# The verbs that make a clause an obligation to send something.
REPORT_VERB = re.compile(r"\b(?:báo cáo|gửi|nộp|tổng hợp)\b", re.IGNORECASE)
# Words that make a yearly date a celebration, not a due day: "nhân ngày 20/10 hằng năm".
CELEBRATION = re.compile(r"\b(?:nhân|kỷ niệm|hưởng ứng|dịp|chào mừng)\b[^,;]{0,30}$", re.IGNORECASE)

# Period words: what recurs, and how often.
PERIODS: list[tuple[str, re.Pattern[str]]] = [
    ("half-year", re.compile(r"\b(?:0?6|sáu)\s+tháng(?:\s+đầu\s+năm)?\b", re.IGNORECASE)),
    ("quarter", re.compile(r"\b(?:hằng|hàng|mỗi)\s+quý\b|\bquý\s+(?:I|II|III|IV|[1-4])\b", re.IGNORECASE)),
    ("month", re.compile(r"\b(?:hằng|hàng|mỗi)\s+tháng\b", re.IGNORECASE)),
    (
        "year",
        re.compile(
            r"\b(?:0?1\s+năm|cả\s+năm|(?:hằng|hàng|mỗi)\s+năm|báo cáo\s+(?:\w+\s+){0,2}năm(?!\s+\d))"
            r"|(?:[,;(]|\bvà)\s*năm\s*\(?\s*$",  # "định kỳ 6 tháng (trước ngày 20/6), năm (trước ngày 20/12)"
            re.IGNORECASE,
        ),
    ),
]

# --- Decree 09/2019/NĐ-CP report periods -------------------------------------------

# "Nghị định 09/2019/NĐ-CP", "Nghị định số 09/2019/NĐ-CP", "Nghị định 09": the state's reporting regime.
DECREE_09 = re.compile(r"Nghị\s+định\s+(?:số\s+)?09(?:\s*/\s*2019(?:\s*/\s*NĐ\s*-?\s*CP)?)?(?![\d/])", re.I)
_PERIOD_WORD = (
    r"(?:(?:0?6|sáu)\s+tháng(?:\s+(?:đầu|cuối)\s+năm)?|(?:hằng|hàng|mỗi)\s+(?:tháng|quý|năm)"
    r"|(?:0?1\s+|cả\s+)?năm|quý|tháng)(?!\s*\d)(?!\s+(?:hành động|cao điểm|thanh niên|nhân đạo))"
)
# "báo cáo định kỳ 6 tháng, hằng năm", "Báo cáo 6 tháng", "báo cáo quý, 6 tháng và năm".
REGIME = re.compile(
    rf"báo cáo\s+(?P<regular>định kỳ\s+)?(?P<periods>{_PERIOD_WORD}(?:\s*(?:,|và|hoặc)\s*{_PERIOD_WORD})*)"
    r"(?=\s*(?:[,.;:()]|$|và\b|hoặc\b|theo\b|gửi\b|về\b|lên\b|cho\b|trước\b|của\b|thực hiện\b))",
    re.IGNORECASE,
)
# The decree's kind of period for each period word (see scheduler/calendar/periods.py).
REGIME_KINDS: list[tuple[str, re.Pattern[str]]] = [
    ("monthly", re.compile(r"^(?:(?:hằng|hàng|mỗi)\s+)?tháng$", re.I)),
    ("quarterly", re.compile(r"^(?:(?:hằng|hàng|mỗi)\s+)?quý$", re.I)),
    ("half-year", re.compile(r"^(?:0?6|sáu)\s+tháng", re.I)),
    ("annual", re.compile(r"^(?:(?:hằng|hàng|mỗi|0?1|cả)\s+)?năm$", re.I)),
]
# "hằng năm", "hàng năm": the text says the duty recurs beyond the plan's year.
EVERY_YEAR = re.compile(r"\b(?:hằng|hàng|mỗi)\s+năm\b", re.IGNORECASE)

# A deadline written only as a month or a quarter: "trong tháng 6/2024", "trong Quý II năm 2024",
# "chậm nhất trong tháng 12". The due day is proposed as its last day, for a person to confirm.
MONTH_DEADLINE = re.compile(
    r"(?P<marker>(?:hoàn thành|xong|chậm nhất(?:\s+là)?|muộn nhất(?:\s+là)?|báo cáo|gửi|nộp|ban hành|trình|xây dựng)"
    r"(?:\s+[^\s;.]+){0,8}?\s+(?:trong|vào|trước hết|hết)\s+"
    r"|(?:thời gian|thời hạn)(?:\s+(?:thực hiện|hoàn thành))?\s*:\s*(?:trong\s+)?)"
    r"(?P<when>tháng\s+(?P<m>\d{1,2})(?:\s*(?:/|năm)\s*(?P<my>(?:19|20|21)\d{2}))?(?!\s*/\s*\d)(?!\d)"
    r"|quý\s+(?P<q>IV|III|II|I|[1-4])(?!\w)(?:\s*(?:/|năm)\s*(?P<qy>(?:19|20|21)\d{2}))?)"
    r"(?P<recurring>\s*(?:của\s+)?(?:hằng|hàng)\s+năm)?",
    re.IGNORECASE,
)
QUARTERS = {"I": 1, "II": 2, "III": 3, "IV": 4, "1": 1, "2": 2, "3": 3, "4": 4}


def regime_kinds(periods: str) -> tuple[str, ...]:
    """ "6 tháng, hằng năm" → ("half-year", "annual"), in the decree's order, each once."""
    words = [w.strip() for w in re.split(r"\s*(?:,|\bvà\b|\bhoặc\b)\s*", periods) if w.strip()]
    kinds = {kind for w in words for kind, pattern in REGIME_KINDS if pattern.search(w)}
    return tuple(k for k in ("monthly", "quarterly", "half-year", "annual") if k in kinds)


# --- windows ------------------------------------------------------------------

_RANGE_SEP = r"\s*(?:đến|tới|-|–|—)\s*(?:hết\s+)?(?:ngày\s+)?"
WINDOW = re.compile(
    rf"từ\s+(?:ngày\s+)?{_date_pattern('a')}{_RANGE_SEP}{_date_pattern('b')}"
    rf"|\(\s*(?:từ\s+)?(?:ngày\s+)?{_date_pattern('c')}{_RANGE_SEP}{_date_pattern('e')}\s*\)",
    re.IGNORECASE,
)
# "từ ngày 01- 30/6", "từ 01 đến 30/6/2024": both ends in one month.
WINDOW_ONE_MONTH = re.compile(
    r"từ\s+(?:ngày\s+)?(?P<d1>\d{1,2})\s*(?:đến|tới|-|–)\s*(?:ngày\s+)?(?P<d2>\d{1,2})"
    r"(?:\s*/\s*|\s+tháng\s+)(?P<m>\d{1,2})(?:(?:\s*/\s*|\s+năm\s+)(?P<y>(?:19|20|21)\d{2}))?(?!\d)",
    re.IGNORECASE,
)
# "(tháng 6)", "trong tháng 6": a whole month, right after the name of a campaign.
WHOLE_MONTH = re.compile(
    r"^\s*(?:\(\s*|,\s*|\s)(?:(?:trong\s+)?tháng\s+(?P<m>\d{1,2})\b(?!\s*/)"
    r"|(?:tháng\s+)?(?P<mm>\d{1,2})\s*/\s*(?P<y>(?:19|20|21)\d{2})\s*\))",
    re.IGNORECASE,
)
# Ranges that are not periods of activity: the data a report covers, a validity.
NOT_A_WINDOW = re.compile(
    r"(?:số liệu|kỳ báo cáo|thời điểm|hiệu lực|giai đoạn|tính|kể)\s*(?:\w+\s+){0,3}$", re.IGNORECASE
)
# The words that start the name of a campaign or action month.
CAMPAIGN = re.compile(
    r"(?:Tháng\s+(?:hành động|cao điểm|nhân đạo)|Tuần\s+(?:lễ|hành động)|Chiến dịch|Đợt\s+(?:cao điểm|ra quân))[^;:.()]*",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class NamedPeriod:
    """A period that recurs every year on fixed days, recognised by its name alone."""

    name: str
    pattern: re.Pattern[str]
    start: tuple[int, int]  # (day, month)
    end: tuple[int, int]


def _month(name: str, pattern: str, start: tuple[int, int], end: tuple[int, int]) -> NamedPeriod:
    return NamedPeriod(name, re.compile(pattern, re.IGNORECASE), start, end)


# (day, month) of the first and last day, each year.
ACTION_MONTHS = [
    _month(
        "Tháng hành động vì bình đẳng giới và phòng ngừa, ứng phó với bạo lực trên cơ sở giới",
        r"Tháng hành động (?:quốc gia )?(?:vì|về) bình đẳng giới",
        (15, 11),
        (15, 12),
    ),
    _month(
        "Tháng hành động quốc gia về phòng, chống bạo lực gia đình",
        r"Tháng hành động (?:quốc gia )?(?:về )?phòng,? chống bạo lực gia đình",
        (1, 6),
        (30, 6),
    ),
    _month("Tháng hành động vì trẻ em", r"Tháng hành động vì trẻ em", (1, 6), (30, 6)),
    _month(
        "Tháng hành động phòng, chống ma túy",
        r"Tháng (?:hành động )?(?:toàn dân )?phòng,? chống ma túy",
        (1, 6),
        (30, 6),
    ),
    _month("Tháng hành động vì an toàn thực phẩm", r"Tháng hành động vì an toàn thực phẩm", (15, 4), (15, 5)),
    _month(
        "Tháng hành động về an toàn, vệ sinh lao động",
        r"Tháng hành động (?:quốc gia )?về an toàn,? vệ sinh lao động",
        (1, 5),
        (31, 5),
    ),
    _month("Tháng hành động quốc gia về dân số", r"Tháng hành động quốc gia về dân số", (1, 12), (31, 12)),
    _month("Tháng Thanh niên", r"Tháng Thanh niên", (1, 3), (31, 3)),
    _month("Tháng Nhân đạo", r"Tháng Nhân đạo", (1, 5), (31, 5)),
    _month(
        "Tháng hành động vì người cao tuổi Việt Nam", r"Tháng hành động vì người cao tuổi", (1, 10), (31, 10)
    ),
]

# --- observances -------------------------------------------------------------


@dataclass(frozen=True)
class NamedDay:
    name: str
    pattern: re.Pattern[str]
    day: int
    month: int


def _day(name: str, pattern: str, day: int, month: int) -> NamedDay:
    return NamedDay(name, re.compile(pattern, re.IGNORECASE), day, month)


OBSERVANCES = [
    _day("Ngày Quốc tế Phụ nữ", r"Quốc tế Phụ nữ(?! nông thôn)", 8, 3),
    _day("Ngày Quốc tế Hạnh phúc", r"Quốc tế Hạnh phúc", 20, 3),
    _day("Ngày Quốc tế Thiếu nhi", r"Quốc tế Thiếu nhi", 1, 6),
    _day("Ngày Quốc tế phòng, chống ma túy", r"(?:Quốc tế|Toàn dân) phòng,? chống ma túy", 26, 6),
    _day("Ngày Gia đình Việt Nam", r"Gia đình Việt Nam", 28, 6),
    _day("Ngày Dân số Thế giới", r"Dân số Thế giới", 11, 7),
    _day(
        "Ngày Thế giới phòng, chống mua bán người",
        r"(?:Thế giới|Toàn dân) phòng,? chống mua bán người",
        30,
        7,
    ),
    _day("Ngày Quốc tế Người cao tuổi", r"Quốc tế Người cao tuổi", 1, 10),
    _day("Ngày Quốc tế trẻ em gái", r"Quốc tế (?:trẻ em gái|Em gái)", 11, 10),
    _day("Ngày Quốc tế Phụ nữ nông thôn", r"Phụ nữ nông thôn", 15, 10),
    _day(
        "Ngày Phụ nữ Việt Nam",
        r"(?:Ngày|ngày) Phụ nữ Việt Nam|thành lập Hội Liên hiệp Phụ nữ Việt Nam",
        20,
        10,
    ),
    _day("Ngày Pháp luật Việt Nam", r"Ngày Pháp luật", 9, 11),
    _day("Ngày Quốc tế Nam giới", r"Quốc tế Nam giới", 19, 11),
    _day(
        "Ngày Quốc tế xóa bỏ bạo lực đối với phụ nữ và trẻ em gái",
        r"Quốc tế (?:về )?(?:xóa bỏ|xoá bỏ|loại trừ) bạo lực",
        25,
        11,
    ),
    _day("Ngày Quốc tế Người khuyết tật", r"Quốc tế Người khuyết tật", 3, 12),
    _day("Ngày Dân số Việt Nam", r"Dân số Việt Nam", 26, 12),
]
# Any other named day followed by its date: "Ngày Pháp luật Việt Nam (9/11)".
NAMED_DAY = re.compile(
    r"\b[Nn]gày\s+(?P<name>(?:(?:hội|thành lập|truyền thống|kỷ niệm)\s+|(?=[A-ZĐÀ-Ỹ]))[^\d();:.\n]{2,90}?)"
    r"\s*\(?\s*(?:ngày\s+)?"
    r"(?<!\d)(?P<d>\d{1,2})\s*[/.-]\s*(?P<m>\d{1,2})(?!\d)(?!\s*/\s*\d{4}\s*(?:của|đến|-|–))"
)

# --- agencies -------------------------------------------------------------------

# Words that start the name of an agency or of a group of agencies (any case: "qua phòng LĐTBXH").
AGENCY_HEAD = (
    r"(?i:UBND|HĐND|Ủy ban|Uỷ ban|Hội đồng|Sở|Phòng|Ban|Bộ|Cục|Chi cục|Tổng cục|Văn phòng|Hội|"
    r"Liên đoàn|Liên minh|Đoàn|Mặt trận|Công an|Trung tâm|Đài|Báo(?! cáo)|Thường trực|Tỉnh ủy|Tỉnh uỷ|Huyện ủy|"
    r"Thành ủy|Đảng ủy|Chính phủ|Thủ tướng|Viện|Tòa án|Bảo hiểm|Kho bạc|Thanh tra|Bệnh viện|Trường|"
    r"Bộ Chỉ huy|Ngân hàng|Thủ trưởng|Chủ tịch|Giám đốc|Vụ|Trạm|Đồn|Chi hội|Chi đoàn|"
    r"các\s+(?:sở|phòng|ban|ngành|cơ quan|đơn vị|địa phương|hội|tổ chức|huyện|xã|phường|cấp|đoàn thể)|"
    r"cơ quan|đơn vị)\b"
)
AGENCY_START = re.compile(rf"^\s*{AGENCY_HEAD}")
# Where an agency's name ends: a lowercase verb or preposition (names capitalise their words),
# a bracket or the end of the clause.
_AGENCY_STOP = (
    r"(?=\s+(?:và\s+)?(?:trước|chậm nhất|để|kết quả|theo|trong|về việc|thông qua|qua|định kỳ|vào|khi|"
    r"tổng hợp|báo cáo|gửi|chủ động|thực hiện|xây dựng|triển khai|chịu|có trách nhiệm|tổ chức(?! thành viên)|"
    r"chủ trì|phối hợp|hướng dẫn|nhằm|bằng|hằng|hàng|theo dõi|đôn đốc|căn cứ|tham mưu|tiếp tục|"
    r"nghiên cứu|rà soát|đánh giá|kiểm tra|bố trí|lồng ghép|đẩy mạnh|tăng cường|hoàn thành)\b|"
    r"\s*[();.:\n|]|\s*$|,\s*(?:để|đồng thời|trước|theo|e-?mail|điện thoại|số điện thoại|ĐT|đt)\b)"
)
AGENCY = re.compile(rf"{AGENCY_HEAD}.*?{_AGENCY_STOP}")
# Who a report goes to ("báo cáo UBND tỉnh", "gửi về Sở ...", "báo cáo kết quả với UBND huyện"),
# and through whom ("thông qua Sở ...", "(qua phòng ...)").
RECIPIENT = re.compile(
    r"(?i:báo cáo(?:\s+kết quả(?:\s+thực hiện)?)?\s+(?:với\s+|về\s+|lên\s+)?|gửi(?:\s+về)?\s+|nộp(?:\s+về)?\s+)"
    rf"(?P<agency>{AGENCY_HEAD}.*?){_AGENCY_STOP}"
)
BARE_RECIPIENT = re.compile(rf"(?<![\w-])(?i:về)\s+(?P<agency>{AGENCY_HEAD}.*?){_AGENCY_STOP}")
# The agency a report goes to "để tổng hợp, báo cáo …": the deadline after it is its own.
CONSOLIDATES = re.compile(
    rf"(?i:về|qua|thông qua)\s+(?P<agency>{AGENCY_HEAD}.*?)\s*,?\s*(?i:để)\s+(?i:tổng hợp),?\s+(?:và\s+)?"
    r"(?i:báo cáo)\s+[^;]*$"
)
VIA = re.compile(rf"(?i:thông qua|qua)\s+(?P<agency>{AGENCY_HEAD}.*?){_AGENCY_STOP}")
# Words before a subject that are not part of it: list markers, "Yêu cầu", "Đề nghị", "Giao",
# and a lead-in clause ("Căn cứ chức năng, nhiệm vụ ..., UBND các huyện ...").
SUBJECT_LEAD = re.compile(
    r"^\W*(?:(?:[a-zđ]|\d+(?:\.\d+)*)[.)]\s*)?(?:(?i:căn cứ|trên cơ sở|để|nhằm)\b.*?,\s+(?="
    + AGENCY_HEAD
    + r"))?(?:(?i:yêu cầu|đề nghị|giao)\s+)?"
)
# Where one agency of a list ends and the next begins: ", các sở, ngành" after "UBND ..., các huyện".
# Heads are capitalised ("Sở", "UBND") or "các …": "các sở, ban, ngành" stays one.
AGENCY_SPLIT = re.compile(
    r"\s*(?:,|;|\bvà)\s+(?=(?:UBND|Ủy ban|Uỷ ban|Sở|Phòng|Ban|Hội|Công an|Thủ trưởng|Trung tâm|Văn phòng|"
    r"Bộ|Cục|Chi cục|Trạm|Đài|Liên đoàn|Mặt trận|"
    r"(?i:các)\s+(?:sở|phòng|ban|ngành|hội|tổ chức|đoàn thể))\b)"
)

# --- the document's own facts -------------------------------------------------

NUMBER = re.compile(r"^Số\s*:?\s*(?P<number>\d*)\s*/\s*(?P<symbol>[A-ZĐ][\w.-]*(?:/[A-ZĐ][\w.-]*)?)")
PLACE_DATE = re.compile(
    r"^(?P<place>[A-ZĐÀ-Ỹ][^,\d]{1,40}?)\s*,\s*ngày\s*(?P<d>\d{0,2})\s*tháng\s*(?P<m>\d{0,2})\s*năm\s*(?P<y>\d{4})"
)
NATIONAL_HEADING = re.compile(r"^(?:CỘNG HÒA|CỘNG HOÀ|ĐỘC LẬP|Độc lập|ĐẢNG CỘNG SẢN|KẾ HOẠCH)")
QUOTES = re.compile(r"[\"“”«»]")
PLAN_HEADING = re.compile(r"^KẾ HOẠCH\b\s*(?P<rest>.*)$")
PREAMBLE_TITLE = re.compile(
    r"(?P<issuer>[^,;.]{3,120}?)\s+(?:ban hành|xây dựng|triển khai)\s+(?P<title>Kế hoạch\s.{10,300}?)"
    r"\s*(?:,\s*)?(?:cụ thể\s+)?(?:như sau|với (?:các )?nội dung)",
    re.IGNORECASE,
)
TITLE_YEAR = re.compile(r"(?<!đến )(?<!tới )năm\s+(?P<y>(?:19|20|21)\d{2})(?!\s*[-–])")
SECTION = re.compile(r"^(?P<num>[IVX]+|Phần\s+\w+)\s*[.:-]?\s+(?P<title>.+)$")
ORGANISATION = re.compile(r"tổ chức thực hiện|trách nhiệm thực hiện|phân công (?:nhiệm vụ|trách nhiệm)", re.I)
ITEM_HEADING = re.compile(
    r"^(?P<num>\d{1,2})\s*[.)]\s+(?:Đề nghị\s+)?(?P<name>[^:]{3,250}?)\s*(?::\s*(?P<rest>.*))?$"
)
SIGNATURE = re.compile(r"^(?:Nơi nhận|TM\.|KT\.|T/M|Nguồn tin)\b", re.IGNORECASE)

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?<![\d/])(?:\+84|0)(?:[\s.]?\d){8,10}(?![\d/])")


# --- helpers ---------------------------------------------------------------------


def slug(text: str, words: int = 8) -> str:
    """`Sở Lao động - Thương binh và Xã hội` → `so-lao-dong-thuong-binh-va-xa-hoi`."""
    parts = re.findall(r"[a-z0-9]+", unaccent(text).lower())
    return "-".join(parts[:words]) or "muc"


def same_agency(a: str, b: str) -> bool:
    """Whether two spellings name the same agency (dashes, spaces, case and marks aside), one
    perhaps saying more of it ("Ban Gia đình - Xã hội" and "Ban Gia đình - Xã hội Hội LHPN tỉnh")."""
    short, long = sorted((_key(a), _key(b)), key=len)
    return short == long or (len(short) >= 12 and long.startswith(short))


def _key(text: str) -> str:
    text = re.sub(r"^(?:các|thủ trưởng)\s+", "", text.strip(), flags=re.IGNORECASE)
    folded = re.sub(r"[^a-z0-9]", "", unaccent(text).lower())
    for short, full in (("ubnd", "uybannhandan"), ("ldtbxh", "laodongthuongbinhvaxahoi")):
        folded = folded.replace(short, full)
    return folded
