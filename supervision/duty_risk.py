"""The risk signal of the duties (三分 grading, reports.risk): the records an enterprise failed to file in time."""

from __future__ import annotations

from django.db.models import CharField, Count, Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.utils.translation import gettext_lazy

from alerts.models import Alert, AlertRequest, RuleCode
from reports.risk import Moment, signal


@signal("duty_overdue", name=gettext_lazy("duty records missing after their period (日管控、周排查、月调度)"))
def duty_overdue(moment: Moment) -> dict[int, int]:
    """Each record found missing in the window counts once (one DUTY_OVERDUE alert request per enterprise, kind and
    period), less those whose alert the regulator dismissed as unfounded. Not the alerts themselves: while an
    enterprise's alert is open its next misses add to it, so an enterprise that never files would hold one alert
    and one that files late every time many.

    Which alert a miss went to: the first one's dedup key names its request (alerts.engine), a repeat's step
    "seen again" names its source."""
    dismissed = Alert.objects.filter(
        rule=RuleCode.DUTY_OVERDUE, status=Alert.Status.DISMISSED, organization_id=OuterRef("organization_id")
    )
    first_of_dismissed = dismissed.filter(
        dedup_key=Concat(Value(f"{RuleCode.DUTY_OVERDUE.value}:request:"), Cast(OuterRef("pk"), CharField()))
    )
    repeat_of_dismissed = dismissed.filter(transitions__action="repeat", transitions__note=OuterRef("source"))
    misses = AlertRequest.objects.filter(
        rule=RuleCode.DUTY_OVERDUE,
        organization__isnull=False,
        created_at__gte=moment.since,
        created_at__lte=moment.now,
    ).filter(~Exists(first_of_dismissed), ~Exists(repeat_of_dismissed))
    return dict(misses.order_by().values_list("organization_id").annotate(n=Count("pk")))
