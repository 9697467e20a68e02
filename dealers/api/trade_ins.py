"""Trade-in endpoints (以旧换新): `POST /api/v1/trade-ins/` at the dealer's counter, and the weekly progress by street
`GET /api/v1/reports/trade-ins/` for the regulators."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.idempotency import idempotent
from dealers import trade_in_report, trade_ins
from dealers.api.views import IsDealer, SaleIn, SaleOut, sale_out
from dealers.models import SubsidyPolicy, TradeIn
from vehicles.api.record import OwnerOut
from vehicles.proof import counts_failed_proofs


def _money(**kwargs) -> serializers.DecimalField:
    return serializers.DecimalField(max_digits=10, decimal_places=2, coerce_to_string=False, **kwargs)


class OldIn(serializers.Serializer):
    frame_no = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text="the old bike's frame number, or its scanned QR label (the code or the label's URL)",
    )
    plate_no = serializers.CharField(
        max_length=32, required=False, allow_blank=True, default="", help_text="the plate of its active registration"
    )
    vehicle_code = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        default="",
        help_text="the QR label's code or URL: shows that a bike named by its frame number is at the counter",
    )


class TradeInBuyerIn(serializers.Serializer):
    """Each field omitted is the old registration's: the new bike goes to the same owner."""

    name = serializers.CharField(max_length=50, required=False)
    id_number = serializers.CharField(max_length=32, required=False, help_text="must be the old bike's owner's")
    phone = serializers.CharField(max_length=32, required=False)
    region_code = serializers.CharField(max_length=12, required=False, help_text="the owner's street or county")


class TradeInSaleIn(SaleIn):
    buyer = TradeInBuyerIn(required=False, help_text="omitted: the old bike's owner")


class TradeInIn(serializers.Serializer):
    old = OldIn()
    subsidy_yuan = _money(min_value=0, help_text="must be the amount of the policy of the old bike's region and kind")
    sale = TradeInSaleIn()


class OldBikeOut(serializers.Serializer):
    frame_no = serializers.CharField()
    model = serializers.CharField(help_text="model code")
    kind = serializers.ChoiceField(choices=SubsidyPolicy.OldKind.values)
    plate_no = serializers.CharField(help_text="the plate of the registration the trade-in cancelled")
    status = serializers.CharField(help_text="`cancelled` until a recycler takes it back, then `recycled`")
    handed_over_at = serializers.DateTimeField(allow_null=True, help_text="when a recycler took it back")
    owner = OwnerOut(help_text="masked")


class TradeInOut(serializers.Serializer):
    id = serializers.IntegerField()
    traded_at = serializers.DateTimeField()
    subsidy_yuan = _money()
    region_code = serializers.CharField(help_text="the owner's region (street) on the new registration")
    old = OldBikeOut()
    sale = SaleOut()


def trade_in_out(request, trade_in: TradeIn) -> dict:
    old = trade_in.old_vehicle
    return {
        "id": trade_in.pk,
        "traded_at": trade_in.traded_at,
        "subsidy_yuan": trade_in.subsidy_yuan,
        "region_code": trade_in.region_code,
        "old": {
            "frame_no": old.frame_no,
            "model": old.model.code,
            "kind": trade_in.old_kind,
            "plate_no": trade_in.old_registration.plate_no,
            "status": old.status,
            "handed_over_at": trade_in.handed_over_at,
            "owner": trade_in.old_registration.owner.as_dict(unmasked=False),
        },
        "sale": sale_out(request, trade_in.sale),
    }


class TradeInListView(generics.GenericAPIView):
    """POST: an old bike traded in for a new one sold to its owner (以旧换新), all or nothing."""

    queryset = TradeIn.objects.none()  # for the schema; the dealer's rows come from dealers.trade_ins

    @extend_schema(
        request=TradeInIn,
        responses={
            201: TradeInOut,
            400: OpenApiResponse(
                description="Invalid input, the sale's own refusals under `sale.` (`sale.buyer.id_number` …), "
                "`subsidy_mismatch` (not the policy's amount, which the message names), `not_the_owner`, or "
                "`unknown_vehicle`: no bike has this frame number, or it is not shown to be at the counter (QR "
                "code, plate or the owner's ID number missing or wrong); the same answer either way."
            ),
            409: OpenApiResponse(
                description="`not_registered`: the old bike has no active registration (or no registration "
                "carries this plate); the sale's conflicts (`sale.frame_no` not in stock, already sold …)."
            ),
        },
        operation_id="v1_trade_ins_create",
    )
    @counts_failed_proofs
    @idempotent
    def post(self, request):
        if not IsDealer().has_permission(request, self):
            self.permission_denied(request, message=IsDealer.message)
        data = TradeInIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        sale = values["sale"]
        trade_in = trade_ins.trade_in_register(
            user=request.user,
            old=values["old"],
            subsidy_yuan=values["subsidy_yuan"],
            frame_no=sale["frame_no"],
            battery_serials=sale["battery_serials"],
            buyer=sale.get("buyer"),
            sold_at=sale.get("sold_at") or timezone.now(),
            plate_no=sale["plate_no"].strip().upper(),
        )
        trade_in = trade_ins.trade_ins_of(request.user.organization).get(pk=trade_in.pk)
        return Response(trade_in_out(request, trade_in), status=201)


class _Figures(serializers.Serializer):
    trade_ins = serializers.IntegerField(help_text="old bikes traded in during the week")
    subsidy_yuan = _money(help_text="the subsidies of those trade-ins")
    handed_to_recycler = serializers.IntegerField(help_text="traded-in bikes taken back by a recycler in the week")


class TradeInRowOut(_Figures):
    region_code = serializers.CharField(
        help_text="a street (街道) or town; a county: its owners registered by county only"
    )
    name = serializers.CharField()


class TradeInReportOut(serializers.Serializer):
    week = serializers.CharField(help_text="YYYY-Www (ISO 8601)")
    region_code = serializers.CharField()
    name = serializers.CharField()
    rows = TradeInRowOut(many=True)
    total = _Figures()


class TradeInReportView(APIView):
    """A jurisdiction's trade-ins of a week by street (以旧换新 progress, reported weekly); regulators of the
    subtree only (another region, an enterprise or a department: 404)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("region_code", str, description="GB/T 2260 code; default: the caller's own region"),
            OpenApiParameter("week", str, description="YYYY-Www (ISO 8601 week); default: this week"),
        ],
        responses={200: TradeInReportOut},
        operation_id="v1_reports_trade_ins",
    )
    def get(self, request):
        scope = trade_in_report.report_region(request.user, request.query_params.get("region_code"))
        week = trade_in_report.week_parse(request.query_params.get("week"))
        return Response(trade_in_report.weekly(scope, week))
