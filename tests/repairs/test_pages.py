"""The workshop pages: upload a repair (once only, errors next to fields), my repairs, batteries to hand over."""

import csv
import datetime as dt
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from repairs.models import Repair, RepairPhoto
from tests.conftest import api_client
from tests.factories import PASSWORD
from tests.repairs.conftest import JPEG, repair_shop

NEW = "/repair/new/"
LIST = "/repair/repairs/"
BATTERIES = "/repair/batteries/"


def _logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def _token(html: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


def _form(client) -> str:
    response = client.get(NEW)
    assert response.status_code == 200
    return _token(response.content.decode())


def _body(token, vehicle, **overrides):
    body = {
        "form_token": token,
        "frame_no": vehicle.frame_no,
        "proof": vehicle.code,  # scanned from the bike's QR label
        "kind": "brake_tyre",
        "removed_battery_serials": "",
        "fitted_battery_serials": "",
        "fitted_motor_power_w": "",
        "measured_max_speed_kmh": "",
        "notes": "",
        "performed_at": "",
    }
    body.update(overrides)
    return body


def _error(html: str, field: str) -> str:
    match = re.search(rf'data-testid="error-{field}"[^>]*>(.*?)</ul>', html, re.S)
    assert match, f"no error shown next to {field}"
    return match.group(1)


def _csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def _upload(shop, vehicle, **extra) -> int:
    response = api_client(shop).post(
        "/api/v1/repairs/", {"frame_no": vehicle.frame_no, "vehicle_code": vehicle.code, **extra}, format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()["id"]


# --- access ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [NEW, LIST, BATTERIES])
def test_workshop_pages_are_for_repair_shops_only(workshop, url):
    assert Client().get(url).status_code == 302  # anonymous: to the login page
    world = workshop.world
    for outsider in (world.city_regulator, world.dealer, world.police):
        assert _logged_in(outsider).get(url).status_code == 404
    response = _logged_in(workshop.shop).get(url)
    assert response.status_code == 200
    assert '<body class="phone">' in response.content.decode()


def test_the_home_cards_open_the_workshop_pages(workshop):
    html = _logged_in(workshop.shop).get("/").content.decode()
    assert f'href="{NEW}"' in html and f'href="{BATTERIES}"' in html


def test_the_form_takes_photos_from_the_camera(workshop):
    html = _logged_in(workshop.shop).get(NEW).content.decode()
    photo_input = re.search(r'<input type="file"[^>]*>', html, re.S).group(0)
    assert 'accept="image/*"' in photo_input and 'capture="environment"' in photo_input
    assert 'name="photos"' in photo_input and "multiple" in photo_input
    assert 'enctype="multipart/form-data"' in html


# --- upload ---------------------------------------------------------------------------------------------------


def test_a_battery_replacement_with_photos_leads_to_the_success_screen(workshop):
    client = _logged_in(workshop.shop)
    vehicle, [old] = workshop.bike()
    new = workshop.spare_battery()
    body = _body(
        _form(client),
        vehicle,
        kind="battery_replacement",
        removed_battery_serials=f"{old.serial}\n",
        fitted_battery_serials=new.serial.lower(),
        measured_max_speed_kmh="24.5",
        photos=[SimpleUploadedFile("a.jpg", JPEG, "image/jpeg"), SimpleUploadedFile("b.jpg", JPEG, "image/jpeg")],
    )

    response = client.post(NEW, body)

    repair = Repair.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/repair/repairs/{repair.pk}/"
    assert repair.fitted_battery_serials == [new.serial] and str(repair.measured_max_speed_kmh) == "24.5"
    assert RepairPhoto.objects.filter(repair=repair).count() == 2
    html = client.get(response["Location"]).content.decode()
    assert 'data-testid="success"' in html and 'data-testid="flags"' not in html
    assert 'data-testid="handover-note"' in html and old.serial in html
    photo = RepairPhoto.objects.first()
    image = client.get(f"/repair/repairs/{repair.pk}/photos/{photo.pk}/")
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert _logged_in(workshop.other_shop).get(f"/repair/repairs/{repair.pk}/photos/{photo.pk}/").status_code == 404


def test_the_success_screen_lists_flags_in_plain_words(workshop):
    unqualified = repair_shop("371402", qualification_no="")
    client = _logged_in(unqualified)
    vehicle, _ = workshop.bike()
    body = _body(
        _form(client),
        vehicle,
        kind="battery_replacement",
        removed_battery_serials="NOSUCHPACK01",
        fitted_battery_serials="NOSUCHPACK02",
    )
    client.cookies["django_language"] = "en"  # as the language switch sets it
    html = client.get(client.post(NEW, body)["Location"]).content.decode()
    flags = re.findall(r'data-flag="([a-z_]+)"', html)
    assert flags == ["shop_unqualified", "battery_not_fitted_here", "battery_unknown"]
    assert "qualification was missing or expired" in html
    assert "Removed battery NOSUCHPACK01 is not recorded in this bike" in html
    assert "Battery NOSUCHPACK02 is not on record" in html
    assert "battery_unknown</" not in html  # no codes shown as text


def test_errors_show_next_to_the_field_and_keep_what_was_typed(workshop):
    client = _logged_in(workshop.shop)
    vehicle, _ = workshop.bike()
    token = _form(client)

    response = client.post(NEW, _body(token, vehicle, frame_no="140222699999999", notes="换刹车片"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "No registered bike" in _error(html, "proof") or "没有" in _error(html, "proof")
    assert 'value="140222699999999"' in html and "换刹车片" in html
    assert _token(html) == token  # the same form, so a corrected retry still goes through once

    response = client.post(NEW, _body(token, vehicle, kind="battery_replacement"))
    assert 'data-testid="error-fitted_battery_serials"' in response.content.decode()
    response = client.post(NEW, _body(token, vehicle, measured_max_speed_kmh="200"))
    assert 'data-testid="error-measured_max_speed_kmh"' in response.content.decode()
    response = client.post(NEW, _body(token, vehicle, kind="motor_replacement"))
    assert 'data-testid="error-fitted_motor_power_w"' in response.content.decode()
    future = (timezone.localtime() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    response = client.post(NEW, _body(token, vehicle, performed_at=future))
    assert 'data-testid="error-performed_at"' in response.content.decode()
    assert not Repair.objects.exists()

    assert client.post(NEW, _body(token, vehicle)).status_code == 302
    assert Repair.objects.count() == 1


def test_a_bad_photo_refuses_the_whole_upload_with_the_reason_next_to_the_photos(workshop):
    client = _logged_in(workshop.shop)
    vehicle, _ = workshop.bike()
    body = _body(_form(client), vehicle, photos=[SimpleUploadedFile("x.jpg", b"not an image at all", "image/jpeg")])
    response = client.post(NEW, body)
    assert response.status_code == 200
    assert "JPEG" in _error(response.content.decode(), "photos")
    assert not Repair.objects.exists() and not RepairPhoto.objects.exists()
    body["photos"] = [SimpleUploadedFile(f"{i}.jpg", JPEG, "image/jpeg") for i in range(7)]
    response = client.post(NEW, body)
    assert 'data-testid="error-photos"' in response.content.decode() and not Repair.objects.exists()


def test_a_double_submission_records_one_repair(workshop):
    client = _logged_in(workshop.shop)
    vehicle, _ = workshop.bike()
    body = _body(_form(client), vehicle)
    first = client.post(NEW, body)
    second = client.post(NEW, body)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert Repair.objects.count() == 1


def test_a_stale_form_is_shown_again(workshop):
    client = _logged_in(workshop.shop)
    vehicle, _ = workshop.bike()
    response = client.post(NEW, _body("", vehicle))
    assert response.status_code == 200 and 'data-testid="form-errors"' in response.content.decode()
    assert not Repair.objects.exists()


def test_another_shops_repair_screen_is_404(workshop):
    vehicle, _ = workshop.bike()
    pk = _upload(workshop.shop, vehicle, kind="other")
    assert _logged_in(workshop.shop).get(f"/repair/repairs/{pk}/").status_code == 200
    assert _logged_in(workshop.other_shop).get(f"/repair/repairs/{pk}/").status_code == 404
    assert _logged_in(workshop.other_shop).get("/repair/repairs/99999999999999999999/").status_code == 404


# --- my repairs -----------------------------------------------------------------------------------------------


def test_my_repairs_lists_filters_counts_and_exports_only_my_shops_repairs(workshop):
    bike1, _ = workshop.bike()
    bike2, _ = workshop.bike()
    _upload(workshop.shop, bike1, kind="motor_replacement", fitted_motor_power_w=800)
    _upload(workshop.shop, bike2, kind="speed_limiter", measured_max_speed_kmh="45.0")
    _upload(workshop.other_shop, bike1, kind="other")
    client = _logged_in(workshop.shop)

    html = client.get(LIST).content.decode()
    assert 'data-count="2"' in html
    assert set(re.findall(r'data-testid="repair-row" data-frame-no="(\d+)"', html)) == {bike1.frame_no, bike2.frame_no}
    html = client.get(LIST, {"kind": "speed_limiter"}).content.decode()
    assert 'data-count="1"' in html and bike2.frame_no in html
    html = client.get(LIST, {"frame_no": bike1.frame_no.lower()}).content.decode()
    assert 'data-count="1"' in html
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    html = client.get(LIST, {"date_from": tomorrow}).content.decode()
    assert 'data-count="0"' in html and 'data-testid="empty"' in html
    html = client.get(LIST, {"date_from": tomorrow, "date_to": "2020-01-01"}).content.decode()
    assert 'data-testid="error-date_to"' in html

    rows = _csv(client.get(LIST, {"export": "csv", "kind": "speed_limiter"}))
    assert len(rows) == 2 and rows[1][1] == bike2.frame_no and rows[1][6] == "45.0"
    xlsx = client.get(LIST, {"export": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet.max_row == 3


def test_my_repairs_empty_state_says_what_to_do(workshop):
    html = _logged_in(workshop.shop).get(LIST).content.decode()
    assert 'data-testid="empty"' in html and f'href="{NEW}"' in html


def test_my_repairs_is_paginated(workshop):
    vehicle, _ = workshop.bike()
    org, user = workshop.shop.organization, workshop.shop
    Repair.objects.bulk_create(
        Repair(
            shop=org, vehicle=vehicle, kind="other", performed_at=timezone.now(), created_by=user, shop_qualified=True
        )
        for _ in range(51)
    )
    client = _logged_in(workshop.shop)
    html = client.get(LIST).content.decode()
    assert 'data-count="51"' in html and html.count('data-testid="repair-row"') == 50
    assert 'data-testid="next-page"' in html
    assert client.get(LIST, {"page": "2"}).content.decode().count('data-testid="repair-row"') == 1
    assert client.get(LIST, {"page": "x"}).status_code == 200


# --- batteries to hand over -------------------------------------------------------------------------------------


def test_removed_batteries_show_the_days_left_and_overdue_ones_stand_out(workshop):
    shop = workshop.shop
    recent_bike, [recent] = workshop.bike()
    old_bike, [old] = workshop.bike()
    _upload(
        shop,
        recent_bike,
        kind="other",
        removed_battery_serials=[recent.serial],
        performed_at=(timezone.now() - dt.timedelta(days=3)).isoformat(),
    )
    _upload(
        shop,
        old_bike,
        kind="other",
        removed_battery_serials=[old.serial],
        performed_at=(timezone.now() - dt.timedelta(days=40)).isoformat(),
    )
    others_bike, [others] = workshop.bike()
    _upload(workshop.other_shop, others_bike, kind="other", removed_battery_serials=[others.serial])
    client = _logged_in(shop)

    html = client.get(BATTERIES).content.decode()

    assert 'data-count="2"' in html and others.serial not in html
    rows = re.findall(r'data-serial="([^"]+)" data-days-left="(-?\d+)" data-overdue="(true|false)"', html)
    assert rows == [(old.serial, "-10", "true"), (recent.serial, "27", "false")]  # oldest removal first
    assert old_bike.frame_no in html and recent_bike.frame_no in html
    html = client.get(BATTERIES, {"overdue": "1"}).content.decode()
    assert 'data-count="1"' in html and old.serial in html and recent.serial not in html

    rows = _csv(client.get(BATTERIES, {"export": "csv"}))
    assert [r[0] for r in rows[1:]] == [old.serial, recent.serial] and rows[1][5] == "-10"


def test_batteries_to_hand_over_empty_state(workshop):
    html = _logged_in(workshop.shop).get(BATTERIES).content.decode()
    assert 'data-testid="empty"' in html and 'data-count="0"' in html


def test_the_admin_shows_repairs_read_only(workshop):
    vehicle, _ = workshop.bike()
    pk = _upload(workshop.shop, vehicle, kind="other")
    client = Client()
    client.force_login(workshop.world.superuser)
    assert client.get("/admin/repairs/repair/").status_code == 200
    assert client.get(f"/admin/repairs/repair/{pk}/change/").status_code == 200
    assert client.get("/admin/repairs/repair/add/").status_code == 403
