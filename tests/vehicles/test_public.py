"""The public QR page, its JSON and its QR codes: what a consumer sees, with no personal data, for any input."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import re
import struct
import zlib
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone

from catalog.models import BatteryModel, Chemistry, Standard, VehicleModel
from catalog.standards import load_standards
from core.models import OrganizationKind, Region
from core.personal_data import encrypt, lookup_hash, mask_id_number, mask_name, mask_phone
from tests.conftest import api_client
from tests.factories import PASSWORD, OrganizationFactory, UserFactory
from vehicles import public, qr
from vehicles.codes import public_code_new
from vehicles.ledger import event_append
from vehicles.models import Battery, EventType, Fitment, Owner, PublicScan, Registration, Vehicle

# Distinctive personal data: none of it may appear on the public page or in its JSON, in full or masked.
OWNER_NAME = "司马懿然"
OWNER_ID_NUMBER = "371402198703156427"
OWNER_PHONE = "13912345678"
PLATE = "DZ-PRIV-"  # plates other than the public code are bound to the owner: never shown
PERSONAL = [
    OWNER_NAME,
    OWNER_ID_NUMBER,
    OWNER_PHONE,
    PLATE,
    mask_name(OWNER_NAME),
    mask_id_number(OWNER_ID_NUMBER),
    mask_phone(OWNER_PHONE),
]

_serials = itertools.count(1)


def _at(day: str) -> dt.datetime:
    return timezone.make_aware(dt.datetime.fromisoformat(f"{day}T10:30:00"))


@dataclass
class Catalog:
    maker: object
    battery_maker: object
    dealer: object
    repair_shop: object
    model: VehicleModel  # GB 17761-2024, CCC valid, battery_model is its 标配
    old_model: VehicleModel  # GB 17761-2018, certificate cancelled with the old standard
    battery_model: BatteryModel
    other_battery_model: BatteryModel  # certified, but not for `model`
    owner: Owner


@pytest.fixture
def cat(db) -> Catalog:
    load_standards(Standard)  # transactional tests elsewhere may have flushed the migration's rows
    region = Region.objects.get(code="371402")
    maker = OrganizationFactory(kind=OrganizationKind.MANUFACTURER, name="德骑电动车有限公司", enterprise_code="1402")
    battery_maker = OrganizationFactory(kind=OrganizationKind.BATTERY_MAKER, name="鲁电新能源电池有限公司")
    dealer = OrganizationFactory(kind=OrganizationKind.DEALER, name="新湖电动车专卖店")
    shop = OrganizationFactory(kind=OrganizationKind.REPAIR_SHOP, name="诚信电动车维修部")
    battery_values = {
        "chemistry": Chemistry.LITHIUM_ION,
        "nominal_voltage_v": Decimal("48"),
        "capacity_ah": Decimal("20"),
        "ccc_valid_until": dt.date(2099, 12, 31),
    }
    battery_model = BatteryModel.objects.create(
        code="LD-4820", name="鲁电 48V20Ah", maker=battery_maker, ccc_cert_no="2025011234567890", **battery_values
    )
    other = BatteryModel.objects.create(
        code="LD-6030", name="鲁电 60V30Ah", maker=battery_maker, ccc_cert_no="2025011234567891", **battery_values
    )
    vehicle_values = {
        "max_speed_kmh": Decimal("25"),
        "mass_kg": Decimal("54"),
        "nominal_voltage_v": Decimal("48"),
        "motor_power_w": 400,
        "maker": maker,
    }
    model = VehicleModel.objects.create(
        code="DQ-TDT1",
        name="德骑 轻风 TDT1",
        standard=Standard.objects.get(code="GB17761-2024"),
        ccc_cert_no="2024011119012345",
        ccc_valid_until=dt.date(2099, 12, 31),
        **vehicle_values,
    )
    model.compatible_battery_models.add(battery_model)
    old_model = VehicleModel.objects.create(
        code="DQ-OLD8",
        name="德骑 老款 OLD8",
        standard=Standard.objects.get(code="GB17761-2018"),
        ccc_cert_no="2019011119000001",
        ccc_valid_until=dt.date(2025, 11, 30),  # old-standard certificates were cancelled on 2025-12-01
        **vehicle_values,
    )
    old_model.compatible_battery_models.add(battery_model)
    owner = Owner.objects.create(
        name_enc=encrypt(OWNER_NAME),
        id_number_enc=encrypt(OWNER_ID_NUMBER),
        phone_enc=encrypt(OWNER_PHONE),
        id_number_hash=lookup_hash(OWNER_ID_NUMBER),
        phone_hash=lookup_hash(OWNER_PHONE),
        region=region,
    )
    return Catalog(maker, battery_maker, dealer, shop, model, old_model, battery_model, other, owner)


def make_bike(
    cat: Catalog,
    *,
    model: VehicleModel | None = None,
    registered: str | None = "2026-01-05",
    battery_models: list[BatteryModel] | None = None,
    status: str | None = None,
) -> Vehicle:
    """A bike produced, sold and registered to the owner on `registered` (None: still in the dealer's stock),
    with batteries of `battery_models` fitted at the sale, and the ledger events of each step."""
    model = model or cat.model
    battery_models = [cat.battery_model] if battery_models is None else battery_models
    serial = next(_serials)
    registered_at = _at(registered) if registered else None
    with transaction.atomic():
        vehicle = Vehicle.objects.create(
            frame_no=f"14022{26:02d}{serial:08d}",
            motor_no=f"M{serial:08d}",
            model=model,
            manufacturer=cat.maker,
            produced_on=dt.date(2025, 8, 1),
            code=public_code_new(),
            status=status or (Vehicle.Status.REGISTERED if registered else Vehicle.Status.IN_STOCK),
            holder=None if registered else cat.dealer,
            dealer=cat.dealer if registered else None,
            region=cat.dealer.region,
            registered_at=registered_at,
        )
        event_append(
            vehicle=vehicle,
            type=EventType.PRODUCED,
            occurred_at=_at("2025-08-01"),
            region_code="371402",
            organization_id=cat.maker.pk,
        )
        if not registered:
            return vehicle
        Registration.objects.create(
            vehicle=vehicle,
            owner=cat.owner,
            dealer=cat.dealer,
            region=cat.owner.region,
            plate_no=f"{PLATE}{serial:05d}",
            registered_at=registered_at,
        )
        event_append(
            vehicle=vehicle,
            type=EventType.REGISTERED,
            occurred_at=registered_at,
            region_code="371402",
            organization_id=cat.dealer.pk,
            payload={"owner": cat.owner.pk, "plate_no": f"{PLATE}{serial:05d}", "owner_name": OWNER_NAME},
        )
        for battery_model in battery_models:
            battery = Battery.objects.create(
                serial=f"LD48V20AH{serial:08d}{battery_model.pk}",
                model=battery_model,
                maker=cat.battery_maker,
                produced_on=dt.date(2025, 7, 1),
                code=public_code_new(),
                status=Battery.Status.FITTED,
                vehicle=vehicle,
                region=cat.dealer.region,
            )
            Fitment.objects.create(battery=battery, vehicle=vehicle, fitted_at=registered_at, fitted_by=cat.dealer)
            event_append(
                vehicle=vehicle,
                battery=battery,
                type=EventType.BATTERY_FITTED,
                occurred_at=registered_at,
                region_code="371402",
                organization_id=cat.dealer.pk,
            )
    return vehicle


def _repair(cat: Catalog, vehicle: Vehicle, day: str, kind: str) -> None:
    with transaction.atomic():
        vehicle = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
        event_append(
            vehicle=vehicle,
            type=EventType.REPAIRED,
            occurred_at=_at(day),
            region_code="371402",
            organization_id=cat.repair_shop.pk,
            payload={"kind": kind, "technician": "王师傅", "owner_phone": OWNER_PHONE},
        )


def _page(code: str, client: Client | None = None):
    return (client or Client()).get(f"/v/{code}")


def _json(code: str, client=None):
    return (client or api_client()).get(f"/api/v1/public/vehicles/{code}/")


def _assert_no_personal_data(text: str) -> None:
    for value in PERSONAL:
        assert value not in text, value
    assert "王师傅" not in text  # staff of the repair shop are not shown either


def _keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


# ── A compliant bike ─────────────────────────────────────────────────────────────────────────────────────────


def test_compliant_bike_page_shows_verdict_model_maker_certificate_battery_and_registration(cat):
    vehicle = make_bike(cat)
    response = _page(vehicle.code)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<body class="phone">' in html
    assert 'data-testid="verdict" data-verdict="compliant"' in html
    assert 'data-testid="reasons"' not in html
    for shown in ["德骑 轻风 TDT1", "DQ-TDT1", "德骑电动车有限公司", "GB17761-2024", "2024011119012345", "2099-12-31"]:
        assert shown in html, shown
    assert 'data-testid="ccc-badge" data-valid="true"' in html
    assert 'data-model="LD-4820" data-compatible="true"' in html and "鲁电 48V20Ah" in html
    assert re.search(r'data-testid="registered-on">\s*2026-01-05\s*<', html)
    assert 'data-status="registered"' in html
    assert 'data-testid="repairs-empty"' in html  # no repairs yet: an empty state, not a blank
    assert all(f'data-type="{t}"' in html for t in ["produced", "registered", "battery_fitted"])
    assert 'data-testid="complaint-form"' in html.split('data-testid="complaint-slot"')[1]
    assert not [b for b in ("banner-scrapped", "banner-recycled", "banner-cancelled") if b in html]
    _assert_no_personal_data(html)


def test_public_json_carries_the_same_data(cat):
    vehicle = make_bike(cat)
    response = _json(vehicle.code)
    assert response.status_code == 200
    body = response.json()
    assert body == {
        "code": vehicle.code,
        "kind": "vehicle",
        "model": {"code": "DQ-TDT1", "name": "德骑 轻风 TDT1", "standard": "GB17761-2024"},
        "maker": {"name": "德骑电动车有限公司"},
        "ccc": {"cert_no": "2024011119012345", "valid_until": "2099-12-31", "valid": True},
        "compliance": {"verdict": "compliant", "reasons": []},
        "status": "registered",
        "recall": None,
        "stolen": False,
        "registered_on": "2026-01-05",
        "batteries": [{"model": "LD-4820", "name": "鲁电 48V20Ah", "ccc_valid": True, "compatible": True}],
        "repairs": [],
        "events": [
            {"date": "2025-08-01", "type": "produced"},
            {"date": "2026-01-05", "type": "registered"},
            {"date": "2026-01-05", "type": "battery_fitted"},
        ],
        "vehicle": None,
        "public_url": f"http://testserver/v/{vehicle.code}",
        "qr_url": f"http://testserver/v/{vehicle.code}/qr.svg",
        "qr_png_url": f"http://testserver/v/{vehicle.code}/qr.png",
    }
    assert "public" in response["Cache-Control"] and "max-age=60" in response["Cache-Control"]


def test_a_typed_code_in_lower_case_or_with_a_trailing_slash_still_opens_the_page(cat):
    vehicle = make_bike(cat)
    assert _page(vehicle.code.lower()).status_code == 200
    assert _page(f"{vehicle.code}/").status_code == 200
    assert not PublicScan.objects.exists()


def test_the_json_is_cached_so_a_repeat_lookup_queries_nothing(cat, django_assert_max_num_queries):
    vehicle = make_bike(cat)
    with django_assert_max_num_queries(3):  # vehicle with 标配 ids, its batteries, its events
        assert _json(vehicle.code).status_code == 200
    with django_assert_max_num_queries(0):
        assert _json(vehicle.code).json()["code"] == vehicle.code
        assert _page(vehicle.code).status_code == 200


# ── Issues found ─────────────────────────────────────────────────────────────────────────────────────────────


def test_bike_with_a_battery_not_certified_for_its_model_has_issues(cat):
    vehicle = make_bike(cat, battery_models=[cat.other_battery_model])
    body = _json(vehicle.code).json()
    assert body["compliance"] == {"verdict": "issues", "reasons": ["battery_incompatible"]}
    assert body["batteries"] == [{"model": "LD-6030", "name": "鲁电 60V30Ah", "ccc_valid": True, "compatible": False}]
    html = _page(vehicle.code).content.decode()
    assert 'data-verdict="issues"' in html and 'data-reason="battery_incompatible"' in html
    assert 'data-model="LD-6030" data-compatible="false"' in html


def test_battery_with_an_expired_certificate_has_issues(cat):
    BatteryModel.objects.filter(pk=cat.battery_model.pk).update(ccc_valid_until=dt.date(2025, 12, 31))
    vehicle = make_bike(cat, registered="2026-02-01")
    assert _json(vehicle.code).json()["compliance"] == {
        "verdict": "issues",
        "reasons": ["battery_certificate_expired"],
    }


def test_old_standard_bike_registered_before_the_cutoff_stays_compliant(cat):
    vehicle = make_bike(cat, model=cat.old_model, registered="2025-10-01")
    body = _json(vehicle.code).json()
    assert body["compliance"] == {"verdict": "compliant", "reasons": []}
    assert body["ccc"] == {"cert_no": "2019011119000001", "valid_until": "2025-11-30", "valid": False}
    html = _page(vehicle.code).content.decode()
    assert 'data-verdict="compliant"' in html and 'data-valid="false"' in html
    assert 'data-testid="ccc-note"' in html  # says why an expired certificate still gives "compliant"


def test_old_standard_bike_sold_after_the_cutoff_has_issues(cat):
    assert Standard.objects.get(code="GB17761-2018").sale_cutoff == dt.date(2025, 12, 1)
    VehicleModel.objects.filter(pk=cat.old_model.pk).update(ccc_valid_until=dt.date(2099, 12, 31))
    sold_late = make_bike(cat, model=cat.old_model, registered="2026-01-10")
    assert _json(sold_late.code).json()["compliance"] == {
        "verdict": "issues",
        "reasons": ["old_standard_past_cutoff"],
    }
    in_stock = make_bike(cat, model=cat.old_model, registered=None)
    body = _json(in_stock.code).json()
    assert body["compliance"]["reasons"] == ["old_standard_past_cutoff"] and body["registered_on"] is None
    assert 'data-reason="old_standard_past_cutoff"' in _page(in_stock.code).content.decode()


def test_uncertified_model_has_issues(cat):
    VehicleModel.objects.filter(pk=cat.model.pk).update(ccc_cert_no="", ccc_valid_until=None)
    vehicle = make_bike(cat)
    body = _json(vehicle.code).json()
    assert body["compliance"] == {"verdict": "issues", "reasons": ["uncertified"]}
    assert body["ccc"] == {"cert_no": "", "valid_until": None, "valid": False}


@pytest.mark.parametrize(
    ("status", "banner", "reason"),
    [
        (Vehicle.Status.SCRAPPED, "banner-scrapped", "scrapped"),
        (Vehicle.Status.RECYCLED, "banner-recycled", "recycled"),
        (Vehicle.Status.CANCELLED, "banner-cancelled", "registration_cancelled"),
    ],
)
def test_scrapped_recycled_and_cancelled_bikes_carry_a_banner_and_issues(cat, status, banner, reason):
    vehicle = make_bike(cat, status=status)
    html = _page(vehicle.code).content.decode()
    assert f'data-testid="{banner}"' in html and 'data-verdict="issues"' in html
    assert f'data-reason="{reason}"' in html and f'data-status="{status}"' in html
    assert _json(vehicle.code).json()["compliance"]["reasons"] == [reason]


# ── Repairs, batteries ───────────────────────────────────────────────────────────────────────────────────────


def test_repair_history_shows_date_kind_and_shop_but_no_staff(cat):
    vehicle = make_bike(cat)
    _repair(cat, vehicle, "2026-03-02", "brake_tyre")
    _repair(cat, vehicle, "2026-05-20", "battery_replacement")
    body = _json(vehicle.code).json()
    assert body["repairs"] == [
        {"date": "2026-03-02", "kind": "brake_tyre", "shop": "诚信电动车维修部"},
        {"date": "2026-05-20", "kind": "battery_replacement", "shop": "诚信电动车维修部"},
    ]
    assert [e["type"] for e in body["events"]][-2:] == ["repaired", "repaired"]
    html = _page(vehicle.code).content.decode()
    assert 'data-testid="repairs-empty"' not in html
    assert html.count('data-testid="repair"') == 2 and "诚信电动车维修部" in html
    _assert_no_personal_data(html)
    _assert_no_personal_data(json.dumps(body, ensure_ascii=False))


def test_a_repair_recorded_without_a_kind_shows_as_other(cat):
    vehicle = make_bike(cat)
    with transaction.atomic():
        event_append(
            vehicle=Vehicle.objects.select_for_update().get(pk=vehicle.pk),
            type=EventType.REPAIRED,
            occurred_at=_at("2026-04-01"),
            region_code="371402",
        )
    assert _json(vehicle.code).json()["repairs"] == [{"date": "2026-04-01", "kind": "other", "shop": ""}]
    assert 'data-kind="other"' in _page(vehicle.code).content.decode()


def test_a_battery_code_opens_the_battery_with_a_link_to_its_bike(cat):
    vehicle = make_bike(cat)
    battery = vehicle.batteries.get()
    body = _json(battery.code).json()
    assert body["kind"] == "battery" and body["code"] == battery.code
    assert body["model"] == {"code": "LD-4820", "name": "鲁电 48V20Ah", "standard": None}
    assert body["maker"] == {"name": "鲁电新能源电池有限公司"}
    assert body["ccc"]["cert_no"] == "2025011234567890" and body["ccc"]["valid"] is True
    assert body["status"] == "fitted" and body["compliance"]["verdict"] == "compliant"
    assert body["vehicle"] == {"code": vehicle.code, "public_url": f"http://testserver/v/{vehicle.code}"}
    html = _page(battery.code).content.decode()
    assert 'data-kind="battery"' in html and f'href="/v/{vehicle.code}"' in html
    assert 'data-status="fitted"' in html and "鲁电新能源电池有限公司" in html
    _assert_no_personal_data(html)


def test_a_battery_in_a_bike_it_is_not_certified_for_has_issues(cat):
    battery = make_bike(cat, battery_models=[cat.other_battery_model]).batteries.get()
    assert _json(battery.code).json()["compliance"]["reasons"] == ["battery_incompatible"]


def test_a_loose_battery_in_stock_has_no_bike_link(cat):
    battery = Battery.objects.create(
        serial="LD48V20AHLOOSE0001",
        model=cat.battery_model,
        maker=cat.battery_maker,
        produced_on=dt.date(2026, 1, 1),
        code=public_code_new(),
        status=Battery.Status.IN_STOCK,
        holder=cat.dealer,
        region=cat.dealer.region,
    )
    body = _json(battery.code).json()
    assert body["vehicle"] is None and body["events"] == [] and body["compliance"]["verdict"] == "compliant"
    assert 'data-testid="events-empty"' in _page(battery.code).content.decode()


# ── No personal data, for anyone ─────────────────────────────────────────────────────────────────────────────


def test_no_personal_data_anywhere_in_page_or_json(cat):
    vehicle = make_bike(cat)
    html = _page(vehicle.code).content.decode()
    raw = _json(vehicle.code).content.decode()
    _assert_no_personal_data(html)
    _assert_no_personal_data(raw)
    assert {"owner", "plate_no", "id_number", "phone", "name_enc"}.isdisjoint(_keys(json.loads(raw)))


@pytest.mark.parametrize("kind", [OrganizationKind.REGULATOR, OrganizationKind.POLICE, OrganizationKind.DEALER])
def test_logged_in_users_get_the_same_public_page_and_json(cat, kind):
    vehicle = make_bike(cat)
    user = UserFactory(organization=OrganizationFactory(kind=kind))
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    response = _page(vehicle.code, client)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-verdict="compliant"' in html and f'data-testid="who">{user.organization.name}' in html
    _assert_no_personal_data(html)
    anonymous = _json(vehicle.code).json()
    assert _json(vehicle.code, api_client(user)).json() == anonymous
    assert _json(vehicle.code, client).json() == anonymous  # a session changes nothing either


def test_a_bad_bearer_token_does_not_block_the_public_json(cat):
    vehicle = make_bike(cat)
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    assert _json(vehicle.code, client).status_code == 200


# ── Unknown and malformed codes ──────────────────────────────────────────────────────────────────────────────


def test_unknown_code_gets_the_counterfeit_warning_and_the_scan_is_logged(db):
    code = public_code_new()  # well formed, check character right, but never issued
    response = Client().get(f"/v/{code}", HTTP_USER_AGENT="Mozilla/5.0 (iPhone) WeChat", REMOTE_ADDR="203.0.113.7")
    assert response.status_code == 404
    html = response.content.decode()
    assert 'data-testid="unknown-code"' in html and 'data-testid="advice"' in html and code in html
    assert '<body class="phone">' in html
    scan = PublicScan.objects.get()
    assert (scan.code, scan.reason, scan.source) == (code, "unknown", "page")
    assert (scan.user_agent, scan.ip_address) == ("Mozilla/5.0 (iPhone) WeChat", "203.0.113.7")
    assert scan.scanned_at is not None


def test_the_warning_page_reads_in_english_after_switching(db):
    client = Client()
    client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    html = client.get(f"/v/{public_code_new()}").content.decode()
    assert "This code is not registered" in html and "counterfeit" in html


def test_repeated_scans_of_one_code_by_one_client_are_logged_once(db):
    code = public_code_new()
    for _ in range(5):
        assert Client().get(f"/v/{code}", REMOTE_ADDR="203.0.113.7").status_code == 404
    assert Client().get(f"/v/{code}", REMOTE_ADDR="198.51.100.2").status_code == 404
    assert PublicScan.objects.filter(code=code).count() == 2


def test_one_client_trying_many_codes_cannot_flood_the_log(db):
    for n in range(public.SCAN_MAX_PER_CLIENT + 15):
        assert Client().get(f"/v/FAKE{n}", REMOTE_ADDR="203.0.113.9").status_code == 404
    assert PublicScan.objects.count() == public.SCAN_MAX_PER_CLIENT
    assert set(PublicScan.objects.values_list("reason", flat=True)) == {"malformed"}


def test_unknown_code_in_the_json_api_is_a_404_envelope_and_logged(db):
    code = public_code_new()
    response = _json(code)
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found" and error["message"]
    assert PublicScan.objects.get().source == "api"


def test_qr_codes_of_unknown_codes_are_404(db):
    code = public_code_new()
    for suffix in ("qr.svg", "qr.png"):
        assert Client().get(f"/v/{code}/{suffix}").status_code == 404
    assert not PublicScan.objects.exists()  # fetching an image is not a scan


ODD = [
    "<script>alert(1)</script>",
    "A" * 5000,
    "%00",
    "ABC%00DEF",
    "%FF%FE",
    "汉字编码",
    "..%2F..%2Fetc%2Fpasswd",
    "' OR 1=1 --",
    "%20",
    "a/b/c",
    "0000000000000",
    "ILOU00000000A",
]


@pytest.mark.parametrize("code", ODD)
def test_malformed_codes_never_fail(db, code):
    client = Client(HTTP_USER_AGENT="x" * 2000 + "\udcff")
    for path in (f"/v/{code}", f"/v/{code}/qr.svg", f"/v/{code}/qr.png", f"/api/v1/public/vehicles/{code}/"):
        response = client.get(path)
        assert response.status_code in (400, 404), (path, response.status_code)
        assert b"<script>alert(1)" not in response.content
    for scan in PublicScan.objects.all():
        assert len(scan.code) <= 64 and len(scan.user_agent) <= 300 and "\x00" not in scan.code


def test_nul_bytes_are_refused_before_the_page(db):
    assert Client().get("/v/ABC%00DEF").status_code == 400
    response = Client().get("/api/v1/public/vehicles/%00/")
    assert response.status_code == 400 and response.json()["error"]["code"] == "malformed_request"


# ── QR codes ─────────────────────────────────────────────────────────────────────────────────────────────────


def _png_pixels(data: bytes) -> tuple[int, int, list[list[int]]]:
    """Decode a 1-bit greyscale PNG (checking every chunk's CRC): width, height and rows of 0 (black) / 1."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + length
    width, height, depth, colour, _c, _f, interlace = struct.unpack(">IIBBBBB", chunks[b"IHDR"])
    assert (depth, colour, interlace) == (1, 0, 0) and b"IEND" in chunks
    raw = zlib.decompress(chunks[b"IDAT"])
    stride = 1 + (width + 7) // 8
    assert len(raw) == stride * height
    rows = []
    for y in range(height):
        line = raw[y * stride : (y + 1) * stride]
        assert line[0] == 0  # no filter
        bits = "".join(f"{byte:08b}" for byte in line[1:])[:width]
        rows.append([int(b) for b in bits])
    return width, height, rows


def test_qr_png_decodes_to_the_modules_of_the_page_url(cat):
    vehicle = make_bike(cat)
    response = Client().get(f"/v/{vehicle.code}/qr.png")
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert "public" in response["Cache-Control"] and "max-age=86400" in response["Cache-Control"]
    width, height, rows = _png_pixels(response.content)
    matrix = qr._qr(f"http://testserver/v/{vehicle.code}").get_matrix()
    assert width == height == len(matrix) * 10 >= 200
    # One pixel per module (its centre) gives back the QR code of the absolute URL of the page.
    assert [[1 - rows[y * 10 + 5][x * 10 + 5] for x in range(len(matrix))] for y in range(len(matrix))] == [
        [int(dark) for dark in row] for row in matrix
    ]


def test_qr_svg_is_an_svg_of_the_page_url(cat, settings):
    settings.ALLOWED_HOSTS = ["ebike.example.gov.cn"]
    vehicle = make_bike(cat)
    response = Client().get(f"/v/{vehicle.code}/qr.svg", HTTP_HOST="ebike.example.gov.cn")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert "public" in response["Cache-Control"] and "max-age=86400" in response["Cache-Control"]
    svg = response.content.decode()
    assert svg.startswith("<svg") and "<path" in svg and svg.rstrip().endswith("</svg>")
    size = len(qr._qr(f"http://ebike.example.gov.cn/v/{vehicle.code}").get_matrix())
    assert f'viewBox="0 0 {size} {size}"' in svg


def test_a_battery_code_has_qr_codes_too(cat):
    battery = make_bike(cat).batteries.get()
    assert Client().get(f"/v/{battery.code}/qr.png").status_code == 200


# ── The real sale flow, end to end ───────────────────────────────────────────────────────────────────────────


def test_a_bike_sold_at_the_counter_is_compliant_on_its_public_page(chain):
    from tests.chain import BUYER

    dealer = chain.world.dealer
    vehicle, battery = chain.in_stock(dealer)
    body = {"frame_no": vehicle.frame_no, "battery_serials": [battery.serial], "buyer": BUYER}
    sale = api_client(dealer).post("/api/v1/sales/", body, format="json")
    assert sale.status_code == 201, sale.content
    public_record = _json(vehicle.code).json()
    assert public_record["compliance"] == {"verdict": "compliant", "reasons": []}
    assert public_record["status"] == "registered" and public_record["registered_on"]
    assert public_record["batteries"][0]["model"] == chain.battery_model.code
    html = _page(vehicle.code).content.decode()
    for value in (BUYER["name"], BUYER["id_number"], BUYER["phone"], mask_phone(BUYER["phone"])):
        assert value not in html and value not in json.dumps(public_record, ensure_ascii=False)


def test_schema_describes_the_public_lookup(db):
    paths = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert "get" in paths["/api/v1/public/vehicles/{code}/"]
