"""Alerts: the scoped list and the closed-loop actions (API.md "Alerts")."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from alerts import selectors, services
from alerts.complaints import complaint_of_alert
from alerts.models import Alert, RuleCode, Severity
from alerts.rules import REGISTRY
from core.api.idempotency import idempotent
from core.errors import NotFound


class AlertFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Alert.Status.choices)
    rule = django_filters.ChoiceFilter(choices=RuleCode.choices)
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    frame_no = django_filters.CharFilter()
    battery_serial = django_filters.CharFilter()
    organization = django_filters.NumberFilter(field_name="organization_id")
    region_code = django_filters.CharFilter(field_name="region_code", lookup_expr="startswith")
    created_after = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Alert
        fields = ["status", "rule", "severity", "frame_no", "battery_serial", "organization", "region_code"]


class AlertOut(serializers.ModelSerializer):
    rule = serializers.SerializerMethodField()
    subject = serializers.SerializerMethodField()
    regulator = serializers.SerializerMethodField()

    class Meta:
        model = Alert
        fields = [
            "id",
            "rule",
            "category",
            "severity",
            "status",
            "region_code",
            "subject",
            "regulator",
            "evidence",
            "created_at",
            "dispatched_at",
            "due_at",
            "closed_at",
            "escalation_level",
        ]

    def get_rule(self, alert) -> dict:
        rule = REGISTRY[alert.rule]
        # The departments the rule concerns, so a department's system knows why it received a copy.
        return {"code": rule.code, "name": str(rule.name), "departments": list(rule.departments)}

    def get_subject(self, alert) -> dict:
        org = alert.organization
        return {
            "frame_no": alert.frame_no or None,
            "battery_serial": alert.battery_serial or None,
            "organization": {"id": org.pk, "name": org.name} if org else None,
        }

    def get_regulator(self, alert) -> dict | None:
        return {"id": alert.regulator_id, "name": alert.regulator.name} if alert.regulator else None


class AlertListView(generics.ListAPIView):
    serializer_class = AlertOut
    filterset_class = AlertFilter

    def get_queryset(self):
        return selectors.alerts_visible_to(self.request.user).order_by("-created_at", "-id")


class AlertDetailView(generics.GenericAPIView):
    serializer_class = AlertOut

    def get(self, request, pk):
        alert = selectors.alert_detail(request.user, pk)
        if alert is None:
            raise NotFound(_("No such alert, or not one you may see."))
        body = AlertOut(alert).data
        body["history"] = [
            {
                "action": t.action,
                "from": t.from_status,
                "to": t.to_status,
                "at": t.at,
                "note": t.note,
                "actor": t.actor.username if t.actor else None,
                "organization": t.actor_organization.name if t.actor_organization else None,
            }
            for t in alert.transitions.all()
        ]
        body["deliveries"] = [
            {
                "organization": {"id": d.organization_id, "name": d.organization.name},
                "reason": d.reason,
                "delivered_at": d.delivered_at,
                "acknowledged_at": d.acknowledged_at,
            }
            for d in alert.deliveries.all()
        ]
        complaint = complaint_of_alert(request.user, alert)
        if complaint is not None:  # what the consumer wrote; the phone masked (the page unmasks it, audited)
            body["complaint"] = {
                "ticket": complaint.ticket,
                "category": complaint.category,
                "subject": complaint.subject,
                "code": complaint.code,
                "description": complaint.description,
                "contact_phone": complaint.contact_phone_masked if complaint.contact_phone_enc else None,
                "photos": len(complaint.photos.all()),
                "created_at": complaint.created_at,
            }
        return Response(body)


class ActionIn(serializers.Serializer):
    action = serializers.ChoiceField(choices=sorted(services.ACTIONS))
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class AlertActionView(generics.GenericAPIView):
    serializer_class = ActionIn

    @extend_schema(request=ActionIn, responses={200: AlertOut})
    @idempotent
    def post(self, request, pk):
        data = ActionIn(data=request.data)
        data.is_valid(raise_exception=True)
        alert = services.alert_transition(user=request.user, alert_id=pk, **data.validated_data)
        return Response(AlertOut(alert).data, status=status.HTTP_200_OK)
