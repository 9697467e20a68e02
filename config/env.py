"""Reading configuration from the environment: typed values and `*_FILE` secrets."""

import os
import secrets
from pathlib import Path


def env_str(name: str, default: str | None = None) -> str | None:
    """A value from `NAME`, or from the file named by `NAME_FILE` (Docker/Kubernetes secrets)."""
    value = os.environ.get(name)
    if value not in (None, ""):
        return value
    path = os.environ.get(f"{name}_FILE")
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    return default


def env_bool(name: str, default: bool = False) -> bool:
    value = env_str(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = env_str(name)
    return default if value is None else int(value)


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in (env_str(name) or default).split(",") if item.strip()]


def local_secret(data_dir: Path, name: str, make=lambda: secrets.token_urlsafe(50)) -> str:
    """A secret generated once and kept under `.data/` so a development machine needs no set-up.

    Production sets the real value in the environment; `manage.py check --deploy` warns when it does not.
    """
    path = data_dir / name
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(make(), encoding="utf-8")
        tmp.chmod(0o600)
        tmp.replace(path)
    return path.read_text(encoding="utf-8").strip()
