"""The rule engine: drain the ledger's outbox, evaluate the rules, raise, route and dispatch alerts.

One worker transaction claims a batch of outbox messages (SELECT … FOR UPDATE SKIP LOCKED), evaluates every rule
on their events, inserts the alerts routed and dispatched (unique dedup keys), records their deliveries, and marks
the messages published. A worker killed mid-batch rolls all of it back, so the next drain redoes it: nothing
lost, nothing twice. Two workers never claim the same message.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from alerts.models import Alert, AlertDelivery, AlertRequest, AlertTransition, Severity, WebhookDelivery
from alerts.routing import Router
from alerts.rules import DISPATCH_SLA, REGISTRY, Finding, RulesByEvent
from catalog.models import BatteryModel, VehicleModel
from reports import rollups
from vehicles.models import Battery, LifecycleEvent, OutboxMessage, Vehicle

log = logging.getLogger(__name__)
BATCH = 500


class Context:
    """What the rules need about a batch of events, loaded in bulk: vehicles, batteries, certified pairs, and the
    open stolen reports of the bikes concerned.

    Bikes and batteries are loaded with the columns the rules read; their few models and standards once per batch,
    shared between them (the rules read `vehicle.model.standard…` as usual).
    """

    def __init__(self, events: list[LifecycleEvent]):
        # Loaded when a rule first asks: a batch of steps only the stolen-bike rule reads (produced, received…)
        # costs that rule's one query and nothing more.
        self._events, self._loaded, self._stolen = events, False, None

    def stolen_report(self, event: LifecycleEvent):
        """The open stolen report of the event's bike, or, for a swap of a battery on its own chain, of the bike
        that battery is fitted in now (vehicles.stolen.StolenSighting); None for most events. One query a batch."""
        stolen = self._stolen
        if stolen is None:
            from vehicles.stolen import stolen_sightings

            stolen = self._stolen = stolen_sightings(self._events)
        if not stolen:  # most batches: called once per event, it must cost next to nothing
            return None
        return stolen.get((event.vehicle_id, None) if event.vehicle_id else (None, event.battery_id))

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        events = self._events
        self._vehicles = Vehicle.objects.only("id", "frame_no", "model_id", "dealer_id").in_bulk(
            {e.vehicle_id for e in events if e.vehicle_id}
        )
        battery_ids = {e.battery_id for e in events if e.battery_id}
        serials = {s for e in events for s in (e.payload.get("battery_flags") or {})}
        lean_batteries = Battery.objects.only("id", "serial", "model_id")
        self._batteries = lean_batteries.in_bulk(battery_ids) if battery_ids else {}
        self._by_serial = {b.serial: b for b in lean_batteries.filter(serial__in=serials)} if serials else {}
        models = VehicleModel.objects.select_related("standard").in_bulk({v.model_id for v in self._vehicles.values()})
        for vehicle in self._vehicles.values():
            vehicle.model = models[vehicle.model_id]
        pairs = VehicleModel.compatible_battery_models.through.objects.filter(vehiclemodel_id__in=models)
        self._compatible: dict[int, set[int]] = {}
        for vehicle_model_id, battery_model_id in pairs.values_list("vehiclemodel_id", "batterymodel_id"):
            self._compatible.setdefault(vehicle_model_id, set()).add(battery_model_id)
        batteries = [*self._batteries.values(), *self._by_serial.values()]
        wanted = set().union(*self._compatible.values(), {b.model_id for b in batteries})
        self._battery_models = BatteryModel.objects.in_bulk(wanted) if wanted else {}
        for battery in batteries:
            battery.model = self._battery_models[battery.model_id]

    def vehicle(self, pk):
        self._load()
        return self._vehicles.get(pk)

    def battery(self, pk):
        self._load()
        return self._batteries.get(pk)

    def battery_by_serial(self, serial):
        self._load()
        return self._by_serial.get(serial)

    def compatible_battery_models(self, vehicle_model_id: int) -> set[int]:
        self._load()
        return self._compatible.get(vehicle_model_id, set())

    def largest_certified_capacity(self, vehicle_model_id: int) -> Decimal | None:
        self._load()
        capacities = [self._battery_models[i].capacity_ah for i in self.compatible_battery_models(vehicle_model_id)]
        return max(capacities) if capacities else None

    def model_codes(self, battery_model_ids: Iterable[int]) -> list[str]:
        self._load()
        return [self._battery_models[i].code for i in battery_model_ids if i in self._battery_models]


def evaluate(events: list[LifecycleEvent]) -> list[tuple[LifecycleEvent, Finding]]:
    """Every finding of every rule on these events, with the event it came from (pure: reads only)."""
    rules = RulesByEvent.build()
    events = [e for e in events if e.type in rules.by_type]  # a complaint, a stolen report's own steps: no rule
    if not events:
        return []
    ctx = Context(events)
    return [
        (event, finding)
        for event in events
        for registered in rules.by_type.get(event.type, ())
        for finding in registered.check(event, ctx)
    ]


@dataclass(frozen=True)
class Source:
    """When the finding's fact happened, when the platform learnt of it, and which ledger event recorded it.

    A repair done last month and uploaded today happened last month (the alert says so), but nobody could act on
    it before today: the deadlines run from `known_at`.
    """

    at: dt.datetime
    event_id: int | None = None
    known_at: dt.datetime | None = None


def raise_findings(findings: list[tuple[Source, Finding]]) -> list[Alert]:
    """Insert the alerts of these findings (once per dedup key), routed and dispatched, and record the deliveries
    and the dispatch step of the new ones."""
    if not findings:
        return []
    router, now = Router(), timezone.now()
    alerts = []
    for source, finding in findings:
        registered = REGISTRY[finding.rule]
        event_at = source.at
        known_at = min(max(source.known_at or event_at, event_at), now)
        alerts.append(
            Alert(
                rule=finding.rule,
                category=registered.category,
                severity=registered.severity,
                region_code=finding.region_code,
                organization_id=finding.organization_id,
                vehicle_id=finding.vehicle_id,
                battery_id=finding.battery_id,
                frame_no=finding.frame_no,
                battery_serial=finding.battery_serial,
                evidence=finding.evidence,
                dedup_key=finding.dedup_key[:200],
                event_at=event_at,
                dispatch_due_at=known_at + DISPATCH_SLA,
                due_at=now + registered.closure_sla,
                event_id=source.event_id,
                regulator=router.regulator_for(finding.region_code),
                status=Alert.Status.DISPATCHED,
                dispatched_at=now,
            )
        )
    Alert.objects.bulk_create(alerts, ignore_conflicts=True)
    # The ones inserted here carry this call's dispatch time; a redelivered finding's alert was dispatched before.
    created = list(
        Alert.objects.filter(dedup_key__in=[a.dedup_key for a in alerts], dispatched_at=now).only(
            "id",
            "rule",
            "region_code",
            "category",
            "severity",
            "status",
            "regulator_id",
            "dispatched_at",
            "vehicle_id",
            "battery_id",
            "organization_id",
            "created_at",
            "dispatch_due_at",
            "due_at",
        )
    )
    dispatch_record(created, router, now)
    public_verdicts_refresh(created)
    rollups.alerts_raised(created)
    return created


def public_verdicts_refresh(alerts: Iterable[Alert]) -> None:
    """After commit, drop the cached QR pages of the bikes and batteries whose verdict these alerts change
    (docs/decisions/009), so that a finding shows, and its resolution clears, at once."""
    vehicle_ids, battery_ids = set(), set()
    for alert in alerts:
        speaks_on = REGISTRY[alert.rule].public_on
        if alert.vehicle_id and "vehicle" in speaks_on:
            vehicle_ids.add(alert.vehicle_id)
        if alert.battery_id and "battery" in speaks_on:
            battery_ids.add(alert.battery_id)
    if vehicle_ids or battery_ids:
        from vehicles.public import public_records_forget

        transaction.on_commit(lambda: public_records_forget(vehicle_ids=vehicle_ids, battery_ids=battery_ids))


def dispatch_record(alerts: list[Alert], router: Router, now) -> None:
    """For alerts just dispatched: a delivery to the regulator and to each subscribed department, the dispatch
    step in their history, and the webhooks and e-mails to send after commit."""
    if not alerts:
        return
    deliveries, transitions, webhooks = [], [], []
    for alert in alerts:
        regulator = router.regulator_for(alert.region_code)
        if regulator is not None:
            deliveries.append(
                AlertDelivery(alert=alert, organization=regulator, reason=AlertDelivery.Reason.JURISDICTION)
            )
        for department in router.departments_for(alert.region_code, REGISTRY[alert.rule].notifies):
            deliveries.append(
                AlertDelivery(alert=alert, organization=department, reason=AlertDelivery.Reason.DEPARTMENT)
            )
        for subscription in router.subscriptions_for(alert.region_code, alert.category):
            deliveries.append(
                AlertDelivery(
                    alert=alert, organization=subscription.organization, reason=AlertDelivery.Reason.SUBSCRIPTION
                )
            )
            if subscription.webhook_url:
                webhooks.append(WebhookDelivery(subscription=subscription, alert=alert, next_attempt_at=now))
        transitions.append(
            AlertTransition(
                alert=alert,
                action="dispatch",
                at=alert.dispatched_at,
                due_at=alert.due_at,
                from_status=Alert.Status.NEW,
                to_status=Alert.Status.DISPATCHED,
                note=regulator.name if regulator else "no regulator for this region",
            )
        )
    AlertDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    AlertTransition.objects.bulk_create(transitions)
    from alerts.tasks import notify_dispatched, send_webhooks

    if webhooks:
        WebhookDelivery.objects.bulk_create(webhooks, ignore_conflicts=True)
        transaction.on_commit(lambda: _safely(send_webhooks.delay))
    urgent = [a.pk for a in alerts if a.severity == Severity.HIGH]
    if urgent:
        transaction.on_commit(lambda: _safely(lambda: notify_dispatched.delay(urgent)))


def _safely(send) -> None:
    """Queue a task after commit; with Redis down the beat sweep picks the work up later instead."""
    try:
        send()
    except Exception:  # the broker being down must not fail the request that already committed
        log.warning("could not queue a task; the periodic sweep will pick the work up", exc_info=True)


@transaction.atomic
def drain_outbox(limit: int = BATCH) -> int:
    """Claim up to `limit` unpublished outbox messages, evaluate their events, raise alerts. Returns how many."""
    messages = list(
        OutboxMessage.objects.select_for_update(skip_locked=True)
        .filter(published_at__isnull=True)
        .order_by("id")[:limit]
    )
    if not messages:
        return 0
    # The ledger is partitioned by recorded_at: bounding it by the messages' times reads only their partitions.
    recorded = [m.event_recorded_at for m in messages]
    events = list(
        LifecycleEvent.objects.filter(
            id__in=[m.event_id for m in messages], recorded_at__range=(min(recorded), max(recorded))
        )
    )
    rollups.events_add(events)  # the day's figures, in the same transaction as the messages' publication
    raise_findings(
        [(Source(event.occurred_at, event.pk, event.recorded_at), finding) for event, finding in evaluate(events)]
    )
    OutboxMessage.objects.filter(pk__in=[m.pk for m in messages]).update(published_at=timezone.now())
    return len(messages)


REPEATS_KEPT = 50  # the newest repeats listed in an alert's evidence; `occurrences` counts them all


def _subject(request: AlertRequest) -> tuple:
    """What makes two requests the same finding: the rule, the item and the enterprise concerned."""
    return (request.rule, request.frame_no, request.battery_serial, request.organization_id)


def _open_alerts_for(requests: list[AlertRequest]) -> dict[tuple, Alert]:
    """The open alerts (not closed or dismissed) already raised about these requests' subjects."""
    # Each through its index: the frame number's, the serial's, or the enterprise's for a finding about neither.
    about = Q()
    if frame_nos := {r.frame_no for r in requests if r.frame_no}:
        about |= Q(frame_no__in=frame_nos)
    if serials := {r.battery_serial for r in requests if r.battery_serial}:
        about |= Q(battery_serial__in=serials)
    if enterprises := {r.organization_id for r in requests if not (r.frame_no or r.battery_serial)}:
        about |= Q(organization_id__in=enterprises, frame_no="", battery_serial="")
    candidates = (
        Alert.objects.select_for_update(of=("self",))
        .filter(about, rule__in={r.rule for r in requests}, event_id__isnull=True)  # raised from requests
        .exclude(status__in=(Alert.Status.CLOSED, Alert.Status.DISMISSED))
    )
    found = {}
    for alert in candidates.order_by("created_at", "id"):
        found.setdefault((alert.rule, alert.frame_no, alert.battery_serial, alert.organization_id), alert)
    return found


def _add_repeats(repeated: list[tuple[Alert, list[AlertRequest]]]) -> None:
    """A finding seen again while its alert is open (the same refused code in another delivery) adds to that
    alert: its evidence counts and lists the repeats, and its history records each one. No second alert. One
    UPDATE and one INSERT for the whole batch."""
    steps = []
    for alert, repeats in repeated:
        evidence = dict(alert.evidence or {})
        listed = list(evidence.get("repeats") or [])
        listed += [{"source": r.source, "at": r.created_at.isoformat(), **_repeat_context(r)} for r in repeats]
        evidence["repeats"] = listed[-REPEATS_KEPT:]
        evidence["occurrences"] = int(evidence.get("occurrences") or 1) + len(repeats)
        alert.evidence = evidence
        steps += [
            AlertTransition(
                alert=alert, action="repeat", from_status=alert.status, to_status=alert.status, note=r.source
            )
            for r in repeats
        ]
    Alert.objects.bulk_update([alert for alert, _repeats in repeated], ["evidence"])
    AlertTransition.objects.bulk_create(steps)


def _repeat_context(request: AlertRequest) -> dict:
    evidence = request.evidence or {}
    return {key: evidence[key] for key in ("dealer", "enterprise", "reasons") if key in evidence}


@transaction.atomic
def drain_alert_requests(limit: int = BATCH) -> int:
    """Turn stored alert requests (e.g. refused deliveries) into alerts through the same path; a request about a
    subject whose alert is still open adds to that alert instead (`_add_repeats`)."""
    requests = list(
        AlertRequest.objects.select_for_update(skip_locked=True)
        .filter(processed_at__isnull=True)
        .order_by("id")[:limit]
    )
    if not requests:
        return 0
    frame_nos = {r.frame_no for r in requests if r.frame_no}
    serials = {r.battery_serial for r in requests if r.battery_serial}
    vehicles = dict(Vehicle.objects.filter(frame_no__in=frame_nos).values_list("frame_no", "pk"))
    batteries = dict(Battery.objects.filter(serial__in=serials).values_list("serial", "pk"))
    open_alerts = _open_alerts_for(requests)
    repeats: dict[tuple, list[AlertRequest]] = {}
    first_of: dict[tuple, str] = {}  # subject → dedup key of the alert this batch raises for it
    findings = []
    for request in requests:
        subject = _subject(request)
        if subject in open_alerts or subject in first_of:
            repeats.setdefault(subject, []).append(request)
            continue
        key = f"{request.rule}:request:{request.pk}"
        first_of[subject] = key
        findings.append(
            (
                Source(request.created_at),
                Finding(
                    rule=request.rule,
                    dedup_key=key,
                    region_code=request.region_code,
                    evidence={**request.evidence, "source": request.source},
                    vehicle_id=vehicles.get(request.frame_no),
                    battery_id=batteries.get(request.battery_serial),
                    frame_no=request.frame_no,
                    battery_serial=request.battery_serial,
                    organization_id=request.organization_id,
                ),
            )
        )
    raise_findings(findings)
    if repeats:
        raised = Alert.objects.in_bulk([first_of[s] for s in repeats if s in first_of], field_name="dedup_key")
        repeated = [
            (alert, again)
            for subject, again in repeats.items()
            if (alert := open_alerts.get(subject) or raised.get(first_of.get(subject))) is not None
        ]
        _add_repeats(repeated)
    AlertRequest.objects.filter(pk__in=[r.pk for r in requests]).update(processed_at=timezone.now())
    return len(requests)
