"""API tokens: listing one's own, logging out, revoking one by id, and every token of a user dying when the
password changes (by any path) or when the user or the organization is suspended."""

from __future__ import annotations

from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.hashers import make_password
from django.test import Client

from core.models import ApiToken, AuditEntry, Organization, User
from core.tokens import token_issue
from tests.conftest import api_client
from tests.factories import PASSWORD, UserFactory

TOKENS_URL = "/api/v1/auth/tokens/"
LOGOUT_URL = "/api/v1/auth/logout/"
NEW_PASSWORD = "Another-sturdy-pass-2026"


def _bearer(raw: str):
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def _works(raw: str) -> bool:
    return _bearer(raw).get("/api/v1/me/").status_code == 200


def _admin() -> Client:
    client = Client()
    client.force_login(User.objects.get(username="root"))
    return client


# ── Listing, logging out, revoking ───────────────────────────────────────────────────────────────────────────


def test_a_user_lists_their_own_live_tokens_without_any_secret(world):
    in_use, other = token_issue(user=world.dealer), token_issue(user=world.dealer)
    token_issue(user=world.other_dealer)
    ApiToken.objects.create(user=world.dealer, key_hash="0" * 64, expires_at="2000-01-01T00:00:00Z")

    response = _bearer(in_use).get(TOKENS_URL)
    assert response.status_code == 200
    rows = response.json()["results"]
    assert len(rows) == 2  # the expired one and the other user's are not listed
    assert all(set(row) == {"id", "created_at", "last_used_at", "expires_at", "current"} for row in rows)
    assert [row["current"] for row in rows].count(True) == 1
    assert in_use not in response.content.decode() and other not in response.content.decode()
    assert "key_hash" not in response.content.decode()


def test_anonymous_callers_have_no_tokens_to_list_or_revoke(world):
    token = ApiToken.objects.get(
        pk=ApiToken.objects.create(user=world.dealer, key_hash="1" * 64, expires_at="2999-01-01T00:00:00Z").pk
    )
    assert api_client().get(TOKENS_URL).status_code == 401
    assert api_client().post(LOGOUT_URL, format="json").status_code == 401
    assert api_client().delete(f"{TOKENS_URL}{token.pk}/").status_code == 401
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_logout_revokes_the_token_in_use_and_no_other(world):
    in_use, kept = token_issue(user=world.dealer), token_issue(user=world.dealer)
    outsider = token_issue(user=world.other_dealer)

    response = _bearer(in_use).post(LOGOUT_URL, format="json")
    assert response.status_code == 204
    assert not _works(in_use)
    assert _works(kept) and _works(outsider)
    assert AuditEntry.objects.filter(action="auth.token_revoked", target_id=str(world.dealer.pk)).exists()


def test_a_user_revokes_one_of_their_tokens_by_id_but_not_someone_elses(world):
    in_use, lost_phone = token_issue(user=world.dealer), token_issue(user=world.dealer)
    outsider = token_issue(user=world.other_dealer)
    rows = _bearer(in_use).get(TOKENS_URL).json()["results"]
    lost_id = next(row["id"] for row in rows if not row["current"])
    outsider_id = ApiToken.objects.get(user=world.other_dealer).pk

    assert _bearer(in_use).delete(f"{TOKENS_URL}{lost_id}/").status_code == 204
    assert not _works(lost_phone) and _works(in_use)
    again = _bearer(in_use).delete(f"{TOKENS_URL}{lost_id}/")
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"

    refused = _bearer(in_use).delete(f"{TOKENS_URL}{outsider_id}/")
    assert refused.status_code == 404 and refused.json()["error"]["code"] == "not_found"
    assert _works(outsider)
    # Not even the platform administrator revokes another person's token here (Django admin does that).
    assert api_client(world.superuser).delete(f"{TOKENS_URL}{outsider_id}/").status_code == 404
    assert _works(outsider)


def test_a_logged_in_page_session_logs_out_through_the_api(world):
    client = Client(enforce_csrf_checks=False)
    client.force_login(world.dealer)
    token = token_issue(user=world.dealer)
    assert client.post(LOGOUT_URL, content_type="application/json").status_code == 204
    assert "_auth_user_id" not in client.session
    assert _works(token)  # a page logout ends the session, not the integrations' tokens


# ── A changed password ends every token ──────────────────────────────────────────────────────────────────────


def test_a_password_changed_in_django_admin_ends_the_users_tokens(world):
    token, outsider = token_issue(user=world.dealer), token_issue(user=world.other_dealer)
    response = _admin().post(
        f"/admin/core/user/{world.dealer.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert not _works(token) and _works(outsider)
    assert _bearer(token).get("/api/v1/me/").json()["error"]["code"] == "invalid_token"
    assert not ApiToken.objects.filter(user=world.dealer).exists()  # a dead token found in use is deleted

    fresh = api_client().post(
        "/api/v1/auth/token/", {"username": world.dealer.username, "password": NEW_PASSWORD}, format="json"
    )
    assert fresh.status_code == 200 and _works(fresh.json()["token"])


def test_a_password_changed_by_djangos_own_form_or_directly_ends_the_tokens(world):
    token = token_issue(user=world.dealer)
    form = PasswordChangeForm(
        world.dealer, {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert form.is_valid(), form.errors
    form.save()
    assert not _works(token)

    token = token_issue(user=world.dealer)
    User.objects.filter(pk=world.dealer.pk).update(password=make_password("Third-pass-2026"))  # e.g. a bulk reset
    assert not _works(token)
    assert _bearer(token_issue(user=world.other_dealer)).get(TOKENS_URL).status_code == 200


def test_the_list_shows_no_token_from_before_the_password_changed(world):
    old = token_issue(user=world.dealer)
    world.dealer.set_password(NEW_PASSWORD)
    world.dealer.save()
    new = token_issue(user=world.dealer)
    rows = _bearer(new).get(TOKENS_URL).json()["results"]
    assert len(rows) == 1 and rows[0]["current"]
    assert not _works(old)


def test_a_password_hash_upgraded_at_login_is_not_a_changed_password(world):
    """Django re-hashes a password at login when the hasher settings changed; the tokens must survive that."""
    User.objects.filter(pk=world.dealer.pk).update(password=make_password(PASSWORD, salt="short", hasher="md5"))
    world.dealer.refresh_from_db()
    token = token_issue(user=world.dealer)
    assert _works(token)
    login = api_client().post(
        "/api/v1/auth/token/", {"username": world.dealer.username, "password": PASSWORD}, format="json"
    )
    assert login.status_code == 200
    world.dealer.refresh_from_db()
    assert "$short$" not in world.dealer.password  # upgraded
    assert _works(token) and _works(login.json()["token"])


# ── Suspension and deactivation end every token (reactivation does not bring them back) ─────────────────────


def test_suspending_an_organization_through_the_api_revokes_its_users_tokens(world):
    colleague = UserFactory(organization=world.dealer.organization)
    tokens = [token_issue(user=world.dealer), token_issue(user=colleague)]
    outsider = token_issue(user=world.other_dealer)
    org_url = f"/api/v1/organizations/{world.dealer.organization_id}/"

    assert api_client(world.superuser).patch(org_url, {"status": "suspended"}, format="json").status_code == 200
    assert api_client(world.superuser).patch(org_url, {"status": "active"}, format="json").status_code == 200
    assert not any(_works(t) for t in tokens)
    assert not ApiToken.objects.filter(user__organization=world.dealer.organization).exists()
    assert _works(outsider)
    assert AuditEntry.objects.filter(action="auth.tokens_revoked", target_id=str(world.dealer.pk)).exists()


def test_suspending_an_organization_in_django_admin_revokes_its_users_tokens(world):
    token, outsider = token_issue(user=world.dealer), token_issue(user=world.other_dealer)
    org = world.dealer.organization
    admin = _admin()
    form = admin.get(f"/admin/core/organization/{org.pk}/change/")
    assert form.status_code == 200
    data = {
        "name": org.name,
        "kind": org.kind,
        "uscc": org.uscc,
        "region": org.region_id,
        "qualification_no": org.qualification_no,
        "enterprise_code": "",
        "qualification_valid_until": "",
        "status": "suspended",
    }
    response = admin.post(f"/admin/core/organization/{org.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Organization.objects.get(pk=org.pk).status == "suspended"
    Organization.objects.filter(pk=org.pk).update(status="active")
    assert not _works(token) and _works(outsider)


def test_deactivating_a_user_in_django_admin_revokes_their_tokens(world):
    token, outsider = token_issue(user=world.dealer), token_issue(user=world.other_dealer)
    admin = _admin()
    response = admin.post(
        "/admin/core/user/",
        {"action": "deactivate_accounts", "_selected_action": [world.dealer.pk]},
        follow=True,
    )
    assert response.status_code == 200
    world.dealer.refresh_from_db()
    assert not world.dealer.is_active
    User.objects.filter(pk=world.dealer.pk).update(is_active=True)
    assert not _works(token) and _works(outsider)


def test_unticking_active_on_the_users_admin_page_revokes_their_tokens(world):
    token = token_issue(user=world.dealer)
    admin = _admin()
    page = admin.get(f"/admin/core/user/{world.dealer.pk}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(
        {
            "username": world.dealer.username,
            "organization": world.dealer.organization_id,
            "role": world.dealer.role,
            "date_joined_0": world.dealer.date_joined.strftime("%Y-%m-%d"),
            "date_joined_1": world.dealer.date_joined.strftime("%H:%M:%S"),
            "groups": [],
            "user_permissions": [],
        }
    )
    data.pop("is_active", None)  # an unticked checkbox is not sent
    data.pop("last_login", None)
    data.pop("password", None)
    response = admin.post(f"/admin/core/user/{world.dealer.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    User.objects.filter(pk=world.dealer.pk).update(is_active=True)
    assert not _works(token)


def test_the_schema_describes_the_token_endpoints(db):
    paths = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    assert "get" in paths["/api/v1/auth/tokens/"]
    assert "delete" in paths["/api/v1/auth/tokens/{id}/"]
    assert "post" in paths["/api/v1/auth/logout/"]
