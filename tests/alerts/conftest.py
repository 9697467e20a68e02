"""A sold bike in 德城区, a fire department subscribed to battery alerts, and helpers to write ledger events."""

import pytest
from django.db import transaction
from django.utils import timezone

from alerts.engine import drain_alert_requests, drain_outbox
from alerts.models import DepartmentSubscription
from core.models import OrganizationKind
from tests.chain import BUYER
from tests.conftest import _member, api_client
from vehicles.ledger import event_append
from vehicles.models import EventType, Vehicle
from vehicles.registration import battery_fit


@pytest.fixture
def sold(chain):
    dealer = chain.world.dealer
    vehicle, battery = chain.in_stock(dealer)
    body = {"frame_no": vehicle.frame_no, "battery_serials": [battery.serial], "buyer": BUYER}
    assert api_client(dealer).post("/api/v1/sales/", body, format="json").status_code == 201
    vehicle.refresh_from_db()
    return vehicle


@pytest.fixture
def fire(world):
    user = _member(OrganizationKind.FIRE, "371400", name="德州市消防救援支队")
    DepartmentSubscription.objects.create(organization=user.organization, categories=["battery"])
    return user


@pytest.fixture
def shop(world):
    return _member(OrganizationKind.REPAIR_SHOP, "371402", name="德城区诚信维修部")


def drain() -> int:
    total = 0
    while done := drain_outbox() + drain_alert_requests():
        total += done
    return total


def repaired(vehicle: Vehicle, shop, **payload) -> None:
    """A repair as the repairs service records it on the ledger (EventType.REPAIRED)."""
    with transaction.atomic():
        locked = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
        event_append(
            vehicle=locked,
            type=EventType.REPAIRED,
            occurred_at=timezone.now(),
            region_code=shop.organization.region_id,
            organization_id=shop.organization_id,
            payload={
                "repair": payload.pop("repair", 1),
                "kind": "other",
                "shop": shop.organization_id,
                "shop_qualified": True,
                "fitted_motor_power_w": None,
                "measured_max_speed_kmh": None,
                "removed_battery_serials": [],
                "fitted_battery_serials": [],
                **payload,
            },
        )


def fit(vehicle: Vehicle, battery, shop) -> None:
    with transaction.atomic():
        locked = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
        battery_fit(vehicle=locked, battery=battery, organization=shop.organization, at=timezone.now())
