"""Forms of the recycling pages: the handover or disposal of one item, and the filters of the records list."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError
from core.models import Organization, OrganizationKind
from dealers.forms import CounterForm, LedgerFilterForm
from recycling import selectors, services
from recycling.models import RecyclingRecord
from vehicles.labels import frame_no_of, label_code, serials_of
from vehicles.proof import CODE_TEXT_MAX

Kind = RecyclingRecord.Kind
Disposal = RecyclingRecord.Disposal

# How each disposal is offered at the counter: what it means in practice.
DISPOSAL_HINTS = {
    Disposal.HANDOVER: _("The battery goes to a recycler: your shop is its first recycling station (回收首站)."),
    Disposal.DISMANTLE: _("Dismantled here for materials."),
    Disposal.HAZARDOUS_TRANSFER: _(
        "Transferred to a licensed hazardous-waste disposer with a transfer manifest. Lead-acid batteries always go "
        "this way."
    ),
    Disposal.CASCADE_REFUSED: _(
        "Offered for cascade use (梯次利用): refused, since GB 43854-2024 bans retired cells, and dismantled."
    ),
}


def _ordered(choices: list[tuple[str, str]], allowed) -> list[tuple[str, str]]:
    return [(value, label) for value, label in choices if value in allowed]


class RecyclingForm(CounterForm):
    """A recycler records a take-back and its disposal; a repair shop, the handover of a battery to a recycler."""

    kind = forms.ChoiceField(label=_("Item"), widget=forms.RadioSelect)
    ref = forms.CharField(label=_("Frame number or battery code"), max_length=services.REF_MAX)
    disposal = forms.ChoiceField(label=_("Disposal"), widget=forms.RadioSelect)
    manifest_no = forms.CharField(label=_("Manifest number"), max_length=services.MANIFEST_MAX, required=False)
    handed_to = forms.ChoiceField(label=_("Recycler"), required=False)
    # A bike taken back: its QR code (or the label's URL) or its plate; the service tries the one text as either.
    proof = forms.CharField(label=_("Bike's QR code or plate number"), required=False, max_length=CODE_TEXT_MAX)

    field_map = {
        "kind": "kind",
        "ref": "ref",
        "disposal": "disposal",
        "manifest_no": "manifest_no",
        "handed_to": "handed_to",
        "vehicle_code": "proof",
        "plate_no": "proof",
    }

    def __init__(self, *args, organization: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.is_shop = organization.kind == OrganizationKind.REPAIR_SHOP
        disposals = services.DISPOSALS_BY_RECORDER[organization.kind]
        self.fields["disposal"].choices = _ordered(Disposal.choices, disposals)
        if self.is_shop:
            self.fields["kind"].choices = _ordered(Kind.choices, {Kind.BATTERY})
            self.fields["handed_to"].choices = [("", _("Choose the recycler"))] + [
                (str(org.pk), org.name) for org in selectors.recyclers_for(organization)
            ]
            self.fields["handed_to"].error_messages["invalid_choice"] = _("Choose a recycler from the list.")
            del self.fields["proof"]  # a shop hands over batteries it holds, never a bike
        else:
            self.fields["kind"].choices = Kind.choices
            del self.fields["handed_to"]
        self.disposal_options = [
            {"value": value, "label": label, "hint": DISPOSAL_HINTS[value]}
            for value, label in self.fields["disposal"].choices
        ]

    def clean_ref(self) -> str:
        ref = self.cleaned_data["ref"]
        # A scanned QR label names its bike or battery.
        if self.cleaned_data.get("kind") == Kind.VEHICLE:
            return frame_no_of(ref)
        return serials_of([ref.strip().upper()])[0]

    def clean_proof(self) -> str:
        # A bike's QR label read into the code field proves that the bike is at hand as well.
        return self.cleaned_data["proof"] or label_code(self.data.get("ref")) or ""

    def service_data(self) -> dict:
        """The cleaned form as `recycling_record` takes it: the proof goes in as the code and as the plate."""
        data = self.cleaned_data
        proof = data.get("proof", "") if data.get("kind") == Kind.VEHICLE else ""
        return {
            "kind": data["kind"],
            "ref": data["ref"],
            "disposal": data["disposal"],
            "manifest_no": data["manifest_no"],
            "handed_to": data.get("handed_to") or None,
            "vehicle_code": proof,
            "plate_no": proof,
        }

    def add_domain_error(self, error: DomainError, refs=()) -> None:
        if error.code == "unknown_item" and "proof" in self.fields and self.cleaned_data.get("kind") == Kind.VEHICLE:
            # The frame number or the proof: the answer never says which, so it goes below both inputs.
            self.add_error("proof", error.message)
            return
        super().add_domain_error(error, refs)

    def clean_handed_to(self) -> str:
        value = self.cleaned_data.get("handed_to", "")
        if self.is_shop and not value:
            raise forms.ValidationError(_("Choose the recycler that receives the battery."))
        return value


class RecordFilterForm(LedgerFilterForm):
    kind = forms.ChoiceField(label=_("Item"), required=False, choices=[("", _("All items")), *Kind.choices])
    disposal = forms.ChoiceField(
        label=_("Disposal"), required=False, choices=[("", _("All disposals")), *Disposal.choices]
    )
    q = forms.CharField(label=_("Code or manifest number"), required=False, max_length=64)

    def clean_q(self) -> str:
        return self.cleaned_data["q"].strip().upper()
