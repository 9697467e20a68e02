"""A recycler taking a bike back must show it is at hand (QR code or plate), and may take back only a bike whose
registration has ended: the owner cancels it first (注销), or the bike comes through a trade-in."""

from __future__ import annotations

import datetime as dt
import re

from django.test import Client
from django.utils import timezone

from recycling.models import RecyclingRecord
from tests.conftest import api_client
from tests.factories import PASSWORD
from vehicles.models import Registration, Vehicle
from vehicles.registration import registration_cancel

URL = "/api/v1/recycling/"
NEW = "/recycler/new/"


def _take_back(user, frame_no, **proof):
    body = {"kind": "vehicle", "ref": frame_no, "disposal": "dismantle", **proof}
    return api_client(user).post(URL, body, format="json")


def _cancelled(rc, vehicle) -> Vehicle:
    registration_cancel(
        user=rc.world.police, frame_no=vehicle.frame_no, reason="车主申请注销", cancelled_at=timezone.now()
    )
    vehicle.refresh_from_db()
    return vehicle


def _unknown_frame_no(vehicle) -> str:
    return vehicle.frame_no[:-8] + f"{int(vehicle.frame_no[-8:]) + 9000:08d}"


def test_a_frame_number_alone_is_refused_exactly_as_an_unknown_bike(rc):
    vehicle, _ = rc.sold_bike()
    _cancelled(rc, vehicle)
    unknown = _take_back(rc.recycler, _unknown_frame_no(vehicle))
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "unknown_item"

    for proof in ({}, {"vehicle_code": ""}, {"vehicle_code": "0" * 13}, {"plate_no": vehicle.code + "X"}):
        response = _take_back(rc.recycler, vehicle.frame_no, **proof)
        assert response.status_code == 400, proof
        assert response.json() == unknown.json(), proof
    vehicle.refresh_from_db()
    assert vehicle.status == "cancelled" and not RecyclingRecord.objects.exists()


def test_a_registered_bike_is_refused_until_its_owner_cancels_the_registration(rc):
    vehicle, battery = rc.sold_bike()
    registration = Registration.objects.get(vehicle=vehicle, status="active")

    response = _take_back(rc.recycler, vehicle.frame_no, plate_no=registration.plate_no)

    assert response.status_code == 409, response.json()
    error = response.json()["error"]
    assert error["code"] == "registration_active" and "ref" in error["fields"]
    assert "注销" in error["message"]  # the owner cancels the registration first
    vehicle.refresh_from_db()
    registration.refresh_from_db()
    assert vehicle.status == "registered" and registration.status == "active"
    assert not RecyclingRecord.objects.exists() and battery.vehicle_id == vehicle.pk

    _cancelled(rc, vehicle)
    response = _take_back(rc.recycler, vehicle.frame_no, vehicle_code=vehicle.code)
    assert response.status_code == 201, response.json()
    vehicle.refresh_from_db()
    assert vehicle.status == "recycled" and vehicle.holder_id == rc.recycler.organization_id


def test_without_proof_a_registered_bike_is_unknown_not_409(rc):
    """The 409 would tell a prober the bike exists: the proof is checked first."""
    vehicle, _ = rc.sold_bike()
    response = _take_back(rc.recycler, vehicle.frame_no)
    assert response.status_code == 400 and response.json()["error"]["code"] == "unknown_item"


def test_a_cancelled_bike_is_taken_back_with_its_qr_code_or_the_labels_url(rc):
    vehicle, battery = rc.sold_bike()
    other, _ = rc.sold_bike()
    for bike in (vehicle, other):
        _cancelled(rc, bike)
    assert _take_back(rc.recycler, vehicle.frame_no, vehicle_code=vehicle.code).status_code == 201
    url = f"https://ebike.example.gov.cn/v/{other.code.lower()}"
    assert _take_back(rc.other_recycler, other.frame_no, vehicle_code=url).status_code == 201
    battery.refresh_from_db()
    assert (battery.status, battery.holder_id) == ("removed", rc.recycler.organization_id)


def test_the_plate_of_a_cancelled_registration_proves_nothing(rc):
    vehicle, _ = rc.sold_bike()
    Registration.objects.filter(vehicle=vehicle).update(plate_no="德州A12345")
    _cancelled(rc, vehicle)
    response = _take_back(rc.recycler, vehicle.frame_no, plate_no="德州A12345")
    assert response.status_code == 400 and response.json()["error"]["code"] == "unknown_item"
    assert not RecyclingRecord.objects.exists()
    # the label's code is what proves a cancelled bike
    taken = _take_back(rc.recycler, vehicle.frame_no, vehicle_code=vehicle.code)
    assert taken.status_code == 201 and taken.json()["ref"] == vehicle.frame_no


def test_a_bike_the_recycler_took_back_needs_no_proof_to_hear_it_is_recycled(rc):
    vehicle, _ = rc.sold_bike()
    _cancelled(rc, vehicle)
    assert _take_back(rc.recycler, vehicle.frame_no, vehicle_code=vehicle.code).status_code == 201

    again = _take_back(rc.recycler, vehicle.frame_no)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_recycled"
    # Another recycler without the label learns nothing, not even that it was recycled.
    other = _take_back(rc.other_recycler, vehicle.frame_no)
    assert other.status_code == 400 and other.json()["error"]["code"] == "unknown_item"
    with_label = _take_back(rc.other_recycler, vehicle.frame_no, vehicle_code=vehicle.code)
    assert with_label.status_code == 409 and with_label.json()["error"]["code"] == "already_recycled"


def test_a_bike_in_stock_is_taken_back_with_its_label(rc):
    vehicle, _ = rc.chain.in_stock(rc.world.dealer)
    assert _take_back(rc.recycler, vehicle.frame_no).status_code == 400
    assert _take_back(rc.recycler, vehicle.frame_no, vehicle_code=vehicle.code).status_code == 201


def test_batteries_need_no_proof(rc):
    battery = rc.removed_at(rc.recycler)
    response = api_client(rc.recycler).post(
        URL, {"kind": "battery", "ref": battery.serial, "disposal": "dismantle"}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["ref"] == battery.serial and response.json()["status"] == "recycled"
    battery.refresh_from_db()
    assert battery.status == "recycled" and RecyclingRecord.objects.get().battery == battery


def test_the_schema_documents_the_proof_fields_and_the_refusals(db):
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    schemas = schema["components"]["schemas"]
    fields = schemas["RecyclingInRequest"]["properties"]
    assert {"vehicle_code", "plate_no"} <= set(fields)
    assert not {"vehicle_code", "plate_no"} & set(schemas["RecyclingInRequest"].get("required", []))
    responses = schema["paths"]["/api/v1/recycling/"]["post"]["responses"]
    assert "registration_active" in responses["409"]["description"]
    assert "unknown_item" in responses["400"]["description"] and "content" in responses["409"]


# --- the page ---------------------------------------------------------------------------------------------------


def _logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    client.cookies["django_language"] = "en"
    return client


def _record(client, **fields):
    token = re.search(r'name="form_token" value="([^"]+)"', client.get(NEW).content.decode()).group(1)
    return client.post(
        NEW, {"form_token": token, "kind": "vehicle", "disposal": "dismantle", "manifest_no": "", **fields}
    )


def _error(html: str, field: str) -> str:
    match = re.search(rf'data-testid="error-{field}"[^>]*>(.*?)</ul>', html, re.S)
    assert match, f"no error shown next to {field}"
    return match.group(1)


def test_the_take_back_form_asks_for_the_qr_code_or_plate_and_the_scanner_may_fill_it(rc):
    html = _logged_in(rc.recycler).get(NEW).content.decode()
    proof = re.search(r'<input[^>]*name="proof"[^>]*>', html, re.S).group(0)
    assert 'data-scan="code"' in proof and 'data-testid="proof"' in proof
    shop_form = _logged_in(rc.shop).get(NEW).content.decode()
    assert 'name="proof"' not in shop_form  # a handover is of a battery the shop holds


def test_the_page_refuses_a_missing_proof_or_an_active_registration_next_to_the_fields(rc):
    vehicle, _ = rc.sold_bike()
    client = _logged_in(rc.recycler)

    html = _record(client, ref=vehicle.frame_no).content.decode()
    assert "No bike with this frame number" in _error(html, "proof")

    html = _record(client, ref=vehicle.frame_no, proof=vehicle.code).content.decode()
    assert "cancel" in _error(html, "ref")
    assert f'value="{vehicle.code}"' in html
    assert not RecyclingRecord.objects.exists()

    _cancelled(rc, vehicle)
    response = _record(client, ref=vehicle.frame_no, proof=f"https://ebike.example.gov.cn/v/{vehicle.code}")
    assert response.status_code == 302
    assert RecyclingRecord.objects.get().vehicle_id == vehicle.pk


def test_a_cancelled_bike_taken_back_today_keeps_its_cancellation_date(rc):
    vehicle, _ = rc.sold_bike()
    _cancelled(rc, vehicle)
    registration = Registration.objects.get(vehicle=vehicle)
    ended_at = registration.ended_at
    assert _take_back(rc.recycler, vehicle.frame_no, vehicle_code=vehicle.code).status_code == 201
    registration.refresh_from_db()
    assert (registration.status, registration.ended_at, registration.end_reason) == (
        "cancelled",
        ended_at,
        "车主申请注销",
    )
    assert ended_at <= timezone.now() + dt.timedelta(seconds=1)
