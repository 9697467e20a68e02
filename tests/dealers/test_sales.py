"""POST /api/v1/sales/: the sale is the registration (卖车即备案), with the 标配 and CCC checks."""

import datetime as dt

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.models import AuditEntry
from dealers.models import Sale
from tests.chain import BUYER, valid_id_number
from tests.conftest import api_client
from vehicles.ledger import chain_verify
from vehicles.models import Battery, Fitment, Owner, Registration, Vehicle

URL = "/api/v1/sales/"


def _sell(user, vehicle, batteries, **overrides):
    body = {"frame_no": vehicle.frame_no, "battery_serials": [b.serial for b in batteries], "buyer": dict(BUYER)}
    body.update(overrides)
    return api_client(user).post(URL, body, format="json", **overrides.pop("headers", {}))


def test_a_sale_registers_bike_battery_and_buyer_together(chain):
    dealer = chain.world.dealer
    vehicle, battery = chain.in_stock(dealer)

    response = _sell(dealer, vehicle, [battery])

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["vehicle"]["frame_no"] == vehicle.frame_no and body["vehicle"]["code"] == vehicle.code
    assert body["vehicle"]["public_url"].endswith(f"/v/{vehicle.code}")
    assert body["vehicle"]["qr_url"].endswith(f"/v/{vehicle.code}/qr.svg")
    assert body["buyer"] == {
        "name": "张**",
        "id_number": BUYER["id_number"][:4] + "*" * 10 + BUYER["id_number"][-4:],
        "phone": "138****1234",
    }
    vehicle.refresh_from_db()
    battery.refresh_from_db()
    assert (vehicle.status, vehicle.holder, vehicle.dealer) == ("registered", None, dealer.organization)
    assert (battery.status, battery.vehicle) == ("fitted", vehicle)
    registration = Registration.objects.get(vehicle=vehicle)
    assert registration.plate_no == vehicle.code  # 码牌合一
    assert registration.owner.name == "张三丰" and registration.owner.phone == "13805341234"
    assert Fitment.objects.filter(vehicle=vehicle, battery=battery, removed_at=None).count() == 1
    assert [e.type for e in vehicle.events.order_by("seq")] == ["produced", "sold", "battery_fitted", "registered"]
    assert chain_verify(vehicle).valid


def test_personal_data_is_encrypted_at_rest(chain):
    vehicle, battery = chain.in_stock(chain.world.dealer)
    _sell(chain.world.dealer, vehicle, [battery])
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT name_enc, id_number_enc, phone_enc FROM vehicles_owner")
        stored = " ".join(cursor.fetchone())
    assert "张三丰" not in stored and BUYER["id_number"] not in stored and "13805341234" not in stored
    with connection.cursor() as cursor:
        cursor.execute("SELECT payload::text FROM vehicles_lifecycleevent")
        ledger = " ".join(row[0] for row in cursor.fetchall())
    assert "张三丰" not in ledger and BUYER["id_number"] not in ledger and "13805341234" not in ledger


def test_selling_twice_is_409_already_sold(chain):
    dealer = chain.world.dealer
    vehicle, battery = chain.in_stock(dealer)
    assert _sell(dealer, vehicle, [battery]).status_code == 201
    second_battery = chain.battery(holder=dealer.organization, status=Battery.Status.IN_STOCK)
    response = _sell(dealer, vehicle, [second_battery])
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_sold"
    assert Sale.objects.count() == 1


def test_a_bike_not_in_the_dealers_stock_is_409_not_in_stock(chain):
    produced = chain.vehicle()  # still at the maker
    battery = chain.battery(holder=chain.world.dealer.organization, status=Battery.Status.IN_STOCK)
    response = _sell(chain.world.dealer, produced, [battery])
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_in_stock"
    others, _ = chain.in_stock(chain.world.other_dealer)
    response = _sell(chain.world.dealer, others, [battery])
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_in_stock"
    assert not Registration.objects.exists()


def test_a_battery_not_in_stock_is_409(chain):
    vehicle, _ = chain.in_stock(chain.world.dealer)
    at_maker = chain.battery()
    response = _sell(chain.world.dealer, vehicle, [at_maker])
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "not_in_stock",
        "message": response.json()["error"]["message"],
        "fields": {"battery_serials": [at_maker.serial]},
    }


def test_a_battery_outside_the_certified_pairs_is_422_battery_incompatible(chain):
    dealer = chain.world.dealer
    vehicle, _ = chain.in_stock(dealer)
    foreign = chain.battery(model=chain.other_battery_model, holder=dealer.organization, status="in_stock")
    response = _sell(dealer, vehicle, [foreign])
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "battery_incompatible"
    assert response.json()["error"]["fields"] == {"battery_serials": [foreign.serial]}
    vehicle.refresh_from_db()
    assert vehicle.status == "in_stock" and vehicle.events.count() == 1


def test_old_standard_bike_may_be_sold_before_the_cutoff_but_not_after(chain):
    dealer = chain.world.dealer
    old, battery = chain.in_stock(dealer, model=chain.old_model)
    response = _sell(dealer, old, [battery], sold_at="2025-12-01T09:00:00+08:00")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "uncertified"
    assert response.json()["error"]["fields"] == {"frame_no": ["old_standard_past_cutoff"]}
    response = _sell(dealer, old, [battery], sold_at="2025-11-30T18:00:00+08:00")
    assert response.status_code == 201


def test_uncertified_or_expired_models_are_422_uncertified(chain):
    dealer = chain.world.dealer
    vehicle, battery = chain.in_stock(dealer, model=chain.uncertified_model)
    response = _sell(dealer, vehicle, [battery])
    assert response.status_code == 422 and response.json()["error"]["code"] == "uncertified"
    chain.model.ccc_valid_until = dt.date(2026, 1, 31)
    chain.model.save()
    vehicle, battery = chain.in_stock(dealer)
    assert _sell(dealer, vehicle, [battery], sold_at="2026-02-01T10:00:00+08:00").status_code == 422
    assert _sell(dealer, vehicle, [battery], sold_at="2026-01-31T10:00:00+08:00").status_code == 201


@pytest.mark.parametrize(
    ("buyer", "field"),
    [
        ({"id_number": BUYER["id_number"][:-1] + ("0" if BUYER["id_number"][-1] != "0" else "1")}, "buyer.id_number"),
        ({"id_number": "37140219981301123X"}, "buyer.id_number"),  # month 13
        ({"phone": "12345"}, "buyer.phone"),
        ({"phone": "23805341234"}, "buyer.phone"),
        ({"region_code": "999999"}, "buyer.region_code"),
        ({"name": ""}, "buyer.name"),
    ],
)
def test_bad_buyer_data_is_400_and_nothing_is_written(chain, buyer, field):
    vehicle, battery = chain.in_stock(chain.world.dealer)
    response = _sell(chain.world.dealer, vehicle, [battery], buyer={**BUYER, **buyer})
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"] or field.split(".")[0] in response.json()["error"]["fields"]
    assert not Owner.objects.exists() and not Registration.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"frame_no": "1", "battery_serials": [], "buyer": BUYER},
        {"frame_no": "1", "battery_serials": "x"},
        {"frame_no": ["1"], "battery_serials": ["A"], "buyer": BUYER},
        {"frame_no": "1", "battery_serials": ["A"]},
        {"frame_no": "1", "battery_serials": ["A"], "buyer": "someone"},
        {"frame_no": "1", "battery_serials": ["A"], "buyer": BUYER, "sold_at": "yesterday"},
    ],
)
def test_malformed_sales_are_400(chain, body):
    response = api_client(chain.world.dealer).post(URL, body, format="json")
    assert response.status_code == 400


def test_a_sale_in_the_future_is_400(chain):
    vehicle, battery = chain.in_stock(chain.world.dealer)
    future = (timezone.now() + dt.timedelta(days=2)).isoformat()
    assert _sell(chain.world.dealer, vehicle, [battery], sold_at=future).status_code == 400


def test_a_sale_is_idempotent(chain):
    vehicle, battery = chain.in_stock(chain.world.dealer)
    body = {"frame_no": vehicle.frame_no, "battery_serials": [battery.serial], "buyer": BUYER}
    client = api_client(chain.world.dealer)
    first = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="sale-1")
    second = client.post(URL, body, format="json", HTTP_IDEMPOTENCY_KEY="sale-1")
    assert first.status_code == second.status_code == 201 and first.json() == second.json()
    assert Sale.objects.count() == 1 and vehicle.events.count() == 4


def test_the_same_buyer_buying_again_is_one_owner(chain):
    dealer = chain.world.dealer
    for _ in range(2):
        vehicle, battery = chain.in_stock(dealer)
        assert _sell(dealer, vehicle, [battery]).status_code == 201
    assert Owner.objects.count() == 1
    other = {**BUYER, "id_number": valid_id_number("37140220010505002")}
    vehicle, battery = chain.in_stock(dealer)
    assert _sell(dealer, vehicle, [battery], buyer=other).status_code == 201
    assert Owner.objects.count() == 2


def test_the_database_refuses_a_battery_in_two_vehicles(chain):
    dealer = chain.world.dealer
    vehicle, battery = chain.in_stock(dealer)
    _sell(dealer, vehicle, [battery])
    second = chain.vehicle()
    with pytest.raises(IntegrityError), transaction.atomic():
        Fitment.objects.create(battery=battery, vehicle=second, fitted_at=timezone.now(), fitted_by=dealer.organization)


def test_only_dealers_sell(chain):
    vehicle, battery = chain.in_stock(chain.world.dealer)
    for outsider in (chain.world.city_regulator, chain.maker, chain.world.police):
        assert _sell(outsider, vehicle, [battery]).status_code == 403
    assert api_client().post(URL, {}, format="json").status_code == 401
    assert Vehicle.objects.get(pk=vehicle.pk).status == "in_stock"


def test_sales_ledger_is_scoped(chain):
    dealer = chain.world.dealer
    vehicle, battery = chain.in_stock(dealer)
    _sell(dealer, vehicle, [battery])
    assert [s["vehicle"]["frame_no"] for s in api_client(dealer).get(URL).json()["results"]] == [vehicle.frame_no]
    assert len(api_client(chain.world.district_regulator).get(URL).json()["results"]) == 1
    for outsider in (chain.world.other_dealer, chain.world.other_district_regulator, chain.world.other_city_regulator):
        assert api_client(outsider).get(URL).json()["results"] == []
    assert not AuditEntry.objects.filter(action="personal_data.unmask").exists()


def test_a_sale_writes_its_ledger_in_one_go(chain, django_assert_max_num_queries):
    """Bike, two batteries and buyer: four events on one chain, each with its outbox message, in few statements."""
    from vehicles.models import LifecycleEvent, OutboxMessage

    dealer = chain.world.dealer
    vehicle, battery = chain.in_stock(dealer)
    second = chain.battery(holder=dealer.organization, status=Battery.Status.IN_STOCK, model=battery.model)
    # 18 in all here: the token this test issues, its lookup and last use, the test's savepoint pair, and the
    # sale's 13 (idempotency claim and result, region, two locks, owner upsert, registration, fitments, batteries,
    # events, bike, outbox, sale)
    with django_assert_max_num_queries(18):
        response = _sell(dealer, vehicle, [battery, second], headers={"HTTP_IDEMPOTENCY_KEY": "one-go"})
    assert response.status_code == 201, response.json()
    events = list(vehicle.events.order_by("seq"))
    assert [e.type for e in events] == ["produced", "sold", "battery_fitted", "battery_fitted", "registered"]
    assert {e.battery.serial for e in events if e.type == "battery_fitted"} == {battery.serial, second.serial}
    assert set(OutboxMessage.objects.values_list("event_id", flat=True)) >= {e.pk for e in events[1:]}
    assert LifecycleEvent.objects.filter(battery=second, vehicle=vehicle).count() == 1
    vehicle.refresh_from_db()
    assert (vehicle.ledger_seq, vehicle.ledger_head) == (5, events[-1].hash)
    assert chain_verify(vehicle).valid
