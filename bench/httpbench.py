"""Shared parts of the HTTP benchmarks: a real gunicorn on 127.0.0.1, load clients, percentiles, CPU accounting.

The clients are threads with keep-alive `http.client` connections (gunicorn's sync worker closes each connection
after its response; the client then reconnects). Load goes to 127.0.0.1 only, and every loop is bounded both in
requests and in seconds.
"""

from __future__ import annotations

import http.client
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
REDIS_URL = "redis://127.0.0.1:6379/15"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def tagged(database_url: str, name: str) -> str:
    """The database URL with an application_name, so this run's backends can be told from other clients'."""
    return f"{database_url}{'&' if '?' in database_url else '?'}application_name={name}"


def server_env(database_url: str, redis_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DEBUG": "false",
        "SECURE_COOKIES": "false",
        "ALLOWED_HOSTS": HOST,
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }


class Gunicorn:
    """`gunicorn config.wsgi` on a free port of 127.0.0.1, started and stopped by this process only."""

    def __init__(self, database_url: str, redis_url: str, *, workers: int, threads: int, log: Path):
        self.port = free_port()
        self.workers, self.threads = workers, threads
        self.worker_class = "gthread" if threads > 1 else "sync"
        self.log = log
        self.args = [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "config.wsgi",
            f"--bind={HOST}:{self.port}",
            f"--workers={workers}",
            f"--worker-class={self.worker_class}",
            f"--threads={threads}",
            "--backlog=2048",
            "--timeout=60",
            "--log-level=warning",
            f"--error-logfile={log}",
        ]
        self.env = server_env(database_url, redis_url)
        self.process: subprocess.Popen | None = None

    @property
    def description(self) -> str:
        if self.worker_class == "sync":
            return f"gunicorn {self.workers} sync workers"
        return f"gunicorn {self.workers} gthread workers x {self.threads} threads"

    def __enter__(self) -> Gunicorn:
        self.process = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited with {self.process.returncode}; see {self.log}")
            try:
                status, _ = HttpClient(self.port).request("GET", "/healthz")
                if status == 200 and len(self.worker_pids()) >= self.workers:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        self.__exit__()
        raise SystemExit(f"gunicorn did not answer /healthz within 60 s; see {self.log}")

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # SIGTERM to the master we started: graceful stop of its workers
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def worker_pids(self) -> list[int]:
        try:
            return [child.pid for child in psutil.Process(self.process.pid).children()]
        except psutil.Error:
            return []


class HttpClient:
    """One keep-alive connection; reconnects when the server closed it."""

    def __init__(self, port: int, timeout: float = 30):
        self.port, self.timeout = port, timeout
        self.conn = http.client.HTTPConnection(HOST, port, timeout=timeout)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                response = self.conn.getresponse()
                return response.status, response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A keep-alive connection closed by the server between two requests: reconnect and send again.
                # Writes carry an Idempotency-Key, so sending one again is safe.
                self.conn.close()
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=self.timeout)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.conn.close()


# Load ---------------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0
    dropped: int = 0  # open loop: scheduled but not sent before the deadline (the server could not keep up)

    @property
    def ok(self) -> int:
        return len(self.latencies)

    def add(self, status: int, latency: float, expect: int, body: bytes) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if status == expect:
            self.latencies.append(latency)
        elif len(self.errors) < 5:
            self.errors.append(f"{status} {body[:300]!r}")

    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def scheduled_latencies(self) -> list[float]:
        """Latencies with each dropped request counted as infinitely late."""
        return self.latencies + [float("inf")] * self.dropped


class Jobs:
    """A thread-safe bounded iterator of request arguments."""

    def __init__(self, items: Iterator):
        self.items, self.lock = items, threading.Lock()

    def next(self):
        with self.lock:
            return next(self.items, None)


def closed_loop(
    connect: Callable, send: Callable, jobs: Iterator, *, clients: int, seconds: float, expect: int = 200
) -> Outcome:
    """`clients` threads, each sending its next job as soon as its previous response came back, for `seconds` or
    until the jobs run out. Each thread has its own `connect()` (an HttpClient, or a database connection for a
    baseline); `send(client, job)` returns (status, body)."""
    outcome, lock, source = Outcome(), threading.Lock(), Jobs(jobs)
    started = time.perf_counter()
    deadline = started + seconds

    def run() -> None:
        client = connect()
        try:
            while time.perf_counter() < deadline:
                job = source.next()
                if job is None:
                    return
                t0 = time.perf_counter()
                try:
                    status, body = send(client, job)
                except OSError as error:
                    status, body = -1, repr(error).encode()
                latency = time.perf_counter() - t0
                with lock:
                    outcome.add(status, latency, expect, body)
        finally:
            client.close()

    threads = [threading.Thread(target=run, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 120)
    outcome.elapsed = time.perf_counter() - started
    return outcome


def open_loop(
    connect: Callable,
    send: Callable,
    jobs: Iterator,
    *,
    rate: float,
    seconds: float,
    pool: int = 32,
    expect: int = 200,
    grace: float = 10.0,
) -> Outcome:
    """Requests sent on a fixed schedule (`rate` per second), whatever the responses do; a latency runs from the
    scheduled send time, so a request that had to wait for a free client counts its wait (no coordinated
    omission). Ends after `seconds` of schedule, or when the jobs run out. A request still waiting for a free
    client `grace` seconds after the schedule ended is dropped (counted, and infinitely late in percentiles)."""
    outcome, lock, source = Outcome(), threading.Lock(), Jobs(jobs)
    work: queue.Queue = queue.Queue()
    cutoff = time.perf_counter() + seconds + grace

    def run() -> None:
        client = connect()
        try:
            while True:
                item = work.get()
                if item is None:
                    return
                scheduled, job = item
                if time.perf_counter() > cutoff:
                    with lock:
                        outcome.dropped += 1
                    continue
                try:
                    status, body = send(client, job)
                except OSError as error:
                    status, body = -1, repr(error).encode()
                latency = time.perf_counter() - scheduled
                with lock:
                    outcome.add(status, latency, expect, body)
        finally:
            client.close()

    threads = [threading.Thread(target=run, daemon=True) for _ in range(pool)]
    for thread in threads:
        thread.start()
    started = time.perf_counter()
    total = int(rate * seconds)
    for i in range(total):
        job = source.next()
        if job is None:
            break
        scheduled = started + i / rate
        pause = scheduled - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        work.put((scheduled, job))
    for _ in threads:
        work.put(None)
    for thread in threads:
        thread.join(120)
    outcome.elapsed = time.perf_counter() - started
    return outcome


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of the values; NaN when there are none."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    return "inf" if seconds == float("inf") else f"{seconds * 1000:.1f}"


# CPU accounting -------------------------------------------------------------------------------------------------


class Pool:
    """Baseline clients kept open between phases (a backend's CPU is counted only while it lives)."""

    def __init__(self, make: Callable):
        self.make, self.idle, self.everyone, self.lock = make, [], [], threading.Lock()

    def connect(self):
        with self.lock:
            if self.idle:
                return _Lease(self, self.idle.pop())
        client = self.make()
        with self.lock:
            self.everyone.append(client)
        return _Lease(self, client)

    def close(self) -> None:
        for client in self.everyone:
            client.close()


class _Lease:
    def __init__(self, pool: Pool, client):
        self.pool, self.client = pool, client

    def __getattr__(self, name):
        return getattr(self.client, name)

    def close(self) -> None:
        with self.pool.lock:
            self.pool.idle.append(self.client)


def _cpu(pid: int) -> float:
    try:
        times = psutil.Process(pid).cpu_times()
        return times.user + times.system
    except psutil.Error:
        return 0.0


class CpuMeter:
    """CPU seconds used during a phase by: gunicorn workers, this run's PostgreSQL backends, this process.

    A backend is this run's when its application_name is `application_name` (see `tagged`); other clients of the
    same database, background PostgreSQL processes (WAL writer, checkpointer) and Redis are not counted.
    """

    def __init__(self, conn, server: Gunicorn | None, application_name: str):
        self.conn, self.server, self.application_name = conn, server, application_name

    def _backends(self) -> list[int]:
        rows = self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = %s "
            "AND pid <> pg_backend_pid()",
            [self.application_name],
        ).fetchall()
        return [row[0] for row in rows]

    def snapshot(self) -> dict[str, dict[int, float]]:
        me = psutil.Process()
        own = me.cpu_times()
        return {
            "server": {pid: _cpu(pid) for pid in (self.server.worker_pids() if self.server else [])},
            "database": {pid: _cpu(pid) for pid in self._backends()},
            "client": {me.pid: own.user + own.system},
        }

    @staticmethod
    def used(before: dict, after: dict) -> dict[str, float]:
        return {
            part: sum(max(0.0, cpu - before[part].get(pid, 0.0)) for pid, cpu in after[part].items()) for part in after
        }


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def revision() -> str:
    """The commit measured, and whether application files had uncommitted changes (read-only git commands)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
        ).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "unknown revision"
    changed = [line for line in status if not line[3:].startswith(("bench/", "docs/"))]
    return f"commit {head}" + (f" with {len(changed)} files changed in the working tree" if changed else "")


def machine() -> str:
    return f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, load average {load_average()}; {revision()}"


def analyze(conn, tables: tuple[str, ...]) -> float:
    """ANALYZE the tables a benchmark reads. Autovacuum is off on the shared bench server, so statistics would
    otherwise lag behind earlier runs' writes; in production autovacuum keeps them current."""
    started = time.perf_counter()
    for table in tables:
        conn.execute(f"ANALYZE {table}")
    return time.perf_counter() - started
