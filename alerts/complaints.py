"""Consumer complaints (我要投诉): filing one raises a COMPLAINT alert; the ticket tells the complainant its status.

Write paths (services) and read paths (selectors) of complaints, shared by the public API and the QR page:

- A complaint names a bike or battery by its public code, or names nothing. A code the platform does not know
  is still accepted and noted as "not registered" (a possible counterfeit label).
- About a bike: a `complaint` event is written on the bike's ledger, and the `complaint` rule raises the alert
  in the jurisdiction of the bike. Otherwise the alert is raised directly (alerts.engine.raise_findings) in the
  battery's region or the region the complainant picked. Both happen in the complaint's own transaction.
- The contact phone is encrypted at rest with a keyed hash beside it. It never reaches the ledger or the alert,
  whose evidence names the complaint by id only.
- The status shown to the public is the alert's state in plain terms: received, in progress, closed.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import struct
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from alerts.engine import Source, raise_findings
from alerts.models import Alert, Complaint, ComplaintCategory, ComplaintPhoto, RuleCode
from alerts.rules import Finding
from core.errors import Conflict, InvalidInput, NotFound
from core.models import Region, User
from core.personal_data import clean_phone, encrypt, lookup_hash
from core.scoping import scoped
from reports import rollups
from vehicles.codes import public_code_valid
from vehicles.ledger import event_append
from vehicles.models import Battery, EventType, Vehicle

DESCRIPTION_MIN = 5
DESCRIPTION_MAX = 1000
CODE_MAX = 64  # longer than any public code (13); a forged label's text is kept up to this length
REGION_LEVELS = frozenset({Region.Level.PREFECTURE, Region.Level.COUNTY})  # a city or a county (district)

TICKET_PREFIX = "TS"
TICKET_RANDOM = 10  # Crockford base32 characters: 50 random bits
TICKET_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_TICKET_SHAPE = re.compile(rf"^{TICKET_PREFIX}[{TICKET_ALPHABET}]{{{TICKET_RANDOM}}}$")
_CROCKFORD_READS = str.maketrans({"I": "1", "L": "1", "O": "0"})  # what people type for 1 and 0

PHOTO_WINDOW = dt.timedelta(minutes=30)
MAX_PHOTOS = 3
MAX_PHOTO_BYTES = 5 * 1024 * 1024


# ── Public status ────────────────────────────────────────────────────────────────────────────────────────────


class PublicStatus:
    """The alert's state as the complainant reads it; nothing internal (who, what step, notes) shows."""

    RECEIVED = "received"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"

    choices = (RECEIVED, IN_PROGRESS, CLOSED)


_PUBLIC_STATUS = {
    Alert.Status.NEW: PublicStatus.RECEIVED,
    Alert.Status.DISPATCHED: PublicStatus.RECEIVED,
    Alert.Status.RECTIFICATION_REQUESTED: PublicStatus.IN_PROGRESS,
    Alert.Status.RECTIFICATION_SUBMITTED: PublicStatus.IN_PROGRESS,
    Alert.Status.VERIFIED: PublicStatus.IN_PROGRESS,
    Alert.Status.REOPENED: PublicStatus.IN_PROGRESS,
    Alert.Status.CLOSED: PublicStatus.CLOSED,
    Alert.Status.DISMISSED: PublicStatus.CLOSED,
}


def public_status_of(alert_status: str | None) -> str:
    return _PUBLIC_STATUS.get(alert_status, PublicStatus.RECEIVED)


# ── Tickets ──────────────────────────────────────────────────────────────────────────────────────────────────


def ticket_new() -> str:
    """ "TS" and 10 Crockford base32 characters: unguessable (50 random bits), and easy to read out and type."""
    # 256 is a multiple of 32, so each random byte modulo 32 is unbiased.
    return TICKET_PREFIX + "".join(TICKET_ALPHABET[byte % 32] for byte in secrets.token_bytes(TICKET_RANDOM))


def ticket_normalise(raw) -> str:
    """The ticket as printed, from what was typed: any case, spaces or dashes, O for 0 and I or L for 1."""
    text = re.sub(r"[\s\-]", "", str(raw or ""))[:40].upper()
    if not text.startswith(TICKET_PREFIX):
        return text
    return TICKET_PREFIX + text[len(TICKET_PREFIX) :].translate(_CROCKFORD_READS)


def ticket_valid(ticket: str) -> bool:
    return bool(_TICKET_SHAPE.match(ticket))


# ── Filing ───────────────────────────────────────────────────────────────────────────────────────────────────


def _storable(value) -> str | None:
    """Text PostgreSQL can store (no lone surrogates), without control characters but line breaks and tabs."""
    text = str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc")


def code_normalise(raw) -> str:
    """The public code from what was typed or scanned: any case, spaces, or the whole page URL (…/v/CODE)."""
    text = str(raw or "").strip()
    if "/v/" in text:
        text = text.rsplit("/v/", 1)[1]
    return re.sub(r"\s", "", text).strip("/").upper()


@dataclass(frozen=True)
class ComplaintData:
    """A complaint as sent, validated: every problem is reported at once, each next to its field."""

    category: str
    description: str
    code: str
    contact_phone: str
    region: Region | None

    @classmethod
    def clean(cls, *, category, description, vehicle_code=None, contact_phone=None, region_code=None) -> ComplaintData:
        problems: list[tuple[str, str, str]] = []  # (code, field, message)

        category = str(category or "").strip()
        if category not in ComplaintCategory.values:
            problems.append(("invalid_category", "category", _("Choose what the complaint is about.")))

        text = _storable(description or "")
        text = (text or "").strip() if text is not None else None
        if text is None or not DESCRIPTION_MIN <= len(text) <= DESCRIPTION_MAX:
            problems.append(
                (
                    "invalid_description",
                    "description",
                    _("Describe the problem in %(min)d to %(max)d characters.")
                    % {"min": DESCRIPTION_MIN, "max": DESCRIPTION_MAX},
                )
            )

        code = _storable(code_normalise(vehicle_code))
        if code is None or len(code) > CODE_MAX:
            problems.append(
                (
                    "invalid_code",
                    "vehicle_code",
                    _("This is not a code from a bike or battery label (at most %(max)d characters).")
                    % {"max": CODE_MAX},
                )
            )

        phone = ""
        if str(contact_phone or "").strip():
            try:
                phone = clean_phone(contact_phone, field="contact_phone")
            except InvalidInput as error:
                problems.append((error.code, "contact_phone", str(error.fields["contact_phone"][0])))

        region = None
        region_code = str(region_code or "").strip()
        if region_code:
            region = Region.objects.filter(code=region_code[:12]).first() if region_code.isdigit() else None
            if region is None:
                problems.append(("unknown_region", "region_code", _("Unknown region code.")))
            elif region.level not in REGION_LEVELS:
                problems.append(("invalid_region", "region_code", _("Choose a city or a county (district).")))
                region = None

        if problems:
            codes = {code for code, _field, _message in problems}
            fields: dict[str, list[str]] = {}
            for _code, field, message in problems:
                fields.setdefault(field, []).append(str(message))
            raise InvalidInput(problems[0][2], code=codes.pop() if len(codes) == 1 else "invalid", fields=fields)
        return cls(category=category, description=text, code=code or "", contact_phone=phone, region=region)


def _subject_of(code: str) -> tuple[str, Vehicle | None, Battery | None]:
    if not code:
        return Complaint.Subject.NONE, None, None
    if public_code_valid(code):  # no query for a code that cannot exist
        vehicle = Vehicle.objects.filter(code=code).first()
        if vehicle is not None:
            return Complaint.Subject.VEHICLE, vehicle, None
        battery = Battery.objects.select_related("vehicle").filter(code=code).first()
        if battery is not None:
            return Complaint.Subject.BATTERY, None, battery
    return Complaint.Subject.UNREGISTERED, None, None


def _create(**fields) -> Complaint:
    """Insert with a fresh ticket; a clash of 50 random bits is retried, not reported."""
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Complaint.objects.create(ticket=ticket_new(), **fields)
        except IntegrityError:
            continue
    raise RuntimeError("no free complaint ticket after 5 attempts")


@transaction.atomic
def complaint_file(*, category, description, vehicle_code=None, contact_phone=None, region_code=None) -> Complaint:
    """File a complaint and raise its COMPLAINT alert, in one transaction.

    The region is the bike's; for a battery the one picked, else the battery's (or its bike's); with no code or
    an unknown one, the region picked (required then).
    """
    data = ComplaintData.clean(
        category=category,
        description=description,
        vehicle_code=vehicle_code,
        contact_phone=contact_phone,
        region_code=region_code,
    )
    subject, vehicle, battery = _subject_of(data.code)
    if vehicle is not None:
        vehicle = Vehicle.objects.select_for_update().get(pk=vehicle.pk)  # the ledger's head row
        region = vehicle.region
    elif battery is not None:
        region = data.region or (battery.vehicle.region if battery.vehicle_id else battery.region)
    elif data.region is not None:
        region = data.region
    else:
        field = "region_code"
        message = (
            _("This code is not registered. Choose the city or district where you saw the product.")
            if data.code
            else _("Choose the city or district the complaint is about.")
        )
        raise InvalidInput(message, code="region_required", fields={field: [message]})

    complaint = _create(
        category=data.category,
        description=data.description,
        subject=subject,
        code=data.code,
        vehicle=vehicle,
        battery=battery,
        region=region,
        contact_phone_enc=encrypt(data.contact_phone),
        contact_phone_hash=lookup_hash(data.contact_phone),
    )
    rollups.complaint_added(complaint)
    if vehicle is not None:
        # The rule engine raises the alert from the ledger, routed to the bike's jurisdiction. Neither the text
        # nor the phone goes into the chain: it is append-only, and personal data must stay erasable.
        event_append(
            vehicle=vehicle,
            type=EventType.COMPLAINT,
            occurred_at=complaint.created_at,
            region_code=vehicle.region_id,
            organization_id=None,
            payload={"complaint": complaint.pk, "category": complaint.category},
        )
    else:
        evidence = {"complaint": complaint.pk, "category": complaint.category, "subject": subject}
        if subject == Complaint.Subject.UNREGISTERED:
            evidence["code"] = complaint.code  # the label's text: what to look for at the seller
        fitted_in = battery.vehicle if battery is not None and battery.vehicle_id else None
        raise_findings(
            [
                (
                    Source(complaint.created_at),
                    Finding(
                        rule=RuleCode.COMPLAINT,
                        dedup_key=complaint.alert_dedup_key,
                        region_code=region.code,
                        evidence=evidence,
                        battery_id=battery.pk if battery else None,
                        battery_serial=battery.serial if battery else "",
                        vehicle_id=fitted_in.pk if fitted_in else None,
                        frame_no=fitted_in.frame_no if fitted_in else "",
                        organization_id=fitted_in.dealer_id if fitted_in else None,  # as the `complaint` rule does
                    ),
                )
            ]
        )
    return complaint


# ── Photos ───────────────────────────────────────────────────────────────────────────────────────────────────


def _photo_type(head: bytes) -> str | None:
    """What the file really is, from its first bytes (the declared type is not trusted)."""
    if head.startswith(b"\xff\xd8\xff"):
        return ComplaintPhoto.ContentType.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ComplaintPhoto.ContentType.PNG
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ComplaintPhoto.ContentType.WEBP
    return None


def _exif_orientation(exif: bytes) -> int | None:
    """The orientation tag (0x0112) of an APP1 Exif block, so the cleaned photo still shows upright."""
    tiff = exif[6:]
    if tiff[:2] not in (b"II", b"MM"):
        return None
    order = "<" if tiff[:2] == b"II" else ">"
    try:
        (offset,) = struct.unpack_from(f"{order}I", tiff, 4)
        (count,) = struct.unpack_from(f"{order}H", tiff, offset)
        for index in range(min(count, 512)):
            tag, kind, _n = struct.unpack_from(f"{order}HHI", tiff, offset + 2 + 12 * index)
            if tag == 0x0112 and kind == 3:
                (value,) = struct.unpack_from(f"{order}H", tiff, offset + 2 + 12 * index + 8)
                return value if 1 <= value <= 8 else None
    except struct.error:
        return None
    return None


def _exif_with_orientation_only(orientation: int) -> bytes:
    body = (
        b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08"  # big-endian TIFF header, IFD0 at 8
        + b"\x00\x01"  # one entry
        + struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0)
        + b"\x00\x00\x00\x00"  # no next IFD
    )
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def _jpeg_clean(data: bytes) -> bytes | None:
    """Drop the metadata segments (Exif with its GPS position, XMP, IPTC, comments); keep the orientation."""
    if not data.startswith(b"\xff\xd8"):
        return None
    out, pos, orientation = [b"\xff\xd8"], 2, None
    while pos < len(data):
        if data[pos] != 0xFF:
            return None
        while pos < len(data) and data[pos] == 0xFF:
            pos += 1
        if pos >= len(data):
            return None
        marker = data[pos]
        pos += 1
        if marker == 0xDA or marker == 0xD9:  # start of scan: the image data follows; or the end
            out.append(b"\xff" + bytes([marker]) + data[pos:])
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out.append(b"\xff" + bytes([marker]))
            continue
        if pos + 2 > len(data):
            return None
        (length,) = struct.unpack_from(">H", data, pos)
        if length < 2 or pos + length > len(data):
            return None
        segment = data[pos + 2 : pos + length]
        if marker == 0xE1 and segment.startswith(b"Exif\x00\x00") and orientation is None:
            orientation = _exif_orientation(segment)
        # Keep JFIF (APP0), the colour profile (APP2) and Adobe's colour transform (APP14); drop other APPn, COM.
        if not ((0xE1 <= marker <= 0xEF and marker not in (0xE2, 0xEE)) or marker == 0xFE):
            out.append(b"\xff" + bytes([marker]) + data[pos : pos + length])
        pos += length
    else:
        return None
    if orientation and orientation != 1:
        out.insert(1, _exif_with_orientation_only(orientation))
    return b"".join(out)


_PNG_METADATA = {b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"}


def _png_clean(data: bytes) -> bytes | None:
    out, pos = [data[:8]], 8
    while pos + 12 <= len(data):
        (length,) = struct.unpack_from(">I", data, pos)
        kind = data[pos + 4 : pos + 8]
        end = pos + 12 + length
        if end > len(data):
            return None
        if kind not in _PNG_METADATA:
            out.append(data[pos:end])
        pos = end
        if kind == b"IEND":
            return b"".join(out)
    return None


def _webp_clean(data: bytes) -> bytes | None:
    chunks, pos = [], 12
    while pos + 8 <= len(data):
        kind = data[pos : pos + 4]
        (size,) = struct.unpack_from("<I", data, pos + 4)
        end = pos + 8 + size + (size & 1)
        if pos + 8 + size > len(data):
            return None
        chunk = data[pos : min(end, len(data))]
        if kind == b"VP8X" and size >= 1:
            chunk = chunk[:8] + bytes([chunk[8] & ~0x0C]) + chunk[9:]  # no Exif, no XMP any more
        if kind not in (b"EXIF", b"XMP "):
            chunks.append(chunk)
        pos = end
    if not chunks:
        return None
    body = b"WEBP" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


_CLEANERS = {
    ComplaintPhoto.ContentType.JPEG: _jpeg_clean,
    ComplaintPhoto.ContentType.PNG: _png_clean,
    ComplaintPhoto.ContentType.WEBP: _webp_clean,
}


def photo_clean(data: bytes) -> tuple[str, bytes] | None:
    """(content type, the image without its metadata), or None when it is not a readable JPEG, PNG or WebP."""
    content_type = _photo_type(data[:12])
    if content_type is None:
        return None
    cleaned = _CLEANERS[content_type](data)
    return (content_type, cleaned) if cleaned else None


def _photo_error(code: str, message: str, field: str) -> InvalidInput:
    return InvalidInput(message, code=code, fields={field: [message]})


@transaction.atomic
def complaint_photos_add(*, ticket: str, uploads: Sequence, field: str = "photo") -> list[ComplaintPhoto]:
    """Attach up to 3 photos (JPEG, PNG or WebP, 5 MB each) within 30 minutes of filing; metadata removed."""
    complaint = complaint_by_ticket(ticket)
    if complaint is None:
        raise NotFound(_("No complaint has this ticket number."))
    # Counted under the complaint's row lock, so two uploads at once cannot pass the limit together.
    complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
    if timezone.now() - complaint.created_at > PHOTO_WINDOW:
        raise Conflict(
            _("Photos can be added only within %(minutes)d minutes of filing the complaint.")
            % {"minutes": PHOTO_WINDOW.seconds // 60},
            code="photo_window_closed",
        )
    if not uploads:
        raise _photo_error("photo_required", _("Attach a photo."), field)
    if complaint.photos.count() + len(uploads) > MAX_PHOTOS:  # before reading any of them
        raise _photo_error("too_many_photos", _("At most %(n)d photos per complaint.") % {"n": MAX_PHOTOS}, field)
    mb = MAX_PHOTO_BYTES // (1024 * 1024)
    cleaned = []
    for upload in uploads:
        if not isinstance(upload, UploadedFile):
            raise _photo_error("photo_required", _("Attach a photo file."), field)
        if upload.size is None or upload.size > MAX_PHOTO_BYTES:
            raise _photo_error("photo_too_large", _("A photo may be at most %(mb)d MB.") % {"mb": mb}, field)
        upload.seek(0)
        result = photo_clean(upload.read(MAX_PHOTO_BYTES + 1))
        if result is None:
            raise _photo_error("unsupported_photo_type", _("Send photos as JPEG, PNG or WebP images."), field)
        cleaned.append(result)
    photos = []
    for content_type, data in cleaned:
        photo = ComplaintPhoto(complaint=complaint, content_type=content_type, size=len(data))
        photo.file.save("photo", ContentFile(data), save=False)
        photo.save()
        photos.append(photo)
    return photos


# ── Selectors ────────────────────────────────────────────────────────────────────────────────────────────────


def complaint_by_ticket(raw) -> Complaint | None:
    """The complaint with this ticket as typed, or None (no query for a ticket that cannot exist)."""
    ticket = ticket_normalise(raw)
    if not ticket_valid(ticket):
        return None
    return Complaint.objects.filter(ticket=ticket).first()


def complaint_alert(complaint: Complaint) -> Alert | None:
    return Alert.objects.filter(dedup_key=complaint.alert_dedup_key).first()


@dataclass(frozen=True)
class ComplaintStatus:
    ticket: str
    status: str  # PublicStatus
    updated_at: dt.datetime  # when the public status last changed (filing, then each change)
    filed_at: dt.datetime
    code: str  # the public code of the bike or battery, when it is a registered one
    kind: str  # Complaint.Subject

    def as_public_dict(self) -> dict:
        return {"ticket": self.ticket, "status": self.status, "updated_at": self.updated_at}


def complaint_status(complaint: Complaint) -> ComplaintStatus:
    """Received until the regulator acts, in progress while the loop runs, closed when closed or dismissed."""
    status, updated_at = PublicStatus.RECEIVED, complaint.created_at
    alert = complaint_alert(complaint)
    if alert is not None:
        for to_status, at in (
            alert.transitions.exclude(action="acknowledge").order_by("at", "id").values_list("to_status", "at")
        ):
            public = public_status_of(to_status)
            if public != status:
                status, updated_at = public, max(at, complaint.created_at)
        status = public_status_of(alert.status)  # the alert's state is the truth, whatever its history says
    registered = complaint.subject in (Complaint.Subject.VEHICLE, Complaint.Subject.BATTERY)
    return ComplaintStatus(
        ticket=complaint.ticket,
        status=status,
        updated_at=updated_at,
        filed_at=complaint.created_at,
        code=complaint.code if registered else "",
        kind=complaint.subject,
    )


def complaints_visible_to(user: User) -> QuerySet[Complaint]:
    """Complaints in the viewer's jurisdiction (regulators: their subtree), for the alert pages."""
    return scoped(Complaint.objects.select_related("region"), user)


def complaint_of_alert(user: User, alert: Alert) -> Complaint | None:
    """The complaint behind a COMPLAINT alert, if the viewer may see it; its phone is read masked
    (`contact_phone_masked`)."""
    if alert.rule != RuleCode.COMPLAINT:
        return None
    complaint_id = (alert.evidence or {}).get("complaint")
    if not isinstance(complaint_id, int):
        return None
    return complaints_visible_to(user).prefetch_related("photos").filter(pk=complaint_id).first()
