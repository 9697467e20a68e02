"""A risky month in 德州 for the 三分 grading tests: a repair shop that modifies bikes and let its qualification
lapse, a dealer with complaints, and quiet enterprises elsewhere (the outsiders)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.utils import timezone

from alerts.models import Alert, RuleCode
from alerts.services import alert_transition
from core.models import OrganizationKind, User
from repairs.services import repair_record
from reports import risk
from reports.models import ColourThreshold, ProductCategory, RiskSetting, RiskSignal
from reports.risk_reference import risk_reference_load
from tests.alerts.conftest import drain
from tests.chain import BUYER, Chain
from tests.conftest import World, _member, api_client
from vehicles.models import Vehicle


@pytest.fixture(autouse=True)
def risk_reference(db):
    """The reference data of migration 0002, put back if a transactional test's flush emptied it."""
    risk_reference_load(ProductCategory, RiskSignal, RiskSetting, ColourThreshold)


def sell(chain: Chain, dealer: User) -> Vehicle:
    vehicle, battery = chain.in_stock(dealer)
    body = {"frame_no": vehicle.frame_no, "battery_serials": [battery.serial], "buyer": BUYER}
    response = api_client(dealer).post("/api/v1/sales/", body, format="json")
    assert response.status_code == 201, response.content
    vehicle.refresh_from_db()
    return vehicle


@dataclass
class RiskWorld:
    world: World
    chain: Chain
    shop: User  # 德城区: modifications, a lapsed qualification, an overdue alert
    now: dt.datetime  # after everything happened

    def moment(self, window_days: int = 90) -> risk.Moment:
        return risk.Moment(now=self.now, since=self.now - dt.timedelta(days=window_days))


@pytest.fixture
def risky(world, chain) -> RiskWorld:
    """Enterprises: the dealer, the maker and the shop in 德城区; another dealer in 陵城区; the battery maker in
    禹城市; a dealer in 北仑区 (another city). Only the shop is a risk enterprise (score 32.5):

    - repair 1: an 800 W motor, 41 km/h measured, a battery not certified for the model → three high MOD_* alerts,
      one of them past its deadline;
    - repair 2: a speed limiter removed → MOD_SPEED_UNLOCK, dismissed by the regulator as unfounded;
    - its qualification lapsed yesterday; repair 3, after that, raised SHOP_UNQUALIFIED (medium).

    The dealer sold the bikes: a complaint about one of them now, another 100 days ago (still open).
    """
    today = timezone.localdate()
    shop = _member(
        OrganizationKind.REPAIR_SHOP,
        "371402",
        name="德城区飞驰电动车维修部",
        qualification_valid_until=today + dt.timedelta(days=365),
    )
    first, second = sell(chain, world.dealer), sell(chain, world.dealer)
    drain()
    nonstandard = chain.battery(model=chain.other_battery_model)
    repair_record(
        user=shop,
        frame_no=first.frame_no,
        vehicle_code=first.code,
        kind="motor_replacement",
        fitted_motor_power_w=800,
        measured_max_speed_kmh="41",
        fitted_battery_serials=[nonstandard.serial],
    )
    repair_record(user=shop, frame_no=second.frame_no, vehicle_code=second.code, kind="speed_limiter")
    drain()
    unfounded = Alert.objects.get(rule=RuleCode.MOD_SPEED_UNLOCK, vehicle=second)
    alert_transition(user=world.district_regulator, alert_id=unfounded.pk, action="dismiss", note="误报：仅检查限速器")
    # The motor's rectification was due and nothing came: its deadline has passed.
    Alert.objects.filter(rule=RuleCode.MOD_MOTOR_POWER).update(due_at=timezone.now() - dt.timedelta(hours=1))

    shop.organization.qualification_valid_until = today - dt.timedelta(days=1)
    shop.organization.save()
    repair_record(user=shop, frame_no=first.frame_no, kind="brake_tyre")

    for bike in (first, second):
        body = {"vehicle_code": bike.code, "category": "quality", "description": "电池续航明显不足，商家不予处理。"}
        assert api_client().post("/api/v1/public/complaints/", body, format="json").status_code == 201
    drain()
    old = Alert.objects.get(rule=RuleCode.COMPLAINT, vehicle=second)
    Alert.objects.filter(pk=old.pk).update(created_at=timezone.now() - dt.timedelta(days=100))

    assert Alert.objects.filter(organization=shop.organization).count() == 5
    assert Alert.objects.filter(organization=world.dealer.organization).count() == 2
    return RiskWorld(world=world, chain=chain, shop=shop, now=timezone.now())
