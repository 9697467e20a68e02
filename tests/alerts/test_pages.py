"""Alert pages: the inbox (scoped, filtered, exported, live), the detail with the steps each role may take, the
enterprise's own alerts with the rectification form and its photos, and bulk steps."""

import csv
import io
import re
import secrets
import struct
import zlib

import pytest
from django.test import Client
from openpyxl import load_workbook

from alerts.models import Alert, AlertAttachment, AlertDelivery
from alerts.services import alert_transition
from core.models import IdempotencyKey, OrganizationKind
from tests.alerts.conftest import drain, fit, repaired
from tests.conftest import _member
from tests.factories import PASSWORD


def png(width: int = 8, height: int = 8, rgb=(200, 30, 30)) -> bytes:
    """A real PNG (no imaging library needed): one colour, 8-bit RGB."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _client(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    client.cookies["django_language"] = "en"  # the assertions below read the English wording
    return client


def _token() -> str:
    return secrets.token_urlsafe(18)


def _ids(html: str, testid: str = "alert-row") -> list[int]:
    return [int(i) for i in re.findall(rf'data-testid="{testid}" data-id="(\d+)"', html)]


def _html(response) -> str:
    return response.content.decode()


def _csv(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def alert(chain, sold, fire, shop, media):
    """A non-standard battery fitted by the shop in 德城区 (371402): high severity, shared with the fire brigade."""
    fit(sold, chain.battery(model=chain.other_battery_model), shop)
    drain()
    return Alert.objects.get()


@pytest.fixture
def other_shop(world):
    return _member(OrganizationKind.REPAIR_SHOP, "371403", name="陵城区快修店")


@pytest.fixture
def other_alert(alert, sold, other_shop):
    """A speed limiter removed by a shop in 陵城区 (371403): another district, not shared with the fire brigade."""
    repaired(sold, other_shop, kind="speed_limiter", repair=2)
    drain()
    return Alert.objects.get(rule="MOD_SPEED_UNLOCK")


def _act(client, alert, action, note="", token=None, **extra):
    body = {"form_token": token or _token(), "action": action, "note": note, **extra}
    return client.post(f"/alerts/{alert.pk}/", body)


# --- access and scoping ---------------------------------------------------------------------------------------


def test_inbox_shows_each_user_only_what_it_may_see(chain, alert, other_alert, fire, shop, other_shop):
    world = chain.world

    def inbox(user):
        response = _client(user).get("/alerts/")
        assert response.status_code == 200, user
        assert '<body class="desktop">' in _html(response)
        return sorted(_ids(_html(response)))

    assert inbox(world.district_regulator) == [alert.pk]
    assert inbox(world.other_district_regulator) == [other_alert.pk]
    assert inbox(world.city_regulator) == sorted([alert.pk, other_alert.pk])  # its districts
    assert inbox(world.other_city_regulator) == []
    assert inbox(fire) == [alert.pk]  # shared with it by subscription (battery), not the speed one
    assert inbox(world.police) == []  # subscribed to nothing
    assert inbox(world.superuser) == sorted([alert.pk, other_alert.pk])
    assert 'data-testid="empty"' in _html(_client(world.other_city_regulator).get("/alerts/"))

    # Enterprises are sent to their own alerts, and see only those.
    response = _client(shop).get("/alerts/")
    assert response.status_code == 302 and response["Location"] == "/alerts/mine/"
    mine = _client(shop).get("/alerts/mine/?show=all")
    assert '<body class="phone">' in _html(mine)
    assert _ids(_html(mine), "my-alert") == [alert.pk]
    assert _ids(_html(_client(other_shop).get("/alerts/mine/?show=all")), "my-alert") == [other_alert.pk]
    assert _ids(_html(_client(world.dealer).get("/alerts/mine/?show=all")), "my-alert") == []

    assert Client().get("/alerts/").status_code == 302  # to the login page
    assert _client(world.city_regulator).get("/alerts/mine/")["Location"] == "/alerts/"


def test_outsiders_get_404_on_the_detail_and_its_photos(chain, alert, shop):
    world = chain.world
    for outsider in (world.other_district_regulator, world.other_city_regulator, world.other_dealer, world.police):
        client = _client(outsider)
        assert client.get(f"/alerts/{alert.pk}/").status_code == 404, outsider
        assert _act(client, alert, "dismiss", "x").status_code == 404
        assert client.get(f"/alerts/{alert.pk}/photos/1/").status_code == 404
    assert Alert.objects.get().status == "dispatched"
    for insider in (world.district_regulator, world.city_regulator, shop, world.superuser):
        assert _client(insider).get(f"/alerts/{alert.pk}/").status_code == 200
    assert _client(world.dealer).get("/alerts/rows/").status_code == 404
    assert _client(world.dealer).post("/alerts/bulk/", {}).status_code == 404


def test_home_cards_open_the_alert_pages(world, shop, fire):
    assert 'href="/alerts/"' in _html(_client(world.city_regulator).get("/"))
    assert 'href="/alerts/"' in _html(_client(fire).get("/"))
    assert 'href="/alerts/mine/"' in _html(_client(shop).get("/"))


# --- the inbox: filters, export, live refresh ---------------------------------------------------------------


def test_inbox_filters(chain, alert, other_alert, shop, sold):
    client = _client(chain.world.city_regulator)

    def ids(**params):
        return sorted(_ids(_html(client.get("/alerts/", params))))

    both = sorted([alert.pk, other_alert.pk])
    assert ids(rule="MOD_SPEED_UNLOCK") == [other_alert.pk]
    assert ids(severity="high") == both
    assert ids(severity="medium") == []
    assert ids(status="open") == both
    assert ids(status="closed") == []
    assert ids(district="371403") == [other_alert.pk]
    assert ids(district="371402") == [alert.pk]
    assert ids(enterprise=str(shop.organization_id)) == [alert.pk]
    assert ids(q=sold.frame_no) == both
    assert ids(q=alert.battery_serial.lower()) == [alert.pk]
    html = _html(client.get("/alerts/", {"rule": "MOD_SPEED_UNLOCK"}))
    assert 'data-testid="inbox-count" data-count="1"' in html

    # A bad value is shown and ignored; the other filters still apply.
    response = client.get("/alerts/", {"severity": "nope", "district": "371403"})
    assert response.status_code == 200 and 'data-testid="filter-errors"' in _html(response)
    assert _ids(_html(response)) == [other_alert.pk]
    # A district outside the jurisdiction is not a choice.
    district = _client(chain.world.district_regulator).get("/alerts/", {"district": "371403"})
    assert 'data-testid="filter-errors"' in _html(district)


def test_inbox_paginates(chain, alert, other_alert, monkeypatch):
    monkeypatch.setattr("alerts.views_inbox.PAGE_SIZE", 1)
    client = _client(chain.world.city_regulator)
    first = _html(client.get("/alerts/"))
    assert _ids(first) == [other_alert.pk] and 'data-testid="pager"' in first
    assert _ids(_html(client.get("/alerts/", {"page": 2}))) == [alert.pk]


def test_inbox_exports_csv_and_xlsx_with_the_filters(chain, alert, other_alert):
    client = _client(chain.world.city_regulator)
    response = client.get("/alerts/", {"export": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = _csv(response)
    assert len(rows) == 3
    assert [r[0] for r in rows[1:]] == [str(other_alert.pk), str(alert.pk)]
    assert {r[2] for r in rows[1:]} == {"MOD_BATTERY_NONSTANDARD", "MOD_SPEED_UNLOCK"}
    assert rows[2][9] == alert.frame_no and rows[2][10] == alert.battery_serial

    rows = _csv(client.get("/alerts/", {"export": "csv", "district": "371402"}))
    assert [r[0] for r in rows[1:]] == [str(alert.pk)]
    assert _csv(_client(chain.world.other_city_regulator).get("/alerts/", {"export": "csv"}))[1:] == []

    response = client.get("/alerts/", {"export": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.max_row == 3 and sheet.cell(row=2, column=1).value == other_alert.pk


def test_the_list_fragment_refreshes_and_highlights_what_is_new(chain, alert, sold, other_shop):
    client = _client(chain.world.city_regulator)
    page = _html(client.get("/alerts/"))
    seen = int(re.search(r'data-seen="(\d+)"', page).group(1))
    assert seen == alert.pk
    assert 'hx-trigger="every 10s' in page and "/alerts/rows/?" in page

    repaired(sold, other_shop, kind="speed_limiter", repair=3)  # a new alert arrives
    drain()
    newer = Alert.objects.get(rule="MOD_SPEED_UNLOCK")
    response = client.get("/alerts/rows/", {"seen": seen}, HTTP_HX_REQUEST="true")
    fragment = _html(response)
    assert response.status_code == 200 and "<html" not in fragment and 'id="inbox-rows"' in fragment
    assert _ids(fragment) == [newer.pk, alert.pk]
    fresh = dict(re.findall(r'data-testid="alert-row" data-id="(\d+)".*?data-fresh="(\w+)"', fragment, re.S))
    assert fresh == {str(newer.pk): "true", str(alert.pk): "false"}
    assert 'data-testid="fresh-count" data-count="1"' in fragment
    assert f"seen={seen}" in fragment  # the next poll keeps the same mark

    # Filters carry over into the refresh.
    fragment = _html(client.get("/alerts/rows/", {"seen": seen, "rule": "MOD_BATTERY_NONSTANDARD"}))
    assert _ids(fragment) == [alert.pk] and "rule=MOD_BATTERY_NONSTANDARD" in fragment
    # The enterprise filter too (the fragment builds the enterprise choices only to check one given).
    fragment = _html(client.get("/alerts/rows/", {"seen": seen, "enterprise": str(other_shop.organization_id)}))
    assert _ids(fragment) == [newer.pk]
    assert Client().get("/alerts/rows/").status_code == 286  # logged out: htmx stops polling


def test_sla_countdown_and_overdue(chain, alert):
    import datetime as dt

    from django.utils import timezone

    client = _client(chain.world.district_regulator)
    assert 'data-testid="sla" data-state="due"' in _html(client.get("/alerts/"))
    Alert.objects.filter(pk=alert.pk).update(due_at=timezone.now() - dt.timedelta(hours=5))
    html = _html(client.get("/alerts/"))
    assert 'class="sla sla-overdue" data-testid="sla" data-state="overdue"' in html
    assert 'data-testid="severity" data-severity="high"' in html


# --- detail: what is shown, and the buttons per role and state ---------------------------------------------


def _buttons(html: str) -> set[str]:
    return set(re.findall(r'data-testid="action-([a-z_]+)"', html)) - {"form", "error"}


def test_detail_shows_evidence_subject_ledger_enterprise_deliveries_and_steps(chain, alert, sold, shop, fire):
    html = _html(_client(chain.world.district_regulator).get(f"/alerts/{alert.pk}/"))
    assert '<body class="desktop">' in html
    assert 'data-testid="evidence-reasons"' in html and "not_a_certified_pair" not in html  # in words
    assert f'href="/records/vehicles/{sold.frame_no}/" data-testid="dossier-link"' in html
    assert 'data-testid="event" data-type="battery_fitted"' in html  # the bike's ledger
    assert 'class="alert-event"' in html  # the event that raised it, marked
    assert shop.organization.name in html and 'data-testid="enterprise-name"' in html
    deliveries = re.findall(r'data-testid="delivery" data-organization="(\d+)" data-reason="(\w+)"', html)
    assert set(deliveries) == {
        (str(chain.world.district_regulator.organization_id), "jurisdiction"),
        (str(fire.organization_id), "subscription"),
    }
    assert re.findall(r'data-testid="step" data-action="(\w+)"', html) == ["dispatch"]

    # The enterprise sees the same alert on a phone, without the routing.
    html = _html(_client(shop).get(f"/alerts/{alert.pk}/"))
    assert '<body class="phone">' in html and 'data-testid="deliveries"' not in html
    assert 'data-testid="evidence"' in html and 'data-testid="step"' in html


def test_buttons_follow_role_and_state(chain, alert, shop, fire):
    world = chain.world

    def buttons(user):
        return _buttons(_html(_client(user).get(f"/alerts/{alert.pk}/")))

    assert buttons(world.district_regulator) == {"request_rectification", "dismiss"}
    assert buttons(world.city_regulator) == {"request_rectification", "dismiss"}
    assert buttons(shop) == set()
    assert buttons(fire) == {"acknowledge"}
    assert buttons(world.superuser) == set()

    alert_transition(user=world.district_regulator, alert_id=alert.pk, action="request_rectification", note="换回")
    assert buttons(world.district_regulator) == {"dismiss"}
    assert buttons(shop) == {"submit_rectification"}
    assert 'data-testid="photos"' in _html(_client(shop).get(f"/alerts/{alert.pk}/"))
    alert_transition(user=shop, alert_id=alert.pk, action="submit_rectification", note="已换回")
    assert buttons(world.district_regulator) == {"verify", "dismiss"}
    assert buttons(shop) == set()
    alert_transition(user=world.district_regulator, alert_id=alert.pk, action="verify")
    assert buttons(world.district_regulator) == {"close"}
    alert_transition(user=world.district_regulator, alert_id=alert.pk, action="close")
    assert buttons(world.district_regulator) == {"reopen"}
    assert buttons(fire) == set()  # closed: nothing to acknowledge


def test_each_step_through_the_page_with_refusals_in_words(chain, alert, shop, fire, media):
    regulator = _client(chain.world.district_regulator)

    # 409: not possible in this state, said in words, nothing changed.
    response = _act(regulator, alert, "verify")
    html = _html(response)
    assert response.status_code == 409 and 'data-testid="action-error" data-code="wrong_state"' in html
    assert re.search(r'data-testid="action-error"[^>]*>[^<]{10,}</p>', html)
    # 403: the shop may not request its own rectification.
    response = _act(_client(shop), alert, "request_rectification")
    assert response.status_code == 403 and 'data-code="wrong_role"' in _html(response)
    # A note is required to dismiss: shown next to the note, typed text kept.
    response = _act(regulator, alert, "dismiss", "  ")
    assert response.status_code == 200 and 'data-testid="error-note"' in _html(response)
    # An unknown step, or a stale form, is refused without touching the alert.
    assert 'data-testid="error-action"' in _html(_act(regulator, alert, "explode"))
    assert 'data-testid="form-errors"' in _html(_act(regulator, alert, "dismiss", "x", token="bad"))
    alert.refresh_from_db()
    assert alert.status == "dispatched"

    # The regulator requests a rectification; a double click records it once.
    token = _token()
    first = _act(regulator, alert, "request_rectification", "更换为标配电池", token=token)
    second = _act(regulator, alert, "request_rectification", "更换为标配电池", token=token)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == f"/alerts/{alert.pk}/"
    alert.refresh_from_db()
    assert alert.status == "rectification_requested"
    assert alert.transitions.filter(action="request_rectification").count() == 1

    # The fire brigade acknowledges; the button is gone afterwards.
    assert _act(_client(fire), alert, "acknowledge").status_code == 302
    assert AlertDelivery.objects.get(organization=fire.organization).acknowledged_at is not None
    html = _html(_client(fire).get(f"/alerts/{alert.pk}/"))
    assert 'data-testid="acknowledged"' in html and "action-acknowledge" not in html
    html = _html(_client(fire).get("/alerts/"))
    assert 'data-testid="acknowledged" data-acknowledged="true"' in html


def test_rectification_with_photos_is_stored_and_shown_to_those_who_may_see(chain, alert, shop, media):
    alert_transition(user=chain.world.district_regulator, alert_id=alert.pk, action="request_rectification")
    client = _client(shop)
    photos = [io.BytesIO(png()), io.BytesIO(png(rgb=(0, 120, 0)))]
    photos[0].name, photos[1].name = "IMG_0001.PNG", "现场.png"
    response = _act(client, alert, "submit_rectification", "已换回标配电池", photos=photos, next="/alerts/mine/")
    assert response.status_code == 302 and response["Location"] == "/alerts/mine/"
    stored = list(AlertAttachment.objects.order_by("pk"))
    assert len(stored) == 2 and {a.content_type for a in stored} == {"image/png"}
    assert all(a.transition.action == "submit_rectification" and a.file.name.endswith(".png") for a in stored)
    assert alert.transitions.get(action="submit_rectification").note == "已换回标配电池"

    html = _html(_client(chain.world.district_regulator).get(f"/alerts/{alert.pk}/"))
    urls = re.findall(r'data-testid="photo"><img src="([^"]+)"', html)
    assert urls == [f"/alerts/{alert.pk}/photos/{a.pk}/" for a in stored]
    response = _client(chain.world.city_regulator).get(urls[0])
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content) == png()
    assert _client(chain.world.other_city_regulator).get(urls[0]).status_code == 404
    other_alert_photo = f"/alerts/{alert.pk + 1000}/photos/{stored[0].pk}/"
    assert _client(chain.world.city_regulator).get(other_alert_photo).status_code == 404


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([("notes.txt", b"just text")], "not a JPEG"),
        ([("big.png", b"\x89PNG\r\n\x1a\n" + b"0" * (5 * 1024 * 1024))], "larger than"),
        ([(f"p{i}.png", png()) for i in range(5)], "At most 4"),
    ],
)
def test_bad_photos_are_refused_next_to_the_field(chain, alert, shop, media, files, message):
    alert_transition(user=chain.world.district_regulator, alert_id=alert.pk, action="request_rectification")
    uploads = []
    for name, content in files:
        upload = io.BytesIO(content)
        upload.name = name
        uploads.append(upload)
    response = _act(_client(shop), alert, "submit_rectification", "done", photos=uploads)
    html = _html(response)
    assert response.status_code == 200 and 'data-testid="error-photos"' in html and message in html
    assert not AlertAttachment.objects.exists()
    alert.refresh_from_db()
    assert alert.status == "rectification_requested"


def test_photos_only_go_with_a_rectification(chain, alert, media):
    upload = io.BytesIO(png())
    upload.name = "x.png"
    response = _act(_client(chain.world.district_regulator), alert, "request_rectification", photos=[upload])
    assert 'data-testid="error-photos"' in _html(response)
    assert not AlertAttachment.objects.exists()


def test_the_whole_loop_through_the_pages_keeps_every_step(chain, alert, shop, media):
    regulator = _client(chain.world.district_regulator)
    assert _act(regulator, alert, "request_rectification", "更换为标配电池").status_code == 302
    upload = io.BytesIO(png())
    upload.name = "after.png"
    assert _act(_client(shop), alert, "submit_rectification", "已更换", photos=[upload]).status_code == 302
    assert _act(regulator, alert, "verify", "现场核验通过").status_code == 302
    assert _act(regulator, alert, "close").status_code == 302
    html = _html(regulator.get(f"/alerts/{alert.pk}/"))
    assert re.findall(r'data-testid="step" data-action="(\w+)"', html) == [
        "dispatch",
        "request_rectification",
        "submit_rectification",
        "verify",
        "close",
    ]
    assert 'data-testid="alert-status" data-status="closed"' in html
    assert html.count('data-testid="photo"') == 1 and "现场核验通过" in html


# --- the enterprise's page ------------------------------------------------------------------------------------


def test_enterprise_sees_what_to_rectify_and_submits_from_its_page(chain, alert, shop, media):
    client = _client(shop)
    html = _html(client.get("/alerts/mine/"))
    assert 'data-testid="tab-todo" data-count="0"' in html and _ids(html, "my-alert") == [alert.pk]  # open tab
    assert 'data-testid="rectify-form"' not in html

    alert_transition(
        user=chain.world.district_regulator, alert_id=alert.pk, action="request_rectification", note="拆除非标电池"
    )
    html = _html(client.get("/alerts/mine/"))
    assert 'data-testid="tab-todo" data-count="1"' in html and 'aria-current="page" data-testid="tab-todo"' in html
    assert 'data-testid="to-rectify"' in html and "拆除非标电池" in html
    token = re.search(r'data-testid="rectify-form">.*?name="form_token" value="([^"]+)"', html, re.S).group(1)
    upload = io.BytesIO(png())
    upload.name = "photo.png"
    response = client.post(
        f"/alerts/{alert.pk}/",
        {
            "form_token": token,
            "next": "/alerts/mine/",
            "action": "submit_rectification",
            "note": "已拆除",
            "photos": [upload],
        },
    )
    assert response.status_code == 302 and response["Location"] == "/alerts/mine/"
    alert.refresh_from_db()
    assert alert.status == "rectification_submitted" and AlertAttachment.objects.count() == 1
    html = _html(client.get(response["Location"]))
    assert 'data-testid="tab-todo" data-count="0"' in html

    rows = _csv(client.get("/alerts/mine/", {"show": "all", "export": "csv"}))
    assert [r[0] for r in rows[1:]] == [str(alert.pk)]
    sheet = load_workbook(io.BytesIO(client.get("/alerts/mine/", {"show": "all", "export": "xlsx"}).content)).active
    assert sheet.max_row == 2 and sheet.cell(row=2, column=1).value == alert.pk


def test_an_off_site_next_is_ignored(chain, alert):
    response = _act(
        _client(chain.world.district_regulator), alert, "request_rectification", next="https://evil.example/"
    )
    assert response["Location"] == f"/alerts/{alert.pk}/"


# --- bulk steps -----------------------------------------------------------------------------------------------


def _bulk(client, ids, action, note="", token=None):
    return client.post("/alerts/bulk/", {"form_token": token or _token(), "ids": ids, "action": action, "note": note})


def _results(html: str) -> dict[int, tuple[str, str]]:
    found = re.findall(r'data-testid="bulk-result" data-id="(\d+)" data-ok="(\w+)" data-code="(\w*)"', html)
    return {int(i): (ok, code) for i, ok, code in found}


def test_bulk_request_rectification_reports_each_alert(chain, alert, other_alert):
    client = _client(chain.world.city_regulator)
    alert_transition(user=chain.world.district_regulator, alert_id=alert.pk, action="request_rectification")
    response = _bulk(client, [alert.pk, other_alert.pk], "request_rectification", "统一整改")
    assert response.status_code == 200
    assert _results(_html(response)) == {alert.pk: ("false", "wrong_state"), other_alert.pk: ("true", "")}
    assert 'data-done="1" data-refused="1"' in _html(response)
    other_alert.refresh_from_db()
    assert other_alert.status == "rectification_requested"
    assert other_alert.transitions.get(action="request_rectification").note == "统一整改"


def test_bulk_dismiss_needs_a_note_and_stays_in_the_jurisdiction(chain, alert, other_alert):
    client = _client(chain.world.district_regulator)
    response = _bulk(client, [alert.pk, other_alert.pk], "dismiss")
    assert response.status_code == 302  # back to the inbox, the error said there
    assert Alert.objects.filter(status="dismissed").count() == 0
    html = _html(client.get(response["Location"]))
    assert 'class="notice error"' in html

    response = _bulk(client, [alert.pk, other_alert.pk, "junk"], "dismiss", "误报")
    assert _results(_html(response)) == {alert.pk: ("true", ""), other_alert.pk: ("false", "not_found")}
    assert set(Alert.objects.values_list("pk", "status")) == {
        (alert.pk, "dismissed"),
        (other_alert.pk, "dispatched"),
    }


def test_bulk_is_once_only_and_offers_the_steps_of_the_role(chain, alert, other_alert, fire):
    client = _client(chain.world.city_regulator)
    token = _token()
    assert _bulk(client, [alert.pk], "request_rectification", token=token).status_code == 200
    again = _bulk(client, [alert.pk], "request_rectification", token=token)
    assert again.status_code == 302 and again["Location"] == "/alerts/"
    assert alert.transitions.filter(action="request_rectification").count() == 1
    assert IdempotencyKey.objects.filter(key=f"form:{token}").count() == 1

    # A department acknowledges in bulk; it cannot dismiss.
    fire_client = _client(fire)
    html = _html(fire_client.get("/alerts/"))
    assert re.findall(r'<option value="(\w+)">', html.split('data-testid="bulk-action"')[1].split("</select>")[0]) == [
        "acknowledge"
    ]
    assert _bulk(fire_client, [alert.pk], "dismiss", "x").status_code == 302
    assert _results(_html(_bulk(fire_client, [alert.pk], "acknowledge"))) == {alert.pk: ("true", "")}
    assert AlertDelivery.objects.get(organization=fire.organization).acknowledged_at is not None


def test_evidence_ids_link_to_where_they_can_be_read(chain, sold, shop):
    import datetime as dt

    from django.utils import timezone

    from repairs.models import Repair

    performed = timezone.now() - dt.timedelta(hours=2)
    repair = Repair.objects.create(
        shop=shop.organization,
        vehicle=sold,
        kind="motor_replacement",
        fitted_motor_power_w=800,
        performed_at=performed,
        created_by=shop,
        shop_qualified=True,
    )
    repaired(sold, shop, repair=repair.pk, kind="motor_replacement", fitted_motor_power_w=800)
    drain()
    alert = Alert.objects.get(rule="MOD_MOTOR_POWER")

    regulator = _client(chain.world.district_regulator)
    html = _html(regulator.get(f"/alerts/{alert.pk}/"))
    link = f'href="/records/repairs/{repair.pk}/" data-testid="evidence-link-repair"'
    assert link in html and f">Repair record #{repair.pk}<" not in html  # the id is a link, not raw text
    record = _html(regulator.get(f"/records/repairs/{repair.pk}/"))
    assert 'data-testid="repair-record"' in record and shop.organization.name in record
    assert 'data-testid="power">800<' in record

    assert f'href="/repair/repairs/{repair.pk}/"' in _html(_client(shop).get(f"/alerts/{alert.pk}/"))  # its own
    assert _client(chain.world.other_city_regulator).get(f"/records/repairs/{repair.pk}/").status_code == 404
    assert _client(chain.world.dealer).get(f"/records/repairs/{repair.pk}/").status_code == 404
    assert Client().get(f"/records/repairs/{repair.pk}/").status_code == 302


def test_a_complaint_in_the_evidence_links_to_the_complaint_on_the_page(chain, sold):
    from tests.conftest import api_client

    body = {"vehicle_code": sold.code, "category": "quality", "description": "刹车失灵，车行不给修。"}
    assert api_client().post("/api/v1/public/complaints/", body, format="json").status_code == 201
    drain()
    alert = Alert.objects.get(rule="COMPLAINT")
    html = _html(_client(chain.world.district_regulator).get(f"/alerts/{alert.pk}/"))
    assert 'href="#complaint" data-testid="evidence-link-complaint"' in html and 'id="complaint"' in html


def test_a_repeated_refusal_lists_when_where_and_by_whom_it_was_seen_again(chain):
    from tests.conftest import api_client

    maker = chain.maker.organization
    for dealer in (chain.world.dealer, chain.world.dealer, chain.world.other_dealer):
        body = {"supplier": maker.pk, "frame_nos": ["140222600007777"], "battery_serials": []}
        assert api_client(dealer).post("/api/v1/receipts/", body, format="json").status_code == 201
        drain()
    alert = Alert.objects.get(frame_no="140222600007777")
    html = _html(_client(chain.world.city_regulator).get(f"/alerts/{alert.pk}/"))
    assert 'data-testid="evidence-occurrences"' in html
    repeats = html[html.index('data-testid="evidence-repeats"') :].split("</dd>")[0]
    assert "Incoming inspection #" in repeats and chain.world.other_dealer.organization.name in repeats
    assert re.findall(r'data-testid="step" data-action="(\w+)"', html) == ["dispatch", "repeat", "repeat"]
    assert "possibly counterfeit" in html  # the rule's name: not "uncertified"
