"""Write paths of the catalog: makers file their certified models (CCC) and renew the certificates.

Every limit comes from a `Standard` row (catalog/standards.py loads them; an administrator may edit them), never
from a literal here, so a corrected limit takes effect without a release.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from catalog.compliance import battery_ccc_required
from catalog.models import BatteryModel, CertifiedModel, ChargerModel, Chemistry, Standard, VehicleModel
from catalog.standards import BATTERY_CCC_REQUIRED_FROM
from core.audit import audit_record
from core.errors import ComplianceRefusal, Conflict, InvalidInput, NotFound, PermissionRefused
from core.models import Organization, OrganizationKind, User

# The standard whose limits a battery is held to: GB 43854-2024 covers lithium-ion packs; every other chemistry
# falls under the vehicle standard in force.
LITHIUM_BATTERY_STANDARD = "GB43854-2024"
VEHICLE_STANDARD_IN_FORCE = "GB17761-2024"

# (spec field, Standard field, unit): which limit of a standard bounds which field of a vehicle model.
VEHICLE_LIMITS = (
    ("max_speed_kmh", "max_design_speed_kmh", "km/h"),
    ("nominal_voltage_v", "max_nominal_voltage_v", "V"),
    ("motor_power_w", "max_motor_power_w", "W"),
    ("mass_kg", "max_mass_kg", "kg"),
)


def _number(value) -> str:
    """48.0 → "48", 25.5 → "25.5": limits read as people write them."""
    if isinstance(value, Decimal):
        value = value.normalize()
        return f"{value:f}"
    return str(value)


def _maker_of(actor: User, kinds: Iterable[str]) -> Organization:
    org = getattr(actor, "organization", None)
    if org is None or org.kind not in set(kinds) or not org.is_active:
        raise PermissionRefused(_("Only the maker of this kind of product may file or change it."))
    return org


def _standard(code: str, *, kind: str | None = None) -> Standard | None:
    queryset = Standard.objects.filter(code=code)
    if kind is not None:
        queryset = queryset.filter(kind=kind)
    return queryset.first()


def _limits_of(code: str) -> Standard:
    standard = _standard(code)
    if standard is None:  # reference data missing: refuse rather than let an unchecked product in
        raise ComplianceRefusal(
            _("The limits of %(standard)s are not loaded; ask the platform administrator.") % {"standard": code},
            code="standard_unavailable",
        )
    return standard


def _code_free(model: type[CertifiedModel], code: str) -> None:
    # Case-insensitive: "TDT-1" and "tdt-1" on two nameplates would be read as the same model.
    if model.objects.filter(code__iexact=code).exists():
        raise Conflict(
            _("A model with the code %(code)s is already filed.") % {"code": code},
            code="model_code_taken",
            fields={"code": [_("Already filed.")]},
        )


def _create(model: type[CertifiedModel], **values) -> CertifiedModel:
    try:
        with transaction.atomic():
            return model.objects.create(**values)
    except IntegrityError:  # a concurrent request filed the same code first
        raise Conflict(
            _("A model with the code %(code)s is already filed.") % {"code": values["code"]},
            code="model_code_taken",
            fields={"code": [_("Already filed.")]},
        ) from None


def _check_certificate(*, ccc_cert_no: str, ccc_valid_until: dt.date | None, required: bool, today: dt.date) -> None:
    """A certificate has a number and a validity together, still valid today; `required` when CCC is compulsory."""
    if ccc_cert_no and ccc_valid_until is None:
        raise InvalidInput(
            _("A CCC certificate needs its validity date."),
            fields={"ccc_valid_until": [_("Required with a certificate number.")]},
        )
    if ccc_valid_until is not None and not ccc_cert_no:
        raise InvalidInput(
            _("A CCC validity date needs its certificate number."),
            fields={"ccc_cert_no": [_("Required with a validity date.")]},
        )
    if required and not ccc_cert_no:
        raise ComplianceRefusal(
            _("CCC certification is compulsory for this product: give the certificate number and its validity."),
            code="uncertified",
            fields={
                "ccc_cert_no": [_("CCC certification is compulsory.")],
                "ccc_valid_until": [_("CCC certification is compulsory.")],
            },
        )
    if ccc_valid_until is not None and ccc_valid_until < today:
        raise ComplianceRefusal(
            _("The CCC certificate expired on %(day)s.") % {"day": ccc_valid_until.isoformat()},
            code="certificate_expired",
            fields={"ccc_valid_until": [_("The certificate has expired.")]},
        )


def _exceeds_standard(standard: Standard, breaches: dict[str, tuple[object, object, str]]) -> ComplianceRefusal:
    """One refusal naming every offending field, each with its limit, and the limits' source."""
    fields = {
        field: [
            _("%(value)s %(unit)s is above the limit of %(limit)s %(unit)s set by %(standard)s.")
            % {"value": _number(value), "limit": _number(limit), "unit": unit, "standard": standard.code}
        ]
        for field, (value, limit, unit) in breaches.items()
    }
    listing = "; ".join(
        f"{field} {_number(value)} {unit} > {_number(limit)} {unit}" for field, (value, limit, unit) in breaches.items()
    )
    return ComplianceRefusal(
        _("The specification exceeds the limits of %(standard)s: %(listing)s. Source: %(source)s")
        % {"standard": standard.code, "listing": listing, "source": standard.source},
        code="exceeds_standard",
        fields=fields,
    )


def battery_standard_for(chemistry: str) -> Standard:
    """The standard row whose nominal-voltage limit a battery of this chemistry is held to."""
    return _limits_of(LITHIUM_BATTERY_STANDARD if chemistry == Chemistry.LITHIUM_ION else VEHICLE_STANDARD_IN_FORCE)


@transaction.atomic
def battery_model_create(
    *,
    actor: User,
    code: str,
    name: str,
    chemistry: str,
    nominal_voltage_v: Decimal,
    capacity_ah: Decimal,
    ccc_cert_no: str = "",
    ccc_valid_until: dt.date | None = None,
) -> BatteryModel:
    """A battery maker files a battery model."""
    maker = _maker_of(actor, [OrganizationKind.BATTERY_MAKER])
    if chemistry not in Chemistry.values:
        raise InvalidInput(_("Unknown chemistry."), fields={"chemistry": [_("Unknown chemistry.")]})
    today = timezone.localdate()
    ccc_cert_no = (ccc_cert_no or "").strip()
    _code_free(BatteryModel, code)
    _check_certificate(
        ccc_cert_no=ccc_cert_no,
        ccc_valid_until=ccc_valid_until,
        required=battery_ccc_required(chemistry=chemistry, day=today),
        today=today,
    )
    standard = battery_standard_for(chemistry)
    limit = standard.max_nominal_voltage_v
    if limit is not None and nominal_voltage_v > limit:
        raise _exceeds_standard(standard, {"nominal_voltage_v": (nominal_voltage_v, limit, "V")})
    model = _create(
        BatteryModel,
        code=code,
        name=name.strip(),
        maker=maker,
        chemistry=chemistry,
        nominal_voltage_v=nominal_voltage_v,
        capacity_ah=capacity_ah,
        ccc_cert_no=ccc_cert_no,
        ccc_valid_until=ccc_valid_until,
    )
    audit_record(actor=actor, action="catalog.battery_model.create", target=model, data={"code": code})
    return model


@transaction.atomic
def charger_model_create(
    *,
    actor: User,
    code: str,
    name: str,
    output_voltage_v: Decimal,
    ccc_cert_no: str = "",
    ccc_valid_until: dt.date | None = None,
) -> ChargerModel:
    """A battery maker or a vehicle manufacturer files a charger model."""
    maker = _maker_of(actor, [OrganizationKind.BATTERY_MAKER, OrganizationKind.MANUFACTURER])
    today = timezone.localdate()
    ccc_cert_no = (ccc_cert_no or "").strip()
    _code_free(ChargerModel, code)
    # Chargers joined the compulsory catalogue together with lithium batteries.
    _check_certificate(
        ccc_cert_no=ccc_cert_no,
        ccc_valid_until=ccc_valid_until,
        required=today >= BATTERY_CCC_REQUIRED_FROM,
        today=today,
    )
    model = _create(
        ChargerModel,
        code=code,
        name=name.strip(),
        maker=maker,
        output_voltage_v=output_voltage_v,
        ccc_cert_no=ccc_cert_no,
        ccc_valid_until=ccc_valid_until,
    )
    audit_record(actor=actor, action="catalog.charger_model.create", target=model, data={"code": code})
    return model


def _by_codes(model: type[CertifiedModel], codes: Sequence[str], *, field: str, error_code: str, message: str) -> list:
    """The models with these codes, in the order given; 400 naming every unknown code."""
    wanted = list(dict.fromkeys(str(c).strip() for c in codes))
    found = {m.code: m for m in model.objects.filter(code__in=wanted)}
    unknown = [c for c in wanted if c not in found]
    if unknown:
        raise InvalidInput(
            message % {"codes": ", ".join(unknown)},
            code=error_code,
            fields={field: [_("Unknown code %(code)s.") % {"code": c} for c in unknown]},
        )
    return [found[c] for c in wanted]


def vehicle_limit_breaches(
    *, standard: Standard, spec: dict, battery_models: Sequence[BatteryModel]
) -> dict[str, tuple[object, object, str]]:
    """Which fields of a vehicle spec exceed the standard: {field: (value, limit, unit)}.

    Mass has the higher lead-acid limit only when the standard sets one and every compatible battery is lead-acid.
    """
    lead_acid_only = bool(battery_models) and all(b.chemistry == Chemistry.LEAD_ACID for b in battery_models)
    breaches = {}
    for field, limit_field, unit in VEHICLE_LIMITS:
        limit = getattr(standard, limit_field)
        if field == "mass_kg" and lead_acid_only and standard.max_mass_lead_acid_kg is not None:
            limit = standard.max_mass_lead_acid_kg
        value = spec.get(field)
        if limit is not None and value is not None and value > limit:
            breaches[field] = (value, limit, unit)
    return breaches


@transaction.atomic
def vehicle_model_create(
    *,
    actor: User,
    code: str,
    name: str,
    standard: str,
    max_speed_kmh: Decimal,
    mass_kg: Decimal,
    nominal_voltage_v: Decimal,
    motor_power_w: int,
    compatible_battery_models: Sequence[str],
    ccc_cert_no: str = "",
    ccc_valid_until: dt.date | None = None,
    compatible_charger_models: Sequence[str] = (),
) -> VehicleModel:
    """A manufacturer files a vehicle model with its certified battery configurations (标配)."""
    maker = _maker_of(actor, [OrganizationKind.MANUFACTURER])
    today = timezone.localdate()
    ccc_cert_no = (ccc_cert_no or "").strip()

    standard_row = _standard(standard, kind=Standard.Kind.VEHICLE)
    if standard_row is None:
        known = ", ".join(Standard.objects.filter(kind=Standard.Kind.VEHICLE).values_list("code", flat=True))
        raise InvalidInput(
            _("Unknown vehicle standard %(code)s; known: %(known)s.") % {"code": standard, "known": known},
            code="unknown_standard",
            fields={"standard": [_("Unknown standard.")]},
        )
    if not compatible_battery_models:
        raise InvalidInput(
            _("Name at least one certified battery model (标配)."),
            fields={"compatible_battery_models": [_("At least one battery model is required.")]},
        )
    batteries = _by_codes(
        BatteryModel,
        compatible_battery_models,
        field="compatible_battery_models",
        error_code="unknown_battery_model",
        message=_("Unknown battery model codes: %(codes)s."),
    )
    chargers = _by_codes(
        ChargerModel,
        compatible_charger_models,
        field="compatible_charger_models",
        error_code="unknown_charger_model",
        message=_("Unknown charger model codes: %(codes)s."),
    )
    _code_free(VehicleModel, code)

    if not standard_row.sellable_on(today):
        raise ComplianceRefusal(
            _("%(standard)s was withdrawn on %(day)s: new models are certified to the edition in force.")
            % {"standard": standard_row.code, "day": standard_row.sale_cutoff.isoformat()},
            code="standard_withdrawn",
            fields={"standard": [_("Withdrawn.")]},
        )
    # CCC has been compulsory for e-bikes since 2019-04-15.
    _check_certificate(ccc_cert_no=ccc_cert_no, ccc_valid_until=ccc_valid_until, required=True, today=today)
    spec = {
        "max_speed_kmh": max_speed_kmh,
        "mass_kg": mass_kg,
        "nominal_voltage_v": nominal_voltage_v,
        "motor_power_w": motor_power_w,
    }
    breaches = vehicle_limit_breaches(standard=standard_row, spec=spec, battery_models=batteries)
    if breaches:
        raise _exceeds_standard(standard_row, breaches)
    mismatched = [b for b in batteries if b.nominal_voltage_v != nominal_voltage_v]
    if mismatched:
        raise ComplianceRefusal(
            _("Every battery model must have the vehicle's nominal voltage of %(volts)s V (标配).")
            % {"volts": _number(nominal_voltage_v)},
            code="battery_incompatible",
            fields={
                "compatible_battery_models": [
                    _("%(code)s is %(battery)s V, the vehicle %(vehicle)s V.")
                    % {"code": b.code, "battery": _number(b.nominal_voltage_v), "vehicle": _number(nominal_voltage_v)}
                    for b in mismatched
                ]
            },
        )

    model = _create(
        VehicleModel,
        code=code,
        name=name.strip(),
        maker=maker,
        standard=standard_row,
        ccc_cert_no=ccc_cert_no,
        ccc_valid_until=ccc_valid_until,
        **spec,
    )
    model.compatible_battery_models.set(batteries)
    model.compatible_charger_models.set(chargers)
    audit_record(
        actor=actor,
        action="catalog.vehicle_model.create",
        target=model,
        data={"code": code, "standard": standard_row.code, "battery_models": [b.code for b in batteries]},
    )
    return model


_CCC_FIELDS = ("ccc_cert_no", "ccc_valid_until")


def _certificate_update(
    *, actor: User, model: type[CertifiedModel], entity: str, kinds, code: str, required, changes: dict
):
    maker = _maker_of(actor, kinds)
    unknown = set(changes) - set(_CCC_FIELDS)
    if unknown:  # a programming error of the caller; the API refuses these before
        raise InvalidInput(
            _("Only the CCC certificate can be changed."), fields={field: [_("Read-only.")] for field in unknown}
        )
    # Another maker's model is "not found": makers only ever change their own.
    instance = model.objects.select_for_update().filter(code=code, maker=maker).first()
    if instance is None:
        raise NotFound(_("No model %(code)s of yours.") % {"code": code})
    before = {f: getattr(instance, f) for f in _CCC_FIELDS}
    if "ccc_cert_no" in changes:
        instance.ccc_cert_no = (changes["ccc_cert_no"] or "").strip()
    if "ccc_valid_until" in changes:
        instance.ccc_valid_until = changes["ccc_valid_until"]
    today = timezone.localdate()
    _check_certificate(
        ccc_cert_no=instance.ccc_cert_no,
        ccc_valid_until=instance.ccc_valid_until,
        required=required(instance, today),
        today=today,
    )
    instance.save(update_fields=list(_CCC_FIELDS))
    audit_record(
        actor=actor,
        action=f"catalog.{entity}.certificate_update",
        target=instance,
        data={"before": before, "after": {f: getattr(instance, f) for f in _CCC_FIELDS}},
    )
    return instance


@transaction.atomic
def vehicle_model_certificate_update(*, actor: User, code: str, **changes) -> VehicleModel:
    """The manufacturer renews or corrects the CCC certificate of its own vehicle model."""
    return _certificate_update(
        actor=actor,
        model=VehicleModel,
        entity="vehicle_model",
        kinds=[OrganizationKind.MANUFACTURER],
        code=code,
        required=lambda instance, today: True,
        changes=changes,
    )


@transaction.atomic
def battery_model_certificate_update(*, actor: User, code: str, **changes) -> BatteryModel:
    """The battery maker renews or corrects the CCC certificate of its own battery model."""
    return _certificate_update(
        actor=actor,
        model=BatteryModel,
        entity="battery_model",
        kinds=[OrganizationKind.BATTERY_MAKER],
        code=code,
        required=lambda instance, today: battery_ccc_required(chemistry=instance.chemistry, day=today),
        changes=changes,
    )


@transaction.atomic
def charger_model_certificate_update(*, actor: User, code: str, **changes) -> ChargerModel:
    """The maker renews or corrects the CCC certificate of its own charger model."""
    return _certificate_update(
        actor=actor,
        model=ChargerModel,
        entity="charger_model",
        kinds=[OrganizationKind.BATTERY_MAKER, OrganizationKind.MANUFACTURER],
        code=code,
        required=lambda instance, today: today >= BATTERY_CCC_REQUIRED_FROM,
        changes=changes,
    )
