"""The trade-in counter pages (phone): find the old bike, see its kind and subsidy, sell the new bike to its owner
(pre-filled, masked) once, the success screen with the new bike's QR code; the sale form's streets."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from core.models import OrganizationKind
from dealers.models import Sale, TradeIn
from tests.chain import BUYER
from tests.conftest import _member
from tests.dealers.trade_in_world import STREET
from tests.factories import PASSWORD
from vehicles.models import Registration

NEW = "/dealer/trade-ins/new/"


def _logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def _token(html: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


def _error(html: str, field: str) -> str:
    match = re.search(rf'data-testid="error-{field}"[^>]*>(.*?)</ul>', html, re.S)
    assert match, f"no error shown next to {field}"
    return match.group(1)


def _found(client, old, proof) -> tuple[str, str]:
    token = _token(client.get(NEW).content.decode())
    response = client.post(NEW, {"form_token": token, "step": "find", "old": old, "proof": proof})
    assert response.status_code == 200
    return response.content.decode(), token


def test_finding_the_old_bike_shows_its_kind_the_subsidy_and_the_owner_masked(counter):
    old = counter.registered()
    client = _logged_in(counter.dealer)

    html, _ = _found(client, old.frame_no, old.code)

    assert 'data-testid="old-bike" data-kind="old_standard" data-subsidy="500.00"' in html
    assert "备案非标车" in html and "¥500.00" in html
    assert "张**" in html and "张三丰" not in html and BUYER["id_number"] not in html
    assert f'<option value="{STREET}" selected>德城区 · 新湖街道</option>' in html
    assert 'data-testid="trade-in-submit"' in html


def test_a_frame_number_without_proof_finds_nothing_and_says_so_below_the_proof(counter):
    old = counter.registered()
    html, _ = _found(_logged_in(counter.dealer), old.frame_no, "")
    assert 'data-testid="old-bike"' not in html and "trade-in-submit" not in html
    assert "二维码" in _error(html, "proof")


def test_the_owners_id_number_or_the_plate_alone_finds_the_bike(counter):
    old = counter.registered()
    plate = Registration.objects.get(vehicle=old, status="active").plate_no
    client = _logged_in(counter.dealer)
    assert 'data-kind="old_standard"' in _found(client, old.frame_no, BUYER["id_number"])[0]
    assert 'data-kind="old_standard"' in _found(client, plate, "")[0]


def test_a_trade_in_is_submitted_once_and_shows_the_new_bikes_qr_code(counter):
    old = counter.registered()
    new, battery = counter.chain.in_stock(counter.dealer)
    client = _logged_in(counter.dealer)
    _, token = _found(client, old.frame_no, old.code)
    body = {
        "form_token": token,
        "step": "trade",
        "old": old.frame_no,
        "proof": old.code,
        "frame_no": new.frame_no,
        "battery_serials": battery.serial,
        "buyer_region": STREET,
        "subsidy_yuan": "500.00",
        "sold_at": "",
    }

    first = client.post(NEW, body)
    second = client.post(NEW, body)  # a double click

    trade_in = TradeIn.objects.get()
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == f"/dealer/trade-ins/{trade_in.pk}/"
    html = client.get(first["Location"]).content.decode()
    new.refresh_from_db()
    assert f'<img src="/v/{new.code}/qr.svg"' in html and "以旧换新已登记" in html
    assert old.frame_no in html and "¥500.00" in html and "张**" in html and "张三丰" not in html
    assert Registration.objects.get(vehicle=new, status="active").region_id == STREET
    assert Registration.objects.get(vehicle=old).status == "cancelled"


def test_a_refused_sale_is_shown_next_to_the_field_keeps_the_input_and_the_old_registration(counter):
    old = counter.registered()
    elsewhere = counter.chain.vehicle()  # still at the maker
    battery = counter.chain.battery(holder=counter.dealer.organization, status="in_stock")
    client = _logged_in(counter.dealer)
    _, token = _found(client, old.frame_no, old.code)
    body = {
        "form_token": token,
        "step": "trade",
        "old": old.frame_no,
        "proof": old.code,
        "frame_no": elsewhere.frame_no,
        "battery_serials": battery.serial,
        "buyer_region": STREET,
        "subsidy_yuan": "450",
        "sold_at": "",
    }

    response = client.post(NEW, body)

    assert response.status_code == 200
    html = response.content.decode()
    assert _error(html, "frame_no") and 'data-testid="old-bike"' in html
    assert f'value="{elsewhere.frame_no}"' in html and battery.serial in html
    assert not TradeIn.objects.exists() and Registration.objects.get(vehicle=old).status == "active"
    assert Sale.objects.count() == 1


def test_a_subsidy_other_than_the_policys_is_refused_in_words(counter):
    old = counter.registered()
    new, battery = counter.chain.in_stock(counter.dealer)
    client = _logged_in(counter.dealer)
    _, token = _found(client, old.frame_no, old.code)
    body = {
        "form_token": token,
        "step": "trade",
        "old": old.frame_no,
        "proof": old.code,
        "frame_no": new.frame_no,
        "battery_serials": battery.serial,
        "buyer_region": STREET,
        "subsidy_yuan": "450",
        "sold_at": "",
    }
    html = client.post(NEW, body).content.decode()
    assert "¥500.00" in _error(html, "subsidy_yuan") and 'value="500.00"' in html  # offered again, as the policy pays
    assert client.post(NEW, {**body, "subsidy_yuan": "500.00"}).status_code == 302
    assert TradeIn.objects.count() == 1


@pytest.mark.parametrize("who", ["district_regulator", "police", "shop"])
def test_the_counter_is_for_dealers_only(counter, who):
    user = _member(OrganizationKind.REPAIR_SHOP, "371402") if who == "shop" else getattr(counter.chain.world, who)
    assert _logged_in(user).get(NEW).status_code == 404
    assert Client().get(NEW).status_code == 302  # the public is sent to log in


def test_another_dealer_cannot_open_the_success_screen(counter):
    old = counter.registered()
    new, battery = counter.chain.in_stock(counter.dealer)
    assert counter.trade(counter.body(old, new, battery)).status_code == 201
    url = f"/dealer/trade-ins/{TradeIn.objects.get().pk}/"
    assert _logged_in(counter.dealer).get(url).status_code == 200
    assert _logged_in(counter.chain.world.other_dealer).get(url).status_code == 404


def test_the_sale_form_offers_the_streets_of_each_county_and_registers_one(counter):
    dealer = counter.dealer
    vehicle, battery = counter.chain.in_stock(dealer)
    client = _logged_in(dealer)
    html = client.get("/dealer/sales/new/").content.decode()
    assert '<option value="371402" selected>德城区</option>' in html
    assert f'<option value="{STREET}">德城区 · 新湖街道</option>' in html
    assert 'value="371403101">陵城区 · 郑家寨镇<' in html
    body = {
        "form_token": _token(html),
        "frame_no": vehicle.frame_no,
        "battery_serials": battery.serial,
        "buyer_name": BUYER["name"],
        "buyer_id_number": BUYER["id_number"],
        "buyer_phone": BUYER["phone"],
        "buyer_region": "371402009",  # 运河街道
        "sold_at": "",
    }
    assert client.post("/dealer/sales/new/", body).status_code == 302
    assert Registration.objects.get(vehicle=vehicle).region_id == "371402009"
