"""Forms of the trade-in counter (以旧换新): finding the old bike, then the sale of the new one to its owner."""

from __future__ import annotations

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError
from dealers.forms import CounterForm, SaleForm
from vehicles.codes import FRAME_NO
from vehicles.labels import label_code
from vehicles.proof import CODE_TEXT_MAX

_ID_NUMBER = re.compile(r"^\d{17}[\dX]$")


def old_named(old: str, proof: str) -> dict:
    """What the counter typed or scanned, as `old_bike_find` takes it: the old bike's field holds its frame number,
    a scanned QR label or its plate; the proof field its QR code, its plate or the owner's ID number."""
    old, proof = str(old or "").strip().upper(), str(proof or "").strip().upper()
    named = {"frame_no": "", "plate_no": "", "vehicle_code": "", "owner_id_number": ""}
    if FRAME_NO.fullmatch(old) or label_code(old):
        named["frame_no"] = old
    elif old:
        named["plate_no"] = old
    if _ID_NUMBER.match(proof):
        named["owner_id_number"] = proof
    elif proof:
        named["vehicle_code"] = proof
        named["plate_no"] = named["plate_no"] or proof
    return named


class OldBikeForm(CounterForm):
    """Step 1: name the old bike and show it is at the counter."""

    old = forms.CharField(label=_("Old bike: frame number, plate or QR code"), max_length=CODE_TEXT_MAX)
    proof = forms.CharField(
        label=_("Its QR code, plate or the owner's ID number"), required=False, max_length=CODE_TEXT_MAX
    )

    field_map = {"old.frame_no": "old", "old.plate_no": "old"}

    def add_domain_error(self, error: DomainError, refs=()) -> None:
        if error.code == "unknown_vehicle":
            # The bike or the proof: the answer never says which, so it goes below both inputs.
            self.add_error("proof", error.message)
            return
        super().add_domain_error(error, refs)

    def old_named(self) -> dict:
        return old_named(self.cleaned_data["old"], self.cleaned_data.get("proof", ""))


class TradeInForm(OldBikeForm, SaleForm):
    """Step 2: the new bike and its batteries, the owner's region (pre-filled from the old registration), the
    subsidy as the policy pays it. The owner is not typed again: the service takes them from the old registration.
    The new bike and batteries are checked as the sale form checks them; the service checks everything again."""

    buyer_name = buyer_id_number = buyer_phone = None
    buyer_region = forms.ChoiceField(label=_("Owner lives in"))
    subsidy_yuan = forms.DecimalField(label=_("Subsidy (¥)"), min_value=0, max_digits=8, decimal_places=2)

    # The sale's refusals come back under `sale.` (dealers/trade_ins.py).
    field_map = {
        **OldBikeForm.field_map,
        **{f"sale.{key}": name for key, name in SaleForm.field_map.items() if not key.startswith("buyer.")},
        "sale.buyer.region_code": "buyer_region",
        "sale.plate_no": "frame_no",
        "subsidy_yuan": "subsidy_yuan",
    }
    error_text = {
        **SaleForm.error_text,  # the form's own checks of the new bike (SaleForm._check_items)
        **{(code, f"sale.{key}"): text for (code, key), text in SaleForm.error_text.items()},
    }

    def service_data(self) -> dict:
        data = self.cleaned_data
        return {
            "old": self.old_named(),
            "subsidy_yuan": data["subsidy_yuan"],
            "frame_no": data["frame_no"],
            "battery_serials": data["battery_serials"],
            "buyer": {"region_code": data["buyer_region"]},
            "sold_at": data["sold_at"],
        }
