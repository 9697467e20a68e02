"""A small supply chain on top of the `world`: certified models, makers, and bikes and batteries produced."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from catalog.models import BatteryModel, Chemistry, Standard, VehicleModel
from core.models import Organization, OrganizationKind, User
from tests.conftest import World, _member
from vehicles.codes import public_code_new
from vehicles.ledger import event_append
from vehicles.models import Battery, EventType, Vehicle

_serials = itertools.count(1)


def valid_id_number(body17: str) -> str:
    """Complete 17 digits (region, birth date, sequence) with their check character."""
    from stdnum.cn import ric

    return body17 + ric.calc_check_digit(body17 + "0")  # it reads the first 17 of 18 characters


# A buyer with a valid ID number (checksum and birth date) and phone.
BUYER = {
    "name": "张三丰",
    "id_number": valid_id_number("37140219980101123"),
    "phone": "13805341234",
    "region_code": "371402",
}


@dataclass
class Chain:
    world: World
    maker: User
    battery_maker: User
    model: VehicleModel  # GB 17761-2024, CCC valid, battery_model compatible
    battery_model: BatteryModel
    other_battery_model: BatteryModel  # certified but not a compatible pair of `model`
    old_model: VehicleModel  # GB 17761-2018: may not be sold from 2025-12-01
    uncertified_model: VehicleModel

    def vehicle(
        self,
        *,
        model: VehicleModel | None = None,
        holder: Organization | None = None,
        status: str = Vehicle.Status.PRODUCED,
    ) -> Vehicle:
        model = model or self.model
        maker = self.maker.organization
        frame_no = f"{maker.enterprise_code}226{next(_serials):08d}"
        with transaction.atomic():
            vehicle = Vehicle.objects.create(
                frame_no=frame_no,
                motor_no=f"M{frame_no}",
                model=model,
                manufacturer=maker,
                produced_on=dt.date(2026, 3, 1),
                code=public_code_new(),
                holder=holder or maker,
                status=status,
                region=(holder or maker).region,
            )
            event_append(
                vehicle=vehicle,
                type=EventType.PRODUCED,
                occurred_at=timezone.now(),
                region_code=maker.region_id,
                organization_id=maker.pk,
                payload={"model": model.code},
            )
        return vehicle

    def battery(
        self,
        *,
        model: BatteryModel | None = None,
        holder: Organization | None = None,
        status: str = Battery.Status.PRODUCED,
    ) -> Battery:
        maker = self.battery_maker.organization
        with transaction.atomic():
            battery = Battery.objects.create(
                serial=f"LD48V20AH{next(_serials):08d}",
                model=model or self.battery_model,
                maker=maker,
                produced_on=dt.date(2026, 3, 1),
                code=public_code_new(),
                holder=holder or maker,
                status=status,
                region=(holder or maker).region,
            )
            event_append(
                battery=battery,
                type=EventType.PRODUCED,
                occurred_at=timezone.now(),
                region_code=maker.region_id,
                organization_id=maker.pk,
                payload={},
            )
        return battery

    def in_stock(self, dealer: User, *, model: VehicleModel | None = None) -> tuple[Vehicle, Battery]:
        """A bike and a compatible battery already in the dealer's stock."""
        org = dealer.organization
        vehicle = self.vehicle(model=model, holder=org, status=Vehicle.Status.IN_STOCK)
        battery = self.battery(holder=org, status=Battery.Status.IN_STOCK)
        return vehicle, battery


def _battery_model(maker: Organization, code: str, **extra) -> BatteryModel:
    values = {
        "name": f"{code} 锂电池",
        "chemistry": Chemistry.LITHIUM_ION,
        "nominal_voltage_v": Decimal("48"),
        "capacity_ah": Decimal("20"),
        "ccc_cert_no": f"CCC-{code}",
        "ccc_valid_until": dt.date(2030, 12, 31),
    }
    values.update(extra)
    return BatteryModel.objects.create(code=code, maker=maker, **values)


def _vehicle_model(maker: Organization, code: str, standard: str, **extra) -> VehicleModel:
    values = {
        "name": f"{code} 电动自行车",
        "ccc_cert_no": f"CCC-{code}",
        "ccc_valid_until": dt.date(2030, 12, 31),
        "max_speed_kmh": Decimal("25"),
        "mass_kg": Decimal("54"),
        "nominal_voltage_v": Decimal("48"),
        "motor_power_w": 400,
    }
    values.update(extra)
    return VehicleModel.objects.create(code=code, maker=maker, standard=Standard.objects.get(code=standard), **values)


@pytest.fixture
def chain(world) -> Chain:
    maker = _member(OrganizationKind.MANUFACTURER, "371402", enterprise_code="1402", name="德骑车业")
    battery_maker = _member(OrganizationKind.BATTERY_MAKER, "371482", name="鲁电电池")
    bm = _battery_model(battery_maker.organization, "LD-4820")
    other = _battery_model(battery_maker.organization, "LD-4830")
    model = _vehicle_model(maker.organization, "DQ-1", "GB17761-2024")
    model.compatible_battery_models.add(bm)
    old = _vehicle_model(maker.organization, "DQ-OLD", "GB17761-2018")
    old.compatible_battery_models.add(bm)
    uncertified = _vehicle_model(maker.organization, "DQ-X", "GB17761-2024", ccc_cert_no="", ccc_valid_until=None)
    uncertified.compatible_battery_models.add(bm)
    return Chain(world, maker, battery_maker, model, bm, other, old, uncertified)
