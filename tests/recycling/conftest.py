"""Recyclers and repair shops on top of the `chain`: bikes sold and registered, batteries removed at a shop."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.utils import timezone

from catalog.models import BatteryModel, Chemistry
from core.models import OrganizationKind, User
from dealers.services import sale_register
from tests.chain import BUYER, Chain, _battery_model
from tests.conftest import _member
from vehicles.models import Battery, Vehicle
from vehicles.registration import BuyerData, registration_cancel

K = OrganizationKind
CANCEL_REASON = "车主申请注销"


@dataclass
class Recycling:
    chain: Chain
    recycler: User  # 德城区
    other_recycler: User  # 北仑区: another enterprise, another jurisdiction
    lc_recycler: User  # 陵城区: receives handovers from 德城区 shops in some tests
    shop: User  # 德城区
    other_shop: User  # 陵城区
    environment: User  # 德州市生态环境局
    lead_acid_model: BatteryModel

    @property
    def world(self):
        return self.chain.world

    def sold_bike(self) -> tuple[Vehicle, Battery]:
        """A bike sold by the 德城区 dealer and registered to a buyer, with one battery fitted."""
        dealer = self.world.dealer
        vehicle, battery = self.chain.in_stock(dealer)
        sale_register(
            user=dealer,
            frame_no=vehicle.frame_no,
            battery_serials=[battery.serial],
            buyer=BuyerData.clean(dict(BUYER)),
            sold_at=timezone.now(),
        )
        vehicle.refresh_from_db()
        battery.refresh_from_db()
        return vehicle, battery

    def cancelled_bike(self) -> tuple[Vehicle, Battery]:
        """A sold bike whose owner had the registration cancelled (注销) by the police: ready to be taken back."""
        vehicle, battery = self.sold_bike()
        registration_cancel(
            user=self.world.police, frame_no=vehicle.frame_no, reason=CANCEL_REASON, cancelled_at=timezone.now()
        )
        vehicle.refresh_from_db()
        return vehicle, battery

    def removed_at(self, holder: User, *, lead_acid: bool = False) -> Battery:
        """A battery removed from a bike and held by `holder` (a shop or a recycler)."""
        model = self.lead_acid_model if lead_acid else None
        return self.chain.battery(model=model, holder=holder.organization, status=Battery.Status.REMOVED)


@pytest.fixture
def rc(chain) -> Recycling:
    lead_acid = _battery_model(
        chain.battery_maker.organization, "LA-4820", name="48V20Ah 铅酸电池", chemistry=Chemistry.LEAD_ACID
    )
    chain.model.compatible_battery_models.add(lead_acid)
    return Recycling(
        chain=chain,
        recycler=_member(K.RECYCLER, "371402", name="德州市绿源再生资源回收有限公司"),
        other_recycler=_member(K.RECYCLER, "330206", name="北仑区再生资源回收站"),
        lc_recycler=_member(K.RECYCLER, "371403", name="陵城区再生资源回收站"),
        shop=_member(K.REPAIR_SHOP, "371402", name="德城区诚信电动车维修部"),
        other_shop=_member(K.REPAIR_SHOP, "371403", name="陵城区快修店"),
        environment=_member(K.ENVIRONMENT, "371400", name="德州市生态环境局"),
        lead_acid_model=lead_acid,
    )
