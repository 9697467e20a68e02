"""No route answers 5xx, whatever the method and whoever asks: every route of the URL conf, with sample values in
its path, as the anonymous public, an enterprise, a regulator and the platform administrator."""

import pytest
from django.test import Client

from tests.routes import every_route

pytestmark = pytest.mark.django_db

NOT_POSTED = {"logout"}  # it would end the session the rest of the walk needs


def _client(user) -> Client:
    client = Client(HTTP_ACCEPT="application/json")
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture(params=["anonymous", "dealer", "district_regulator", "superuser"])
def caller(request, world):
    return None if request.param == "anonymous" else getattr(world, request.param)


def test_the_url_conf_is_walked_whole():
    paths = [path for path, _name in every_route()]
    assert len(paths) > 100
    for expected in ("/api/v1/sales/", "/api/v1/receipts/", "/api/v1/repairs/", "/v/X", "/admin/"):
        assert expected in paths


def test_options_on_every_route_never_fails(caller, chain):
    client, failures = _client(caller), []
    for path, name in every_route():
        response = client.options(path)
        if response.status_code >= 500:
            failures.append((path, name, response.status_code))
    assert failures == []


def test_get_and_an_empty_post_on_every_route_never_fail(caller, chain):
    client, failures = _client(caller), []
    for path, name in every_route():
        for method in ("get", "post", "delete"):
            if method == "post" and name in NOT_POSTED:
                continue
            response = getattr(client, method)(path)
            if response.status_code >= 500:
                failures.append((method, path, name, response.status_code))
    assert failures == []


def test_options_on_an_api_list_describes_it_without_a_serializer_class(world, api):
    response = api(world.dealer).options("/api/v1/sales/")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] and "application/json" in body["renders"]
    assert api().options("/api/v1/sales/").status_code == 401  # the anonymous public learns nothing more
