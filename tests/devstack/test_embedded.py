"""Embedded PostgreSQL and Redis: data survives restarts, kill -9 never blocks the next start, callers share.

No Django here: run with `pytest tests/devstack/test_embedded.py -p no:django --noconftest`.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

import psutil
import psycopg
import pytest
import redis

from devstack import embedded

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

# Starts both services, prints their URLs and stays alive until killed.
HOLDER = """
import sys, time
from pathlib import Path
from devstack import embedded
data_dir = Path(sys.argv[1])
print(embedded.database_url(data_dir), embedded.redis_url(data_dir), sep="\\n", flush=True)
if sys.argv[2] == "stay":
    time.sleep(600)
"""


@pytest.fixture
def data_dir(tmp_path: Path):
    path = tmp_path / "data"
    yield path
    embedded.stop(path)  # whatever happened, leave no servers behind


def _python(data_dir: Path, mode: str) -> list[str]:
    return [sys.executable, "-c", HOLDER, str(data_dir), mode]


def _postmaster(data_dir: Path) -> psutil.Process:
    return psutil.Process(int((data_dir / "pg" / "postmaster.pid").read_text().split()[0]))


def _redis_server(data_dir: Path) -> psutil.Process:
    return psutil.Process(int((data_dir / "redis" / "redis.pid").read_text()))


def _alive(proc: psutil.Process) -> bool:
    # Killed servers may stay zombies here: nothing reaps orphans in some containers.
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _servers_in(data_dir: Path) -> list[psutil.Process]:
    """Every live postmaster and redis-server working in data_dir."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            is_postmaster = proc.info["name"] == "postgres" and "-D" in (proc.info["cmdline"] or [])
            is_server = is_postmaster or proc.info["name"] == "redis-server"
            if is_server and _alive(proc) and Path(proc.cwd()).is_relative_to(data_dir):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def _write_bike(db_url: str, serial: str) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bikes (serial text PRIMARY KEY)")
        conn.execute("INSERT INTO bikes VALUES (%s)", (serial,))


def _bikes(db_url: str) -> list[str]:
    with psycopg.connect(db_url) as conn:
        return [serial for (serial,) in conn.execute("SELECT serial FROM bikes ORDER BY serial")]


def test_data_persists_across_stop_and_start(data_dir: Path) -> None:
    db_url = embedded.database_url(data_dir)
    redis_url = embedded.redis_url(data_dir)
    assert db_url.startswith("postgresql://postgres@/ebike?host=")
    assert redis_url.startswith("redis://:") and "@127.0.0.1:" in redis_url

    _write_bike(db_url, "EB-0001")
    redis.Redis.from_url(redis_url).set("bike:EB-0001", "in service")
    servers = [_postmaster(data_dir), _redis_server(data_dir)]

    embedded.stop(data_dir)
    assert not any(_alive(proc) for proc in servers)
    assert not (data_dir / "pg" / "postmaster.pid").exists()

    # Same URLs after a restart, so processes that were handed the old ones keep working.
    assert embedded.database_url(data_dir) == db_url
    assert embedded.redis_url(data_dir) == redis_url
    assert _bikes(db_url) == ["EB-0001"]
    assert redis.Redis.from_url(redis_url).get("bike:EB-0001") == b"in service"


@pytest.mark.parametrize("victims", ["everything", "servers-but-not-backends"])
def test_next_start_succeeds_after_kill_9(data_dir: Path, victims: str) -> None:
    with subprocess.Popen(_python(data_dir, "stay"), cwd=ROOT, stdout=subprocess.PIPE, text=True) as holder:
        try:
            db_url = holder.stdout.readline().strip()
            redis_url = holder.stdout.readline().strip()
            assert db_url and redis_url, "the holder process failed to start the services"
            _write_bike(db_url, "EB-0002")
            redis.Redis.from_url(redis_url).ping()

            postmaster = _postmaster(data_dir)
            doomed = [psutil.Process(holder.pid), postmaster, _redis_server(data_dir)]
            if victims == "everything":
                doomed += postmaster.children()
            for proc in doomed:
                with contextlib.suppress(psutil.NoSuchProcess):  # a backend may finish exiting on its own
                    proc.kill()
        finally:
            holder.kill()

    # What a crash leaves: pid files, socket lock files, an owner record naming a dead process.
    assert (data_dir / "pg" / "postmaster.pid").exists()
    assert (data_dir / "redis" / "redis.pid").exists()

    db_url = embedded.database_url(data_dir)
    redis_url = embedded.redis_url(data_dir)
    assert _bikes(db_url) == ["EB-0002"]  # committed before the crash, so recovered from the WAL
    assert redis.Redis.from_url(redis_url).ping()
    assert len(_servers_in(data_dir)) == 2


def test_stale_pid_files_naming_an_unrelated_live_process(data_dir: Path) -> None:
    embedded.database_url(data_dir)
    embedded.redis_url(data_dir)
    postmaster = _postmaster(data_dir)
    for proc in [postmaster, *postmaster.children(), _redis_server(data_dir)]:
        proc.kill()

    # After a crash old pids get reused; postgres alone will not start over a pid file naming a live process.
    impostor = subprocess.Popen(["sleep", "120"])
    try:
        for pid_file in (data_dir / "pg" / "postmaster.pid", data_dir / "redis" / "redis.pid"):
            lines = pid_file.read_text().splitlines()
            pid_file.write_text("\n".join([str(impostor.pid), *lines[1:]]) + "\n")

        psycopg.connect(embedded.database_url(data_dir)).close()
        assert redis.Redis.from_url(embedded.redis_url(data_dir)).ping()
        assert impostor.poll() is None, "an unrelated process was killed"
    finally:
        impostor.kill()
        impostor.wait()


def test_concurrent_callers_share_one_server(data_dir: Path) -> None:
    callers = [
        subprocess.Popen(_python(data_dir, "exit"), cwd=ROOT, stdout=subprocess.PIPE, text=True) for _ in range(4)
    ]
    outputs = [caller.communicate(timeout=180)[0] for caller in callers]
    assert [caller.returncode for caller in callers] == [0, 0, 0, 0]
    assert len(set(outputs)) == 1

    names = sorted(proc.name() for proc in _servers_in(data_dir))
    assert names == ["postgres", "redis-server"]  # exactly one of each, and they outlived their starters


def test_release_stops_only_what_the_caller_owns(data_dir: Path) -> None:
    # Started by a process that has exited: nobody owns them now.
    subprocess.run(_python(data_dir, "exit"), cwd=ROOT, check=True, capture_output=True)
    embedded.release(data_dir)
    assert len(_servers_in(data_dir)) == 2

    embedded.database_url(data_dir, claim=True)
    embedded.redis_url(data_dir, claim=True)
    embedded.release(data_dir)
    assert _servers_in(data_dir) == []
