"""A battery's passport by access tier: the public tier to anyone (no login, no personal data, no frame numbers or
holders), the full record to the regulator of its jurisdiction, the platform and its maker; everyone else (a dealer,
another city's regulator, the police) reads the public tier."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from charging.models import SwapEvent, SwapStation
from core.models import OrganizationKind, Region
from tests.chain import BUYER
from tests.conftest import _member, api_client
from vehicles.registration import BuyerData, registration_create

pytestmark = pytest.mark.django_db

PUBLIC_KEYS = {"tier", "identity", "model", "maker", "certificate", "status", "fitments", "swaps"}


@pytest.fixture
def fitted(chain, world):
    """A battery fitted in a bike sold in 德城区, swapped once in a cabinet with an alarm."""
    vehicle, battery = chain.in_stock(world.dealer)
    with transaction.atomic():
        registration_create(
            vehicle=vehicle,
            batteries=[battery],
            buyer=BuyerData.clean(BUYER),
            dealer=world.dealer.organization,
            registered_at=timezone.now() - dt.timedelta(days=30),
        )
    operator = _member(OrganizationKind.CHARGING_OPERATOR, "371402", name="德州市安充换电")
    cabinet = SwapStation.objects.create(
        operator=operator.organization,
        code="DZ-009",
        name="新湖大街换电柜",
        region=Region.objects.get(code="371402"),
        address="德城区新湖大街 9 号",
    )
    SwapEvent.objects.create(
        station=cabinet,
        operator=operator.organization,
        region_code="371402",
        battery_in_serial=battery.serial,
        battery_in=battery,
        occurred_at=timezone.now() - dt.timedelta(days=2),
        received_at=timezone.now(),
        temperature_c=Decimal("58.0"),
        alarm="over_temperature",
    )
    vehicle.refresh_from_db()
    battery.refresh_from_db()
    return vehicle, battery


def passport(user, serial):
    return api_client(user).get(f"/api/v1/batteries/{serial}/passport/")


def test_anyone_reads_the_public_tier_without_personal_data(world, fitted):
    vehicle, battery = fitted
    response = passport(None, battery.serial.lower())  # no login; a serial typed in lower case
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["tier"] == "public" and set(body) == PUBLIC_KEYS
    assert body["identity"]["serial"] == battery.serial and body["identity"]["code"] == battery.code
    assert body["identity"]["public_url"].endswith(f"/v/{battery.code}")
    assert body["model"] == {
        "code": "LD-4820",
        "name": "LD-4820 锂电池",
        "chemistry": "lithium_ion",
        "nominal_voltage_v": "48.0",
        "capacity_ah": "20.0",
        "energy_wh": "960.0",
    }
    assert body["maker"]["name"] == "鲁电电池"
    assert body["certificate"] == {"ccc_cert_no": "CCC-LD-4820", "valid_until": "2030-12-31", "valid": True}
    assert body["status"] == "fitted"
    (fitment,) = body["fitments"]
    assert fitment["vehicle"]["code"] == vehicle.code and fitment["removed_on"] is None
    assert "frame_no" not in fitment["vehicle"] and "fitted_by" not in fitment
    assert body["swaps"]["count"] == 1 and body["swaps"]["last_on"]
    text = response.content.decode()
    for hidden in (vehicle.frame_no, BUYER["name"], BUYER["id_number"], BUYER["phone"], "德城区车行", "新湖大街"):
        assert hidden not in text


def test_the_regulator_of_its_jurisdiction_and_its_maker_read_the_full_record(world, chain, fitted):
    vehicle, battery = fitted
    for reader in (world.district_regulator, world.city_regulator, chain.battery_maker, world.superuser):
        body = passport(reader, battery.serial).json()
        assert body["tier"] == "full", reader
        assert body["fitted_in"] == {"frame_no": vehicle.frame_no, "code": vehicle.code}
        assert body["fitments"][0]["vehicle"]["frame_no"] == vehicle.frame_no
        assert body["fitments"][0]["fitted_by"]["name"] == "德城区车行"
        (swap,) = body["swaps"]["history"]
        assert swap["station"]["code"] == "DZ-009" and swap["alarm"] == "over_temperature"
        assert swap["temperature_c"] == "58.0" and swap["direction"] == "in"
        assert body["recycling"] == [] and body["region_code"] == "371402"
        text = str(body)
        assert BUYER["name"] not in text and BUYER["id_number"] not in text  # still no owner


def test_everyone_else_reads_the_public_tier(world, fitted):
    _vehicle, battery = fitted
    police = world.police  # the police see bikes, not the passport's full record
    for reader in (world.dealer, world.other_dealer, world.other_city_regulator, police):
        body = passport(reader, battery.serial).json()
        assert body["tier"] == "public" and set(body) == PUBLIC_KEYS, reader


def test_an_unknown_battery_has_no_passport(world):
    for reader in (None, world.city_regulator):
        response = passport(reader, "LD48V20AH99999999")
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
