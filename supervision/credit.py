"""An enterprise's credit record (信用监管): the rows the public credit platform receives, and who may read them.

Three sources, each a fact the regulator has established, never an accusation:

- `alert`: an alert about the enterprise **closed by the regulator after verifying its rectification**: its
  closing step is the regulator's `close`, which an alert about an enterprise takes only from "verified"
  (alerts/services.py ACTIONS). So it is a violation found, rectified and checked. Not counted: dismissed alerts
  (unfounded), open ones (not yet established), and alerts the platform closed because their cause went away
  (`resolved`, e.g. a DUTY_OVERDUE whose records were filed late: nothing was verified). A reopened alert counts
  again once the regulator closes it again. SAMPLING_FAILED alerts are left out: the failed batch is its own row.
- `enforcement`: every enforcement action taken against it (责令改正、约谈、立案、罚款、没收), with the amount.
- `sampling`: every failed supervisory sampling batch.

Each source is read newest first in one query and the three are merged as they stream, so an export of a city
over a year stays flat in memory.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from alerts.models import Alert, AlertTransition, RuleCode
from alerts.presentation import rule_name
from core.errors import NotFound, PermissionRefused
from core.models import ENTERPRISE_KINDS, Organization, User
from core.scoping import scoped, viewer_of
from reports.risk import jurisdiction_region
from supervision.models import EnforcementAction, ModelKind, SamplingBatch

ALERT, ENFORCEMENT, SAMPLING = "alert", "enforcement", "sampling"
SOURCES = {
    ALERT: gettext_lazy("violation closed after verified rectification"),
    ENFORCEMENT: gettext_lazy("enforcement action"),
    SAMPLING: gettext_lazy("failed supervisory sampling"),
}
SAMPLING_CODE = RuleCode.SAMPLING_FAILED.value
CHUNK = 2000


@dataclass(frozen=True)
class CreditRow:
    date: dt.date
    source: str
    code: str
    description: str
    penalty_yuan: Decimal | None
    organization: Organization

    @property
    def source_label(self) -> str:
        return str(SOURCES[self.source])

    def as_dict(self, *, with_organization: bool = False) -> dict:
        row = {
            "date": self.date,
            "source": self.source,
            "code": self.code,
            "description": self.description,
            "penalty_yuan": self.penalty_yuan,
        }
        if with_organization:
            org = self.organization
            row["organization"] = {"id": org.pk, "name": org.name, "uscc": org.uscc, "region_code": org.region_id}
        return row


# ── Who may read ─────────────────────────────────────────────────────────────────────────────────────────────


def credit_organization(user: User, pk: int) -> Organization:
    """The enterprise, for itself and for the regulators of its subtree; anyone else is told it does not exist."""
    viewer = viewer_of(user)
    org = viewer.organization
    reads = viewer.is_platform or (org is not None and (org.pk == pk or org.is_regulator))
    found = scoped(Organization.objects.filter(pk=pk, kind__in=ENTERPRISE_KINDS), user).first() if reads else None
    if found is None:
        raise NotFound(_("No such enterprise, or not one you may see."))
    return found


def credit_export_prefix(user: User, region_code: str) -> str:
    """The region prefix of an export: a region of the regulator's jurisdiction (its own by default)."""
    viewer = viewer_of(user)
    org = viewer.organization
    if not viewer.is_platform and (org is None or not org.is_active or not org.is_regulator):
        raise PermissionRefused(_("The credit export is for market regulators."))
    code = (region_code or "").strip() or (org.region_id if org is not None else "")
    return jurisdiction_region(user, code).prefix if code else ""


# ── The rows ─────────────────────────────────────────────────────────────────────────────────────────────────


def _bounds(date_from: dt.date | None, date_to: dt.date | None, field: str) -> Q:
    """A day range on a timestamp, in local days."""
    q = Q()
    tz = timezone.get_current_timezone()
    if date_from:
        q &= Q(**{f"{field}__gte": dt.datetime.combine(date_from, dt.time.min, tzinfo=tz)})
    if date_to:
        q &= Q(**{f"{field}__lt": dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)})
    return q


def _alert_rows(where: Q, date_from, date_to) -> Iterator[CreditRow]:
    closing_step = AlertTransition.objects.filter(alert_id=OuterRef("pk")).order_by("-at", "-id").values("action")
    alerts = (
        Alert.objects.filter(where, _bounds(date_from, date_to, "closed_at"), status=Alert.Status.CLOSED)
        .exclude(rule=SAMPLING_CODE)
        .filter(organization__isnull=False, closed_at__isnull=False)
        .alias(closed_by=Subquery(closing_step[:1]))
        .filter(closed_by="close")
        .select_related("organization")
        .order_by("-closed_at", "-id")
    )
    for alert in alerts.iterator(chunk_size=CHUNK):
        subject = alert.frame_no or alert.battery_serial
        description = rule_name(alert.rule) + (f" · {subject}" if subject else "")
        yield CreditRow(timezone.localdate(alert.closed_at), ALERT, alert.rule, description, None, alert.organization)


def _action_rows(where: Q, date_from, date_to) -> Iterator[CreditRow]:
    actions = (
        EnforcementAction.objects.filter(where, _bounds(date_from, date_to, "taken_at"))
        .select_related("organization")
        .order_by("-taken_at", "-id")
    )
    for action in actions.iterator(chunk_size=CHUNK):
        parts = [action.get_kind_display()]
        if action.quantity:
            parts.append(_("%(n)d units") % {"n": action.quantity})
        if action.note:
            parts.append(action.note)
        yield CreditRow(
            timezone.localdate(action.taken_at),
            ENFORCEMENT,
            action.kind,
            " · ".join(str(p) for p in parts),
            action.amount_yuan,
            action.organization,
        )


def _sampling_rows(where: Q, date_from, date_to) -> Iterator[CreditRow]:
    batches = SamplingBatch.objects.filter(where, result=SamplingBatch.Result.FAIL)
    if date_from:
        batches = batches.filter(sampled_at__gte=date_from)
    if date_to:
        batches = batches.filter(sampled_at__lte=date_to)
    kinds = dict(ModelKind.choices)
    for batch in batches.select_related("organization").order_by("-sampled_at", "-id").iterator(chunk_size=CHUNK):
        description = _("%(kind)s %(model)s, batch %(batch)s, lab report %(report)s: failed %(items)s") % {
            "kind": kinds.get(batch.model_kind, batch.model_kind),
            "model": batch.model_code,
            "batch": batch.batch_no,
            "report": batch.lab_report_no,
            "items": "、".join(batch.failed_items or []),
        }
        yield CreditRow(batch.sampled_at, SAMPLING, SAMPLING_CODE, description, None, batch.organization)


def _merged(alerts: Q, actions: Q, batches: Q, date_from, date_to) -> Iterator[CreditRow]:
    return heapq.merge(
        _alert_rows(alerts, date_from, date_to),
        _action_rows(actions, date_from, date_to),
        _sampling_rows(batches, date_from, date_to),
        key=lambda row: row.date,
        reverse=True,
    )


def credit_rows(organization: Organization) -> list[CreditRow]:
    """The enterprise's credit record, newest first."""
    where = Q(organization=organization)
    return list(_merged(where, where, where, None, None))


def credit_rows_in(prefix: str, date_from: dt.date | None, date_to: dt.date | None) -> Iterator[CreditRow]:
    """The credit records of every enterprise registered in the region subtree, newest first (for the export)."""
    return _merged(
        Q(organization__region__code__startswith=prefix),
        Q(region_code__startswith=prefix),
        Q(region_code__startswith=prefix),
        date_from,
        date_to,
    )
