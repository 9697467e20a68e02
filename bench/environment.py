"""Starting Django for a benchmark script, and plain psycopg connections to the same database for baselines."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def django_setup(database_url: str | None) -> None:
    """Django on the given database (else DATABASE_URL, else the embedded server), migrated, in test mode.

    Test mode adds `testserver` to ALLOWED_HOSTS for the in-process client; DEBUG stays off, so no query log grows.
    """
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    django.setup()
    setup_test_environment(debug=False)
    call_command("migrate", verbosity=0)


def psycopg_connect(**kwargs):
    """A plain psycopg 3 connection to Django's database, outside the ORM."""
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    application_name = db.get("OPTIONS", {}).get("application_name")
    if application_name:  # the same name as Django's connections (a `?application_name=` in the database URL)
        kwargs.setdefault("application_name", application_name)
    return psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        **kwargs,
    )
