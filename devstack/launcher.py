"""Development launcher: embedded services plus web, worker and beat. `python -m devstack COMMAND`:

    demo   migrate, seed the demo data, collect static files, run gunicorn + celery worker + beat until Ctrl-C
    test   run pytest (arguments are passed through) against the embedded services
    smoke  start the embedded services and gunicorn on a free port, GET /healthz once, stop; exit 0 if healthy
    lint   ruff check, ruff format --check, makemigrations --check
    stop   stop the embedded PostgreSQL and Redis of this checkout, whoever started them

DATABASE_URL / REDIS_URL, when set, are used as they are (smoke ignores them). Otherwise the embedded servers
under DATA_DIR (default .data/) are started, exported to the children, and stopped at exit if this launcher
started them (or adopted them from a run that crashed).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from devstack import embedded

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("DATA_DIR") or ROOT / ".data")
PY = sys.executable
STOP_TIMEOUT = 20  # seconds a child gets to finish after SIGTERM; celery waits for running tasks
READY_TIMEOUT = 60

_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


class Stop(Exception):
    """SIGINT/SIGTERM/SIGHUP turned into an exception so the cleanup in `finally` blocks runs."""


def _raise_stop(signum: int, _frame: object) -> None:
    raise Stop(signal.Signals(signum).name)


def log(message: str) -> None:
    print(f"[devstack] {message}", flush=True)


# --------------------------------------------------------------------------------------------- services


def _configured(name: str) -> bool:
    # Same rule as config.env.env_str: NAME, or NAME_FILE holding it.
    return bool(os.environ.get(name) or os.environ.get(f"{name}_FILE"))


_embedded_used = False


def start_services() -> None:
    """Export DATABASE_URL / REDIS_URL for the children, starting embedded servers for the unconfigured ones."""
    global _embedded_used
    if _configured("DATABASE_URL"):
        log("PostgreSQL: using DATABASE_URL from the environment")
    else:
        log(f"PostgreSQL: embedded, data in {DATA_DIR / 'pg'}")
        _embedded_used = True
        os.environ["DATABASE_URL"] = embedded.database_url(DATA_DIR, claim=True)
    if _configured("REDIS_URL"):
        log("Redis: using REDIS_URL from the environment")
    else:
        log(f"Redis: embedded, data in {DATA_DIR / 'redis'}")
        _embedded_used = True
        os.environ["REDIS_URL"] = embedded.redis_url(DATA_DIR, claim=True)


def release_services() -> None:
    if _embedded_used:
        log("stopping the embedded services this launcher owns")
        embedded.release(DATA_DIR)


# --------------------------------------------------------------------------------------------- processes


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run(argv: list[str], *, quiet: bool = False) -> int:
    """Run a command in the foreground; with quiet, show its output only if it fails."""
    # The child receives the terminal's Ctrl-C itself and decides how to stop (pytest prints its summary);
    # this launcher just waits for it instead of dying first.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        output = subprocess.PIPE if quiet else None
        with subprocess.Popen(
            argv,
            cwd=ROOT,
            stdout=output,
            stderr=subprocess.STDOUT if quiet else None,
            preexec_fn=_default_sigint,
        ) as proc:
            try:
                out, _ = proc.communicate()
            except Stop:
                proc.terminate()
                proc.wait()
                raise
    finally:
        signal.signal(signal.SIGINT, previous)
    if quiet and proc.returncode:
        sys.stdout.write(out.decode(errors="replace"))
    return proc.returncode


def manage(*args: str, quiet: bool = False) -> int:
    log(f"manage.py {' '.join(args)}")
    returncode = run([PY, "manage.py", *args], quiet=quiet)
    if returncode:
        log(f"manage.py {args[0]} failed with exit code {returncode}")
    return returncode


def _child_setup(parent: int) -> None:
    # Children get their own session so a terminal Ctrl-C reaches only this launcher, which then stops them in
    # order. The price is that a kill -9 of the launcher would orphan them, so have Linux SIGTERM them then.
    if _libc is not None:
        _libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the launcher died before prctl took effect
            os._exit(1)


def spawn(name: str, argv: list[str]) -> subprocess.Popen:
    log(f"starting {name}: {' '.join(argv[2:] if argv[0] == PY else argv)}")
    parent = os.getpid()
    return subprocess.Popen(argv, cwd=ROOT, start_new_session=True, preexec_fn=lambda: _child_setup(parent))


def stop_children(children: dict[str, subprocess.Popen]) -> None:
    running = {name: proc for name, proc in children.items() if proc.poll() is None}
    if not running:
        return
    log(f"stopping {', '.join(running)}")
    for proc in running.values():
        proc.send_signal(signal.SIGTERM)  # gunicorn: graceful stop; celery: warm shutdown
    deadline = time.monotonic() + STOP_TIMEOUT
    for name, proc in running.items():
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log(f"{name} did not stop within {STOP_TIMEOUT}s; killing it")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # its whole session: pool workers included
            proc.wait()


def gunicorn(port: int, workers: int) -> list[str]:
    from gunicorn.config import KNOWN_SETTINGS

    argv = ["gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    # Newer gunicorn opens a control socket at one fixed per-user path, so a second instance (smoke while the
    # demo runs) would take it over and delete it on exit. Nothing here uses it.
    if any(setting.name == "control_socket_disable" for setting in KNOWN_SETTINGS):
        argv.append("--no-control-socket")
    return argv


def _port_in_use(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline and proc.poll() is None:
        if _port_in_use(port):
            return True
        time.sleep(0.2)
    return False


def _shield() -> None:
    """Cleanup must not be cut short by a second Ctrl-C or a SIGTERM; every step in it has a timeout."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)


# --------------------------------------------------------------------------------------------- demo


def _demo_logins() -> list[tuple[str, str, str]] | None:
    try:
        if importlib.util.find_spec("core.demo") is None:
            return None
        # core.demo uses the ORM, so Django has to be set up in this process first.
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        logins = importlib.import_module("core.demo").DEMO_LOGINS
        return list(logins() if callable(logins) else logins)
    except Exception as exc:
        log(f"could not read core.demo.DEMO_LOGINS ({exc.__class__.__name__}: {exc})")
        return None


def _banner(port: int) -> None:
    lines = ["", f"  E-bike supervision demo: http://127.0.0.1:{port}/", ""]
    logins = _demo_logins()
    if logins:
        width = max(len(username) for username, _, _ in logins)
        lines.append("  Demo logins (username / password):")
        lines += [f"    {user:<{width}}  {password}  {about}" for user, password, about in logins]
    else:
        lines.append("  Demo logins: see README.md")
    lines += ["", "  Ctrl-C stops everything.", ""]
    print("\n".join(lines), flush=True)


def cmd_demo(args: list[str]) -> int:
    if args:
        log(f"demo takes no arguments (got {' '.join(args)})")
        return 2
    port = int(os.environ.get("PORT") or 8000)
    if _port_in_use(port):
        log(f"port {port} is already in use; choose another with PORT=8001 python3 dev.py demo")
        return 1
    # The demo is served over plain HTTP on this machine: cookies cannot be HTTPS-only there.
    os.environ.setdefault("SECURE_COOKIES", "false")
    children: dict[str, subprocess.Popen] = {}
    try:
        start_services()
        if manage("migrate", "--noinput"):
            return 1
        if any(ROOT.glob("*/management/commands/seed_demo.py")):
            if manage("seed_demo"):
                return 1
        else:
            log("WARNING: no seed_demo command yet; skipping demo data")
        if manage("collectstatic", "--noinput", "--verbosity", "0", quiet=True):
            return 1

        web = [*gunicorn(port, workers=2), "--access-logfile", "-"]
        worker = ["celery", "-A", "config", "worker", "--loglevel", "INFO", "--concurrency", "2"]
        beat = ["celery", "-A", "config", "beat", "--loglevel", "INFO"]
        beat += ["--schedule", str(DATA_DIR / "celerybeat-schedule")]
        for name, argv in (("gunicorn", web), ("worker", worker), ("beat", beat)):
            children[name] = spawn(name, [PY, "-m", *argv])
        if wait_for_port(port, children["gunicorn"]):
            _banner(port)

        while True:  # supervise: one child gone means the demo is broken, so stop it all
            for name, proc in children.items():
                if proc.poll() is not None:
                    log(f"{name} exited with code {proc.returncode}; stopping everything")
                    return proc.returncode if proc.returncode > 0 else 1  # killed by a signal: negative
            time.sleep(0.5)
    except (KeyboardInterrupt, Stop) as exc:
        log(f"{str(exc) or 'SIGINT'} received")
        return 0
    finally:
        _shield()
        stop_children(children)
        release_services()


# --------------------------------------------------------------------------------------------- test / smoke


def cmd_test(args: list[str]) -> int:
    try:
        start_services()
        return run([PY, "-m", "pytest", *args])
    except Stop as exc:
        log(f"{exc} received")
        return 1
    finally:
        _shield()
        release_services()


def _get(url: str) -> tuple[int | None, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read(500).decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(500).decode(errors="replace")
    except (urllib.error.URLError, OSError) as exc:
        return None, str(exc)


def cmd_smoke(args: list[str]) -> int:
    # Always the embedded services: the point is to prove a bare checkout comes up.
    for name in ("DATABASE_URL", "DATABASE_URL_FILE", "REDIS_URL", "REDIS_URL_FILE"):
        if os.environ.pop(name, None):
            log(f"ignoring {name} from the environment")
    children: dict[str, subprocess.Popen] = {}
    try:
        start_services()
        if manage("migrate", "--noinput", quiet=True):
            return 1
        port = _free_port()
        children["gunicorn"] = spawn("gunicorn", [PY, "-m", *gunicorn(port, workers=1)])
        if not wait_for_port(port, children["gunicorn"]):
            log("FAIL: gunicorn did not start listening")
            return 1

        status, body = _get(f"http://127.0.0.1:{port}/healthz")
        log(f"GET /healthz -> {status}: {body.strip()[:200]}")
        health = {}
        with contextlib.suppress(ValueError):
            health = json.loads(body)
        ok = status == 200 and health.get("database") is True and health.get("redis") is True
        log("PASS" if ok else "FAIL")
        return 0 if ok else 1
    except (KeyboardInterrupt, Stop) as exc:
        log(f"{str(exc) or 'SIGINT'} received; FAIL")
        return 1
    finally:
        _shield()
        stop_children(children)
        release_services()


def cmd_lint(args: list[str]) -> int:
    """ruff (lint and format), and no model change without its migration."""
    checks = [
        [PY, "-m", "ruff", "check", "."],
        [PY, "-m", "ruff", "format", "--check", "."],
        [PY, "manage.py", "makemigrations", "--check", "--dry-run"],
    ]
    failed = [check for check in checks if run(check) != 0]
    return 1 if failed else 0


def cmd_stop(args: list[str]) -> int:
    log(f"stopping embedded PostgreSQL and Redis in {DATA_DIR}")
    embedded.stop(DATA_DIR)
    return 0


COMMANDS = {"demo": cmd_demo, "test": cmd_test, "smoke": cmd_smoke, "lint": cmd_lint, "stop": cmd_stop}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print(__doc__, file=sys.stderr)
        return 2
    os.chdir(ROOT)
    # SIGINT too, explicitly: a shell script that starts this in the background (`python3 dev.py demo &`) starts
    # it with SIGINT ignored, and Python then installs no Ctrl-C handler of its own, so `kill -INT` did nothing.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_stop)
    return COMMANDS[argv[0]](argv[1:])


if __name__ == "__main__":
    sys.exit(main())
