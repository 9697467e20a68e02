"""The recycling pages: take-back and disposal (recycler), handover (repair shop), the records with CSV."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.test import Client

from core.models import IdempotencyKey
from recycling.models import RecyclingRecord
from tests.factories import PASSWORD

NEW, RECORDS = "/recycler/new/", "/recycler/records/"


def _logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    client.cookies["django_language"] = "en"  # the assertions below read the English wording
    return client


def _token(html: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


def _form(client) -> str:
    response = client.get(NEW)
    assert response.status_code == 200
    return _token(response.content.decode())


def _error(html: str, field: str) -> str:
    match = re.search(rf'data-testid="error-{field}"[^>]*>(.*?)</ul>', html, re.S)
    assert match, f"no error shown next to {field}"
    return match.group(1)


def _csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def _record(client, **fields):
    body = {"form_token": _form(client), "kind": "battery", "manifest_no": "", **fields}
    return client.post(NEW, body)


# --- access ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [NEW, RECORDS])
def test_recycling_pages_are_for_recyclers_and_repair_shops_only(rc, url):
    assert Client().get(url).status_code == 302  # anonymous: to the login page
    for outsider in (rc.world.dealer, rc.world.district_regulator, rc.world.police, rc.environment):
        assert _logged_in(outsider).get(url).status_code == 404
    for member in (rc.recycler, rc.shop):
        response = _logged_in(member).get(url)
        assert response.status_code == 200
        assert '<body class="phone">' in response.content.decode()


def test_a_record_page_is_404_outside_its_scope(rc):
    battery = rc.removed_at(rc.recycler)
    client = _logged_in(rc.recycler)
    response = _record(client, ref=battery.serial, disposal="dismantle")
    url = response["Location"]
    assert client.get(url).status_code == 200
    for outsider in (rc.other_recycler, rc.shop, rc.world.dealer, rc.world.district_regulator):
        assert _logged_in(outsider).get(url).status_code == 404
    assert client.get(f"/recycler/records/{2**70}/").status_code == 404


def test_the_recyclers_home_cards_open_the_pages(rc):
    html = _logged_in(rc.recycler).get("/").content.decode()
    assert f'href="{NEW}"' in html and f'href="{RECORDS}"' in html


# --- the recycler ----------------------------------------------------------------------------------------------


def test_the_recycler_form_offers_the_disposals_and_not_the_handover(rc):
    html = _logged_in(rc.recycler).get(NEW).content.decode()
    for disposal in ("dismantle", "hazardous_transfer", "cascade_refused"):
        assert f'data-testid="disposal-{disposal}"' in html
    assert 'data-testid="disposal-handover"' not in html and 'name="handed_to"' not in html
    assert 'data-testid="kind-vehicle"' in html and 'data-testid="kind-battery"' in html


def test_a_recycler_takes_back_a_bike_and_then_disposes_of_its_battery(rc):
    vehicle, battery = rc.cancelled_bike()
    client = _logged_in(rc.recycler)

    response = _record(client, kind="vehicle", ref=vehicle.frame_no, proof=vehicle.code, disposal="dismantle")

    record = RecyclingRecord.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/recycler/records/{record.pk}/"
    html = client.get(response["Location"]).content.decode()
    assert 'data-status="recycled"' in html and vehicle.frame_no in html
    assert f'data-testid="released-battery" data-serial="{battery.serial}"' in html
    assert f"?kind=battery&amp;ref={battery.serial}" in html  # dispose of it next

    form = client.get(f"{NEW}?kind=battery&ref={battery.serial}").content.decode()
    assert f'value="{battery.serial}"' in form
    assert f'data-testid="held-battery" data-serial="{battery.serial}"' in form
    response = _record(client, ref=battery.serial, disposal="cascade_refused")
    assert response.status_code == 302
    battery.refresh_from_db()
    assert battery.status == "recycled"
    html = client.get(f"/recycler/records/{record.pk}/").content.decode()
    assert "?kind=battery" not in html  # nothing left to dispose of


def test_a_scanned_frame_number_preselects_the_bike(rc):
    html = _logged_in(rc.recycler).get(NEW, {"ref": "140222600000001"}).content.decode()
    assert re.search(r'value="vehicle" checked', html)


def test_lead_acid_without_a_manifest_is_refused_next_to_the_field_and_the_input_kept(rc):
    battery = rc.removed_at(rc.recycler, lead_acid=True)
    client = _logged_in(rc.recycler)
    token = _form(client)
    body = {"form_token": token, "kind": "battery", "ref": battery.serial, "disposal": "dismantle", "manifest_no": ""}

    html = client.post(NEW, body).content.decode()
    assert "hazardous waste" in _error(html, "disposal") and battery.serial in html
    html = client.post(NEW, {**body, "disposal": "hazardous_transfer"}).content.decode()
    assert "manifest" in _error(html, "manifest_no")
    assert not RecyclingRecord.objects.exists()

    # The same form, corrected, goes through with the same token.
    response = client.post(NEW, {**body, "disposal": "hazardous_transfer", "manifest_no": "2026371400000123"})
    assert response.status_code == 302
    assert RecyclingRecord.objects.get().manifest_no == "2026371400000123"
    assert "2026371400000123" in client.get(response["Location"]).content.decode()


def test_refusals_are_shown_in_words_next_to_the_code(rc):
    vehicle, battery = rc.sold_bike()
    client = _logged_in(rc.recycler)
    html = _record(client, ref="NOSUCH0001", disposal="dismantle").content.decode()
    assert "No battery with this code." in _error(html, "ref")
    html = _record(client, ref=battery.serial, disposal="dismantle").content.decode()
    assert "fitted in a bike" in _error(html, "ref")
    html = _record(client, kind="vehicle", ref=vehicle.frame_no, proof=vehicle.code, disposal="cascade_refused")
    assert _error(html.content.decode(), "disposal")
    html = _record(client, ref="", disposal="").content.decode()
    assert _error(html, "ref") and _error(html, "disposal")
    assert not RecyclingRecord.objects.exists()


def test_a_form_is_submitted_once(rc):
    battery = rc.removed_at(rc.recycler)
    client = _logged_in(rc.recycler)
    body = {"form_token": _form(client), "kind": "battery", "ref": battery.serial, "disposal": "dismantle"}
    first = client.post(NEW, body)
    second = client.post(NEW, body)
    assert first.status_code == second.status_code == 302 and first["Location"] == second["Location"]
    assert RecyclingRecord.objects.count() == 1
    assert IdempotencyKey.objects.filter(key=f"form:{body['form_token']}").count() == 1
    html = client.post(NEW, {**body, "form_token": "bad"}).content.decode()
    assert 'data-testid="form-errors"' in html and RecyclingRecord.objects.count() == 1


# --- the repair shop's handover --------------------------------------------------------------------------------


def test_the_shop_form_offers_only_the_handover_to_recyclers_of_its_province(rc):
    held = rc.removed_at(rc.shop)
    html = _logged_in(rc.shop).get(NEW).content.decode()
    assert 'data-testid="disposal-handover"' in html and 'value="handover" checked' in html
    for disposal in ("dismantle", "hazardous_transfer", "cascade_refused"):
        assert f'data-testid="disposal-{disposal}"' not in html
    assert 'data-testid="kind-vehicle"' not in html
    assert f'value="{rc.recycler.organization_id}"' in html and f'value="{rc.lc_recycler.organization_id}"' in html
    assert f'value="{rc.other_recycler.organization_id}"' not in html  # another province
    assert f'data-testid="held-battery" data-serial="{held.serial}"' in html


def test_a_shop_hands_over_a_battery_through_the_form(rc):
    battery = rc.removed_at(rc.shop)
    client = _logged_in(rc.shop)
    html = _record(client, ref=battery.serial, disposal="handover").content.decode()
    assert _error(html, "handed_to")  # the recycler is required

    response = _record(client, ref=battery.serial, disposal="handover", handed_to=rc.recycler.organization_id)

    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    assert 'data-disposal="handover"' in html and rc.recycler.organization.name in html
    battery.refresh_from_db()
    assert (battery.status, battery.holder_id) == ("removed", rc.recycler.organization_id)
    assert 'data-testid="held-empty"' in client.get(NEW).content.decode()
    # The recycler sees the handover among its records, and the battery waiting for disposal.
    recycler = _logged_in(rc.recycler)
    assert f'data-ref="{battery.serial}" data-disposal="handover"' in recycler.get(RECORDS).content.decode()
    assert f'data-serial="{battery.serial}"' in recycler.get(NEW).content.decode()


def test_a_shop_may_not_dispose_or_hand_over_what_it_does_not_hold(rc):
    client = _logged_in(rc.shop)
    battery = rc.removed_at(rc.recycler)
    html = _record(client, ref=battery.serial, disposal="dismantle").content.decode()
    assert _error(html, "disposal")  # not a choice it has
    html = _record(client, ref=battery.serial, disposal="handover", handed_to=rc.recycler.organization_id).content
    assert "does not hold" in _error(html.decode(), "ref")
    html = _record(client, kind="vehicle", ref="140222600000001", disposal="handover").content.decode()
    assert _error(html, "kind")
    html = _record(client, ref=battery.serial, disposal="handover", handed_to=rc.other_recycler.organization_id)
    assert _error(html.content.decode(), "handed_to")
    assert not RecyclingRecord.objects.exists()


# --- the records list ------------------------------------------------------------------------------------------


def _dispose_all(rc):
    lead_acid = rc.removed_at(rc.recycler, lead_acid=True)
    lithium = rc.removed_at(rc.recycler)
    vehicle, _ = rc.chain.in_stock(rc.world.dealer)
    client = _logged_in(rc.recycler)
    _record(client, ref=lead_acid.serial, disposal="hazardous_transfer", manifest_no="HW-2026-1")
    _record(client, ref=lithium.serial, disposal="dismantle")
    _record(client, kind="vehicle", ref=vehicle.frame_no, proof=vehicle.code, disposal="dismantle")
    other = rc.removed_at(rc.other_recycler)
    _record(_logged_in(rc.other_recycler), ref=other.serial, disposal="dismantle")
    return client, lead_acid, lithium, vehicle, other


def test_the_records_list_has_a_count_filters_and_only_ones_own(rc):
    client, lead_acid, lithium, vehicle, other = _dispose_all(rc)
    html = client.get(RECORDS).content.decode()
    assert 'data-testid="records-count" data-count="3"' in html
    assert html.count('data-testid="record-row"') == 3 and other.serial not in html

    def refs(**params):
        page = client.get(RECORDS, params).content.decode()
        return re.findall(r'data-testid="record-row" data-ref="([^"]+)"', page)

    assert refs(kind="vehicle") == [vehicle.frame_no]
    assert refs(disposal="hazardous_transfer") == [lead_acid.serial]
    assert refs(q="hw-2026-1") == [lead_acid.serial]
    assert refs(q=lithium.serial.lower()) == [lithium.serial]
    assert refs(date_from="2000-01-01", date_to="2000-01-02") == []
    html = client.get(RECORDS, {"date_from": "2026-02-02", "date_to": "2026-02-01"}).content.decode()
    assert _error(html, "date_to")
    html = client.get(RECORDS, {"kind": "bike"}).content.decode()
    assert _error(html, "kind")
    assert 'data-testid="empty"' in client.get(RECORDS, {"q": "NOTHING"}).content.decode()


def test_the_records_list_is_paginated(rc, monkeypatch):
    monkeypatch.setattr("recycling.views.PAGE_SIZE", 2)
    client, *_ = _dispose_all(rc)
    first = client.get(RECORDS).content.decode()
    assert first.count('data-testid="record-row"') == 2 and 'data-testid="next-page"' in first
    assert client.get(RECORDS, {"page": 2}).content.decode().count('data-testid="record-row"') == 1


def test_the_records_export_as_csv_with_the_filters_applied(rc):
    client, lead_acid, lithium, vehicle, _ = _dispose_all(rc)
    rows = _csv(client.get(RECORDS, {"export": "csv"}))
    assert len(rows) == 4
    assert sorted(r[2] for r in rows[1:]) == sorted([lead_acid.serial, lithium.serial, vehicle.frame_no])
    rows = _csv(client.get(RECORDS, {"disposal": "hazardous_transfer", "export": "csv"}))
    assert len(rows) == 2 and rows[1][2] == lead_acid.serial and rows[1][4] == "HW-2026-1"


def test_an_empty_list_says_to_record_an_item(rc):
    html = _logged_in(rc.recycler).get(RECORDS).content.decode()
    assert 'data-testid="empty"' in html and f'href="{NEW}"' in html
    assert 'data-count="0"' in html and 'data-testid="record-row"' not in html


# --- what the regulator and the administrator see -------------------------------------------------------------


def test_the_regulators_dossier_page_shows_the_bike_recycled(rc):
    vehicle, _ = rc.cancelled_bike()
    _record(_logged_in(rc.recycler), kind="vehicle", ref=vehicle.frame_no, proof=vehicle.code, disposal="dismantle")
    html = _logged_in(rc.world.district_regulator).get(f"/records/vehicles/{vehicle.frame_no}/").content.decode()
    assert 'data-status="recycled"' in html
    assert _logged_in(rc.world.other_city_regulator).get(f"/records/vehicles/{vehicle.frame_no}/").status_code == 404


def test_the_admin_lists_records_read_only(rc):
    battery = rc.removed_at(rc.recycler)
    _record(_logged_in(rc.recycler), ref=battery.serial, disposal="dismantle")
    client = Client()
    client.force_login(rc.world.superuser)
    html = client.get("/admin/recycling/recyclingrecord/", {"q": battery.serial}).content.decode()
    assert battery.serial in html
    record = RecyclingRecord.objects.get()
    assert client.get("/admin/recycling/recyclingrecord/add/").status_code == 403
    assert client.post(f"/admin/recycling/recyclingrecord/{record.pk}/delete/", {"post": "yes"}).status_code == 403
    assert RecyclingRecord.objects.count() == 1
