"""Forms of the makers' catalog pages: filing a certified model, renewing its CCC certificate, the list's filters.

Shapes only (numbers, dates, code format); the catalog services decide everything else and their refusals land
next to the fields they name.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from catalog import selectors
from catalog.api.serializers import MAX_CODES, MAX_INT, MODEL_CODE
from catalog.models import Chemistry, Standard
from dealers.forms import CounterForm

DATE_FORMATS = ["%Y-%m-%d"]


def _quantity(label: str, **kwargs) -> forms.DecimalField:
    """A positive physical quantity with one decimal, as stored (at most 9999.9)."""
    return forms.DecimalField(
        label=label, max_digits=kwargs.pop("max_digits", 5), decimal_places=1, min_value=Decimal("0.1"), **kwargs
    )


class MakerForm(CounterForm):
    """A maker's form: every service field has a form field of the same name; inputs carry a test id."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.field_map = {name: name for name in self.fields}
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("data-testid", name)


class _Certificate(forms.Form):
    ccc_cert_no = forms.CharField(
        label=_("CCC certificate number"), max_length=64, required=False, help_text=_("As printed on the certificate.")
    )
    ccc_valid_until = forms.DateField(
        label=_("CCC valid until"),
        required=False,
        input_formats=DATE_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


class _Filing(MakerForm):
    code = forms.CharField(
        label=_("Model code"),
        max_length=64,
        validators=[
            RegexValidator(MODEL_CODE, _("A model code is 1 to 64 letters, digits, dots, dashes or underscores."))
        ],
        help_text=_("As on the nameplate and the certificate, e.g. TDT-2024A."),
    )
    name = forms.CharField(label=_("Name"), max_length=200)

    error_text = {("model_code_taken", "code"): _("A model with this code is already filed.")}

    def clean_code(self) -> str:
        return self.cleaned_data["code"].strip()


class BatteryModelForm(_Filing, _Certificate):
    chemistry = forms.ChoiceField(label=_("Chemistry"), choices=[("", "—"), *Chemistry.choices])
    nominal_voltage_v = _quantity(_("Nominal voltage (V)"))
    capacity_ah = _quantity(_("Capacity (Ah)"), max_digits=6)

    field_order = ["code", "name", "chemistry", "nominal_voltage_v", "capacity_ah", "ccc_cert_no", "ccc_valid_until"]


class ChargerModelForm(_Filing, _Certificate):
    output_voltage_v = _quantity(_("Output voltage (V)"))

    field_order = ["code", "name", "output_voltage_v", "ccc_cert_no", "ccc_valid_until"]


def _catalog_choices(queryset, describe) -> list[tuple[str, str]]:
    return [(m.code, describe(m)) for m in queryset.order_by("code")]


class VehicleModelForm(_Filing, _Certificate):
    standard = forms.ChoiceField(label=_("Standard"))
    max_speed_kmh = _quantity(_("Max design speed (km/h)"))
    mass_kg = _quantity(_("Mass with battery (kg)"))
    nominal_voltage_v = _quantity(_("Nominal voltage (V)"))
    motor_power_w = forms.IntegerField(label=_("Continuous motor power (W)"), min_value=1, max_value=MAX_INT)
    compatible_battery_models = forms.MultipleChoiceField(
        label=_("Certified battery models (标配)"),
        help_text=_("Every battery model certified with this vehicle; hold Ctrl to choose several."),
    )
    compatible_charger_models = forms.MultipleChoiceField(label=_("Certified charger models"), required=False)

    field_order = [
        "code",
        "name",
        "standard",
        "max_speed_kmh",
        "mass_kg",
        "nominal_voltage_v",
        "motor_power_w",
        "compatible_battery_models",
        "compatible_charger_models",
        "ccc_cert_no",
        "ccc_valid_until",
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        # New models are certified to an edition still on sale; the service refuses the others in any case.
        self.fields["standard"].choices = [
            (s.code, f"{s.code} {s.title}")
            for s in selectors.standards().filter(kind=Standard.Kind.VEHICLE).order_by("-in_force_from")
            if s.sellable_on(today)
        ]
        self.fields["compatible_battery_models"].choices = _catalog_choices(
            selectors.battery_models(),
            lambda m: f"{m.code} · {m.name} · {m.nominal_voltage_v.normalize():f} V · {m.get_chemistry_display()}",
        )
        self.fields["compatible_charger_models"].choices = _catalog_choices(
            selectors.charger_models(), lambda m: f"{m.code} · {m.name} · {m.output_voltage_v.normalize():f} V"
        )
        for name in ("compatible_battery_models", "compatible_charger_models"):
            self.fields[name].widget.attrs["size"] = 6

    def clean_compatible_battery_models(self) -> list[str]:
        codes = self.cleaned_data["compatible_battery_models"]
        if len(codes) > MAX_CODES:
            raise forms.ValidationError(_("At most %(n)d models.") % {"n": MAX_CODES})
        return codes


class CertificateForm(MakerForm, _Certificate):
    """Renewal: a new certificate number, a new validity, or both; nothing else of a filed model changes."""

    field_order = ["ccc_cert_no", "ccc_valid_until"]


class ModelFilterForm(forms.Form):
    q = forms.CharField(label=_("Code or name"), max_length=64, required=False)
    certificate = forms.ChoiceField(
        label=_("Certificate"),
        required=False,
        choices=[
            ("", _("Any certificate")),
            ("valid", _("Valid")),
            ("expiring", _("Expiring within 90 days")),
            ("expired", _("Expired")),
            ("uncertified", _("No certificate")),
        ],
    )
