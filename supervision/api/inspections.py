"""Inspection endpoints (API.md "Supervision work"): plans (检查计划) drawing their tasks, the tasks (检查任务) and
their results, and the enforcement figures a bureau reports upward."""

from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import query_invalid
from core.api.idempotency import idempotent
from core.errors import PermissionRefused
from core.models import ENTERPRISE_KINDS, OrganizationKind
from core.scoping import viewer_of
from reports.selectors import report_scope
from supervision import inspections
from supervision.enforcement import FIGURES, enforcement_figures, enforcement_range
from supervision.inspections import (
    MAX_ACTIONS,
    MAX_CHECKLIST_ITEMS,
    MAX_DUE_DAYS,
    MAX_FINDINGS,
    MAX_HAZARDS,
    MAX_ITEM_CHARS,
    MAX_NOTE_CHARS,
    MAX_SAMPLE,
    TASK_STATUSES,
)
from supervision.models import EnforcementAction, InspectionPlan, InspectionTask

ENTERPRISE_KIND_CHOICES = [(kind.value, kind.label) for kind in OrganizationKind if kind in ENTERPRISE_KINDS]
ID = {"min_value": 1, "max_value": 2**63 - 1}


# ── Plans ────────────────────────────────────────────────────────────────────────────────────────────────────────


class PlanSampleIn(serializers.Serializer):
    size = serializers.IntegerField(min_value=1, max_value=MAX_SAMPLE, required=False, help_text="enterprises a period")
    all = serializers.BooleanField(required=False, help_text="true: every enterprise, every period")

    def validate(self, attrs):
        if ("size" in attrs) == bool(attrs.get("all")):
            raise serializers.ValidationError(_('Either {"size": n} or {"all": true}.'))
        return attrs


class InspectionPlanIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    region_code = serializers.CharField(max_length=12, help_text="a region of your jurisdiction: its whole subtree")
    kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=ENTERPRISE_KIND_CHOICES), min_length=1, max_length=len(ENTERPRISE_KINDS)
    )
    frequency = serializers.ChoiceField(choices=InspectionPlan.Frequency.choices)
    sample = PlanSampleIn()
    risk_weighted = serializers.BooleanField(default=False, help_text="risk enterprises (三分) drawn first")
    checklist = serializers.ListField(
        child=serializers.CharField(max_length=MAX_ITEM_CHARS), min_length=1, max_length=MAX_CHECKLIST_ITEMS
    )
    due_days = serializers.IntegerField(min_value=1, max_value=MAX_DUE_DAYS, help_text="days to complete a task")


class InspectionPlanCreatedOut(serializers.Serializer):
    id = serializers.IntegerField()
    tasks_created = serializers.IntegerField(help_text="the tasks of the current period, drawn at once")


class PlanSampleOut(serializers.Serializer):
    size = serializers.IntegerField(allow_null=True, help_text="null: all")
    all = serializers.BooleanField()


class InspectionPlanOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    region_code = serializers.CharField()
    kinds = serializers.ListField(child=serializers.CharField())
    frequency = serializers.ChoiceField(choices=InspectionPlan.Frequency.choices)
    sample = PlanSampleOut()
    risk_weighted = serializers.BooleanField()
    checklist = serializers.ListField(child=serializers.CharField())
    due_days = serializers.IntegerField()
    active = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    tasks_total = serializers.IntegerField()
    tasks_done = serializers.IntegerField()


def plan_out(plan: InspectionPlan) -> dict:
    return {
        "id": plan.pk,
        "name": plan.name,
        "region_code": plan.region_code,
        "kinds": plan.kinds,
        "frequency": plan.frequency,
        "sample": {"size": plan.sample_size, "all": plan.sample_size is None},
        "risk_weighted": plan.risk_weighted,
        "checklist": plan.checklist,
        "due_days": plan.due_days,
        "active": plan.active,
        "created_at": plan.created_at,
        "tasks_total": getattr(plan, "tasks_total", 0),
        "tasks_done": getattr(plan, "tasks_done", 0),
    }


def _refuse_non_regulators(user) -> None:
    """Plans and tasks are the regulators' (and the platform's, to read); an inspection is not announced."""
    viewer = viewer_of(user)
    org = viewer.organization
    if not viewer.is_platform and (org is None or not org.is_active or not org.is_regulator):
        raise PermissionRefused(_("Inspection plans and tasks are shown to market regulators only."))


class InspectionPlanListView(GenericAPIView):
    """POST: a regulator makes a plan; its current period is drawn at once (双随机). GET: the plans of the
    caller's jurisdiction."""

    queryset = InspectionPlan.objects.none()  # the schema's model; the rows come from supervision.inspections

    @extend_schema(
        request=InspectionPlanIn,
        responses={
            201: InspectionPlanCreatedOut,
            400: OpenApiResponse(description="Invalid input; `unknown_region` for a region code that does not exist."),
            403: OpenApiResponse(
                description="`permission_denied`: not a market regulator; `outside_jurisdiction`: the region is not "
                "in the caller's jurisdiction."
            ),
        },
        operation_id="v1_inspection_plans_create",
    )
    @idempotent
    def post(self, request):
        inspections.regulator_of(request.user)
        data = InspectionPlanIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        plan, created = inspections.inspection_plan_create(
            user=request.user,
            name=values["name"],
            region_code=values["region_code"],
            kinds=values["kinds"],
            frequency=values["frequency"],
            sample_size=None if values["sample"].get("all") else values["sample"]["size"],
            risk_weighted=values["risk_weighted"],
            checklist=values["checklist"],
            due_days=values["due_days"],
        )
        return Response({"id": plan.pk, "tasks_created": created}, status=201)

    @extend_schema(responses={200: InspectionPlanOut(many=True)}, operation_id="v1_inspection_plans_list")
    def get(self, request):
        _refuse_non_regulators(request.user)
        page = self.paginate_queryset(inspections.plans_visible_to(request.user))
        return self.get_paginated_response([plan_out(p) for p in page])


# ── Tasks ────────────────────────────────────────────────────────────────────────────────────────────────────────


class InspectionTaskQuery(serializers.Serializer):
    status = serializers.ChoiceField(choices=TASK_STATUSES, required=False)
    plan = serializers.IntegerField(required=False, **ID)
    organization = serializers.IntegerField(required=False, **ID)


class InspectionFindingIn(serializers.Serializer):
    item = serializers.CharField(max_length=MAX_ITEM_CHARS, help_text="the checklist item")
    ok = serializers.BooleanField(help_text="in order")
    note = serializers.CharField(max_length=MAX_NOTE_CHARS, required=False, allow_blank=True, default="")


class EnforcementActionIn(serializers.Serializer):
    kind = serializers.ChoiceField(choices=EnforcementAction.Kind.choices)
    amount_yuan = serializers.DecimalField(
        max_digits=12, decimal_places=2, required=False, allow_null=True, default=None, help_text="a fine only"
    )
    quantity = serializers.IntegerField(
        min_value=1, max_value=1_000_000, required=False, allow_null=True, default=None, help_text="a confiscation only"
    )
    note = serializers.CharField(max_length=MAX_NOTE_CHARS, required=False, allow_blank=True, default="")


class InspectionResultIn(serializers.Serializer):
    performed_at = serializers.DateTimeField(required=False, allow_null=True, default=None, help_text="default: now")
    findings = serializers.ListField(child=InspectionFindingIn(), max_length=MAX_FINDINGS, default=list)
    hazards_found = serializers.IntegerField(min_value=0, max_value=MAX_HAZARDS)
    actions = serializers.ListField(child=EnforcementActionIn(), max_length=MAX_ACTIONS, default=list)
    note = serializers.CharField(max_length=MAX_NOTE_CHARS, required=False, allow_blank=True, default="")


class InspectionFindingOut(serializers.Serializer):
    item = serializers.CharField()
    ok = serializers.BooleanField()
    note = serializers.CharField()


class EnforcementActionOut(serializers.Serializer):
    kind = serializers.ChoiceField(choices=EnforcementAction.Kind.choices)
    amount_yuan = serializers.CharField(allow_null=True, help_text='a decimal string, e.g. "5000.00"')
    quantity = serializers.IntegerField(allow_null=True)
    note = serializers.CharField()
    taken_at = serializers.DateTimeField()


class InspectionResultOut(serializers.Serializer):
    performed_at = serializers.DateTimeField()
    performed_by = serializers.CharField(allow_null=True)
    findings = InspectionFindingOut(many=True)
    hazards_found = serializers.IntegerField()
    actions = EnforcementActionOut(many=True)
    note = serializers.CharField()
    photos = serializers.IntegerField(help_text="photos taken (shown on the task's page)")
    recorded_at = serializers.DateTimeField()


class InspectionTaskOrganizationOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    region_code = serializers.CharField()


class InspectionTaskOut(serializers.Serializer):
    id = serializers.IntegerField()
    plan = serializers.IntegerField()
    plan_name = serializers.CharField()
    period = serializers.CharField(help_text="YYYY-Www, YYYY-MM, or the day of a one-off plan")
    organization = InspectionTaskOrganizationOut()
    status = serializers.ChoiceField(choices=TASK_STATUSES, help_text="overdue: open past its deadline")
    due_at = serializers.DateTimeField()
    result = InspectionResultOut(allow_null=True)


def task_out(task: InspectionTask, now) -> dict:
    result = None
    if task.status == InspectionTask.Status.DONE:
        result = {
            "performed_at": task.performed_at,
            "performed_by": task.performed_by.username if task.performed_by else None,
            "findings": task.findings,
            "hazards_found": task.hazards_found,
            "actions": [
                {
                    "kind": a.kind,
                    "amount_yuan": None if a.amount_yuan is None else f"{a.amount_yuan:.2f}",
                    "quantity": a.quantity,
                    "note": a.note,
                    "taken_at": a.taken_at,
                }
                for a in task.actions.all()
            ],
            "note": task.note,
            "photos": len(task.photos.all()),
            "recorded_at": task.done_at,
        }
    org = task.organization
    return {
        "id": task.pk,
        "plan": task.plan_id,
        "plan_name": task.plan.name,
        "period": task.period,
        "organization": {"id": org.pk, "name": org.name, "kind": org.kind, "region_code": org.region_id},
        "status": inspections.task_status(task, now),
        "due_at": task.due_at,
        "result": result,
    }


class InspectionTaskListView(GenericAPIView):
    """The inspection tasks about enterprises of the caller's jurisdiction, earliest deadline first."""

    queryset = InspectionTask.objects.none()  # the schema's model; the rows come from supervision.inspections

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=list(TASK_STATUSES), description="overdue: open past its deadline"),
            OpenApiParameter("plan", int),
            OpenApiParameter("organization", int, description="the enterprise inspected"),
        ],
        responses={
            200: InspectionTaskOut(many=True),
            403: OpenApiResponse(description="`permission_denied`: not a market regulator."),
        },
        operation_id="v1_inspection_tasks_list",
    )
    def get(self, request):
        query = InspectionTaskQuery(data=request.query_params)
        if not query.is_valid():
            raise query_invalid(query)
        _refuse_non_regulators(request.user)
        values, now = query.validated_data, timezone.now()
        tasks = inspections.tasks_filtered(
            inspections.tasks_visible_to(request.user).prefetch_related(*inspections.TASK_RESULT),
            now=now,
            status=values.get("status", ""),
            plan_id=values.get("plan"),
            organization_id=values.get("organization"),
        ).order_by("due_at", "pk")
        page = self.paginate_queryset(tasks)
        return self.get_paginated_response([task_out(t, now) for t in page])


class InspectionResultView(APIView):
    """POST: the inspector records what the inspection found, once. A hazard raises INSPECTION_HAZARD."""

    @extend_schema(
        request=InspectionResultIn,
        responses={
            201: InspectionTaskOut,
            400: OpenApiResponse(
                description="Invalid input; `amount_required`: a fine without its amount; `quantity_required`: a "
                "confiscation without the units taken."
            ),
            403: OpenApiResponse(description="`permission_denied`: not a market regulator."),
            404: OpenApiResponse(description="No such task in the caller's jurisdiction."),
            409: OpenApiResponse(description="`task_already_done`: its result was recorded already."),
        },
        operation_id="v1_inspection_tasks_result_create",
    )
    @idempotent
    def post(self, request, pk):
        data = InspectionResultIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        task = inspections.inspection_result_record(
            user=request.user,
            task_id=pk,
            performed_at=values["performed_at"],
            findings=[dict(f) for f in values["findings"]],
            hazards_found=values["hazards_found"],
            actions=[dict(a) for a in values["actions"]],
            note=values["note"],
        )
        return Response(task_out(inspections.task_visible(request.user, task.pk), timezone.now()), status=201)


# ── Enforcement figures ──────────────────────────────────────────────────────────────────────────────────────────


EnforcementOut = type(
    "EnforcementOut",
    (serializers.Serializer,),
    {
        "region_code": serializers.CharField(),
        "name": serializers.CharField(help_text="the region's name"),
        "from": serializers.DateField(help_text="the first day counted"),
        "to": serializers.DateField(help_text="the last day counted"),
        **{
            code: (
                serializers.CharField(help_text=f'{label}: a decimal string of yuan, e.g. "12500.00"')
                if code == "fines_yuan"
                else serializers.IntegerField(help_text=str(label))
            )
            for code, label in FIGURES
        },
    },
)


class EnforcementView(APIView):
    """The enforcement figures of a region subtree over a range of days, as a bureau reports them upward."""

    @extend_schema(
        parameters=[
            OpenApiParameter("region_code", str, description="GB/T 2260 code; default: the caller's own region"),
            OpenApiParameter("from", str, description="YYYY-MM-DD, included; default: the first of `to`'s month"),
            OpenApiParameter("to", str, description="YYYY-MM-DD, included; default: today"),
        ],
        responses={
            200: EnforcementOut,
            404: OpenApiResponse(description="The region is unknown or outside the caller's jurisdiction."),
        },
        operation_id="v1_reports_enforcement",
    )
    def get(self, request):
        scope = report_scope(request.user, request.query_params.get("region_code"))
        first, last = enforcement_range(request.query_params.get("from"), request.query_params.get("to"))
        figures = enforcement_figures(scope.prefix, first, last, scope.rules)
        return Response(
            {"region_code": scope.region.code, "name": scope.region.name, "from": first, "to": last, **figures}
        )
