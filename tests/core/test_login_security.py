"""Login security: the rate limit per client address, the lock-out per account after repeated wrong passwords,
and lifting a lock-out (the platform in Django admin, an organization's administrator through the API)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import get_resolver
from rest_framework.test import APIRequestFactory
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from core.models import ApiToken, AuditEntry, User
from tests.conftest import api_client
from tests.factories import PASSWORD, UserFactory

TOKEN_URL = "/api/v1/auth/token/"


@pytest.fixture(autouse=True)
def _three_strikes(settings):
    settings.LOGIN_FAILURE_LIMIT = 3


def _api_login(username: str, password: str, **extra):
    return api_client().post(TOKEN_URL, {"username": username, "password": password}, format="json", **extra)


def _page_login(username: str, password: str, client: Client | None = None):
    client = client or Client()
    return client, client.post("/login/", {"username": username, "password": password})


def _lock(user: User) -> None:
    for _ in range(3):
        assert _api_login(user.username, "wrong").status_code in (401, 403)
    user.refresh_from_db()
    assert user.locked_at is not None


def _without_csrf(response) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())


def _error(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


# ── Rate limit per client address ────────────────────────────────────────────────────────────────────────────


def test_a_forged_forwarded_for_does_not_buy_a_fresh_login_allowance(world):
    codes = [_api_login(f"ghost{n}", "wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code for n in range(25)]
    assert codes[0] == 401
    assert codes[-1] == 429
    # Another client (another socket address) is not held by the first one's limit.
    assert _api_login("ghost", "wrong", REMOTE_ADDR="203.0.113.77").status_code == 401


def test_behind_trusted_proxies_the_allowance_is_per_client(world, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for n in range(20):
        _api_login(f"ghost{n}", "wrong", HTTP_X_FORWARDED_FOR="198.51.100.1", **proxy)
    limited = _api_login("ghost", "wrong", HTTP_X_FORWARDED_FOR="198.51.100.1", **proxy)
    assert _error(limited) == (429, "rate_limited") and int(limited["Retry-After"]) > 0
    # What a client writes left of the proxy's own entry is not trusted, the entry the proxy appended is.
    assert _api_login("ghost", "wrong", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.1", **proxy).status_code == 429
    assert _api_login("ghost", "wrong", HTTP_X_FORWARDED_FOR="198.51.100.2", **proxy).status_code == 401


def _throttled_views():
    def walk(patterns, prefix=""):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern), pattern

    for route, pattern in walk(get_resolver().url_patterns):
        view_class = getattr(pattern.callback, "view_class", None)
        if view_class is not None and issubclass(view_class, APIView) and view_class.throttle_classes:
            yield route, view_class


def test_every_throttle_in_the_project_counts_by_socket_address_not_by_what_the_client_claims(db):
    factory = APIRequestFactory()

    def cache_key(view_class, throttle_class, **meta):
        view = view_class()
        request = view.initialize_request(factory.get("/", **meta))
        throttle = throttle_class()
        if isinstance(throttle, ScopedRateThrottle):
            throttle.scope = getattr(view, "throttle_scope", None)
        return throttle.get_cache_key(request, view)

    checked = 0
    for route, view_class in _throttled_views():
        for throttle_class in view_class.throttle_classes:
            one = cache_key(view_class, throttle_class, REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="1.1.1.1")
            two = cache_key(view_class, throttle_class, REMOTE_ADDR="203.0.113.5", HTTP_X_FORWARDED_FOR="2.2.2.2")
            other = cache_key(view_class, throttle_class, REMOTE_ADDR="203.0.113.6", HTTP_X_FORWARDED_FOR="1.1.1.1")
            assert one == two, (route, throttle_class)
            assert one != other, (route, throttle_class)
            checked += 1
    assert checked >= 2  # the login and the public complaint endpoints at least


# ── Lock-out per account ─────────────────────────────────────────────────────────────────────────────────────


def test_repeated_wrong_passwords_lock_the_account_even_against_the_right_password(world):
    user = world.dealer
    assert _error(_api_login(user.username, "wrong")) == (401, "invalid_credentials")
    assert _error(_api_login(user.username, "wrong")) == (401, "invalid_credentials")
    third = _api_login(user.username, "wrong")
    assert _error(third) == (403, "account_locked")

    right = _api_login(user.username, PASSWORD, REMOTE_ADDR="203.0.113.8")  # from another address too
    assert _error(right) == (403, "account_locked")
    assert "管理员" in right.json()["error"]["message"]
    assert not ApiToken.objects.filter(user=user).exists()
    user.refresh_from_db()
    assert user.locked_at is not None and user.failed_logins == 3
    locked = AuditEntry.objects.get(action="auth.account_locked", target_id=str(user.pk))
    assert locked.ip_address == "127.0.0.1" and locked.data == {"failed_logins": 3}
    assert AuditEntry.objects.filter(action="auth.login_refused_locked", target_id=str(user.pk)).count() == 1

    # Another account of the same organization, and an outsider, are not affected.
    colleague = UserFactory(organization=user.organization)
    assert _api_login(colleague.username, PASSWORD).status_code == 200
    assert _api_login(world.other_dealer.username, PASSWORD).status_code == 200


def test_the_login_page_refuses_a_locked_account_with_a_clear_message(world):
    _lock(world.dealer)
    client, response = _page_login(world.dealer.username, PASSWORD)
    assert response.status_code == 200
    html = response.content.decode()
    assert "已被锁定" in html and "管理员" in html
    assert "_auth_user_id" not in client.session
    assert AuditEntry.objects.filter(action="auth.login_refused_locked", target_id=str(world.dealer.pk)).exists()
    # An outsider logs in on the page as usual.
    client, response = _page_login(world.other_dealer.username, PASSWORD)
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(world.other_dealer.pk)


def test_wrong_passwords_on_the_page_and_the_api_count_together(world):
    _page_login(world.dealer.username, "wrong")
    _api_login(world.dealer.username, "wrong")
    _client, response = _page_login(world.dealer.username, "wrong")
    assert "已被锁定" in response.content.decode()
    assert _error(_api_login(world.dealer.username, PASSWORD)) == (403, "account_locked")


def test_the_admin_login_refuses_a_locked_platform_administrator(world):
    _lock(world.superuser)
    client = Client()
    response = client.post("/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD})
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    assert "已被锁定" in response.content.decode()


def test_a_successful_login_resets_the_count(world):
    for _ in range(2):
        _api_login(world.dealer.username, "wrong")
    assert _api_login(world.dealer.username, PASSWORD).status_code == 200
    world.dealer.refresh_from_db()
    assert world.dealer.failed_logins == 0
    for _ in range(2):
        _page_login(world.dealer.username, "wrong")
    _client, response = _page_login(world.dealer.username, PASSWORD)
    assert response.status_code == 302


def test_an_unknown_username_is_answered_exactly_like_an_existing_one(world):
    """Nobody learns from the answers whether a username exists: unknown ones lock after as many failures."""
    for _ in range(4):
        real = _api_login(world.dealer.username, "wrong")
        ghost = _api_login("no-such-user", "wrong")
        assert (real.status_code, real.json()) == (ghost.status_code, ghost.json())
    assert _error(ghost) == (403, "account_locked")
    real_page = _without_csrf(_page_login(world.dealer.username, "wrong")[1])
    ghost_page = _without_csrf(_page_login("no-such-user", "wrong")[1])
    assert "已被锁定" in ghost_page
    assert real_page.replace(world.dealer.username, "no-such-user") == ghost_page
    assert not User.objects.filter(username="no-such-user").exists()


# ── Lifting a lock-out ───────────────────────────────────────────────────────────────────────────────────────


def _unlock_url(user: User) -> str:
    return f"/api/v1/users/{user.pk}/unlock/"


def test_the_organizations_administrator_unlocks_a_colleague_through_the_api(world):
    clerk = UserFactory(organization=world.dealer.organization)
    _lock(clerk)
    assert api_client(world.dealer).get(f"/api/v1/users/{clerk.pk}/").json()["locked_at"]

    response = api_client(world.dealer).post(_unlock_url(clerk), format="json")
    assert response.status_code == 200
    assert response.json()["id"] == clerk.pk and response.json()["locked_at"] is None
    clerk.refresh_from_db()
    assert clerk.locked_at is None and clerk.failed_logins == 0
    assert AuditEntry.objects.filter(action="auth.account_unlocked", target_id=str(clerk.pk), actor=world.dealer)
    assert _api_login(clerk.username, PASSWORD).status_code == 200


def test_only_an_administrator_of_the_same_organization_or_the_platform_may_unlock(world):
    clerk = UserFactory(organization=world.dealer.organization)
    staff = UserFactory(organization=world.dealer.organization, role=User.Role.STAFF)
    _lock(clerk)

    assert _error(api_client(world.other_dealer).post(_unlock_url(clerk), format="json")) == (404, "not_found")
    # A regulator sees the users of its region, but unlocking is the organization's own business.
    assert api_client(world.city_regulator).post(_unlock_url(clerk), format="json").status_code == 404
    assert _error(api_client(staff).post(_unlock_url(clerk), format="json")) == (403, "permission_denied")
    assert _error(api_client().post(_unlock_url(clerk), format="json")) == (401, "not_authenticated")
    clerk.refresh_from_db()
    assert clerk.locked_at is not None

    assert api_client(world.superuser).post(_unlock_url(clerk), format="json").status_code == 200
    clerk.refresh_from_db()
    assert clerk.locked_at is None


def test_the_platform_administrator_sees_and_lifts_a_lock_out_in_django_admin(world):
    _lock(world.dealer)
    admin = Client()
    admin.force_login(world.superuser)
    listing = admin.get("/admin/core/user/?locked=yes").content.decode()
    assert world.dealer.username in listing and world.other_dealer.username not in listing
    change = admin.get(f"/admin/core/user/{world.dealer.pk}/change/").content.decode()
    assert "登录锁定" in change and "连续密码错误次数" in change

    response = admin.post(
        "/admin/core/user/",
        {"action": "unlock_accounts", "_selected_action": [world.dealer.pk]},
        follow=True,
    )
    assert response.status_code == 200
    world.dealer.refresh_from_db()
    assert world.dealer.locked_at is None and world.dealer.failed_logins == 0
    assert AuditEntry.objects.filter(action="auth.account_unlocked", actor=world.superuser).exists()
    assert _api_login(world.dealer.username, PASSWORD).status_code == 200


def test_the_schema_describes_the_unlock_endpoint_and_the_lock_out_answer(db):
    paths = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert "post" in paths["/api/v1/users/{id}/unlock/"]
    assert "403" in paths["/api/v1/auth/token/"]["post"]["responses"]


def test_a_login_sent_with_an_idempotency_key_stores_neither_the_token_nor_a_hash_of_the_password(world):
    from core.models import IdempotencyKey

    body = {"username": world.dealer.username, "password": PASSWORD}
    first = api_client().post(TOKEN_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="login-1")
    again = api_client().post(TOKEN_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="login-1")
    assert first.status_code == again.status_code == 200
    assert first.json()["token"] != again.json()["token"]  # a retry is another login, not a stored secret
    assert not IdempotencyKey.objects.exists()
    too_long = api_client().post(TOKEN_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="x" * 300)
    assert _error(too_long) == (400, "invalid_idempotency_key")
