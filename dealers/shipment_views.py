"""Pages of shipments (发货): the shipping page of makers and dealers, a shipment's page, and the one-tap receipt of
what is on its way (shown on the dealer's incoming-inspection page and on the shipping page)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import DomainError
from core.models import Organization, OrganizationKind
from core.pages import page_of, pages_for
from core.submissions import form_token_new, form_token_of, submission_result, submit_once
from dealers import services, shipments
from dealers import shipment_selectors as selectors
from dealers.forms import MAX_LINES, CounterForm, codes_sort, codes_split, reason_text
from dealers.models import ReceiptItem

K = OrganizationKind
PAGE_SIZE = 20
MAKER_KINDS = {K.MANUFACTURER, K.BATTERY_MAKER}  # their desk pages share the makers' tabs

# Who opens these pages: the holders that ship, and a charging operator receiving batteries.
shipment_page = pages_for(K.MANUFACTURER, K.BATTERY_MAKER, K.DEALER, K.CHARGING_OPERATOR)


# ---------------------------------------------------------------------------------------------------------------
# The shipping form


def receivers_for(sender: Organization):
    """Whom the page offers: dealers for a vehicle maker (of its province for a dealer, as its suppliers are);
    vehicle makers, charging operators and dealers for a battery maker. The API takes any receiver of these kinds."""
    queryset = Organization.objects.filter(status=Organization.Status.ACTIVE).exclude(pk=sender.pk)
    if sender.kind == K.BATTERY_MAKER:
        return queryset.filter(kind__in=shipments.RECEIVER_KINDS).order_by("kind", "name")
    if sender.kind == K.DEALER:
        return queryset.filter(kind=K.DEALER, region__code__startswith=sender.region_id[:2]).order_by("name")
    return queryset.filter(kind=K.DEALER).order_by("name")


def receiver_choices(sender: Organization) -> list:
    labels = dict(K.choices)
    groups: dict[str, list] = {}
    for org in receivers_for(sender):
        groups.setdefault(labels[org.kind], []).append((str(org.pk), org.name))
    return list(groups.items())


class ShipForm(CounterForm):
    to = forms.ChoiceField(label=gettext_lazy("Receiver"))
    codes = forms.CharField(
        label=gettext_lazy("Frame numbers and battery codes"), widget=forms.Textarea, max_length=MAX_LINES * 66
    )

    field_map = {"to": "to", "frame_nos": "codes", "battery_serials": "codes", "shipped_at": "codes"}
    error_text = {
        ("not_in_stock", "frame_nos"): gettext_lazy("Not in your stock: %(refs)s. Nothing was shipped."),
        ("not_in_stock", "battery_serials"): gettext_lazy(
            "Not in your stock, or fitted in a bike (it ships with its bike): %(refs)s. Nothing was shipped."
        ),
    }

    def __init__(self, *args, sender: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.receiver_groups = receiver_choices(sender)
        self.fields["to"].choices = [("", gettext_lazy("Choose the receiver")), *self.receiver_groups]
        self.fields["to"].error_messages["invalid_choice"] = gettext_lazy("Choose a receiver from the list.")

    def clean_codes(self) -> tuple[list[str], list[str]]:
        frame_nos, serials = codes_sort(codes_split(self.cleaned_data.get("codes", "")))
        if not frame_nos and not serials:
            raise forms.ValidationError(_("Scan at least one bike or battery."))
        if max(len(frame_nos), len(serials)) > MAX_LINES:
            raise forms.ValidationError(_("At most %(n)d bikes and %(n)d batteries at a time.") % {"n": MAX_LINES})
        return frame_nos, serials


# ---------------------------------------------------------------------------------------------------------------
# What is on its way, with one "confirm receipt" per shipment


def _row(item) -> dict:
    kind, ref, fitted_in = selectors.item_ref(item)
    return {"kind": kind, "ref": ref, "fitted_in": fitted_in, "status": selectors.item_status(item)}


def _ordered(rows: list[dict]) -> list[dict]:
    """Each bike followed by the batteries fitted in it, then the batteries on their own."""
    fitted: dict[str, list[dict]] = {}
    for row in rows:
        if row["fitted_in"]:
            fitted.setdefault(row["fitted_in"], []).append(row)
    ordered = []
    for row in rows:
        if not row["fitted_in"]:
            ordered.append(row)
            ordered.extend(fitted.pop(row["ref"], []) if row["kind"] == "vehicle" else [])
    return ordered + [row for batch in fitted.values() for row in batch]


def in_transit_for(request) -> list[dict]:
    """The shipments on their way to the user's organization, each with its items and a form token of its own
    (one confirmation per shipment, each safe against a double tap)."""
    return [
        {
            "shipment": shipment,
            "items": _ordered([_row(item) for item in shipment.open_items]),
            "token": form_token_new(),
        }
        for shipment in selectors.shipments_in_transit_to(request.user)
    ]


@require_POST
@shipment_page
def shipment_receive(request, pk: int):
    """Receive everything still on its way in one shipment: the same incoming inspection as scanning it."""
    user = request.user
    if done := submission_result(request):  # a second tap: where the first one led
        return redirect(done)
    shipment = selectors.shipments_in_transit_to(user).filter(pk=pk).first()
    if shipment is None:
        if selectors.shipments_visible_to(user).filter(pk=pk, receiver_id=user.organization_id).exists():
            return redirect("dealer-shipment", pk=pk)  # already received
        raise Http404
    frame_nos, serials = selectors.receipt_codes(shipment)

    def receive() -> str:
        receipt = services.receipt_inspect(
            user=user, supplier_id=shipment.sender_id, frame_nos=frame_nos, battery_serials=serials
        )
        if user.organization.kind == K.DEALER:
            return reverse("dealer-receipt", args=[receipt.pk])
        return reverse("dealer-shipment", args=[shipment.pk])

    try:
        return redirect(submit_once(request, receive))
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("dealer-shipment", pk=pk)


# ---------------------------------------------------------------------------------------------------------------
# The shipping page and a shipment's page


@require_http_methods(["GET", "POST"])
@shipment_page
def shipment_list(request):
    """Ship goods (scan or type the codes, choose the receiver); what you sent; what is on its way to you."""
    user = request.user
    org = user.organization
    can_ship = org.kind in shipments.SENDER_KINDS
    form = ShipForm(request.POST if request.method == "POST" else None, sender=org) if can_ship else None
    if request.method == "POST":
        if form is None:
            raise Http404
        if form.is_valid():
            frame_nos, serials = form.cleaned_data["codes"]
            try:

                def ship() -> str:
                    shipment = shipments.shipment_create(
                        user=user, to=int(form.cleaned_data["to"]), frame_nos=frame_nos, battery_serials=serials
                    )
                    return reverse("dealer-shipment", args=[shipment.pk])

                return redirect(submit_once(request, ship))
            except DomainError as error:
                form.add_domain_error(error, refs=frame_nos + serials)
    page = page_of(request, selectors.shipments_sent_by(user), PAGE_SIZE)
    return render(
        request,
        "dealers/shipments.html",
        {
            "form": form,
            "token": form_token_of(request),
            "page": page,
            "sent": [_summary(shipment) for shipment in page.object_list],
            "in_transit": in_transit_for(request),
            "phone": org.kind == K.DEALER,
            "maker_nav": org.kind in MAKER_KINDS,
        },
    )


def _summary(shipment) -> dict:
    return {
        "shipment": shipment,
        "items": shipment.item_count,
        "in_transit": shipment.in_transit_count,
        "refused": shipment.refused_count,
    }


@require_GET
@shipment_page
def shipment_detail(request, pk: int):
    """One shipment as its sender or receiver sees it: each item on its way, received or turned away, and why."""
    org = request.user.organization
    shipment = (
        selectors.shipments_visible_to(request.user)
        .filter(Q(sender=org) | Q(receiver=org))
        .filter(pk=pk)
        .select_related("created_by")
        .first()
    )
    if shipment is None:
        raise Http404
    items = shipment.items.all()
    receipts = {item.receipt_id for item in items if item.receipt_id}
    reasons = {
        (r.receipt_id, r.ref): [reason_text(code) for code in r.reasons]
        for r in ReceiptItem.objects.filter(receipt_id__in=receipts, verdict=ReceiptItem.Verdict.REJECTED)
    }
    rows = []
    for item in items:
        row = _row(item)
        row["reasons"] = reasons.get((item.receipt_id, row["ref"]), [])
        rows.append(row)
    receiving = shipment.receiver_id == org.pk and any(row["status"] == selectors.IN_TRANSIT for row in rows)
    return render(
        request,
        "dealers/shipment.html",
        {
            "shipment": shipment,
            "rows": _ordered(rows),
            "receiving": receiving,
            "token": form_token_new(),
            "phone": org.kind == K.DEALER,
            "maker_nav": org.kind in MAKER_KINDS,
            "counts": {
                status: sum(1 for row in rows if row["status"] == status)
                for status in (selectors.IN_TRANSIT, selectors.RECEIVED, selectors.REFUSED)
            },
        },
    )
