"""Shipment endpoints (发货): a holder ships items of its stock to another enterprise; the receiver's incoming
inspection (POST /api/v1/receipts/) receives them."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.idempotency import idempotent
from core.api.permissions import organization_kind_in
from core.errors import NotFound
from dealers import shipment_selectors as selectors
from dealers import shipments
from dealers.models import Shipment
from vehicles.api.record import Named

IsSender = organization_kind_in(*shipments.SENDER_KINDS)


class ShipmentIn(serializers.Serializer):
    to = serializers.IntegerField(min_value=1, help_text="the receiving organization's id")
    frame_nos = serializers.ListField(
        child=serializers.CharField(max_length=32), max_length=shipments.MAX_ITEMS, default=list
    )
    battery_serials = serializers.ListField(
        child=serializers.CharField(max_length=64),
        max_length=shipments.MAX_ITEMS,
        default=list,
        help_text="batteries on their own; those fitted in a shipped bike go with it unlisted",
    )
    shipped_at = serializers.DateTimeField(required=False)


class _ShipmentItemOut(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["vehicle", "battery"])
    ref = serializers.CharField(help_text="the frame number or battery serial")
    fitted_in = serializers.CharField(allow_null=True, help_text="a battery fitted at the factory: its bike")
    status = serializers.ChoiceField(
        choices=[selectors.IN_TRANSIT, selectors.RECEIVED, selectors.REFUSED],
        help_text="refused: turned away at the receiver's incoming inspection, back in the sender's stock",
    )
    receipt = serializers.IntegerField(allow_null=True, help_text="the incoming inspection that settled it")
    received_at = serializers.DateTimeField(allow_null=True)


# "from" is a Python keyword: the fields are declared by name.
ShipmentOut = type(
    "ShipmentOut",
    (serializers.Serializer,),
    {
        "id": serializers.IntegerField(),
        "from": Named(help_text="the sender, who holds the items until they are received"),
        "to": Named(help_text="the receiver"),
        "shipped_at": serializers.DateTimeField(),
        "status": serializers.ChoiceField(
            choices=[selectors.IN_TRANSIT, selectors.RECEIVED], help_text="received: every item received or refused"
        ),
        "items": _ShipmentItemOut(many=True),
    },
)


def shipment_out(shipment: Shipment) -> dict:
    items = []
    for item in shipment.items.all():
        kind, ref, fitted_in = selectors.item_ref(item)
        status = selectors.item_status(item)
        items.append(
            {
                "kind": kind,
                "ref": ref,
                "fitted_in": fitted_in,
                "status": status,
                "receipt": item.receipt_id,
                "received_at": item.received_at,
            }
        )
    in_transit = any(item["status"] == selectors.IN_TRANSIT for item in items)
    return {
        "id": shipment.pk,
        "from": {"id": shipment.sender_id, "name": shipment.sender.name},
        "to": {"id": shipment.receiver_id, "name": shipment.receiver.name},
        "shipped_at": shipment.shipped_at,
        "status": selectors.IN_TRANSIT if in_transit else selectors.RECEIVED,
        "items": items,
    }


class ShipmentListView(generics.GenericAPIView):
    """POST ships items of the caller's stock (maker, battery maker, dealer); GET lists the shipments the caller
    sent or receives, or, for a regulator, those sent from its jurisdiction."""

    queryset = Shipment.objects.none()  # for the schema; the rows come from the scoped selector

    @extend_schema(request=ShipmentIn, responses={201: ShipmentOut})
    @idempotent
    def post(self, request):
        if not IsSender().has_permission(request, self):
            self.permission_denied(request, message=IsSender.message)
        data = ShipmentIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        shipment = shipments.shipment_create(
            user=request.user,
            to=values["to"],
            frame_nos=values["frame_nos"],
            battery_serials=values["battery_serials"],
            shipped_at=values.get("shipped_at"),
        )
        return Response(shipment_out(selectors.shipments_visible_to(request.user).get(pk=shipment.pk)), status=201)

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=[selectors.IN_TRANSIT, selectors.RECEIVED]),
            OpenApiParameter("direction", str, enum=["sent", "received"], description="for an enterprise"),
        ],
        responses={200: ShipmentOut(many=True)},
    )
    def get(self, request):
        queryset = selectors.shipments_visible_to(request.user)
        params = request.query_params
        status, direction = params.get("status"), params.get("direction")
        if status is not None:
            if status not in {selectors.IN_TRANSIT, selectors.RECEIVED}:
                raise exceptions.ValidationError({"status": [_("Either in_transit or received.")]})
            queryset = selectors.shipments_with_status(queryset, status)
        if direction is not None:
            if direction not in {"sent", "received"}:
                raise exceptions.ValidationError({"direction": [_("Either sent or received.")]})
            org = request.user.organization_id
            queryset = queryset.filter(**{"sender_id" if direction == "sent" else "receiver_id": org})
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response([shipment_out(s) for s in page])


class ShipmentDetailView(APIView):
    @extend_schema(responses={200: ShipmentOut}, operation_id="v1_shipments_detail")
    def get(self, request, pk):
        shipment = selectors.shipments_visible_to(request.user).filter(pk=pk).first()
        if shipment is None:
            raise NotFound(_("No such shipment, or not one you may see."))
        return Response(shipment_out(shipment))
