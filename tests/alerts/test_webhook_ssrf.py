"""Webhook URLs may not reach the platform's own network (SSRF): internal addresses are refused when a subscription
is saved and again when each delivery is sent, the connection goes to the address that was checked (DNS rebinding),
redirects are not followed, and the delivery log shows a generic error, never the raw one. An administrator's
allow-list opens the hosts of a closed government network.

No test here needs real DNS: `localhost` and numeric hosts resolve locally, other names come from the `dns` table.
"""

import datetime as dt
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.test import Client

from alerts.models import DepartmentSubscription, WebhookDelivery
from alerts.webhooks import webhooks_send_due
from tests.alerts.test_webhooks import Endpoint, _raise_battery_alert
from tests.conftest import api_client

URL = "/api/v1/alert-subscriptions/"
PUBLIC = "123.57.10.20"  # a public address; never connected to in these tests

INTERNAL_URLS = [
    "http://127.0.0.1:8080/hook",
    "https://127.0.0.1/hook",
    "http://localhost:8000/hook",
    "http://[::1]:8080/hook",
    "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped IPv6
    "http://[::ffff:10.1.2.3]/hook",
    "http://10.0.0.5/hook",
    "http://172.16.3.4/hook",
    "http://192.168.1.1/hook",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://100.64.0.1/hook",  # shared address space (carrier NAT)
    "http://0.0.0.0:8000/hook",
    "http://[::]/hook",
    "http://[fe80::1]/hook",
    "http://[fd12:3456::1]/hook",
    "http://224.0.0.251/hook",
    "http://[ff02::1]/hook",
    "http://240.0.0.1/hook",
    "http://255.255.255.255/hook",
    "http://[2002:7f00:1::1]/hook",  # 6to4 around 127.0.0.1
    "http://[64:ff9b::a00:1]/hook",  # NAT64 around 10.0.0.1
]


@pytest.fixture
def dns(monkeypatch):
    """The platform's resolver answered from a table, {host: [addresses]}; a name not in it does not resolve."""
    table: dict[str, list[str]] = {}

    def resolve(host: str, port: int) -> list[str]:
        if host.lower() not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(table[host.lower()])

    monkeypatch.setattr("alerts.webhook_targets.resolve", resolve)
    return table


def _create(user, webhook_url: str):
    return api_client(user).post(URL, {"categories": ["battery"], "webhook_url": webhook_url}, format="json")


def _refused(response) -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "webhook_url_not_allowed"
    assert list(error["fields"]) == ["webhook_url"]


# --- when a subscription is saved -------------------------------------------------------------------------------


@pytest.mark.parametrize("webhook_url", INTERNAL_URLS)
def test_an_internal_address_is_refused_when_subscribing(fire, webhook_url):
    _refused(_create(fire, webhook_url))
    assert not DepartmentSubscription.objects.exclude(webhook_url="").exists()


def test_an_internal_address_is_refused_when_changing_a_subscription(fire):
    subscription = fire.organization.alert_subscriptions.get()
    client = api_client(fire)
    for webhook_url in ("http://localhost/hook", "http://[::1]/hook", "http://192.168.0.10/hook"):
        _refused(client.patch(f"{URL}{subscription.pk}/", {"webhook_url": webhook_url}, format="json"))
    subscription.refresh_from_db()
    assert subscription.webhook_url == ""


def test_a_name_that_resolves_to_an_internal_address_is_refused(fire, dns):
    dns["intranet.119.example.gov.cn"] = ["10.8.0.5"]
    dns["mixed.119.example.gov.cn"] = [PUBLIC, "127.0.0.1"]  # one bad answer is enough
    dns["v6.119.example.gov.cn"] = ["::ffff:192.168.1.20"]
    for host in dns:
        _refused(_create(fire, f"https://{host}/hooks/ebike"))
    assert not DepartmentSubscription.objects.exclude(webhook_url="").exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.1/hook",
        "http://2130706433/hook",
        "http://0x7f000001/hook",
        "http://017700000001/hook",
        "http://LOCALHOST./hook",
        "http://api.localhost/hook",
        "http://[::ffff:7f00:1]/hook",
        "http://[0:0:0:0:0:ffff:a9fe:a9fe]/latest/meta-data/",
    ],
)
def test_odd_spellings_of_internal_hosts_are_refused_when_sending(db, url, settings):
    """Forms the API's URL check already refuses, but that could be saved in the admin: the resolver reads them as
    the addresses they are."""
    from alerts.webhook_targets import TargetRefused, target_vet

    settings.WEBHOOK_ALLOWED_HOSTS = []
    with pytest.raises(TargetRefused) as refused:
        target_vet(url)
    assert refused.value.reason == "address not allowed"


def test_a_public_address_is_accepted(fire, dns):
    dns["hooks.119.example.gov.cn"] = [PUBLIC, "2400:3200::1"]
    response = _create(fire, "https://hooks.119.example.gov.cn/hooks/ebike")
    assert response.status_code == 201, response.content
    assert response.json()["webhook_url"] == "https://hooks.119.example.gov.cn/hooks/ebike"


def test_the_refusal_is_in_chinese_for_a_chinese_client(fire):
    response = api_client(fire).post(
        URL,
        {"categories": ["battery"], "webhook_url": "http://127.0.0.1/hook"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    _refused(response)
    assert "内网" in response.json()["error"]["fields"]["webhook_url"][0]


def test_the_allow_list_opens_named_hosts_and_networks_of_a_closed_network(fire, dns, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.zw.internal", ".fire.zw.internal", "10.20.0.0/16", "fd00:119::/32"]
    dns["hooks.zw.internal"] = ["10.99.0.7"]
    dns["dz.fire.zw.internal"] = ["192.168.5.5"]
    dns["other.zw.internal"] = ["192.168.5.6"]
    for allowed in (
        "https://hooks.zw.internal/hook",
        "https://HOOKS.ZW.INTERNAL./hook",
        "https://dz.fire.zw.internal/hook",
        "http://10.20.1.2:8080/hook",
        "http://[fd00:119::5]/hook",
    ):
        assert _create(fire, allowed).status_code == 201, allowed
    for refused in ("https://other.zw.internal/hook", "http://10.21.0.1/hook", "http://127.0.0.1/hook"):
        _refused(_create(fire, refused))


def test_the_refusal_reaches_neither_another_department_nor_the_public(fire, world):
    """Nothing about the check is a way in: another department gets 404 on the subscription, the public 401."""
    subscription = fire.organization.alert_subscriptions.get()
    response = api_client(world.police).patch(
        f"{URL}{subscription.pk}/", {"webhook_url": "http://127.0.0.1/"}, format="json"
    )
    assert response.status_code == 404
    assert api_client().post(URL, {"categories": ["battery"], "webhook_url": "http://127.0.0.1/"}).status_code == 401


# --- when a delivery is sent ------------------------------------------------------------------------------------


def _subscribed_behind_the_check(fire, url: str) -> DepartmentSubscription:
    """A URL saved past the check: set in the admin, or a name whose DNS answer changed since."""
    subscription = fire.organization.alert_subscriptions.get()
    subscription.webhook_url, subscription.secret = url, "s3cret"
    subscription.save()
    return subscription


def _log(user, subscription) -> list[dict]:
    response = api_client(user).get(f"{URL}{subscription.pk}/deliveries/")
    assert response.status_code == 200
    return response.json()["results"]


def test_an_internal_address_is_not_called_when_sending(chain, sold, fire, shop, world):
    with Endpoint() as receiver:
        subscription = _subscribed_behind_the_check(fire, receiver.url)
        _raise_battery_alert(chain, sold, shop)
        assert webhooks_send_due() == 0
        assert receiver.requests == []
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, None)
    assert delivery.last_error == "address not allowed"
    [row] = _log(fire, subscription)
    assert row["last_error"] == "address not allowed"
    assert api_client(world.police).get(f"{URL}{subscription.pk}/deliveries/").status_code == 404


def test_dns_rebinding_after_the_check_is_refused_when_sending(chain, sold, fire, shop, dns):
    with Endpoint() as receiver:
        dns["hooks.119.example.gov.cn"] = [PUBLIC]
        response = _create(fire, f"http://hooks.119.example.gov.cn:{receiver.port}/hooks/ebike")
        assert response.status_code == 201
        dns["hooks.119.example.gov.cn"] = ["127.0.0.1"]  # the name now points inside
        _raise_battery_alert(chain, sold, shop)
        assert webhooks_send_due() == 0
        assert receiver.requests == []
    assert WebhookDelivery.objects.get().last_error == "address not allowed"


def test_the_connection_goes_to_the_address_that_was_checked_with_the_names_host_header(
    chain, sold, fire, shop, dns, settings
):
    """The name is resolved once, by the check; the connection is made to that address (the system's resolver does
    not know the name at all, so a second look-up would fail), and the request still names the host."""
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.zw.internal"]
    dns["hooks.zw.internal"] = ["127.0.0.1"]
    with Endpoint() as receiver:
        url = f"http://hooks.zw.internal:{receiver.port}/hooks/ebike?from=ebike"
        assert _create(fire, url).status_code == 201
        _raise_battery_alert(chain, sold, shop)
        assert webhooks_send_due() == 1
    [received] = receiver.requests
    assert received["method"] == "POST" and received["path"] == "/hooks/ebike?from=ebike"
    assert received["headers"]["Host"] == f"hooks.zw.internal:{receiver.port}"


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_a_redirect_is_not_followed_and_counts_as_a_failed_attempt(chain, sold, fire, shop, settings, code):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    with Endpoint() as inside, Endpoint(statuses=(code,), headers={"Location": inside.url}) as outside:
        _subscribed_behind_the_check(fire, outside.url)
        _raise_battery_alert(chain, sold, shop)
        assert webhooks_send_due() == 0
        assert len(outside.requests) == 1 and inside.requests == []
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, code)
    assert delivery.last_error == "redirect not followed"


# --- what the delivery log says ---------------------------------------------------------------------------------


def _listening_then_closed() -> int:
    """A local port where nothing listens (any more)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_refused_connection_is_logged_as_connection_refused(chain, sold, fire, shop, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    subscription = _subscribed_behind_the_check(fire, f"http://127.0.0.1:{_listening_then_closed()}/hook")
    _raise_battery_alert(chain, sold, shop)
    assert webhooks_send_due() == 0
    [row] = _log(fire, subscription)
    assert (row["status"], row["attempts"], row["last_status_code"]) == ("pending", 1, None)
    assert row["last_error"] == "connection refused"


def test_a_silent_endpoint_is_logged_as_timed_out(chain, sold, fire, shop, settings, monkeypatch):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    monkeypatch.setattr("alerts.webhooks.TIMEOUT", 0.3)
    with socket.socket() as silent:  # accepts connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        subscription = _subscribed_behind_the_check(fire, f"http://127.0.0.1:{silent.getsockname()[1]}/hook")
        _raise_battery_alert(chain, sold, shop)
        assert webhooks_send_due() == 0
    [row] = _log(fire, subscription)
    assert row["last_error"] == "timed out" and row["last_status_code"] is None


def test_an_error_status_is_logged_as_its_code(chain, sold, fire, shop, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    with Endpoint(statuses=(500,)) as failing:
        subscription = _subscribed_behind_the_check(fire, failing.url)
        _raise_battery_alert(chain, sold, shop)
        assert webhooks_send_due() == 0
    [row] = _log(fire, subscription)
    assert (row["last_status_code"], row["last_error"]) == (500, "HTTP 500")


def test_a_name_that_does_not_resolve_is_logged_as_host_not_found(chain, sold, fire, shop, dns):
    subscription = _subscribed_behind_the_check(fire, "https://gone.119.example.gov.cn/hook")
    _raise_battery_alert(chain, sold, shop)
    assert webhooks_send_due() == 0
    [row] = _log(fire, subscription)
    assert row["last_error"] == "host not found"


def test_an_error_logged_before_the_fix_is_shown_generically(chain, sold, fire, shop):
    subscription = _subscribed_behind_the_check(fire, "http://127.0.0.1:9/hook")
    _raise_battery_alert(chain, sold, shop)
    WebhookDelivery.objects.update(last_error="<urlopen error [Errno 111] Connection refused> at 10.0.3.7:5432")
    [row] = _log(fire, subscription)
    assert row["last_error"] == "delivery failed"


# --- TLS: the certificate of the name, the name in SNI ----------------------------------------------------------


def _certificate(name: str, issuer_key=None, issuer_name=None):
    """A key and certificate for `name`, signed by the issuer (or self-signed: a CA)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name or subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
    )
    builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key((issuer_key or key).public_key()), critical=False
    )
    if issuer_key is None:
        builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        builder = builder.add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
    else:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
    return key, builder.sign(issuer_key or key, hashes.SHA256())


class TlsEndpoint:
    """An HTTPS receiver on 127.0.0.1 holding a certificate for `name`; it records the SNI each client sent."""

    def __init__(self, name: str, tmp_path):
        ca_key, self.ca = _certificate("Test Government CA")
        key, cert = _certificate(name, ca_key, self.ca.subject)
        cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        self.server_names: list[str | None] = []
        self.requests: list[str] = []
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        context.sni_callback = lambda sock, server_name, ctx: self.server_names.append(server_name)
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                endpoint.requests.append(self.headers["Host"])
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def trusted(self) -> ssl.SSLContext:
        """What the platform's TLS context would be if this test CA were among the system's."""
        return ssl.create_default_context(cadata=self.ca.public_bytes(serialization.Encoding.PEM).decode())

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def test_https_is_pinned_to_the_checked_address_and_verifies_the_names_certificate(
    chain, sold, fire, shop, dns, settings, monkeypatch, tmp_path
):
    settings.WEBHOOK_ALLOWED_HOSTS = ["hooks.zw.internal", "wrong.zw.internal"]
    dns["hooks.zw.internal"] = dns["wrong.zw.internal"] = ["127.0.0.1"]
    with TlsEndpoint("hooks.zw.internal", tmp_path) as receiver:
        monkeypatch.setattr("alerts.webhooks.tls_context", receiver.trusted)
        subscription = _subscribed_behind_the_check(fire, f"https://hooks.zw.internal:{receiver.port}/hook")
        _raise_battery_alert(chain, sold, shop)
        assert webhooks_send_due() == 1
        assert receiver.server_names == ["hooks.zw.internal"]
        assert receiver.requests == [f"hooks.zw.internal:{receiver.port}"]

        # The same address under a name the certificate does not carry: refused by the client, generically.
        subscription.webhook_url = f"https://wrong.zw.internal:{receiver.port}/hook"
        subscription.save()
        delivery = WebhookDelivery.objects.get()
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status="pending", attempts=0)
        assert webhooks_send_due() == 0
        assert len(receiver.requests) == 1
    [row] = _log(fire, subscription)
    assert row["last_error"] == "TLS certificate not valid"


# --- the contract -----------------------------------------------------------------------------------------------


def test_the_schema_describes_the_refusal_and_the_generic_errors(db):
    schema = Client().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    post = schema["paths"][URL]["post"]
    assert "webhook_url_not_allowed" in post["description"]
    assert "WEBHOOK_ALLOWED_HOSTS" in post["description"]
    delivery = schema["components"]["schemas"]["WebhookDeliveryOut"]["properties"]["last_error"]
    for text in ("address not allowed", "connection refused", "timed out", "redirect not followed", "HTTP 500"):
        assert text in delivery["description"], text
