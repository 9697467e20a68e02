"""Validation of the identifiers the platform is keyed by: USCC and region codes."""

from __future__ import annotations

from django.utils.translation import gettext as _
from stdnum.cn import uscc as stdnum_uscc
from stdnum.exceptions import ValidationError as StdnumError

from core.errors import InvalidInput


def clean_uscc(value: str) -> str:
    """A unified social credit code (统一社会信用代码), compacted and upper-cased, or InvalidInput."""
    try:
        return stdnum_uscc.validate(str(value).upper())
    except StdnumError:
        raise InvalidInput(
            _("Not a valid unified social credit code (18 characters with a check character)."),
            code="invalid_uscc",
            fields={"uscc": [_("Not a valid unified social credit code.")]},
        ) from None


def make_uscc(body: str) -> str:
    """Append the check character to 17 characters (used by the demo data and tests)."""
    return body + stdnum_uscc.calc_check_digit(body)
