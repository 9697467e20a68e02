#!/usr/bin/env python3
"""One entry point for a fresh checkout; needs only Python 3.11+ and the package index.

    python3 dev.py demo            run the whole platform with demo data on http://127.0.0.1:8000/
    python3 dev.py test [ARGS]     run pytest (ARGS are passed through)
    python3 dev.py smoke           start, answer one request, stop
    python3 dev.py lint            ruff and the migrations check
    python3 dev.py stop            stop the embedded PostgreSQL and Redis

Creates .venv with this interpreter, installs the project into it whenever pyproject.toml has changed, then
hands over to `python -m devstack`. Standard library only.
"""

import hashlib
import os
import platform
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"
STAMP = VENV / ".installed-hash"
COMMANDS = ("demo", "test", "smoke", "lint", "stop")


def say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def ensure_venv() -> None:
    if PYTHON.exists():
        return
    say(f"creating .venv with Python {platform.python_version()}")
    try:
        venv.create(VENV, with_pip=True, symlinks=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        shutil.rmtree(VENV, ignore_errors=True)  # a venv without pip would only fail later, less clearly
        sys.exit(f"[dev] could not create .venv ({exc}); on Debian/Ubuntu: apt install python3-venv")


def ensure_installed() -> None:
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == digest:
        return
    say("installing the project and its dev tools into .venv (pyproject.toml changed)")
    pip = [str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check"]
    if subprocess.run([*pip, "-e", ".[dev]"], cwd=ROOT).returncode != 0:
        sys.exit("[dev] pip install failed; fix the error above and run dev.py again")
    STAMP.write_text(digest + "\n")  # only after success, so a failed install is retried next time


def main() -> None:
    if sys.version_info < (3, 11):  # noqa: UP036  (this file is what runs on whatever python3 the user has)
        sys.exit("[dev] Python 3.11 or newer is needed")
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    ensure_venv()
    ensure_installed()
    os.chdir(ROOT)  # `-m devstack` imports from the working directory
    say(f"running {' '.join(sys.argv[1:])}")
    os.execv(PYTHON, [str(PYTHON), "-m", "devstack", *sys.argv[1:]])


if __name__ == "__main__":
    main()
