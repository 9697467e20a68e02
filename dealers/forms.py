"""Forms of the dealer counter: parsing what was typed or scanned, and showing the services' refusals in words."""

from __future__ import annotations

import re
from collections.abc import Iterable

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError
from core.models import Organization, OrganizationKind, Region
from core.personal_data import clean_id_number, clean_phone
from core.selectors import regions
from core.submissions import form_token_valid
from dealers import selectors, services
from vehicles.labels import VEHICLE, labels_resolve
from vehicles.registration import BuyerData

STALE_FORM = _("This form was out of date. Check it and submit it again.")

# ---------------------------------------------------------------------------------------------------------------
# Reasons of incoming inspection (进货查验), in words.

REASON_TEXT = {
    "unknown": _("Not on record: no maker registered this code. Check the code, or refuse the goods."),
    "uncertified": _("The model has no CCC certificate: it may not be sold."),
    "certificate_expired": _("The model's CCC certificate has expired: it may not be sold."),
    "old_standard_past_cutoff": _(
        "Certified to the old standard (GB 17761-2018), which may no longer be sold since its cut-off date."
    ),
    "recycled": _("Recorded as recycled or scrapped: it may not return to the market."),
    "already_sold": _("Already sold and registered to an owner."),
    "in_another_stock": _("Recorded in another enterprise's stock, or fitted in a bike."),
    "already_in_your_stock": _("Already in your stock."),
    "not_from_supplier": _("Not recorded at this supplier. Check the supplier you chose."),
    "duplicate_in_receipt": _("Listed twice in this delivery; counted once."),
    # Shipments (dealers/shipments.py) and batteries fitted at the factory.
    "shipped_to_another": _("Shipped by this supplier to another enterprise, not to you: it is not yours to receive."),
    "fitted_in_vehicle": _(
        "Fitted in a bike of this delivery or of your stock: scan the bike, its battery comes along."
    ),
    "fitted_battery_refused": _(
        "A battery fitted in this bike at the factory is refused; the bike is refused with it."
    ),
    "vehicle_refused": _("Fitted in a bike that is refused: refused with it."),
}


def reason_text(code: str) -> str:
    return str(REASON_TEXT.get(code, code))


# ---------------------------------------------------------------------------------------------------------------
# Scanned lists.

_SEPARATORS = re.compile(r"[\s,，;；]+")
_FRAME_SHAPE = re.compile(r"^\d{15}$")  # DOMAIN: 15 digits; anything else scanned is taken as a battery code
MAX_LINES = 2000  # as the API (POST /api/v1/receipts/)


def codes_split(text: str) -> list[str]:
    """One code per line (commas and spaces separate too, as scanners and spreadsheets send them)."""
    return [code.strip().upper() for code in _SEPARATORS.split(text or "") if code.strip()]


def codes_sort(codes: list[str]) -> tuple[list[str], list[str]]:
    """Frame numbers and battery codes, each in the order scanned: a QR label counts as the bike or battery it
    names; otherwise 15 digits are a frame number and anything else a battery code."""
    labels = labels_resolve(codes)
    frame_nos, serials = [], []
    for code in codes:
        kind, ref = labels.get(code) or (VEHICLE if _FRAME_SHAPE.match(code) else "", code)
        (frame_nos if kind == VEHICLE else serials).append(ref)
    return frame_nos, serials


# ---------------------------------------------------------------------------------------------------------------
# Choices.


def suppliers_for(dealer: Organization):
    """Who may deliver to this dealer: makers and battery makers anywhere, dealers of the same province."""
    return (
        Organization.objects.filter(status=Organization.Status.ACTIVE)
        .filter(
            Q(kind__in=[OrganizationKind.MANUFACTURER, OrganizationKind.BATTERY_MAKER])
            | Q(kind=OrganizationKind.DEALER, region__code__startswith=dealer.region_id[:2])
        )
        .filter(kind__in=services.SUPPLIER_KINDS)
        .exclude(pk=dealer.pk)
        .order_by("kind", "name")
    )


def supplier_choices(dealer: Organization) -> list:
    groups: dict[str, list] = {}
    labels = dict(OrganizationKind.choices)
    for org in suppliers_for(dealer):
        groups.setdefault(org.kind, []).append((str(org.pk), org.name))
    order = [OrganizationKind.MANUFACTURER, OrganizationKind.BATTERY_MAKER, OrganizationKind.DEALER]
    return [(labels[kind], groups[kind]) for kind in order if kind in groups]


def city_of(region: Region) -> Region:
    node = region
    while node.level > Region.Level.PREFECTURE and node.parent is not None:
        node = node.parent
    return node


def county_choices(dealer: Organization) -> list[tuple[str, str]]:
    """The counties (districts) of the dealer's city, where most buyers live, each followed by its streets and towns
    where the platform has them (GB/T 10114): an owner is registered by street where the county has them."""
    city = city_of(dealer.region)
    counties = list(regions(parent=city.code, level=Region.Level.COUNTY).values_list("code", "name"))
    if not counties:
        return [(dealer.region_id, dealer.region.name)]
    streets: dict[str, list[tuple[str, str]]] = {}
    for code, name, county in (
        regions(level=Region.Level.TOWNSHIP)
        .filter(parent_id__in=[code for code, _name in counties])
        .values_list("code", "name", "parent_id")
    ):
        streets.setdefault(county, []).append((code, name))
    choices = []
    for code, name in counties:
        choices.append((code, name))
        choices.extend((street, f"{name} · {street_name}") for street, street_name in streets.get(code, []))
    return choices


# ---------------------------------------------------------------------------------------------------------------
# Forms.


class CounterForm(forms.Form):
    """A page form: the services' DomainErrors land next to the fields they name."""

    form_token = forms.CharField(required=False, widget=forms.HiddenInput)
    # service field → form field
    field_map: dict[str, str] = {}
    # (error code, service field) → sentence; %(refs)s lists the codes concerned
    error_text: dict[tuple[str, str], str] = {}

    def clean(self):
        cleaned = super().clean()
        if not form_token_valid(cleaned.get("form_token") or ""):
            raise forms.ValidationError(STALE_FORM, code="stale_form")
        return cleaned

    def add_domain_error(self, error: DomainError, refs: Iterable[str] = ()) -> None:
        refs = set(refs)
        placed = False
        for key, details in (error.fields or {}).items():
            name = self.field_map.get(key)
            if name is None:
                continue
            details = [str(d) for d in (details if isinstance(details, list | tuple) else [details])]
            named = [d for d in details if d in refs]
            sentence = self.error_text.get((error.code, key))
            if sentence is not None:
                text = str(sentence) % {"refs": ", ".join(named)}
            elif named:
                text = f"{error.message} {', '.join(named)}"
            elif not details or all(d in REASON_TEXT for d in details):
                text = error.message
            else:
                text = " ".join(details)
            self.add_error(name, text)
            placed = True
        if not placed:
            self.add_error(None, error.message)


class ReceiveForm(CounterForm):
    supplier = forms.ChoiceField(label=_("Supplier"))
    codes = forms.CharField(
        label=_("Frame numbers and battery codes"), required=False, widget=forms.Textarea, max_length=MAX_LINES * 66
    )

    field_map = {"supplier": "supplier", "frame_nos": "codes", "battery_serials": "codes"}

    def __init__(self, *args, dealer: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.supplier_groups = supplier_choices(dealer)
        self.fields["supplier"].choices = [("", _("Choose the supplier")), *self.supplier_groups]
        self.fields["supplier"].error_messages["invalid_choice"] = _("Choose a supplier from the list.")

    def clean_codes(self) -> tuple[list[str], list[str]]:
        frame_nos, serials = codes_sort(codes_split(self.cleaned_data.get("codes", "")))
        if max(len(frame_nos), len(serials)) > MAX_LINES:
            raise forms.ValidationError(_("At most %(n)d bikes and %(n)d batteries at a time.") % {"n": MAX_LINES})
        return frame_nos, serials


def _cleaned_as_the_service(clean, value):
    """A value cleaned by the service's own function; its refusal becomes this field's error, in its words."""
    try:
        return clean(value)
    except DomainError as error:
        details = [str(d) for details in (error.fields or {}).values() for d in details]
        raise forms.ValidationError(details or [error.message]) from None


class SaleForm(CounterForm):
    """Sale = registration. Every field is checked before the service runs, so that one submission shows every
    mistake: the buyer with the service's own cleaning functions, the codes against the dealer's stock as the live
    标配 check shows them. The service checks again under its locks and stays the authority."""

    frame_no = forms.CharField(label=_("Frame number"), max_length=200)  # a scanned QR label may be its URL
    battery_serials = forms.CharField(label=_("Battery codes"), max_length=1000, widget=forms.Textarea)
    buyer_name = forms.CharField(label=_("Buyer's name"), max_length=50)
    buyer_id_number = forms.CharField(label=_("ID number"), max_length=32)
    buyer_phone = forms.CharField(label=_("Mobile phone"), max_length=32)
    buyer_region = forms.ChoiceField(label=_("Lives in"))
    sold_at = forms.DateTimeField(
        label=_("Sale time"), required=False, input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
    )

    field_map = {
        "frame_no": "frame_no",
        "battery_serials": "battery_serials",
        "buyer.name": "buyer_name",
        "buyer.id_number": "buyer_id_number",
        "buyer.phone": "buyer_phone",
        "buyer.region_code": "buyer_region",
        "sold_at": "sold_at",
    }
    error_text = {
        ("not_in_stock", "frame_no"): _("This bike is not in your stock. Receive it first (incoming inspection)."),
        ("not_in_stock", "battery_serials"): _("Not in your stock: %(refs)s. Receive it first (incoming inspection)."),
        ("battery_fitted_elsewhere", "battery_serials"): _("Already fitted in another bike: %(refs)s."),
        ("battery_incompatible", "battery_serials"): _(
            "This battery model is not certified for this bike model (标配): %(refs)s."
        ),
        ("uncertified", "battery_serials"): _("This battery has no valid CCC certificate: %(refs)s."),
        ("fitted_battery_missing", "battery_serials"): _(
            "This bike came with batteries fitted at the factory: scan them too."
        ),
        ("invalid", "sold_at"): _("The sale time is in the future."),
    }

    def __init__(self, *args, counties: list[tuple[str, str]], dealer: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.dealer = dealer
        self.fields["buyer_region"].choices = counties
        self.fields["buyer_region"].error_messages["invalid_choice"] = _("Choose a district from the list.")

    def clean_frame_no(self) -> str:
        return self.cleaned_data["frame_no"].strip().upper()

    def clean_battery_serials(self) -> list[str]:
        serials = codes_split(self.cleaned_data["battery_serials"])
        if not serials:
            raise forms.ValidationError(_("Scan the battery sold with the bike."))
        if len(serials) > 4:
            raise forms.ValidationError(_("At most 4 batteries with one bike."))
        return serials

    def clean_buyer_id_number(self) -> str:
        return _cleaned_as_the_service(clean_id_number, self.cleaned_data["buyer_id_number"])

    def clean_buyer_phone(self) -> str:
        return _cleaned_as_the_service(clean_phone, self.cleaned_data["buyer_phone"])

    def clean(self):
        cleaned = super().clean()
        if {"buyer_name", "buyer_id_number", "buyer_phone", "buyer_region"} <= cleaned.keys():
            try:
                cleaned["buyer"] = BuyerData.clean(self.buyer())
            except DomainError as error:
                self.add_domain_error(error)
        if {"frame_no", "battery_serials"} <= cleaned.keys():
            self._check_items(cleaned)
        return cleaned

    def _check_items(self, cleaned: dict) -> None:
        """The bike and batteries as the live check sees them; a scanned label becomes the code it stands for."""
        # A sale time in the future is the service's to refuse; the models are judged on the sale day up to today.
        day = timezone.localdate(min(cleaned.get("sold_at") or timezone.now(), timezone.now()))
        preview = selectors.sale_preview(
            dealer_id=self.dealer.pk, frame_no=cleaned["frame_no"], battery_serials=cleaned["battery_serials"], day=day
        )
        cleaned["frame_no"], cleaned["battery_serials"] = preview["frame_no"], preview["battery_serials"]
        if preview["vehicle"] is None:
            self.add_error("frame_no", self.error_text[("not_in_stock", "frame_no")])
        elif preview["vehicle_problem"]:
            self.add_error("frame_no", reason_text(preview["vehicle_problem"]))
        batteries = preview["batteries"]
        for code, wrong in (
            ("not_in_stock", [b for b in batteries if b["battery"] is None]),
            ("battery_incompatible", [b for b in batteries if b["paired"] is False]),
            ("uncertified", [b for b in batteries if b["problem"]]),
        ):
            if wrong:
                refs = ", ".join(b["scanned"] for b in wrong)
                self.add_error("battery_serials", str(self.error_text[(code, "battery_serials")]) % {"refs": refs})

    def buyer(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["buyer_name"],
            "id_number": data["buyer_id_number"],
            "phone": data["buyer_phone"],
            "region_code": data["buyer_region"],
        }


class LedgerFilterForm(forms.Form):
    date_from = forms.DateField(label=_("From"), required=False, input_formats=["%Y-%m-%d"])
    date_to = forms.DateField(label=_("To"), required=False, input_formats=["%Y-%m-%d"])

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned
