"""Consumer complaints, no login (API.md "Public"): file one, check its status by ticket, add photos after filing.

Rate limits, per client address (core.throttling, core.client_ip), counted in the cache (Redis):
- `public`: every request to these endpoints (30/min, REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]);
- `complaints` (5 per 10 minutes) and `complaints_daily` (20 per day): complaints filed. Only filed complaints
  count, so a form sent back with a typo does not use up the allowance; a replay of the same Idempotency-Key
  is answered before the count is checked. Both rates can be tuned in DEFAULT_THROTTLE_RATES under these names.
Over a limit: 429 `rate_limited` with Retry-After. With the cache down, requests are let through (logged).
"""

from __future__ import annotations

import json
import logging
import math

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import Throttled
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from alerts import complaints
from alerts.models import ComplaintCategory
from core.api.idempotency import idempotent
from core.errors import InvalidInput, NotFound
from core.throttling import ClientRateThrottle

log = logging.getLogger(__name__)

# ── Rate limits ──────────────────────────────────────────────────────────────────────────────────────────────


class PublicRateThrottle(ClientRateThrottle):
    scope = "public"
    default_rate = "30/min"


class ComplaintCountThrottle(ClientRateThrottle):
    """Checks before filing, counts after: `allowed` does not record, `count` does."""

    def allowed(self, request) -> bool:
        try:
            self.key = self.get_cache_key(request, None)
            self.history = self.cache.get(self.key, [])
            self.now = self.timer()
            while self.history and self.history[-1] <= self.now - self.duration:
                self.history.pop()
            return len(self.history) < self.num_requests
        except Exception:
            log.warning("complaint rate limit not applied: cache unavailable", exc_info=True)
            return True

    def count(self, request) -> None:
        if self.allowed(request):
            try:
                self.history.insert(0, self.now)
                self.cache.set(self.key, self.history, self.duration)
            except Exception:
                log.warning("complaint not counted: cache unavailable", exc_info=True)


class ComplaintBurstThrottle(ComplaintCountThrottle):
    scope = "complaints"
    default_rate = "5/10m"


class ComplaintDailyThrottle(ComplaintCountThrottle):
    scope = "complaints_daily"
    default_rate = "20/d"


COMPLAINT_THROTTLES = (ComplaintBurstThrottle, ComplaintDailyThrottle)


def complaint_wait(request) -> int | None:
    """Seconds until this client may file another complaint, or None when it may now."""
    waits = []
    for throttle_class in COMPLAINT_THROTTLES:
        throttle = throttle_class()
        if not throttle.allowed(request):
            waits.append(throttle.wait() or throttle.duration)
    return math.ceil(max(waits)) if waits else None


def complaint_count(request) -> None:
    """Count one filed complaint against this client's allowance."""
    for throttle_class in COMPLAINT_THROTTLES:
        throttle_class().count(request)


def too_many_message(wait: int) -> str:
    minutes = max(1, math.ceil(wait / 60))
    return _(
        "You have sent several complaints in a short time. Please try again in %(minutes)d minutes, "
        "or call the 12315 hotline."
    ) % {"minutes": minutes}


# ── Serializers (they describe the contract; the service validates, so the page and the API agree) ─────────


class ComplaintIn(serializers.Serializer):
    vehicle_code = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        max_length=complaints.CODE_MAX,
        help_text="The public code of the bike or battery (on its QR label), or the page URL /v/{code}. Optional. "
        "A code that is not registered is accepted (a possible counterfeit); region_code is then required.",
    )
    category = serializers.ChoiceField(
        choices=ComplaintCategory.choices,
        help_text="battery_fire_risk: battery overheating or fire risk; illegal_modification: speed unlocked, "
        "battery or motor swapped; uncertified_product: no CCC certificate or counterfeit; quality: quality "
        "problem; dealer_conduct: conduct of the seller; repair_conduct: conduct of a repair shop; other.",
    )
    description = serializers.CharField(
        min_length=complaints.DESCRIPTION_MIN, max_length=complaints.DESCRIPTION_MAX, help_text="What happened."
    )
    contact_phone = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="Optional mainland mobile number for the regulator to call back. Stored encrypted, never shown "
        "publicly.",
    )
    region_code = serializers.CharField(
        required=False,
        allow_blank=True,
        allow_null=True,
        help_text="GB/T 2260 code of a city or county (district) where the problem is. Required when no "
        "registered bike or battery is named; ignored for a registered bike (its own region is used).",
    )


class _Lenient(serializers.Serializer):
    """Only the types: text or nothing. Lengths, choices and codes are the service's, with stable codes."""

    vehicle_code = serializers.CharField(required=False, allow_blank=True, allow_null=True, default=None)
    category = serializers.CharField(required=False, allow_blank=True, allow_null=True, default=None)
    description = serializers.CharField(required=False, allow_blank=True, allow_null=True, default=None)
    contact_phone = serializers.CharField(required=False, allow_blank=True, allow_null=True, default=None)
    region_code = serializers.CharField(required=False, allow_blank=True, allow_null=True, default=None)


class TicketOut(serializers.Serializer):
    ticket = serializers.CharField(help_text='"TS" and 10 characters; keep it to check the status.')


class StatusOut(serializers.Serializer):
    ticket = serializers.CharField()
    status = serializers.ChoiceField(
        choices=complaints.PublicStatus.choices,
        help_text="received: with the regulator; in_progress: being handled; closed: handled.",
    )
    updated_at = serializers.DateTimeField(help_text="when the status last changed")


class PhotosOut(serializers.Serializer):
    ticket = serializers.CharField()
    photos = serializers.IntegerField(help_text="how many photos the complaint has now")


_ERRORS = {
    400: OpenApiResponse(
        description="invalid input: invalid_category, invalid_description, invalid_code, "
        "invalid_phone, unknown_region, invalid_region, region_required, invalid"
    ),
    429: OpenApiResponse(description="rate_limited (Retry-After)"),
}


# ── Views ────────────────────────────────────────────────────────────────────────────────────────────────────


class _Public(APIView):
    authentication_classes = []  # a stale token must not turn a complaint into a 401
    permission_classes = [AllowAny]
    throttle_classes = [PublicRateThrottle]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if request.method == "POST" and not _encodable(request.data):
            # Lone surrogates ("\ud800" in JSON) cannot be stored or even hashed for Idempotency-Key: refuse them
            # here, before anything reads the body as text.
            raise InvalidInput(_("The request contains characters that are not valid text."), code="invalid_text")


def _encodable(data) -> bool:
    try:
        json.dumps(data, ensure_ascii=False, default=str).encode("utf-8")
    except (UnicodeEncodeError, TypeError, ValueError):
        return False
    return True


class ComplaintCreateView(_Public):
    """File a complaint about a bike or battery (or with no code). It goes to the regulator of the region."""

    @extend_schema(
        request=ComplaintIn,
        responses={201: TicketOut, **_ERRORS},
        auth=[],
        operation_id="v1_public_complaints_create",
    )
    @idempotent
    def post(self, request):
        if not isinstance(request.data, dict):
            raise InvalidInput(_("Send a JSON object."), code="malformed_request")
        data = _Lenient(data=request.data)
        data.is_valid(raise_exception=True)
        wait = complaint_wait(request)
        if wait is not None:
            throttled = Throttled(detail=too_many_message(wait))  # plain words, without DRF's "Expected available…"
            throttled.wait = wait
            raise throttled
        complaint = complaints.complaint_file(**data.validated_data)
        complaint_count(request)
        return Response({"ticket": complaint.ticket}, status=status.HTTP_201_CREATED)


class ComplaintStatusView(_Public):
    """Where a complaint stands: received, in progress (being handled) or closed."""

    @extend_schema(
        responses={200: StatusOut, 404: OpenApiResponse(description="not_found")},
        auth=[],
        operation_id="v1_public_complaints_retrieve",
    )
    def get(self, request, ticket):
        complaint = complaints.complaint_by_ticket(ticket)
        if complaint is None:
            raise NotFound(_("No complaint has this ticket number."))
        response = Response(StatusOut(complaints.complaint_status(complaint).as_public_dict()).data)
        response["Cache-Control"] = "no-store"
        return response


class ComplaintPhotosView(_Public):
    """POST multipart, one to three files in `photo`, within 30 minutes of filing (JPEG, PNG, WebP, 5 MB each)."""

    parser_classes = [MultiPartParser, FormParser]
    MAX_BODY = complaints.MAX_PHOTOS * complaints.MAX_PHOTO_BYTES + 64 * 1024

    def initial(self, request, *args, **kwargs):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > self.MAX_BODY:  # refused before the body is read
            raise InvalidInput(
                _("At most %(n)d photos of %(mb)d MB each.")
                % {"n": complaints.MAX_PHOTOS, "mb": complaints.MAX_PHOTO_BYTES // (1024 * 1024)},
                code="photo_too_large",
                fields={"photo": [_("Too large.")]},
            )
        super().initial(request, *args, **kwargs)

    @extend_schema(
        request={
            "multipart/form-data": inline_serializer(
                "ComplaintPhotoUpload", fields={"photo": serializers.ListField(child=serializers.FileField())}
            )
        },
        responses={
            201: PhotosOut,
            400: OpenApiResponse(
                description="photo_required, photo_too_large, unsupported_photo_type, too_many_photos"
            ),
            404: OpenApiResponse(description="not_found"),
            409: OpenApiResponse(description="photo_window_closed"),
        },
        auth=[],
        operation_id="v1_public_complaints_photos_create",
    )
    @idempotent
    def post(self, request, ticket):
        photos = complaints.complaint_photos_add(ticket=ticket, uploads=request.FILES.getlist("photo"))
        complaint = photos[0].complaint
        return Response({"ticket": complaint.ticket, "photos": complaint.photos.count()}, status=201)
