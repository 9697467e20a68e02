"""`celery -A config worker` and `celery -A config beat` run for real, on Redis and PostgreSQL."""

import datetime as dt
import time

import pytest
from django.utils import timezone

from core.models import IdempotencyKey
from core.tasks import prune_idempotency_keys
from tests.processes import running, wait_until

pytestmark = pytest.mark.integration


def test_a_real_worker_runs_the_housekeeping_task(transactional_db, tmp_path):
    stale = IdempotencyKey.objects.create(principal="user:1", key="old", fingerprint="f", status_code=201)
    IdempotencyKey.objects.filter(pk=stale.pk).update(created_at=timezone.now() - dt.timedelta(days=30))
    fresh = IdempotencyKey.objects.create(principal="user:1", key="new", fingerprint="f", status_code=201)

    args = ["celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "INFO", "-Q", "celery"]
    with running(args, log=tmp_path / "worker.log") as worker:
        prune_idempotency_keys.delay()
        gone = wait_until(lambda: not IdempotencyKey.objects.filter(pk=stale.pk).exists())
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
    assert gone, (tmp_path / "worker.log").read_text()
    assert IdempotencyKey.objects.filter(pk=fresh.pk).exists()


def test_beat_starts_and_keeps_its_schedule(transactional_db, tmp_path):
    schedule = tmp_path / "beat-schedule"
    args = ["celery", "-A", "config", "beat", "--loglevel", "INFO", "--schedule", str(schedule)]
    with running(args, log=tmp_path / "beat.log") as beat:
        started = wait_until(lambda: "beat: Starting" in (tmp_path / "beat.log").read_text(errors="replace"), 30)
        time.sleep(1)
        assert beat.poll() is None, (tmp_path / "beat.log").read_text()
    assert started, (tmp_path / "beat.log").read_text()
    assert any(p.name.startswith("beat-schedule") for p in tmp_path.iterdir())


def test_a_worker_survives_its_database_connection_being_cut_between_tasks(transactional_db, tmp_path):
    """The worker keeps its connection across tasks; when PostgreSQL drops it (a restart, a failover, an idle
    timeout), the next task reconnects instead of failing."""
    from django.db import connection

    def stale(key: str) -> IdempotencyKey:
        row = IdempotencyKey.objects.create(principal="user:1", key=key, fingerprint="f", status_code=201)
        IdempotencyKey.objects.filter(pk=row.pk).update(created_at=timezone.now() - dt.timedelta(days=30))
        return row

    first, second = stale("first"), stale("second")
    args = ["celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "INFO", "-Q", "celery"]
    with running(args, log=tmp_path / "worker.log") as worker:
        prune_idempotency_keys.delay()
        assert wait_until(lambda: not IdempotencyKey.objects.filter(pk=first.pk).exists())
        second = stale("third")  # the first run took "second" too
        with connection.cursor() as cursor:  # every other session on the test database is cut
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            assert cursor.fetchone()[0] >= 1  # the worker's kept connection
        prune_idempotency_keys.delay()
        gone = wait_until(lambda: not IdempotencyKey.objects.filter(pk=second.pk).exists(), 30)
        assert worker.poll() is None, (tmp_path / "worker.log").read_text()
    assert gone, (tmp_path / "worker.log").read_text()
