"""Normalising the addresses written for a contact: e-mail and Vietnamese mobile numbers."""

from __future__ import annotations

import re

import phonenumbers
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

# Since 2018 the old 11-digit mobile numbers (01xx + 7 digits) became 10-digit ones.
# The prefix map is the one the Ministry of Information and Communications published.
OLD_MOBILE_PREFIXES = {
    "0120": "070", "0121": "079", "0122": "077", "0126": "076", "0128": "078",  # MobiFone
    "0123": "083", "0124": "084", "0125": "085", "0127": "081", "0129": "082",  # VinaPhone
    "0162": "032", "0163": "033", "0164": "034", "0165": "035", "0166": "036",  # Viettel
    "0167": "037", "0168": "038", "0169": "039",
    "0186": "056", "0188": "058",  # Vietnamobile
    "0199": "059",  # Gmobile
}  # fmt: skip


# Plain ASCII addresses, the great majority, are checked here; anything else goes through
# email-validator, which is exact but costs ~0.1 ms per address (a national configuration
# holds tens of thousands).
_PLAIN_EMAIL = re.compile(
    r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*@((?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,63})"
)


def normalise_email(text: str) -> str:
    address = str(text).strip()
    plain = _PLAIN_EMAIL.fullmatch(address)
    domain = plain[1].lower() if plain else ""
    if (
        plain
        and len(address) <= 254
        and "xn--" not in domain
        and domain.rsplit(".", 1)[-1] not in SPECIAL_USE_DOMAIN_NAMES
    ):
        return f"{address.rsplit('@', 1)[0]}@{domain}"
    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise ValueError(f"địa chỉ e-mail '{text}' không hợp lệ: {exc}") from None


def normalise_mobile(text: str) -> str:
    """Return a Vietnamese mobile number in E.164 form (+84…), converting old 01xx numbers."""
    raw = str(text).strip()
    digits = re.sub(r"[\s.\-()]", "", raw)
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    if len(digits) == 11 and digits[:4] in OLD_MOBILE_PREFIXES:
        digits = OLD_MOBILE_PREFIXES[digits[:4]] + digits[4:]
    try:
        number = phonenumbers.parse(digits, "VN")
    except phonenumbers.NumberParseException:
        number = None
    if (
        number is None
        or not digits.isdigit()
        or not phonenumbers.is_valid_number(number)
        or phonenumbers.number_type(number) != phonenumbers.PhoneNumberType.MOBILE
    ):
        raise ValueError(
            f"số di động '{raw}' không hợp lệ: cần số di động Việt Nam 10 chữ số "
            "(ví dụ 0912 345 678, +84 912 345 678; số cũ 01xx được tự chuyển đổi)"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
