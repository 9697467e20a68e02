"""The enterprise duties API (日管控、周排查、月调度): a manufacturer, battery maker or dealer files its records; the
enterprise reads its own, regulators those of their subtree."""

from __future__ import annotations

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from core.api.errors import query_invalid
from core.api.idempotency import idempotent
from core.api.serializers import OrganizationBrief
from supervision import duties
from supervision.duty_periods import period_bound
from supervision.duty_selectors import duty_records_overlapping, duty_records_visible_to
from supervision.models import DutyKind, DutyRecord

PK_MAX = 2**63 - 1


class AnswerIn(serializers.Serializer):
    item = serializers.CharField(max_length=duties.ITEM_MAX, help_text="an item of the checklist, as written there")
    ok = serializers.BooleanField(help_text="in order (true), or not (false: say in `note` what was found and done)")
    note = serializers.CharField(max_length=duties.NOTE_MAX, required=False, allow_blank=True, default="")


class DutyRecordIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=DutyKind.choices)
    period = serializers.CharField(
        max_length=10, help_text="daily: the day (2026-03-01); weekly: the ISO week (2026-W09); monthly: 2026-03"
    )
    items = AnswerIn(
        many=True,
        max_length=duties.ITEMS_MAX,
        help_text="one answer for every item of the checklist of this duty for your kind of enterprise",
    )
    signed_by = serializers.CharField(
        max_length=duties.SIGNED_BY_MAX, help_text="who signs it: the quality-safety officer or director"
    )


class DutyRecordFiled(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=DutyKind.choices)
    period = serializers.CharField()
    late = serializers.BooleanField(help_text="filed after its period ended (local dates)")


class AnswerOut(serializers.Serializer):
    item = serializers.CharField()
    ok = serializers.BooleanField()
    note = serializers.CharField()


class DutyRecordOut(serializers.ModelSerializer):
    organization = OrganizationBrief()
    kind = serializers.ChoiceField(choices=DutyKind.choices)
    items = AnswerOut(many=True)

    class Meta:
        model = DutyRecord
        fields = [
            "id",
            "organization",
            "kind",
            "period",
            "period_start",
            "period_end",
            "items",
            "signed_by",
            "late",
            "filed_at",
        ]


class DutyRecordQuery(serializers.Serializer):
    organization = serializers.IntegerField(required=False, min_value=1, max_value=PK_MAX)
    kind = serializers.ChoiceField(choices=DutyKind.choices, required=False)
    period_from = serializers.CharField(required=False, max_length=10)
    period_to = serializers.CharField(required=False, max_length=10)


REFUSED = OpenApiResponse(
    description=gettext_lazy(
        "`invalid_period` (not a day, ISO week or month as the kind needs), `future_period` (the period has not "
        "begun), `unknown_item` (not on the checklist), `duplicate_item`, `items_missing` (every item of the "
        "checklist is answered), `note_required` (an item not in order needs a note), or `invalid`."
    )
)


class DutyRecordListView(GenericAPIView):
    """POST files a duty record of the caller's enterprise; GET lists the records the caller may see."""

    queryset = DutyRecord.objects.none()  # the schema's model; the rows come from supervision.duty_selectors
    serializer_class = DutyRecordOut

    @extend_schema(
        request=DutyRecordIn,
        responses={
            201: DutyRecordFiled,
            400: REFUSED,
            403: OpenApiResponse(
                description=gettext_lazy(
                    "`not_a_duty_holder`: duty records are filed by manufacturers, battery makers and dealers."
                )
            ),
            409: OpenApiResponse(
                description=gettext_lazy(
                    "`duty_already_recorded`: this kind and period is recorded already; or `idempotency_key_reused`."
                )
            ),
        },
        operation_id="v1_duty_records_create",
    )
    @idempotent
    def post(self, request):
        data = DutyRecordIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        record = duties.duty_record_file(
            user=request.user,
            kind=values["kind"],
            period=values["period"],
            items=[dict(answer) for answer in values["items"]],
            signed_by=values["signed_by"],
        )
        return Response(DutyRecordFiled(record).data, status=201)

    @extend_schema(
        parameters=[
            OpenApiParameter("organization", int, description="one enterprise's records (its id)"),
            OpenApiParameter("kind", str, enum=DutyKind.values),
            OpenApiParameter(
                "period_from",
                str,
                description="records whose period ends on or after this day, or the start of this week or month "
                "(2026-03-01, 2026-W09, 2026-03)",
            ),
            OpenApiParameter(
                "period_to",
                str,
                description="records whose period begins on or before this day, or the end of this week or month",
            ),
        ],
        responses={200: DutyRecordOut(many=True)},
        operation_id="v1_duty_records_list",
    )
    def get(self, request):
        query = DutyRecordQuery(data=request.query_params)
        if not query.is_valid():
            raise query_invalid(query)
        values = query.validated_data
        records = duty_records_visible_to(request.user)
        if "organization" in values:
            records = records.filter(organization_id=values["organization"])
        if "kind" in values:
            records = records.filter(kind=values["kind"])
        first = period_bound(values["period_from"], field="period_from").start if "period_from" in values else None
        last = period_bound(values["period_to"], field="period_to").end if "period_to" in values else None
        records = duty_records_overlapping(records, first=first, last=last).order_by("-period_start", "kind", "-id")
        page = self.paginate_queryset(records)
        return self.get_paginated_response(DutyRecordOut(page, many=True).data)
