"""Proposed changes to the rule engine and the inbox, measured in-process by bench/bench_alerts.py.

Nothing here is imported by the application: each prototype replaces one function of a running benchmark process
(and is put back afterwards), so the gain of a fix is measured on the same data, in the same run. Import it once
Django is set up.
"""

from __future__ import annotations

import contextlib

from alerts import engine

COUNT_CAP = 10_000


class LeanContext(engine.Context):
    """engine.Context without building a VehicleModel and a Standard (and a BatteryModel) per event.

    The bikes and batteries are loaded with the three columns the rules read (`only`), and the few models and
    standards once per batch (in_bulk), then shared: the rules read `vehicle.model.standard…` as before.
    """

    def __init__(self, events):
        from catalog.models import BatteryModel, VehicleModel
        from vehicles.models import Battery, Vehicle

        self._vehicles = Vehicle.objects.only("id", "frame_no", "model_id").in_bulk(
            {e.vehicle_id for e in events if e.vehicle_id}
        )
        serials = {s for e in events for s in (e.payload.get("battery_flags") or {})}
        battery_ids = {e.battery_id for e in events if e.battery_id}
        self._batteries = Battery.objects.only("id", "serial", "model_id").in_bulk(battery_ids) if battery_ids else {}
        self._by_serial = (
            {b.serial: b for b in Battery.objects.only("id", "serial", "model_id").filter(serial__in=serials)}
            if serials
            else {}
        )
        models = VehicleModel.objects.select_related("standard").in_bulk({v.model_id for v in self._vehicles.values()})
        for vehicle in self._vehicles.values():
            vehicle.model = models[vehicle.model_id]
        pairs = VehicleModel.compatible_battery_models.through.objects.filter(vehiclemodel_id__in=models)
        self._compatible = {}
        for vehicle_model_id, battery_model_id in pairs.values_list("vehiclemodel_id", "batterymodel_id"):
            self._compatible.setdefault(vehicle_model_id, set()).add(battery_model_id)
        wanted = set().union(*self._compatible.values()) if self._compatible else set()
        batteries = [*self._batteries.values(), *self._by_serial.values()]
        self._battery_models = BatteryModel.objects.in_bulk(wanted | {b.model_id for b in batteries})
        for battery in batteries:
            battery.model = self._battery_models[battery.model_id]


def dispatch_grouped(alerts) -> None:
    """engine.dispatch with one UPDATE per regulator instead of bulk_update (a CASE WHEN per alert and field)."""
    from django.db import transaction
    from django.utils import timezone

    from alerts.models import Alert, AlertDelivery, AlertTransition, Severity, WebhookDelivery
    from alerts.routing import Router
    from alerts.tasks import notify_dispatched, send_webhooks

    if not alerts:
        return
    router, now = Router(), timezone.now()
    deliveries, transitions, webhooks, by_regulator = [], [], [], {}
    for alert in alerts:
        regulator = router.regulator_for(alert.region_code)
        alert.regulator, alert.status, alert.dispatched_at = regulator, Alert.Status.DISPATCHED, now
        by_regulator.setdefault(regulator.pk if regulator else None, []).append(alert.pk)
        if regulator is not None:
            deliveries.append(
                AlertDelivery(alert=alert, organization=regulator, reason=AlertDelivery.Reason.JURISDICTION)
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
                from_status=Alert.Status.NEW,
                to_status=Alert.Status.DISPATCHED,
                note=regulator.name if regulator else "no regulator for this region",
            )
        )
    for regulator_id, ids in by_regulator.items():
        Alert.objects.filter(pk__in=ids).update(
            regulator_id=regulator_id, status=Alert.Status.DISPATCHED, dispatched_at=now
        )
    AlertDelivery.objects.bulk_create(deliveries, ignore_conflicts=True)
    AlertTransition.objects.bulk_create(transitions)
    if webhooks:
        WebhookDelivery.objects.bulk_create(webhooks, ignore_conflicts=True)
        transaction.on_commit(lambda: engine._safely(send_webhooks.delay))
    urgent = [a.pk for a in alerts if a.severity == Severity.HIGH]
    if urgent:
        transaction.on_commit(lambda: engine._safely(lambda: notify_dispatched.delay(urgent)))


@contextlib.contextmanager
def engine_patched(context: bool = True, grouped: bool = True):
    """alerts.engine with LeanContext and/or dispatch_grouped for the duration of the block."""
    saved = engine.Context, engine.dispatch
    if context:
        engine.Context = LeanContext
    if grouped:
        engine.dispatch = dispatch_grouped
    try:
        yield
    finally:
        engine.Context, engine.dispatch = saved


# The inbox ---------------------------------------------------------------------------------------------------


def capped_paginator():
    """A Paginator whose count stops at COUNT_CAP + 1 (SELECT count(*) FROM (… LIMIT 10001)): the UI says 10,000+."""
    from django.core.paginator import Paginator
    from django.utils.functional import cached_property

    class CappedPaginator(Paginator):
        @cached_property
        def count(self):
            return self.object_list.order_by()[: COUNT_CAP + 1].count()  # no ORDER BY: any 10,001 rows will do

    return CappedPaginator


def lazy_enterprises_form():
    """The inbox's filter form, but the enterprise choices (a semi-join over every visible alert) are only built
    when an enterprise filter is given: the rows fragment, refreshed every 10 s, never shows the form."""
    from alerts.forms import InboxFilterForm

    class Form(InboxFilterForm):
        def __init__(self, data=None, *, districts=(), enterprises=()):
            if not (data and data.get("enterprise")):
                enterprises = ()
            super().__init__(data, districts=districts, enterprises=enterprises)

    return Form


@contextlib.contextmanager
def inbox_patched(stage: int):
    """Stage 2: the API's and the inbox's count capped; stage 3: the rows fragment without the enterprise choices.
    (Stage 1, the index, is made by the caller in a transaction it rolls back.)"""
    import alerts.views
    from core.api.pagination import Pagination

    saved = alerts.views.Paginator, Pagination.django_paginator_class, alerts.views.InboxFilterForm
    if stage >= 2:
        alerts.views.Paginator = Pagination.django_paginator_class = capped_paginator()
    if stage >= 3:
        alerts.views.InboxFilterForm = lazy_enterprises_form()
    try:
        yield
    finally:
        alerts.views.Paginator, Pagination.django_paginator_class, alerts.views.InboxFilterForm = saved
