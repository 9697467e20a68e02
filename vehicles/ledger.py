"""The lifecycle ledger (the spine): append events, hash-chained per vehicle, and verify a chain.

Each vehicle's events form a chain: hash = sha256(prev_hash + canonical content). A battery's events join its
vehicle's chain while it is fitted, and its own chain otherwise (production, stock). Appending locks the head
row (vehicle or battery), so a chain never forks; the event and its outbox message commit with the state change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import dataclass

from celery import current_app
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from vehicles.models import Battery, LifecycleEvent, OutboxMessage, Vehicle

OUTBOX_TOPIC = "ledger.event"
DRAIN_TASK = "alerts.tasks.drain"  # sent by name: the ledger does not depend on the rule engine
log = logging.getLogger(__name__)


def outbox_kick() -> None:
    """After commit: ask a worker to drain the outbox now, at most once a second per burst of writes.

    With Redis down nothing is sent and nothing is lost: the outbox rows wait, and the beat sweep drains them.
    """
    try:
        if cache.add("ledger:outbox-kick", 1, timeout=1):
            current_app.send_task(DRAIN_TASK)
    except Exception:  # the broker or cache being down must not fail a write that already committed
        log.warning("outbox kick not sent; the periodic drain will pick the events up", exc_info=True)


def canonical(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def event_hash(
    *,
    prev_hash: str,
    seq: int,
    type: str,
    occurred_at: dt.datetime,
    frame_no: str | None,
    serial: str | None,
    organization_id: int | None,
    region_code: str,
    payload: dict,
) -> str:
    content = canonical(
        {
            "seq": seq,
            "type": type,
            "occurred_at": _utc(occurred_at),
            "vehicle": frame_no,
            "battery": serial,
            "organization": organization_id,
            "region_code": region_code,
            "payload": payload,
        }
    )
    return hashlib.sha256((prev_hash + content).encode()).hexdigest()


@dataclass(frozen=True)
class Event:
    """One event to append: what happened, when, where, by whom. On a vehicle's chain, `battery` names the
    battery concerned, if any."""

    type: str
    occurred_at: dt.datetime
    region_code: str
    organization_id: int | None = None
    payload: dict | None = None
    battery: Battery | None = None


def events_append(head: Vehicle | Battery, events: list[Event], *, head_fields: dict | None = None):
    """Append events to the chain of `head` (a vehicle, or a battery not in one), in order, in three statements:
    one INSERT of the events, one UPDATE of the head (its new chain head, with `head_fields`: the state change
    the events record) and one INSERT of their outbox messages.

    The caller holds the head row locked (select_for_update) in the current transaction.
    """
    if not connection.in_atomic_block:
        raise RuntimeError("ledger events are written inside the transaction of the state change")
    vehicle = head if isinstance(head, Vehicle) else None
    recorded_at, prev_hash, seq, rows = timezone.now(), head.ledger_head, head.ledger_seq, []
    for event in events:
        battery = event.battery if vehicle is not None else head
        payload = json.loads(canonical(event.payload or {}))  # exactly what JSONB will give back when verifying
        seq += 1
        digest = event_hash(
            prev_hash=prev_hash,
            seq=seq,
            type=event.type,
            occurred_at=event.occurred_at,
            frame_no=vehicle.frame_no if vehicle else None,
            serial=battery.serial if battery else None,
            organization_id=event.organization_id,
            region_code=event.region_code,
            payload=payload,
        )
        rows.append(
            LifecycleEvent(
                recorded_at=recorded_at,
                occurred_at=event.occurred_at,
                vehicle=vehicle,
                battery=battery,
                seq=seq,
                type=event.type,
                organization_id=event.organization_id,
                region_code=event.region_code,
                payload=payload,
                prev_hash=prev_hash,
                hash=digest,
            )
        )
        prev_hash = digest
    LifecycleEvent.objects.bulk_create(rows)
    fields = {"ledger_seq": seq, "ledger_head": prev_hash, **(head_fields or {})}
    head.__class__.objects.filter(pk=head.pk).update(**fields)
    for name, value in fields.items():
        setattr(head, name, value)
    OutboxMessage.objects.bulk_create(
        OutboxMessage(
            event_id=row.pk,
            event_recorded_at=recorded_at,
            topic=OUTBOX_TOPIC,
            payload={
                "event_id": row.pk,
                "type": row.type,
                "vehicle_id": row.vehicle_id,
                "battery_id": row.battery_id,
                "region_code": row.region_code,
            },
        )
        for row in rows
    )
    if not any(callback is outbox_kick for _sids, callback, *_ in connection.run_on_commit):
        transaction.on_commit(outbox_kick)  # once per transaction, however many events it writes
    return rows


def event_append(
    *,
    type: str,
    occurred_at: dt.datetime,
    region_code: str,
    vehicle: Vehicle | None = None,
    battery: Battery | None = None,
    organization_id: int | None = None,
    payload: dict | None = None,
) -> LifecycleEvent:
    """Append one event to the chain of `vehicle` (or of `battery` when no vehicle is involved)."""
    head = vehicle if vehicle is not None else battery
    if head is None:
        raise ValueError("an event is about a vehicle, a battery, or both")
    event = Event(type, occurred_at, region_code, organization_id, payload, battery if vehicle is not None else None)
    return events_append(head, [event])[0]


@dataclass(frozen=True)
class Verdict:
    valid: bool
    events: int
    first_bad_seq: int | None


def chain_events(head: Vehicle | Battery):
    if isinstance(head, Vehicle):
        return LifecycleEvent.objects.filter(vehicle=head)
    return LifecycleEvent.objects.filter(battery=head, vehicle__isnull=True)


@transaction.atomic
def chain_verify(head: Vehicle | Battery) -> Verdict:
    """Recompute the chain from the stored events; report the first event that does not match."""
    events = list(chain_events(head).select_related("vehicle", "battery").order_by("seq", "recorded_at"))
    prev_hash, expected_seq = "", 1
    for event in events:
        recomputed = event_hash(
            prev_hash=prev_hash,
            seq=event.seq,
            type=event.type,
            occurred_at=event.occurred_at,
            frame_no=event.vehicle.frame_no if event.vehicle_id else None,
            serial=event.battery.serial if event.battery_id else None,
            organization_id=event.organization_id,
            region_code=event.region_code,
            payload=event.payload,
        )
        if event.seq != expected_seq or event.prev_hash != prev_hash or event.hash != recomputed:
            return Verdict(valid=False, events=len(events), first_bad_seq=expected_seq)
        prev_hash, expected_seq = event.hash, expected_seq + 1
    # The head row remembers the last hash, so deleting the newest events is caught too.
    if head.ledger_seq != len(events) or head.ledger_head != prev_hash:
        return Verdict(valid=False, events=len(events), first_bad_seq=len(events) + 1)
    return Verdict(valid=True, events=len(events), first_bad_seq=None)
