"""The public face of a bike or battery (API.md "Public", UX.md "Consumer"): what a QR scan shows, its QR codes,
and the log of scans of codes the platform does not know.

The public projection carries no personal data: no owner, no plate bound to a person, no staff of any
organization. It is built from one code by selectors with their related rows fetched, cached briefly, and shared
by the page and the JSON endpoint.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import ipaddress
import logging
import struct
import zlib

import qrcode
import qrcode.image.svg
from django import forms
from django.contrib.postgres.expressions import ArraySubquery
from django.core.cache import cache
from django.db import transaction
from django.db.models import OuterRef, Prefetch, Subquery
from django.db.models.fields.json import KT
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
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
from catalog import compliance
from catalog.models import VehicleModel
from core.client_ip import client_ip
from core.errors import DomainError
from core.submissions import form_token_of, form_token_valid, submission_claim, submission_done
from vehicles.codes import public_code_valid
from vehicles.models import Battery, EventType, Fitment, LifecycleEvent, PublicScan, Vehicle

log = logging.getLogger(__name__)

COMPLIANT = "compliant"
ISSUES = "issues"

# Reason codes of an "issues" verdict, besides catalog.compliance's (uncertified, certificate_expired,
# old_standard_past_cutoff); a fitted battery's own problems are prefixed "battery_".
SCRAPPED = "scrapped"
RECYCLED = "recycled"
REGISTRATION_CANCELLED = "registration_cancelled"
BATTERY_INCOMPATIBLE = "battery_incompatible"

_STATUS_REASONS = {
    Vehicle.Status.SCRAPPED: SCRAPPED,
    Vehicle.Status.RECYCLED: RECYCLED,
    Vehicle.Status.CANCELLED: REGISTRATION_CANCELLED,
}

RECORD_CACHE_SECONDS = 60  # a status change shows within a minute; time-based expiry, no invalidation to miss
EVENTS_SHOWN = 200  # the newest steps; a bike's life rarely has more
QR_CACHE_SECONDS = 86400

# A scan of an unknown code is logged once per code and client in this window, and at most this many per client:
# one phone rescanning, or a script trying random codes, cannot flood the table.
SCAN_WINDOW_SECONDS = 600
SCAN_MAX_PER_CLIENT = 30
SCAN_CODE_MAX = PublicScan._meta.get_field("code").max_length
SCAN_AGENT_MAX = PublicScan._meta.get_field("user_agent").max_length


# ── Selectors ────────────────────────────────────────────────────────────────────────────────────────────────


def normalise_code(raw: str) -> str:
    """The code as printed: a typed code may come in lower case, with spaces or a trailing slash."""
    return str(raw or "").strip().strip("/").upper()


def _compatible_ids(vehicle_model_ref: str) -> ArraySubquery:
    through = VehicleModel.compatible_battery_models.through
    return ArraySubquery(through.objects.filter(vehiclemodel_id=OuterRef(vehicle_model_ref)).values("batterymodel_id"))


def _fitted_at() -> Subquery:
    current = Fitment.objects.filter(battery_id=OuterRef("pk"), removed_at__isnull=True)
    return Subquery(current.values("fitted_at")[:1])


def vehicle_by_code(code: str) -> Vehicle | None:
    """The vehicle with its model, maker, standard, the 标配 battery model ids and its fitted batteries."""
    batteries = Battery.objects.select_related("model").annotate(fitted_at=_fitted_at()).order_by("pk")
    return (
        Vehicle.objects.select_related("model__maker", "model__standard")
        .annotate(compatible_ids=_compatible_ids("model_id"))
        .prefetch_related(Prefetch("batteries", queryset=batteries))
        .filter(code=code)
        .first()
    )


def battery_by_code(code: str) -> Battery | None:
    """The battery with its model and maker, and the vehicle it is fitted in with that model's 标配 ids."""
    return (
        Battery.objects.select_related("model__maker", "vehicle")
        .annotate(fitted_at=_fitted_at(), vehicle_compatible_ids=_compatible_ids("vehicle__model_id"))
        .filter(code=code)
        .first()
    )


def events_of(head: Vehicle | Battery) -> list[LifecycleEvent]:
    """The newest lifecycle steps of a vehicle or battery, oldest first, with the organization's name only.

    Payloads stay in the database (they name owners and plates); only a repair's kind is read from them.
    """
    events = LifecycleEvent.objects.filter(**{"vehicle" if isinstance(head, Vehicle) else "battery": head}).exclude(
        type=EventType.COMPLAINT  # a complaint is not a finding about the bike; it stays with the regulator
    )
    newest = (
        events.select_related("organization")
        .only("occurred_at", "type", "organization__name")
        .annotate(repair_kind=KT("payload__kind"))
        .order_by("-occurred_at", "-id")[:EVENTS_SHOWN]
    )
    return list(reversed(newest))


# ── The public projection ────────────────────────────────────────────────────────────────────────────────────


def _day(moment: dt.datetime | None) -> dt.date | None:
    return timezone.localdate(moment) if moment is not None else None


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day is not None else None


def _ccc(model, today: dt.date) -> dict:
    return {
        "cert_no": model.ccc_cert_no,
        "valid_until": _iso(model.ccc_valid_until),
        "valid": model.ccc_valid_on(today),
    }


def _steps(events: list[LifecycleEvent]) -> tuple[list[dict], list[dict]]:
    """Lifecycle steps (date and type only) and the repairs among them (date, kind, shop)."""
    steps, repairs = [], []
    for event in events:
        day = _iso(_day(event.occurred_at))
        steps.append({"date": day, "type": event.type})
        if event.type == EventType.REPAIRED:
            shop = event.organization.name if event.organization_id else ""
            repairs.append({"date": day, "kind": event.repair_kind or "other", "shop": shop})
    return steps, repairs


def _urls(code: str) -> dict:
    return {
        "public_url": reverse("public-record", args=[code]),
        "qr_url": reverse("public-qr-svg", args=[code]),
        "qr_png_url": reverse("public-qr-png", args=[code]),
    }


def _verdict(reasons: list[str]) -> dict:
    unique = list(dict.fromkeys(reasons))
    return {"verdict": ISSUES if unique else COMPLIANT, "reasons": unique}


def vehicle_projection(vehicle: Vehicle, events: list[LifecycleEvent], *, today: dt.date) -> dict:
    """What anyone may know about a bike.

    Compliant when its status is live (not scrapped, recycled or cancelled), its model was sellable (CCC valid,
    standard before its cut-off) on the day it was registered, or today when it is not registered yet, and
    every fitted battery is in the model's certified configuration (标配) with a valid certificate on the day it
    was fitted. Judging a sold bike on its sale day keeps legally registered bikes legal after old-standard
    certificates were cancelled (2025-12-01).
    """
    model = vehicle.model
    registered_on = _day(vehicle.registered_at)
    reasons = []
    if vehicle.status in _STATUS_REASONS:
        reasons.append(_STATUS_REASONS[vehicle.status])
    problem = compliance.vehicle_model_problem(model, registered_on or today)
    if problem:
        reasons.append(problem)
    compatible = set(vehicle.compatible_ids or ())
    batteries = []
    for battery in vehicle.batteries.all():
        fits = battery.model_id in compatible
        if not fits:
            reasons.append(BATTERY_INCOMPATIBLE)
        problem = compliance.battery_model_problem(battery.model, _day(battery.fitted_at) or today)
        if problem:
            reasons.append(f"battery_{problem}")
        batteries.append(
            {
                "model": battery.model.code,
                "name": battery.model.name,
                "ccc_valid": battery.model.ccc_valid_on(today),
                "compatible": fits,
            }
        )
    steps, repairs = _steps(events)
    return {
        "code": vehicle.code,
        "kind": "vehicle",
        "model": {"code": model.code, "name": model.name, "standard": model.standard.code},
        "maker": {"name": model.maker.name},
        "ccc": _ccc(model, today),
        "compliance": _verdict(reasons),
        "status": vehicle.status,
        "registered_on": _iso(registered_on),
        "batteries": batteries,
        "repairs": repairs,
        "events": steps,
        "vehicle": None,
        **_urls(vehicle.code),
    }


def battery_projection(battery: Battery, events: list[LifecycleEvent], *, today: dt.date) -> dict:
    """What anyone may know about a battery pack: model, maker, certificate, status, and the bike it is in."""
    model = battery.model
    reasons = []
    if battery.status == Battery.Status.RECYCLED:
        reasons.append(RECYCLED)
    problem = compliance.battery_model_problem(model, _day(battery.fitted_at) or today)
    if problem:
        reasons.append(problem)
    vehicle = None
    if battery.vehicle_id is not None:
        if model.pk not in set(battery.vehicle_compatible_ids or ()):
            reasons.append(BATTERY_INCOMPATIBLE)
        vehicle = {"code": battery.vehicle.code, "public_url": reverse("public-record", args=[battery.vehicle.code])}
    steps, _repairs = _steps(events)
    return {
        "code": battery.code,
        "kind": "battery",
        "model": {"code": model.code, "name": model.name, "standard": None},
        "maker": {"name": model.maker.name},
        "ccc": _ccc(model, today),
        "compliance": _verdict(reasons),
        "status": battery.status,
        "registered_on": None,
        "batteries": [],
        "repairs": [],
        "events": steps,
        "vehicle": vehicle,
        **_urls(battery.code),
    }


def _cache_get(key: str):
    try:
        return cache.get(key)
    except Exception:  # Redis down: answer from the database rather than fail the scan
        log.warning("public record cache unavailable", exc_info=True)
        return None


def _cache_set(key: str, value, seconds: int) -> None:
    try:
        cache.set(key, value, seconds)
    except Exception:
        log.warning("public record cache unavailable", exc_info=True)


def public_record(raw_code: str) -> dict | None:
    """The public projection of the vehicle or battery with this code, or None for a malformed or unknown code.

    URLs in it are paths; `absolute_urls` makes them absolute for the host that asked.
    """
    code = normalise_code(raw_code)
    if not public_code_valid(code):
        return None  # no query for a code that cannot exist
    key = f"public-record:v1:{code}"
    record = _cache_get(key)
    if record is not None:
        return record
    today = timezone.localdate()
    vehicle = vehicle_by_code(code)
    if vehicle is not None:
        record = vehicle_projection(vehicle, events_of(vehicle), today=today)
    else:
        battery = battery_by_code(code)
        if battery is None:
            return None
        record = battery_projection(battery, events_of(battery), today=today)
    _cache_set(key, record, RECORD_CACHE_SECONDS)
    return record


def absolute_urls(record: dict, build_absolute_uri) -> dict:
    """The record with its links absolute (the cached copy keeps paths, so any host name may ask)."""
    record = {**record, **{k: build_absolute_uri(record[k]) for k in ("public_url", "qr_url", "qr_png_url")}}
    if record["vehicle"]:
        record["vehicle"] = {**record["vehicle"], "public_url": build_absolute_uri(record["vehicle"]["public_url"])}
    return record


# ── Labels for the page (the projection holds codes; people read words) ─────────────────────────────────────

REASON_TEXT = {
    compliance.UNCERTIFIED: _("The model has no CCC certificate on record."),
    compliance.CERTIFICATE_EXPIRED: _("The model's CCC certificate has expired."),
    compliance.OLD_STANDARD_PAST_CUTOFF: _(
        "The model meets only an old standard that may no longer be sold, and this bike was not registered "
        "before the cut-off date."
    ),
    SCRAPPED: _("This bike has been scrapped and may not be ridden."),
    RECYCLED: _("This item has been recycled and may not be used again."),
    REGISTRATION_CANCELLED: _("The registration of this bike has been cancelled."),
    BATTERY_INCOMPATIBLE: _("A fitted battery is not one certified for this bike model."),
    f"battery_{compliance.UNCERTIFIED}": _("A fitted battery has no valid CCC certificate."),
    f"battery_{compliance.CERTIFICATE_EXPIRED}": _("A fitted battery's CCC certificate has expired."),
}

REPAIR_KINDS = {
    "battery_replacement": _("battery replacement"),
    "motor_replacement": _("motor replacement"),
    "controller_replacement": _("controller replacement"),
    "speed_limiter": _("speed limiter"),
    "brake_tyre": _("brakes or tyres"),
    "other": _("other repair"),
}

_STATUS_LABELS = {"vehicle": dict(Vehicle.Status.choices), "battery": dict(Battery.Status.choices)}
_EVENT_LABELS = dict(EventType.choices)


_MODEL_REASONS = frozenset(
    {compliance.UNCERTIFIED, compliance.CERTIFICATE_EXPIRED, compliance.OLD_STANDARD_PAST_CUTOFF}
)


def record_display(record: dict) -> dict:
    """The record with words beside its codes, in the language of the request."""
    reasons = record["compliance"]["reasons"]
    return {
        **record,
        # A certificate expired since the sale: say why the verdict still holds, so the badge does not alarm.
        "ccc_valid_when_registered": bool(record["registered_on"])
        and not record["ccc"]["valid"]
        and not _MODEL_REASONS.intersection(reasons),
        "status_label": _STATUS_LABELS[record["kind"]].get(record["status"], record["status"]),
        "reasons": [{"code": code, "text": REASON_TEXT.get(code, code)} for code in reasons],
        "repairs": [{**r, "kind_label": REPAIR_KINDS.get(r["kind"], r["kind"])} for r in record["repairs"]],
        "events": [{**e, "type_label": _EVENT_LABELS.get(e["type"], e["type"])} for e in record["events"]],
    }


# ── Unknown-code scans ───────────────────────────────────────────────────────────────────────────────────────


def _text(value: str, limit: int) -> str:
    """Storable text: PostgreSQL takes neither NUL nor lone surrogates."""
    return str(value or "").encode("utf-8", "replace").decode("utf-8").replace("\x00", "")[:limit]


def _ip(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(value or ""))
    except ValueError:
        return None


def scan_log_unknown(*, raw_code: str, user_agent: str, ip: str | None, source: str) -> PublicScan | None:
    """Log a scan of an unknown or malformed code for regulators (a counterfeit label), unless this client has
    just logged the same code or has logged too many; returns the row written, if any."""
    code = _text(raw_code, 1000)
    ip = _ip(ip)
    client = ip or "-"
    digest = hashlib.sha256(f"{client}|{code}".encode()).hexdigest()
    try:
        if not cache.add(f"public-scan:{digest}", 1, SCAN_WINDOW_SECONDS):
            return None
        counter = f"public-scan-client:{client}"
        cache.add(counter, 0, SCAN_WINDOW_SECONDS)
        if cache.incr(counter) > SCAN_MAX_PER_CLIENT:
            return None
    except Exception:  # without the cache there is no flood guard, so nothing is logged; the answer is unchanged
        log.warning("unknown-code scan not logged: cache unavailable", exc_info=True)
        return None
    return PublicScan.objects.create(
        code=code[:SCAN_CODE_MAX],
        reason=PublicScan.Reason.UNKNOWN if public_code_valid(normalise_code(code)) else PublicScan.Reason.MALFORMED,
        source=source,
        user_agent=_text(user_agent, SCAN_AGENT_MAX),
        ip_address=ip,
    )


# ── QR codes ─────────────────────────────────────────────────────────────────────────────────────────────────


def _qr(data: str) -> qrcode.QRCode:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=4)
    qr.add_data(data)
    qr.make(fit=True)
    return qr


def qr_svg(data: str) -> bytes:
    return _qr(data).make_image(image_factory=qrcode.image.svg.SvgPathFillImage).to_string()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def qr_png(data: str, *, scale: int = 10) -> bytes:
    """A 1-bit greyscale PNG. Written with zlib rather than Pillow or pypng: a QR code needs nothing more."""
    matrix = _qr(data).get_matrix()  # includes the quiet zone
    size = len(matrix) * scale
    rows = []
    for row in matrix:
        bits = "".join(("0" if dark else "1") * scale for dark in row)  # 0 is black
        bits += "1" * (-len(bits) % 8)
        line = b"\x00" + int(bits, 2).to_bytes(len(bits) // 8, "big")  # filter type 0 (none)
        rows.extend([line] * scale)
    header = struct.pack(">IIBBBBB", size, size, 1, 0, 0, 0, 0)  # bit depth 1, greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + _png_chunk(b"IEND", b"")
    )


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
        return _no_index(render(request, "public/unknown.html", {"code": _text(code, 64)}, status=404))
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
        placed = False
        for field, messages in (error.fields or {}).items():
            if field in self.fields:
                for message in messages if isinstance(messages, list | tuple) else [messages]:
                    self.add_error(field, str(message))
                placed = True
        if not placed:
            self.add_error(None, error.message)


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
        return _no_index(render(request, "public/unknown.html", {"code": _text(code, 64)}, status=404))
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
        return _complaint_page(request, {"mode": "lookup", "typed": _text(raw, 40), "not_found": True}, 404)
    return _complaint_page(request, {"mode": "lookup"})


def _complaint_status_view(request, ticket: str, mode: str) -> HttpResponse:
    complaint = complaint_by_ticket(ticket)
    if complaint is None:
        return _complaint_page(request, {"mode": "lookup", "typed": _text(ticket, 40), "not_found": True}, 404)
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
