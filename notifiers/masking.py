"""Hiding secret values (API keys, tokens, passwords) in text that may be logged or stored.

A provider's error or a gateway that echoes the request can carry a secret in several forms:
whole, JSON-escaped (`\\/` for `/`, as PHP writes it), URL-encoded, or cut short (a body
quoted up to N characters). `SecretMask` replaces each of them with "***": the whole value
in any of these forms, and any run of text that shares 8 or more consecutive characters
with one of them. A secret shorter than 8 characters is masked only where it appears whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import quote, quote_plus

MASK = "***"
FRAGMENT = 8  # a run of this many characters of a secret is masked wherever it appears


def _forms(secret: str) -> set[str]:
    """The ways `secret` can appear in a log line or a provider's reply."""
    escaped = json.dumps(secret)[1:-1]
    forms = {
        secret,
        escaped,
        json.dumps(secret, ensure_ascii=False)[1:-1],
        escaped.replace("/", "\\/"),
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret, safe=""),
    }
    return {form for form in forms if form}


class SecretMask:
    """`mask(text)`: `text` with every form of every secret replaced by "***"."""

    def __init__(self, secrets: Iterable[str]) -> None:
        forms = {form for secret in secrets if secret for form in _forms(secret)}
        self._short = sorted((f for f in forms if len(f) < FRAGMENT), key=len, reverse=True)
        self._windows = frozenset(
            form[i : i + FRAGMENT] for form in forms if len(form) >= FRAGMENT for i in range(len(form) - 7)
        )
        self.mask = lru_cache(maxsize=4096)(self._mask)  # log lines repeat their messages and names

    def __bool__(self) -> bool:
        return bool(self._short or self._windows)

    def __call__(self, text: str) -> str:
        return self.mask(text) if (self._short or self._windows) and text else text

    def _mask(self, text: str) -> str:
        if self._windows and len(text) >= FRAGMENT:
            text = self._mask_fragments(text)
        for form in self._short:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def _mask_fragments(self, text: str) -> str:
        windows = self._windows
        if windows.isdisjoint([text[i : i + FRAGMENT] for i in range(len(text) - FRAGMENT + 1)]):
            return text  # the usual case, at C speed
        hidden: list[tuple[int, int]] = []  # [start, end) runs to mask, in order, merged
        for start in range(len(text) - FRAGMENT + 1):
            if text[start : start + FRAGMENT] in windows:
                end = start + FRAGMENT
                if hidden and start <= hidden[-1][1]:
                    hidden[-1] = (hidden[-1][0], end)
                else:
                    hidden.append((start, end))
        if not hidden:
            return text
        parts, position = [], 0
        for start, end in hidden:
            parts += [text[position:start], MASK]
            position = end
        parts.append(text[position:])
        return "".join(parts)


NO_SECRETS = SecretMask(())
