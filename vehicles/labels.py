"""Scanned QR labels: the public code a bike's or battery's label carries, read back as the frame number or battery
code that the forms of the phone pages and their services take.

A QR label encodes the public URL `https://<host>/v/<code>`; a camera reader fills a field with the code, and a
hardware scanner types the whole URL. The code printed under the QR may also be typed. Each form resolves what it
is given within the items it may name (a dealer's sale: its own stock), so a code never reveals more than that.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.db.models import QuerySet

from vehicles.codes import public_code_valid
from vehicles.models import Battery, Vehicle

VEHICLE = "vehicle"
BATTERY = "battery"

_LABEL_URL = re.compile(r"^https?://[^/\s]+/v/(?P<code>[0-9A-Z]+)/?$", re.IGNORECASE)


def label_code(text) -> str | None:
    """The public code in a scanned label (its URL, or the code as printed), or None for anything else."""
    value = str(text or "").strip()
    match = _LABEL_URL.match(value)
    code = (match["code"] if match else value).upper()
    return code if public_code_valid(code) else None


def labels_resolve(
    values: Iterable[str], *, vehicles: QuerySet[Vehicle] | None = None, batteries: QuerySet[Battery] | None = None
) -> dict[str, tuple[str, str]]:
    """What each value that is a label stands for, `{value: ("vehicle", frame number) | ("battery", battery code)}`,
    looked up in `vehicles` and `batteries` (every bike and battery unless narrowed); three queries at most.

    A value that is the code of a battery on record stays that battery's code even if it has the shape of a public
    code: what is printed on the pack wins.
    """
    codes = {value: code for value in values if (code := label_code(value))}
    if not codes:
        return {}
    vehicles = Vehicle.objects.all() if vehicles is None else vehicles
    batteries = Battery.objects.all() if batteries is None else batteries
    typed = {value: value.strip().upper() for value in codes}
    printed = set(Battery.objects.filter(serial__in=typed.values()).values_list("serial", flat=True))
    wanted = {code for value, code in codes.items() if typed[value] not in printed}
    frame_nos = dict(vehicles.filter(code__in=wanted).values_list("code", "frame_no")) if wanted else {}
    left = wanted - frame_nos.keys()
    serials = dict(batteries.filter(code__in=left).values_list("code", "serial")) if left else {}
    resolved = {}
    for value, code in codes.items():
        if code in frame_nos:
            resolved[value] = (VEHICLE, frame_nos[code])
        elif code in serials:
            resolved[value] = (BATTERY, serials[code])
    return resolved


def frame_no_of(value: str, *, vehicles: QuerySet[Vehicle] | None = None) -> str:
    """The frame number a field was given: a bike's label resolves to its frame number; anything else as typed."""
    found = labels_resolve([value], vehicles=vehicles, batteries=Battery.objects.none()).get(value)
    return found[1] if found else str(value or "").strip().upper()


def serials_of(values: list[str], *, batteries: QuerySet[Battery] | None = None) -> list[str]:
    """The battery codes a field was given: a battery's label resolves to its code; anything else as typed."""
    found = labels_resolve(values, vehicles=Vehicle.objects.none(), batteries=batteries)
    return [found[value][1] if value in found else value for value in values]
