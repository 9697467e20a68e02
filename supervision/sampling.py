"""Supervisory sampling (监督抽查): recording a lab's verdict on a batch of one enterprise's product, what a failure
sets off (a SAMPLING_FAILED alert, the enterprise's risk signal, its product category's grade), and the reads.

A failed batch counts three ways, each where the rest of its kind lives: the alert runs the closed loop like any
other (alerts.engine drains the request); the risk grading counts the enterprise's failed batches of the recent
window through the `sampling_failed` signal registered here (its weight is data, supervision/duty_reference.py);
the product category of the failed product moves one grade up, with the batch named in its reasons, so that the
三分 product list says why.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import IntegrityError, transaction
from django.db.models import Count, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from alerts.models import RuleCode
from alerts.services import alert_request_record
from catalog.models import BatteryModel, ChargerModel, VehicleModel
from core.errors import Conflict, InvalidInput, PermissionRefused
from core.models import ENTERPRISE_KINDS, Organization, User
from core.scoping import in_jurisdiction, scoped
from reports.models import ProductCategory, ProductRiskGrade
from reports.risk import Moment, signal
from supervision.models import ModelKind, SamplingBatch

log = logging.getLogger(__name__)

CATALOG = {ModelKind.VEHICLE: VehicleModel, ModelKind.BATTERY: BatteryModel, ModelKind.CHARGER: ChargerModel}

# reports/risk_reference.py PRODUCT_CATEGORIES: a vehicle, a charger, a battery by its chemistry.
CATEGORY_OF_KIND = {ModelKind.VEHICLE: "vehicle", ModelKind.CHARGER: "charger"}
CATEGORY_OF_CHEMISTRY = {
    "lithium_ion": "battery_lithium_ion",
    "lead_acid": "battery_lead_acid",
    "sodium_ion": "battery_sodium_ion",
}
GRADE_ABOVE = {
    ProductRiskGrade.LOW: ProductRiskGrade.MEDIUM,
    ProductRiskGrade.MEDIUM: ProductRiskGrade.HIGH,
    ProductRiskGrade.HIGH: ProductRiskGrade.HIGH,
}
REASON_CODE = "sampling_failed"
FAILED_ITEMS_MAX = 50


# ── The risk signal ──────────────────────────────────────────────────────────────────────────────────────────


@signal(REASON_CODE, name=gettext_lazy("recent failed supervisory sampling"))
def sampling_failed(moment: Moment) -> dict[int, int]:
    """The failed batches of each enterprise sampled within the window (by the day of sampling, not of the lab's
    report: the product was bad on that day)."""
    since = timezone.localdate(moment.since)
    rows = (
        SamplingBatch.objects.filter(
            result=SamplingBatch.Result.FAIL, sampled_at__gte=since, sampled_at__lte=moment.today
        )
        .order_by()
        .values_list("organization_id")
        .annotate(n=Count("pk"))
    )
    return dict(rows)


# ── Writes ───────────────────────────────────────────────────────────────────────────────────────────────────


def _regulator(user: User) -> Organization:
    org = user.organization
    if org is None or not org.is_active or not org.is_regulator:
        raise PermissionRefused(_("Only a market regulator records supervisory sampling."))
    return org


def _invalid(field: str, message: str, code: str = "invalid") -> InvalidInput:
    return InvalidInput(message, code=code, fields={field: [message]})


def sampling_organization(user: User, organization_id: int) -> Organization:
    """The enterprise sampled, if it lies in the user's jurisdiction; the same refusal for one that does not
    exist, so that an outsider learns nothing."""
    org = Organization.objects.filter(pk=organization_id, kind__in=ENTERPRISE_KINDS).first()
    if org is None or not in_jurisdiction(user, org.region_id):
        raise _invalid("organization", _("No such enterprise in your jurisdiction."), "unknown_organization")
    return org


def sampled_model(model_kind: str, model_code: str):
    """The certified model named (any maker's: a dealer is sampled on what it sells)."""
    found = CATALOG[model_kind].objects.filter(code=model_code).first()
    if found is None:
        raise _invalid("model", _("No certified model of this kind has this code."), "unknown_model")
    return found


@transaction.atomic
def sampling_record(
    *,
    user: User,
    organization_id: int,
    model_kind: str,
    model_code: str,
    batch_no: str,
    sampled_at: dt.date,
    result: str,
    failed_items: list[str],
    lab_report_no: str,
) -> SamplingBatch:
    """Record one sampled batch; a failure raises SAMPLING_FAILED about the enterprise and raises its product
    category's grade."""
    regulator = _regulator(user)
    organization = sampling_organization(user, organization_id)
    model = sampled_model(model_kind, model_code)
    if sampled_at > timezone.localdate():
        raise _invalid("sampled_at", _("The day of sampling cannot be in the future."))
    failed_items = [item.strip() for item in failed_items if item and item.strip()]
    if result == SamplingBatch.Result.FAIL and not failed_items:
        raise _invalid("failed_items", _("Name the items the batch failed."), "failed_items_required")
    if result == SamplingBatch.Result.PASS and failed_items:
        raise _invalid("failed_items", _("A batch that passed has no failed items."))
    if SamplingBatch.objects.filter(regulator=regulator, batch_no=batch_no).exists():
        raise Conflict(_("This batch number is already recorded."), code="batch_already_recorded")
    try:
        with transaction.atomic():  # a concurrent twin: the unique constraint decides
            batch = SamplingBatch.objects.create(
                regulator=regulator,
                organization=organization,
                region_code=organization.region_id,
                model_kind=model_kind,
                model_code=model.code,
                batch_no=batch_no,
                sampled_at=sampled_at,
                result=result,
                failed_items=failed_items,
                lab_report_no=lab_report_no,
                created_by=user,
            )
    except IntegrityError:
        raise Conflict(_("This batch number is already recorded."), code="batch_already_recorded") from None
    if result == SamplingBatch.Result.FAIL:
        alert_request_record(
            rule=RuleCode.SAMPLING_FAILED,
            region_code=organization.region_id,
            source=f"sampling:{batch.pk}",
            organization=organization,
            evidence={
                "batch_no": batch_no,
                "model_kind": model_kind,
                "model": model.code,
                "model_name": model.name,
                "sampled_at": sampled_at.isoformat(),
                "failed_items": failed_items,
                "lab_report_no": lab_report_no,
                "regulator": regulator.pk,
            },
        )
        category_raise(batch=batch, model=model)
    return batch


def category_code(model_kind: str, model) -> str | None:
    if model_kind == ModelKind.BATTERY:
        return CATEGORY_OF_CHEMISTRY.get(model.chemistry)
    return CATEGORY_OF_KIND.get(model_kind)


def category_raise(*, batch: SamplingBatch, model) -> ProductCategory | None:
    """One grade up (high stays high) with the batch appended to the reasons; the row locked, so two failures at
    once each move it."""
    code = category_code(batch.model_kind, model)
    category = ProductCategory.objects.select_for_update().filter(code=code).first() if code else None
    if category is None:  # an administrator removed the category: the alert and the signal still count
        log.warning("no product category %r for failed sampling batch %s", code, batch.pk)
        return None
    category.grade = GRADE_ABOVE.get(category.grade, ProductRiskGrade.HIGH)
    text = f"监督抽查不合格：批次 {batch.batch_no}（型号 {batch.model_code}），{batch.sampled_at.isoformat()} 抽样"
    category.reasons = [*(category.reasons or []), {"code": REASON_CODE, "text": text}]
    category.save(update_fields=["grade", "reasons", "updated_at"])
    return category


# ── Reads ────────────────────────────────────────────────────────────────────────────────────────────────────


def sampling_visible_to(user: User) -> QuerySet[SamplingBatch]:
    """The batches of the user's jurisdiction (regulators), or about the enterprise itself."""
    return scoped(SamplingBatch.objects.select_related("organization", "regulator"), user)


def sampling_filtered(
    batches: QuerySet[SamplingBatch],
    *,
    organization: int | None = None,
    result: str = "",
    model_kind: str = "",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> QuerySet[SamplingBatch]:
    if organization:
        batches = batches.filter(organization_id=organization)
    if result:
        batches = batches.filter(result=result)
    if model_kind:
        batches = batches.filter(model_kind=model_kind)
    if date_from:
        batches = batches.filter(sampled_at__gte=date_from)
    if date_to:
        batches = batches.filter(sampled_at__lte=date_to)
    return batches
