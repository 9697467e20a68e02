"""Two shops racing for one battery, and the repairs endpoints' place in the API contract (schema, idempotency)."""

import threading

import pytest
from django.db import connection
from django.test import Client

from repairs.api import views
from tests.conftest import api_client
from vehicles.ledger import chain_verify
from vehicles.models import Fitment

URL = "/api/v1/repairs/"


@pytest.mark.django_db(transaction=True)
def test_two_shops_fitting_one_battery_at_once_fit_it_once(workshop):
    bike1, _ = workshop.bike()
    bike2, _ = workshop.bike()
    spare = workshop.spare_battery()
    results = {}
    start = threading.Barrier(2)

    def upload(shop, bike):
        try:
            start.wait()
            body = {
                "frame_no": bike.frame_no,
                "vehicle_code": bike.code,
                "kind": "other",
                "fitted_battery_serials": [spare.serial],
            }
            response = api_client(shop).post(URL, body, format="json")
            results[bike.pk] = (response.status_code, response.json()["flags"])
        finally:
            connection.close()

    threads = [
        threading.Thread(target=upload, args=(workshop.shop, bike1)),
        threading.Thread(target=upload, args=(workshop.other_shop, bike2)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results.values()) == [(201, []), (201, ["battery_fitted_elsewhere"])]
    fitment = Fitment.objects.get(battery=spare)
    winner = bike1 if results[bike1.pk][1] == [] else bike2
    assert fitment.vehicle == winner and fitment.removed_at is None
    for bike in (bike1, bike2):
        bike.refresh_from_db()
        assert chain_verify(bike).valid


def test_every_repairs_write_is_idempotent():
    assert views.RepairListView.post.idempotent
    assert views.RepairPhotoListView.post.idempotent


def test_the_schema_describes_the_repairs_endpoints(db):
    paths = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/repairs/"])
    assert "get" in paths["/api/v1/repairs/{id}/"]
    assert "post" in paths["/api/v1/repairs/{id}/photos/"]
    body = paths["/api/v1/repairs/"]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body.endswith("RepairInRequest")
