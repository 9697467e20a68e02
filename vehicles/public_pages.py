"""The public pages (no login): the page a phone opens from a bike's QR code, its QR images, and the complaint
form (我要投诉) with the ticket's status page. The data is vehicles/public.py's; the work is alerts.complaints'."""

from __future__ import annotations

from django import forms
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods, require_safe

from alerts.api.complaints import complaint_count, complaint_wait, too_many_message
from alerts.complaints import (
    DESCRIPTION_MAX,
    MAX_PHOTO_BYTES,
    MAX_PHOTOS,
    complaint_by_ticket,
    complaint_file,
    complaint_photos_add,
    complaint_status,
    ticket_normalise,
    ticket_valid,
)
from alerts.forms import PHOTO_TYPES
from alerts.models import ComplaintCategory
from core.client_ip import client_ip
from core.errors import DomainError
from core.forms import domain_error_place
from core.submissions import form_token_of, form_token_valid, submission_claim, submission_done
from vehicles.models import PublicScan
from vehicles.public import QR_CACHE_SECONDS, public_record, record_display, scan_log_unknown, text_storable
from vehicles.qr import qr_png, qr_svg
from vehicles.stolen import stolen_scan_seen

# ── Pages ────────────────────────────────────────────────────────────────────────────────────────────────────


def _no_index(response: HttpResponse) -> HttpResponse:
    response["X-Robots-Tag"] = "noindex"  # one page per bike: not for search engines
    return response


@require_safe
def record_page(request, code: str):
    """GET /v/{code}: the page a phone opens from the QR code."""
    record = public_record(code)
    if record is None:
        scan_log_unknown(
            raw_code=code,
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            ip=client_ip(request),
            source=PublicScan.Source.PAGE,
        )
        return _no_index(render(request, "public/unknown.html", {"code": text_storable(code, 64)}, status=404))
    if record.get("stolen") and request.user.is_authenticated:
        stolen_scan_seen(user=request.user, vehicle_code=record["code"])  # an enterprise has the bike before it
    context = {"record": record_display(record), **_complaint_context(request)}  # the complaint form (我要投诉)
    return _no_index(render(request, "public/record.html", context))


def _qr_response(request, code: str, render_qr, content_type: str) -> HttpResponse:
    record = public_record(code)
    if record is None:
        raise Http404
    response = HttpResponse(render_qr(request.build_absolute_uri(record["public_url"])), content_type=content_type)
    patch_cache_control(response, public=True, max_age=QR_CACHE_SECONDS)
    return response


@require_safe
def qr_svg_page(request, code: str):
    """GET /v/{code}/qr.svg: the QR code of the page, to print on a label."""
    return _qr_response(request, code, qr_svg, "image/svg+xml")


@require_safe
def qr_png_page(request, code: str):
    """GET /v/{code}/qr.png"""
    return _qr_response(request, code, qr_png, "image/png")


# ── Complaints (我要投诉): the form on this page and the ticket's status page ────────────────────────────────
# The work is alerts.complaints' (services and selectors); these views only parse the form and show the result.


class ComplaintForm(forms.Form):
    """Category, description, an optional phone and optional photos; the services validate them (the same rules
    as the API). `photos` is here for its errors: the files come from request.FILES."""

    form_token = forms.CharField(required=False, widget=forms.HiddenInput)
    category = forms.CharField(required=False)
    description = forms.CharField(required=False)
    contact_phone = forms.CharField(required=False)
    photos = forms.Field(required=False)

    def clean(self):
        cleaned = super().clean()
        if not form_token_valid(cleaned.get("form_token") or ""):
            raise forms.ValidationError(_("This form was out of date. Check it and submit it again."))
        return cleaned

    def add_domain_error(self, error: DomainError) -> None:
        domain_error_place(self, error)


def _complaint_context(request, form: ComplaintForm | None = None) -> dict:
    return {
        "complaint_form": form or ComplaintForm(),
        "complaint_token": form_token_of(request),
        "complaint_categories": ComplaintCategory.choices,
        "complaint_max": DESCRIPTION_MAX,
        "complaint_max_photos": MAX_PHOTOS,
        "complaint_photo_mb": MAX_PHOTO_BYTES // (1024 * 1024),
        "complaint_photo_types": ",".join(sorted(PHOTO_TYPES)),
    }


@require_http_methods(["GET", "POST"])
def complaint_post(request, code: str):
    """POST /v/{code}/complaint: file the complaint of the page's form, then show its ticket (once per form)."""
    record = public_record(code)
    if record is None:
        return _no_index(render(request, "public/unknown.html", {"code": text_storable(code, 64)}, status=404))
    if request.method == "GET":
        return redirect(reverse("public-record", args=[record["code"]]) + "#complaint")
    form = ComplaintForm(request.POST)
    status, retry_after = 200, None
    if form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                first = submission_claim(request)
                if first:
                    return redirect(first)
                retry_after = complaint_wait(request)
                if retry_after is None:
                    complaint = complaint_file(
                        vehicle_code=record["code"],
                        category=data["category"],
                        description=data["description"],
                        contact_phone=data["contact_phone"],
                    )
                    photos = request.FILES.getlist("photos")
                    if photos:  # a refused photo refuses the complaint with it: the form comes back to fix
                        complaint_photos_add(ticket=complaint.ticket, uploads=photos, field="photos")
                    url = reverse("public-complaint-filed", args=[complaint.ticket])
                    submission_done(request, url)
                else:
                    transaction.set_rollback(True)  # the form may be sent again later
            if retry_after is None:
                complaint_count(request)
                return redirect(url)
            form.add_error(None, too_many_message(retry_after))
            status = 429
        except DomainError as error:
            form.add_domain_error(error)
    context = {"record": record_display(record), **_complaint_context(request, form)}
    context["complaint_photos_sent"] = bool(request.FILES.getlist("photos"))  # the form comes back without them
    response = _no_index(render(request, "public/record.html", context, status=status))
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def _complaint_page(request, context: dict, status: int = 200) -> HttpResponse:
    response = _no_index(render(request, "public/complaint.html", context, status=status))
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def complaint_lookup_page(request):
    """GET /complaints/: type a ticket number to see where the complaint stands."""
    raw = request.GET.get("ticket", "")
    if raw:
        ticket = ticket_normalise(raw)
        if ticket_valid(ticket):
            return redirect("public-complaint-status", ticket=ticket)
        return _complaint_page(request, {"mode": "lookup", "typed": text_storable(raw, 40), "not_found": True}, 404)
    return _complaint_page(request, {"mode": "lookup"})


def _complaint_status_view(request, ticket: str, mode: str) -> HttpResponse:
    complaint = complaint_by_ticket(ticket)
    if complaint is None:
        return _complaint_page(request, {"mode": "lookup", "typed": text_storable(ticket, 40), "not_found": True}, 404)
    if ticket != complaint.ticket:  # typed in lower case or with O for 0: show the ticket as printed
        return redirect(f"public-complaint-{mode}", ticket=ticket_normalise(ticket))
    status = complaint_status(complaint)
    return _complaint_page(request, {"mode": mode, "complaint": status})


@require_safe
def complaint_status_page(request, ticket: str):
    """GET /complaints/{ticket}: received, being handled or closed, and since when."""
    return _complaint_status_view(request, ticket, "status")


@require_safe
def complaint_filed_page(request, ticket: str):
    """GET /complaints/{ticket}/filed: the ticket number to keep, after filing from the page."""
    return _complaint_status_view(request, ticket, "filed")
