"""The demo's shipments (dealers/demo_shipments.py), seeded once on the demo world and catalog."""

import pytest

from core import demo
from core.models import User
from dealers import demo_shipments
from dealers.models import Shipment
from tests.conftest import api_client
from vehicles import demo as chain_demo
from vehicles.ledger import chain_verify
from vehicles.models import Battery, Vehicle

pytestmark = pytest.mark.django_db


def test_batteries_travel_to_the_maker_and_on_to_the_dealer_fitted_in_its_bikes(world):
    orgs = demo.seed()
    chain_demo.seed_catalog(orgs)

    assert demo_shipments.seed(orgs) == 20
    assert demo_shipments.seed(orgs) == 0  # once

    maker, dealer, operator = orgs["maker_dz"], orgs["dealer_dc"], orgs["charging_dc"]
    bikes = Vehicle.objects.filter(manufacturer=maker, frame_no__contains="60000")
    assert bikes.count() == 20
    assert bikes.filter(holder=dealer, status="in_stock").count() == 12
    assert bikes.filter(holder=maker, status="in_transit").count() == 8
    fitted = Battery.objects.filter(vehicle__in=bikes, status="fitted")
    assert fitted.count() == 20 and fitted.filter(holder=dealer).count() == 12
    assert Battery.objects.filter(holder=orgs["battery_maker"], status="in_transit").count() == 20
    for bike in bikes:
        assert chain_verify(bike).valid
    assert Shipment.objects.filter(sender=maker, receiver=dealer).count() == 2
    assert Shipment.objects.filter(sender=orgs["battery_maker"], receiver=operator).count() == 1

    # what the dealer's login sees: one shipment still on its way
    dealer_user = User.objects.get(username="dealer")
    on_its_way = api_client(dealer_user).get("/api/v1/shipments/", {"status": "in_transit"}).json()["results"]
    assert len(on_its_way) == 1 and len(on_its_way[0]["items"]) == 16  # 8 bikes and their batteries
