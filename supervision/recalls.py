"""Recalls (召回): starting one (every unit of a model produced in a date range, matched in one statement), telling
the regulators where the units are, remedying units one by one, who sees a recall, its progress per district, and
the open recall a unit's public page shows.

A recall's units are matched set-based: one INSERT … SELECT writes a RecallItem for each produced bike or battery
with that model and production day, carrying the unit's current region, whatever their number (100,000 units in a
few seconds; bench/bench_recall.py). Units already scrapped or recycled are off the road: nothing is left to
remedy, so they are not matched (a recall that counted them could never be done).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import JSONObject, Left, TruncDate
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from alerts.routing import Router
from catalog.models import BatteryModel, VehicleModel
from core.errors import Conflict, InvalidInput, NotFound, PermissionRefused
from core.models import Organization, OrganizationKind, Region, User
from core.notices import notice_send
from core.scoping import scope_filter, viewer_of
from supervision.models import ModelKind, Recall, RecallItem
from vehicles.models import Battery, Vehicle

K = OrganizationKind
RECALL_KINDS = (ModelKind.VEHICLE, ModelKind.BATTERY)  # chargers are not tracked unit by unit
MAKER_KINDS = frozenset({K.MANUFACTURER, K.BATTERY_MAKER})
REMEDY_KINDS = frozenset({K.DEALER, K.REPAIR_SHOP, *MAKER_KINDS})

# What each kind of recall matches: the unit table, the item's column, the catalog, and the statuses of units
# that are off the road.
UNITS = {
    ModelKind.VEHICLE: (Vehicle, "vehicle_id", VehicleModel, (Vehicle.Status.SCRAPPED, Vehicle.Status.RECYCLED)),
    ModelKind.BATTERY: (Battery, "battery_id", BatteryModel, (Battery.Status.RECYCLED,)),
}
FORGET_CHUNK = 5_000
DISTRICT_DIGITS = 6  # GB/T 2260: the county (区县) is the first six digits of any code below it


# ── Starting a recall ────────────────────────────────────────────────────────────────────────────────────────


def _invalid(field: str, message: str, code: str = "invalid") -> InvalidInput:
    return InvalidInput(message, code=code, fields={field: [message]})


def recall_model(model_kind: str, model_code: str):
    model = UNITS[model_kind][2].objects.select_related("maker").filter(code=model_code).first()
    if model is None:
        raise _invalid("model", _("No certified model of this kind has this code."), "unknown_model")
    return model


def _initiator(user: User, model) -> Organization:
    """A market regulator (any: a recall reaches the units wherever they are), or the maker of the model."""
    org = user.organization
    if org is not None and org.is_active and (org.is_regulator or org.pk == model.maker_id):
        return org
    raise PermissionRefused(_("Only a market regulator or the maker of the model may start a recall."))


@transaction.atomic
def recall_start(
    *,
    user: User,
    model_kind: str,
    model_code: str,
    produced_from: dt.date,
    produced_to: dt.date,
    reason: str,
) -> Recall:
    """Match every unit of the model produced in the range, then leave a notice for the regulator of each region
    the units are in, once per regulator, with its count."""
    org = user.organization
    if org is None or not org.is_active or not (org.is_regulator or org.kind in MAKER_KINDS):
        raise PermissionRefused(_("Only a market regulator or the maker of the model may start a recall."))
    model = recall_model(model_kind, model_code)
    initiator = _initiator(user, model)
    if produced_from > produced_to:
        raise _invalid("produced_to", _("The range ends before it begins."))
    recall = Recall.objects.create(
        initiated_by=initiator,
        region_code=initiator.region_id,
        model_kind=model_kind,
        model_code=model.code,
        maker=model.maker,
        produced_from=produced_from,
        produced_to=produced_to,
        reason=reason,
        created_by=user,
    )
    matched = recall_match(recall, model)
    if not matched.affected:
        message = _("No unit of this model produced in this range is on the road.")
        raise InvalidInput(message, code="nothing_to_recall", fields={"produced_from": [message]})
    recall.affected = matched.affected
    recall.save(update_fields=["affected"])
    recall_notify(recall, model, matched.per_region)
    codes = matched.codes
    transaction.on_commit(lambda: public_codes_forget(codes))
    return recall


@dataclass(frozen=True)
class Matched:
    per_region: dict[str, int]  # units per region code
    codes: list[str]  # the public codes whose cached record changes: the units', and the bikes batteries are in

    @property
    def affected(self) -> int:
        return sum(self.per_region.values())


def recall_match(recall: Recall, model) -> Matched:
    """One statement: an INSERT … SELECT writes a RecallItem for each unit on the road, with the unit's current
    region, and the same pass counts the units per region (for the notices) and gathers their public codes (for
    the cache), so that 100,000 units are read once."""
    unit, column, _catalog, gone = UNITS[recall.model_kind]
    if recall.model_kind == ModelKind.BATTERY:  # a bike's page speaks of its fitted battery's recall
        fitted_in = f"LEFT JOIN {Vehicle._meta.db_table} fv ON fv.id = u.vehicle_id"
        fitted_code = "fv.code"
    else:
        fitted_in, fitted_code = "", "NULL::varchar"
    # Table and column names come from the models; the values are parameters.
    sql = f"""
        WITH units AS MATERIALIZED (
            SELECT u.id, u.region_id, u.code, {fitted_code} AS fitted_in
            FROM {unit._meta.db_table} u {fitted_in}
            WHERE u.model_id = %s AND u.produced_on BETWEEN %s AND %s AND NOT (u.status = ANY(%s))
        ), matched AS (
            INSERT INTO {RecallItem._meta.db_table} (recall_id, {column}, region_code)
            SELECT %s, id, region_id FROM units
            RETURNING region_code
        ), per_region AS (
            SELECT region_code, count(*) AS n FROM matched GROUP BY region_code
        )
        SELECT per_region.region_code, per_region.n, codes.codes
        FROM per_region LEFT JOIN (
            SELECT region_id, array_agg(code) || array_remove(array_agg(fitted_in), NULL) AS codes
            FROM units GROUP BY region_id
        ) codes ON codes.region_id = per_region.region_code
    """
    params = [model.pk, recall.produced_from, recall.produced_to, [str(status) for status in gone]]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, recall.pk])
        rows = cursor.fetchall()
    return Matched(per_region={code: n for code, n, _codes in rows}, codes=[c for *_r, cs in rows for c in cs or ()])


def recall_notify(recall: Recall, model, per_region: dict[str, int]) -> list[Organization]:
    """A notice to each regulator whose region is the longest prefix of a region with units, with its count."""
    router, counts, regulators = Router(), Counter(), {}
    for region_code, n in per_region.items():
        regulator = router.regulator_for(region_code)
        if regulator is not None:
            counts[regulator.pk] += n
            regulators[regulator.pk] = regulator
    url = reverse("recall-detail", args=[recall.pk])
    with translation.override(settings.LANGUAGE_CODE):  # a notice to another bureau: the platform's language
        for pk, n in sorted(counts.items()):
            title = ngettext(
                "Recall of %(model)s (%(name)s): %(n)d unit in your jurisdiction",
                "Recall of %(model)s (%(name)s): %(n)d units in your jurisdiction",
                n,
            ) % {"model": model.code, "name": model.name, "n": n}
            notice_send(organization=regulators[pk], title=title, url=url, body=recall.reason)
    return list(regulators.values())


def public_codes_forget(codes: list[str]) -> None:
    from vehicles.public import public_codes_forget as forget

    for start in range(0, len(codes), FORGET_CHUNK):
        forget(codes[start : start + FORGET_CHUNK])


def recall_item_forget_after_commit(item: RecallItem) -> None:
    """After commit, drop the cached public record of a remedied unit (and of the bike a battery is in)."""
    from vehicles.public import public_records_forget

    vehicle_ids = [item.vehicle_id] if item.vehicle_id else []
    battery_ids = [item.battery_id] if item.battery_id else []
    if item.battery_id:
        vehicle_ids += [v for v in Battery.objects.filter(pk=item.battery_id).values_list("vehicle_id", flat=True) if v]
    transaction.on_commit(lambda: public_records_forget(vehicle_ids=vehicle_ids, battery_ids=battery_ids))


# ── Remedies ─────────────────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class Unit:
    kind: str  # vehicle | battery
    pk: int
    ref: str  # frame number or battery serial
    code: str  # public code
    model_code: str
    model_name: str


def unit_by_ref(ref: str) -> Unit | None:
    """The bike (frame number or public code) or battery (serial or public code) a scanned or typed code names."""
    ref = (ref or "").strip()
    if not ref or len(ref) > 64:
        return None
    wanted = {ref, ref.upper()}
    vehicle = Vehicle.objects.select_related("model").filter(Q(frame_no__in=wanted) | Q(code__in=wanted)).first()
    if vehicle is not None:
        m = vehicle.model
        return Unit(ModelKind.VEHICLE, vehicle.pk, vehicle.frame_no, vehicle.code, m.code, m.name)
    battery = Battery.objects.select_related("model").filter(Q(serial__in=wanted) | Q(code__in=wanted)).first()
    if battery is not None:
        m = battery.model
        return Unit(ModelKind.BATTERY, battery.pk, battery.serial, battery.code, m.code, m.name)
    return None


def _remedier(user: User) -> Organization:
    org = user.organization
    if org is None or not org.is_active or org.kind not in REMEDY_KINDS:
        raise PermissionRefused(_("Recalled units are remedied by dealers, repair shops and the maker."))
    return org


def recall_for_remedy(user: User, recall_id: int) -> Recall:
    """The recall a dealer or repair shop (any: the owner takes the unit to the nearest) or its maker remedies."""
    org = _remedier(user)
    recall = Recall.objects.filter(pk=recall_id).first()
    if recall is None or (org.kind in MAKER_KINDS and recall.maker_id != org.pk):
        raise NotFound(_("No such recall, or not one you may see."))
    return recall


@transaction.atomic
def recall_remedy(*, user: User, recall: Recall, ref: str) -> RecallItem:
    """Mark one unit of the recall remedied; once only (a second is 409). The last unit makes the recall done."""
    org = _remedier(user)
    if org.kind in MAKER_KINDS and recall.maker_id != org.pk:
        raise NotFound(_("No such recall, or not one you may see."))
    unit = unit_by_ref(ref)
    item = None
    if unit is not None and unit.kind == recall.model_kind:
        item = RecallItem.objects.filter(recall=recall, **{UNITS[unit.kind][1]: unit.pk}).first()
    if item is None:
        raise NotFound(
            _("This bike or battery is not part of this recall."), code="not_in_recall", fields={"ref": [ref]}
        )
    now = timezone.now()
    claimed = RecallItem.objects.filter(pk=item.pk, remedied_at__isnull=True).update(remedied_at=now, remedied_by=org)
    if not claimed:
        raise Conflict(_("This unit has already been remedied."), code="already_remedied")
    # The row lock orders concurrent remedies; each sees the count the one before it left.
    Recall.objects.filter(pk=recall.pk).update(
        remedied=F("remedied") + 1,
        status=Case(
            When(affected__lte=F("remedied") + 1, then=Value(Recall.Status.DONE)),
            default=F("status"),
        ),
    )
    recall.refresh_from_db(fields=["remedied", "status"])
    item.remedied_at, item.remedied_by = now, org
    recall_item_forget_after_commit(item)
    return item


# ── Reads ────────────────────────────────────────────────────────────────────────────────────────────────────


def recalls_visible_to(user: User) -> QuerySet[Recall]:
    """The initiator, the maker and the regulators of the initiator's region (Recall.scope), and the regulators of
    any region with an affected unit (through the items)."""
    recalls = Recall.objects.select_related("maker", "initiated_by")
    condition = scope_filter(Recall, user)
    if condition is None:
        return recalls
    viewer = viewer_of(user)
    org = viewer.organization
    if org is not None and org.is_active and org.is_regulator:
        in_region = RecallItem.objects.filter(recall_id=OuterRef("pk"), region_code__startswith=viewer.region_prefix)
        condition |= Q(Exists(in_region))
    return recalls.filter(condition)


def recall_visible(user: User, pk: int) -> Recall:
    recall = recalls_visible_to(user).filter(pk=pk).first()
    if recall is None:
        raise NotFound(_("No such recall, or not one you may see."))
    return recall


def recall_sees_all_districts(user: User, recall: Recall) -> bool:
    viewer = viewer_of(user)
    org = viewer.organization
    return viewer.is_platform or (
        org is not None
        and (org.pk in (recall.maker_id, recall.initiated_by_id) or recall.region_code.startswith(viewer.region_prefix))
    )


def recall_districts(user: User, recall: Recall) -> list[dict]:
    """Affected and remedied units per district (区县), named; a regulator that sees the recall only through its
    units sees the districts of its own jurisdiction."""
    items = RecallItem.objects.filter(recall=recall)
    if not recall_sees_all_districts(user, recall):
        items = items.filter(region_code__startswith=viewer_of(user).region_prefix)
    rows = list(
        items.order_by()
        .annotate(district=Left("region_code", DISTRICT_DIGITS))
        .values("district")
        .annotate(affected=Count("pk"), remedied=Count("pk", filter=Q(remedied_at__isnull=False)))
        .order_by("district")
    )
    names = dict(Region.objects.filter(code__in=[r["district"] for r in rows]).values_list("code", "name"))
    return [
        {
            "region_code": row["district"],
            "name": names.get(row["district"], row["district"]),
            "affected": row["affected"],
            "remedied": row["remedied"],
        }
        for row in rows
    ]


def open_recalls_of(user: User, unit: Unit) -> list[Recall]:
    """The recalls in which this unit still waits for its remedy, that this user may remedy."""
    org = user.organization
    recalls = Recall.objects.filter(
        Exists(
            RecallItem.objects.filter(
                recall_id=OuterRef("pk"), remedied_at__isnull=True, **{UNITS[unit.kind][1]: unit.pk}
            )
        )
    )
    if org is not None and org.kind in MAKER_KINDS:
        recalls = recalls.filter(maker=org)
    return list(recalls.order_by("created_at", "pk"))


def public_recall(subject: str, ref: str = "pk") -> Subquery:
    """The oldest open recall of the bike or battery at OuterRef(`ref`) as `{"model", "reason", "since"}`, or null:
    an annotation, so the public record stays one query per table (tests/vehicles/test_public.py)."""
    column = "vehicle_id" if subject == ModelKind.VEHICLE else "battery_id"
    open_items = RecallItem.objects.filter(**{column: OuterRef(ref)}, remedied_at__isnull=True).order_by(
        "recall__created_at", "recall_id"
    )
    state = JSONObject(model=F("recall__model_code"), reason=F("recall__reason"), since=TruncDate("recall__created_at"))
    return Subquery(open_items.annotate(state=state).values("state")[:1])
