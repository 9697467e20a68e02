"""Starting real platform processes (Celery worker, beat, gunicorn) against the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from django.db import connection

ROOT = Path(__file__).resolve().parents[1]


def child_database_url() -> str:
    """A DATABASE_URL for the database pytest-django created, so child processes see the test's rows."""
    s = connection.settings_dict
    auth = quote(s["USER"] or "")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"])
    host = s.get("HOST") or ""
    if host.startswith("/"):  # a unix socket directory (the embedded server)
        return f"postgresql://{auth}@/{s['NAME']}?host={quote(host)}" + (f"&port={s['PORT']}" if s.get("PORT") else "")
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgresql://{auth}@{host}{port}/{s['NAME']}"


def child_env(**extra: str) -> dict[str, str]:
    from django.conf import settings

    env = dict(os.environ)
    env.update(DATABASE_URL=child_database_url(), REDIS_URL=settings.REDIS_URL, PYTHONUNBUFFERED="1")
    env.update(extra)
    return env


@contextmanager
def running(args: list[str], *, log: Path, **extra_env: str):
    """Run a process for the duration of the block; stop it with SIGTERM (then SIGKILL) afterwards."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", *args],
            cwd=ROOT,
            env=child_env(**extra_env),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()


def wait_until(predicate, timeout: float = 60.0) -> bool:
    """Poll `predicate` every 0.2 s until it holds (True) or `timeout` seconds pass (False): another process's
    work shows up in the database in its own time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False
