"""Two charging operators on top of the `chain`: one in 德城区 with a cabinet and a pool of batteries, one in 北仑区
with its own cabinet; a registered bike whose battery a rider brings to a cabinet; the fire brigades of both cities."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

import pytest
from django.db import transaction
from django.utils import timezone

from charging.models import SwapStation
from core.models import OrganizationKind, Region, User
from tests.chain import BUYER, Chain
from tests.conftest import _member, api_client
from vehicles.models import Battery, Vehicle
from vehicles.registration import BuyerData, registration_create

_minutes = itertools.count(1)


@dataclass
class Cabinets:
    chain: Chain
    operator: User  # 德州市安充 (371402)
    other_operator: User  # 北仑区 (330206)
    station: SwapStation  # the operator's, in 德城区
    other_station: SwapStation  # the other operator's, in 北仑区
    fire: User  # 德州市消防救援支队 (371400)
    other_fire: User  # 北仑区消防救援大队 (330206)

    @property
    def world(self):
        return self.chain.world

    def pool(self, count: int = 1, **kwargs) -> list[Battery]:
        """Batteries the operator holds for its cabinets (their own chains: in no bike)."""
        org = self.operator.organization
        return [self.chain.battery(holder=org, status=Battery.Status.IN_STOCK, **kwargs) for _ in range(count)]

    def bike(self) -> tuple[Vehicle, Battery]:
        """A bike registered in 德城区 with its battery fitted (the battery's events are on the bike's chain)."""
        dealer = self.world.dealer.organization
        vehicle, battery = self.chain.in_stock(self.world.dealer)
        with transaction.atomic():
            registration_create(
                vehicle=vehicle,
                batteries=[battery],
                buyer=BuyerData.clean(BUYER),
                dealer=dealer,
                registered_at=timezone.now() - dt.timedelta(days=30),
            )
        vehicle.refresh_from_db()
        battery.refresh_from_db()
        return vehicle, battery

    def item(self, battery_in=None, battery_out=None, **fields) -> dict:
        """One swap at the operator's cabinet, a distinct minute in the last hours unless told."""
        at = timezone.now() - dt.timedelta(hours=5) + dt.timedelta(seconds=next(_minutes))
        return {
            "station": self.station.code,
            "battery_in": getattr(battery_in, "serial", battery_in),
            "battery_out": getattr(battery_out, "serial", battery_out),
            "occurred_at": at.isoformat(),
            "temperature_c": 31.5,
            "voltage_v": "52.40",
            "alarm": "none",
            **fields,
        }

    def send(self, items: list[dict], user: User | None = None, **headers):
        return api_client(user or self.operator).post(
            "/api/v1/swap-events/", {"items": items}, format="json", **headers
        )


def station(operator: User, code: str, region: str, name: str) -> SwapStation:
    return SwapStation.objects.create(
        operator=operator.organization,
        code=code,
        name=name,
        region=Region.objects.get(code=region),
        address=f"{name}门前",
    )


@pytest.fixture
def cabinets(chain) -> Cabinets:
    operator = _member(OrganizationKind.CHARGING_OPERATOR, "371402", name="德州市安充智能充电服务有限公司")
    other_operator = _member(OrganizationKind.CHARGING_OPERATOR, "330206", name="宁波北仑快换能源有限公司")
    return Cabinets(
        chain=chain,
        operator=operator,
        other_operator=other_operator,
        station=station(operator, "DZ-DC-001", "371402", "新湖大街换电柜"),
        other_station=station(other_operator, "BL-001", "330206", "新碶换电柜"),
        fire=_member(OrganizationKind.FIRE, "371400", name="德州市消防救援支队"),
        other_fire=_member(OrganizationKind.FIRE, "330206", name="北仑区消防救援大队"),
    )
