"""Department subscriptions API: departments manage their own; the secret is shown once; the webhook log."""

import pytest
from django.test import Client

from alerts.models import DepartmentSubscription, WebhookDelivery
from alerts.webhooks import webhooks_send_due
from core.models import AuditEntry, OrganizationKind, User
from tests.alerts.conftest import drain, fit
from tests.conftest import _member, api_client
from tests.factories import UserFactory

URL = "/api/v1/alert-subscriptions/"


@pytest.fixture
def police(world):
    return world.police


def _create(user, body=None, **headers):
    if body is None:
        body = {"categories": ["battery", "speed"], "webhook_url": "https://119.example.gov.cn/hooks/ebike"}
    return api_client(user).post(URL, body, format="json", **headers)


def test_a_department_admin_subscribes_and_sees_the_secret_once(fire):
    response = _create(fire)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["categories"] == ["battery", "speed"]
    assert body["webhook_url"] == "https://119.example.gov.cn/hooks/ebike" and body["active"] is True
    assert body["organization"] == {"id": fire.organization_id, "name": fire.organization.name}
    assert len(body["secret"]) >= 40
    stored = DepartmentSubscription.objects.get(pk=body["id"])
    assert stored.secret == body["secret"] and stored.organization == fire.organization

    client = api_client(fire)
    detail = client.get(f"{URL}{body['id']}/").json()
    assert "secret" not in detail and detail["categories"] == ["battery", "speed"]
    listed = client.get(URL).json()["results"]
    assert {s["id"] for s in listed} == set(
        DepartmentSubscription.objects.filter(organization=fire.organization).values_list("pk", flat=True)
    )
    assert all("secret" not in s for s in listed)
    assert AuditEntry.objects.filter(action="alerts.subscription_created", actor=fire).count() == 1


def test_creation_is_idempotent(fire):
    first = _create(fire, HTTP_IDEMPOTENCY_KEY="sub-1")
    second = _create(fire, HTTP_IDEMPOTENCY_KEY="sub-1")
    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true" and first.json() == second.json()
    assert DepartmentSubscription.objects.filter(webhook_url__contains="119.example").count() == 1
    other = _create(fire, {"categories": ["motor"]}, HTTP_IDEMPOTENCY_KEY="sub-1")
    assert other.status_code == 409 and other.json()["error"]["code"] == "idempotency_key_reused"


def test_categories_are_deduplicated_and_a_webhook_is_optional(fire):
    response = _create(fire, {"categories": ["speed", "battery", "speed"]})
    assert response.status_code == 201
    assert response.json()["categories"] == ["battery", "speed"] and response.json()["webhook_url"] == ""


def test_another_department_gets_404_and_sees_only_its_own(fire, police):
    subscription = fire.organization.alert_subscriptions.get()
    client = api_client(police)
    assert client.get(URL).json()["results"] == []
    for call in (
        lambda: client.get(f"{URL}{subscription.pk}/"),
        lambda: client.patch(f"{URL}{subscription.pk}/", {"active": False}, format="json"),
        lambda: client.delete(f"{URL}{subscription.pk}/"),
        lambda: client.get(f"{URL}{subscription.pk}/deliveries/"),
    ):
        response = call()
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    subscription.refresh_from_db()
    assert subscription.active is True


def test_only_departments_have_subscriptions_and_only_their_admins_change_them(world, fire):
    for outsider in (world.city_regulator, world.dealer, world.superuser):
        assert api_client(outsider).get(URL).status_code == 403, outsider
        assert _create(outsider).status_code == 403
    assert api_client().get(URL).status_code == 401
    staff = UserFactory(organization=fire.organization, role=User.Role.STAFF)
    assert api_client(staff).get(URL).status_code == 200
    response = _create(staff)
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
    subscription = fire.organization.alert_subscriptions.get()
    assert api_client(staff).delete(f"{URL}{subscription.pk}/").status_code == 403
    suspended = _member(OrganizationKind.FIRE, "371402", name="停用消防", status="suspended")
    assert api_client(suspended).get(URL).status_code in {401, 403}


@pytest.mark.parametrize(
    "body",
    [
        {"categories": ["battery"], "webhook_url": "ftp://example.com/hook"},
        {"categories": ["battery"], "webhook_url": "javascript:alert(1)"},
        {"categories": ["battery"], "webhook_url": "not a url"},
        {"categories": ["battery"], "webhook_url": "https://user:pw@example.com/hook"},
        {"categories": ["battery"], "webhook_url": "https://example.com/" + "x" * 300},
        {"categories": []},
        {"categories": ["nope"]},
        {"categories": "battery"},
        {},
    ],
)
def test_bad_input_is_400(fire, body):
    response = _create(fire, body)
    assert response.status_code == 400, body
    assert response.json()["error"]["fields"]
    assert DepartmentSubscription.objects.count() == 1  # the fixture's own


def test_change_rotate_and_delete(fire):
    created = _create(fire).json()
    client, url = api_client(fire), f"{URL}{created['id']}/"
    response = client.patch(url, {"categories": ["motor"], "active": False}, format="json")
    assert response.status_code == 200 and "secret" not in response.json()
    assert response.json()["categories"] == ["motor"] and response.json()["active"] is False
    assert client.patch(url, {"webhook_url": "gopher://x"}, format="json").status_code == 400

    rotated = client.patch(url, {"rotate_secret": True}, format="json").json()
    assert rotated["secret"] and rotated["secret"] != created["secret"]
    assert DepartmentSubscription.objects.get(pk=created["id"]).secret == rotated["secret"]

    assert client.delete(url).status_code == 204
    assert not DepartmentSubscription.objects.filter(pk=created["id"]).exists()
    assert client.delete(url).status_code == 404


def test_the_delivery_log(chain, sold, fire, shop):
    subscription = fire.organization.alert_subscriptions.get()
    subscription.webhook_url, subscription.secret = "http://127.0.0.1:9/nothing-listens-here", "s"
    subscription.save()
    fit(sold, chain.battery(model=chain.other_battery_model), shop)
    drain()
    assert webhooks_send_due() == 0  # refused connection: retried later

    response = api_client(fire).get(f"{URL}{subscription.pk}/deliveries/")
    assert response.status_code == 200
    [row] = response.json()["results"]
    delivery = WebhookDelivery.objects.get()
    assert row["alert"] == delivery.alert_id and row["status"] == "pending" and row["attempts"] == 1
    assert row["last_status_code"] is None and row["last_error"] and row["next_attempt_at"]
    assert api_client(fire).get(f"{URL}{subscription.pk}/deliveries/", {"status": "delivered"}).json()["results"] == []
    assert api_client(fire).get(f"{URL}{subscription.pk}/").json()["pending"] == 1


def test_the_schema_documents_the_routes_and_the_signature(db):
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    for path in (URL, f"{URL}{{id}}/", f"{URL}{{id}}/deliveries/"):
        assert path in paths, path
    assert {"get", "post"} <= set(paths[URL]) and {"get", "patch", "delete"} <= set(paths[f"{URL}{{id}}/"])
    assert "X-Ebike-Signature" in paths[URL]["post"]["description"]
    assert "HMAC-SHA256" in paths[URL]["post"]["description"]
