"""Pages of the recycler and of the repair shop's handover (phone-sized): record one item, the records, one record."""

from __future__ import annotations

import re

from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from core.errors import DomainError
from core.exports import csv_response
from core.models import OrganizationKind
from core.pages import page_of, pages_for, query_without
from core.replica import reading_from_replica
from core.submissions import form_token_of, submit_once
from recycling import selectors, services
from recycling.forms import RecordFilterForm, RecyclingForm
from recycling.models import RecyclingRecord
from vehicles.proof import failed_proofs_counted

Kind = RecyclingRecord.Kind
PAGE_SIZE = 50
HELD_SHOWN = 20
_FRAME_SHAPE = re.compile(r"^\d{15}$")  # DOMAIN: a frame number is 15 digits


recycling_page = pages_for(*services.RECORDER_KINDS)  # a recycler or repair shop in good standing; else 404


@require_http_methods(["GET", "POST"])
@recycling_page
def record_new(request):
    """Scan the item, choose the disposal (and the manifest number, or the receiving recycler); sent once."""
    user = request.user
    org = user.organization
    if request.method == "POST":
        form = RecyclingForm(request.POST, organization=org)
        if form.is_valid():
            data = form.service_data()
            try:

                def record() -> str:
                    taken = services.recycling_record(user=user, **data)
                    return reverse("recycling-record", args=[taken.pk])

                with failed_proofs_counted(request):  # outside the write's transaction: the count outlives it
                    return redirect(submit_once(request, record))
            except DomainError as error:
                form.add_domain_error(error, refs=[data["ref"]])
    else:
        ref = request.GET.get("ref", "").strip().upper()[:64]
        vehicle = request.GET.get("kind") == "vehicle" or bool(_FRAME_SHAPE.match(ref))
        kind = Kind.VEHICLE if vehicle and org.kind == OrganizationKind.RECYCLER else Kind.BATTERY
        form = RecyclingForm(initial={"ref": ref, "kind": kind}, organization=org)
        if len(form.fields["disposal"].choices) == 1:
            form.initial["disposal"] = form.fields["disposal"].choices[0][0]
    held = selectors.batteries_held(org)
    return render(
        request,
        "recycling/record_form.html",
        {
            "form": form,
            "token": form_token_of(request),
            "held": held[:HELD_SHOWN],
            "held_count": held.count(),
        },
    )


@require_GET
@recycling_page
def record(request, pk: int):
    """One record: what was taken back or handed over, how it was disposed of, and what is left to do."""
    found = selectors.records_visible_to(request.user).filter(pk=pk).first()
    if found is None:
        raise Http404
    org = request.user.organization
    released = []
    if found.batteries_released:
        # The batteries this bike carried, and whether each is still waiting for its disposal here.
        waiting = set(
            selectors.batteries_held(org).filter(serial__in=found.batteries_released).values_list("serial", flat=True)
        )
        released = [{"serial": s, "waiting": s in waiting} for s in found.batteries_released]
    item = found.vehicle if found.kind == Kind.VEHICLE else found.battery
    return render(
        request,
        "recycling/record.html",
        {"record": found, "item": item, "released": released, "mine": found.organization_id == org.pk},
    )


def _filtered(request, form: RecordFilterForm):
    queryset = selectors.records_visible_to(request.user)
    if not (form.is_bound and form.is_valid()):
        return queryset
    data = form.cleaned_data
    if data.get("kind"):
        queryset = queryset.filter(kind=data["kind"])
    if data.get("disposal"):
        queryset = queryset.filter(disposal=data["disposal"])
    if data.get("q"):
        queryset = queryset.filter(Q(ref=data["q"]) | Q(manifest_no=data["q"]))
    if data.get("date_from"):
        queryset = queryset.filter(recorded_at__date__gte=data["date_from"])
    if data.get("date_to"):
        queryset = queryset.filter(recorded_at__date__lte=data["date_to"])
    return queryset


def _records_csv(queryset):
    header = [
        _("Recorded at"),
        _("Item"),
        _("Frame number or battery code"),
        _("Disposal"),
        _("Manifest number"),
        _("Status after"),
        _("Recorded by"),
        _("Handed to"),
        _("Batteries released"),
    ]
    rows = (
        [
            timezone.localtime(r.recorded_at).strftime("%Y-%m-%d %H:%M"),
            r.get_kind_display(),
            r.ref,
            r.get_disposal_display(),
            r.manifest_no,
            r.status_label(),
            r.organization.name,
            r.handed_to.name if r.handed_to_id else "",
            " ".join(r.batteries_released),
        ]
        for r in queryset.iterator(chunk_size=500)
    )
    return csv_response(f"recycling-{timezone.localdate().isoformat()}.csv", header, rows)


@require_GET
@recycling_page
def records(request):
    """The records made here, and the handovers received: filterable, paginated, exportable (工作台账)."""
    filters = RecordFilterForm(request.GET or None)
    queryset = _filtered(request, filters)
    if request.GET.get("export") == "csv":
        with reading_from_replica():
            return _records_csv(queryset)
    page = page_of(request, queryset, PAGE_SIZE)
    return render(
        request,
        "recycling/records.html",
        {
            "filters": filters,
            "page": page,
            "query": query_without(request),
            "filtered": any(request.GET.get(k) for k in ("kind", "disposal", "q", "date_from", "date_to")),
        },
    )
