"""Stolen bikes (被盗车辆): the police's report and its close when the bike is found, the hot sheet of a region, the
open reports the rule engine checks every event against, and the scan of a stolen bike's QR page by an enterprise.

The rule itself (every later step of a stolen bike raises STOLEN_SEEN to the police) is alerts.rules.stolen_seen;
the engine's Context asks `stolen_sightings` once per batch.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.db.models.functions import JSONObject
from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audit_record
from core.errors import Conflict, InvalidInput, PermissionRefused
from core.models import Organization, OrganizationKind, User
from core.scoping import in_jurisdiction, scoped
from vehicles.ledger import event_append
from vehicles.models import Battery, EventType, Registration, StolenReport, Vehicle
from vehicles.selectors import vehicle_visible

REPORT_NO_MAX = StolenReport._meta.get_field("report_no").max_length
CLOCK_SKEW = dt.timedelta(minutes=5)  # a police system's clock a little ahead of ours is not a report from the future


# ── The engine's side ────────────────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class StolenSighting:
    """An open report, as a rule reads it against an event of the bike."""

    vehicle_id: int
    frame_no: str
    region_code: str
    report_no: str
    reported_at: dt.datetime


def stolen_sightings(events) -> dict[tuple[int | None, int | None], StolenSighting]:
    """The open stolen reports of the events' bikes, keyed (vehicle id, None); and of the bikes that the batteries of
    swaps on their own chains are fitted in now, keyed (None, battery id). One query, on the partial unique index
    of open reports, with the ids as two array parameters (the rule engine calls it for every batch, and most
    batches find nothing: it must cost next to nothing)."""
    vehicle_ids = list({e.vehicle_id for e in events if e.vehicle_id})
    loose = list({e.battery_id for e in events if e.battery_id and not e.vehicle_id and e.type == EventType.SWAPPED})
    with connection.cursor() as cursor:
        cursor.execute(SIGHTINGS_SQL if loose else OPEN_REPORTS_SQL, {"vehicles": vehicle_ids, "batteries": loose})
        rows = cursor.fetchall()
    found: dict[tuple[int | None, int | None], StolenSighting] = {}
    for vehicle_id, frame_no, region_code, report_no, reported_at, batteries in rows:
        sighting = StolenSighting(vehicle_id, frame_no, region_code, report_no, reported_at)
        found[(vehicle_id, None)] = sighting
        for battery_id in batteries or ():
            found[(None, battery_id)] = sighting
    return found


_REPORTS = f"""
SELECT r.vehicle_id, v.frame_no, r.region_code, r.report_no, r.reported_at, {{batteries}}
FROM {StolenReport._meta.db_table} r JOIN {Vehicle._meta.db_table} v ON v.id = r.vehicle_id
WHERE r.found_at IS NULL AND {{which}}
"""
OPEN_REPORTS_SQL = _REPORTS.format(batteries="NULL::bigint[]", which="r.vehicle_id = ANY(%(vehicles)s::bigint[])")
_FITTED = f"SELECT b.vehicle_id, b.id FROM {Battery._meta.db_table} b WHERE b.id = ANY(%(batteries)s::bigint[])"
SIGHTINGS_SQL = _REPORTS.format(
    batteries=f"ARRAY(SELECT f.id FROM ({_FITTED}) f WHERE f.vehicle_id = r.vehicle_id)",
    which=f"(r.vehicle_id = ANY(%(vehicles)s::bigint[]) OR r.vehicle_id IN (SELECT f.vehicle_id FROM ({_FITTED}) f))",
)


# ── Reports (police) ─────────────────────────────────────────────────────────────────────────────────────────


def _police(user: User) -> Organization:
    org = user.organization
    if org is None or org.kind != OrganizationKind.POLICE or not org.is_active:
        raise PermissionRefused(_("Only the police report a bike stolen or found."), code="police_only")
    return org


def _vehicle_for_police(user: User, frame_no: str) -> tuple[Vehicle, Organization]:
    """The bike, locked (the head of its chain), if the user is the police of its jurisdiction; 404 for anyone who
    may not see it, 403 for the others who may (its dealer, a regulator)."""
    visible = vehicle_visible(user, frame_no)
    org = _police(user)
    if not in_jurisdiction(user, visible.region_id):
        raise PermissionRefused(_("This bike is registered outside your jurisdiction."), code="outside_jurisdiction")
    return Vehicle.objects.select_for_update().get(pk=visible.pk), org


def _moment(value: dt.datetime, field: str, *, not_before: dt.datetime | None = None) -> dt.datetime:
    if value > timezone.now() + CLOCK_SKEW:
        raise InvalidInput(_("This time is in the future."), fields={field: [_("Not in the future.")]})
    if not_before is not None and value < not_before:
        message = _("The bike cannot be found before it was reported stolen.")
        raise InvalidInput(message, fields={field: [message]})
    return value


def _forget_public_record(vehicle: Vehicle) -> None:
    from vehicles.public import public_records_forget

    transaction.on_commit(lambda: public_records_forget(vehicle_ids=[vehicle.pk]))


@transaction.atomic
def stolen_report_open(
    *, user: User, frame_no: str, report_no: str, reported_at: dt.datetime, ip_address: str | None = None
) -> StolenReport:
    """Report a bike stolen (报失): the report, its `stolen_reported` step on the bike's ledger and an audit entry, in
    one transaction holding the bike locked. From now on every later step of the bike raises STOLEN_SEEN, and its
    QR page says "已报失窃". 409 `already_reported` while an earlier report is open."""
    report_no = " ".join(str(report_no or "").split())
    if not 1 <= len(report_no) <= REPORT_NO_MAX:
        message = _("Enter the police report number (1 to %(n)d characters).") % {"n": REPORT_NO_MAX}
        raise InvalidInput(message, fields={"report_no": [message]})
    reported_at = _moment(reported_at, "reported_at")
    vehicle, police = _vehicle_for_police(user, frame_no)
    if StolenReport.objects.filter(vehicle=vehicle, found_at__isnull=True).exists():
        raise Conflict(_("This bike is already reported stolen and not found yet."), code="already_reported")
    report = StolenReport.objects.create(
        vehicle=vehicle,
        region_code=vehicle.region_id,
        report_no=report_no,
        reported_at=reported_at,
        reported_by=police,
    )
    event_append(
        vehicle=vehicle,
        type=EventType.STOLEN_REPORTED,
        occurred_at=reported_at,
        region_code=vehicle.region_id,
        organization_id=police.pk,
        payload={"report": report.pk, "report_no": report_no},
    )
    audit_record(
        actor=user,
        action="vehicle.stolen_reported",
        target=report,
        data={"frame_no": vehicle.frame_no, "report_no": report_no},
        ip_address=ip_address,
    )
    _forget_public_record(vehicle)
    return report


@transaction.atomic
def stolen_report_close(
    *, user: User, frame_no: str, found_at: dt.datetime, note: str = "", ip_address: str | None = None
) -> StolenReport:
    """The bike is found (找回): the open report closes, with its `found` step on the ledger and an audit entry; the
    bike's later steps raise nothing more and its QR page no longer says stolen. 409 `not_reported` without an
    open report."""
    vehicle, police = _vehicle_for_police(user, frame_no)
    report = StolenReport.objects.select_for_update().filter(vehicle=vehicle, found_at__isnull=True).first()
    if report is None:
        raise Conflict(_("This bike is not reported stolen."), code="not_reported")
    found_at = _moment(found_at, "found_at", not_before=report.reported_at)
    StolenReport.objects.filter(pk=report.pk).update(found_at=found_at, found_by=police)
    report.found_at, report.found_by = found_at, police
    note = " ".join(str(note or "").split())[:200]
    event_append(
        vehicle=vehicle,
        type=EventType.FOUND,
        occurred_at=found_at,
        region_code=vehicle.region_id,
        organization_id=police.pk,
        payload={"report": report.pk, "report_no": report.report_no, **({"note": note} if note else {})},
    )
    audit_record(
        actor=user,
        action="vehicle.found",
        target=report,
        data={"frame_no": vehicle.frame_no, "report_no": report.report_no},
        ip_address=ip_address,
    )
    _forget_public_record(vehicle)
    return report


# ── The hot sheet (police and regulators) ────────────────────────────────────────────────────────────────────


def _may_read_hot_sheet(user: User) -> bool:
    org = user.organization
    if user.is_superuser:
        return True
    return org is not None and org.is_active and (org.is_regulator or org.kind == OrganizationKind.POLICE)


def hot_sheet(user: User, region_code: str = "") -> QuerySet[StolenReport]:
    """The open reports of a region (the caller's own by default), newest first, each with its bike, the bike's
    plate and the last time it was seen (the newest STOLEN_SEEN alert since the report: `last_seen`, a dict of
    `at` and the alert's evidence). 403 for whoever is neither police nor regulator; 404 for a region outside the
    caller's jurisdiction."""
    from alerts.models import Alert, RuleCode
    from reports.risk import jurisdiction_region

    if not _may_read_hot_sheet(user):
        raise PermissionRefused(_("Only the police and the market regulator read the stolen-bike hot sheet."))
    code = str(region_code or "").strip() or (user.organization.region_id if user.organization else "")
    reports = scoped(StolenReport.objects.filter(found_at__isnull=True), user)
    if code:
        reports = reports.filter(region_code__startswith=jurisdiction_region(user, code).prefix)
    plate = Registration.objects.filter(vehicle_id=OuterRef("vehicle_id"), status=Registration.Status.ACTIVE)
    seen = Alert.objects.filter(
        rule=RuleCode.STOLEN_SEEN, vehicle_id=OuterRef("vehicle_id"), event_at__gte=OuterRef("reported_at")
    ).order_by("-event_at", "-id")
    return (
        reports.select_related("vehicle__model", "reported_by")
        .annotate(
            plate_no=Subquery(plate.values("plate_no")[:1]),
            last_seen=Subquery(seen.values(json=JSONObject(id="id", at="event_at", evidence="evidence"))[:1]),
        )
        .order_by("-reported_at", "-id")
    )


def sighting_places(reports) -> tuple[dict[int, str], dict[str, str]]:
    """The names of the enterprises and regions the last sightings of these reports name: (by id, by code)."""
    from core.models import Region

    evidence = [(r.last_seen or {}).get("evidence") or {} for r in reports]
    org_ids = {e.get("enterprise") for e in evidence if isinstance(e.get("enterprise"), int)}
    codes = {e.get("seen_region") for e in evidence if e.get("seen_region")}
    orgs = dict(Organization.objects.filter(pk__in=org_ids).values_list("pk", "name")) if org_ids else {}
    regions = dict(Region.objects.filter(code__in=codes).values_list("code", "name")) if codes else {}
    return orgs, regions


# ── A scan of the QR page by an enterprise ───────────────────────────────────────────────────────────────────

SCAN_SOURCE = "scan"


def stolen_scan_seen(*, user: User, vehicle_code: str) -> bool:
    """An enterprise's staff opened the QR page of a stolen bike (a dealer offered it, a shop asked to fix it): one
    STOLEN_SEEN alert request per enterprise, bike and day, to the police of the region it was reported in; the
    engine adds a repeat to the alert while it is open. Never for the anonymous public, a regulator or a
    department. Returns whether a request was recorded (or already was today)."""
    from alerts.models import RuleCode
    from alerts.services import alert_request_record

    org = getattr(user, "organization", None) if user is not None and user.is_authenticated else None
    if org is None or not org.is_enterprise or not org.is_active:
        return False
    report = (
        StolenReport.objects.filter(vehicle__code=vehicle_code, found_at__isnull=True)
        .select_related("vehicle")
        .only("region_code", "report_no", "reported_at", "vehicle__frame_no", "vehicle__id")
        .first()
    )
    if report is None:
        return False
    now = timezone.now()
    sighting = StolenSighting(
        report.vehicle_id, report.vehicle.frame_no, report.region_code, report.report_no, report.reported_at
    )
    from alerts.rules import stolen_evidence

    with transaction.atomic():
        alert_request_record(
            rule=RuleCode.STOLEN_SEEN,
            region_code=report.region_code,
            source=f"{SCAN_SOURCE}:{timezone.localdate(now).isoformat()}:{org.pk}",
            frame_no=sighting.frame_no,
            evidence=stolen_evidence(
                sighting, enterprise=org.pk, seen_event="public_page_scan", seen_at=now, seen_region=org.region_id
            ),
        )
    return True
