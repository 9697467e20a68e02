"""The vehicle record (一车一档): dossier, ledger, chain verification, trace, transfer and cancellation."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.idempotency import idempotent
from core.audit import audit_record
from core.client_ip import client_ip
from core.errors import InvalidInput
from core.personal_data import clean_id_number, clean_phone
from vehicles import selectors
from vehicles.ledger import chain_verify
from vehicles.models import Vehicle
from vehicles.registration import BuyerData, registration_cancel, registration_transfer

UNMASK = OpenApiParameter(
    "unmask", bool, description="regulators and police: show personal data in full (audited; needs `reason`)"
)
REASON = OpenApiParameter(
    "reason", str, description="why personal data is shown in full (PIPL: every access has a purpose); audited"
)
REASON_MAX = 500


def _unmask_requested(request, vehicles: list[Vehicle], what: str) -> bool:
    """Honour ?unmask=true&reason=… for regulators and police, writing one audit entry with the reason per record
    shown in full. Without a reason it is refused (400 `reason_required`), as the pages ask for one."""
    if request.query_params.get("unmask", "").lower() not in {"true", "1", "yes"}:
        return False
    selectors.require_unmask(request.user)
    reason = " ".join(request.query_params.get("reason", "").split())
    if not reason:
        message = _("Say why personal data must be shown in full: the reason goes into the audit log.")
        raise InvalidInput(message, code="reason_required", fields={"reason": [message]})
    if len(reason) > REASON_MAX:
        message = _("At most %(n)d characters.") % {"n": REASON_MAX}
        raise InvalidInput(message, code="reason_too_long", fields={"reason": [message]})
    for vehicle in vehicles:
        audit_record(
            actor=request.user,
            action="personal_data.unmask",
            target=vehicle,
            reason=reason,
            data={"via": what},
            ip_address=client_ip(request),
        )
    return True


def public_links(request, vehicle: Vehicle) -> dict:
    return {
        "public_url": request.build_absolute_uri(f"/v/{vehicle.code}"),
        "qr_url": request.build_absolute_uri(f"/v/{vehicle.code}/qr.svg"),
    }


def battery_out(battery) -> dict:
    return {"serial": battery.serial, "model": battery.model.code}


def owner_out(vehicle: Vehicle, unmasked: bool) -> dict | None:
    registrations = getattr(vehicle, "active_registrations", None)
    if not registrations:
        return None
    return registrations[0].owner.as_dict(unmasked=unmasked)


def vehicle_out(request, vehicle: Vehicle, *, unmasked: bool) -> dict:
    registration = (getattr(vehicle, "active_registrations", None) or [None])[0]
    outlet = vehicle.dealer or vehicle.holder
    return {
        "frame_no": vehicle.frame_no,
        "code": vehicle.code,
        "status": vehicle.status,
        "model": {
            "code": vehicle.model.code,
            "name": vehicle.model.name,
            "standard": vehicle.model.standard.code,
            "maker": vehicle.model.maker.name,
            "ccc_cert_no": vehicle.model.ccc_cert_no,
            "ccc_valid_until": vehicle.model.ccc_valid_until,
        },
        "motor_no": vehicle.motor_no,
        "manufacturer": {"id": vehicle.manufacturer_id, "name": vehicle.manufacturer.name},
        "batteries": [battery_out(b) for b in vehicle.batteries.all()],
        "owner": owner_out(vehicle, unmasked),
        "plate_no": registration.plate_no if registration else None,
        "outlet": {"id": outlet.pk, "name": outlet.name} if outlet else None,
        "region_code": vehicle.region_id,
        "registered_at": vehicle.registered_at,
        **public_links(request, vehicle),
    }


class OwnerOut(serializers.Serializer):
    name = serializers.CharField(help_text="masked (张*) unless unmasked")
    id_number = serializers.CharField(help_text="masked (3714**********1234) unless unmasked")
    phone = serializers.CharField(help_text="masked (138****5678) unless unmasked")


class Named(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class _BatteryBrief(serializers.Serializer):
    serial = serializers.CharField()
    model = serializers.CharField(help_text="battery model code")


class _VehicleModelBrief(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    standard = serializers.CharField()
    maker = serializers.CharField()
    ccc_cert_no = serializers.CharField(allow_blank=True)
    ccc_valid_until = serializers.DateField(allow_null=True)


class VehicleOut(serializers.Serializer):
    """The dossier (一车一档)."""

    frame_no = serializers.CharField()
    code = serializers.CharField(help_text="the public code printed in the QR label")
    status = serializers.ChoiceField(choices=Vehicle.Status.choices)
    model = _VehicleModelBrief()
    motor_no = serializers.CharField(allow_blank=True)
    manufacturer = Named()
    batteries = _BatteryBrief(many=True)
    owner = OwnerOut(allow_null=True)
    plate_no = serializers.CharField(allow_null=True, allow_blank=True)
    outlet = Named(allow_null=True, help_text="the selling dealer, or the holder before the sale")
    region_code = serializers.CharField()
    registered_at = serializers.DateTimeField(allow_null=True)
    public_url = serializers.URLField()
    qr_url = serializers.URLField()


class EventOut(serializers.Serializer):
    seq = serializers.IntegerField()
    type = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    recorded_at = serializers.DateTimeField()
    organization = Named(allow_null=True)
    region_code = serializers.CharField()
    battery = serializers.CharField(allow_null=True, help_text="serial of the battery concerned, if any")
    payload = serializers.DictField()
    hash = serializers.CharField()
    prev_hash = serializers.CharField()


class _TraceVehicle(serializers.Serializer):
    frame_no = serializers.CharField()
    code = serializers.CharField()
    status = serializers.ChoiceField(choices=Vehicle.Status.choices)
    model = serializers.CharField(help_text="vehicle model code")
    registered_at = serializers.DateTimeField(allow_null=True)
    region_code = serializers.CharField()


class _TraceRow(serializers.Serializer):
    vehicle = _TraceVehicle()
    batteries = _BatteryBrief(many=True)
    owner = OwnerOut(allow_null=True)
    outlet = Named(allow_null=True)


class TraceOut(serializers.Serializer):
    results = _TraceRow(many=True, help_text="at most 50, newest registration first")


class RegistrationOut(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    plate_no = serializers.CharField(allow_blank=True)
    registered_at = serializers.DateTimeField()
    ended_at = serializers.DateTimeField(allow_null=True)
    owner = OwnerOut()


class VehicleDetailView(APIView):
    @extend_schema(parameters=[UNMASK, REASON], responses={200: VehicleOut})
    def get(self, request, frame_no):
        vehicle = selectors.vehicle_dossier(request.user, frame_no)
        unmasked = _unmask_requested(request, [vehicle], "vehicle")
        return Response(vehicle_out(request, vehicle, unmasked=unmasked))


class VehicleEventsView(APIView):
    @extend_schema(responses={200: EventOut(many=True)}, description="The ledger, oldest first (in `seq` order).")
    def get(self, request, frame_no):
        vehicle = selectors.vehicle_visible(request.user, frame_no)
        return Response(
            [
                {
                    "seq": e.seq,
                    "type": e.type,
                    "occurred_at": e.occurred_at,
                    "recorded_at": e.recorded_at,
                    "organization": {"id": e.organization_id, "name": e.organization.name} if e.organization else None,
                    "region_code": e.region_code,
                    "battery": e.battery.serial if e.battery_id else None,
                    "payload": e.payload,
                    "hash": e.hash,
                    "prev_hash": e.prev_hash,
                }
                for e in selectors.vehicle_events(vehicle)
            ]
        )


class VehicleVerifyView(APIView):
    @extend_schema(
        responses={
            200: inline_serializer(
                "ChainVerdict",
                {
                    "valid": serializers.BooleanField(),
                    "events": serializers.IntegerField(),
                    "first_bad_seq": serializers.IntegerField(allow_null=True),
                },
            )
        }
    )
    def get(self, request, frame_no):
        verdict = chain_verify(selectors.vehicle_visible(request.user, frame_no))
        return Response({"valid": verdict.valid, "events": verdict.events, "first_bad_seq": verdict.first_bad_seq})


class TraceView(APIView):
    """Find the bike and its buyer from one clue (the "find the buyer in 10 minutes" query)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("frame_no", str),
            OpenApiParameter("battery_serial", str),
            OpenApiParameter("id_number", str),
            OpenApiParameter("phone", str),
            OpenApiParameter("plate_no", str),
            UNMASK,
            REASON,
        ],
        responses={200: TraceOut},
        description="One clue or more (any of them matches). Searching by ID number or phone is audited.",
    )
    def get(self, request):
        params = request.query_params
        clues = {key: params.get(key, "").strip()[:64] for key in selectors.TRACE_CLUES}
        clues = {key: value for key, value in clues.items() if value}
        if not clues:
            raise InvalidInput(
                _("Give a frame number, battery serial, ID number, phone or plate number."), code="no_clue"
            )
        if "id_number" in clues:
            clues["id_number"] = clean_id_number(clues["id_number"])
        if "phone" in clues:
            clues["phone"] = clean_phone(clues["phone"])
        vehicles = list(selectors.trace(request.user, **clues)[:50])
        if {"id_number", "phone"} & clues.keys():
            # A search by personal data is itself a use of it (PIPL): record who looked, and for what kind of clue.
            audit_record(
                actor=request.user,
                action="trace.search",
                target_type="trace",
                target_id=",".join(sorted(clues)),
                data={"results": len(vehicles)},
                ip_address=client_ip(request),
            )
        unmasked = _unmask_requested(request, vehicles, "trace")
        return Response(
            {
                "results": [
                    {
                        "vehicle": {
                            "frame_no": v.frame_no,
                            "code": v.code,
                            "status": v.status,
                            "model": v.model.code,
                            "registered_at": v.registered_at,
                            "region_code": v.region_id,
                        },
                        "batteries": [battery_out(b) for b in v.batteries.all()],
                        "owner": owner_out(v, unmasked),
                        "outlet": {"id": v.dealer_id, "name": v.dealer.name} if v.dealer else None,
                    }
                    for v in vehicles
                ]
            }
        )


class OwnerIn(serializers.Serializer):
    name = serializers.CharField(max_length=50)
    id_number = serializers.CharField(max_length=32)
    phone = serializers.CharField(max_length=32)
    region_code = serializers.CharField(max_length=12)


class TransferIn(serializers.Serializer):
    new_owner = OwnerIn()
    transferred_at = serializers.DateTimeField(required=False)
    plate_no = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class CancelIn(serializers.Serializer):
    reason = serializers.CharField(max_length=200)
    cancelled_at = serializers.DateTimeField(required=False)


def _registration_out(registration) -> dict:
    return {
        "id": registration.pk,
        "status": registration.status,
        "plate_no": registration.plate_no,
        "registered_at": registration.registered_at,
        "ended_at": registration.ended_at,
        "owner": registration.owner.as_dict(unmasked=False),
    }


class TransferView(APIView):
    """Ownership transfer (过户), by the police or the regulator of the bike's jurisdiction."""

    @extend_schema(request=TransferIn, responses={201: RegistrationOut})
    @idempotent
    def post(self, request, frame_no):
        data = TransferIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        registration = registration_transfer(
            user=request.user,
            frame_no=frame_no,
            new_owner=BuyerData.clean(values["new_owner"], "new_owner"),
            transferred_at=values.get("transferred_at") or timezone.now(),
            plate_no=values["plate_no"].upper(),
            note=values["note"],
        )
        return Response(_registration_out(registration), status=201)


class CancelRegistrationView(APIView):
    """Cancellation of registration (注销), by the police or the regulator of the bike's jurisdiction."""

    @extend_schema(request=CancelIn, responses={200: RegistrationOut})
    @idempotent
    def post(self, request, frame_no):
        data = CancelIn(data=request.data)
        data.is_valid(raise_exception=True)
        registration = registration_cancel(
            user=request.user,
            frame_no=frame_no,
            reason=data.validated_data["reason"],
            cancelled_at=data.validated_data.get("cancelled_at") or timezone.now(),
        )
        return Response(_registration_out(registration))
