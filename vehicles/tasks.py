"""Background work of the vehicles app: ledger housekeeping and the makers' production uploads."""

from celery import shared_task
from django.db import connection

from vehicles.uploads import production_upload_process


@shared_task(acks_late=True)
def ensure_event_partitions(months_ahead: int = 3) -> None:
    """Create the monthly partitions of the ledger ahead of time, so no event lands in the default partition."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT vehicles_lifecycleevent_partitions(%s)", [months_ahead])


@shared_task(name="vehicles.tasks.process_production_upload", acks_late=True)
def process_production_upload(upload_id: int) -> str:
    """Register the rows of a maker's uploaded file, all or nothing (vehicles/uploads.py). Safe to run twice."""
    return production_upload_process(upload_id=upload_id)
