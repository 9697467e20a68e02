"""The battery scenario end to end, with a real Celery worker and a real HTTP receiver for the webhook:

a repair fits a battery outside the model's certified pairs → MOD_BATTERY_NONSTANDARD in the inbox of the district
regulator and of the city regulator above it, not in another district's; the subscribed fire department gets a
signed webhook; the shop submits its rectification, the regulator verifies and closes, every step recorded.
"""

import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from alerts.models import Alert, DepartmentSubscription
from core.models import OrganizationKind
from tests.conftest import _member, api_client
from tests.processes import running, wait_until

pytestmark = pytest.mark.integration


class Receiver(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_nonstandard_battery_from_repair_to_closed_loop(transactional_db, chain, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    from tests.repairs.conftest import Workshop, repair_shop

    workshop = Workshop(
        chain=chain,
        shop=repair_shop("371402", name="德城区诚信电动车维修部"),
        other_shop=repair_shop("371403", name="陵城区电动车维修点"),
    )
    vehicle, (pack,) = workshop.bike()
    foreign = workshop.spare_battery(model=chain.other_battery_model)

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    Receiver.received = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    fire = _member(OrganizationKind.FIRE, "371400", name="德州市消防救援支队")
    DepartmentSubscription.objects.create(
        organization=fire.organization,
        categories=["battery"],
        webhook_url=f"http://127.0.0.1:{server.server_port}/hook",
        secret="s3cret",
    )

    args = [
        "celery",
        "-A",
        "config",
        "worker",
        "-B",
        "--pool",
        "solo",
        "--loglevel",
        "INFO",
        # Beat's schedule in memory: these tests need no last-run times kept across restarts, and the default
        # shelve file (SQLite on Python 3.13) can fail to open under a loaded machine ("locking protocol").
        "--scheduler",
        "celery.beat:Scheduler",
    ]
    try:
        # The receiver listens on 127.0.0.1, which webhooks may call only where the administrator allows it.
        with running(args, log=tmp_path / "worker.log", WEBHOOK_ALLOWED_HOSTS="127.0.0.1"):
            response = api_client(workshop.shop).post(
                "/api/v1/repairs/",
                {
                    "frame_no": vehicle.frame_no,
                    "vehicle_code": vehicle.code,  # the bike is at hand
                    "kind": "battery_replacement",
                    "removed_battery_serials": [pack.serial],
                    "fitted_battery_serials": [foreign.serial],
                    "notes": "换电池",
                },
                format="json",
            )
            assert response.status_code == 201, response.json()

            assert wait_until(lambda: Alert.objects.filter(rule="MOD_BATTERY_NONSTANDARD").exists()), (
                tmp_path / "worker.log"
            ).read_text()
            alert = Alert.objects.get(rule="MOD_BATTERY_NONSTANDARD")
            assert wait_until(lambda: Receiver.received, 60), (tmp_path / "worker.log").read_text()
    finally:
        server.shutdown()

    def inbox(user):
        return [a["id"] for a in api_client(user).get("/api/v1/alerts/").json()["results"]]

    assert alert.pk in inbox(chain.world.district_regulator)
    assert alert.pk in inbox(chain.world.city_regulator)
    assert alert.pk not in inbox(chain.world.other_district_regulator)
    assert alert.pk not in inbox(chain.world.other_city_regulator)
    assert alert.battery_serial == foreign.serial and alert.organization == workshop.shop.organization

    headers, body = Receiver.received[0]
    timestamp, signature = (part.split("=", 1)[1] for part in headers["X-Ebike-Signature"].split(","))
    expected = hmac.new(b"s3cret", f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(signature, expected)
    assert json.loads(body)["rule"] == "MOD_BATTERY_NONSTANDARD"

    def act(user, action, note=""):
        result = api_client(user).post(
            f"/api/v1/alerts/{alert.pk}/actions/", {"action": action, "note": note}, format="json"
        )
        assert result.status_code == 200, result.json()

    regulator = chain.world.district_regulator
    act(regulator, "request_rectification", "恢复标配电池")
    act(workshop.shop, "submit_rectification", "已换回标配电池")
    act(regulator, "verify", "核验通过")
    act(regulator, "close")
    history = api_client(regulator).get(f"/api/v1/alerts/{alert.pk}/").json()["history"]
    assert [h["action"] for h in history] == [
        "dispatch",
        "request_rectification",
        "submit_rectification",
        "verify",
        "close",
    ]
