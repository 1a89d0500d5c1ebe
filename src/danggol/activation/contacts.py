"""Contact normalisation: Korean phone numbers, e-mail addresses, SHA-256 for ad platforms.

Phones are read the ways Koreans write them — ``010-1234-5678``, ``01012345678``,
``010 1234 5678``, ``+82 10-1234-5678``, ``+82 (0)10…``, ``82-10-1234-5678`` — and written
in one of two forms: the national form with dashes for SMS / AlimTalk lists
(``010-1234-5678``) and E.164 (``+821012345678``) before hashing for ad platforms.
Only mobile numbers (010, 011, 016, 017, 018, 019) can receive a text; anything else is
*invalid* for these lists, with the reason kept.

E-mails are trimmed and lower-cased, as Google Customer Match and Meta require before
hashing; the Gmail dot rule is not applied (a dot is kept: ``first.last@gmail.com``).

>>> mobile("+82 10-1234-5678")
'010-1234-5678'
>>> e164("010.1234.5678")
'+821012345678'
>>> email_address("  Kim.MinJi@Example.COM ")
'kim.minji@example.com'
"""

from __future__ import annotations

import hashlib
import re

#: a mobile number without its leading 0: prefix 10 with 8 digits; 11, 16–19 with 7 or 8
_MOBILE = re.compile(r"1(?:0\d{8}|[16789]\d{7,8})")
_SEPARATORS = re.compile(r"[\s\-.()/]")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")

#: reasons a phone is not usable, as counted in an export's summary
NO_PHONE = "no phone number"
BAD_PHONE = "phone is not a Korean mobile number"
NO_EMAIL = "no e-mail address"
BAD_EMAIL = "e-mail address is not valid"


class ContactError(ValueError):
    """A phone or an e-mail that cannot be used; the message is the reason."""


def _national_digits(raw: str | None) -> str:
    """The national significant number (without the leading 0), or ContactError."""
    text = (raw or "").strip()
    if not text:
        raise ContactError(NO_PHONE)
    text = _SEPARATORS.sub("", text.replace("(0)", ""))
    if text.startswith("+"):
        if not text.startswith("+82"):
            raise ContactError(BAD_PHONE)
        digits = text[3:]
    elif text.startswith("0082"):
        digits = text[4:]
    elif text.startswith("82") and not text.startswith("0"):
        digits = text[2:]
    elif text.startswith("0"):
        digits = text[1:]
    else:
        raise ContactError(BAD_PHONE)
    digits = digits.removeprefix("0")  # '+82 010-…': the trunk 0 written after the code
    if not digits.isdigit() or not _MOBILE.fullmatch(digits):
        raise ContactError(BAD_PHONE)
    return digits


def mobile(raw: str | None) -> str:
    """The national form with dashes: ``010-1234-5678`` (``011-123-4567`` for old numbers)."""
    digits = "0" + _national_digits(raw)
    return f"{digits[:3]}-{digits[3:-4]}-{digits[-4:]}"


def e164(raw: str | None) -> str:
    """E.164: ``+821012345678`` (what Google Customer Match hashes)."""
    return "+82" + _national_digits(raw)


def email_address(raw: str | None) -> str:
    """Trimmed and lower-cased; ContactError when missing or not shaped like an address."""
    text = (raw or "").strip().lower()
    if not text:
        raise ContactError(NO_EMAIL)
    if not _EMAIL.fullmatch(text):
        raise ContactError(BAD_EMAIL)
    return text


def sha256(text: str) -> str:
    """Lower-case hex SHA-256 of the UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
