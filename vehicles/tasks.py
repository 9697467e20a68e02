"""Ledger housekeeping."""

from celery import shared_task
from django.db import connection


@shared_task(acks_late=True)
def ensure_event_partitions(months_ahead: int = 3) -> None:
    """Create the monthly partitions of the ledger ahead of time, so no event lands in the default partition."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT vehicles_lifecycleevent_partitions(%s)", [months_ahead])
