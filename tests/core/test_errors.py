"""No endpoint answers 500 to any input: malformed JSON, wrong types, missing fields, odd paths."""

import pytest

from tests.conftest import api_client

WRITE_ENDPOINTS = ["/api/v1/auth/token/", "/api/v1/organizations/", "/api/v1/users/"]

BAD_BODIES = [
    b"{",
    b"null",
    b"[]",
    b'"text"',
    b"12",
    b'{"name": {"nested": [1, 2]}, "kind": 5, "uscc": null, "region_code": true}',
    b'{"username": 1, "password": [], "organization": "one", "role": {}}',
    b'{"qualification_valid_until": "2026-02-30", "name": "' + "长".encode() * 500 + b'"}',
    "\ufeff{}".encode(),
    b"\xff\xfe\x00",
]


@pytest.mark.parametrize("url", WRITE_ENDPOINTS)
@pytest.mark.parametrize("body", BAD_BODIES)
def test_bad_bodies_get_a_4xx_envelope(world, url, body):
    response = api_client(world.superuser).post(url, body, content_type="application/json")
    assert 400 <= response.status_code < 500, response.content
    assert set(response.json()["error"]) == {"code", "message", "fields"}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nope/",
        "/api/v1/organizations/abc/",
        "/api/v1/organizations/99999999999999999999/",
        "/api/v1/users/0/",
        "/api/v1/regions/37x/",
    ],
)
def test_unknown_api_paths_are_404_json(world, path):
    response = api_client(world.superuser).get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    "query", [{"page": "x"}, {"page": "999"}, {"page_size": "-1"}, {"kind": "bank"}, {"region_prefix": "\x00"}]
)
def test_odd_list_queries_never_500(world, query):
    response = api_client(world.city_regulator).get("/api/v1/organizations/", query)
    assert response.status_code in {200, 400, 404}
    if response.status_code != 200:
        assert "error" in response.json()


def test_wrong_method_is_405_envelope(world):
    response = api_client(world.superuser).delete("/api/v1/organizations/")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_nul_bytes_in_paths_and_queries_are_400(world):
    client = api_client(world.city_regulator)
    for path in ["/api/v1/regions/%00/", "/api/v1/organizations/?name=%00"]:
        response = client.get(path)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "malformed_request"
