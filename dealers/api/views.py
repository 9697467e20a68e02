"""Dealer endpoints: incoming inspection, sale = registration, stock and the sales ledger."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.idempotency import idempotent
from core.api.permissions import organization_kind_in
from core.errors import NotFound
from dealers import selectors, services
from dealers.models import Receipt, Sale
from vehicles.api.record import Named, OwnerIn, OwnerOut, public_links
from vehicles.models import Vehicle
from vehicles.registration import BuyerData

IsDealer = organization_kind_in("dealer")
# Vehicle makers and charging operators receive the batteries shipped to them (dealers/shipments.py).
IsReceiver = organization_kind_in("dealer", "manufacturer", "charging_operator")


class ReceiptIn(serializers.Serializer):
    supplier = serializers.IntegerField(min_value=1)
    frame_nos = serializers.ListField(child=serializers.CharField(max_length=32), max_length=2000, default=list)
    battery_serials = serializers.ListField(child=serializers.CharField(max_length=64), max_length=2000, default=list)
    received_at = serializers.DateTimeField(required=False)


class _ReceiptItemOut(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["vehicle", "battery"])
    ref = serializers.CharField(help_text="the frame number or battery serial as scanned")
    verdict = serializers.ChoiceField(choices=["accepted", "rejected"])
    reasons = serializers.ListField(child=serializers.CharField(), help_text="why rejected (stable codes)")


class ReceiptOut(serializers.Serializer):
    id = serializers.IntegerField()
    supplier = Named()
    received_at = serializers.DateTimeField()
    items = _ReceiptItemOut(many=True)


def receipt_out(receipt) -> dict:
    return {
        "id": receipt.pk,
        "supplier": {"id": receipt.supplier_id, "name": receipt.supplier.name},
        "received_at": receipt.received_at,
        "items": [
            {"kind": i.kind, "ref": i.ref, "verdict": i.verdict, "reasons": i.reasons} for i in receipt.items.all()
        ],
    }


class ReceiptListView(generics.GenericAPIView):
    permission_classes = [IsReceiver]
    queryset = Receipt.objects.none()  # for the schema; the rows come from the scoped selector

    @extend_schema(request=ReceiptIn, responses={201: ReceiptOut})
    @idempotent
    def post(self, request):
        data = ReceiptIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        receipt = services.receipt_inspect(
            user=request.user,
            supplier_id=values["supplier"],
            frame_nos=values["frame_nos"],
            battery_serials=values["battery_serials"],
            received_at=values.get("received_at"),
        )
        return Response(receipt_out(selectors.receipts_visible_to(request.user).get(pk=receipt.pk)), status=201)

    @extend_schema(responses={200: ReceiptOut(many=True)})
    def get(self, request):
        page = self.paginate_queryset(selectors.receipts_visible_to(request.user))
        return self.get_paginated_response([receipt_out(r) for r in page])


class ReceiptDetailView(APIView):
    @extend_schema(responses={200: ReceiptOut}, operation_id="v1_receipts_detail")
    def get(self, request, pk):
        receipt = selectors.receipts_visible_to(request.user).filter(pk=pk).first()
        if receipt is None:
            raise NotFound(_("No such receipt, or not one you may see."))
        return Response(receipt_out(receipt))


class SaleIn(serializers.Serializer):
    frame_no = serializers.CharField(max_length=32)
    battery_serials = serializers.ListField(child=serializers.CharField(max_length=64), min_length=1, max_length=4)
    buyer = OwnerIn()
    sold_at = serializers.DateTimeField(required=False)
    plate_no = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")


class _SoldVehicleOut(serializers.Serializer):
    frame_no = serializers.CharField()
    code = serializers.CharField(help_text="the public code printed in the QR label")
    public_url = serializers.URLField()
    qr_url = serializers.URLField()


class SaleOut(serializers.Serializer):
    id = serializers.IntegerField()
    sold_at = serializers.DateTimeField()
    vehicle = _SoldVehicleOut()
    batteries = serializers.ListField(child=serializers.CharField(), help_text="serials sold with the bike")
    plate_no = serializers.CharField(allow_blank=True)
    buyer = OwnerOut(help_text="masked")


class StockItemOut(serializers.Serializer):
    frame_no = serializers.CharField(required=False, help_text="bikes (kind=vehicle)")
    serial = serializers.CharField(required=False, help_text="batteries (kind=battery)")
    model = serializers.CharField(help_text="model code")
    code = serializers.CharField(help_text="public code")


def sale_out(request, sale) -> dict:
    vehicle = sale.vehicle
    return {
        "id": sale.pk,
        "sold_at": sale.sold_at,
        "vehicle": {"frame_no": vehicle.frame_no, "code": vehicle.code, **public_links(request, vehicle)},
        "batteries": sale.battery_serials,
        "plate_no": sale.registration.plate_no,
        "buyer": sale.registration.owner.as_dict(unmasked=False),
    }


class SaleListView(generics.GenericAPIView):
    """POST registers a sale (卖车即备案); GET is the sales ledger of what the caller may see."""

    queryset = Sale.objects.none()  # for the schema; the rows come from the scoped selector

    @extend_schema(request=SaleIn, responses={201: SaleOut})
    @idempotent
    def post(self, request):
        if not IsDealer().has_permission(request, self):
            self.permission_denied(request, message=IsDealer.message)
        data = SaleIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        sale = services.sale_register(
            user=request.user,
            frame_no=values["frame_no"],
            battery_serials=values["battery_serials"],
            buyer=BuyerData.clean(values["buyer"]),
            sold_at=values.get("sold_at") or timezone.now(),
            plate_no=values["plate_no"].strip().upper(),
        )
        return Response(sale_out(request, sale), status=201)

    @extend_schema(responses={200: SaleOut(many=True)})
    def get(self, request):
        page = self.paginate_queryset(selectors.sales_visible_to(request.user))
        return self.get_paginated_response([sale_out(request, s) for s in page])


class StockView(generics.GenericAPIView):
    """The dealer's stock: bikes and batteries received and not yet sold."""

    permission_classes = [IsDealer]
    queryset = Vehicle.objects.none()  # for the schema; the rows come from the dealer's stock

    @extend_schema(
        parameters=[OpenApiParameter("kind", str, enum=["vehicle", "battery"], description="default: vehicle")],
        responses={200: StockItemOut(many=True)},
    )
    def get(self, request):
        dealer_id = request.user.organization_id
        kind = request.query_params.get("kind", "vehicle")
        if kind not in {"vehicle", "battery"}:
            raise exceptions.ValidationError({"kind": [_("Either vehicle or battery.")]})
        if kind == "battery":
            page = self.paginate_queryset(selectors.stock_batteries(dealer_id).order_by("serial"))
            rows = [{"serial": b.serial, "model": b.model.code, "code": b.code} for b in page]
        else:
            page = self.paginate_queryset(selectors.stock_vehicles(dealer_id).order_by("frame_no"))
            rows = [{"frame_no": v.frame_no, "model": v.model.code, "code": v.code} for v in page]
        return self.get_paginated_response(rows)
