"""Pages of the trade-in (以旧换新): the dealer's counter (phone: find the old bike, see its kind and subsidy, sell the
new bike to its owner, the success screen with the QR code) and the regulator's weekly progress by street (desktop)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from alerts.services import HANDOVER_DAYS
from core.errors import DomainError, NotFound
from core.exports import csv_response
from core.models import OrganizationKind
from core.pages import pages_for
from core.submissions import form_token_of, submission_result, submit_once
from dealers import trade_in_report, trade_ins
from dealers.forms import county_choices
from dealers.models import TradeIn
from dealers.trade_in_forms import OldBikeForm, TradeInForm
from vehicles.proof import failed_proofs_counted

dealer_page = pages_for(OrganizationKind.DEALER)  # a dealer in good standing; anyone else gets 404
RECENT = 10


def _region_choices(dealer, old: trade_ins.OldBike | None) -> list[tuple[str, str]]:
    """The sale form's regions, with the old registration's own where it lies outside the dealer's city."""
    choices = county_choices(dealer)
    if old is not None and old.registration.region_id not in {code for code, _name in choices}:
        region = old.registration.region
        choices = [(region.code, region.full_name()), *choices]
    return choices


def _find(request, dealer, data: dict) -> tuple[trade_ins.OldBike | None, DomainError | None]:
    """The old bike the counter named, or the refusal; a failed proof is counted (vehicles/proof.py)."""
    try:
        with failed_proofs_counted(request):
            return trade_ins.old_bike_find(dealer=dealer, **data), None
    except DomainError as error:
        return None, error


def _waiting(dealer) -> list[dict]:
    """Old bikes this dealer still holds for a recycler, oldest first, with the days left of the 30."""
    today = timezone.localdate()
    rows = []
    for trade_in in (
        TradeIn.objects.filter(dealer=dealer, handed_over_at__isnull=True)
        .select_related("old_vehicle__model")
        .order_by("traded_at")[:RECENT]
    ):
        left = HANDOVER_DAYS - (today - timezone.localdate(trade_in.traded_at)).days
        rows.append({"trade_in": trade_in, "days_left": left})
    return rows


@require_http_methods(["GET", "POST"])
@dealer_page
def trade_in_new(request):
    """Step 1 finds the old bike (frame number, plate or QR code, and a proof); step 2 sells the new bike to its
    owner, who is not typed again; one submission does it all (submit_once)."""
    user = request.user
    dealer = user.organization
    find, form, old = OldBikeForm(initial={"old": request.GET.get("old", "")[:200]}), None, None
    if request.method == "POST":
        if done := submission_result(request):
            return redirect(done)
        find = OldBikeForm(request.POST)
        if find.is_valid():
            old, refusal = _find(request, dealer, find.old_named())
            if refusal is not None:
                find.add_domain_error(refusal)
        if old is not None and request.POST.get("step") == "trade":
            form = TradeInForm(request.POST, counties=_region_choices(dealer, old), dealer=dealer)
            if form.is_valid():
                data = form.service_data()
                data["sold_at"] = data["sold_at"] or timezone.now()
                try:

                    def trade() -> str:
                        trade_in = trade_ins.trade_in_register(user=user, **data)
                        return reverse("dealer-trade-in", args=[trade_in.pk])

                    with failed_proofs_counted(request):  # outside the write's transaction: the count outlives it
                        return redirect(submit_once(request, trade))
                except DomainError as error:
                    form.add_domain_error(error, refs=[data["frame_no"], *data["battery_serials"]])
                    if error.code == "subsidy_mismatch":  # the policy changed meanwhile: offer its amount now
                        form.data = form.data.copy()
                        form.data["subsidy_yuan"] = str(old.subsidy_yuan)
        elif old is not None:
            form = TradeInForm(
                initial={
                    "old": find.cleaned_data["old"],
                    "proof": find.cleaned_data.get("proof", ""),
                    "buyer_region": old.registration.region_id,
                    "subsidy_yuan": old.subsidy_yuan,
                    "sold_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
                },
                counties=_region_choices(dealer, old),
                dealer=dealer,
            )
    return render(
        request,
        "dealers/trade_in_form.html",
        {
            "find": find,
            "form": form,
            "old": old,
            "owner": old.registration.owner.as_dict(unmasked=False) if old else None,
            "token": form_token_of(request),
            "waiting": _waiting(dealer),
            "handover_days": HANDOVER_DAYS,
        },
    )


@require_GET
@dealer_page
def trade_in_done(request, pk: int):
    """The success screen: the new bike's QR code and plate to print or show, and what becomes of the old bike."""
    trade_in = trade_ins.trade_ins_of(request.user.organization).filter(pk=pk).first()
    if trade_in is None:
        raise Http404
    sale = trade_in.sale
    return render(
        request,
        "dealers/trade_in_done.html",
        {
            "trade_in": trade_in,
            "sale": sale,
            "buyer": sale.registration.owner.as_dict(unmasked=False),
            "code": sale.vehicle.code,
            "handover_days": HANDOVER_DAYS,
        },
    )


# ---------------------------------------------------------------------------------------------------------------
# The regulator's weekly progress by street


def _chart(report: dict) -> dict:
    rows = report["rows"]
    if len(rows) > 20:  # a city's streets: only those with something to show
        rows = [r for r in rows if r["trade_ins"] or r["handed_to_recycler"]]
    return {
        "id": "trade-ins",
        "kind": "bar",
        "caption": _("Trade-ins of the week by street"),
        "categories": [r["name"] for r in rows],
        "categoryLabel": _("Street"),
        "series": [
            {"name": _("traded in"), "values": [r["trade_ins"] for r in rows]},
            {"name": _("handed to a recycler"), "values": [r["handed_to_recycler"] for r in rows]},
        ],
        "unit": _("bikes"),
    }


@require_GET
@login_required
def trade_in_report_page(request):
    """GET /reports/trade-ins/: a jurisdiction's trade-ins of a week by street, a table and a bar chart; CSV."""
    try:
        region = trade_in_report.report_region(request.user, request.GET.get("region") or None)
    except (NotFound, DomainError):
        raise Http404 from None
    error = ""
    try:
        week = trade_in_report.week_parse(request.GET.get("week"))
    except DomainError as refusal:
        error, week = refusal.message, trade_in_report.week_parse(None)
    report = trade_in_report.weekly(region, week)
    if request.GET.get("export") == "csv":
        header = [_("Region code"), _("Street"), _("Trade-ins"), _("Subsidies (¥)"), _("Handed to a recycler")]
        rows = [
            [r["region_code"], r["name"], r["trade_ins"], f"{r['subsidy_yuan']:.2f}", r["handed_to_recycler"]]
            for r in report["rows"]
        ]
        total = report["total"]
        rows.append(["", _("Total"), total["trade_ins"], f"{total['subsidy_yuan']:.2f}", total["handed_to_recycler"]])
        return csv_response(f"trade-ins-{region.code}-{report['week']}.csv", header, rows)
    this_week = trade_in_report.week_of(timezone.localdate())
    return render(
        request,
        "reports/trade_ins.html",
        {
            "region": region,
            "report": report,
            "week": week,
            "error": error,
            "previous": week.shifted(-1).label,
            "next": week.shifted(1).label if week.monday < this_week.monday else "",
            "chart": _chart(report),
            "active_rows": sum(1 for r in report["rows"] if r["trade_ins"] or r["handed_to_recycler"]),
        },
    )
