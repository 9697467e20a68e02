"""The 双随机 draw of inspection plans: the period a moment falls in, and each period's random draw of enterprises
(risk enterprises first when the plan says so), one task each, once per plan and period, in one INSERT … SELECT."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.models import Organization, Region
from reports.models import EnterpriseGrade
from supervision.duty_periods import Period, period_of
from supervision.models import DutyKind, InspectionPlan, InspectionTask

Frequency = InspectionPlan.Frequency


def plan_period(plan: InspectionPlan, now: dt.datetime) -> Period:
    """The plan's period at `now`, as the duties count them: its ISO week ("2026-W48") or month ("2026-11"); a
    one-off plan has one period only, the day it was made. The period's code is the one stored on the tasks."""
    if plan.frequency == Frequency.ONCE:
        return period_of(DutyKind.DAILY, timezone.localdate(plan.created_at))
    return period_of(plan.frequency, timezone.localdate(now))


def due_at(plan: InspectionPlan, period: Period) -> dt.datetime:
    """The end of the day `due_days` after the tasks could first be worked on (the period's first day, or the day
    the plan was made within it), whenever the draw itself ran: a re-run gives the same deadline."""
    start = max(period.start, timezone.localdate(plan.created_at))
    day = start + dt.timedelta(days=plan.due_days)
    return timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59, 59)))


def draw_seed(plan_id: int, period_key: str) -> str:
    """The seed of one period's draw. Keyed with the platform's secret: the same plan and period always draw the
    same enterprises, and nobody outside can work out in advance whom a period will draw (双随机)."""
    message = f"inspection-draw:{plan_id}:{period_key}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


_TASK = InspectionTask._meta.db_table
_ORG = Organization._meta.db_table
_GRADE = EnterpriseGrade._meta.db_table

# One statement: the candidates (kinds, region subtree, active), risk enterprises first when the plan is weighted,
# then in the order of a keyed hash of the seed and the enterprise's credit code (its identity everywhere, unlike
# its row id), which is a random permutation that the seed fixes. Nothing is drawn when the period already has
# tasks of this plan, so a re-run of the period never adds to it, even after the grades or the enterprises changed;
# the unique (plan, organization, period) is the backstop.
_DRAW = f"""
INSERT INTO {_TASK} (plan_id, organization_id, region_code, period, status, due_at, created_at,
                     findings, hazards_found, note)
SELECT %(plan)s::bigint, o.id, o.region_id, %(period)s::varchar, %(open)s, %(due)s, %(now)s, '[]'::jsonb, 0, ''
FROM {_ORG} o
LEFT JOIN {_GRADE} g ON g.organization_id = o.id AND g.current
WHERE o.kind = ANY(%(kinds)s) AND o.region_id LIKE %(prefix)s AND o.status = %(active)s
  AND NOT EXISTS (SELECT 1 FROM {_TASK} t WHERE t.plan_id = %(plan)s::bigint AND t.period = %(period)s::varchar)
ORDER BY CASE WHEN %(weighted)s AND g.grade = %(risk)s THEN 0 ELSE 1 END, md5(%(seed)s || ':' || o.uscc), o.id
LIMIT %(limit)s
ON CONFLICT (plan_id, organization_id, period) DO NOTHING
"""


@transaction.atomic
def inspection_plan_draw(*, plan: InspectionPlan, now: dt.datetime | None = None, seed: str | None = None) -> int:
    """Draw the plan's enterprises of the period `now` falls in (one task each); returns how many tasks were made:
    0 when this period was drawn already (or has nobody to draw). `seed`, with the period, replaces the secret seed
    (draw_seed) where the same draw must come out on every machine: the demo's."""
    now = now or timezone.now()
    # One draw of a plan at a time: a second waits here, then finds the period drawn.
    plan = InspectionPlan.objects.select_for_update().get(pk=plan.pk)
    if not plan.active:
        return 0
    period = plan_period(plan, now)
    region = Region.objects.get(code=plan.region_code)
    with connection.cursor() as cursor:
        cursor.execute(
            _DRAW,
            {
                "plan": plan.pk,
                "period": period.code,
                "open": InspectionTask.Status.OPEN,
                "due": due_at(plan, period),
                "now": now,
                "kinds": list(plan.kinds),
                "prefix": region.prefix + "%",
                "active": Organization.Status.ACTIVE,
                "weighted": plan.risk_weighted,
                "risk": EnterpriseGrade.Grade.RISK,
                "seed": draw_seed(plan.pk, period.code) if seed is None else f"{seed}:{period.code}",
                "limit": plan.sample_size,  # NULL: LIMIT ALL
            },
        )
        return cursor.rowcount


def inspection_plans_draw_due(*, now: dt.datetime | None = None) -> dict[int, int]:
    """Beat's round: every active recurring plan draws its current period (a period drawn already adds nothing).
    Each plan in its own transaction, so one plan's trouble does not hold back the others. Returns the plans that
    drew tasks, with how many."""
    now = now or timezone.now()
    drawn = {}
    plans = InspectionPlan.objects.filter(active=True, created_at__lte=now).exclude(frequency=Frequency.ONCE)
    for plan in plans.order_by("pk").only("pk"):
        created = inspection_plan_draw(plan=plan, now=now)
        if created:
            drawn[plan.pk] = created
    return drawn
