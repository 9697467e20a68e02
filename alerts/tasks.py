"""Celery tasks of the rule engine: drain the outbox, sweeps, escalation, webhooks. All idempotent, acks_late."""

from __future__ import annotations

import logging

from celery import shared_task
from django.core.cache import cache

from alerts import engine, services

log = logging.getLogger(__name__)


@shared_task(name="alerts.tasks.drain", acks_late=True)
def drain(max_batches: int = 200) -> int:
    """Evaluate every new ledger event and alert request (the outbox relay). Safe to run anywhere, any time."""
    cache.delete("ledger:outbox-kick")  # writes committed from now on may queue the next drain
    total = 0
    for _ in range(max_batches):
        done = engine.drain_outbox() + engine.drain_alert_requests()
        total += done
        if not done:
            break
    return total


@shared_task(name="alerts.tasks.escalate", acks_late=True)
def escalate() -> int:
    return services.alerts_escalate()


@shared_task(name="alerts.tasks.sweep", acks_late=True)
def sweep() -> int:
    """The scheduled checks that no single event triggers: stock reconciliation, batteries and traded-in bikes not
    handed over."""
    return services.stock_reconcile() + services.removed_batteries_sweep() + services.traded_in_bikes_sweep()


@shared_task(name="alerts.tasks.send_webhooks", acks_late=True)
def send_webhooks() -> int:
    from alerts.webhooks import webhooks_send_due

    return webhooks_send_due()


@shared_task(name="alerts.tasks.notify_dispatched", acks_late=True)
def notify_dispatched(alert_ids: list[int]) -> int:
    """E-mail the regulator's staff about high-severity alerts (each alert at most once)."""
    from alerts.notifications import notify_dispatched as notify

    return notify(alert_ids)
