"""The regulator's sampling pages (desktop): record a sampled batch with the lab's verdict, and the ledger of batches
of the jurisdiction with filters and exports."""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from core.errors import DomainError
from core.exports import csv_response, xlsx_response
from core.forms import domain_error_place
from core.models import ENTERPRISE_KINDS, Organization, OrganizationKind
from core.pages import page_of, pages_for, query_without
from core.replica import reading_from_replica
from core.scoping import scoped
from core.submissions import form_token_of, submit_once
from supervision import sampling
from supervision.models import ModelKind, SamplingBatch

regulator_page = pages_for(OrganizationKind.REGULATOR)
ANY = [("", gettext_lazy("any"))]


class SamplingForm(forms.Form):
    organization = forms.TypedChoiceField(label=gettext_lazy("Enterprise sampled"), coerce=int)
    model_kind = forms.ChoiceField(label=gettext_lazy("Kind of product"), choices=ModelKind.choices)
    model = forms.CharField(
        label=gettext_lazy("Model code"),
        max_length=64,
        help_text=gettext_lazy("The certified model's code, as on its CCC certificate."),
    )
    batch_no = forms.CharField(label=gettext_lazy("Batch number"), max_length=64)
    sampled_at = forms.DateField(
        label=gettext_lazy("Sampled on"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    lab_report_no = forms.CharField(label=gettext_lazy("Lab report number"), max_length=64)
    result = forms.ChoiceField(
        label=gettext_lazy("Result"), choices=SamplingBatch.Result.choices, widget=forms.RadioSelect
    )
    failed_items = forms.CharField(
        label=gettext_lazy("Failed items"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("One per line, e.g. 最高车速, 电池过充保护. Only for a batch that failed."),
    )

    def __init__(self, *args, enterprises, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organization"].choices = [("", _("Choose the enterprise"))] + [
            (org.pk, f"{org.name} · {org.get_kind_display()}") for org in enterprises
        ]

    def clean_failed_items(self) -> list[str]:
        items = [line.strip() for line in self.cleaned_data["failed_items"].splitlines() if line.strip()]
        if len(items) > sampling.FAILED_ITEMS_MAX or any(len(item) > 200 for item in items):
            raise forms.ValidationError(_("At most 50 items of at most 200 characters each."))
        return items


class SamplingFilterForm(forms.Form):
    result = forms.ChoiceField(label=gettext_lazy("Result"), required=False, choices=ANY + SamplingBatch.Result.choices)
    model_kind = forms.ChoiceField(
        label=gettext_lazy("Kind of product"), required=False, choices=ANY + ModelKind.choices
    )
    date_from = forms.DateField(label=gettext_lazy("From"), required=False)
    date_to = forms.DateField(label=gettext_lazy("To"), required=False)
    q = forms.CharField(label=gettext_lazy("Enterprise, model or batch"), required=False, max_length=64)


def _enterprises(user):
    return scoped(Organization.objects.filter(kind__in=ENTERPRISE_KINDS, status=Organization.Status.ACTIVE), user)


@require_http_methods(["GET", "POST"])
@regulator_page
def sampling_new(request):
    """Record one sampled batch; a failure raises an alert about the enterprise at once."""
    user = request.user
    enterprises = _enterprises(user).order_by("name")
    if request.method == "POST":
        form = SamplingForm(request.POST, enterprises=enterprises)
        if form.is_valid():
            data = form.cleaned_data
            try:

                def record() -> str:
                    batch = sampling.sampling_record(
                        user=user,
                        organization_id=data["organization"],
                        model_kind=data["model_kind"],
                        model_code=data["model"].strip(),
                        batch_no=data["batch_no"].strip(),
                        sampled_at=data["sampled_at"],
                        result=data["result"],
                        failed_items=data["failed_items"],
                        lab_report_no=data["lab_report_no"].strip(),
                    )
                    return f"{reverse('sampling-list')}?recorded={batch.pk}"

                return redirect(submit_once(request, record))
            except DomainError as error:
                domain_error_place(form, error)
    else:
        form = SamplingForm(
            initial={"sampled_at": timezone.localdate(), "result": SamplingBatch.Result.PASS}, enterprises=enterprises
        )
    return render(request, "supervision/sampling_form.html", {"form": form, "token": form_token_of(request)})


def _filtered(request, filters: SamplingFilterForm):
    batches = sampling.sampling_visible_to(request.user)
    if not filters.is_valid():
        return batches
    values = filters.cleaned_data
    batches = sampling.sampling_filtered(
        batches,
        result=values["result"],
        model_kind=values["model_kind"],
        date_from=values["date_from"],
        date_to=values["date_to"],
    )
    if values["q"]:
        q = values["q"].strip()
        batches = batches.filter(
            Q(organization__name__icontains=q) | Q(model_code__icontains=q) | Q(batch_no__icontains=q)
        )
    return batches


def _export_rows(batches):
    kinds, results = dict(ModelKind.choices), dict(SamplingBatch.Result.choices)
    for b in batches.iterator(chunk_size=2000):
        yield [
            b.sampled_at,
            b.organization.name,
            b.organization.uscc,
            b.region_code,
            str(kinds.get(b.model_kind, b.model_kind)),
            b.model_code,
            b.batch_no,
            str(results.get(b.result, b.result)),
            "、".join(b.failed_items or []),
            b.lab_report_no,
        ]


@require_GET
@regulator_page
def sampling_list(request):
    """Every batch of the jurisdiction, newest first: filters, count, pages, CSV and XLSX."""
    filters = SamplingFilterForm(request.GET)
    batches = _filtered(request, filters)
    export = request.GET.get("export")
    if export in {"csv", "xlsx"}:
        header = [
            _("Sampled on"),
            _("Enterprise"),
            _("Unified social credit code"),
            _("Region"),
            _("Kind of product"),
            _("Model"),
            _("Batch number"),
            _("Result"),
            _("Failed items"),
            _("Lab report number"),
        ]
        with reading_from_replica():
            if export == "csv":
                return csv_response("sampling.csv", header, _export_rows(batches))
            return xlsx_response("sampling.xlsx", header, _export_rows(batches), title=_("Supervisory sampling"))
    recorded = None
    if (recorded_id := request.GET.get("recorded", "")).isdigit():
        recorded = sampling.sampling_visible_to(request.user).filter(pk=int(recorded_id)).first()
    filtered = any(request.GET.get(name) for name in filters.fields)
    return render(
        request,
        "supervision/sampling_list.html",
        {
            "filters": filters,
            "page": page_of(request, batches),
            "query": query_without(request, "recorded"),
            "filtered": filtered,
            "recorded": recorded,
        },
    )
