"""Pages of the dealer counter (phone-sized): stock, incoming inspection (进货查验), sale = registration, ledger."""

from __future__ import annotations

from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import DomainError
from core.exports import csv_response, xlsx_response
from core.models import OrganizationKind
from core.pages import page_of, pages_for, query_without
from core.replica import reading_from_replica
from core.submissions import form_token_of, submission_result, submit_once
from dealers import selectors, services
from dealers.forms import (
    LedgerFilterForm,
    ReceiveForm,
    SaleForm,
    codes_split,
    county_choices,
    reason_text,
)
from dealers.shipment_views import in_transit_for

PAGE_SIZE = 50


dealer_page = pages_for(OrganizationKind.DEALER)  # a dealer in good standing; anyone else gets 404


# ---------------------------------------------------------------------------------------------------------------
# Stock


@require_GET
@dealer_page
def stock(request):
    """Bikes and batteries in stock, by kind, filterable by model; CSV for the stock-taking record."""
    dealer_id = request.user.organization_id
    vehicles, batteries = selectors.stock_vehicles(dealer_id), selectors.stock_batteries(dealer_id)
    counts = {"vehicle": vehicles.count(), "battery": batteries.count()}
    kind = "battery" if request.GET.get("kind") == "battery" else "vehicle"
    queryset = (batteries.order_by("serial") if kind == "battery" else vehicles.order_by("frame_no")).select_related(
        "model"
    )
    models = list(queryset.order_by().values_list("model__code", "model__name").distinct().order_by("model__code"))
    model = request.GET.get("model", "")
    if model:
        queryset = queryset.filter(model__code=model)

    if request.GET.get("export") == "csv":
        if kind == "battery":
            header = [_("Battery code"), _("Model"), _("Model name"), _("Produced on")]
            rows = ([b.serial, b.model.code, b.model.name, b.produced_on] for b in queryset.iterator())
        else:
            header = [_("Frame number"), _("Model"), _("Model name"), _("Produced on"), _("Public code")]
            rows = ([v.frame_no, v.model.code, v.model.name, v.produced_on, v.code] for v in queryset.iterator())
        return csv_response(f"stock-{kind}.csv", header, rows)

    return render(
        request,
        "dealers/stock.html",
        {
            "kind": kind,
            "counts": counts,
            "models": models,
            "model": model,
            "page": page_of(request, queryset, PAGE_SIZE),
            "query": query_without(request),
        },
    )


# ---------------------------------------------------------------------------------------------------------------
# Incoming inspection (进货查验)


@require_http_methods(["GET", "POST"])
@dealer_page
def receive(request):
    """Choose the supplier, scan the delivery one code per line; the result screen has a verdict per item."""
    user = request.user
    dealer = user.organization
    if request.method == "POST":
        form = ReceiveForm(request.POST, dealer=dealer)
        if form.is_valid():
            frame_nos, serials = form.cleaned_data["codes"]
            try:

                def receive() -> str:
                    receipt = services.receipt_inspect(
                        user=user,
                        supplier_id=int(form.cleaned_data["supplier"]),
                        frame_nos=frame_nos,
                        battery_serials=serials,
                    )
                    return reverse("dealer-receipt", args=[receipt.pk])

                return redirect(submit_once(request, receive))
            except DomainError as error:
                form.add_domain_error(error, refs=frame_nos + serials)
    else:
        form = ReceiveForm(initial={"supplier": request.GET.get("supplier", "")}, dealer=dealer)
    recent = selectors.receipts_visible_to(user).filter(dealer=dealer).select_related("supplier")[:5]
    return render(
        request,
        "dealers/receive.html",
        {"form": form, "token": form_token_of(request), "recent": recent, "in_transit": in_transit_for(request)},
    )


@require_POST
@dealer_page
def receive_check(request):
    """htmx: the verdict each scanned code would get, shown live before the dealer confirms the receipt."""
    dealer = request.user.organization
    form = ReceiveForm(request.POST, dealer=dealer)
    rows, error = [], ""
    if form.is_valid():
        frame_nos, serials = form.cleaned_data["codes"]
        try:
            supplier = services.supplier_get(dealer, int(form.cleaned_data["supplier"]))
            rows = selectors.receipt_preview(
                dealer=dealer, supplier=supplier, frame_nos=frame_nos, battery_serials=serials
            )
        except DomainError as refusal:
            error = refusal.message
    for row in rows:
        row["texts"] = [reason_text(code) for code in row["reasons"]]
    return render(request, "dealers/_receive_check.html", {"rows": rows, "error": error})


@require_GET
@dealer_page
def receipt(request, pk: int):
    """The result of one inspection: green or red per item, and why."""
    dealer = request.user.organization
    found = selectors.receipts_visible_to(request.user).filter(dealer=dealer, pk=pk).first()
    if found is None:
        raise Http404
    items = [
        {"item": item, "reasons": [{"code": code, "text": reason_text(code)} for code in item.reasons]}
        for item in found.items.all()
    ]
    accepted = sum(1 for row in items if row["item"].verdict == "accepted")
    return render(
        request,
        "dealers/receipt.html",
        {"receipt": found, "items": items, "accepted": accepted, "rejected": len(items) - accepted},
    )


# ---------------------------------------------------------------------------------------------------------------
# Sale = registration (卖车即备案)


@require_http_methods(["GET", "POST"])
@dealer_page
def sale_new(request):
    """Scan the bike and its batteries, enter the buyer; the sale registers them together."""
    user = request.user
    dealer = user.organization
    counties = county_choices(dealer)
    if request.method == "POST":
        if done := submission_result(request):
            return redirect(done)
        form = SaleForm(request.POST, counties=counties, dealer=dealer)
        if form.is_valid():
            data = form.cleaned_data
            try:

                def sell() -> str:
                    sale = services.sale_register(
                        user=user,
                        frame_no=data["frame_no"],
                        battery_serials=data["battery_serials"],
                        buyer=data["buyer"],
                        sold_at=data["sold_at"] or timezone.now(),
                    )
                    return reverse("dealer-sale", args=[sale.pk])

                return redirect(submit_once(request, sell))
            except DomainError as error:
                form.add_domain_error(error, refs=[data["frame_no"], *data["battery_serials"]])
    else:
        form = SaleForm(
            initial={
                "buyer_region": dealer.region_id,
                "sold_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
                "frame_no": request.GET.get("frame_no", ""),
            },
            counties=counties,
            dealer=dealer,
        )
    return render(request, "dealers/sale_form.html", {"form": form, "token": form_token_of(request)})


@require_GET
@dealer_page
def sale_check(request):
    """htmx fragment: are the bike and batteries in *this dealer's* stock, and a certified pair (标配)?

    Only the dealer's own stock is looked up, so the answer never tells whether another enterprise holds a code.
    """
    frame_no = request.GET.get("frame_no", "")[:200]
    serials = codes_split(request.GET.get("battery_serials", ""))[:4]
    preview = selectors.sale_preview(
        dealer_id=request.user.organization_id, frame_no=frame_no, battery_serials=serials, day=timezone.localdate()
    )
    problem = preview["vehicle_problem"]
    batteries = [{**b, "problem": reason_text(b["problem"]) if b["problem"] else ""} for b in preview["batteries"]]
    return render(
        request,
        "dealers/_sale_check.html",
        {
            **preview,
            "frame_no": frame_no.strip().upper(),  # as scanned: a label is shown as the code it was
            "vehicle_problem": reason_text(problem) if problem else "",
            "batteries": batteries,
            "asked": bool(frame_no.strip() or serials),
        },
    )


@require_GET
@dealer_page
def sale_done(request, pk: int):
    """The success screen: the bike's QR code and plate (码牌合一: plate = public code), to print or show."""
    dealer = request.user.organization
    sale = selectors.sales_visible_to(request.user).filter(dealer=dealer, pk=pk).first()
    if sale is None:
        raise Http404
    return render(
        request,
        "dealers/sale_done.html",
        {"sale": sale, "buyer": sale.registration.owner.as_dict(unmasked=False), "code": sale.vehicle.code},
    )


# ---------------------------------------------------------------------------------------------------------------
# Sales ledger (销售台账)


def _ledger_row(sale) -> dict:
    buyer = sale.registration.owner.as_dict(unmasked=False)
    return {
        "sale": sale,
        "buyer": buyer,
        "batteries": " ".join(sale.battery_serials),
        "plate_no": sale.registration.plate_no,
    }


@require_GET
@dealer_page
def sales(request):
    """Every sale of this dealer, by date range; CSV and XLSX for the duty records."""
    dealer = request.user.organization
    queryset = selectors.sales_visible_to(request.user).filter(dealer=dealer)
    filters = LedgerFilterForm(request.GET or None)
    if filters.is_bound and filters.is_valid():
        if filters.cleaned_data.get("date_from"):
            queryset = queryset.filter(sold_at__date__gte=filters.cleaned_data["date_from"])
        if filters.cleaned_data.get("date_to"):
            queryset = queryset.filter(sold_at__date__lte=filters.cleaned_data["date_to"])

    export = request.GET.get("export")
    if export in {"csv", "xlsx"}:
        header = [
            _("Sold at"),
            _("Frame number"),
            _("Model"),
            _("Battery codes"),
            _("Buyer"),
            _("Buyer's phone"),
            _("Plate number"),
        ]

        def rows(when):
            for sale in queryset.iterator(chunk_size=500):
                row = _ledger_row(sale)
                yield [
                    when(sale.sold_at),
                    sale.vehicle.frame_no,
                    sale.vehicle.model.code,
                    row["batteries"],
                    row["buyer"]["name"],
                    row["buyer"]["phone"],
                    row["plate_no"],
                ]

        stamp = timezone.localdate().isoformat()
        with reading_from_replica():
            if export == "xlsx":
                return xlsx_response(f"sales-{stamp}.xlsx", header, rows(lambda at: at), title=_("Sales ledger"))
            return csv_response(
                f"sales-{stamp}.csv", header, rows(lambda at: timezone.localtime(at).strftime("%Y-%m-%d %H:%M"))
            )

    page = page_of(request, queryset, PAGE_SIZE)
    return render(
        request,
        "dealers/sales.html",
        {
            "filters": filters,
            "page": page,
            "rows": [_ledger_row(sale) for sale in page.object_list],
            "query": query_without(request),
            "filtered": any(request.GET.get(k) for k in ("date_from", "date_to")),
        },
    )
