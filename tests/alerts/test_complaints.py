"""Consumer complaints (API.md "Public"): filing raises a routed COMPLAINT alert, the ticket shows its status in
plain terms, the phone stays encrypted and out of the ledger and the alert, limits hold, and no input fails."""

from __future__ import annotations

import datetime as dt
import json
import re
import struct
import zlib

import pytest
from django.test import Client
from django.utils import timezone

from alerts.complaints import (
    _exif_orientation,
    complaint_status,
    photo_clean,
    ticket_new,
    ticket_normalise,
    ticket_valid,
)
from alerts.models import Alert, AlertDelivery, Complaint, ComplaintPhoto, DepartmentSubscription
from alerts.services import alert_transition
from core.models import IdempotencyKey, OrganizationKind
from core.personal_data import decrypt, lookup_hash
from tests.alerts.conftest import drain, fit
from tests.conftest import _member, api_client
from vehicles.codes import public_code_new
from vehicles.ledger import chain_verify
from vehicles.models import EventType, LifecycleEvent, OutboxMessage

URL = "/api/v1/public/complaints/"
PHONE = "13912340987"
TEXT = "充电时电池发烫冒烟，车行说是正常现象。"
BODY = {"category": "battery_fire_risk", "description": TEXT}
TICKET = re.compile(r"^TS[0-9A-HJKMNP-TV-Z]{10}$")


def _file(body: dict | None = None, *, client=None, **extra):
    return (client or api_client()).post(URL, {**BODY, **(body or {})}, format="json", **extra)


def _filed(body: dict | None = None, **extra) -> Complaint:
    response = _file(body, **extra)
    assert response.status_code == 201, response.content
    assert set(response.json()) == {"ticket"}
    return Complaint.objects.get(ticket=response.json()["ticket"])


def _status(ticket: str, client=None):
    return (client or api_client()).get(f"{URL}{ticket}/")


def _visible(user) -> list[int]:
    return [a["id"] for a in api_client(user).get("/api/v1/alerts/").json()["results"]]


def _alert_of(complaint: Complaint) -> Alert:
    return Alert.objects.get(dedup_key=complaint.alert_dedup_key)


# ── Filing, and where the alert goes ────────────────────────────────────────────────────────────────────────


def test_a_complaint_about_a_bike_is_a_ledger_event_and_its_alert_goes_to_the_bikes_district(chain, sold):
    complaint = _filed({"vehicle_code": sold.code, "contact_phone": PHONE})
    assert TICKET.match(complaint.ticket)
    assert (complaint.subject, complaint.vehicle, complaint.region_id) == ("vehicle", sold, "371402")

    event = LifecycleEvent.objects.get(vehicle=sold, type=EventType.COMPLAINT)
    assert event.payload == {"complaint": complaint.pk, "category": "battery_fire_risk"}
    assert (event.organization_id, event.region_code) == (None, "371402")
    assert OutboxMessage.objects.filter(event_id=event.pk, published_at__isnull=True).exists()
    sold.refresh_from_db()
    assert chain_verify(sold).valid

    assert not Alert.objects.filter(rule="COMPLAINT").exists()  # the rule engine raises it from the ledger
    drain()
    alert = _alert_of(complaint)
    assert (alert.rule, alert.category, alert.severity, alert.status) == (
        "COMPLAINT",
        "complaint",
        "medium",
        "dispatched",
    )
    assert alert.dedup_key == f"COMPLAINT:complaint:{complaint.pk}"
    # the enterprise concerned is the dealer that sold the bike: it answers to the buyer
    assert (alert.frame_no, alert.vehicle_id, alert.organization_id) == (
        sold.frame_no,
        sold.pk,
        chain.world.dealer.organization_id,
    )
    assert alert.evidence == {"complaint": complaint.pk, "category": "battery_fire_risk"}
    assert alert.regulator == chain.world.district_regulator.organization
    assert set(AlertDelivery.objects.filter(alert=alert).values_list("organization__name", flat=True)) == {
        "德城区市场监督管理局"
    }
    assert _visible(chain.world.district_regulator) == [alert.pk]
    assert _visible(chain.world.city_regulator) == [alert.pk]
    assert _visible(chain.world.dealer) == [alert.pk]  # the seller, to rectify; not the complaint's text or phone
    seen_by_dealer = api_client(chain.world.dealer).get(f"/api/v1/alerts/{alert.pk}/").content.decode()
    assert PHONE not in seen_by_dealer and TEXT not in seen_by_dealer  # the regulator relays what is needed
    for outsider in (
        chain.world.other_district_regulator,
        chain.world.other_city_regulator,
        chain.world.other_dealer,
        chain.world.police,
    ):
        assert _visible(outsider) == [], outsider


def test_a_region_picked_for_a_bike_does_not_move_the_complaint_away_from_the_bikes_district(chain, sold):
    complaint = _filed({"vehicle_code": sold.code, "region_code": "330206"})
    drain()
    assert complaint.region_id == "371402"
    assert _alert_of(complaint).regulator == chain.world.district_regulator.organization


def test_without_a_bike_the_complaint_goes_to_the_regulator_of_the_region_picked(world):
    complaint = _filed({"region_code": "371403", "category": "dealer_conduct"})
    assert (complaint.subject, complaint.code, complaint.region_id) == ("none", "", "371403")
    alert = _alert_of(complaint)  # raised at once, in the complaint's transaction: nothing to drain
    assert alert.status == "dispatched" and alert.regulator == world.other_district_regulator.organization
    assert alert.evidence == {"complaint": complaint.pk, "category": "dealer_conduct", "subject": "none"}
    assert alert.region_code == "371403" and alert.event_id is None
    assert _visible(world.other_district_regulator) == [alert.pk]
    assert _visible(world.city_regulator) == [alert.pk]
    assert _visible(world.district_regulator) == []
    assert _visible(world.other_city_regulator) == []


def test_a_city_may_be_picked_and_its_regulator_gets_the_complaint(world):
    alert = _alert_of(_filed({"region_code": "371400"}))
    assert alert.regulator == world.city_regulator.organization
    assert _visible(world.district_regulator) == []


@pytest.mark.parametrize("code", ["well-formed", "FAKE-LABEL-0001", "  https://example.com/v/abc123  "])
def test_an_unregistered_code_is_accepted_with_a_region_and_noted_as_possibly_counterfeit(world, code):
    code = public_code_new() if code == "well-formed" else code
    complaint = _filed({"vehicle_code": code, "region_code": "371402", "category": "uncertified_product"})
    assert complaint.subject == "unregistered" and complaint.code and complaint.vehicle is None
    alert = _alert_of(complaint)
    assert alert.evidence["subject"] == "unregistered" and alert.evidence["code"] == complaint.code
    assert alert.regulator == world.district_regulator.organization


def test_an_unregistered_code_without_a_region_asks_for_the_region(world):
    response = _file({"vehicle_code": public_code_new()})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "region_required" and "region_code" in error["fields"]
    assert not Complaint.objects.exists() and not Alert.objects.exists()


def test_a_complaint_about_a_fitted_battery_names_the_battery_and_its_bike(chain, sold, shop):
    battery = chain.battery(model=chain.battery_model)
    fit(sold, battery, shop)
    drain()
    complaint = _filed({"vehicle_code": battery.code.lower()})
    assert (complaint.subject, complaint.battery, complaint.region_id) == ("battery", battery, "371402")
    alert = _alert_of(complaint)
    assert (alert.battery_serial, alert.frame_no) == (battery.serial, sold.frame_no)
    assert alert.regulator == chain.world.district_regulator.organization
    assert alert.organization_id == chain.world.dealer.organization_id  # the seller of the bike it is in


def test_a_loose_battery_goes_to_the_region_picked_or_else_its_own(chain):
    battery = chain.battery()  # at its maker in 371482 (禹城市), which has no regulator of its own
    alert = _alert_of(_filed({"vehicle_code": battery.code}))
    assert alert.region_code == "371482" and alert.regulator == chain.world.city_regulator.organization
    alert = _alert_of(_filed({"vehicle_code": battery.code, "region_code": "371403"}))
    assert alert.regulator == chain.world.other_district_regulator.organization


# ── Personal data ────────────────────────────────────────────────────────────────────────────────────────────


def test_the_phone_is_encrypted_at_rest_masked_and_nowhere_in_the_ledger_the_alert_or_the_answers(chain, sold):
    response = _file({"vehicle_code": sold.code, "contact_phone": "+86 139-1234-0987"})
    complaint = Complaint.objects.get()
    assert PHONE not in complaint.contact_phone_enc and complaint.contact_phone_enc
    assert decrypt(complaint.contact_phone_enc) == PHONE
    assert complaint.contact_phone_hash == lookup_hash(PHONE)
    assert complaint.contact_phone_masked == "139****0987"
    drain()
    status = _status(complaint.ticket)
    alert = _alert_of(complaint)
    stored = [
        json.dumps(list(LifecycleEvent.objects.values_list("payload", flat=True)), ensure_ascii=False),
        json.dumps(alert.evidence, ensure_ascii=False),
        response.content.decode(),
        status.content.decode(),
        Client().get(f"/v/{sold.code}").content.decode(),
        Client().get(f"/complaints/{complaint.ticket}").content.decode(),
    ]
    for text in stored:
        for secret in (PHONE, "139****0987", "1234-0987", TEXT):
            assert secret not in text
    # The regulator reads what the consumer wrote, with the phone masked (shown in full only on the page, audited).
    answer = api_client(chain.world.district_regulator).get(f"/api/v1/alerts/{alert.pk}/").content.decode()
    assert TEXT in answer and "139****0987" in answer and PHONE not in answer and "1234-0987" not in answer


def test_without_a_phone_nothing_is_stored_for_it(world):
    complaint = _filed({"region_code": "371402", "contact_phone": ""})
    assert (complaint.contact_phone_enc, complaint.contact_phone_hash) == ("", "")


# ── Validation ───────────────────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"category": None}, "invalid_category", "category"),
        ({"category": "arson"}, "invalid_category", "category"),
        ({"description": "坏了"}, "invalid_description", "description"),
        ({"description": "     bad      "}, "invalid_description", "description"),
        ({"description": "x" * 1001}, "invalid_description", "description"),
        ({"description": None}, "invalid_description", "description"),
        ({"contact_phone": "12345"}, "invalid_phone", "contact_phone"),
        ({"contact_phone": "010-12345678"}, "invalid_phone", "contact_phone"),
        ({"region_code": "999999"}, "unknown_region", "region_code"),
        ({"region_code": "370000"}, "invalid_region", "region_code"),  # a province: too broad
        ({"region_code": "37'; --"}, "unknown_region", "region_code"),
        ({"vehicle_code": "W" * 65}, "invalid_code", "vehicle_code"),
        ({"region_code": ""}, "region_required", "region_code"),
    ],
)
def test_invalid_input_is_a_400_with_a_stable_code_next_to_the_field(world, body, code, field):
    body = {"region_code": "371402", **body}
    response = _file(body)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == code and field in error["fields"] and error["message"]
    assert not Complaint.objects.exists()


def test_every_problem_is_reported_at_once(world):
    response = _file({"category": "x", "description": "x", "contact_phone": "1", "region_code": "1"})
    error = response.json()["error"]
    assert response.status_code == 400 and error["code"] == "invalid"
    assert set(error["fields"]) == {"category", "description", "contact_phone", "region_code"}


@pytest.mark.parametrize(
    "body",
    [
        [],
        [1, 2],
        "complaint",
        123,
        None,
        {"category": ["battery_fire_risk"], "description": TEXT, "region_code": "371402"},
        {"category": "battery_fire_risk", "description": {"text": TEXT}, "region_code": "371402"},
        {"category": True, "description": TEXT, "region_code": "371402"},
        {"category": "other", "description": 12345678, "region_code": 371402},
        {"category": "other", "description": "\ud800\ud800\ud800 lone surrogates", "region_code": "371402"},
        {"category": "other", "description": TEXT, "region_code": "371402", "vehicle_code": "\ud83d"},
        {"category": "other", "description": TEXT, "region_code": "３７１４０２"},
        {"category": "other", "description": TEXT, "region_code": "371402" * 1000},
        {"category": "other", "description": "🔥" * 1000, "region_code": "371402"},
        {"category": "other", "description": TEXT, "vehicle_code": "/v/", "region_code": "371402"},
        {"category": "other", "description": "\x01\x02\x03\x04\x05\x06", "region_code": "371402"},
    ],
)
def test_junk_is_never_a_500(world, body):
    response = Client().post(URL, json.dumps(body), content_type="application/json")  # \ud800 escapes as sent
    assert response.status_code in (201, 400), response.content
    if response.status_code == 400:
        assert response.json()["error"]["code"]


def test_text_that_is_not_text_is_400_even_with_an_idempotency_key(world):
    body = json.dumps({"category": "other", "description": "\ud800 abcdef", "region_code": "371402"})
    response = Client().post(URL, body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_text"


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"\xff\xfe\xfa", "application/json"),
        (b"category=other", "application/x-www-form-urlencoded"),
        (b"<xml/>", "text/xml"),
        (b'{"category": "other", "description": "\\u0000 nul"}', "application/json"),
    ],
)
def test_malformed_bodies_are_refused_in_the_envelope(world, content, content_type):
    response = Client().post(URL, content, content_type=content_type)
    assert 400 <= response.status_code < 500
    assert response.json()["error"]["code"]


@pytest.mark.parametrize("ticket", ["x", "TS", "ts" + "0" * 50, "TS%00", "../../etc", "TSIIIIIIIIII", "' or 1=1"])
def test_junk_tickets_are_404_in_the_envelope(db, ticket):
    response = _status(ticket)
    if ticket == "TS%00":  # NUL bytes are refused at the door (docs/decisions/003)
        assert response.status_code == 400 and response.json()["error"]["code"]
        return
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


# ── Rate limit ───────────────────────────────────────────────────────────────────────────────────────────────


def test_a_sixth_complaint_within_ten_minutes_is_429_with_retry_after_and_other_clients_are_not_held(world):
    body = {"region_code": "371402"}
    assert _file({**body, "category": "x"}).status_code == 400  # a mistake does not use up the allowance
    for _ in range(5):
        assert _file(body).status_code == 201
    response = _file(body)
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "rate_limited" and "10" in error["message"]
    assert 0 < int(response["Retry-After"]) <= 600
    assert Complaint.objects.count() == 5
    assert _file(body, REMOTE_ADDR="203.0.113.9").status_code == 201


def test_twenty_complaints_a_day_per_client(world, settings):
    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "complaints": "100/10m"}
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": rates}
    for _ in range(20):
        assert _file({"region_code": "371402"}).status_code == 201
    response = _file({"region_code": "371402"})
    assert response.status_code == 429 and int(response["Retry-After"]) > 600


def test_a_flood_of_requests_is_held_by_the_public_rate(world):
    codes = [_status(ticket_new()).status_code for _ in range(31)]
    assert codes[:30] == [404] * 30 and codes[30] == 429


# ── Ticket and status ────────────────────────────────────────────────────────────────────────────────────────


def test_tickets_are_unguessable_and_typable():
    tickets = {ticket_new() for _ in range(2000)}
    assert len(tickets) == 2000 and all(TICKET.match(t) for t in tickets)
    ticket = ticket_new()
    assert ticket_normalise(f" {ticket.lower()[:6]}-{ticket.lower()[6:]} ") == ticket
    assert ticket_normalise("tsoo1ilooo11") == "TS0011100011" and ticket_valid("TS0011100011")
    assert not ticket_valid("TS00111000U1")


def test_the_status_follows_the_alert_in_plain_terms(chain, sold):
    complaint = _filed({"vehicle_code": sold.code})
    body = _status(complaint.ticket).json()
    assert set(body) == {"ticket", "status", "updated_at"}
    assert (body["ticket"], body["status"]) == (complaint.ticket, "received")
    filed_at = dt.datetime.fromisoformat(body["updated_at"])
    assert filed_at == complaint.created_at

    drain()  # dispatched to the district: still "received" for the complainant
    assert _status(complaint.ticket).json() == body

    regulator = chain.world.district_regulator
    alert = _alert_of(complaint)
    alert_transition(user=regulator, alert_id=alert.pk, action="request_rectification", note="已约谈车行")
    body = _status(complaint.ticket.lower()).json()
    assert body["status"] == "in_progress" and dt.datetime.fromisoformat(body["updated_at"]) > filed_at
    assert "已约谈" not in json.dumps(body, ensure_ascii=False)  # no internal notes

    alert_transition(user=regulator, alert_id=alert.pk, action="dismiss", note="经查属实，已处理")
    assert _status(complaint.ticket).json()["status"] == "closed"
    alert_transition(user=regulator, alert_id=alert.pk, action="reopen", note="复查")
    assert _status(complaint.ticket).json()["status"] == "in_progress"


def test_a_department_acknowledging_its_copy_changes_nothing_for_the_complainant(world):
    fire = _member(OrganizationKind.FIRE, "371400", name="德州市消防救援支队")
    DepartmentSubscription.objects.create(organization=fire.organization, categories=["complaint"])
    complaint = _filed({"region_code": "371402", "category": "battery_fire_risk"})
    alert = _alert_of(complaint)
    assert _visible(fire) == [alert.pk]  # copied to the subscribed department
    before = complaint_status(complaint)
    alert_transition(user=fire, alert_id=alert.pk, action="acknowledge")
    after = complaint_status(complaint)
    assert (after.status, after.updated_at) == (before.status, before.updated_at) == ("received", complaint.created_at)


def test_an_unknown_ticket_is_a_404_envelope(db):
    response = _status(ticket_new())
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


# ── Idempotency and login ────────────────────────────────────────────────────────────────────────────────────


def test_the_same_idempotency_key_files_once_and_a_new_body_is_another_complaint(world):
    body = {"region_code": "371402"}
    first = _file(body, HTTP_IDEMPOTENCY_KEY="k-1")
    again = _file(body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Complaint.objects.count() == 1 and Alert.objects.count() == 1
    # Anonymous keys are bound to the request (decision 003): another phone behind the same address, sending
    # the same key with its own complaint, files its own.
    other = _file({**body, "description": "另一件事情，完全不同。"}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert other.status_code == 201 and other.json()["ticket"] != first.json()["ticket"]
    assert IdempotencyKey.objects.filter(key="k-1").count() == 2


def test_a_replay_is_answered_even_after_the_limit(world):
    body = {"region_code": "371402"}
    first = _file(body, HTTP_IDEMPOTENCY_KEY="last")
    for _ in range(4):
        _file(body)
    assert _file(body).status_code == 429
    assert _file(body, HTTP_IDEMPOTENCY_KEY="last").json() == first.json()


def test_a_stale_token_or_a_logged_in_user_still_files(world):
    stale = api_client()
    stale.credentials(HTTP_AUTHORIZATION="Bearer not-a-real-token")
    assert _file({"region_code": "371402"}, client=stale).status_code == 201
    assert _file({"region_code": "371402"}, client=api_client(world.dealer)).status_code == 201
    assert _status(Complaint.objects.first().ticket, client=stale).status_code == 200


def test_the_schema_describes_the_complaint_endpoints(db):
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    assert "post" in paths["/api/v1/public/complaints/"]
    assert "get" in paths["/api/v1/public/complaints/{ticket}/"]
    assert "post" in paths["/api/v1/public/complaints/{ticket}/photos/"]
    text = json.dumps(schema)
    for category in ("battery_fire_risk", "illegal_modification", "uncertified_product", "dealer_conduct"):
        assert category in text


# ── Photos ───────────────────────────────────────────────────────────────────────────────────────────────────


def _segment(marker: int, body: bytes) -> bytes:
    return b"\xff" + bytes([marker]) + struct.pack(">H", len(body) + 2) + body


EXIF = (
    b"Exif\x00\x00II*\x00\x08\x00\x00\x00"
    + b"\x02\x00"
    + struct.pack("<HHIHH", 0x0112, 3, 1, 6, 0)  # orientation: rotate 90°
    + struct.pack("<HHII", 0x8825, 4, 1, 38)  # GPS IFD
    + b"\x00\x00\x00\x00"
    + b"GPS 37.4513N 116.3075E"
)
SCAN = b"\xff\xda" + struct.pack(">H", 8) + b"\x01\x01\x00\x00\x3f\x00" + b"\x12\x34\x56\x78" + b"\xff\xd9"
JPEG = (
    b"\xff\xd8"
    + _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    + _segment(0xE1, EXIF)
    + _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>GPS</x:xmpmeta>")
    + _segment(0xFE, b"taken by 13912340987")
    + _segment(0xDB, b"\x00" + bytes(64))
    + SCAN
)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


PNG = (
    b"\x89PNG\r\n\x1a\n"
    + _png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    + _png_chunk(b"tEXt", b"Comment\x00GPS 37.45N")
    + _png_chunk(b"IDAT", zlib.compress(b"\x00\x00"))
    + _png_chunk(b"IEND", b"")
)


def test_photo_metadata_is_removed_but_the_orientation_kept():
    content_type, cleaned = photo_clean(JPEG)
    assert content_type == "image/jpeg"
    assert b"GPS" not in cleaned and b"1391234" not in cleaned and b"xmpmeta" not in cleaned
    assert b"JFIF" in cleaned and cleaned.endswith(SCAN)
    app1 = cleaned.index(b"\xff\xe1")
    (length,) = struct.unpack_from(">H", cleaned, app1 + 2)
    assert _exif_orientation(cleaned[app1 + 4 : app1 + 2 + length]) == 6

    content_type, cleaned = photo_clean(PNG)
    assert content_type == "image/png" and b"GPS" not in cleaned and cleaned.endswith(_png_chunk(b"IEND", b""))
    assert photo_clean(b"GIF89a....") is None and photo_clean(JPEG[:40]) is None


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _photos(ticket: str, *files, **extra):
    uploads = [("photo", (f"IMG_{i}.jpg", data)) for i, data in enumerate(files)]
    from django.core.files.uploadedfile import SimpleUploadedFile

    return api_client().post(
        f"{URL}{ticket}/photos/",
        {"photo": [SimpleUploadedFile(name, data, content_type="image/jpeg") for _, (name, data) in uploads]},
        format="multipart",
        **extra,
    )


def test_up_to_three_photos_within_thirty_minutes_without_their_metadata(world, media):
    complaint = _filed({"region_code": "371402"})
    response = _photos(complaint.ticket, JPEG, PNG)
    assert response.status_code == 201, response.content
    assert response.json() == {"ticket": complaint.ticket, "photos": 2}
    stored = list(ComplaintPhoto.objects.filter(complaint=complaint))
    assert [p.content_type for p in stored] == ["image/jpeg", "image/png"]
    for photo in stored:
        data = (media / photo.file.name).read_bytes()
        assert b"GPS" not in data and photo.size == len(data) and "IMG_" not in photo.file.name

    response = _photos(complaint.ticket, JPEG, JPEG)
    assert response.status_code == 400 and response.json()["error"]["code"] == "too_many_photos"
    assert _photos(complaint.ticket, JPEG).status_code == 201
    assert complaint.photos.count() == 3


@pytest.mark.parametrize(
    ("data", "code"),
    [(b"GIF89a" + bytes(100), "unsupported_photo_type"), (b"", "unsupported_photo_type"), (JPEG[:30], None)],
)
def test_photos_that_are_not_images_are_refused(world, media, data, code):
    complaint = _filed({"region_code": "371402"})
    response = _photos(complaint.ticket, data)
    assert response.status_code == 400
    assert response.json()["error"]["code"] in ({code} if code else {"unsupported_photo_type", "photo_required"})
    assert not ComplaintPhoto.objects.exists()


def test_no_photo_no_ticket_too_late_or_too_large(world, media, settings):
    complaint = _filed({"region_code": "371402"})
    response = api_client().post(f"{URL}{complaint.ticket}/photos/", {}, format="multipart")
    assert response.status_code == 400 and response.json()["error"]["code"] == "photo_required"
    assert _photos(ticket_new(), JPEG).status_code == 404
    big = JPEG[:-2] + bytes(5 * 1024 * 1024) + b"\xff\xd9"
    response = _photos(complaint.ticket, big)
    assert response.status_code == 400 and response.json()["error"]["code"] == "photo_too_large"
    Complaint.objects.filter(pk=complaint.pk).update(created_at=timezone.now() - dt.timedelta(minutes=31))
    response = _photos(complaint.ticket, JPEG)
    assert response.status_code == 409 and response.json()["error"]["code"] == "photo_window_closed"
    assert not ComplaintPhoto.objects.exists()


def test_a_json_body_to_the_photo_endpoint_is_refused(world):
    complaint = _filed({"region_code": "371402"})
    response = api_client().post(f"{URL}{complaint.ticket}/photos/", {"photo": "x"}, format="json")
    assert response.status_code == 415 and response.json()["error"]["code"] == "unsupported_media_type"


# ── The form on the public page ──────────────────────────────────────────────────────────────────────────────


def _form(client: Client, code: str) -> dict:
    html = client.get(f"/v/{code}").content.decode()
    token = re.search(r'name="form_token" value="([^"]+)"', html)[1]
    return {"form_token": token, "category": "quality", "description": "刹车失灵，多次维修无效。"}


def test_the_page_form_files_once_and_shows_the_ticket(chain, sold):
    client = Client()
    html = client.get(f"/v/{sold.code}").content.decode()
    slot = html.split('data-testid="complaint-slot"')[1]
    assert 'data-testid="complaint-form"' in slot and f'action="/v/{sold.code}/complaint#complaint"' in slot

    data = {**_form(client, sold.code), "contact_phone": PHONE}
    first = client.post(f"/v/{sold.code}/complaint", data)
    assert first.status_code == 302
    complaint = Complaint.objects.get()
    assert first["Location"] == f"/complaints/{complaint.ticket}/filed"
    assert (complaint.vehicle, complaint.category, decrypt(complaint.contact_phone_enc)) == (sold, "quality", PHONE)
    again = client.post(f"/v/{sold.code}/complaint", data)  # a double click, or Back and send again
    assert again.status_code == 302 and again["Location"] == first["Location"]
    assert Complaint.objects.count() == 1

    page = client.get(first["Location"])
    assert page.status_code == 200
    body = page.content.decode()
    assert complaint.ticket in body and f'href="/complaints/{complaint.ticket}"' in body
    assert PHONE not in body and "刹车失灵" not in body
    status = client.get(f"/complaints/{complaint.ticket}")
    assert status.status_code == 200 and 'data-status="received"' in status.content.decode()
    assert status["Cache-Control"] == "no-store"


def test_page_errors_show_next_to_the_fields_and_keep_what_was_typed(chain, sold):
    client = Client()
    data = {**_form(client, sold.code), "category": "", "description": "坏", "contact_phone": "12345"}
    response = client.post(f"/v/{sold.code}/complaint", data)
    assert response.status_code == 200
    html = response.content.decode()
    for field in ("category", "description", "contact_phone"):
        assert f'data-testid="error-{field}"' in html
    assert 'value="12345"' in html and ">坏</textarea>" in html and "<details" in html and " open>" in html
    assert data["form_token"] in html  # the same form, sent again once corrected
    assert not Complaint.objects.exists()
    data.update(category="quality", description="刹车失灵，多次维修无效。", contact_phone="")
    assert client.post(f"/v/{sold.code}/complaint", data).status_code == 302


def test_the_page_says_in_plain_words_when_the_limit_is_reached(chain, sold):
    for _ in range(5):
        assert _file({"region_code": "371402"}).status_code == 201
    client = Client()
    response = client.post(f"/v/{sold.code}/complaint", _form(client, sold.code))
    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    html = response.content.decode()
    assert 'data-testid="complaint-errors"' in html and "12315" in html
    assert Complaint.objects.count() == 5


def test_the_page_form_without_a_token_or_for_an_unknown_code(chain, sold):
    client = Client()
    response = client.post(f"/v/{sold.code}/complaint", {"category": "quality", "description": "刹车失灵，多次维修"})
    assert response.status_code == 200 and 'data-testid="complaint-errors"' in response.content.decode()
    assert client.post(f"/v/{public_code_new()}/complaint", _form(client, sold.code)).status_code == 404
    assert client.get(f"/v/{sold.code}/complaint").status_code == 302
    assert not Complaint.objects.exists()


def test_the_lookup_page_finds_a_ticket_as_typed_and_says_when_none_matches(world):
    complaint = _filed({"region_code": "371402"})
    client = Client()
    assert client.get("/complaints/").status_code == 200
    typed = complaint.ticket.lower().replace("0", "o")
    response = client.get("/complaints/", {"ticket": f" {typed} "})
    assert response.status_code == 302 and response["Location"] == f"/complaints/{complaint.ticket}"
    assert client.get(f"/complaints/{typed}")["Location"] == f"/complaints/{complaint.ticket}"
    for junk in (ticket_new(), "nonsense", "x" * 500):
        response = client.get("/complaints/", {"ticket": junk})
        assert response.status_code in (302, 404)
        if response.status_code == 302:
            response = client.get(response["Location"])
        assert response.status_code == 404 and 'data-testid="ticket-not-found"' in response.content.decode()
    assert client.get("/complaints/" + "%E2%80%AE" * 10).status_code == 404


# ── Operations ───────────────────────────────────────────────────────────────────────────────────────────────


class _DownCache:
    def __getattr__(self, name):
        def fail(*args, **kwargs):
            raise ConnectionError("redis is down")

        return fail


def test_with_the_cache_down_complaints_are_still_taken(chain, sold, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "cache", _DownCache())
    assert _file({"region_code": "371402"}).status_code == 201
    client = Client()
    assert client.post(f"/v/{sold.code}/complaint", _form(client, sold.code)).status_code == 302
    assert _status(Complaint.objects.first().ticket).status_code == 200


def test_the_admin_lists_and_shows_complaints_and_photos_with_the_phone_masked(world, admin_client, media):
    complaint = _filed({"region_code": "371402", "contact_phone": PHONE})
    _photos(complaint.ticket, JPEG)
    photo = ComplaintPhoto.objects.get()
    pages = [
        "/admin/alerts/complaint/",
        f"/admin/alerts/complaint/{complaint.pk}/change/",
        "/admin/alerts/complaintphoto/",
        f"/admin/alerts/complaintphoto/{photo.pk}/change/",
    ]
    for url in pages:
        response = admin_client.get(url)
        assert response.status_code == 200, url
        assert PHONE not in response.content.decode()
    assert "139****0987" in admin_client.get(pages[1]).content.decode()


# ── Photos from the page's form, and what the regulator reads ───────────────────────────────────────────────


def test_the_page_form_takes_photos_with_the_complaint(chain, sold):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = Client()
    data = {**_form(client, sold.code), "photos": [SimpleUploadedFile("a.png", PNG, "image/png")]}
    response = client.post(f"/v/{sold.code}/complaint", data)
    assert response.status_code == 302
    complaint = Complaint.objects.get()
    photo = complaint.photos.get()
    assert photo.content_type == "image/png" and b"GPS" not in photo.file.read()


def test_a_refused_photo_refuses_the_complaint_and_says_why(chain, sold):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = Client()
    data = {**_form(client, sold.code), "photos": [SimpleUploadedFile("notes.txt", b"not a photo", "image/png")]}
    response = client.post(f"/v/{sold.code}/complaint", data)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="error-photos"' in html and "刹车失灵" in html  # the text typed is kept
    assert not Complaint.objects.exists() and not ComplaintPhoto.objects.exists()
    assert not Alert.objects.exists() and not LifecycleEvent.objects.filter(type=EventType.COMPLAINT).exists()


def _complaint_with_photo(sold) -> tuple[Complaint, Alert]:
    complaint = _filed({"vehicle_code": sold.code, "contact_phone": PHONE})
    response = api_client().post(f"{URL}{complaint.ticket}/photos/", {"photo": [_upload()]}, format="multipart")
    assert response.status_code == 201, response.content
    drain()
    return complaint, _alert_of(complaint)


def _upload():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("p.png", PNG, "image/png")


def test_the_regulator_reads_the_complaint_on_the_alert_with_its_photos(chain, sold):
    from django.test import Client as PageClient

    complaint, alert = _complaint_with_photo(sold)
    page = PageClient()
    page.force_login(chain.world.district_regulator)
    html = page.get(f"/alerts/{alert.pk}/").content.decode()
    section = html.split('data-testid="complaint"')[1]
    assert complaint.ticket in section and TEXT in section
    assert "139****0987" in section and PHONE not in html
    photo = complaint.photos.get()
    url = f"/alerts/{alert.pk}/complaint/photos/{photo.pk}/"
    assert url in section
    got = page.get(url)
    assert got.status_code == 200 and got["Content-Type"] == "image/png"

    body = api_client(chain.world.district_regulator).get(f"/api/v1/alerts/{alert.pk}/").json()
    assert body["complaint"]["description"] == TEXT and body["complaint"]["contact_phone"] == "139****0987"
    assert body["complaint"]["photos"] == 1 and body["complaint"]["ticket"] == complaint.ticket

    outsider = PageClient()
    outsider.force_login(chain.world.other_district_regulator)
    assert outsider.get(f"/alerts/{alert.pk}/").status_code == 404
    assert outsider.get(url).status_code == 404
    assert api_client(chain.world.other_district_regulator).get(f"/api/v1/alerts/{alert.pk}/").status_code == 404
    anonymous = PageClient().get(url)
    assert anonymous.status_code == 302  # to the login page


def test_the_regulator_shows_the_phone_once_with_a_reason_in_the_audit_log(chain, sold):
    from django.test import Client as PageClient

    from core.models import AuditEntry

    complaint, alert = _complaint_with_photo(sold)
    page = PageClient()
    page.force_login(chain.world.district_regulator)
    html = page.get(f"/alerts/{alert.pk}/").content.decode()
    token = re.search(r'data-testid="phone-unmask-form">.*?name="form_token" value="([^"]+)"', html, re.S)[1]
    url = f"/alerts/{alert.pk}/complaint/phone/"

    refused = page.post(url, {"form_token": token, "reason": ""})
    assert refused.status_code == 400 and PHONE not in refused.content.decode()
    assert not AuditEntry.objects.filter(action="personal_data.unmask").exists()

    shown = page.post(url, {"form_token": token, "reason": "回访投诉人"})
    assert shown.status_code == 200 and PHONE in shown.content.decode()
    assert "no-cache" in shown["Cache-Control"] or "no-store" in shown["Cache-Control"]
    entry = AuditEntry.objects.get(action="personal_data.unmask")
    assert (entry.actor, entry.reason, entry.target_id) == (
        chain.world.district_regulator,
        "回访投诉人",
        str(complaint.pk),
    )
    again = page.post(url, {"form_token": token, "reason": "回访投诉人"})  # the same form sent twice
    assert again.status_code == 302 and AuditEntry.objects.filter(action="personal_data.unmask").count() == 1
    actions = shown.content.decode().split('data-testid="actions"')[1]
    assert re.search(r'name="form_token" value="([^"]+)"', actions)[1] != token  # the action form has its own

    dealer = PageClient()
    dealer.force_login(chain.world.dealer)
    assert dealer.post(url, {"form_token": token, "reason": "x"}).status_code == 404
    assert PageClient().post(url, {"reason": "x"}).status_code == 302  # to the login page
    assert AuditEntry.objects.filter(action="personal_data.unmask").count() == 1


def test_the_alert_page_names_the_complaint_category_in_words(chain, sold):
    from django.test import Client as PageClient

    _complaint, alert = _complaint_with_photo(sold)
    page = PageClient()
    page.force_login(chain.world.district_regulator)
    evidence = (
        page.get(f"/alerts/{alert.pk}/", HTTP_ACCEPT_LANGUAGE="en").content.decode().split('data-testid="evidence"')[1]
    )
    assert 'data-testid="evidence-category"' in evidence and "battery_fire_risk" not in evidence.split("</article>")[0]
