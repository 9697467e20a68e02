"""`manage.py seed_demo`: a believable demo world whose logins work, with a bureau's year of history behind the
cockpit, the trends, the risk map and last month's report; idempotent.

The demo is seeded once for the module (it takes a while), inside a transaction rolled back at the end; each test
runs in a savepoint of it."""

import datetime as dt
import io
import re

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count
from django.test import Client, override_settings
from django.utils import timezone

from alerts.models import Alert, AlertRequest, AlertTransition, Complaint
from core.demo import DEMO_PASSWORD, DEMO_USERS
from core.models import Organization, OrganizationKind, User
from dealers.models import Sale
from recycling.models import RecyclingRecord
from repairs.models import Repair
from reports.models import (
    AlertDay,
    ColourThreshold,
    EnterpriseDay,
    EnterpriseGrade,
    MonthlyReport,
    ProductCategory,
    RegionDay,
    RegionGrade,
    RiskSetting,
    RiskSignal,
)
from reports.risk import risk_changes
from reports.risk_reference import risk_reference_load
from tests.conftest import api_client
from vehicles.ledger import chain_verify
from vehicles.models import LifecycleEvent, Registration, Vehicle

DEZHOU_DISTRICTS = 11
FAST_HASHER = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo seeded once (its monthly reports' PDFs in a temporary media folder), rolled back afterwards."""
    media = tmp_path_factory.mktemp("media")
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=str(media), PASSWORD_HASHERS=FAST_HASHER):
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            risk_reference_load(ProductCategory, RiskSignal, RiskSetting, ColourThreshold)  # gone after a flush
            output = io.StringIO()
            call_command("seed_demo", stdout=output)
            yield output.getvalue()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def seeded(demo, db):
    return demo


def _last_month() -> dt.date:
    return (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def _logged_in(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=DEMO_PASSWORD), username
    return client


def _user(username: str) -> User:
    return User.objects.get(username=username)


def _snapshot():
    rows = (Organization, User, Vehicle, Registration, Sale, Repair, Complaint, RecyclingRecord, LifecycleEvent)
    rows += (Alert, AlertTransition, AlertRequest, RegionDay, EnterpriseDay, AlertDay, EnterpriseGrade, RegionGrade)
    return (
        sorted(Organization.objects.values_list("uscc", "name", "kind", "region_id", "updated_at")),
        sorted(User.objects.values_list("username", "password", "organization_id", "role")),
        {model.__name__: model.objects.count() for model in rows},
        list(Alert.objects.order_by("pk").values_list("pk", "status", "created_at", "due_at", "closed_at")),
        list(MonthlyReport.objects.order_by("pk").values_list("pk", "status", "generated_at")),
    )


def test_seed_demo_builds_the_world_and_a_second_run_changes_nothing(seeded):
    first = _snapshot()
    with override_settings(PASSWORD_HASHERS=FAST_HASHER):
        call_command("seed_demo", stdout=io.StringIO())
    assert _snapshot() == first

    kinds = set(Organization.objects.values_list("kind", flat=True))
    assert {
        OrganizationKind.REGULATOR,
        OrganizationKind.POLICE,
        OrganizationKind.FIRE,
        OrganizationKind.MANUFACTURER,
        OrganizationKind.BATTERY_MAKER,
        OrganizationKind.DEALER,
        OrganizationKind.REPAIR_SHOP,
        OrganizationKind.RECYCLER,
    } <= kinds
    regulators = set(Organization.objects.filter(kind="regulator").values_list("region_id", flat=True))
    assert {"371400", "371402"} <= regulators  # city and district level in 德州
    assert Organization.objects.filter(region__code__startswith="3302").exists()  # a second seed city
    counties = set(
        Organization.objects.filter(kind__in=["dealer", "repair_shop"], region__code__startswith="3714").values_list(
            "region_id", flat=True
        )
    )
    assert len(counties) == DEZHOU_DISTRICTS  # enterprises in every county of 德州

    # The chain: bikes sold (registered), in stock, transferred, cancelled and taken back, refused deliveries; ledgers
    # that verify, also of the bikes repaired with last year's dates.
    statuses = dict(Vehicle.objects.values_list("status").annotate(n=Count("pk")))
    assert statuses["registered"] >= 1000 and statuses["in_stock"] >= 100 and statuses["recycled"] >= 1
    assert Registration.objects.filter(status="transferred").count() >= 20
    assert AlertRequest.objects.filter(rule="PRODUCT_UNCERTIFIED").exists()
    repaired = Vehicle.objects.filter(pk__in=Repair.objects.values("vehicle_id"))
    for vehicle in [*Vehicle.objects.filter(status="registered").order_by("?")[:5], *repaired.order_by("?")[:5]]:
        assert chain_verify(vehicle).valid


def test_the_year_of_sales_alerts_and_closures_shows_in_the_trend(seeded):
    response = api_client(_user("dz_regulator")).get("/api/v1/reports/trend/", {"region_code": "371400"})
    assert response.status_code == 200
    months = response.json()["months"]
    assert len(months) == 12
    assert sum(1 for m in months if m["sales"]) >= 10
    assert sum(1 for m in months if m["alerts"]) >= 10 and sum(1 for m in months if m["closed"]) >= 9
    assert sum(1 for m in months if m["repairs"]) >= 10
    summer = sum(m["sales"] for m in months if m["month"][5:] in ("05", "06", "07"))
    winter = sum(m["sales"] for m in months if m["month"][5:] in ("01", "02", "12"))
    assert summer > 2 * winter  # bikes sell in the warm months

    # Alerts in every state of the loop, their steps after their dispatch, closures within and past the deadline.
    states = set(Alert.objects.values_list("status", flat=True))
    assert {"closed", "dismissed", "rectification_requested", "dispatched"} <= states
    assert Alert.objects.filter(status="rectification_requested", due_at__lt=timezone.now()).exists()  # overdue
    for alert in Alert.objects.prefetch_related("transitions").order_by("?")[:20]:
        steps = sorted(alert.transitions.all(), key=lambda t: t.pk)
        assert [t.at for t in steps] == sorted(t.at for t in steps) and steps[0].at == alert.dispatched_at
    oldest = Alert.objects.order_by("created_at").first()
    assert (timezone.now() - oldest.created_at).days > 300
    closures = AlertDay.objects.filter(closed__gt=0)
    assert 0 < sum(c.closed_within_sla for c in closures) < sum(c.closed for c in closures)

    # A regulator of another city sees none of it; the public neither.
    outsider = api_client(_user("bl_regulator")).get("/api/v1/reports/trend/", {"region_code": "371400"})
    assert outsider.status_code == 404
    assert api_client().get("/api/v1/reports/trend/", {"region_code": "371400"}).status_code in (401, 403)


def test_the_dezhou_map_has_a_district_of_each_colour_and_one_turned_red_last_month(seeded):
    html = _logged_in("dz_regulator").get("/dashboard/").content.decode()
    colours = dict(re.findall(r'<tr data-code="(3714\d\d)">.*?data-colour="(\w*)"', html, flags=re.S))
    assert len(colours) == DEZHOU_DISTRICTS
    assert sorted(c for c in colours.values() if c != "green") == ["orange", "red", "yellow"]
    assert colours["371481"] == "red"  # 乐陵市

    response = api_client(_user("dz_regulator")).get("/api/v1/risk/regions/", {"parent": "371400"})
    assert {r["region_code"]: r["colour"] for r in response.json()} == colours

    last_month = _last_month()
    start = timezone.make_aware(dt.datetime.combine(last_month, dt.time.min))
    end = timezone.make_aware(dt.datetime.combine(timezone.localdate().replace(day=1), dt.time.min))
    changes = risk_changes(start=start, end=end, region_code="371400")
    assert [c.key for c in changes.turned_red] == ["371481"]
    turned = Organization.objects.filter(pk__in=[c.key for c in changes.turned_risk])
    # 速达 turned to modifications last month; 金丝's failed sample (21 days ago) counts last month up to the 21st.
    assert "乐陵市速达电动车维修部" in set(turned.values_list("name", flat=True))
    assert set(turned.values_list("region_id", flat=True)) == {"371481"}

    assert _logged_in("bl_regulator").get("/dashboard/", {"region": "371400"}).status_code == 404


def test_last_months_report_of_dezhou_is_in_the_archive(seeded):
    month = _last_month()
    report = MonthlyReport.objects.get(region_code="371400", month=month)
    assert report.status == MonthlyReport.Status.DONE
    regions = set(MonthlyReport.objects.filter(month=month).values_list("region_code", flat=True))
    assert regions == set(Organization.objects.filter(kind="regulator").values_list("region_id", flat=True))

    listed = api_client(_user("dz_regulator")).get("/api/v1/reports/monthly/", {"region_code": "371400"}).json()
    assert (f"{month:%Y-%m}", "371400") in {(row["month"], row["region_code"]) for row in listed["results"]}
    page = _logged_in("dz_regulator").get(f"/reports/monthly/371400/{month:%Y-%m}.html")
    assert page.status_code == 200
    html = page.content.decode()
    assert "德州市" in html and "乐陵市速达电动车维修部" in html
    risk_changes_text = html.split('data-testid="risk-changes">')[1].split("</p>")[0]
    assert "乐陵市" in risk_changes_text and "1 个区域转为红色" in risk_changes_text

    assert _logged_in("bl_regulator").get(f"/reports/monthly/371400/{month:%Y-%m}.html").status_code == 404


def test_every_demo_login_works(seeded):
    for username, *_ in DEMO_USERS:
        response = api_client().post(
            "/api/v1/auth/token/", {"username": username, "password": DEMO_PASSWORD}, format="json"
        )
        assert response.status_code == 200, username
    wrong = api_client().post("/api/v1/auth/token/", {"username": "dealer", "password": "demo-2025"}, format="json")
    assert wrong.status_code in (400, 401)


def test_the_police_find_two_stolen_bikes_one_seen_at_a_repair_shop(seeded):
    from vehicles.models import StolenReport

    assert "demo stolen bikes: 2" in seeded
    assert StolenReport.objects.filter(found_at__isnull=True, vehicle__region_id="371402").count() == 2
    seen = Alert.objects.get(rule="STOLEN_SEEN")
    assert seen.evidence["seen_event"] == "repaired" and seen.organization_id is None

    police = _logged_in("dz_police")
    sheet = police.get("/records/stolen/")
    assert sheet.status_code == 200
    assert sheet.content.decode().count("德公(德城)立字〔2026〕") == 2
    assert police.get(f"/alerts/{seen.pk}/").status_code == 200
    assert _logged_in("dc_regulator").get("/records/stolen/").status_code == 200  # the regulators' hot sheet too
    assert _logged_in("repair").get(f"/alerts/{seen.pk}/").status_code == 404  # the shop is not told
