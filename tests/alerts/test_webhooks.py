"""Outbound notifications: a real HTTP endpoint receives each shared alert, signed; a failing one is retried with
backoff and given up after MAX_ATTEMPTS; high-severity alerts are mailed to the regulator, never breaking anything."""

import datetime as dt
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.utils import timezone

from alerts.models import Alert, WebhookDelivery
from alerts.notifications import notify_dispatched
from alerts.webhooks import MAX_ATTEMPTS, SIGNATURE_HEADER, backoff, webhooks_send_due
from tests.alerts.conftest import drain, fit, repaired
from tests.conftest import api_client


class Endpoint:
    """A department's system: records each request and answers with the status codes it is told to."""

    def __init__(self, statuses=(200,), headers=None):
        self.requests: list[dict] = []
        self.statuses = list(statuses)
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                endpoint.requests.append(
                    {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
                )
                code = endpoint.statuses.pop(0) if len(endpoint.statuses) > 1 else endpoint.statuses[0]
                self.send_response(code)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            do_GET = do_POST  # a client that follows a redirect may come back with a GET

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/ebike"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture(autouse=True)
def _local_receivers_allowed(settings):
    """The receivers of these tests listen on 127.0.0.1, an address the platform otherwise refuses to call: allowed
    here as an administrator allows the hosts of a closed government network."""
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]


@pytest.fixture
def endpoint():
    with Endpoint() as running:
        yield running


def _subscribe(fire, url) -> dict:
    """The fire brigade replaces its subscription with one that pushes to `url`, through the API."""
    fire.organization.alert_subscriptions.all().delete()
    response = api_client(fire).post(
        "/api/v1/alert-subscriptions/", {"categories": ["battery"], "webhook_url": url}, format="json"
    )
    assert response.status_code == 201
    return response.json()


def _raise_battery_alert(chain, sold, shop) -> Alert:
    fit(sold, chain.battery(model=chain.other_battery_model), shop)
    drain()
    return Alert.objects.get()


def test_the_department_receives_the_alert_as_signed_json(chain, sold, fire, shop, endpoint):
    subscription = _subscribe(fire, endpoint.url)
    alert = _raise_battery_alert(chain, sold, shop)
    assert webhooks_send_due() == 1

    [received] = endpoint.requests
    assert received["path"] == "/hooks/ebike"
    assert received["headers"]["Content-Type"] == "application/json"
    body = json.loads(received["body"])
    assert (body["id"], body["rule"], body["category"], body["severity"]) == (
        alert.pk,
        "MOD_BATTERY_NONSTANDARD",
        "battery",
        "high",
    )
    assert body["subject"] == {
        "frame_no": sold.frame_no,
        "battery_serial": alert.battery_serial,
        "organization": shop.organization_id,
    }
    assert body["evidence"]["reasons"] == ["not_a_certified_pair"] and body["region_code"] == "371402"
    for moment in ("created_at", "dispatched_at", "due_at"):  # one form of time, as in the API: local offset
        assert body[moment].endswith("+08:00"), body[moment]

    # The signature, checked as the docs tell integrators to: HMAC-SHA256(secret, "<t>.<raw body>").
    fields = dict(part.split("=", 1) for part in received["headers"][SIGNATURE_HEADER].split(","))
    expected = hmac.new(
        subscription["secret"].encode(), f"{fields['t']}.".encode() + received["body"], hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(fields["v1"], expected)
    assert abs(int(fields["t"]) - time.time()) < 60
    forged = hmac.new(b"another secret", f"{fields['t']}.".encode() + received["body"], hashlib.sha256).hexdigest()
    assert not hmac.compare_digest(fields["v1"], forged)

    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    assert delivery.delivered_at is not None
    assert webhooks_send_due() == 0 and len(endpoint.requests) == 1  # delivered once
    log = api_client(fire).get(f"/api/v1/alert-subscriptions/{subscription['id']}/deliveries/").json()["results"]
    assert [(row["alert"], row["status"], row["last_status_code"]) for row in log] == [(alert.pk, "delivered", 200)]


def test_a_category_the_department_did_not_subscribe_to_is_not_pushed(chain, sold, fire, shop, endpoint):
    _subscribe(fire, endpoint.url)
    repaired(sold, shop, kind="speed_limiter")  # speed: police business, not fire
    drain()
    assert Alert.objects.get().rule == "MOD_SPEED_UNLOCK"
    assert webhooks_send_due() == 0 and endpoint.requests == [] and not WebhookDelivery.objects.exists()


def _due_now(delivery: WebhookDelivery) -> None:
    """Let the clock run on to the next attempt."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))


def test_a_failing_endpoint_is_retried_with_backoff_then_given_up(chain, sold, fire, shop):
    with Endpoint(statuses=(500,)) as failing:
        _subscribe(fire, failing.url)
        _raise_battery_alert(chain, sold, shop)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            before = timezone.now()
            assert webhooks_send_due() == 0
            delivery = WebhookDelivery.objects.get()
            assert delivery.attempts == attempt and delivery.last_status_code == 500
            assert len(failing.requests) == attempt
            if attempt < MAX_ATTEMPTS:
                assert delivery.status == "pending"
                wait = delivery.next_attempt_at - before
                assert backoff(attempt) <= wait <= backoff(attempt) + dt.timedelta(seconds=5), (attempt, wait)
                assert webhooks_send_due() == 0 and len(failing.requests) == attempt  # not due yet
                _due_now(delivery)
        assert delivery.status == "failed" and delivery.delivered_at is None
        assert [backoff(n).total_seconds() for n in (1, 2, 3)] == [30, 60, 120]

        _due_now(delivery)
        assert webhooks_send_due() == 0 and len(failing.requests) == MAX_ATTEMPTS  # given up: no more tries
    log = api_client(fire).get(f"/api/v1/alert-subscriptions/{delivery.subscription_id}/deliveries/").json()
    assert log["results"][0]["status"] == "failed" and log["results"][0]["attempts"] == MAX_ATTEMPTS


def test_an_endpoint_that_recovers_gets_the_alert_on_a_retry(chain, sold, fire, shop):
    with Endpoint(statuses=(503, 200)) as flaky:
        _subscribe(fire, flaky.url)
        _raise_battery_alert(chain, sold, shop)
        assert webhooks_send_due() == 0
        _due_now(WebhookDelivery.objects.get())
        assert webhooks_send_due() == 1
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 2, 200)
    assert flaky.requests[0]["body"] == flaky.requests[1]["body"]


# --- e-mail ---------------------------------------------------------------------------------------------------


@pytest.fixture
def mailbox(chain):
    regulator = chain.world.district_regulator
    regulator.email = "dc-duty@example.gov.cn"
    regulator.save(update_fields=["email"])
    mail.outbox.clear()
    return regulator


def test_a_high_severity_alert_is_mailed_to_the_regulator_once(chain, sold, fire, shop, mailbox, settings):
    settings.SITE_URL = "https://ebike.example.gov.cn"
    alert = _raise_battery_alert(chain, sold, shop)
    assert notify_dispatched([alert.pk]) == 1
    [message] = mail.outbox
    assert message.to == ["dc-duty@example.gov.cn"]
    assert f"#{alert.pk}" in message.subject and sold.frame_no in message.subject
    assert f"https://ebike.example.gov.cn/alerts/{alert.pk}/" in message.body
    assert alert.battery_serial in message.body
    assert notify_dispatched([alert.pk]) == 0 and len(mail.outbox) == 1  # a retried task does not mail twice


def test_medium_alerts_and_regulators_without_an_address_get_no_mail(chain, sold, shop, mailbox):
    repaired(sold, shop, kind="brake_tyre", shop_qualified=False)  # SHOP_UNQUALIFIED: medium
    drain()
    assert notify_dispatched(Alert.objects.values_list("pk", flat=True)) == 0
    mailbox.email = ""
    mailbox.save(update_fields=["email"])
    fit(sold, chain.battery(model=chain.other_battery_model), shop)
    drain()
    assert notify_dispatched(Alert.objects.values_list("pk", flat=True)) == 0
    assert mail.outbox == []
    assert notify_dispatched([]) == 0 and notify_dispatched([987654321]) == 0


def test_a_mail_server_that_is_down_breaks_nothing_and_a_retry_sends(chain, sold, fire, shop, mailbox, monkeypatch):
    alert = _raise_battery_alert(chain, sold, shop)

    def refused(self, *args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    with monkeypatch.context() as patched:
        patched.setattr(EmailMessage, "send", refused)
        assert notify_dispatched([alert.pk]) == 0  # logged, not raised
    with monkeypatch.context() as patched:
        patched.setattr("alerts.notifications._recipients", lambda ids: 1 / 0)
        assert notify_dispatched([alert.pk]) == 0  # whatever goes wrong
    assert mail.outbox == []
    assert notify_dispatched([alert.pk]) == 1 and len(mail.outbox) == 1  # the retry sends
