"""Record pages: the regulator's one-box search, the dossier, and showing personal data with a reason (audited)."""

import re

import pytest
from django.db import connection
from django.test import Client

from core.models import AuditEntry
from tests.chain import BUYER
from tests.conftest import api_client
from tests.factories import PASSWORD


def _logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def sold(chain):
    """A bike sold by the 德城区 dealer to a buyer living in 德城区."""
    dealer = chain.world.dealer
    vehicle, battery = chain.in_stock(dealer)
    body = {"frame_no": vehicle.frame_no, "battery_serials": [battery.serial], "buyer": BUYER}
    assert api_client(dealer).post("/api/v1/sales/", body, format="json").status_code == 201
    vehicle.refresh_from_db()
    battery.refresh_from_db()
    return vehicle, battery


def _results(html: str) -> list[str]:
    return re.findall(r'data-testid="result" data-frame-no="(\d+)"', html)


def _search(user, q, **extra):
    response = _logged_in(user).get("/records/", {"q": q, **extra})
    assert response.status_code == 200
    return response.content.decode()


# --- search ----------------------------------------------------------------------------------------------------


def test_search_page_is_for_regulators_and_police(world):
    assert Client().get("/records/").status_code == 302
    assert _logged_in(world.dealer).get("/records/").status_code == 404
    for insider in (world.city_regulator, world.police):
        response = _logged_in(insider).get("/records/")
        assert response.status_code == 200 and '<body class="desktop">' in response.content.decode()
    assert 'href="/records/"' in _logged_in(world.city_regulator).get("/").content.decode()


@pytest.mark.parametrize(
    ("clue", "kind"),
    [
        ("frame", "frame_no"),
        ("phone", "phone"),
        ("id", "id_number"),
        ("plate", "plate_no"),
        ("battery", "battery_serial"),
    ],
)
def test_one_box_finds_the_bike_from_any_clue_and_masks_the_owner(chain, sold, clue, kind):
    vehicle, battery = sold
    q = {
        "frame": vehicle.frame_no,
        "phone": "138 0534 1234",
        "id": BUYER["id_number"].lower(),
        "plate": vehicle.code.lower(),
        "battery": battery.serial,
    }[clue]
    html = _search(chain.world.district_regulator, q)
    assert _results(html) == [vehicle.frame_no]
    assert f'data-kind="{kind}"' in html
    assert "张**" in html and "138****1234" in html
    shown = html.replace(q, "")  # the clue itself stays in the search box
    assert "张三丰" not in shown and "13805341234" not in shown and BUYER["id_number"] not in shown
    assert f'href="/records/vehicles/{vehicle.frame_no}/"' in html


def test_searches_by_personal_data_are_audited(chain, sold):
    _search(chain.world.district_regulator, BUYER["phone"])
    _search(chain.world.district_regulator, sold[0].frame_no)
    entry = AuditEntry.objects.get(action="trace.search")
    assert (entry.actor, entry.target_id, entry.data) == (
        chain.world.district_regulator,
        "phone",
        {"results": 1, "via": "page"},
    )


def test_a_malformed_id_number_is_explained_next_to_the_box(world):
    html = _search(world.city_regulator, "37140219981301123X")  # month 13
    assert 'data-testid="error-q"' in html and 'value="37140219981301123X"' in html
    assert 'data-testid="results"' not in html


def test_search_stays_inside_the_jurisdiction(chain, sold):
    assert _results(_search(chain.world.city_regulator, BUYER["phone"])) == [sold[0].frame_no]
    html = _search(chain.world.other_city_regulator, BUYER["phone"])
    assert _results(html) == [] and 'data-testid="empty"' in html
    assert _results(_search(chain.world.other_city_regulator, sold[0].frame_no)) == []


def test_search_results_export_as_csv_masked(chain, sold):
    response = _logged_in(chain.world.district_regulator).get("/records/", {"q": sold[1].serial, "export": "csv"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert len(lines) == 2 and sold[0].frame_no in lines[1] and "张**" in lines[1] and "张三丰" not in text


def test_an_empty_search_invites_a_clue(world):
    html = _search(world.city_regulator, "")
    assert 'data-testid="empty"' in html and 'data-testid="result-count"' not in html


# --- dossier ---------------------------------------------------------------------------------------------------


def _dossier(user, vehicle):
    return _logged_in(user).get(f"/records/vehicles/{vehicle.frame_no}/")


def test_the_dossier_shows_model_batteries_masked_owner_outlet_and_ledger(chain, sold):
    vehicle, battery = sold
    response = _dossier(chain.world.district_regulator, vehicle)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<body class="desktop">' in html
    assert "DQ-1" in html and "CCC-DQ-1" in html and 'data-testid="ccc" data-valid="true"' in html
    assert f'data-serial="{battery.serial}"' in html and 'data-paired="true"' in html
    assert "张**" in html and "3714**********" in html and "138****1234" in html and "张三丰" not in html
    assert f'data-testid="plate">{vehicle.code}<' in html
    assert "德城区车行" in html
    assert re.findall(r'data-testid="event" data-type="(\w+)"', html) == [
        "produced",
        "sold",
        "battery_fitted",
        "registered",
    ]
    assert 'data-testid="chain" data-valid="true"' in html
    assert 'data-testid="unmask-form"' in html


def test_the_dossier_shows_a_tampered_ledger(chain, sold):
    vehicle, _ = sold
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE vehicles_lifecycleevent DISABLE TRIGGER vehicles_lifecycleevent_append_only")
        cursor.execute(
            "UPDATE vehicles_lifecycleevent SET region_code = '330206' WHERE vehicle_id = %s AND seq = 3", [vehicle.pk]
        )
        cursor.execute("ALTER TABLE vehicles_lifecycleevent ENABLE TRIGGER vehicles_lifecycleevent_append_only")
    html = _dossier(chain.world.district_regulator, vehicle).content.decode()
    assert 'data-testid="chain" data-valid="false" data-first-bad="3"' in html


def test_outsiders_get_404_for_the_dossier(chain, sold):
    vehicle, _ = sold
    assert Client().get(f"/records/vehicles/{vehicle.frame_no}/").status_code == 302
    for outsider in (chain.world.other_city_regulator, chain.world.other_district_regulator, chain.world.far_dealer):
        assert _dossier(outsider, vehicle).status_code == 404
        response = _logged_in(outsider).post(f"/records/vehicles/{vehicle.frame_no}/", {"reason": "x"})
        assert response.status_code == 404
    assert _logged_in(chain.world.district_regulator).get("/records/vehicles/140222600009999/").status_code == 404
    assert not AuditEntry.objects.filter(action="personal_data.unmask").exists()


def _unmask(client, vehicle, reason, token=None):
    url = f"/records/vehicles/{vehicle.frame_no}/"
    if token is None:
        token = re.search(r'name="form_token" value="([^"]+)"', client.get(url).content.decode()).group(1)
    return client.post(url, {"reason": reason, "form_token": token}), token


@pytest.mark.parametrize("who", ["district_regulator", "police"])
def test_showing_personal_data_asks_a_reason_and_is_audited(chain, sold, who):
    vehicle, _ = sold
    user = getattr(chain.world, who)
    client = _logged_in(user)

    response, _ = _unmask(client, vehicle, "投诉核查 2026-0012")

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-unmasked="true"' in html
    assert "张三丰" in html and BUYER["id_number"] in html and "13805341234" in html
    assert "no-store" in response["Cache-Control"]
    entry = AuditEntry.objects.get(action="personal_data.unmask")
    assert (entry.actor, entry.target_type, entry.target_id, entry.reason) == (
        user,
        "vehicles.vehicle",
        str(vehicle.pk),
        "投诉核查 2026-0012",
    )
    # Once: the next visit is masked again.
    assert "张三丰" not in client.get(f"/records/vehicles/{vehicle.frame_no}/").content.decode()


def test_no_reason_no_personal_data(chain, sold):
    vehicle, _ = sold
    response, token = _unmask(_logged_in(chain.world.district_regulator), vehicle, "  ")
    html = response.content.decode()
    assert 'data-testid="error-reason"' in html and "张三丰" not in html
    assert f'value="{token}"' in html
    assert not AuditEntry.objects.filter(action="personal_data.unmask").exists()


def test_a_double_submitted_unmask_form_is_audited_once(chain, sold):
    vehicle, _ = sold
    client = _logged_in(chain.world.district_regulator)
    first, token = _unmask(client, vehicle, "核查")
    second, _ = _unmask(client, vehicle, "核查", token=token)
    assert first.status_code == 200 and second.status_code == 302
    assert second["Location"] == f"/records/vehicles/{vehicle.frame_no}/"
    assert AuditEntry.objects.filter(action="personal_data.unmask").count() == 1


def test_others_who_see_the_dossier_may_not_unmask(chain, sold):
    vehicle, _ = sold
    for user in (chain.world.dealer, chain.maker):
        response = _dossier(user, vehicle)
        assert response.status_code == 200 and 'data-testid="unmask-form"' not in response.content.decode()
        assert _unmask(_logged_in(user), vehicle, "好奇", token="x" * 24)[0].status_code == 403
    assert not AuditEntry.objects.filter(action="personal_data.unmask").exists()


def test_the_dossier_lists_the_ledger_in_the_order_things_happened_with_late_recordings_marked(sold, world):
    import datetime as dt

    from django.db import transaction
    from django.utils import timezone

    from vehicles.ledger import event_append
    from vehicles.models import EventType, Vehicle

    vehicle, _battery = sold
    shop_region = vehicle.region_id
    uploaded_late = timezone.now() - dt.timedelta(days=40)
    with transaction.atomic():  # recorded now, after the sale, but done 40 days ago
        event_append(
            vehicle=Vehicle.objects.select_for_update().get(pk=vehicle.pk),
            type=EventType.REPAIRED,
            occurred_at=uploaded_late,
            region_code=shop_region,
            organization_id=None,
            payload={"repair": 1, "kind": "brake_tyre"},
        )
    html = _logged_in(world.district_regulator).get(f"/records/vehicles/{vehicle.frame_no}/").content.decode()
    types = re.findall(r'data-testid="event" data-type="(\w+)"', html)
    assert types.index("repaired") < types.index("sold")  # happened first, though recorded last
    assert html.count('data-testid="recorded-at"') == 1  # only the late one says when it was recorded
    row = html[html.index('data-type="repaired"') :]
    assert timezone.localtime(uploaded_late).strftime("%Y-%m-%d") in row.split("</tr>")[0]
    assert _logged_in(world.other_city_regulator).get(f"/records/vehicles/{vehicle.frame_no}/").status_code == 404
