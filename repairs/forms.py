"""Forms of the workshop pages: what was typed or scanned, and the services' refusals shown in words."""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError
from core.submissions import form_token_valid
from repairs.models import MAX_BATTERIES, MAX_MEASURED_SPEED_KMH, MAX_MOTOR_POWER_W, MAX_NOTES, RepairFlag, RepairKind
from vehicles.labels import frame_no_of, label_code, serials_of
from vehicles.proof import CODE_TEXT_MAX

STALE_FORM = _("This form was out of date. Check it and submit it again.")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]

# What each flag means to the shop, in words; %(codes)s lists the batteries concerned.
FLAG_TEXT = {
    RepairFlag.SHOP_UNQUALIFIED: _(
        "Your shop's repair qualification was missing or expired on the repair day. The repair is recorded and the "
        "market regulator will see it: file or renew your qualification."
    ),
    RepairFlag.BATTERY_NOT_FITTED_HERE: _(
        "Removed battery %(codes)s is not recorded in this bike, so nothing was changed for it. Check the code on "
        "the battery."
    ),
    RepairFlag.BATTERY_FITTED_ELSEWHERE: _(
        "Battery %(codes)s is recorded in another bike, so it was not recorded as fitted in this one. The regulator "
        "will look into it."
    ),
    RepairFlag.BATTERY_RECYCLED: _(
        "Battery %(codes)s is recorded as recycled. It is recorded as fitted, and the regulator will look into it: "
        "a recycled battery may not return to use."
    ),
    RepairFlag.BATTERY_UNKNOWN: _(
        "Battery %(codes)s is not on record: no maker registered this code. It is noted with the repair, and the "
        "regulator will look into it."
    ),
}


def flag_text(code: str, serials: list[str] | None = None) -> str:
    text = FLAG_TEXT.get(code)
    if text is None:
        return code
    return str(text) % {"codes": ", ".join(serials or [])} if "%(codes)s" in str(text) else str(text)


_SEPARATORS = re.compile(r"[\s,，;；]+")


def codes_split(text: str) -> list[str]:
    """One code per line (commas and spaces separate too, as scanners send them)."""
    return [code.strip().upper() for code in _SEPARATORS.split(text or "") if code.strip()]


class RepairForm(forms.Form):
    """Upload a repair. Shapes are checked here; the service decides everything about the bike and batteries."""

    form_token = forms.CharField(required=False, widget=forms.HiddenInput)
    frame_no = forms.CharField(label=_("Frame number"), max_length=CODE_TEXT_MAX)  # or a QR label's URL
    # The bike's QR code (or the label's URL) or its plate: the service tries the one text as either.
    proof = forms.CharField(label=_("Bike's QR code or plate number"), required=False, max_length=CODE_TEXT_MAX)
    kind = forms.ChoiceField(label=_("Kind of repair"), choices=RepairKind.choices)
    removed_battery_serials = forms.CharField(
        label=_("Removed battery codes"), required=False, max_length=400, widget=forms.Textarea
    )
    fitted_battery_serials = forms.CharField(
        label=_("Fitted battery codes"), required=False, max_length=400, widget=forms.Textarea
    )
    fitted_motor_power_w = forms.IntegerField(
        label=_("Motor power fitted (W)"), required=False, min_value=0, max_value=MAX_MOTOR_POWER_W
    )
    measured_max_speed_kmh = forms.DecimalField(
        label=_("Measured max speed (km/h)"),
        required=False,
        min_value=Decimal(0),
        max_value=Decimal(MAX_MEASURED_SPEED_KMH),
        max_digits=4,
        decimal_places=1,
    )
    notes = forms.CharField(label=_("Notes"), required=False, max_length=MAX_NOTES, widget=forms.Textarea)
    performed_at = forms.DateTimeField(label=_("Repair time"), required=False, input_formats=DATETIME_FORMATS)

    # service field → form field
    field_map = {
        "frame_no": "frame_no",
        "vehicle_code": "proof",
        "plate_no": "proof",
        "kind": "kind",
        "removed_battery_serials": "removed_battery_serials",
        "fitted_battery_serials": "fitted_battery_serials",
        "fitted_motor_power_w": "fitted_motor_power_w",
        "measured_max_speed_kmh": "measured_max_speed_kmh",
        "notes": "notes",
        "performed_at": "performed_at",
        "photos": "photos",
        "photo": "photos",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.photo_errors: list[str] = []
        self.fields["kind"].error_messages["invalid_choice"] = _("Choose the kind of repair from the list.")

    def clean(self):
        cleaned = super().clean()
        if not form_token_valid(cleaned.get("form_token") or ""):
            raise forms.ValidationError(STALE_FORM, code="stale_form")
        return cleaned

    def clean_frame_no(self) -> str:
        return frame_no_of(self.cleaned_data["frame_no"])  # a scanned QR label names its bike

    def clean_proof(self) -> str:
        # The bike's QR label read into the frame number field proves that the bike is at hand as well.
        return self.cleaned_data["proof"] or label_code(self.data.get("frame_no")) or ""

    def service_data(self) -> dict:
        """The cleaned form as `repair_record` takes it: the proof goes in as the code and as the plate."""
        data = {k: v for k, v in self.cleaned_data.items() if k not in {"form_token", "proof"}}
        return {**data, "vehicle_code": self.cleaned_data["proof"], "plate_no": self.cleaned_data["proof"]}

    def _codes(self, name: str) -> list[str]:
        codes = codes_split(self.cleaned_data.get(name, ""))
        if len(codes) > MAX_BATTERIES:
            raise forms.ValidationError(_("At most %(n)d batteries.") % {"n": MAX_BATTERIES})
        return serials_of(codes)  # a scanned QR label names its battery

    def clean_removed_battery_serials(self) -> list[str]:
        return self._codes("removed_battery_serials")

    def clean_fitted_battery_serials(self) -> list[str]:
        return self._codes("fitted_battery_serials")

    def add_domain_error(self, error: DomainError) -> None:
        """Put a service's refusal next to the field it names (its message is already in words)."""
        if error.code == "unknown_vehicle":
            # The frame number or the proof: the answer never says which, so it goes below both inputs.
            self.add_error("proof", error.message)
            return
        placed = False
        for key, details in (error.fields or {}).items():
            name = self.field_map.get(key)
            if name is None:
                continue
            details = [str(d) for d in (details if isinstance(details, list | tuple) else [details])]
            text = " ".join(details) if details else error.message
            if name == "photos":
                self.photo_errors.append(error.message)
            else:
                self.add_error(name, text)
            placed = True
        if not placed:
            self.add_error(None, error.message)


class RepairFilterForm(forms.Form):
    frame_no = forms.CharField(label=_("Frame number"), required=False, max_length=32)
    kind = forms.ChoiceField(
        label=_("Kind of repair"), required=False, choices=[("", _("All kinds")), *RepairKind.choices]
    )
    date_from = forms.DateField(label=_("From"), required=False, input_formats=["%Y-%m-%d"])
    date_to = forms.DateField(label=_("To"), required=False, input_formats=["%Y-%m-%d"])

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned
