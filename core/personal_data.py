"""Personal data (PIPL): validation, encryption at rest, keyed hashes for exact lookup, and masking.

Values are encrypted with Fernet (MultiFernet, so keys rotate: the first key encrypts, all decrypt). A keyed
HMAC-SHA256 of the normalised value allows exact lookup (trace by ID number or phone) without decrypting.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.utils.translation import gettext as _
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

from core.errors import InvalidInput

_MOBILE = re.compile(r"^1[3-9]\d{9}$")


@cache
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in settings.FIELD_ENCRYPTION_KEYS])


def encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode() if value else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return ""  # a value written under a key no longer configured cannot be read; show it as missing


def lookup_hash(value: str) -> str:
    """Keyed hash for exact lookup; empty for empty values so they never match each other."""
    if not value:
        return ""
    return hmac.new(settings.FIELD_HASH_KEY.encode(), value.encode(), hashlib.sha256).hexdigest()


def clean_id_number(value, field: str = "id_number") -> str:
    """An 18-digit resident identity number (居民身份证号) with a valid checksum and birth date."""
    number = str(value or "").strip().upper()
    try:
        if len(ric.compact(number)) != 18:
            raise StdnumError()
        return ric.validate(number)
    except (StdnumError, ValueError):
        raise InvalidInput(
            _("Not a valid 18-digit ID number."),
            code="invalid_id_number",
            fields={field: [_("Not a valid 18-digit ID number.")]},
        ) from None


def clean_phone(value, field: str = "phone") -> str:
    """A mainland mobile number, 11 digits; +86 and separators are accepted and dropped."""
    digits = re.sub(r"[\s-]", "", str(value or ""))
    digits = digits.removeprefix("+86").removeprefix("0086")
    if not _MOBILE.match(digits):
        raise InvalidInput(
            _("Not a valid mobile phone number."),
            code="invalid_phone",
            fields={field: [_("Not a valid mobile phone number (11 digits).")]},
        )
    return digits


def mask_name(name: str) -> str:
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def mask_id_number(number: str) -> str:
    return f"{number[:4]}{'*' * (len(number) - 8)}{number[-4:]}" if len(number) > 8 else "*" * len(number)


def mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) == 11 else "*" * len(phone)
