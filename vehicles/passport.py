"""A battery's passport (电池护照), in the manner of the EU battery passport (Regulation (EU) 2023/1542, Art. 77 and
Annex XIII): what the pack is, who made it, its certificate, its state and where it has been, by access tier.

- `public`, to anyone, no login: identity, model, chemistry, voltage, capacity and energy, maker, certificate,
  status, the bikes it was fitted in (their public codes and the dates) and how often it was swapped. No personal
  data, no staff of any organization, no enterprise's premises.
- `full`, to the market regulator of the pack's jurisdiction (or of the bike it is in), the platform, and the pack's
  maker (the economic operator who placed it on the market, which the EU rule makes responsible for the passport):
  besides, who holds it, who fitted and removed it and in which bike (frame number), every swap with the cabinet's
  readings and alarm, its recycling records and the alerts about it. Still no owner.
"""

from __future__ import annotations

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from core.errors import NotFound
from core.models import User
from core.scoping import scoped
from vehicles.codes import normalise_serial
from vehicles.models import Battery, Fitment

PUBLIC, FULL = "public", "full"
SWAPS_LISTED = 100  # the newest swaps in the full tier; `swaps.count` counts them all


def battery_for_passport(serial: str) -> Battery:
    battery = (
        Battery.objects.select_related("model", "maker", "holder", "vehicle")
        .filter(serial=normalise_serial(serial))
        .first()
    )
    if battery is None:
        from django.utils.translation import gettext as _

        raise NotFound(_("No battery with this code is registered. The pack may be counterfeit."))
    return battery


def passport_tier(user: User | None, battery: Battery) -> str:
    if user is None or not user.is_authenticated:
        return PUBLIC
    if user.is_superuser:
        return FULL
    org = user.organization
    if org is None or not org.is_active:
        return PUBLIC
    if org.pk == battery.maker_id:
        return FULL
    if org.is_regulator and scoped(Battery.objects.filter(pk=battery.pk), user).exists():
        return FULL
    return PUBLIC


def _day(moment):
    return timezone.localdate(moment).isoformat() if moment else None


def _named(org) -> dict | None:
    return {"id": org.pk, "name": org.name} if org is not None else None


def _swaps(battery: Battery):
    from charging.models import SwapEvent

    return SwapEvent.objects.filter(Q(battery_in=battery) | Q(battery_out=battery))


def battery_passport(battery: Battery, *, tier: str, build_absolute_uri) -> dict:
    model = battery.model
    today = timezone.localdate()
    fitments = list(
        Fitment.objects.filter(battery=battery).select_related("vehicle", "fitted_by").order_by("fitted_at", "pk")
    )
    swaps = _swaps(battery)
    swap_count = swaps.count()
    last_swap = swaps.order_by("-occurred_at").values_list("occurred_at", flat=True).first()
    passport = {
        "tier": tier,
        "identity": {
            "serial": battery.serial,
            "code": battery.code,
            "public_url": build_absolute_uri(reverse("public-record", args=[battery.code])),
            "produced_on": battery.produced_on.isoformat(),
        },
        "model": {
            "code": model.code,
            "name": model.name,
            "chemistry": model.chemistry,
            "nominal_voltage_v": str(model.nominal_voltage_v),
            "capacity_ah": str(model.capacity_ah),
            "energy_wh": str((model.nominal_voltage_v * model.capacity_ah).quantize(model.capacity_ah)),
        },
        "maker": {"name": battery.maker.name, "region_code": battery.maker.region_id},
        "certificate": {
            "ccc_cert_no": model.ccc_cert_no,
            "valid_until": model.ccc_valid_until.isoformat() if model.ccc_valid_until else None,
            "valid": model.ccc_valid_on(today),
        },
        "status": battery.status,
        "fitments": [_fitment(f, build_absolute_uri, full=tier == FULL) for f in fitments],
        "swaps": {"count": swap_count, "last_on": _day(last_swap)},
    }
    if tier == FULL:
        passport.update(_full_record(battery, swaps, swap_count, last_swap))
    return passport


def _fitment(fitment: Fitment, build_absolute_uri, *, full: bool) -> dict:
    vehicle = fitment.vehicle
    url = build_absolute_uri(reverse("public-record", args=[vehicle.code]))
    row = {
        "vehicle": {"code": vehicle.code, "public_url": url},
        "fitted_on": _day(fitment.fitted_at),
        "removed_on": _day(fitment.removed_at),
    }
    if full:
        row["vehicle"]["frame_no"] = vehicle.frame_no
        row.update(fitted_at=fitment.fitted_at, removed_at=fitment.removed_at, fitted_by=_named(fitment.fitted_by))
    return row


def _full_record(battery: Battery, swaps, swap_count: int, last_swap) -> dict:
    from alerts.models import Alert
    from recycling.models import RecyclingRecord

    listed = swaps.select_related("station", "operator").order_by("-occurred_at", "-id")[:SWAPS_LISTED]
    records = RecyclingRecord.objects.filter(battery=battery).select_related("organization", "handed_to")
    alerts = Alert.objects.filter(Q(battery=battery) | Q(battery_serial=battery.serial)).order_by("-created_at")
    return {
        "holder": _named(battery.holder),
        "region_code": battery.region_id,
        "fitted_in": {"frame_no": battery.vehicle.frame_no, "code": battery.vehicle.code} if battery.vehicle else None,
        "swaps": {
            "count": swap_count,
            "last_on": _day(last_swap),
            "history": [
                {
                    "at": swap.occurred_at,
                    "direction": "in" if swap.battery_in_id == battery.pk else "out",
                    "station": {"code": swap.station.code, "name": swap.station.name, "region_code": swap.region_code},
                    "operator": _named(swap.operator),
                    "temperature_c": str(swap.temperature_c) if swap.temperature_c is not None else None,
                    "voltage_v": str(swap.voltage_v) if swap.voltage_v is not None else None,
                    "alarm": swap.alarm,
                }
                for swap in listed
            ],
        },
        "recycling": [
            {
                "disposal": record.disposal,
                "manifest_no": record.manifest_no,
                "organization": _named(record.organization),
                "handed_to": _named(record.handed_to),
                "recorded_at": record.recorded_at,
            }
            for record in records.order_by("recorded_at", "pk")
        ],
        "alerts": [{"id": a.pk, "rule": a.rule, "status": a.status, "created_at": a.created_at} for a in alerts[:100]],
    }
