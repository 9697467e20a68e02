"""A repair needs proof that the bike is at hand: its QR code (or the label's URL) or its plate, besides the frame
number. Frame numbers are sequential, so a frame number alone proves nothing and must open no dossier."""

import re

import pytest
from django.test import Client

from repairs.models import Repair
from tests.conftest import api_client
from tests.factories import PASSWORD
from vehicles.models import Registration

URL = "/api/v1/repairs/"
NEW = "/repair/new/"


def _post(user, vehicle, **proof):
    body = {"frame_no": vehicle.frame_no, "kind": "brake_tyre", **proof}
    return api_client(user).post(URL, body, format="json")


def _unknown_frame_no(vehicle) -> str:
    """The next frame number in the maker's sequence, which no bike carries."""
    return vehicle.frame_no[:-8] + f"{int(vehicle.frame_no[-8:]) + 9000:08d}"


def _dossier(user, vehicle) -> int:
    return api_client(user).get(f"/api/v1/vehicles/{vehicle.frame_no}/").status_code


def test_a_frame_number_alone_is_refused_as_an_unknown_bike_and_opens_no_dossier(workshop):
    vehicle, _ = workshop.bike()

    response = _post(workshop.shop, vehicle)

    assert response.status_code == 400, response.json()
    body = {"frame_no": _unknown_frame_no(vehicle), "kind": "brake_tyre"}
    assert response.json() == api_client(workshop.shop).post(URL, body, format="json").json()
    assert response.json()["error"]["code"] == "unknown_vehicle"
    assert not Repair.objects.exists()
    assert _dossier(workshop.shop, vehicle) == 404  # the sequential number did not open the bike's record


@pytest.mark.parametrize(
    "proof",
    [
        lambda v: {"vehicle_code": v.code},
        lambda v: {"vehicle_code": f"  {v.code.lower()} "},  # typed from the label
        lambda v: {"vehicle_code": f"https://ebike.example.gov.cn/v/{v.code}"},  # what the QR code carries
        lambda v: {"vehicle_code": f"http://testserver/v/{v.code}/"},
        lambda v: {"plate_no": Registration.objects.get(vehicle=v, status="active").plate_no},
        lambda v: {"vehicle_code": "", "plate_no": Registration.objects.get(vehicle=v, status="active").plate_no},
    ],
    ids=["code", "code-typed", "label-url", "url-slash", "plate", "plate-with-empty-code"],
)
def test_the_qr_code_its_url_or_the_plate_proves_the_bike_is_at_hand(workshop, proof):
    vehicle, _ = workshop.bike()

    response = _post(workshop.shop, vehicle, **proof(vehicle))

    assert response.status_code == 201, response.json()
    assert Repair.objects.get().vehicle == vehicle
    assert _dossier(workshop.shop, vehicle) == 200  # the shop worked on it: it sees its record now


def test_a_plate_registered_with_its_own_number_proves_the_bike(workshop):
    vehicle, _ = workshop.bike()
    Registration.objects.filter(vehicle=vehicle, status="active").update(plate_no="德州A12345")
    assert _post(workshop.shop, vehicle, plate_no=" 德州a12345 ").status_code == 201


def test_a_wrong_proof_gets_exactly_the_answer_of_an_unknown_frame_number(workshop):
    vehicle, _ = workshop.bike()
    other, _ = workshop.bike()
    unknown = api_client(workshop.shop).post(
        URL, {"frame_no": _unknown_frame_no(vehicle), "kind": "brake_tyre", "vehicle_code": vehicle.code}, format="json"
    )
    assert unknown.status_code == 400

    wrong = [
        {"vehicle_code": other.code},  # another bike's label
        {"vehicle_code": vehicle.code[:-1] + ("0" if vehicle.code[-1] != "0" else "1")},
        {"vehicle_code": f"https://ebike.example.gov.cn/v/{other.code}"},
        {"vehicle_code": f"https://ebike.example.gov.cn/x/{vehicle.code}/more"},
        {"plate_no": Registration.objects.get(vehicle=other, status="active").plate_no},
        {"vehicle_code": "", "plate_no": ""},
        {"vehicle_code": "长" * 40},
    ]
    for proof in wrong:
        response = _post(workshop.shop, vehicle, **proof)
        assert response.status_code == 400, proof
        assert response.json() == unknown.json(), proof
    assert not Repair.objects.exists()
    assert _dossier(workshop.shop, vehicle) == 404


def test_the_plate_of_an_ended_registration_proves_nothing(workshop):
    vehicle, _ = workshop.bike()
    registration = Registration.objects.get(vehicle=vehicle, status="active")
    Registration.objects.filter(pk=registration.pk).update(status="cancelled")
    response = _post(workshop.shop, vehicle, plate_no=registration.plate_no)
    assert response.status_code == 400 and response.json()["error"]["code"] == "unknown_vehicle"
    assert _post(workshop.shop, vehicle, vehicle_code=vehicle.code).status_code == 201  # the label still does


def test_a_bike_the_shop_repaired_before_needs_no_proof_again(workshop):
    vehicle, _ = workshop.bike()
    assert _post(workshop.shop, vehicle, vehicle_code=vehicle.code).status_code == 201

    assert _post(workshop.shop, vehicle).status_code == 201  # the follow-up visit
    # Another shop has not dealt with this bike: its word is not enough.
    response = _post(workshop.other_shop, vehicle)
    assert response.status_code == 400 and response.json()["error"]["code"] == "unknown_vehicle"
    assert Repair.objects.filter(vehicle=vehicle).count() == 2


def test_the_schema_documents_the_proof_fields(db):
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()["components"]["schemas"]
    fields = schema["RepairInRequest"]["properties"]
    assert {"vehicle_code", "plate_no"} <= set(fields)
    assert "QR" in fields["vehicle_code"]["description"] and "plate" in fields["plate_no"]["description"]
    assert not {"vehicle_code", "plate_no"} & set(schema["RepairInRequest"].get("required", []))
    paths = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert "unknown_vehicle" in paths["/api/v1/repairs/"]["post"]["responses"]["400"]["description"]


# --- the page ---------------------------------------------------------------------------------------------------


def _logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    client.cookies["django_language"] = "en"
    return client


def _token(html: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


def _page_body(client, vehicle, **extra):
    body = {
        "form_token": _token(client.get(NEW).content.decode()),
        "frame_no": vehicle.frame_no,
        "kind": "brake_tyre",
        "performed_at": "",
    }
    return {**body, **extra}


def _error(html: str, field: str) -> str:
    match = re.search(rf'data-testid="error-{field}"[^>]*>(.*?)</ul>', html, re.S)
    assert match, f"no error shown next to {field}"
    return match.group(1)


def test_the_repair_form_asks_for_the_qr_code_or_plate_and_the_scanner_may_fill_it(workshop):
    html = _logged_in(workshop.shop).get(NEW).content.decode()
    proof = re.search(r'<input[^>]*name="proof"[^>]*>', html, re.S).group(0)
    assert 'data-scan="code"' in proof and 'data-testid="proof"' in proof
    assert "QR code or plate number" in html
    chinese = _logged_in(workshop.shop)
    chinese.cookies["django_language"] = "zh-hans"
    assert "车辆二维码或车牌号" in chinese.get(NEW).content.decode()


def test_the_page_refuses_a_missing_proof_next_to_the_field_and_keeps_what_was_typed(workshop):
    vehicle, _ = workshop.bike()
    client = _logged_in(workshop.shop)

    html = client.post(NEW, _page_body(client, vehicle, notes="换刹车片")).content.decode()

    assert "No registered bike" in _error(html, "proof")
    assert f'value="{vehicle.frame_no}"' in html and "换刹车片" in html
    assert not Repair.objects.exists()

    wrong = client.post(NEW, _page_body(client, vehicle, proof="https://ebike.example.gov.cn/v/NOPE")).content
    assert "No registered bike" in _error(wrong.decode(), "proof")
    assert 'value="https://ebike.example.gov.cn/v/NOPE"' in wrong.decode()


@pytest.mark.parametrize("proof", ["code", "url", "plate"])
def test_the_page_accepts_the_scanned_label_or_the_plate(workshop, proof):
    vehicle, _ = workshop.bike()
    value = {
        "code": vehicle.code,
        "url": f"https://ebike.example.gov.cn/v/{vehicle.code}",
        "plate": Registration.objects.get(vehicle=vehicle, status="active").plate_no,
    }[proof]
    client = _logged_in(workshop.shop)
    response = client.post(NEW, _page_body(client, vehicle, proof=value))
    assert response.status_code == 302, response.content.decode()
    assert Repair.objects.get().vehicle == vehicle
