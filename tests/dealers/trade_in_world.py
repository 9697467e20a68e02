"""A dealer's counter for trade-ins (以旧换新) on top of the `chain`: old bikes registered to owners of 德城区's
streets, the subsidy policy of 德城区, and the request that trades one in."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from dealers.models import SubsidyPolicy
from dealers.services import sale_register
from tests.chain import BUYER, Chain
from tests.conftest import api_client
from vehicles.models import Battery, Vehicle
from vehicles.registration import BuyerData

URL = "/api/v1/trade-ins/"
STREET = "371402001"  # 德城区新湖街道
OLD_SOLD_AT = dt.datetime(2025, 10, 8, 10, 0, tzinfo=dt.UTC)  # before the old standard's 2025-12-01 cut-off


@dataclass
class Counter:
    chain: Chain

    @property
    def dealer(self):
        return self.chain.world.dealer

    def registered(self, *, model=None, region_code: str = STREET, buyer: dict | None = None) -> Vehicle:
        """A bike sold by the dealer and registered to BUYER on a street of 德城区 (old-standard by default)."""
        vehicle, battery = self.chain.in_stock(self.dealer, model=model or self.chain.old_model)
        sale_register(
            user=self.dealer,
            frame_no=vehicle.frame_no,
            battery_serials=[battery.serial],
            buyer=BuyerData.clean({**BUYER, "region_code": region_code, **(buyer or {})}),
            sold_at=OLD_SOLD_AT,
        )
        vehicle.refresh_from_db()
        return vehicle

    def body(self, old: Vehicle | None, new: Vehicle, battery: Battery, *, subsidy="500.00", old_ref=None, **sale):
        return {
            "old": old_ref if old_ref is not None else {"frame_no": old.frame_no, "vehicle_code": old.code},
            "subsidy_yuan": subsidy,
            "sale": {"frame_no": new.frame_no, "battery_serials": [battery.serial], **sale},
        }

    def trade(self, body, user=None, **headers):
        return api_client(user or self.dealer).post(URL, body, format="json", **headers)


def counter_for(chain: Chain) -> Counter:
    """The counter of the `chain`'s dealer, with 德城区's subsidy policy: ¥500 an old-standard bike, ¥200 another."""
    for kind, amount in (("old_standard", "500.00"), ("new_standard", "200.00")):
        SubsidyPolicy.objects.update_or_create(
            region_code="371402",
            old_kind=kind,
            valid_from=dt.date(2025, 1, 1),
            defaults={"amount_yuan": Decimal(amount), "note": "德城区以旧换新补贴"},
        )
    return Counter(chain)
