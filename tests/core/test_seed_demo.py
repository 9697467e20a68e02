"""`manage.py seed_demo`: a believable demo world whose logins work, idempotent."""

from django.core.management import call_command
from django.db.models import Count

from alerts.models import AlertRequest
from core.demo import DEMO_PASSWORD, DEMO_USERS
from core.models import Organization, OrganizationKind, User
from tests.conftest import api_client
from vehicles.ledger import chain_verify
from vehicles.models import Registration, Vehicle


def _snapshot():
    return (
        sorted(Organization.objects.values_list("uscc", "name", "kind", "region_id", "updated_at")),
        sorted(User.objects.values_list("username", "password", "organization_id", "role")),
    )


def test_seed_demo_builds_the_world_and_a_second_run_changes_nothing(db):
    call_command("seed_demo")
    first = _snapshot()
    call_command("seed_demo")
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
    dealer_districts = set(Organization.objects.filter(kind="dealer").values_list("region_id", flat=True))
    assert len(dealer_districts) >= 2

    # The chain: bikes sold (registered), in stock, transferred, and a refused delivery; ledgers that verify.
    statuses = dict(Vehicle.objects.values_list("status").annotate(n=Count("pk")))
    assert statuses["registered"] >= 1000 and statuses["in_stock"] >= 100
    assert Registration.objects.filter(status="transferred").count() >= 20
    assert AlertRequest.objects.filter(rule="PRODUCT_UNCERTIFIED").exists()
    for vehicle in Vehicle.objects.filter(status="registered").order_by("?")[:5]:
        assert chain_verify(vehicle).valid


def test_every_demo_login_works(db):
    from core import demo

    demo.seed()
    for username, *_ in DEMO_USERS:
        response = api_client().post(
            "/api/v1/auth/token/", {"username": username, "password": DEMO_PASSWORD}, format="json"
        )
        assert response.status_code == 200, username
