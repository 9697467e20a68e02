"""`celery -A config worker` and `celery -A config beat` run for real, on Redis and PostgreSQL."""

import datetime as dt
import time

import pytest
from django.utils import timezone

from core.models import IdempotencyKey
from core.tasks import prune_idempotency_keys
from tests.processes import running

pytestmark = pytest.mark.integration


def _wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_a_real_worker_runs_the_housekeeping_task(transactional_db, tmp_path):
    stale = IdempotencyKey.objects.create(principal="user:1", key="old", fingerprint="f", status_code=201)
    IdempotencyKey.objects.filter(pk=stale.pk).update(created_at=timezone.now() - dt.timedelta(days=30))
    fresh = IdempotencyKey.objects.create(principal="user:1", key="new", fingerprint="f", status_code=201)

    args = ["celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "INFO", "-Q", "celery"]
    with running(args, log=tmp_path / "worker.log") as worker:
        prune_idempotency_keys.delay()
        gone = _wait_for(lambda: not IdempotencyKey.objects.filter(pk=stale.pk).exists())
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
    assert gone, (tmp_path / "worker.log").read_text()
    assert IdempotencyKey.objects.filter(pk=fresh.pk).exists()


def test_beat_starts_and_keeps_its_schedule(transactional_db, tmp_path):
    schedule = tmp_path / "beat-schedule"
    args = ["celery", "-A", "config", "beat", "--loglevel", "INFO", "--schedule", str(schedule)]
    with running(args, log=tmp_path / "beat.log") as beat:
        started = _wait_for(lambda: "beat: Starting" in (tmp_path / "beat.log").read_text(errors="replace"), 30)
        time.sleep(1)
        assert beat.poll() is None, (tmp_path / "beat.log").read_text()
    assert started, (tmp_path / "beat.log").read_text()
    assert any(p.name.startswith("beat-schedule") for p in tmp_path.iterdir())
