"""The vehicle record (一车一档): dossier, masking and audited unmasking, ledger, verify, trace, transfer, cancel."""

import itertools

import pytest
from django.db import connection

from core.models import AuditEntry
from tests.chain import BUYER, valid_id_number
from tests.conftest import api_client
from vehicles.models import Registration, Vehicle


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


def _url(vehicle, suffix=""):
    return f"/api/v1/vehicles/{vehicle.frame_no}/{suffix}"


def test_dossier_links_vehicle_battery_owner_and_outlet_with_owner_masked(chain, sold):
    vehicle, battery = sold
    body = api_client(chain.world.district_regulator).get(_url(vehicle)).json()
    assert body["frame_no"] == vehicle.frame_no and body["code"] == vehicle.code and body["status"] == "registered"
    assert body["model"]["code"] == "DQ-1" and body["model"]["standard"] == "GB17761-2024"
    assert body["batteries"] == [{"serial": battery.serial, "model": "LD-4820"}]
    assert body["owner"] == {
        "name": "张**",
        "id_number": f"{BUYER['id_number'][:4]}{'*' * 10}{BUYER['id_number'][-4:]}",
        "phone": "138****1234",
    }
    assert body["outlet"] == {"id": chain.world.dealer.organization_id, "name": "德城区车行"}
    assert body["registered_at"]


@pytest.mark.parametrize("who", ["district_regulator", "city_regulator", "police"])
def test_regulators_and_police_unmask_and_each_unmasking_is_audited(chain, sold, who):
    vehicle, _ = sold
    user = getattr(chain.world, who)
    response = api_client(user).get(_url(vehicle), {"unmask": "true", "reason": "投诉核查"})
    assert response.json()["owner"] == {"name": "张三丰", "id_number": BUYER["id_number"], "phone": "13805341234"}
    entry = AuditEntry.objects.get(action="personal_data.unmask")
    assert (entry.actor, entry.target_id, entry.reason) == (user, str(vehicle.pk), "投诉核查")


def test_the_selling_dealer_sees_the_bike_but_may_not_unmask(chain, sold):
    vehicle, _ = sold
    client = api_client(chain.world.dealer)
    assert client.get(_url(vehicle)).json()["owner"]["name"] == "张**"
    response = client.get(_url(vehicle), {"unmask": "true"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "unmask_not_allowed"
    assert not AuditEntry.objects.filter(action="personal_data.unmask").exists()


def test_outsiders_get_404_for_the_bike_and_its_ledger(chain, sold):
    vehicle, _ = sold
    outsiders = [
        chain.world.other_dealer,
        chain.world.other_district_regulator,
        chain.world.other_city_regulator,
        chain.world.far_dealer,
    ]
    for outsider in outsiders:
        for suffix in ("", "events/", "verify/"):
            assert api_client(outsider).get(_url(vehicle, suffix)).status_code == 404, (outsider, suffix)
    assert api_client().get(_url(vehicle)).status_code == 401


def test_unknown_and_malformed_frame_numbers_are_404(chain):
    client = api_client(chain.world.city_regulator)
    assert client.get("/api/v1/vehicles/140222600000000/").status_code == 404
    assert client.get("/api/v1/vehicles/ABC/").status_code == 404


def test_events_are_the_ledger_oldest_first_and_chained(chain, sold):
    vehicle, battery = sold
    events = api_client(chain.world.district_regulator).get(_url(vehicle, "events/")).json()
    assert [e["type"] for e in events] == ["produced", "sold", "battery_fitted", "registered"]
    assert [e["seq"] for e in events] == [1, 2, 3, 4]
    assert events[0]["prev_hash"] == "" and all(b["prev_hash"] == a["hash"] for a, b in itertools.pairwise(events))
    assert events[2]["battery"] == battery.serial
    assert events[1]["organization"] == {"id": chain.world.dealer.organization_id, "name": "德城区车行"}


def test_verify_reports_a_tampered_event(chain, sold):
    vehicle, _ = sold
    client = api_client(chain.world.district_regulator)
    assert client.get(_url(vehicle, "verify/")).json() == {"valid": True, "events": 4, "first_bad_seq": None}

    with connection.cursor() as cursor:
        # The table refuses updates; someone with the database's owner rights switches the guard off first.
        with pytest.raises(Exception, match="append-only"), connection.cursor() as inner:
            from django.db import transaction

            with transaction.atomic():
                inner.execute(
                    "UPDATE vehicles_lifecycleevent SET region_code = '330206' WHERE vehicle_id = %s", [vehicle.pk]
                )
        cursor.execute("ALTER TABLE vehicles_lifecycleevent DISABLE TRIGGER vehicles_lifecycleevent_append_only")
        cursor.execute(
            "UPDATE vehicles_lifecycleevent SET payload = jsonb_set(payload, '{batteries}', '[\"FAKE\"]') "
            "WHERE vehicle_id = %s AND seq = 2",
            [vehicle.pk],
        )
        cursor.execute("ALTER TABLE vehicles_lifecycleevent ENABLE TRIGGER vehicles_lifecycleevent_append_only")

    assert client.get(_url(vehicle, "verify/")).json() == {"valid": False, "events": 4, "first_bad_seq": 2}


def test_verify_notices_the_newest_events_deleted(chain, sold):
    vehicle, _ = sold
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE vehicles_lifecycleevent DISABLE TRIGGER vehicles_lifecycleevent_append_only")
        cursor.execute("DELETE FROM vehicles_lifecycleevent WHERE vehicle_id = %s AND seq = 4", [vehicle.pk])
        cursor.execute("ALTER TABLE vehicles_lifecycleevent ENABLE TRIGGER vehicles_lifecycleevent_append_only")
    body = api_client(chain.world.district_regulator).get(_url(vehicle, "verify/")).json()
    assert body == {"valid": False, "events": 3, "first_bad_seq": 4}


def test_the_ledger_table_is_partitioned_by_month(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_inherits WHERE inhparent = 'vehicles_lifecycleevent'::regclass")
        partitions = cursor.fetchone()[0]
        cursor.execute(
            "SELECT partstrat FROM pg_partitioned_table WHERE partrelid = 'vehicles_lifecycleevent'::regclass"
        )
        strategy = cursor.fetchone()[0]
    assert strategy == "r" and partitions >= 4  # this month, three ahead, and the default


@pytest.mark.parametrize("clue", ["battery_serial", "id_number", "phone", "plate_no"])
def test_trace_finds_the_bike_and_its_buyer_from_one_clue(chain, sold, clue):
    vehicle, battery = sold
    value = {
        "battery_serial": battery.serial.lower(),
        "id_number": BUYER["id_number"],
        "phone": "138-0534-1234",
        "plate_no": vehicle.code,
    }[clue]
    body = api_client(chain.world.city_regulator).get("/api/v1/trace/", {clue: value}).json()
    assert len(body["results"]) == 1
    hit = body["results"][0]
    assert hit["vehicle"]["frame_no"] == vehicle.frame_no
    assert hit["batteries"] == [{"serial": battery.serial, "model": "LD-4820"}]
    assert hit["owner"]["name"] == "张**"
    assert hit["outlet"]["name"] == "德城区车行"


def test_trace_by_personal_data_is_audited_and_scoped(chain, sold):
    assert api_client(chain.world.other_city_regulator).get(
        "/api/v1/trace/", {"id_number": BUYER["id_number"]}
    ).json() == {"results": []}
    assert api_client(chain.world.other_dealer).get("/api/v1/trace/", {"phone": "13805341234"}).json() == {
        "results": []
    }
    assert AuditEntry.objects.filter(action="trace.search").count() == 2
    assert api_client().get("/api/v1/trace/", {"phone": "13805341234"}).status_code == 401


def test_trace_needs_a_valid_clue(chain, sold):
    client = api_client(chain.world.city_regulator)
    assert client.get("/api/v1/trace/").status_code == 400
    assert client.get("/api/v1/trace/", {"id_number": "123"}).status_code == 400
    assert client.get("/api/v1/trace/", {"phone": "abc"}).status_code == 400
    assert client.get("/api/v1/trace/", {"battery_serial": "NOPE"}).json() == {"results": []}


def test_trace_unmasked_for_police(chain, sold):
    query = {"phone": "13805341234", "unmask": "true", "reason": "盗窃案件侦查"}
    body = api_client(chain.world.police).get("/api/v1/trace/", query).json()
    assert body["results"][0]["owner"]["phone"] == "13805341234"
    entry = AuditEntry.objects.get(action="personal_data.unmask", actor=chain.world.police)
    assert entry.reason == "盗窃案件侦查"


@pytest.mark.parametrize("path", ["vehicle", "trace"])
@pytest.mark.parametrize("reason", [None, "", "   "])
def test_unmasking_without_a_reason_is_refused_and_shows_nothing(chain, sold, path, reason):
    vehicle, _ = sold
    url = _url(vehicle) if path == "vehicle" else "/api/v1/trace/"
    query = {"unmask": "true"} if path == "vehicle" else {"frame_no": vehicle.frame_no, "unmask": "true"}
    if reason is not None:
        query["reason"] = reason
    response = api_client(chain.world.city_regulator).get(url, query)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "reason_required"
    assert "reason" in response.json()["error"]["fields"]
    assert "13805341234" not in response.content.decode()
    assert not AuditEntry.objects.filter(action="personal_data.unmask").exists()
    # the outsider is not even told a reason is needed: the bike is not found
    outsider = api_client(chain.world.other_city_regulator).get(_url(vehicle), {"unmask": "true"})
    assert outsider.status_code == 404


def test_the_trace_takes_a_frame_number(chain, sold):
    vehicle, battery = sold
    body = api_client(chain.world.district_regulator).get("/api/v1/trace/", {"frame_no": vehicle.frame_no}).json()
    assert [row["vehicle"]["frame_no"] for row in body["results"]] == [vehicle.frame_no]
    assert body["results"][0]["batteries"] == [{"serial": battery.serial, "model": battery.model.code}]
    assert body["results"][0]["owner"]["name"] == "张**"
    lower = api_client(chain.world.district_regulator).get("/api/v1/trace/", {"frame_no": f" {vehicle.frame_no} "})
    assert len(lower.json()["results"]) == 1
    outsider = api_client(chain.world.other_city_regulator).get("/api/v1/trace/", {"frame_no": vehicle.frame_no})
    assert outsider.json() == {"results": []}
    assert api_client().get("/api/v1/trace/", {"frame_no": vehicle.frame_no}).status_code == 401


NEW_OWNER = {
    "name": "李四",
    "id_number": valid_id_number("37140220010202002"),
    "phone": "13905340000",
    "region_code": "371403",
}


def test_police_transfer_ownership(chain, sold):
    vehicle, _ = sold
    response = api_client(chain.world.police).post(_url(vehicle, "transfer/"), {"new_owner": NEW_OWNER}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["owner"]["name"] == "李*"
    registrations = list(Registration.objects.filter(vehicle=vehicle).order_by("pk").values_list("status", flat=True))
    assert registrations == ["transferred", "active"]
    vehicle.refresh_from_db()
    assert vehicle.region_id == "371403"
    assert vehicle.events.order_by("-seq").first().type == "transferred"
    # The new district now sees the bike; its former owner's data is no longer on the dossier.
    query = {"unmask": "true", "reason": "过户核对"}
    body = api_client(chain.world.other_district_regulator).get(_url(vehicle), query).json()
    assert body["owner"]["name"] == "李四"


def test_transfer_refused_to_dealers_and_other_jurisdictions(chain, sold):
    vehicle, _ = sold
    url = _url(vehicle, "transfer/")
    assert api_client(chain.world.dealer).post(url, {"new_owner": NEW_OWNER}, format="json").status_code == 403
    assert (
        api_client(chain.world.other_city_regulator).post(url, {"new_owner": NEW_OWNER}, format="json").status_code
        == 404
    )
    assert (
        api_client(chain.world.police).post(url, {"new_owner": {**NEW_OWNER, "phone": "1"}}, format="json").status_code
        == 400
    )
    assert Registration.objects.filter(vehicle=vehicle).count() == 1


def test_cancellation_of_registration(chain, sold):
    vehicle, _ = sold
    url = _url(vehicle, "cancel-registration/")
    assert api_client(chain.world.district_regulator).post(url, {}, format="json").status_code == 400
    response = api_client(chain.world.district_regulator).post(url, {"reason": "车辆报废"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert Vehicle.objects.get(pk=vehicle.pk).status == "cancelled"
    again = api_client(chain.world.district_regulator).post(url, {"reason": "再次"}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "not_registered"


def test_a_transaction_asks_for_one_outbox_drain_however_many_events_it_writes(chain, sold):
    """The sale (four events) and three repairs, all in this test's one transaction: one drain request on commit."""
    from django.db import transaction
    from django.utils import timezone

    from vehicles.ledger import event_append, outbox_kick

    def kicks() -> int:
        return sum(1 for _savepoints, callback, *_ in connection.run_on_commit if callback is outbox_kick)

    vehicle, _ = sold
    assert kicks() == 1
    with transaction.atomic():
        locked = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
        for n in range(3):
            event_append(
                vehicle=locked, type="repaired", occurred_at=timezone.now(), region_code="371402", payload={"n": n}
            )
    assert kicks() == 1
    vehicle.refresh_from_db()
    assert vehicle.ledger_seq == 7 and vehicle.events.filter(type="repaired").count() == 3
