"""A town to inspect: the `world`'s jurisdictions with more enterprises in 德城区, their 三分 grades, and helpers to
make plans and send results (tests of inspections, the enforcement figures and their pages)."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import timezone

from core.models import Organization, OrganizationKind, Region
from reports.models import EnterpriseGrade
from supervision.inspections import inspection_plan_create
from supervision.models import InspectionPlan
from tests.conftest import World
from tests.factories import OrganizationFactory

K = OrganizationKind


# A photo as a phone takes it (32 × 24 pixels, red): a JPEG whose comment says where it was taken, which the
# platform strips.
JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD//gAYR1BTIDM3LjQ1MTNOIDExNi4zMDc1Rf/bAEMADQkKCwoIDQsKCw4ODQ8TIBUTEhITJxwe"
    "FyAuKTEwLiktLDM6Sj4zNkY3LC1AV0FGTE5SU1IyPlphWlBgSlFST//bAEMBDg4OExETJhUVJk81LTVPT09PT09PT09PT09PT09P"
    "T09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT09PT//AABEIABgAIAMBIgACEQEDEQH/xAAfAAABBQEBAQEBAQAAAAAAAAAA"
    "AQIDBAUGBwgJCgv/xAC1EAACAQMDAgQDBQUEBAAAAX0BAgMABBEFEiExQQYTUWEHInEUMoGRoQgjQrHBFVLR8CQzYnKCCQoWFxgZ"
    "GiUmJygpKjQ1Njc4OTpDREVGR0hJSlNUVVZXWFlaY2RlZmdoaWpzdHV2d3h5eoOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0"
    "tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4eLj5OXm5+jp6vHy8/T19vf4+fr/xAAfAQADAQEBAQEBAQEBAAAAAAAAAQIDBAUGBwgJ"
    "Cgv/xAC1EQACAQIEBAMEBwUEBAABAncAAQIDEQQFITEGEkFRB2FxEyIygQgUQpGhscEJIzNS8BVictEKFiQ04SXxFxgZGiYnKCkq"
    "NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqCg4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrC"
    "w8TFxsfIycrS09TV1tfY2dri4+Tl5ufo6ery8/T19vf4+fr/2gAMAwEAAhEDEQA/AMaiiiuA+uCiiigAooooAKKKKAP/2Q=="
)
CHECKLIST = ["进货查验记录是否齐全", "是否销售无 CCC 产品", "是否存在改装行为"]


@dataclass
class Town:
    world: World
    dealers: list[Organization]  # every active dealer of 德城区 (371402), world.dealer first
    shops: list[Organization]  # the repair shops of 德城区
    suspended: Organization  # a dealer of 德城区 whose organization is suspended

    @property
    def regulator(self):
        return self.world.district_regulator


@pytest.fixture
def town(world) -> Town:
    district = Region.objects.get(code="371402")
    dealers = [world.dealer.organization] + [
        OrganizationFactory(kind=K.DEALER, region=district, name=f"德城区第{n}电动车行") for n in range(2, 11)
    ]
    shops = [OrganizationFactory(kind=K.REPAIR_SHOP, region=district, name=f"德城区第{n}维修部") for n in (1, 2)]
    suspended = OrganizationFactory(
        kind=K.DEALER, region=district, name="德城区停业车行", status=Organization.Status.SUSPENDED
    )
    return Town(world=world, dealers=dealers, shops=shops, suspended=suspended)


@pytest.fixture
def eager_in_test_transaction():
    """Run tasks in-process inside the test's transaction: keep Celery's task signals from closing the test's
    database connection (config/celery.py), as Django's test client does with the request signals."""
    from celery.signals import task_postrun, task_prerun

    from config.celery import _database_connections_checked

    task_prerun.disconnect(_database_connections_checked)
    task_postrun.disconnect(_database_connections_checked)
    yield
    task_prerun.connect(_database_connections_checked)
    task_postrun.connect(_database_connections_checked)


def grade(org: Organization, risk: bool) -> EnterpriseGrade:
    EnterpriseGrade.objects.filter(organization=org, current=True).update(current=False)
    return EnterpriseGrade.objects.create(
        organization=org,
        region_code=org.region_id,
        grade=EnterpriseGrade.Grade.RISK if risk else EnterpriseGrade.Grade.NON_RISK,
        score=Decimal("12.00") if risk else Decimal("0.00"),
        graded_at=timezone.now(),
        current=True,
    )


def plan_body(**overrides) -> dict:
    body = {
        "name": "2026 年电动自行车经销企业双随机抽查",
        "region_code": "371402",
        "kinds": ["dealer"],
        "frequency": "weekly",
        "sample": {"size": 3},
        "risk_weighted": False,
        "checklist": CHECKLIST,
        "due_days": 7,
    }
    body.update(overrides)
    return body


def make_plan(user, *, now: dt.datetime | None = None, **overrides) -> tuple[InspectionPlan, int]:
    """A plan made through the service, as of `now` (the clock frozen through the parameter)."""
    body = plan_body(**overrides)
    sample = body.pop("sample")
    return inspection_plan_create(user=user, sample_size=None if sample.get("all") else sample["size"], now=now, **body)


def result_body(**overrides) -> dict:
    body = {
        "performed_at": timezone.localtime().replace(microsecond=0).isoformat(),
        "findings": [
            {"item": CHECKLIST[0], "ok": True, "note": ""},
            {"item": CHECKLIST[1], "ok": False, "note": "货架上有 2 台无 CCC 标志的电动自行车"},
            {"item": CHECKLIST[2], "ok": True, "note": ""},
        ],
        "hazards_found": 1,
        "actions": [
            {"kind": "order_correction", "note": "限期 7 日内整改"},
            {"kind": "fine", "amount_yuan": "5000.00", "note": "销售不合格产品"},
            {"kind": "confiscation", "quantity": 2, "note": "无 CCC 电动自行车"},
        ],
        "note": "",
    }
    body.update(overrides)
    return body


def week_of(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def moment(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))
