"""`manage.py check --deploy` passes with production settings from the environment."""

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


def _check(extra_env):
    # Only what production would have: none of the test run's own switches.
    dropped = {"DEBUG", "SECRET_KEY", "FIELD_ENCRYPTION_KEY", "FIELD_HASH_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(extra_env)
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_production_settings():
    result = _check(
        {
            "DEBUG": "false",
            "SECRET_KEY": "x" * 20 + "production-secret-key-with-enough-entropy-0123456789",
            "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "ALLOWED_HOSTS": "ebike.example.gov.cn",
            "SECURE_SSL_REDIRECT": "true",
            "FIELD_HASH_KEY": "h" * 20 + "production-hash-key",
        }
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_missing_production_secrets():
    result = _check({"DEBUG": "false", "ALLOWED_HOSTS": "ebike.example.gov.cn"})
    assert result.returncode != 0
    assert "core.W001" in result.stderr + result.stdout and "core.W002" in result.stderr + result.stdout
