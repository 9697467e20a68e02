"""A month of work in 德州: sales in two districts, a transfer, a cancellation, repairs that are modifications, a
complaint, a refused delivery, a take-back, and the closed loop in several states."""

import datetime as dt

import pytest
from django.utils import timezone

from alerts.models import Alert
from alerts.services import alert_transition
from core.models import OrganizationKind
from reports.risk import risk_grade_all
from tests.alerts.conftest import drain, repaired
from tests.chain import BUYER, valid_id_number
from tests.conftest import _member, api_client


def sell(chain, dealer, *, buyer_region="371402", sold_at=None):
    vehicle, battery = chain.in_stock(dealer)
    buyer = {**BUYER, "region_code": buyer_region}
    body = {"frame_no": vehicle.frame_no, "battery_serials": [battery.serial], "buyer": buyer}
    if sold_at is not None:
        body["sold_at"] = sold_at.isoformat()
    response = api_client(dealer).post("/api/v1/sales/", body, format="json")
    assert response.status_code == 201, response.content
    vehicle.refresh_from_db()
    return vehicle


@pytest.fixture
def activity(chain, world):
    """Returns the bikes; the rollups were kept by the real upkeep (drain, engine, closed loop)."""
    return build_activity(chain, world)


def build_activity(chain, world) -> dict:
    """The month's work (see the module); also used by the browser walk of the cockpit."""
    shop = _member(OrganizationKind.REPAIR_SHOP, "371402", name="德城区诚信维修部", qualification_no="WX-1")
    yesterday = timezone.now() - dt.timedelta(days=1)
    bikes = [sell(chain, world.dealer) for _ in range(3)]
    bikes.append(sell(chain, world.dealer, sold_at=yesterday))  # a sale recorded today, made yesterday
    bikes.append(sell(chain, world.other_dealer, buyer_region="371403"))
    drain()
    repaired(bikes[0], shop, kind="motor_replacement", fitted_motor_power_w=800, repair=1)
    repaired(bikes[1], shop, kind="speed_limiter", measured_max_speed_kmh="41.0", repair=2)
    repaired(bikes[2], shop, kind="brake_tyre", repair=3)
    body = {"vehicle_code": bikes[2].code, "category": "quality", "description": "刹车异响，维修后仍未解决。"}
    assert api_client().post("/api/v1/public/complaints/", body, format="json").status_code == 201
    refused = {"supplier": chain.maker.organization_id, "frame_nos": ["140222600009999"], "battery_serials": []}
    assert api_client(world.dealer).post("/api/v1/receipts/", refused, format="json").status_code == 201
    new_owner = {
        "name": "李四",
        "id_number": valid_id_number("37140220010202002"),
        "phone": "13905340000",
        "region_code": "371403",
    }
    assert (
        api_client(world.police)
        .post(f"/api/v1/vehicles/{bikes[3].frame_no}/transfer/", {"new_owner": new_owner}, format="json")
        .status_code
        == 201
    )
    assert (
        api_client(world.police)
        .post(f"/api/v1/vehicles/{bikes[4].frame_no}/cancel-registration/", {"reason": "车主申请注销"}, format="json")
        .status_code
        == 200
    )
    drain()

    regulator = world.district_regulator
    motor = Alert.objects.get(rule="MOD_MOTOR_POWER")
    for action, who, note in (
        ("request_rectification", regulator, "恢复原厂电机"),
        ("submit_rectification", shop, "已恢复"),
        ("verify", regulator, "现场核验"),
        ("close", regulator, ""),
    ):
        alert_transition(user=who, alert_id=motor.pk, action=action, note=note)
    speed = Alert.objects.get(rule="MOD_SPEED_UNLOCK")
    alert_transition(user=regulator, alert_id=speed.pk, action="dismiss", note="误报")
    alert_transition(user=regulator, alert_id=speed.pk, action="reopen", note="复查")
    return {"bikes": bikes, "shop": shop}


def more_enterprises(count: int) -> None:
    """`count` more repair shops in 德城区, none qualified (a risk signal), each with an alert overdue; then the
    grading runs again."""
    now = timezone.now()
    for i in range(count):
        shop = _member(OrganizationKind.REPAIR_SHOP, "371402", name=f"德城区维修部{i:03d}", qualification_no="")
        Alert.objects.create(
            rule="MOD_MOTOR_POWER",
            category="motor",
            severity="high",
            region_code="371402",
            organization=shop.organization,
            dedup_key=f"more:{i}",
            event_at=now,
            dispatch_due_at=now - dt.timedelta(days=3),
            due_at=now - dt.timedelta(days=2),
        )
    risk_grade_all()
