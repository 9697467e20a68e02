"""The enforcement figures a bureau reports upward (执法检查): inspections, hazards found and rectified, interviews,
cases, fines, confiscations, sampling, recalls and duties of a region subtree over a range of days, counted from the
records themselves."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from alerts.models import Alert, AlertTransition, RuleCode
from core.errors import InvalidInput
from reports.models import AlertDay
from supervision.models import DutyRecord, EnforcementAction, InspectionTask, Recall, RecallItem, SamplingBatch

Kind = EnforcementAction.Kind

# The figures in the order a bureau reports them, with their names (the API keys are the codes).
FIGURES = (
    ("inspections", gettext_lazy("Inspections done")),
    ("enterprises_inspected", gettext_lazy("Enterprises inspected")),
    ("hazards_found", gettext_lazy("Hazards found")),
    ("hazards_rectified", gettext_lazy("Hazards rectified")),
    ("interviews", gettext_lazy("Interviews (约谈)")),
    ("cases", gettext_lazy("Cases filed (立案)")),
    ("fines_yuan", gettext_lazy("Fines (¥)")),
    ("products_confiscated", gettext_lazy("Products confiscated (units)")),
    ("sampling_batches", gettext_lazy("Sampling batches (监督抽查)")),
    ("sampling_failed", gettext_lazy("Sampling batches failed")),
    ("recalls", gettext_lazy("Recalls (召回)")),
    ("duty_records", gettext_lazy("Duty records filed (日管控、周排查、月调度)")),
    ("duty_overdue", gettext_lazy("Duty records missed")),
)
FIRST_DAY = dt.date(2000, 1, 1)
LAST_DAY = dt.date(2099, 12, 31)
RECTIFIED = (Alert.Status.VERIFIED, Alert.Status.CLOSED)


def _start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def enforcement_figures(prefix: str, first: dt.date, last: dt.date, rules: tuple[str, ...] | None = None) -> dict:
    """The figures of the region subtree `prefix` from day `first` to day `last` (both included, local days).

    - inspections, enterprises_inspected, hazards_found: the inspection tasks done (performed) in the range;
    - hazards_rectified: INSPECTION_HAZARD alerts whose rectification was verified in the range and that stand
      verified or closed;
    - interviews, cases, fines_yuan, products_confiscated: the enforcement actions taken in the range, in an
      inspection or beside one;
    - sampling_batches, sampling_failed: the sampling batches sampled in the range;
    - recalls: the recalls begun in the range by the region, or with units in it;
    - duty_records: the duty records of periods starting in the range; duty_overdue: DUTY_OVERDUE alerts raised
      in the range, read from the alerts' daily rollup (reports.AlertDay).

    `rules`: the alert rules the caller reads (a department: those of its subscriptions; None: all)."""
    start, end = _start(first), _start(last + dt.timedelta(days=1))
    tasks = InspectionTask.objects.filter(
        region_code__startswith=prefix,
        status=InspectionTask.Status.DONE,
        performed_at__gte=start,
        performed_at__lt=end,
    ).aggregate(
        inspections=Count("pk"),
        enterprises_inspected=Count("organization_id", distinct=True),
        hazards_found=Sum("hazards_found"),
    )
    actions = EnforcementAction.objects.filter(
        region_code__startswith=prefix, taken_at__gte=start, taken_at__lt=end
    ).aggregate(
        interviews=Count("pk", filter=Q(kind=Kind.INTERVIEW)),
        cases=Count("pk", filter=Q(kind=Kind.CASE)),
        fines=Sum("amount_yuan", filter=Q(kind=Kind.FINE)),
        confiscated=Sum("quantity", filter=Q(kind=Kind.CONFISCATION)),
    )
    sampling = SamplingBatch.objects.filter(
        region_code__startswith=prefix, sampled_at__gte=first, sampled_at__lte=last
    ).aggregate(batches=Count("pk"), failed=Count("pk", filter=Q(result=SamplingBatch.Result.FAIL)))
    units_here = RecallItem.objects.filter(recall=OuterRef("pk"), region_code__startswith=prefix)
    recalls = (
        Recall.objects.filter(created_at__gte=start, created_at__lt=end)
        .filter(Q(region_code__startswith=prefix) | Exists(units_here))
        .count()
    )
    duty_records = DutyRecord.objects.filter(
        region_code__startswith=prefix, period_start__gte=first, period_start__lte=last
    ).count()
    reads = set(rules) if rules is not None else {RuleCode.INSPECTION_HAZARD, RuleCode.DUTY_OVERDUE}
    hazards_rectified = _hazards_rectified(prefix, start, end) if RuleCode.INSPECTION_HAZARD in reads else 0
    duty_overdue = 0
    if RuleCode.DUTY_OVERDUE in reads:
        duty_overdue = (
            AlertDay.objects.filter(
                region_code__startswith=prefix, rule=RuleCode.DUTY_OVERDUE, day__gte=first, day__lte=last
            ).aggregate(raised=Sum("raised"))["raised"]
            or 0
        )
    return {
        "inspections": tasks["inspections"],
        "enterprises_inspected": tasks["enterprises_inspected"],
        "hazards_found": tasks["hazards_found"] or 0,
        "hazards_rectified": hazards_rectified,
        "interviews": actions["interviews"],
        "cases": actions["cases"],
        # A string of yuan and fen, exact (JSON numbers would be floats).
        "fines_yuan": f"{(actions['fines'] or Decimal(0)).quantize(Decimal('0.01'))}",
        "products_confiscated": actions["confiscated"] or 0,
        "sampling_batches": sampling["batches"],
        "sampling_failed": sampling["failed"],
        "recalls": recalls,
        "duty_records": duty_records,
        "duty_overdue": duty_overdue,
    }


def _hazards_rectified(prefix: str, start: dt.datetime, end: dt.datetime) -> int:
    """INSPECTION_HAZARD alerts of the subtree verified in [start, end) and standing verified or closed. Only an
    inspection with hazards raises one, about the enterprise inspected: looked up through those enterprises' own
    alerts (an index per enterprise), not through every alert of the region."""
    inspected = list(
        InspectionTask.objects.filter(region_code__startswith=prefix, hazards_found__gt=0)
        .order_by()
        .values_list("organization_id", flat=True)
        .distinct()
    )
    if not inspected:
        return 0
    verified_then = AlertTransition.objects.filter(alert=OuterRef("pk"), action="verify", at__gte=start, at__lt=end)
    return (
        Alert.objects.filter(
            organization_id__in=inspected,
            region_code__startswith=prefix,
            rule=RuleCode.INSPECTION_HAZARD,
            status__in=RECTIFIED,
        )
        .filter(Exists(verified_then))
        .count()
    )


def _day(value: str | None, field: str, default: dt.date) -> dt.date:
    if value is None or not str(value).strip():
        return default
    try:
        day = dt.date.fromisoformat(str(value).strip())
    except ValueError:
        day = None
    if day is None or len(str(value).strip()) != 10 or not FIRST_DAY <= day <= LAST_DAY:
        message = _("A day is written YYYY-MM-DD, e.g. 2026-11-01, from 2000 on.")
        raise InvalidInput(message, code="invalid_date", fields={field: [message]})
    return day


def enforcement_range(first_value: str | None, last_value: str | None) -> tuple[dt.date, dt.date]:
    """from/to as days, both included; none: this month up to today."""
    today = timezone.localdate()
    last = _day(last_value, "to", today)
    first = _day(first_value, "from", last.replace(day=1))
    if first > last:
        message = _("The first day comes after the last.")
        raise InvalidInput(message, code="invalid_range", fields={"from": [message]})
    return first, last
