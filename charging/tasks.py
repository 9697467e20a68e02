"""Celery tasks of the charging app: escalating the alerts of repeated thermal alarms (idempotent, acks_late)."""

from __future__ import annotations

from celery import shared_task

DRAIN_ROUNDS = 20  # of up to engine.BATCH requests each


@shared_task(name="charging.tasks.alarms_escalate", acks_late=True, bind=True, max_retries=5)
def alarms_escalate(self, serials: list[str] | None = None) -> int:
    """Escalate the open thermal alerts of batteries that alarmed again within 24 hours: those named (queued
    after a batch commits), or every battery that alarmed lately (the sweep). The alert requests waiting are
    turned into alerts first, so that the alarm just recorded has its alert to escalate."""
    from alerts import engine
    from charging import alarms

    for _ in range(DRAIN_ROUNDS):
        if not engine.drain_alert_requests():
            break
    escalated, waiting = alarms.alarm_escalations_apply(serials=serials)
    if waiting and self.request.retries < self.max_retries:
        # Another worker holds those requests in a drain that has not committed yet.
        raise self.retry(countdown=1)
    return escalated
