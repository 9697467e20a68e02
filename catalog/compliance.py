"""Whether a certified model may be sold on a given day: CCC validity and the standards' cut-off dates."""

from __future__ import annotations

import datetime as dt

from catalog.models import BatteryModel, Chemistry, VehicleModel
from catalog.standards import BATTERY_CCC_REQUIRED_FROM

UNCERTIFIED = "uncertified"
CERTIFICATE_EXPIRED = "certificate_expired"
OLD_STANDARD_PAST_CUTOFF = "old_standard_past_cutoff"


def _ccc_problem(model, day: dt.date) -> str | None:
    if not model.ccc_cert_no or model.ccc_valid_until is None:
        return UNCERTIFIED
    if model.ccc_valid_until < day:
        return CERTIFICATE_EXPIRED
    return None


def vehicle_model_problem(model: VehicleModel, day: dt.date) -> str | None:
    """Why this vehicle model may not be sold on `day` (CCC since 2019-04-15; old standard until its cut-off)."""
    if not model.standard.sellable_on(day):
        return OLD_STANDARD_PAST_CUTOFF
    return _ccc_problem(model, day)


def battery_ccc_required(*, chemistry: str, day: dt.date) -> bool:
    """CCC is compulsory for lithium-ion packs from BATTERY_CCC_REQUIRED_FROM; lead-acid and sodium-ion are not
    in the compulsory catalogue."""
    return chemistry == Chemistry.LITHIUM_ION and day >= BATTERY_CCC_REQUIRED_FROM


def battery_model_problem(model: BatteryModel, day: dt.date) -> str | None:
    """Lithium batteries need a valid CCC from 2025-11-01; other chemistries, when they carry one, a valid one."""
    if battery_ccc_required(chemistry=model.chemistry, day=day):
        return _ccc_problem(model, day)
    if model.ccc_cert_no and model.ccc_valid_until is not None and model.ccc_valid_until < day:
        return CERTIFICATE_EXPIRED
    return None
