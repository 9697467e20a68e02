"""The Celery application: `celery -A config worker` and `celery -A config beat`."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
@task_postrun.connect
def _database_connections_checked(**kwargs) -> None:
    """Around every task, what Django does around every request: close a connection that broke or outlived
    DB_CONN_MAX_AGE; CONN_HEALTH_CHECKS then tests a kept one before its first query."""
    from django.db import close_old_connections

    close_old_connections()
