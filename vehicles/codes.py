"""Identifiers of the chain: frame numbers, battery serials, and the public codes printed in QR codes."""

from __future__ import annotations

import datetime as dt
import re
import secrets

from stdnum.iso7064 import mod_37_36

# 4-digit enterprise code + 1-digit type (2 = e-bike) + 2-digit year + 8-digit serial (DOMAIN: frame number).
FRAME_NO = re.compile(r"(?P<enterprise>[0-9]{4})(?P<type>2)(?P<year>[0-9]{2})(?P<serial>[0-9]{8})")
# GB/T 45565-2025 codes are enterprise code + type + unique id; makers' serials vary, so only the shape is fixed.
BATTERY_SERIAL = re.compile(r"[0-9A-Z][0-9A-Z-]{5,47}")  # use with fullmatch

PUBLIC_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U to misread
PUBLIC_CODE_RANDOM = 12


def frame_no_problem(frame_no: str, *, enterprise_code: str = "", today: dt.date | None = None) -> str | None:
    """Why a frame number is malformed (a reason code), or None when it is well formed."""
    match = FRAME_NO.fullmatch(frame_no)
    if match is None:
        return "malformed_frame_no"
    if enterprise_code and match["enterprise"] != enterprise_code:
        return "wrong_enterprise_code"
    year = 2000 + int(match["year"])
    if today is not None and year > today.year:
        return "future_year"
    return None


def normalise_serial(serial) -> str:
    return str(serial or "").strip().upper()


def public_code_new() -> str:
    """An unguessable public code (60 random bits) with an ISO 7064 Mod 37,36 check character."""
    # 256 is a multiple of 32, so taking each random byte modulo 32 is unbiased (and much faster than choice()).
    body = "".join(PUBLIC_CODE_ALPHABET[byte % 32] for byte in secrets.token_bytes(PUBLIC_CODE_RANDOM))
    return body + mod_37_36.calc_check_digit(body)


def public_code_valid(code: str) -> bool:
    return (
        len(code) == PUBLIC_CODE_RANDOM + 1
        and all(c in PUBLIC_CODE_ALPHABET for c in code[:-1])
        and mod_37_36.is_valid(code)
    )
