"""The dealer counter pages: stock, incoming inspection, sale = registration with its 标配 check, sales ledger."""

import datetime as dt
import io
import re

import pytest
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from core.models import IdempotencyKey
from dealers.models import Receipt, Sale
from tests.chain import BUYER
from tests.factories import PASSWORD
from vehicles.models import Battery, Registration, Vehicle

WRONG_CHECK_DIGIT = BUYER["id_number"][:-1] + ("0" if BUYER["id_number"][-1] != "0" else "1")


def _logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def _token(html: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


def _form(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return _token(response.content.decode())


def _sale_body(token, vehicle, batteries, **overrides):
    body = {
        "form_token": token,
        "frame_no": vehicle.frame_no,
        "battery_serials": "\n".join(b.serial for b in batteries),
        "buyer_name": BUYER["name"],
        "buyer_id_number": BUYER["id_number"],
        "buyer_phone": BUYER["phone"],
        "buyer_region": BUYER["region_code"],
        "sold_at": "",
    }
    body.update(overrides)
    return body


def _error(html: str, field: str) -> str:
    match = re.search(rf'data-testid="error-{field}"[^>]*>(.*?)</ul>', html, re.S)
    assert match, f"no error shown next to {field}"
    return match.group(1)


def _csv(response) -> list[list[str]]:
    import csv

    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


# --- access ---------------------------------------------------------------------------------------------------

PAGES = ["/dealer/stock/", "/dealer/receive/", "/dealer/sales/", "/dealer/sales/new/", "/dealer/sales/check/"]


@pytest.mark.parametrize("url", PAGES)
def test_dealer_pages_are_for_dealers_only(world, url):
    assert Client().get(url).status_code == 302  # anonymous: to the login page
    for outsider in (world.city_regulator, world.police):
        assert _logged_in(outsider).get(url).status_code == 404
    response = _logged_in(world.dealer).get(url)
    assert response.status_code == 200
    if not url.endswith("/check/"):  # the check is a fragment for htmx
        assert '<body class="phone">' in response.content.decode()


def test_home_cards_of_the_dealer_open_the_pages(world):
    html = _logged_in(world.dealer).get("/").content.decode()
    for url in ["/dealer/receive/", "/dealer/sales/new/", "/dealer/stock/", "/dealer/sales/"]:
        assert f'href="{url}"' in html


# --- stock -----------------------------------------------------------------------------------------------------


def test_stock_lists_own_bikes_and_batteries_with_counts_and_a_model_filter(chain):
    dealer = chain.world.dealer
    vehicle, battery = chain.in_stock(dealer)
    old, _ = chain.in_stock(dealer, model=chain.old_model)
    others, _ = chain.in_stock(chain.world.other_dealer)
    client = _logged_in(dealer)

    html = client.get("/dealer/stock/").content.decode()
    assert 'data-testid="count-vehicle">2<' in html and 'data-testid="count-battery">2<' in html
    assert vehicle.frame_no in html and old.frame_no in html and others.frame_no not in html

    html = client.get("/dealer/stock/", {"model": "DQ-OLD"}).content.decode()
    assert old.frame_no in html and vehicle.frame_no not in html
    assert 'data-testid="stock-count" data-count="1"' in html

    html = client.get("/dealer/stock/", {"kind": "battery"}).content.decode()
    assert battery.serial in html and vehicle.frame_no not in html


def test_stock_exports_csv_of_the_kind_and_model_shown(chain):
    dealer = chain.world.dealer
    vehicle, _ = chain.in_stock(dealer)
    chain.in_stock(dealer, model=chain.old_model)
    rows = _csv(_logged_in(dealer).get("/dealer/stock/", {"model": "DQ-1", "export": "csv"}))
    assert len(rows) == 2 and rows[1][:2] == [vehicle.frame_no, "DQ-1"] and rows[1][4] == vehicle.code
    rows = _csv(_logged_in(dealer).get("/dealer/stock/", {"kind": "battery", "export": "csv"}))
    assert sorted(r[0] for r in rows[1:]) == sorted(
        Battery.objects.filter(status="in_stock").values_list("serial", flat=True)
    )


def test_empty_stock_says_to_receive_goods_first(world):
    html = _logged_in(world.dealer).get("/dealer/stock/").content.decode()
    assert 'data-testid="empty"' in html and 'href="/dealer/receive/"' in html


def test_stock_is_paginated(chain, monkeypatch):
    monkeypatch.setattr("dealers.views.PAGE_SIZE", 2)
    for _ in range(3):
        chain.vehicle(holder=chain.world.dealer.organization, status=Vehicle.Status.IN_STOCK)
    client = _logged_in(chain.world.dealer)
    first = client.get("/dealer/stock/").content.decode()
    assert first.count('data-testid="stock-item"') == 2 and 'data-testid="next-page"' in first
    assert client.get("/dealer/stock/", {"page": 2}).content.decode().count('data-testid="stock-item"') == 1


# --- incoming inspection ---------------------------------------------------------------------------------------


def test_receive_form_lists_makers_and_not_the_dealer_itself(chain):
    html = _logged_in(chain.world.dealer).get("/dealer/receive/").content.decode()
    assert f'value="{chain.maker.organization_id}"' in html
    assert f'value="{chain.battery_maker.organization_id}"' in html
    assert f'value="{chain.world.other_dealer.organization_id}"' in html  # a dealer of the same province
    assert f'value="{chain.world.dealer.organization_id}"' not in html
    assert f'value="{chain.world.far_dealer.organization_id}"' not in html  # another province
    assert f'value="{chain.world.city_regulator.organization_id}"' not in html


def test_receiving_goods_shows_a_verdict_per_item_with_the_reason(chain):
    dealer = chain.world.dealer
    good, old = chain.vehicle(), chain.vehicle(model=chain.old_model)
    client = _logged_in(dealer)
    token = _form(client, "/dealer/receive/")
    codes = f"{good.frame_no}\n{old.frame_no.lower()}\n\n140222600009999\n{good.frame_no}"
    response = client.post(
        "/dealer/receive/", {"form_token": token, "supplier": chain.maker.organization_id, "codes": codes}
    )
    receipt = Receipt.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/dealer/receipts/{receipt.pk}/"

    html = client.get(response["Location"]).content.decode()
    verdicts = re.findall(r'data-ref="(\w+)" data-kind="vehicle" data-verdict="(\w+)"', html)
    assert verdicts == [
        (good.frame_no, "accepted"),
        (old.frame_no, "rejected"),
        ("140222600009999", "rejected"),
        (good.frame_no, "rejected"),  # listed twice
    ]
    assert 'data-reason="old_standard_past_cutoff"' in html and 'data-reason="unknown"' in html
    assert 'data-reason="duplicate_in_receipt"' in html
    assert "GB 17761-2018" in html  # the reason in words, not its code
    assert 'data-testid="accepted-count" data-count="1"' in html
    good.refresh_from_db()
    assert good.holder_id == dealer.organization_id and good.status == "in_stock"


def test_a_battery_code_is_told_from_a_frame_number_by_its_shape(chain):
    battery = chain.battery()
    client = _logged_in(chain.world.dealer)
    token = _form(client, "/dealer/receive/")
    client.post(
        "/dealer/receive/",
        {"form_token": token, "supplier": chain.battery_maker.organization_id, "codes": battery.serial.lower()},
    )
    item = Receipt.objects.get().items.get()
    assert (item.kind, item.ref, item.verdict) == ("battery", battery.serial, "accepted")


def test_a_scanned_qr_label_is_received_as_the_bike_or_battery_it_names(chain):
    vehicle, other = chain.vehicle(), chain.vehicle()
    client = _logged_in(chain.world.dealer)
    token = _form(client, "/dealer/receive/")
    codes = f"{vehicle.code}\nhttps://jg.example.cn/v/{other.code}\n"
    client.post("/dealer/receive/", {"form_token": token, "supplier": chain.maker.organization_id, "codes": codes})
    items = Receipt.objects.get().items.order_by("pk")
    assert [(i.kind, i.ref, i.verdict) for i in items] == [
        ("vehicle", vehicle.frame_no, "accepted"),
        ("vehicle", other.frame_no, "accepted"),
    ]


def test_receive_errors_are_shown_next_to_the_fields_and_the_input_kept(chain):
    client = _logged_in(chain.world.dealer)
    token = _form(client, "/dealer/receive/")
    html = client.post("/dealer/receive/", {"form_token": token, "supplier": "", "codes": "140222600000123"}).content
    html = html.decode()
    assert _error(html, "supplier") and "140222600000123" in html
    html = client.post(
        "/dealer/receive/", {"form_token": token, "supplier": chain.maker.organization_id, "codes": " \n "}
    ).content.decode()
    assert "empty_receipt" not in _error(html, "codes")  # words, not the code
    assert f'value="{chain.maker.organization_id}" selected' in html
    assert not Receipt.objects.exists()


def test_receiving_twice_with_the_same_form_records_one_inspection(chain):
    vehicle = chain.vehicle()
    client = _logged_in(chain.world.dealer)
    token = _form(client, "/dealer/receive/")
    body = {"form_token": token, "supplier": chain.maker.organization_id, "codes": vehicle.frame_no}
    first, second = client.post("/dealer/receive/", body), client.post("/dealer/receive/", body)
    assert first.status_code == second.status_code == 302 and first["Location"] == second["Location"]
    assert Receipt.objects.count() == 1


def test_another_dealer_cannot_open_the_inspection_result(chain):
    vehicle = chain.vehicle()
    client = _logged_in(chain.world.dealer)
    token = _form(client, "/dealer/receive/")
    url = client.post(
        "/dealer/receive/", {"form_token": token, "supplier": chain.maker.organization_id, "codes": vehicle.frame_no}
    )["Location"]
    assert _logged_in(chain.world.other_dealer).get(url).status_code == 404
    assert _logged_in(chain.world.district_regulator).get(url).status_code == 404


# --- sale = registration ---------------------------------------------------------------------------------------


def test_sale_form_offers_the_counties_of_the_dealers_city_and_defaults_to_its_own(world):
    html = _logged_in(world.dealer).get("/dealer/sales/new/").content.decode()
    assert '<option value="371402" selected>' in html
    assert 'value="371403"' in html  # 陵城区, same city
    assert 'value="330206"' not in html
    assert re.search(r'name="sold_at" id="id_sold_at" value="\d{4}-\d\d-\d\dT\d\d:\d\d"', html)


def test_a_sale_registers_and_shows_the_qr_code_and_plate(chain):
    dealer = chain.world.dealer
    vehicle, battery = chain.in_stock(dealer)
    client = _logged_in(dealer)
    token = _form(client, "/dealer/sales/new/")

    response = client.post("/dealer/sales/new/", _sale_body(token, vehicle, [battery], sold_at="2026-03-05T14:05"))

    sale = Sale.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/dealer/sales/{sale.pk}/"
    assert timezone.localtime(sale.sold_at).strftime("%Y-%m-%d %H:%M") == "2026-03-05 14:05"
    html = client.get(response["Location"]).content.decode()
    vehicle.refresh_from_db()
    assert f'<img src="/v/{vehicle.code}/qr.svg"' in html
    assert f'data-testid="plate">{vehicle.code}<' in html
    assert 'data-testid="print"' in html
    assert "张**" in html and "张三丰" not in html
    assert Registration.objects.get(vehicle=vehicle).owner.name == "张三丰"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (
            {"buyer_id_number": BUYER["id_number"][:-1] + ("0" if BUYER["id_number"][-1] != "0" else "1")},
            "buyer_id_number",
        ),
        ({"buyer_phone": "12345"}, "buyer_phone"),
        ({"buyer_name": ""}, "buyer_name"),
        ({"frame_no": "140222600009999"}, "frame_no"),
        ({"buyer_region": "330206"}, "buyer_region"),
        ({"sold_at": "2099-01-01T10:00"}, "sold_at"),
    ],
)
def test_sale_errors_are_shown_next_to_the_field_and_the_input_kept(chain, overrides, field):
    dealer = chain.world.dealer
    vehicle, battery = chain.in_stock(dealer)
    client = _logged_in(dealer)
    token = _form(client, "/dealer/sales/new/")
    body = _sale_body(token, vehicle, [battery], **overrides)
    response = client.post("/dealer/sales/new/", body)
    assert response.status_code == 200
    html = response.content.decode()
    assert _error(html, field)
    assert f'value="{body["buyer_phone"]}"' in html and battery.serial in html  # what was typed stays
    assert _token(html) == token  # the same form, still unused
    assert not Sale.objects.exists()


def test_a_sale_with_several_mistakes_shows_every_error_at_once_keeps_the_input_and_writes_nothing(chain):
    dealer = chain.world.dealer
    vehicle, battery = chain.in_stock(dealer)
    client = _logged_in(dealer)
    token = _form(client, "/dealer/sales/new/")
    body = _sale_body(
        token, vehicle, [battery], frame_no="140222600009999", buyer_id_number=WRONG_CHECK_DIGIT, buyer_phone="12345"
    )

    response = client.post("/dealer/sales/new/", body)

    assert response.status_code == 200
    html = response.content.decode()
    assert "18" in _error(html, "buyer_id_number")  # "Not a valid 18-digit ID number", in words
    assert "11" in _error(html, "buyer_phone")
    assert "进货查验" in _error(html, "frame_no")  # not in your stock: receive it first
    assert 'data-testid="error-battery_serials"' not in html and 'data-testid="error-buyer_name"' not in html
    for typed in ("140222600009999", WRONG_CHECK_DIGIT, "12345", BUYER["name"], battery.serial):
        assert typed in html
    assert _token(html) == token
    assert not Sale.objects.exists() and not Registration.objects.exists()
    vehicle.refresh_from_db()
    assert vehicle.status == Vehicle.Status.IN_STOCK


def test_a_sale_names_every_battery_outside_the_stock_or_the_certified_pairs_with_the_buyer_error(chain):
    dealer = chain.world.dealer
    vehicle, battery = chain.in_stock(dealer)
    foreign = chain.battery(model=chain.other_battery_model, holder=dealer.organization, status="in_stock")
    theirs = chain.battery(holder=chain.world.other_dealer.organization, status="in_stock")
    client = _logged_in(dealer)
    body = _sale_body(_form(client, "/dealer/sales/new/"), vehicle, [battery, foreign, theirs], buyer_phone="1")

    html = client.post("/dealer/sales/new/", body).content.decode()

    batteries = _error(html, "battery_serials")
    assert foreign.serial in batteries and "标配" in batteries  # not a certified pair
    assert theirs.serial in batteries and "进货查验" in batteries  # not in this dealer's stock
    assert battery.serial not in batteries
    assert _error(html, "buyer_phone")
    assert "LD-4820" not in batteries  # the other dealer's battery model is not told
    assert not Sale.objects.exists()


def test_a_sale_takes_scanned_qr_labels_of_the_bike_and_battery_in_stock(chain):
    dealer = chain.world.dealer
    vehicle, battery = chain.in_stock(dealer)
    client = _logged_in(dealer)
    token = _form(client, "/dealer/sales/new/")
    # The camera reader fills in the code; a hardware scanner types the label's whole URL.
    body = _sale_body(
        token, vehicle, [], frame_no=vehicle.code, battery_serials=f"https://jg.example.cn/v/{battery.code}"
    )

    response = client.post("/dealer/sales/new/", body)

    sale = Sale.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/dealer/sales/{sale.pk}/"
    assert sale.vehicle == vehicle and sale.battery_serials == [battery.serial]


def test_the_label_of_a_bike_in_another_dealers_stock_is_not_read_back_to_its_frame_number(chain):
    dealer, other = chain.world.dealer, chain.world.other_dealer
    theirs, their_battery = chain.in_stock(other)
    chain.in_stock(dealer)
    client = _logged_in(dealer)
    body = _sale_body(
        _form(client, "/dealer/sales/new/"), theirs, [], frame_no=theirs.code, battery_serials=their_battery.code
    )

    html = client.post("/dealer/sales/new/", body).content.decode()

    assert "进货查验" in _error(html, "frame_no") and their_battery.code in _error(html, "battery_serials")
    assert theirs.frame_no not in html and their_battery.serial not in html
    check = _check(dealer, theirs.code, their_battery.code)
    assert 'data-ready="false"' in check and theirs.frame_no not in check and their_battery.serial not in check
    assert not Sale.objects.exists()


def test_an_incompatible_battery_is_named_next_to_the_battery_field(chain):
    dealer = chain.world.dealer
    vehicle, _ = chain.in_stock(dealer)
    foreign = chain.battery(model=chain.other_battery_model, holder=dealer.organization, status="in_stock")
    client = _logged_in(dealer)
    html = client.post(
        "/dealer/sales/new/", _sale_body(_form(client, "/dealer/sales/new/"), vehicle, [foreign])
    ).content.decode()
    message = _error(html, "battery_serials")
    assert foreign.serial in message and "标配" in message
    assert "battery_incompatible" not in html


def test_an_uncertified_bike_is_explained_in_words(chain):
    dealer = chain.world.dealer
    vehicle, battery = chain.in_stock(dealer, model=chain.old_model)
    client = _logged_in(dealer)
    html = client.post(
        "/dealer/sales/new/", _sale_body(_form(client, "/dealer/sales/new/"), vehicle, [battery])
    ).content.decode()
    message = _error(html, "frame_no")
    assert "GB 17761-2018" in message and "old_standard_past_cutoff" not in message  # as the live check says it


def test_a_sale_form_without_its_token_is_refused_and_shown_again(chain):
    vehicle, battery = chain.in_stock(chain.world.dealer)
    response = _logged_in(chain.world.dealer).post("/dealer/sales/new/", _sale_body("", vehicle, [battery]))
    html = response.content.decode()
    assert 'data-testid="form-errors"' in html and _token(html)
    assert not Sale.objects.exists()


def test_a_double_submitted_sale_form_creates_one_sale(chain):
    dealer = chain.world.dealer
    vehicle, battery = chain.in_stock(dealer)
    client = _logged_in(dealer)
    body = _sale_body(_form(client, "/dealer/sales/new/"), vehicle, [battery])

    first = client.post("/dealer/sales/new/", body)
    second = client.post("/dealer/sales/new/", body)

    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == f"/dealer/sales/{Sale.objects.get().pk}/"
    assert Sale.objects.count() == Registration.objects.count() == 1
    assert IdempotencyKey.objects.filter(key__startswith="form:").count() == 1


def test_a_new_form_is_a_new_sale(chain):
    dealer = chain.world.dealer
    client = _logged_in(dealer)
    pages = []
    for _ in range(2):
        vehicle, battery = chain.in_stock(dealer)
        body = _sale_body(_form(client, "/dealer/sales/new/"), vehicle, [battery])
        response = client.post("/dealer/sales/new/", body)
        assert response.status_code == 302
        pages.append(response["Location"])
    assert Sale.objects.count() == 2
    assert pages == [f"/dealer/sales/{pk}/" for pk in Sale.objects.order_by("pk").values_list("pk", flat=True)]


def test_another_dealer_cannot_open_the_success_screen(chain):
    vehicle, battery = chain.in_stock(chain.world.dealer)
    client = _logged_in(chain.world.dealer)
    url = client.post("/dealer/sales/new/", _sale_body(_form(client, "/dealer/sales/new/"), vehicle, [battery]))[
        "Location"
    ]
    assert _logged_in(chain.world.other_dealer).get(url).status_code == 404


# --- the 标配 check before submitting ---------------------------------------------------------------------------


def _check(user, frame_no="", serials=""):
    response = _logged_in(user).get("/dealer/sales/check/", {"frame_no": frame_no, "battery_serials": serials})
    assert response.status_code == 200
    return response.content.decode()


def test_the_check_passes_for_a_certified_pair_in_stock(chain):
    vehicle, battery = chain.in_stock(chain.world.dealer)
    html = _check(chain.world.dealer, vehicle.frame_no, battery.serial.lower())
    assert 'data-ready="true"' in html and 'data-paired="true"' in html
    assert "<html" not in html  # a fragment for htmx


def test_the_check_flags_a_battery_outside_the_certified_pairs(chain):
    dealer = chain.world.dealer
    vehicle, _ = chain.in_stock(dealer)
    foreign = chain.battery(model=chain.other_battery_model, holder=dealer.organization, status="in_stock")
    html = _check(dealer, vehicle.frame_no, foreign.serial)
    assert 'data-ready="false"' in html and 'data-paired="false"' in html


def test_the_check_reads_scanned_qr_labels_as_the_bike_and_battery_in_stock(chain):
    vehicle, battery = chain.in_stock(chain.world.dealer)
    html = _check(chain.world.dealer, f"https://jg.example.cn/v/{vehicle.code}", battery.code.lower())
    assert 'data-ready="true"' in html and 'data-paired="true"' in html


def test_the_check_does_not_tell_about_other_dealers_stock(chain):
    theirs, their_battery = chain.in_stock(chain.world.other_dealer, model=chain.old_model)
    html = _check(chain.world.dealer, theirs.frame_no, their_battery.serial)
    assert 'data-ready="false"' in html
    assert "DQ-OLD" not in html and "LD-4820" not in html  # neither model is revealed
    assert html.count('data-ok="false"') == 2
    unknown = _check(chain.world.dealer, "140222600009999", "NOPE-123456")
    assert re.sub(r"\d{15}|NOPE-123456|[A-Z0-9]{17}", "", unknown) == re.sub(
        r"\d{15}|NOPE-123456|[A-Z0-9]{17}", "", html
    )  # in another's stock or unknown: the same answer


def test_the_check_invites_scanning_when_empty(world):
    html = _check(world.dealer)
    assert 'data-ready="false"' in html and "pair-check idle" in html


# --- sales ledger ----------------------------------------------------------------------------------------------


def _sell(client, chain, sold_at):
    vehicle, battery = chain.in_stock(chain.world.dealer)
    body = _sale_body(_form(client, "/dealer/sales/new/"), vehicle, [battery], sold_at=sold_at)
    assert client.post("/dealer/sales/new/", body).status_code == 302
    return vehicle, battery


def test_ledger_lists_sales_with_masked_buyers_filtered_by_date(chain):
    client = _logged_in(chain.world.dealer)
    march, _ = _sell(client, chain, "2026-03-05T14:05")
    april, battery = _sell(client, chain, "2026-04-02T09:30")
    theirs, their_battery = chain.in_stock(chain.world.other_dealer)
    other = _logged_in(chain.world.other_dealer)
    other.post("/dealer/sales/new/", _sale_body(_form(other, "/dealer/sales/new/"), theirs, [their_battery]))
    assert Sale.objects.count() == 3

    html = client.get("/dealer/sales/").content.decode()
    assert 'data-testid="sales-count" data-count="2"' in html
    assert march.frame_no in html and april.frame_no in html and theirs.frame_no not in html
    assert "2026-04-02 09:30" in html and battery.serial in html
    assert "张**" in html and "138****1234" in html and "张三丰" not in html and "13805341234" not in html

    html = client.get("/dealer/sales/", {"date_from": "2026-04-01", "date_to": "2026-04-30"}).content.decode()
    assert 'data-count="1"' in html and april.frame_no in html and march.frame_no not in html


def test_ledger_date_errors_are_shown_next_to_the_field(world):
    html = _logged_in(world.dealer).get("/dealer/sales/", {"date_from": "2026-05-01", "date_to": "2026-04-01"})
    assert _error(html.content.decode(), "date_to")


def test_ledger_empty_states(world):
    html = _logged_in(world.dealer).get("/dealer/sales/").content.decode()
    assert 'data-testid="empty"' in html and 'href="/dealer/sales/new/"' in html


def test_ledger_exports_csv_and_xlsx_with_masked_buyers(chain):
    client = _logged_in(chain.world.dealer)
    vehicle, battery = _sell(client, chain, "2026-03-05T14:05")
    _sell(client, chain, "2026-05-05T10:00")
    vehicle.refresh_from_db()

    rows = _csv(client.get("/dealer/sales/", {"date_to": "2026-03-31", "export": "csv"}))
    assert len(rows) == 2
    assert rows[1] == [
        "2026-03-05 14:05",
        vehicle.frame_no,
        "DQ-1",
        battery.serial,
        "张**",
        "138****1234",
        vehicle.code,
    ]

    response = client.get("/dealer/sales/", {"date_to": "2026-03-31", "export": "xlsx"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert len(values) == 2
    assert values[1][0] == dt.datetime(2026, 3, 5, 14, 5)
    assert list(values[1][1:]) == [vehicle.frame_no, "DQ-1", battery.serial, "张**", "138****1234", vehicle.code]


def test_the_selling_dealer_opens_the_dossier_without_the_unmask_form(chain):
    client = _logged_in(chain.world.dealer)
    vehicle, _ = _sell(client, chain, "2026-03-05T14:05")
    response = client.get(f"/records/vehicles/{vehicle.frame_no}/")
    html = response.content.decode()
    assert response.status_code == 200 and 'class="phone"' in html
    assert "张**" in html and 'data-testid="unmask-form"' not in html
    assert client.post(f"/records/vehicles/{vehicle.frame_no}/", {"reason": "x"}).status_code == 403


def test_receive_check_shows_each_verdict_before_confirming_and_writes_nothing(chain):
    from django.test import Client

    from dealers.models import Receipt
    from tests.factories import PASSWORD

    vehicle, old = chain.vehicle(), chain.vehicle(model=chain.old_model)
    client = Client()
    client.login(username=chain.world.dealer.username, password=PASSWORD)
    response = client.post(
        "/dealer/receive/check/",
        {
            "supplier": chain.maker.organization_id,
            "codes": f"{vehicle.frame_no}\n{old.frame_no}",
            "form_token": "t" * 24,  # the page's form sends its token along with the check
        },
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert f'data-testid="check-{vehicle.frame_no}" data-verdict="accepted"' in html
    assert f'data-testid="check-{old.frame_no}" data-verdict="rejected"' in html
    assert not Receipt.objects.exists()
    vehicle.refresh_from_db()
    assert vehicle.status == "produced"


def test_receive_check_is_for_dealers_only(chain):
    from django.test import Client

    from tests.factories import PASSWORD

    vehicle = chain.vehicle()
    client = Client()
    client.login(username=chain.world.city_regulator.username, password=PASSWORD)
    body = {"supplier": chain.maker.organization_id, "codes": vehicle.frame_no}
    assert client.post("/dealer/receive/check/", body).status_code == 404
    assert Client().post("/dealer/receive/check/", body).status_code == 302
