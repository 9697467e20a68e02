"""Record pages (一车一档): the regulator's search from one clue, and the dossier with audited unmasking."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from catalog.selectors import is_compatible_pair
from core.audit import audit_record, unmask_audited_once
from core.client_ip import client_ip
from core.errors import InvalidInput, NotFound
from core.exports import csv_response
from core.models import OrganizationKind, Region
from core.pages import at_desk, page_of
from core.personal_data import clean_id_number, clean_phone
from core.submissions import form_token_of
from dealers.forms import CounterForm
from repairs.forms import flag_text
from repairs.selectors import repair_visible
from repairs.services import speed_text
from vehicles import selectors
from vehicles.ledger import chain_verify

PAGE_SIZE = 20
SEARCH_KINDS = {OrganizationKind.REGULATOR, OrganizationKind.POLICE}

# The shape of the clue decides what it is (DOMAIN: frame number = 15 digits; GB 11643 ID = 17 digits + check).
_FRAME = re.compile(r"^\d{15}$")
_ID_NUMBER = re.compile(r"^\d{17}[\dX]$")
_MOBILE = re.compile(r"^(?:\+?86)?1\d{10}$")

CLUE_LABELS = {
    "frame_no": gettext_lazy("frame number"),
    "id_number": gettext_lazy("ID number"),
    "phone": gettext_lazy("mobile phone"),
    "plate_no": gettext_lazy("plate number"),
    "battery_serial": gettext_lazy("battery code"),
}


def _may_search(user) -> bool:
    org = user.organization
    return user.is_superuser or (org is not None and org.kind in SEARCH_KINDS and org.is_active)


def _region_names(codes) -> dict[str, str]:
    codes = {c for c in codes if c}
    return dict(Region.objects.filter(code__in=codes).values_list("code", "name")) if codes else {}


def clue_of(text: str) -> tuple[str, str]:
    """(kind, value) of what was typed: frame number, ID number, phone, or else a plate or battery code."""
    compact = re.sub(r"[\s-]", "", text).upper()
    if _FRAME.match(compact):
        return "frame_no", compact
    if _ID_NUMBER.match(compact):
        return "id_number", compact
    if _MOBILE.match(compact):
        return "phone", compact
    return "plate_no", text.strip().upper()[:64]


def _search(request, text: str):
    """The vehicles the clue leads to (scoped by the selectors) and the kind of clue it was taken for."""
    user = request.user
    kind, value = clue_of(text)
    if kind == "frame_no":
        found = selectors.vehicles_visible_to(user).filter(frame_no=value)
        return kind, found.prefetch_related(*selectors.dossier_prefetch()).order_by("-registered_at")
    if kind in {"id_number", "phone"}:
        value = clean_id_number(value, field="q") if kind == "id_number" else clean_phone(value, field="q")
        found = selectors.trace(user, **{kind: value})
        # A search by personal data is itself a use of it (PIPL), as in the API's trace: record who looked.
        audit_record(
            actor=user,
            action="trace.search",
            target_type="trace",
            target_id=kind,
            data={"results": found.count(), "via": "page"},
            ip_address=client_ip(request),
        )
        return kind, found
    found = selectors.trace(user, plate_no=value)
    if found.exists():
        return "plate_no", found
    return "battery_serial", selectors.trace(user, battery_serial=value)


def _result_row(vehicle, regions: dict[str, str]) -> dict:
    registration = (getattr(vehicle, "active_registrations", None) or [None])[0]
    return {
        "vehicle": vehicle,
        "plate_no": registration.plate_no if registration else "",
        "owner": registration.owner.as_dict(unmasked=False) if registration else None,
        "batteries": [b.serial for b in vehicle.batteries.all()],
        "outlet": vehicle.dealer or vehicle.holder,
        "region": regions.get(vehicle.region_id, vehicle.region_id),
    }


@require_GET
@login_required
def search(request):
    """One box: frame number, battery code, plate, phone or ID number. Owners are shown masked."""
    if not _may_search(request.user):
        raise Http404
    text = request.GET.get("q", "").strip()[:64]
    error, kind, page, rows = "", "", None, []
    if text:
        try:
            kind, found = _search(request, text)
        except InvalidInput as refusal:
            error = " ".join(str(m) for m in refusal.fields.get("q", [])) or refusal.message
        else:
            if request.GET.get("export") == "csv":
                return _search_csv(found)
            page = page_of(request, found, PAGE_SIZE)
            regions = _region_names(v.region_id for v in page.object_list)
            rows = [_result_row(v, regions) for v in page.object_list]
    return render(
        request,
        "vehicles/search.html",
        {
            "q": text,
            "error": error,
            "kind": kind,
            "kind_label": CLUE_LABELS.get(kind, ""),
            "page": page,
            "rows": rows,
            "query": urlencode({"q": text}) if text else "",
        },
    )


def _search_csv(found):
    header = [
        _("Frame number"),
        _("Model"),
        _("Status"),
        _("Plate number"),
        _("Battery codes"),
        _("Owner"),
        _("Owner's phone"),
        _("Outlet"),
        _("Region"),
        _("Registered at"),
    ]

    def rows():
        for vehicle in found.iterator(chunk_size=200):
            row = _result_row(vehicle, {})
            owner = row["owner"] or {"name": "", "phone": ""}
            yield [
                vehicle.frame_no,
                vehicle.model.code,
                vehicle.get_status_display(),
                row["plate_no"],
                " ".join(row["batteries"]),
                owner["name"],
                owner["phone"],
                row["outlet"].name if row["outlet"] else "",
                vehicle.region_id,
                timezone.localtime(vehicle.registered_at).strftime("%Y-%m-%d %H:%M") if vehicle.registered_at else "",
            ]

    return csv_response("search.csv", header, rows())


class UnmaskForm(CounterForm):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=500)


@require_http_methods(["GET", "POST"])
@login_required
def dossier(request, frame_no: str):
    """The bike's record, masked. Regulators and police may show the owner in full once, giving a reason that
    goes into the audit log; the data is in that one response only."""
    user = request.user
    try:
        vehicle = selectors.vehicle_dossier(user, frame_no)
    except NotFound:
        raise Http404 from None
    may_unmask = selectors.may_unmask(user)
    unmasked = False
    form = UnmaskForm()
    if request.method == "POST":
        if not may_unmask:
            raise PermissionDenied
        form = UnmaskForm(request.POST)
        if form.is_valid():
            answered = unmask_audited_once(
                request, target=vehicle, reason=form.cleaned_data["reason"], data={"via": "page"}, done_url=request.path
            )
            if answered:
                messages.info(request, _("Already answered. To see the data again, give a reason."))
                return redirect(answered)
            unmasked = True

    registration = (getattr(vehicle, "active_registrations", None) or [None])[0]
    outlet = vehicle.dealer or vehicle.holder
    regions = _region_names(
        [vehicle.region_id, registration.region_id if registration else "", outlet.region_id if outlet else ""]
    )
    today = timezone.localdate()
    model = vehicle.model
    response = render(
        request,
        "vehicles/dossier.html",
        {
            "layout": "desktop" if at_desk(user) else "phone",
            "vehicle": vehicle,
            "model": model,
            "ccc_valid": model.ccc_valid_on(today),
            "batteries": [
                {"battery": b, "paired": is_compatible_pair(vehicle_model=model, battery_model=b.model)}
                for b in vehicle.batteries.all()
            ],
            "registration": registration,
            "owner": registration.owner.as_dict(unmasked=unmasked) if registration else None,
            "unmasked": unmasked,
            "outlet": outlet,
            "vehicle_region": regions.get(vehicle.region_id, ""),
            "registration_region": regions.get(registration.region_id, "") if registration else "",
            "outlet_region": regions.get(outlet.region_id, "") if outlet else "",
            "events": selectors.vehicle_timeline(vehicle),
            "verdict": chain_verify(vehicle),
            "may_unmask": may_unmask and registration is not None,
            "form": form,
            "token": form_token_of(request) if not unmasked else "",
        },
    )
    if unmasked:
        add_never_cache_headers(response)  # personal data: not kept by the browser or any proxy
    return response


@require_GET
@login_required
def repair_record(request, pk: int):
    """A repair as the regulator reads it from an alert's evidence: what was done, by which shop, the batteries,
    the measured figures, the flags in words and the photos. Read-only; another jurisdiction's repair is 404."""
    if not at_desk(request.user):
        raise Http404
    try:
        repair = repair_visible(request.user, pk)
    except NotFound:
        raise Http404 from None
    flags = [{"code": code, "text": flag_text(code, repair.flag_serials.get(code))} for code in repair.flags]
    context = {"repair": repair, "flags": flags, "speed": speed_text(repair.measured_max_speed_kmh)}
    return render(request, "vehicles/repair.html", context)
