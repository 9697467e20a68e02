"""POST /api/v1/auth/token/ and bearer authentication (API.md "Conventions")."""

import pytest

from core.models import ApiToken, AuditEntry, Organization
from tests.factories import PASSWORD

URL = "/api/v1/auth/token/"


def test_token_for_right_password_names_role_and_organization(world, api):
    response = api().post(URL, {"username": world.dealer.username, "password": PASSWORD}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert body["role"] == "admin"
    org = world.dealer.organization
    assert body["organization"] == {"id": org.id, "name": org.name, "kind": "dealer", "region_code": "371402"}
    assert len(body["token"]) >= 40
    assert ApiToken.objects.filter(user=world.dealer).count() == 1
    assert AuditEntry.objects.filter(action="auth.token_issued", target_id=str(world.dealer.pk)).exists()


def test_wrong_password_is_401_with_envelope_and_no_token(world, api):
    response = api().post(URL, {"username": world.dealer.username, "password": "nope"}, format="json")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"
    assert not ApiToken.objects.exists()


def test_unknown_user_is_401_like_a_wrong_password(world, api):
    response = api().post(URL, {"username": "ghost", "password": PASSWORD}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"username": "x"},
        {"password": "x"},
        {"username": ["a"], "password": "x"},
        {"username": None, "password": 1},
        [],
        "text",
        42,
    ],
)
def test_missing_or_wrongly_typed_fields_are_400(world, api, body):
    response = api().post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_malformed_json_is_400(world, api):
    response = api().post(URL, b'{"username": "dealer", ', content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


def test_form_encoded_body_is_415(world, api):
    response = api().post(URL, {"username": "a", "password": "b"})
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


@pytest.mark.parametrize("keyword", ["Bearer", "Token"])
def test_bearer_and_token_keywords_both_authenticate(world, api, keyword):
    from tests.conftest import api_client

    response = api_client(world.dealer, keyword=keyword).get("/api/v1/me/")
    assert response.status_code == 200
    assert response.json()["username"] == world.dealer.username


def test_token_from_login_works_on_the_next_request(world, api):
    token = api().post(URL, {"username": world.police.username, "password": PASSWORD}, format="json").json()["token"]
    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert client.get("/api/v1/me/").json()["organization"]["kind"] == "police"


@pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer", "Bearer a b", "Token ", "Bearer \u4e2d\u6587"])
def test_bad_tokens_are_401(world, api, header):
    client = api()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] in {"invalid_token", "not_authenticated"}


def test_expired_token_is_401(world, api):
    client = api(world.dealer)
    ApiToken.objects.update(expires_at="2000-01-01T00:00:00Z")
    assert client.get("/api/v1/me/").status_code == 401


def test_anonymous_is_401_on_protected_endpoints(world, api):
    for url in ["/api/v1/me/", "/api/v1/organizations/", "/api/v1/users/"]:
        response = api().get(url)
        assert response.status_code == 401, url
        assert response.json()["error"]["code"] == "not_authenticated"


def test_suspended_organization_can_neither_log_in_nor_use_its_tokens(world, api):
    client = api(world.dealer)
    Organization.objects.filter(pk=world.dealer.organization_id).update(status="suspended")

    login = api().post(URL, {"username": world.dealer.username, "password": PASSWORD}, format="json")
    assert login.status_code == 401
    assert login.json()["error"]["code"] == "organization_suspended"
    assert client.get("/api/v1/me/").status_code == 401


def test_repeated_wrong_passwords_are_rate_limited(world, api, settings):
    client = api()
    codes = [
        client.post(URL, {"username": world.dealer.username, "password": "wrong"}, format="json").status_code
        for _ in range(25)
    ]
    assert codes[0] == 401
    assert codes[-1] == 429
