"""Provisioning users: the platform administrator for any organization, an organization admin for its own."""

import pytest

from core.models import AuditEntry, User
from tests.conftest import api_client

URL = "/api/v1/users/"


def _payload(org, **overrides):
    body = {"username": "new_clerk", "password": "Sturdy-pass-2026", "organization": org.pk, "role": "staff"}
    body.update(overrides)
    return body


def test_superuser_adds_a_user_who_can_then_log_in(world):
    org = world.org("dealer")
    response = api_client(world.superuser).post(URL, _payload(org), format="json")

    assert response.status_code == 201
    assert response.json()["organization"] == org.pk and response.json()["role"] == "staff"
    assert "password" not in response.json()
    login = api_client().post(
        "/api/v1/auth/token/", {"username": "new_clerk", "password": "Sturdy-pass-2026"}, format="json"
    )
    assert login.status_code == 200 and login.json()["organization"]["id"] == org.pk
    assert AuditEntry.objects.filter(action="user.create", actor=world.superuser).exists()


def test_organization_admin_adds_a_colleague(world):
    response = api_client(world.dealer).post(URL, _payload(world.org("dealer")), format="json")
    assert response.status_code == 201
    assert User.objects.get(username="new_clerk").organization == world.org("dealer")


def test_organization_admin_cannot_add_users_to_another_organization(world):
    response = api_client(world.dealer).post(URL, _payload(world.org("other_dealer")), format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_organization"
    assert not User.objects.filter(username="new_clerk").exists()


def test_staff_cannot_add_users(world):
    world.dealer.role = User.Role.STAFF
    world.dealer.save()
    response = api_client(world.dealer).post(URL, _payload(world.org("dealer")), format="json")
    assert response.status_code == 403


def test_anonymous_cannot_add_users(world):
    assert api_client().post(URL, _payload(world.org("dealer")), format="json").status_code == 401


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"role": "owner"}, "role"),
        ({"password": "123"}, "password"),
        ({"username": "a b"}, "username"),
        ({"organization": "x"}, "organization"),
        ({"organization": 999999}, "organization"),
    ],
)
def test_invalid_user_is_400_and_not_created(world, overrides, field):
    response = api_client(world.superuser).post(URL, _payload(world.org("dealer"), **overrides), format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not User.objects.filter(username=overrides.get("username", "new_clerk")).exists()


def test_duplicate_username_is_409(world):
    response = api_client(world.superuser).post(
        URL, _payload(world.org("dealer"), username=world.police.username.upper()), format="json"
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "username_taken"


def test_users_list_is_scoped(world):
    def usernames(user):
        return {u["username"] for u in api_client(user).get(URL, {"page_size": 500}).json()["results"]}

    assert usernames(world.dealer) == {world.dealer.username}
    city = usernames(world.city_regulator)
    assert world.dealer.username in city and world.other_dealer.username in city
    assert world.far_dealer.username not in city
    assert world.far_dealer.username in usernames(world.superuser)


def test_another_organizations_user_is_404(world):
    url = f"{URL}{world.dealer.pk}/"
    assert api_client(world.dealer).get(url).status_code == 200
    assert api_client(world.other_dealer).get(url).status_code == 404
    assert api_client(world.other_city_regulator).get(url).status_code == 404
    assert api_client().get(url).status_code == 401
