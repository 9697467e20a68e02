"""Write paths of alerts: alert requests from the chain, the closed loop, escalation and the sweeps."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Case, CharField, Exists, F, OuterRef, Q, Value, When
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.models import Alert, AlertDelivery, AlertRequest, AlertTransition, RuleCode
from alerts.routing import Router
from alerts.rules import REGISTRY
from core.errors import Conflict, InvalidInput, NotFound, PermissionRefused
from core.models import Organization, User
from core.scoping import in_jurisdiction, scoped
from reports import rollups

S = Alert.Status
OPEN = {S.NEW, S.DISPATCHED, S.RECTIFICATION_REQUESTED, S.RECTIFICATION_SUBMITTED, S.VERIFIED, S.REOPENED}

# action → (who may take it, from which states, to which state). "regulator" means the market regulator of the
# alert's jurisdiction; "enterprise" the enterprise concerned; "department" a department it was shared with.
ACTIONS: dict[str, tuple[str, set[str], str | None]] = {
    "request_rectification": ("regulator", {S.DISPATCHED, S.REOPENED}, S.RECTIFICATION_REQUESTED),
    "submit_rectification": ("enterprise", {S.RECTIFICATION_REQUESTED}, S.RECTIFICATION_SUBMITTED),
    "verify": ("regulator", {S.RECTIFICATION_SUBMITTED}, S.VERIFIED),
    "close": ("regulator", {S.VERIFIED}, S.CLOSED),
    "dismiss": (
        "regulator",
        {S.DISPATCHED, S.RECTIFICATION_REQUESTED, S.RECTIFICATION_SUBMITTED, S.REOPENED},
        S.DISMISSED,
    ),
    "reopen": ("regulator", {S.CLOSED, S.DISMISSED}, S.REOPENED),
    "acknowledge": ("department", OPEN, None),
}
NOTE_REQUIRED = {"submit_rectification", "dismiss", "reopen"}


def alert_request_record(
    *,
    rule: str,
    region_code: str,
    source: str,
    organization: Organization | None = None,
    frame_no: str = "",
    battery_serial: str = "",
    evidence: dict | None = None,
) -> AlertRequest:
    """Store a finding once per source and subject (a replayed request does not raise it twice)."""
    request, _ = AlertRequest.objects.get_or_create(
        source=source,
        rule=rule,
        frame_no=frame_no,
        battery_serial=battery_serial,
        defaults={"region_code": region_code, "organization": organization, "evidence": evidence or {}},
    )
    from vehicles.ledger import outbox_kick

    transaction.on_commit(outbox_kick)
    return request


def alert_roles(user: User, alert: Alert) -> set[str]:
    """The parts the user plays on this alert: regulator (of its jurisdiction), enterprise (concerned), department."""
    org = user.organization
    roles = set()
    if org is None or not org.is_active:
        return roles
    if org.is_regulator and in_jurisdiction(user, alert.region_code):
        roles.add("regulator")
    if alert.organization_id == org.pk:
        roles.add("enterprise")
    if org.is_department and alert.deliveries.filter(organization=org).exists():
        roles.add("department")
    return roles


def allowed_from(action: str, alert: Alert) -> set[str]:
    """The states an action may start from. With no enterprise concerned (a complaint about nobody in
    particular, a counterfeit label), there is nobody to rectify: the regulator closes it once handled."""
    states = ACTIONS[action][1]
    if action == "close" and alert.organization_id is None:
        return states | {S.DISPATCHED, S.RECTIFICATION_REQUESTED, S.REOPENED}
    return states


def allowed_actions(user: User, alert: Alert) -> list[str]:
    """The steps this user may take on this alert now (for showing only the buttons that work)."""
    roles = alert_roles(user, alert)
    return [
        action
        for action, (role, _, _) in ACTIONS.items()
        if role in roles and alert.status in allowed_from(action, alert)
    ]


@transaction.atomic
def alert_transition(*, user: User, alert_id: int, action: str, note: str = "", files=()) -> Alert:
    """Take one step of the closed loop: 404 if the alert is not visible, 403 wrong role, 409 wrong state."""
    alert = scoped(Alert.objects.all(), user).filter(pk=alert_id).first()
    if alert is None:
        raise NotFound(_("No such alert, or not one you may see."))
    if action not in ACTIONS:
        raise InvalidInput(_("Unknown action."), code="unknown_action", fields={"action": [_("Unknown action.")]})
    role, _states, target = ACTIONS[action]
    if role not in alert_roles(user, alert):
        raise PermissionRefused(_("Your organization may not take this step on this alert."), code="wrong_role")
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.status not in allowed_from(action, alert):
        raise Conflict(
            _("This step is not possible while the alert is %(status)s.") % {"status": alert.get_status_display()},
            code="wrong_state",
        )
    if action in NOTE_REQUIRED and not note.strip():
        raise InvalidInput(_("Add a note for this step."), fields={"note": [_("Required for this step.")]})

    now, before = timezone.now(), alert.status
    if action == "acknowledge":
        AlertDelivery.objects.filter(alert=alert, organization=user.organization, acknowledged_at=None).update(
            acknowledged_at=now
        )
    else:
        alert.status = target
        if target in {S.CLOSED, S.DISMISSED}:
            alert.closed_at = now
        if target == S.REOPENED:
            alert.closed_at, alert.due_at = None, now + REGISTRY[alert.rule].closure_sla
        alert.save(update_fields=["status", "closed_at", "due_at"])
    step = AlertTransition.objects.create(
        alert=alert,
        action=action,
        from_status=before,
        to_status=alert.status,
        actor=user,
        actor_organization=user.organization,
        note=note.strip()[:2000],
        due_at=alert.due_at,
    )
    rollups.alert_moved(alert, before=before, step=step)
    for upload in files:
        step.attachments.create(file=upload, content_type=getattr(upload, "content_type", ""))
    if alert.status != before:
        from alerts.engine import public_verdicts_refresh

        public_verdicts_refresh([alert])
    return alert


@transaction.atomic
def alert_close_by_platform(*, alert_id: int, note: str) -> Alert | None:
    """Close an open alert whose cause is gone, e.g. DUTY_OVERDUE once the missing records are filed: nobody took
    the step, so it names no person or organization (the history shows "the platform"); the note says what closed
    it. An alert already closed or dismissed is left as it is (None)."""
    alert = Alert.objects.select_for_update().filter(pk=alert_id).first()
    if alert is None or not alert.is_open:
        return None
    now, before = timezone.now(), alert.status
    alert.status, alert.closed_at = S.CLOSED, now
    alert.save(update_fields=["status", "closed_at"])
    step = AlertTransition.objects.create(
        alert=alert, action="resolved", from_status=before, to_status=S.CLOSED, note=note[:2000], due_at=alert.due_at
    )
    rollups.alert_moved(alert, before=before, step=step)
    from alerts.engine import public_verdicts_refresh

    public_verdicts_refresh([alert])
    return alert


@transaction.atomic
def alerts_escalate(now: dt.datetime | None = None) -> int:
    """Overdue open alerts go up to the parent jurisdiction's regulator (and their deadline moves on)."""
    now = now or timezone.now()
    router, count = Router(), 0
    overdue = (
        Alert.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("regulator")
        .filter(status__in=OPEN, due_at__lt=now)
        .exclude(status=S.NEW)[:500]
    )
    for alert in overdue:
        top = (
            AlertDelivery.objects.filter(alert=alert, reason=AlertDelivery.Reason.ESCALATION)
            .select_related("organization")
            .order_by("-delivered_at")
            .first()
        )
        current = top.organization if top else alert.regulator
        parent = router.parent_regulator_of(current) if current else None
        alert.due_at = now + REGISTRY[alert.rule].closure_sla
        if parent is not None:
            AlertDelivery.objects.get_or_create(
                alert=alert, organization=parent, reason=AlertDelivery.Reason.ESCALATION
            )
            alert.escalation_level += 1
            alert.escalated_at = now
        alert.save(update_fields=["due_at", "escalation_level", "escalated_at"])
        AlertTransition.objects.create(
            alert=alert,
            action="escalate",
            from_status=alert.status,
            to_status=alert.status,
            note=parent.name if parent else "top jurisdiction",
        )
        count += 1
    return count


# A sweep raises at most this many alerts a run; the next run takes the next ones, since each leaves out what
# it has already raised (an alert's dedup_key is unique, so the lookup is an index probe).
SWEEP_LIMIT = 1000


def _not_raised(key_prefix: str, id_field: str = "pk") -> Exists:
    """No alert yet with the dedup_key `key_prefix` + the row's `id_field`: the sweeps' once-per-finding filter,
    written in SQL so that the findings already raised do not take the places of new ones under SWEEP_LIMIT."""
    key = Concat(Value(key_prefix), Cast(OuterRef(id_field), CharField()), output_field=CharField())
    return ~Exists(Alert.objects.filter(dedup_key=key))


def stock_reconcile() -> int:
    """STOCK_MISMATCH for bikes sold or held by a dealer that never passed its incoming inspection."""
    from alerts.engine import Source, raise_findings
    from alerts.rules import Finding
    from vehicles.models import EventType, LifecycleEvent, Vehicle

    received = LifecycleEvent.objects.filter(
        vehicle=OuterRef("pk"), type=EventType.RECEIVED, organization_id=OuterRef("dealer_or_holder")
    )
    reason = Case(
        When(status="registered", then=Value("sold_but_never_received")),
        default=Value("held_but_never_received"),
        output_field=CharField(),
    )
    key = Concat(Value("STOCK_MISMATCH:"), F("reason"), Value(":"), Cast("pk", CharField()), output_field=CharField())
    suspects = (
        Vehicle.objects.filter(status__in=["in_stock", "registered"])
        .filter(Q(dealer__kind="dealer") | Q(dealer__isnull=True, holder__kind="dealer"))
        .annotate(dealer_or_holder=Coalesce("dealer_id", "holder_id"), reason=reason)
        .annotate(key=key)
        .filter(~Exists(received))
        .filter(~Exists(Alert.objects.filter(dedup_key=OuterRef("key"))))
        .select_related("dealer", "holder")
        .order_by("pk")[:SWEEP_LIMIT]
    )
    findings = []
    for vehicle in suspects:
        outlet = vehicle.dealer or vehicle.holder
        findings.append(
            (
                Source(timezone.now()),
                Finding(
                    rule=RuleCode.STOCK_MISMATCH,
                    dedup_key=vehicle.key,
                    region_code=outlet.region_id,
                    evidence={"reason": vehicle.reason, "dealer": outlet.pk},
                    vehicle_id=vehicle.pk,
                    frame_no=vehicle.frame_no,
                    organization_id=outlet.pk,
                ),
            )
        )
    with transaction.atomic():
        return len(raise_findings(findings))


HANDOVER_DAYS = 30


def removed_batteries_sweep(now: dt.datetime | None = None) -> int:
    """A battery removed by a repair shop must reach a recycler within 30 days (回收首站)."""
    from alerts.engine import Source, raise_findings
    from alerts.rules import Finding
    from vehicles.models import Battery, Fitment

    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=HANDOVER_DAYS)
    last_removed = Fitment.objects.filter(battery=OuterRef("pk"), removed_at__lt=cutoff)
    stale = (
        Battery.objects.filter(status="removed", holder__kind="repair_shop")
        .filter(Exists(last_removed), _not_raised("STOCK_MISMATCH:not_handed_over:"))
        .select_related("holder")
        .order_by("pk")[:SWEEP_LIMIT]
    )
    findings = [
        (
            Source(now),
            Finding(
                rule=RuleCode.STOCK_MISMATCH,
                dedup_key=f"STOCK_MISMATCH:not_handed_over:{b.pk}",
                region_code=b.holder.region_id,
                evidence={"reason": "removed_battery_not_handed_over", "days": HANDOVER_DAYS},
                battery_id=b.pk,
                battery_serial=b.serial,
                organization_id=b.holder_id,
            ),
        )
        for b in stale
    ]
    with transaction.atomic():
        return len(raise_findings(findings))


def traded_in_bikes_sweep(now: dt.datetime | None = None) -> int:
    """An old bike traded in (以旧换新) must reach a recycler within 30 days: past that, STOCK_MISMATCH about the dealer
    that holds it (once per bike; a take-back sets `handed_over_at`, recycling/services.py)."""
    from alerts.engine import Source, raise_findings
    from alerts.rules import Finding
    from dealers.models import TradeIn

    now = now or timezone.now()
    stale = (
        TradeIn.objects.filter(handed_over_at__isnull=True, traded_at__lt=now - dt.timedelta(days=HANDOVER_DAYS))
        .filter(_not_raised("STOCK_MISMATCH:trade_in_not_handed_over:", "old_vehicle_id"))
        .select_related("dealer", "old_vehicle")
        .order_by("traded_at", "pk")[:SWEEP_LIMIT]
    )
    findings = [
        (
            Source(now),
            Finding(
                rule=RuleCode.STOCK_MISMATCH,
                dedup_key=f"STOCK_MISMATCH:trade_in_not_handed_over:{t.old_vehicle_id}",
                region_code=t.dealer.region_id,
                evidence={"reason": "trade_in_not_handed_over", "dealer": t.dealer_id, "days": HANDOVER_DAYS},
                vehicle_id=t.old_vehicle_id,
                frame_no=t.old_vehicle.frame_no,
                organization_id=t.dealer_id,
            ),
        )
        for t in stale
    ]
    with transaction.atomic():
        return len(raise_findings(findings))
