"""Text helpers a channel needs: Vietnamese without diacritics for SMS and other ASCII-only texts."""

from __future__ import annotations

import unicodedata


class _Unaccented(dict[int, str]):
    """A `str.translate` table that learns each character the first time it meets it: the
    character after NFD decomposition, without its combining marks."""

    def __missing__(self, code: int) -> str:
        decomposed = unicodedata.normalize("NFD", chr(code))
        plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
        self[code] = plain = unicodedata.normalize("NFC", plain)
        return plain


_UNACCENTED = _Unaccented({ord("đ"): "d", ord("Đ"): "D", 0x00D0: "D", 0x00F0: "d"})


def unaccent(text: str) -> str:
    """Vietnamese without diacritics: "Đề nghị Sở Y tế" → "De nghi So Y te".

    Tone and vowel marks are combining characters after NFD decomposition and are
    dropped (also when the text came decomposed); đ/Đ do not decompose and are mapped
    explicitly. Other characters (punctuation such as "–") are kept as they are.
    """
    return text if text.isascii() else text.translate(_UNACCENTED)
