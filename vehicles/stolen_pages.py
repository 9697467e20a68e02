"""The stolen-bike pages (desktop): the hot sheet of a region for the police and the regulator, with its CSV; the
police's forms to report a bike stolen and to record it found. The work is vehicles.stolen's."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.client_ip import client_ip
from core.errors import DomainError, NotFound
from core.exports import csv_response
from core.models import OrganizationKind, Region
from core.pages import page_of, pages_for, query_without
from core.submissions import form_token_new, form_token_of, submit_once
from dealers.forms import CounterForm
from vehicles import stolen
from vehicles.api.stolen import hot_sheet_rows

PAGE_SIZE = 50
hot_sheet_pages = pages_for(OrganizationKind.POLICE, OrganizationKind.REGULATOR)
police_pages = pages_for(OrganizationKind.POLICE)
EVENT_LABELS = {"public_page_scan": gettext_lazy("a scan of its QR page")}


class StolenForm(CounterForm):
    frame_no = forms.CharField(label=gettext_lazy("Frame number"), max_length=20)
    report_no = forms.CharField(label=gettext_lazy("Police report number"), max_length=64)
    reported_at = forms.DateTimeField(label=gettext_lazy("Reported stolen at"))
    field_map = {"frame_no": "frame_no", "report_no": "report_no", "reported_at": "reported_at"}

    def clean_frame_no(self):
        return self.cleaned_data["frame_no"].strip().upper()


class FoundForm(CounterForm):
    found_at = forms.DateTimeField(label=gettext_lazy("Found at"), required=False)
    note = forms.CharField(label=gettext_lazy("Note"), max_length=200, required=False)


def _event_label(code: str) -> str:
    from vehicles.models import EventType

    return str(EVENT_LABELS.get(code) or dict(EventType.choices).get(code, code))


def _regions(user) -> list[tuple[str, str]]:
    """The caller's region and the regions one level below it, for the filter."""
    org = user.organization
    below = Region.objects.filter(parent_id=org.region_id).order_by("code").values_list("code", "name")
    return [(org.region_id, org.region.name), *below]


def _rows(reports) -> list[dict]:
    rows = hot_sheet_rows(reports)
    for row in rows:
        row["token"] = form_token_new()  # each row's "found" form is submitted once, on its own
        if seen := row["last_seen"]:
            seen["event_label"] = _event_label(seen["event"])
            at = parse_datetime(str(seen["at"] or ""))
            seen["local_at"] = timezone.localtime(at) if at else None
    return rows


@require_GET
@hot_sheet_pages
def hot_sheet(request):
    """The open reports of the region (or one district of it), newest first, with where each bike was last seen."""
    code = request.GET.get("region_code", "").strip()[:12]
    try:
        reports = stolen.hot_sheet(request.user, code)
    except NotFound:
        raise Http404 from None
    if request.GET.get("export") == "csv":
        return _csv(reports)
    page = page_of(request, reports, PAGE_SIZE)
    return render(
        request,
        "vehicles/stolen_list.html",
        {
            "page": page,
            "rows": _rows(page.object_list),
            "regions": _regions(request.user),
            "region_code": code,
            "query": query_without(request),
            "is_police": request.user.organization.kind == OrganizationKind.POLICE,
        },
    )


def _csv(reports):
    header = [
        _("Frame number"),
        _("Public code"),
        _("Model"),
        _("Plate number"),
        _("Police report number"),
        _("Reported stolen at"),
        _("Region"),
        _("Last seen at"),
        _("Seen in"),
        _("Seen by"),
        _("Seen in region"),
    ]

    def lines():
        for start in range(0, reports.count(), 500):
            for row in _rows(reports[start : start + 500]):
                seen = row["last_seen"] or {}
                yield [
                    row["vehicle"]["frame_no"],
                    row["vehicle"]["code"],
                    row["vehicle"]["model"]["code"],
                    row["vehicle"]["plate_no"] or "",
                    row["report"]["report_no"],
                    timezone.localtime(row["report"]["reported_at"]).strftime("%Y-%m-%d %H:%M"),
                    row["report"]["region_code"],
                    seen["local_at"].strftime("%Y-%m-%d %H:%M") if seen.get("local_at") else "",
                    seen.get("event_label", ""),
                    (seen.get("enterprise") or {}).get("name", ""),
                    seen.get("region_name", ""),
                ]

    return csv_response("stolen.csv", header, lines())


@require_http_methods(["GET", "POST"])
@police_pages
def report_new(request):
    """Report a bike stolen: its frame number (typed or scanned), the police report number and when."""
    if request.method == "POST":
        form = StolenForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:

                def write() -> str:
                    stolen.stolen_report_open(
                        user=request.user,
                        frame_no=data["frame_no"],
                        report_no=data["report_no"],
                        reported_at=data["reported_at"],
                        ip_address=client_ip(request),
                    )
                    return reverse("stolen-hot-sheet")

                url = submit_once(request, write)
                messages.success(request, _("Bike %(frame_no)s reported stolen: its sightings reach you.") % data)
                return redirect(url)
            except NotFound:
                form.add_error("frame_no", _("No bike with this frame number in your jurisdiction."))
            except DomainError as error:
                form.add_domain_error(error)
    else:
        form = StolenForm(initial={"frame_no": request.GET.get("frame_no", "")[:20]})
    return render(request, "vehicles/stolen_form.html", {"form": form, "token": form_token_of(request)})


@require_POST
@police_pages
def report_found(request, frame_no: str):
    """Record a bike of the hot sheet found (a button on its row); back to the hot sheet with the outcome."""
    form = FoundForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return redirect("stolen-hot-sheet")
    data = form.cleaned_data
    try:

        def write() -> str:
            stolen.stolen_report_close(
                user=request.user,
                frame_no=frame_no,
                found_at=data.get("found_at") or timezone.now(),
                note=data.get("note") or "",
                ip_address=client_ip(request),
            )
            return reverse("stolen-hot-sheet")

        url = submit_once(request, write)
    except NotFound:
        raise Http404 from None
    except DomainError as error:
        if error.status == 403:
            raise PermissionDenied from None
        messages.error(request, error.message)
        return redirect("stolen-hot-sheet")
    messages.success(request, _("Bike %(frame_no)s recorded as found.") % {"frame_no": frame_no})
    return redirect(url)
