"""Write paths of the charging app: an operator registers its cabinets (swaps: charging/swaps.py)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from charging.models import SwapStation
from charging.swaps import operator_of
from core.audit import audit_record
from core.errors import Conflict, InvalidInput
from core.models import Region, User

_PRINTABLE = re.compile(r"[^\x00-\x1f\x7f]+")  # no control characters in what pages and exports show
CODE_MAX = SwapStation._meta.get_field("code").max_length
NAME_MAX = SwapStation._meta.get_field("name").max_length
ADDRESS_MAX = SwapStation._meta.get_field("address").max_length
# A cabinet stands somewhere: in a district or county, or a street or town below it, never a whole city.
MIN_REGION_LEVEL = Region.Level.COUNTY


def _text(value, name: str, limit: int, problems: dict) -> str:
    text = str(value or "").strip()
    if not text:
        problems[name] = [_("Required.")]
    elif len(text) > limit or not _PRINTABLE.fullmatch(text):
        problems[name] = [_("At most %(n)d characters, without control characters.") % {"n": limit}]
    return text


def _coordinate(value, name: str, limit: int, problems: dict) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        number = None
    if isinstance(value, bool) or number is None or not number.is_finite() or abs(number) > limit:
        problems[name] = [_("A number from -%(n)d to %(n)d (WGS 84 degrees).") % {"n": limit}]
        return None
    return number.quantize(Decimal("0.000001"))


@transaction.atomic
def swap_station_register(
    *,
    user: User,
    code: str,
    name: str,
    region_code: str,
    address: str,
    latitude=None,
    longitude=None,
) -> SwapStation:
    """An operator registers a cabinet (换电柜) where it stands; its swaps are then reported by its code or id."""
    operator = operator_of(user)
    problems: dict[str, list[str]] = {}
    code = _text(code, "code", CODE_MAX, problems)
    name = _text(name, "name", NAME_MAX, problems)
    address = _text(address, "address", ADDRESS_MAX, problems)
    latitude = _coordinate(latitude, "latitude", 90, problems)
    longitude = _coordinate(longitude, "longitude", 180, problems)
    if (latitude is None) != (longitude is None) and not problems.keys() & {"latitude", "longitude"}:
        problems["latitude" if latitude is None else "longitude"] = [_("Give both coordinates, or neither.")]
    region = Region.objects.filter(code=str(region_code or "").strip()).first()
    if region is None:
        problems["region_code"] = [_("No region has this code (GB/T 2260).")]
    elif region.level < MIN_REGION_LEVEL:
        problems["region_code"] = [_("Name the district or county where the cabinet stands, not a whole city.")]
    if problems:
        raise InvalidInput(
            _("The cabinet cannot be registered as entered."),
            code="unknown_region" if list(problems) == ["region_code"] and region is None else "invalid",
            fields=problems,
        )
    try:
        with transaction.atomic():
            station = SwapStation.objects.create(
                operator=operator,
                code=code,
                name=name,
                region=region,
                address=address,
                latitude=latitude,
                longitude=longitude,
            )
    except IntegrityError:
        message = _("You already registered a cabinet with this code.")
        raise Conflict(message, code="station_code_taken", fields={"code": [message]}) from None
    audit_record(actor=user, action="charging.station.register", target=station, data={"code": code})
    return station
