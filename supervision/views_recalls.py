"""Recall pages: the recalls a regulator or maker follows and starts (desktop), one recall's progress per district,
and the remedy form of the dealer's counter and the repair shop's workshop (phone: scan or type the code)."""

from __future__ import annotations

from django import forms
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from catalog.models import BatteryModel, VehicleModel
from core.errors import DomainError
from core.exports import csv_response
from core.forms import domain_error_place
from core.models import OrganizationKind
from core.pages import page_of, pages_for, query_without
from core.submissions import form_token_new, form_token_of, submit_once
from supervision import recalls
from supervision.models import Recall

K = OrganizationKind
follower_page = pages_for(K.REGULATOR, K.MANUFACTURER, K.BATTERY_MAKER)
remedy_page = pages_for(K.DEALER, K.REPAIR_SHOP, K.MANUFACTURER, K.BATTERY_MAKER)
KIND_CHOICES = [(kind.value, kind.label) for kind in recalls.RECALL_KINDS]


class RecallForm(forms.Form):
    model_kind = forms.ChoiceField(label=gettext_lazy("Kind of product"), choices=KIND_CHOICES)
    model = forms.CharField(label=gettext_lazy("Model code"), max_length=64)
    produced_from = forms.DateField(
        label=gettext_lazy("Produced from"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    produced_to = forms.DateField(
        label=gettext_lazy("Produced to"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("The defect and the remedy, as the owners will read it on the bike's page."),
    )


def _own_models(org) -> list[tuple[str, str]]:
    """A maker's model codes, offered as it types (the catalog is public; a regulator types any code)."""
    if org.kind not in recalls.MAKER_KINDS:
        return []
    models = [*VehicleModel.objects.filter(maker=org), *BatteryModel.objects.filter(maker=org)]
    return sorted((m.code, m.name) for m in models)


@require_GET
@follower_page
def recall_list(request):
    """The recalls the user follows, newest first, with their progress."""
    status = request.GET.get("status", "")
    visible = recalls.recalls_visible_to(request.user).order_by("-created_at", "-id")
    if status in Recall.Status.values:
        visible = visible.filter(status=status)
    if request.GET.get("export") == "csv":
        header = [
            _("Started"),
            _("Kind of product"),
            _("Model"),
            _("Maker"),
            _("Produced from"),
            _("Produced to"),
            _("Units affected"),
            _("Units remedied"),
            _("Status"),
            _("Reason"),
        ]
        rows = (
            [
                r.created_at.date(),
                r.get_model_kind_display(),
                r.model_code,
                r.maker.name,
                r.produced_from,
                r.produced_to,
                r.affected,
                r.remedied,
                r.get_status_display(),
                r.reason,
            ]
            for r in visible.iterator()
        )
        return csv_response("recalls.csv", header, rows)
    return render(
        request,
        "supervision/recall_list.html",
        {
            "page": page_of(request, visible),
            "query": query_without(request),
            "status": status,
            "statuses": Recall.Status.choices,
        },
    )


@require_http_methods(["GET", "POST"])
@follower_page
def recall_new(request):
    """Start a recall: every unit of the model produced in the range is matched at once."""
    user = request.user
    if request.method == "POST":
        form = RecallForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:

                def start() -> str:
                    recall = recalls.recall_start(
                        user=user,
                        model_kind=data["model_kind"],
                        model_code=data["model"].strip(),
                        produced_from=data["produced_from"],
                        produced_to=data["produced_to"],
                        reason=data["reason"].strip(),
                    )
                    return reverse("recall-detail", args=[recall.pk])

                return redirect(submit_once(request, start))
            except DomainError as error:
                domain_error_place(form, error)
    else:
        form = RecallForm()
    context = {"form": form, "token": form_token_of(request), "models": _own_models(user.organization)}
    return render(request, "supervision/recall_form.html", context)


@require_GET
@follower_page
def recall_detail(request, pk: int):
    """One recall: how many units, how many remedied, and where (per district)."""
    try:
        recall = recalls.recall_visible(request.user, pk)
    except DomainError:
        raise Http404 from None
    districts = recalls.recall_districts(request.user, recall)
    if request.GET.get("export") == "csv":
        header = [_("District code"), _("District"), _("Units affected"), _("Units remedied")]
        rows = ([d["region_code"], d["name"], d["affected"], d["remedied"]] for d in districts)
        return csv_response(f"recall-{recall.pk}-districts.csv", header, rows)
    for district in districts:
        district["open"] = district["affected"] - district["remedied"]
    return render(
        request,
        "supervision/recall_detail.html",
        {"recall": recall, "districts": districts, "open": recall.affected - recall.remedied},
    )


# ── Remedies (phone) ─────────────────────────────────────────────────────────────────────────────────────────


def _remedy_context(request, ref: str, error: str = "") -> dict:
    unit = recalls.unit_by_ref(ref) if ref else None
    open_recalls = recalls.open_recalls_of(request.user, unit) if unit is not None else []
    remedied = request.GET.get("remedied", "")
    return {
        "ref": ref,
        "unit": unit,
        "unknown": bool(ref) and unit is None,
        "open_recalls": [{"recall": r, "token": form_token_new()} for r in open_recalls],
        "remedied": int(remedied) if remedied.isdigit() else None,
        "error": error,
    }


@require_GET
@remedy_page
def recall_remedy(request):
    """Scan or type the bike's or battery's code; see whether it is under recall and record its remedy."""
    ref = request.GET.get("ref", "").strip()[:64]
    return render(request, "supervision/recall_remedy.html", _remedy_context(request, ref))


@require_POST
@remedy_page
def recall_remedy_record(request):
    ref = request.POST.get("ref", "").strip()[:64]
    recall_id = request.POST.get("recall", "")
    try:
        recall = recalls.recall_for_remedy(request.user, int(recall_id) if recall_id.isdigit() else 0)

        def remedy() -> str:
            recalls.recall_remedy(user=request.user, recall=recall, ref=ref)
            return f"{reverse('recall-remedy')}?{urlencode({'ref': ref, 'remedied': recall.pk})}"

        return redirect(submit_once(request, remedy))
    except DomainError as error:
        context = _remedy_context(request, ref, error.message)
        return render(request, "supervision/recall_remedy.html", context, status=error.status)
