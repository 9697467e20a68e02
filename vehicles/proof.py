"""Proof that a bike is at hand (车在现场): what a repair shop or recycler shows besides the frame number, and the
count of failed proofs that alerts the regulator (rule PROOF_FAILED).

Frame numbers are sequential (enterprise code + type + year + serial), so naming one proves nothing, and a repair or
take-back by frame number alone would open the dossier of any bike (a shop sees the bikes it repaired) or end the
life of any bike. The proof is one of:
- the bike's public code, as its QR label carries it: the code itself, or the label's URL https://<host>/v/<code>
  (vehicles/labels.py; any host: the code is the secret, and a label printed under an older domain still counts);
- the plate number (车牌号) of its active registration (码牌合一: by default the plate is the code), or of the
  registration a trade-in ended (以旧换新) while the dealer still holds the bike: the owner brought bike and plate
  to the counter, and the recycler collects them together. Any other ended registration's plate proves nothing
  (a plate handed back may be issued again): a cancelled bike shows its label.

"Dealt with before": no proof is asked of an enterprise that already has the bike or its record, since the proof
would protect nothing:
- it holds the bike (`Vehicle.holder`: the recycler that took it back, or the maker or dealer whose stock it is in);
- it recorded a repair of the bike (the shop sees the bike's dossier through that repair already);
- it recorded the bike's take-back (a recycling record of the bike in its name).

A missing or wrong proof is refused in the words of an unknown frame number (the caller's own refusal, code and
message), so no answer tells a prober that the bike exists.

Failed proofs are counted per enterprise: every refusal of a proof, and every unknown but well-formed frame number
(a probe of sequential numbers meets many unknown ones; a malformed number is a typo, not a probe). Each goes into
the audit log as `vehicle.proof_failed` with the frame number tried, the same entry whether the bike exists or not.
The refusal rolls its transaction back, so the entry is written after it: the write paths of the API and pages run
inside `failed_proofs_counted` (or under `@counts_failed_proofs`), outside the write's transaction. Past
FAILED_PROOFS_ALERT_AT failures in FAILED_PROOFS_WINDOW, one alert request a day per enterprise goes to the rule
engine, which routes it to the regulator of the enterprise's region.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import secrets
from contextlib import contextmanager

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from alerts.models import AlertRequest, RuleCode
from alerts.services import alert_request_record
from core.audit import audit_record
from core.client_ip import client_ip
from core.errors import DomainError, InvalidInput
from core.models import AuditEntry, Organization, User
from dealers.models import TradeIn
from recycling.models import RecyclingRecord
from repairs.models import Repair
from vehicles.codes import FRAME_NO
from vehicles.labels import label_code
from vehicles.models import Registration, Vehicle

log = logging.getLogger(__name__)

# A shop mistypes a plate or meets a worn label now and then, and retries; five misses in a day is more than a
# clumsy day's work and far fewer than a probe of sequential numbers needs to find anything.
FAILED_PROOFS_ALERT_AT = 5
FAILED_PROOFS_WINDOW = dt.timedelta(hours=24)
AUDIT_ACTION = "vehicle.proof_failed"
EVIDENCE_FRAME_NOS_MAX = 50  # the rest stays in the audit log
# The longest proof texts taken: the label's URL, host included; a plate as typed, spaces and all.
CODE_TEXT_MAX = 200
PLATE_TEXT_MAX = 32


class ProofRefused(InvalidInput):
    """The caller's unknown-bike refusal, word for word, carrying the frame number tried so it can be counted."""

    def __init__(self, refusal: DomainError, *, frame_no: str, attempt: str):
        super().__init__(refusal.message, code=refusal.code, fields=refusal.fields)
        self.status = refusal.status
        self.frame_no = frame_no
        self.attempt = attempt


# ---------------------------------------------------------------------------------------------------------------
# The check


def _same(given: str, expected: str) -> bool:
    return bool(given) and secrets.compare_digest(given.encode(), expected.encode())


def dealt_with(organization: Organization, vehicle: Vehicle) -> bool:
    """Whether the enterprise has the bike or its record already (see the module)."""
    return (
        vehicle.holder_id == organization.pk
        or Repair.objects.filter(shop=organization, vehicle=vehicle).exists()
        or RecyclingRecord.objects.filter(organization=organization, vehicle=vehicle).exists()
    )


def vehicle_at_hand(*, organization: Organization, vehicle: Vehicle, vehicle_code="", plate_no="") -> bool:
    """Whether the enterprise has shown the bike is at hand (its code or its active plate), or dealt with it before.
    Either proof given and right is enough."""
    if _same(label_code(vehicle_code) or "", vehicle.code):
        return True
    plate = str(plate_no or "").strip().upper()
    if plate and _plate_on_the_bike(vehicle, plate):
        return True
    return dealt_with(organization, vehicle)


def _plate_on_the_bike(vehicle: Vehicle, plate: str) -> bool:
    """Whether `plate` is the plate the bike carries: its active registration's, or that of the registration a
    trade-in ended, until a recycler takes the bike back."""
    waiting = TradeIn.objects.filter(old_registration=OuterRef("pk"), handed_over_at__isnull=True)
    on_the_bike = Q(status=Registration.Status.ACTIVE) | Q(Exists(waiting))
    return Registration.objects.filter(on_the_bike, vehicle=vehicle, plate_no=plate).exists()


def vehicle_at_hand_require(
    *,
    organization: Organization,
    frame_no: str,
    vehicle: Vehicle | None,
    refusal: DomainError,
    attempt: str,
    vehicle_code="",
    plate_no="",
) -> Vehicle:
    """The vehicle, if it exists and is at hand; otherwise `refusal` (the caller's unknown-bike error), raised as
    ProofRefused when it counts as a failed proof. `attempt` says what was tried ("repair", "take_back")."""
    if vehicle is not None and vehicle_at_hand(
        organization=organization, vehicle=vehicle, vehicle_code=vehicle_code, plate_no=plate_no
    ):
        return vehicle
    if vehicle is None and not FRAME_NO.fullmatch(frame_no):
        raise refusal
    raise ProofRefused(refusal, frame_no=frame_no, attempt=attempt)


# ---------------------------------------------------------------------------------------------------------------
# Counting failed proofs, after the refusal's rollback


@contextmanager
def failed_proofs_counted(request):
    """Run a write that may refuse a proof; count a refusal once its transaction has rolled back. Use it outside
    the write's transaction (around `submit_once`, or an `@idempotent` handler), or the count rolls back too."""
    try:
        yield
    except ProofRefused as refusal:
        try:
            proof_failure_record(
                user=request.user, frame_no=refusal.frame_no, attempt=refusal.attempt, ip_address=client_ip(request)
            )
        except Exception:  # the refusal is the answer; a failed count must not turn it into a 500
            log.exception("could not count a failed proof")
        raise


def counts_failed_proofs(handler):
    """`failed_proofs_counted` for an API handler; put it above `@idempotent` so it runs after the rollback."""

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        with failed_proofs_counted(request):
            return handler(view, request, *args, **kwargs)

    return wrapper


@transaction.atomic
def proof_failure_record(
    *, user: User, frame_no: str, attempt: str, ip_address: str | None = None
) -> AlertRequest | None:
    """Note one failed proof in the audit log; past the threshold, raise the enterprise's alert request of the day.

    Two failures committed at the same moment may each miss the other: the alert then comes one failure later.
    """
    organization = user.organization
    if organization is None:
        return None
    audit_record(
        actor=user,
        action=AUDIT_ACTION,
        target_type="frame_no",
        target_id=frame_no[:64],
        data={"attempt": attempt},
        ip_address=ip_address,
    )
    # One a day per enterprise: the request is stored once per source, and a probe that goes on is not re-counted.
    source = f"proof:{organization.pk}:{timezone.localdate():%Y%m%d}"
    if AlertRequest.objects.filter(source=source, rule=RuleCode.PROOF_FAILED).exists():
        return None
    since = timezone.now() - FAILED_PROOFS_WINDOW
    tried = list(
        AuditEntry.objects.filter(actor_organization=organization, action=AUDIT_ACTION, at__gte=since)
        .order_by("at", "pk")
        .values_list("target_id", flat=True)
    )
    if len(tried) < FAILED_PROOFS_ALERT_AT:
        return None
    return alert_request_record(
        rule=RuleCode.PROOF_FAILED,
        region_code=organization.region_id,
        source=source,
        organization=organization,
        evidence={
            "enterprise": organization.pk,
            "failed_proofs": len(tried),
            "window_hours": int(FAILED_PROOFS_WINDOW.total_seconds() // 3600),
            "frame_nos": list(dict.fromkeys(tried))[:EVIDENCE_FRAME_NOS_MAX],
        },
    )
