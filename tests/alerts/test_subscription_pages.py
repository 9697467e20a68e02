"""A department's subscription pages: its administrator creates, changes, re-keys and deletes subscriptions (the
secret shown once), its members read them and their webhook delivery log; the API's rules apply, with the errors
next to the fields in Chinese; a second click changes nothing; nobody else sees a thing."""

import csv
import io
import re
import secrets

import pytest
from django.test import Client

from alerts.models import DepartmentSubscription, WebhookDelivery
from alerts.webhooks import webhooks_send_due
from core.models import AuditEntry, IdempotencyKey, OrganizationKind, User
from tests.alerts.conftest import drain, fit
from tests.conftest import _member
from tests.factories import PASSWORD, UserFactory

LIST = "/alerts/subscriptions/"
NEW = "/alerts/subscriptions/new/"
PUBLIC = "123.57.10.20"


def _client(user, language: str = "en") -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    client.cookies["django_language"] = language
    return client


def _token() -> str:
    return secrets.token_urlsafe(18)


def _html(response) -> str:
    return response.content.decode()


def _detail(subscription_id: int) -> str:
    return f"/alerts/subscriptions/{subscription_id}/"


def _secret(html: str) -> str | None:
    found = re.search(r'data-testid="secret">([^<]+)<', html)
    return found.group(1) if found else None


def _form(token=None, **values) -> dict:
    body = {"form_token": token or _token(), "categories": ["battery"], "webhook_url": "", "active": "on"}
    body.update(values)
    return {key: value for key, value in body.items() if value is not None}


@pytest.fixture
def dns(monkeypatch):
    """Names resolve from this table only (the machine has no outside DNS)."""
    table = {"hooks.119.example.gov.cn": [PUBLIC]}
    monkeypatch.setattr("alerts.webhook_targets.resolve", lambda host, port: list(table[host.lower()]))
    return table


@pytest.fixture
def subscription(fire):
    return fire.organization.alert_subscriptions.get()


@pytest.fixture
def staff(fire):
    """A member of the fire brigade who is not its administrator."""
    return UserFactory(organization=fire.organization, role=User.Role.STAFF)


# --- who gets in ------------------------------------------------------------------------------------------------


def test_the_department_home_opens_the_subscriptions_page(fire):
    html = _html(_client(fire).get("/"))
    card = re.search(r"<article>.*?Data feed.*?</article>", html, re.S).group(0)
    assert f'href="{LIST}"' in card and "coming soon" not in card


def test_the_anonymous_public_is_sent_to_log_in(subscription):
    client = Client()
    for url in (LIST, NEW, _detail(subscription.pk)):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response["Location"], url
    response = client.post(f"{_detail(subscription.pk)}delete/", {"form_token": _token()})
    assert response.status_code == 302 and "/login" in response["Location"]
    assert DepartmentSubscription.objects.filter(pk=subscription.pk).exists()


def test_enterprises_and_regulators_find_nothing_here(world, subscription):
    for outsider in (world.dealer, world.district_regulator, world.city_regulator):
        client = _client(outsider)
        for url in (LIST, NEW, _detail(subscription.pk)):
            assert client.get(url).status_code == 404, (outsider, url)
        for url in (
            NEW,
            _detail(subscription.pk),
            f"{_detail(subscription.pk)}secret/",
            f"{_detail(subscription.pk)}delete/",
        ):
            assert client.post(url, _form()).status_code == 404, (outsider, url)
    subscription.refresh_from_db()
    assert subscription.categories == ["battery"] and DepartmentSubscription.objects.count() == 1


def test_another_departments_subscription_is_not_found(world, subscription):
    police = world.police
    client = _client(police)
    assert "subscription-row" not in _html(client.get(LIST))
    detail = _detail(subscription.pk)
    assert client.get(detail).status_code == 404
    assert client.get(f"{detail}?export=csv").status_code == 404
    assert client.post(detail, _form(categories=["speed"])).status_code == 404
    assert client.post(f"{detail}secret/", {"form_token": _token()}).status_code == 404
    assert client.post(f"{detail}delete/", {"form_token": _token()}).status_code == 404
    before = subscription.secret
    subscription.refresh_from_db()
    assert (subscription.categories, subscription.secret) == (["battery"], before)


def test_a_member_reads_and_only_the_administrator_writes(staff, subscription):
    client = _client(staff)
    listed = _html(client.get(LIST))
    assert f'data-id="{subscription.pk}"' in listed and "new-subscription" not in listed
    detail = client.get(_detail(subscription.pk))
    assert detail.status_code == 200
    assert 'data-testid="deliveries"' in _html(detail) and "subscription-form" not in _html(detail)
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, _form()).status_code == 403
    assert client.post(_detail(subscription.pk), _form(categories=["speed"])).status_code == 403
    assert client.post(f"{_detail(subscription.pk)}secret/", {"form_token": _token()}).status_code == 403
    assert client.post(f"{_detail(subscription.pk)}delete/", {"form_token": _token()}).status_code == 403
    assert DepartmentSubscription.objects.count() == 1
    assert not AuditEntry.objects.filter(action__startswith="alerts.subscription_").exists()


# --- create, with the secret shown once -------------------------------------------------------------------------


def test_the_administrator_creates_a_subscription_and_sees_the_secret_once(fire, dns):
    client = _client(fire)
    empty_form = _html(client.get(NEW))
    assert 'name="form_token"' in empty_form and 'data-testid="category-battery"' in empty_form
    body = _form(categories=["speed", "battery"], webhook_url="https://hooks.119.example.gov.cn/hooks/ebike")
    response = client.post(NEW, body)
    assert response.status_code == 302
    created = DepartmentSubscription.objects.exclude(webhook_url="").get()
    assert response["Location"] == _detail(created.pk)
    assert created.organization == fire.organization and created.categories == ["battery", "speed"]
    assert created.active is True

    shown = client.get(response["Location"])
    assert _secret(_html(shown)) == created.secret and len(created.secret) >= 40
    assert "no-store" in shown["Cache-Control"]
    assert _secret(_html(client.get(response["Location"]))) is None  # once
    assert AuditEntry.objects.filter(action="alerts.subscription_created", actor=fire).count() == 1
    listed = _html(client.get(LIST))
    assert f'data-id="{created.pk}"' in listed and created.secret not in listed


def test_a_second_click_creates_nothing_more(fire):
    client = _client(fire)
    body = _form(categories=["motor"])
    first, second = client.post(NEW, body), client.post(NEW, body)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]
    assert DepartmentSubscription.objects.filter(categories=["motor"]).count() == 1
    assert (
        _secret(_html(client.get(first["Location"]))) == DepartmentSubscription.objects.get(categories=["motor"]).secret
    )


def test_errors_are_shown_next_to_the_fields_in_chinese_and_keep_what_was_typed(fire):
    client = _client(fire, language="zh-hans")
    token = _token()
    response = client.post(NEW, _form(token, categories=None, webhook_url="http://127.0.0.1:8080/hook"))
    assert response.status_code == 200
    html = _html(response)
    assert "内网" in re.search(r'data-testid="error-webhook_url"[^>]*>(.*?)</ul>', html, re.S).group(1)
    assert "至少" in re.search(r'data-testid="error-categories"[^>]*>(.*?)</ul>', html, re.S).group(1)
    assert 'value="http://127.0.0.1:8080/hook"' in html and f'value="{token}"' in html
    assert DepartmentSubscription.objects.count() == 1  # the fixture's own

    # The corrected form goes through with the same token: the refusal did not spend it.
    corrected = client.post(NEW, _form(token, categories=["battery"], webhook_url=""))
    assert corrected.status_code == 302 and DepartmentSubscription.objects.count() == 2


@pytest.mark.parametrize(
    "webhook_url",
    ["ftp://example.com/hook", "https://user:pw@example.com/hook", "not a url", "https://example.com/" + "x" * 300],
)
def test_the_pages_apply_the_apis_rules(fire, webhook_url):
    response = _client(fire).post(NEW, _form(webhook_url=webhook_url))
    assert response.status_code == 200 and 'data-testid="error-webhook_url"' in _html(response)
    assert DepartmentSubscription.objects.count() == 1


def test_an_out_of_date_form_is_refused_in_words(fire):
    response = _client(fire).post(NEW, _form(token="short"))
    assert response.status_code == 200 and "out of date" in _html(response)
    assert DepartmentSubscription.objects.count() == 1


# --- change, re-key, delete -------------------------------------------------------------------------------------


def test_the_administrator_changes_a_subscription(fire, subscription, dns):
    client = _client(fire)
    form = _html(client.get(_detail(subscription.pk)))
    assert re.search(r'value="battery"[^>]*checked', form)
    body = _form(categories=["battery", "complaint"], webhook_url="https://hooks.119.example.gov.cn/h", active=None)
    response = client.post(_detail(subscription.pk), body)
    assert response.status_code == 302 and response["Location"] == _detail(subscription.pk)
    subscription.refresh_from_db()
    assert subscription.categories == ["battery", "complaint"] and subscription.active is False
    assert subscription.webhook_url == "https://hooks.119.example.gov.cn/h"
    html = _html(client.get(_detail(subscription.pk)))
    assert "The subscription is saved." in html and _secret(html) is None

    refused = client.post(_detail(subscription.pk), _form(webhook_url="http://[::1]/hook"))
    assert refused.status_code == 200 and "internal network" in _html(refused)
    subscription.refresh_from_db()
    assert subscription.webhook_url == "https://hooks.119.example.gov.cn/h"


def test_a_new_secret_is_shown_once_and_a_second_click_issues_no_other(fire, subscription):
    old = subscription.secret
    client = _client(fire)
    body = {"form_token": _token()}
    first = client.post(f"{_detail(subscription.pk)}secret/", body)
    second = client.post(f"{_detail(subscription.pk)}secret/", body)
    assert first.status_code == second.status_code == 302
    subscription.refresh_from_db()
    assert subscription.secret != old
    assert _secret(_html(client.get(_detail(subscription.pk)))) == subscription.secret
    assert _secret(_html(client.get(_detail(subscription.pk)))) is None
    assert AuditEntry.objects.filter(action="alerts.subscription_changed", data__secret_rotated=True).count() == 1


def test_the_administrator_deletes_a_subscription_once(fire, subscription):
    client = _client(fire)
    body = {"form_token": _token()}
    first = client.post(f"{_detail(subscription.pk)}delete/", body)
    second = client.post(f"{_detail(subscription.pk)}delete/", body)
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"] == LIST
    assert not DepartmentSubscription.objects.filter(pk=subscription.pk).exists()
    assert IdempotencyKey.objects.filter(key=f"form:{body['form_token']}").count() == 1
    html = _html(client.get(LIST))
    assert "The subscription is deleted." in html and 'data-testid="empty"' in html
    assert client.get(_detail(subscription.pk)).status_code == 404


# --- the delivery log -------------------------------------------------------------------------------------------


@pytest.fixture
def refused_delivery(chain, sold, fire, shop, subscription):
    """A webhook to an internal address saved past the check (e.g. in the admin): refused when sent."""
    subscription.webhook_url, subscription.secret = "http://127.0.0.1:9/hook", "s3cret"
    subscription.save()
    fit(sold, chain.battery(model=chain.other_battery_model), shop)
    drain()
    assert webhooks_send_due() == 0
    return WebhookDelivery.objects.get()


def test_members_see_each_delivery_with_a_generic_error(staff, subscription, refused_delivery):
    client = _client(staff)
    html = _html(client.get(_detail(subscription.pk)))
    row = re.search(rf'data-testid="delivery-row" data-id="{refused_delivery.pk}".*?</tr>', html, re.S).group(0)
    assert 'data-status="pending"' in row and f"#{refused_delivery.alert_id}" in row
    assert re.search(r'data-testid="attempts">1 / 8<', row)
    assert re.search(r'data-testid="error">address not allowed<', row)
    assert 'data-count="1"' in html

    WebhookDelivery.objects.update(
        last_error="<urlopen error [Errno 111] Connection refused> 10.0.3.7", last_status_code=None
    )
    html = _html(client.get(_detail(subscription.pk)))
    assert "Errno" not in html and "10.0.3.7" not in html
    assert re.search(r'data-testid="error">delivery failed<', html)
    zh = _html(_client(staff, language="zh-hans").get(_detail(subscription.pk)))
    assert re.search(r'data-testid="error">推送失败<', zh)

    assert 'data-count="0"' in _html(client.get(_detail(subscription.pk), {"status": "delivered"}))
    assert 'data-count="1"' in _html(client.get(_detail(subscription.pk), {"status": "nonsense"}))


def test_the_delivery_log_exports_as_csv(fire, subscription, refused_delivery, world):
    response = _client(fire).get(_detail(subscription.pk), {"export": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:5] == ["Alert", "Status", "Attempts", "Last answer", "Error"]
    assert rows[1][:5] == [str(refused_delivery.alert_id), "pending", "1", "", "address not allowed"]
    assert _client(world.police).get(_detail(subscription.pk), {"export": "csv"}).status_code == 404


def test_a_suspended_department_has_no_page(world):
    suspended = _member(OrganizationKind.FIRE, "371402", name="停用消防", status="suspended")
    assert _client(suspended).get(LIST).status_code == 404
