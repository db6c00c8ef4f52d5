"""Addresses: e-mail normalisation agrees with email-validator; Vietnamese mobiles become +84…."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given
from hypothesis import strategies as st

from scheduler.config.contacts import normalise_email, normalise_mobile

ADDRESSES = [
    "a@example.com", "Ab.c+d@Example.ORG", "x@y.test", "a..b@x.com", "a@-x.com", ".a@x.com",
    "vanphong@@tth.example.org", "a@x.local", "ngọc@example.com", "a@xn--bcher-kva.example",
    "a_b@sub-1.example.org", "a@b", "a@b.c", "a@localhost", "a b@example.com", "a@ex_ample.com",
]  # fmt: skip


def reference(address: str) -> str | None:
    try:
        return validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def ours(address: str) -> str | None:
    try:
        return normalise_email(address)
    except ValueError:
        return None


@pytest.mark.parametrize("address", ADDRESSES)
def test_email_matches_email_validator(address):
    assert ours(address) == reference(address)


@given(st.from_regex(r"[A-Za-z0-9._+-]{1,12}@[A-Za-z0-9.-]{1,20}", fullmatch=True))
def test_email_matches_email_validator_on_generated_addresses(address):
    assert ours(address) == reference(address)


@pytest.mark.parametrize(
    ("written", "e164"),
    [
        ("0912345678", "+84912345678"),
        ("0912 345 678", "+84912345678"),
        ("+84 912 345 678", "+84912345678"),
        ("84912345678", "+84912345678"),
        ("0912.345.678", "+84912345678"),
        ("01687654321", "+84387654321"),  # Viettel 0168 → 038
        ("0120 123 4567", "+84701234567"),  # MobiFone 0120 → 070
        ("0199 123 4567", "+84591234567"),  # Gmobile 0199 → 059
    ],
)
def test_mobiles_are_normalised(written, e164):
    assert normalise_mobile(written) == e164


@pytest.mark.parametrize("written", ["024 3825 1234", "091234567", "09123456789", "abc", "0112345678", ""])
def test_non_mobiles_are_refused(written):
    with pytest.raises(ValueError, match="số di động"):
        normalise_mobile(written)
