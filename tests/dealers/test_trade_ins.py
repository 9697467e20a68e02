"""POST /api/v1/trade-ins/ (以旧换新): the old registration cancelled, the old bike held by the dealer for a recycler,
the new bike sold to the same owner, all or nothing; its kind and subsidy; the proofs; the recycler's take-back."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from core.models import AuditEntry, OrganizationKind, Region
from dealers.models import Sale, SubsidyPolicy, TradeIn
from recycling.models import RecyclingRecord
from tests.chain import BUYER, valid_id_number
from tests.conftest import _member, api_client
from tests.dealers.trade_in_world import OLD_SOLD_AT, STREET, URL
from vehicles.ledger import chain_verify
from vehicles.models import Registration, Vehicle
from vehicles.registration import BuyerData, registration_cancel, registration_create

# --- the trade-in -------------------------------------------------------------------------------------------------


def test_a_trade_in_cancels_the_old_registration_and_sells_the_new_bike_to_the_same_owner(counter):
    old = counter.registered()
    old_registration = Registration.objects.get(vehicle=old, status="active")
    new, battery = counter.chain.in_stock(counter.dealer)

    response = counter.trade(counter.body(old, new, battery))

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["subsidy_yuan"] == 500.0 and body["region_code"] == STREET
    assert body["old"] | {"handed_over_at": None} == {
        "frame_no": old.frame_no,
        "model": "DQ-OLD",
        "kind": "old_standard",
        "plate_no": old_registration.plate_no,
        "status": "cancelled",
        "handed_over_at": None,
        "owner": {
            "name": "张**",
            "id_number": BUYER["id_number"][:4] + "*" * 10 + BUYER["id_number"][-4:],
            "phone": "138****1234",
        },
    }
    assert body["sale"]["vehicle"]["frame_no"] == new.frame_no and body["sale"]["buyer"] == body["old"]["owner"]
    assert body["sale"]["vehicle"]["qr_url"].endswith(f"/v/{new.code}/qr.svg")

    old_registration.refresh_from_db()
    assert (old_registration.status, old_registration.end_reason) == ("cancelled", "以旧换新")
    old.refresh_from_db()
    assert (old.status, old.holder_id) == ("cancelled", counter.dealer.organization_id)  # held for a recycler
    new_registration = Registration.objects.get(vehicle=new, status="active")
    assert new_registration.owner_id == old_registration.owner_id and new_registration.region_id == STREET
    trade_in = TradeIn.objects.get()
    assert (trade_in.old_kind, trade_in.subsidy_yuan, trade_in.region_code) == ("old_standard", Decimal("500"), STREET)
    assert trade_in.sale.vehicle_id == new.pk and trade_in.handed_over_at is None
    assert [e.type for e in old.events.order_by("seq")][-2:] == ["registration_cancelled", "traded_in"]
    assert old.events.get(type="traded_in").payload["trade_in"] == trade_in.pk
    new.refresh_from_db()
    assert chain_verify(old).valid and chain_verify(new).valid


def test_the_owner_given_again_may_move_to_another_street_but_stays_the_same_person(counter):
    old = counter.registered()
    new, battery = counter.chain.in_stock(counter.dealer)
    buyer = {"region_code": "371402002", "phone": "13905341111", "id_number": BUYER["id_number"]}

    response = counter.trade(counter.body(old, new, battery, buyer=buyer))

    assert response.status_code == 201, response.json()
    registration = Registration.objects.get(vehicle=new, status="active")
    assert registration.region_id == "371402002" and registration.owner.phone == "13905341111"
    assert TradeIn.objects.get().region_code == "371402002"


def test_another_persons_id_number_is_refused_and_nothing_is_written(counter):
    old = counter.registered()
    new, battery = counter.chain.in_stock(counter.dealer)
    someone_else = {"id_number": valid_id_number("37140219900202123"), "name": "李四"}

    response = counter.trade(counter.body(old, new, battery, buyer=someone_else))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "not_the_owner"
    assert "sale.buyer.id_number" in response.json()["error"]["fields"]
    assert Registration.objects.get(vehicle=old).status == "active" and not TradeIn.objects.exists()


@pytest.mark.parametrize(
    ("break_the_sale", "status", "code", "field"),
    [
        ("not_in_stock", 409, "not_in_stock", "sale.frame_no"),
        ("incompatible_battery", 422, "battery_incompatible", "sale.battery_serials"),
        ("bad_buyer_region", 400, "unknown_region", "sale.buyer.region_code"),
    ],
)
def test_a_failure_in_the_sale_leaves_the_old_registration_active(counter, break_the_sale, status, code, field):
    old = counter.registered()
    events_before = old.events.count()
    new, battery = counter.chain.in_stock(counter.dealer)
    sale = {}
    if break_the_sale == "not_in_stock":
        new = counter.chain.vehicle()  # still at the maker
    elif break_the_sale == "incompatible_battery":
        battery = counter.chain.battery(
            model=counter.chain.other_battery_model, holder=counter.dealer.organization, status="in_stock"
        )
    else:
        sale["buyer"] = {"region_code": "999999999"}

    response = counter.trade(counter.body(old, new, battery, **sale))

    assert response.status_code == status, response.json()
    assert response.json()["error"]["code"] == code and field in response.json()["error"]["fields"]
    old.refresh_from_db()
    registration = Registration.objects.get(vehicle=old)
    assert registration.status == "active" and registration.ended_at is None
    assert old.status == "registered" and old.holder_id is None and old.events.count() == events_before
    assert not TradeIn.objects.exists() and not Registration.objects.filter(vehicle=new).exists()
    assert Sale.objects.count() == 1  # the old bike's own sale


def test_only_a_registered_bike_is_traded_in(counter):
    new, battery = counter.chain.in_stock(counter.dealer)
    in_stock, _ = counter.chain.in_stock(counter.dealer)  # the dealer has it: no other proof needed
    response = counter.trade(counter.body(None, new, battery, old_ref={"frame_no": in_stock.frame_no}))
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_registered"
    assert "old.frame_no" in response.json()["error"]["fields"]

    cancelled = counter.registered()
    registration_cancel(
        user=counter.chain.world.police, frame_no=cancelled.frame_no, reason="车主申请注销", cancelled_at=timezone.now()
    )
    response = counter.trade(counter.body(cancelled, new, battery))  # its QR label shows it is at the counter
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_registered"

    response = counter.trade(counter.body(None, new, battery, old_ref={"plate_no": "浙B12345"}))
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_registered"
    assert "old.plate_no" in response.json()["error"]["fields"]
    assert not TradeIn.objects.exists()
    new.refresh_from_db()
    assert new.status == "in_stock"


def test_a_bike_traded_in_once_is_not_traded_in_again(counter):
    old = counter.registered()
    new, battery = counter.chain.in_stock(counter.dealer)
    assert counter.trade(counter.body(old, new, battery)).status_code == 201
    again, second_battery = counter.chain.in_stock(counter.dealer)
    response = counter.trade(counter.body(old, again, second_battery))
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_registered"
    assert TradeIn.objects.count() == 1


# --- proofs ---------------------------------------------------------------------------------------------------------


def test_a_frame_number_alone_is_refused_exactly_as_an_unknown_bike_and_counted(counter):
    old = counter.registered()
    new, battery = counter.chain.in_stock(counter.dealer)
    unknown = old.frame_no[:-8] + f"{int(old.frame_no[-8:]) + 9000:08d}"

    refused = counter.trade(counter.body(None, new, battery, old_ref={"frame_no": old.frame_no}))
    nobody = counter.trade(counter.body(None, new, battery, old_ref={"frame_no": unknown}))
    wrong = counter.trade(counter.body(None, new, battery, old_ref={"frame_no": old.frame_no, "vehicle_code": "X"}))

    assert refused.status_code == nobody.status_code == wrong.status_code == 400
    assert refused.json() == nobody.json() == wrong.json()
    assert refused.json()["error"]["code"] == "unknown_vehicle"
    assert Registration.objects.get(vehicle=old).status == "active" and not TradeIn.objects.exists()
    tried = AuditEntry.objects.filter(action="vehicle.proof_failed").values_list("target_id", flat=True)
    assert sorted(tried) == sorted([old.frame_no, unknown, old.frame_no])


@pytest.mark.parametrize("proof", ["plate", "owner_id", "label_in_frame_field", "label_url"])
def test_the_plate_the_owners_id_number_or_the_qr_label_shows_the_bike_is_at_the_counter(counter, proof):
    old = counter.registered()
    plate = Registration.objects.get(vehicle=old, status="active").plate_no
    new, battery = counter.chain.in_stock(counter.dealer)
    sale, old_ref = (
        {},
        {
            "plate": {"plate_no": plate},
            "owner_id": {"frame_no": old.frame_no},
            "label_in_frame_field": {"frame_no": old.code},
            "label_url": {"frame_no": old.frame_no, "vehicle_code": f"https://ebike.example.gov.cn/v/{old.code}"},
        }[proof],
    )
    if proof == "owner_id":
        sale["buyer"] = {"id_number": BUYER["id_number"]}

    response = counter.trade(counter.body(None, new, battery, old_ref=old_ref, **sale))

    assert response.status_code == 201, response.json()
    assert response.json()["old"]["frame_no"] == old.frame_no


# --- kind and subsidy ---------------------------------------------------------------------------------------------


def test_the_subsidy_must_be_the_policys_amount_for_the_kind_of_bike(counter):
    old = counter.registered()
    new, battery = counter.chain.in_stock(counter.dealer)

    response = counter.trade(counter.body(old, new, battery, subsidy="450"))

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "subsidy_mismatch" and "500.00" in error["message"] and "subsidy_yuan" in error["fields"]
    assert Registration.objects.get(vehicle=old).status == "active"

    new_standard = counter.registered(
        model=counter.chain.model, buyer={"id_number": valid_id_number("37140219990303123")}
    )
    response = counter.trade(counter.body(new_standard, new, battery, subsidy=200))
    assert response.status_code == 201, response.json()
    assert response.json()["old"]["kind"] == "new_standard" and response.json()["subsidy_yuan"] == 200.0


def test_a_streets_own_policy_comes_before_its_countys_and_none_means_no_subsidy(counter):
    SubsidyPolicy.objects.create(
        region_code=STREET, old_kind="old_standard", amount_yuan=Decimal("800.00"), valid_from=dt.date(2025, 6, 1)
    )
    old = counter.registered()
    new, battery = counter.chain.in_stock(counter.dealer)
    assert counter.trade(counter.body(old, new, battery, subsidy="500.00")).json()["error"]["code"] == (
        "subsidy_mismatch"
    )
    assert counter.trade(counter.body(old, new, battery, subsidy="800.00")).status_code == 201

    elsewhere = counter.registered(region_code="371403", buyer={"id_number": valid_id_number("37140219970505123")})
    new, battery = counter.chain.in_stock(counter.dealer)
    assert counter.trade(counter.body(elsewhere, new, battery, subsidy="500")).status_code == 400
    response = counter.trade(counter.body(elsewhere, new, battery, subsidy="0"))
    assert response.status_code == 201 and response.json()["subsidy_yuan"] == 0.0


# --- who may -------------------------------------------------------------------------------------------------------


def test_outsiders_may_not_trade_in(counter):
    old = counter.registered()
    new, battery = counter.chain.in_stock(counter.dealer)
    body = counter.body(old, new, battery)
    world = counter.chain.world
    assert api_client().post(URL, body, format="json").status_code == 401
    for outsider in (world.district_regulator, world.police, world.superuser):
        response = counter.trade(body, user=outsider)
        assert response.status_code == 403, outsider
    # Another dealer without the bike at its counter learns nothing about it.
    other_new, other_battery = counter.chain.in_stock(world.far_dealer)
    probe = counter.body(None, other_new, other_battery, old_ref={"frame_no": old.frame_no})
    response = counter.trade(probe, user=world.far_dealer)
    assert response.status_code == 400 and response.json()["error"]["code"] == "unknown_vehicle"
    # Nor may it sell the first dealer's stock in a trade-in.
    response = counter.trade(counter.body(old, new, battery), user=world.far_dealer)
    assert response.status_code == 409 and "sale.frame_no" in response.json()["error"]["fields"]
    assert not TradeIn.objects.exists() and Registration.objects.get(vehicle=old).status == "active"


def test_a_retried_trade_in_with_the_same_key_is_done_once(counter):
    old = counter.registered()
    new, battery = counter.chain.in_stock(counter.dealer)
    body = counter.body(old, new, battery)
    first = counter.trade(body, HTTP_IDEMPOTENCY_KEY="trade-1")
    second = counter.trade(body, HTTP_IDEMPOTENCY_KEY="trade-1")
    assert first.status_code == second.status_code == 201 and first.json() == second.json()
    assert TradeIn.objects.count() == 1


# --- the recycler ---------------------------------------------------------------------------------------------------


def test_a_recycler_takes_the_traded_in_bike_from_the_dealer_and_the_trade_in_is_handed_over(counter):
    recycler = _member(OrganizationKind.RECYCLER, "371402", name="德城区回收站")
    old = counter.registered()
    plate = Registration.objects.get(vehicle=old, status="active").plate_no
    new, battery = counter.chain.in_stock(counter.dealer)
    assert counter.trade(counter.body(old, new, battery)).status_code == 201

    # The plate came to the counter on the bike: it still shows the bike is at hand until a recycler takes it.
    body = {"kind": "vehicle", "ref": old.frame_no, "disposal": "dismantle", "plate_no": plate}
    response = api_client(recycler).post("/api/v1/recycling/", body, format="json")

    assert response.status_code == 201, response.json()
    old.refresh_from_db()
    assert (old.status, old.holder_id) == ("recycled", recycler.organization_id)
    trade_in = TradeIn.objects.get()
    assert trade_in.handed_over_at is not None
    assert RecyclingRecord.objects.filter(vehicle=old, organization=recycler.organization).count() == 1


def test_a_cancelled_bikes_old_plate_still_proves_nothing(counter):
    """Only a trade-in keeps the plate with the bike; a plate handed back after a cancellation may be reissued."""
    recycler = _member(OrganizationKind.RECYCLER, "371402", name="德城区回收站")
    old = counter.registered()
    plate = Registration.objects.get(vehicle=old, status="active").plate_no
    registration_cancel(
        user=counter.chain.world.police, frame_no=old.frame_no, reason="车主申请注销", cancelled_at=timezone.now()
    )
    body = {"kind": "vehicle", "ref": old.frame_no, "disposal": "dismantle", "plate_no": plate}
    response = api_client(recycler).post("/api/v1/recycling/", body, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "unknown_item"


def test_an_owner_recorded_before_todays_checks_is_taken_as_registered(counter):
    """An old registration may hold data today's checks would refuse (a birth place code that did not exist yet):
    the owner is taken as registered, not typed again, so the trade-in goes through."""
    legacy = BuyerData(
        name="王五", id_number="330206196501011234", phone="13900000000", region=Region.objects.get(code=STREET)
    )
    vehicle, battery = counter.chain.in_stock(counter.dealer, model=counter.chain.old_model)
    with transaction.atomic():
        registration_create(
            vehicle=Vehicle.objects.select_for_update().get(pk=vehicle.pk),
            batteries=[battery],
            buyer=legacy,
            dealer=counter.dealer.organization,
            registered_at=OLD_SOLD_AT,
        )
    vehicle.refresh_from_db()
    new, new_battery = counter.chain.in_stock(counter.dealer)

    response = counter.trade(counter.body(vehicle, new, new_battery))

    assert response.status_code == 201, response.json()
    assert Registration.objects.get(vehicle=new, status="active").owner.id_number == "330206196501011234"
