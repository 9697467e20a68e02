"""Batteries fitted at the factory (出厂标配): what a vehicle item of bulk production may name, and the checks
and ledger events of their fitting. vehicles/production.py writes them with the vehicles, by COPY.

The batteries are the vehicle maker's own stock: received from their maker (dealers/shipments.py), of a model
certified for the vehicle model (标配), certified themselves. Once fitted they stay fitted and are held with their
bike: the dealer that receives the bike receives them with it, and its sale binds them to the buyer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Exists, OuterRef
from django.utils.translation import gettext as _

from catalog.compliance import battery_model_problem
from catalog.models import VehicleModel
from core.errors import ComplianceRefusal, Conflict
from core.models import Organization
from vehicles import codes
from vehicles.ledger import event_hash
from vehicles.models import Battery, EventType

MAX_FITTED = 4  # batteries fitted in one bike, as a sale takes them


@dataclass(frozen=True)
class FittedBattery:
    """A battery a maker fits at the factory, as checked: its id, serial and model code (the event's payload)."""

    id: int
    serial: str
    model_code: str


def battery_serials_read(item: dict, found: list[str], first_serial: dict[str, int], index: int) -> list[str]:
    """The batteries an item names to fit at the factory (none when the key is absent, null or empty)."""
    value = item.get("battery_serials")
    if value is None or value == []:
        return []
    if not isinstance(value, list) or not all(isinstance(serial, str) for serial in value):
        found.append("malformed_battery_serials")
        return []
    serials = [codes.normalise_serial(serial) for serial in value]
    if len(serials) > MAX_FITTED:
        found.append("too_many_batteries")
        return []
    if not all(serial.isascii() and codes.BATTERY_SERIAL.fullmatch(serial) for serial in serials):
        found.append("malformed_battery_serials")
        return []
    if any(serial in first_serial for serial in serials) or len(set(serials)) < len(serials):
        found.append("battery_duplicate_in_request")
        return []
    first_serial.update(dict.fromkeys(serials, index))
    return serials


def batteries_to_fit(
    *, maker: Organization, model: VehicleModel, fitting: dict[int, list[str]], today: dt.date
) -> dict[int, list[FittedBattery]]:
    """Lock the batteries named for fitting and check them, all in one query: in the maker's stock (409
    not_in_stock), a certified pair of the model (422 battery_incompatible), certified themselves (422
    uncertified). A refusal names the items by index and the serials at fault."""
    serials = [serial for batteries in fitting.values() for serial in batteries]
    certified_pair = VehicleModel.compatible_battery_models.through.objects.filter(
        vehiclemodel_id=model.pk, batterymodel_id=OuterRef("model_id")
    )
    rows = {
        battery.serial: battery
        for battery in Battery.objects.select_for_update(of=("self",))
        .select_related("model")
        .annotate(certified_pair=Exists(certified_pair))
        .filter(serial__in=serials)
        .order_by("pk")
    }

    def in_stock(battery: Battery | None) -> bool:
        return (
            battery is not None
            and battery.holder_id == maker.pk
            and battery.status == Battery.Status.IN_STOCK
            and battery.vehicle_id is None
        )

    for code, wrong, refusal, message in (
        (
            "not_in_stock",
            lambda battery: not in_stock(battery),
            Conflict,
            _("Some batteries are not in your stock; receive them first. Nothing was registered."),
        ),
        (
            "battery_incompatible",
            lambda battery: not battery.certified_pair,
            ComplianceRefusal,
            _("A battery model is not certified for this bike model (标配); nothing was registered."),
        ),
        (
            "uncertified",
            lambda battery: battery_model_problem(battery.model, today) is not None,
            ComplianceRefusal,
            _("A battery has no valid CCC certificate; nothing was registered."),
        ),
    ):
        bad = {
            index: [serial for serial in batteries if wrong(rows.get(serial))] for index, batteries in fitting.items()
        }
        bad = {index: found for index, found in bad.items() if found}
        if bad:
            raise refusal(
                message,
                code=code,
                fields={
                    "items": {str(index): [code] for index in sorted(bad)},
                    "battery_serials": [serial for index in sorted(bad) for serial in bad[index]],
                },
            )
    return {
        index: [FittedBattery(rows[s].pk, s, rows[s].model.code) for s in batteries]
        for index, batteries in fitting.items()
    }


def fitted_events(
    frame_no: str, batteries: list[FittedBattery], *, prev_hash: str, maker: Organization, recorded_at: dt.datetime
) -> list[tuple[FittedBattery, int, str, str]]:
    """(battery, seq, prev_hash, hash) of the `battery_fitted` events after a bike's `produced` event: exactly
    what events_append would write for them. Fitted when the maker records it, so never before the batteries were
    received into its stock."""
    events = []
    for seq, battery in enumerate(batteries, start=2):
        digest = event_hash(
            prev_hash=prev_hash,
            seq=seq,
            type=EventType.BATTERY_FITTED.value,
            occurred_at=recorded_at,
            frame_no=frame_no,
            serial=battery.serial,
            organization_id=maker.pk,
            region_code=maker.region_id,
            payload={"model": battery.model_code},
        )
        events.append((battery, seq, prev_hash, digest))
        prev_hash = digest
    return events
