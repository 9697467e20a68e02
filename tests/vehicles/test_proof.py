"""Failed proofs that a bike is at hand are counted per enterprise, although each refusal rolls back, and past
the threshold the regulator of the enterprise's region gets one PROOF_FAILED alert a day."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from alerts.engine import drain_alert_requests, drain_outbox
from alerts.models import Alert, AlertRequest
from core.models import AuditEntry, OrganizationKind
from tests.conftest import _member, api_client
from tests.factories import PASSWORD
from tests.recycling.conftest import rc  # noqa: F401  (the recycling world fixture)
from tests.repairs.conftest import Workshop, repair_shop
from vehicles import proof
from vehicles.models import Vehicle

REPAIRS, RECYCLING = "/api/v1/repairs/", "/api/v1/recycling/"


@pytest.fixture
def workshop(chain) -> Workshop:
    return Workshop(
        chain=chain, shop=repair_shop("371402", name="德城区诚信电动车维修部"), other_shop=repair_shop("371403")
    )


def drain() -> int:
    total = 0
    while done := drain_outbox() + drain_alert_requests():
        total += done
    return total


def _sequence(vehicle: Vehicle, n: int) -> list[str]:
    """The frame numbers after this bike's in its maker's sequence: what a probe tries."""
    serial = int(vehicle.frame_no[-8:])
    return [vehicle.frame_no[:-8] + f"{serial + i:08d}" for i in range(1, n + 1)]


def _repair(user, frame_no: str, **proof_fields):
    body = {"frame_no": frame_no, "kind": "brake_tyre", **proof_fields}
    return api_client(user).post(REPAIRS, body, format="json")


def _proof_alerts():
    return Alert.objects.filter(rule="PROOF_FAILED")


def test_a_shop_probing_frame_numbers_raises_one_alert_to_its_regulator(workshop):
    shop = workshop.shop
    known, _ = workshop.bike()  # a real bike the shop does not have at hand
    tried = [known.frame_no, *_sequence(known, proof.FAILED_PROOFS_ALERT_AT - 1)]

    for frame_no in tried[:-1]:
        assert _repair(shop, frame_no).status_code == 400
    drain()
    assert not _proof_alerts().exists()  # below the threshold: a shop mistypes now and then

    assert _repair(shop, tried[-1]).status_code == 400
    assert drain() >= 1

    alert = _proof_alerts().get()
    assert (alert.category, alert.organization, alert.region_code) == ("access", shop.organization, "371402")
    assert alert.regulator == workshop.world.district_regulator.organization
    assert alert.frame_no == "" and alert.vehicle_id is None  # about the enterprise, not one bike
    assert alert.evidence["enterprise"] == shop.organization_id
    assert alert.evidence["failed_proofs"] == proof.FAILED_PROOFS_ALERT_AT
    assert alert.evidence["frame_nos"] == tried
    assert alert.evidence["window_hours"] == 24

    # The regulator sees it; a regulator of another city and another enterprise do not.
    ids = [a["id"] for a in api_client(workshop.world.district_regulator).get("/api/v1/alerts/").json()["results"]]
    assert alert.pk in ids
    for outsider in (workshop.world.other_city_regulator, workshop.other_shop):
        listed = api_client(outsider).get("/api/v1/alerts/").json()["results"]
        assert alert.pk not in [a["id"] for a in listed]

    # The regulator's page of the alert names the frame numbers tried.
    page = Client()
    assert page.login(username=workshop.world.district_regulator.username, password=PASSWORD)
    html = page.get(f"/alerts/{alert.pk}/").content.decode()
    assert all(frame_no in html for frame_no in tried) and shop.organization.name in html
    enterprise = html[html.index('data-testid="evidence-enterprise"') :].split("</dd>")[0]
    assert shop.organization.name in enterprise  # by name, not its id
    assert "失败次数" in html and "尝试的车架号" in html  # labelled in words

    # More failures the same day: still one alert.
    for frame_no in _sequence(known, 12)[5:]:
        _repair(shop, frame_no)
    drain()
    assert _proof_alerts().count() == 1


def test_each_failed_attempt_is_in_the_audit_log_the_same_whether_the_bike_exists_or_not(workshop):
    known, _ = workshop.bike()
    unknown = _sequence(known, 1)[0]
    _repair(workshop.shop, known.frame_no)
    _repair(workshop.shop, unknown)

    entries = AuditEntry.objects.filter(action=proof.AUDIT_ACTION).order_by("at", "pk")
    assert [(e.target_type, e.target_id) for e in entries] == [("frame_no", known.frame_no), ("frame_no", unknown)]
    first, second = entries
    assert first.data == second.data and first.actor == workshop.shop
    assert first.actor_organization == workshop.shop.organization


def test_typos_and_proven_bikes_are_not_counted(workshop):
    known, _ = workshop.bike()
    for typo in ("12345", "not a frame", known.frame_no + "9"):
        assert _repair(workshop.shop, typo).status_code == 400
    assert _repair(workshop.shop, known.frame_no, vehicle_code=known.code).status_code == 201
    assert _repair(workshop.shop, known.frame_no).status_code == 201  # repaired here before: dealt with
    assert not AuditEntry.objects.filter(action=proof.AUDIT_ACTION).exists()


def test_failures_older_than_the_window_do_not_count(workshop):
    known, _ = workshop.bike()
    frame_nos = _sequence(known, proof.FAILED_PROOFS_ALERT_AT)
    for frame_no in frame_nos[:-1]:
        _repair(workshop.shop, frame_no)
    AuditEntry.objects.filter(action=proof.AUDIT_ACTION).update(at=timezone.now() - dt.timedelta(hours=25))
    _repair(workshop.shop, frame_nos[-1])
    drain()
    assert not _proof_alerts().exists()


def test_enterprises_are_counted_apart_and_a_recycler_is_counted_through_its_page_too(rc):  # noqa: F811
    vehicle, _ = rc.sold_bike()
    frame_nos = _sequence(vehicle, proof.FAILED_PROOFS_ALERT_AT)
    for frame_no in frame_nos[:-1]:
        assert _repair(rc.shop, frame_no).status_code == 400  # another enterprise, another count
    body = {"kind": "vehicle", "disposal": "dismantle"}
    for frame_no in frame_nos[:-1]:
        response = api_client(rc.recycler).post(RECYCLING, {**body, "ref": frame_no}, format="json")
        assert response.status_code == 400 and response.json()["error"]["code"] == "unknown_item"
    drain()
    assert not _proof_alerts().exists()

    client = Client()
    assert client.login(username=rc.recycler.username, password=PASSWORD)
    token = re.search(r'name="form_token" value="([^"]+)"', client.get("/recycler/new/").content.decode()).group(1)
    page = client.post("/recycler/new/", {**body, "form_token": token, "ref": frame_nos[-1], "manifest_no": ""})
    assert page.status_code == 200 and 'data-testid="error-proof"' in page.content.decode()
    drain()

    alert = _proof_alerts().get()
    assert alert.organization == rc.recycler.organization
    assert alert.evidence["frame_nos"] == frame_nos
    assert alert.regulator == rc.world.district_regulator.organization


def test_unknown_battery_codes_never_count(rc):  # noqa: F811
    battery_refs = [f"NOSUCHPACK{i:04d}" for i in range(proof.FAILED_PROOFS_ALERT_AT + 1)]
    for ref in battery_refs:
        response = api_client(rc.recycler).post(
            RECYCLING, {"kind": "battery", "ref": ref, "disposal": "dismantle"}, format="json"
        )
        assert response.status_code == 400
    drain()
    assert not _proof_alerts().exists() and not AlertRequest.objects.filter(rule="PROOF_FAILED").exists()


@pytest.mark.django_db(transaction=True)
def test_the_count_survives_the_rollback_of_each_refusal(chain):
    """No test transaction around the requests: each refusal really rolls back, and the alert still appears."""
    shop = _member(OrganizationKind.REPAIR_SHOP, "371402", name="德城区快修")
    workshop = Workshop(chain=chain, shop=shop, other_shop=shop)
    known, _ = workshop.bike()
    for frame_no in _sequence(known, proof.FAILED_PROOFS_ALERT_AT):
        assert _repair(shop, frame_no, plate_no="德州A00000").status_code == 400
    assert AuditEntry.objects.filter(action=proof.AUDIT_ACTION).count() == proof.FAILED_PROOFS_ALERT_AT
    drain()
    assert _proof_alerts().get().organization == shop.organization
