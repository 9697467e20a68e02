"""Admin of the supervision work: each part keeps its block (the duties' checklists are edited here, their records
only read)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from supervision.duties import DUTY_HOLDER_KINDS, ITEM_MAX, ITEMS_MAX
from supervision.models import DutyRecord, DutyTemplate

# ── Enterprise duties (日管控、周排查、月调度) ─────────────────────────────────────────────────────────────────


class ChecklistField(forms.CharField):
    """A checklist typed one item per line, kept as a list."""

    widget = forms.Textarea(attrs={"rows": 10, "cols": 100})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(str(item) for item in value)
        return value

    def to_python(self, value):
        text = super().to_python(value)
        return [" ".join(line.split()) for line in str(text or "").splitlines() if line.strip()]

    def validate(self, value):
        if not value:
            raise forms.ValidationError(_("Write at least one item, one per line."))
        if len(value) > ITEMS_MAX or any(len(item) > ITEM_MAX for item in value):
            raise forms.ValidationError(
                _("At most %(n)d items of at most %(chars)d characters each.") % {"n": ITEMS_MAX, "chars": ITEM_MAX}
            )
        if len(set(value)) != len(value):
            raise forms.ValidationError(_("Each item once."))


class DutyTemplateForm(forms.ModelForm):
    organization_kind = forms.ChoiceField(
        label=_("kind of enterprise"), choices=[(kind.value, kind.label) for kind in DUTY_HOLDER_KINDS]
    )
    items = ChecklistField(
        label=_("checklist items"),
        help_text=_("One item per line. Records already filed keep the items they answered."),
    )

    class Meta:
        model = DutyTemplate
        fields = ["organization_kind", "kind", "items"]


@admin.register(DutyTemplate)
class DutyTemplateAdmin(admin.ModelAdmin):
    form = DutyTemplateForm
    list_display = ["organization_kind", "kind", "item_count", "updated_at"]
    list_filter = ["organization_kind", "kind"]
    ordering = ["organization_kind", "kind"]

    @admin.display(description=_("items"))
    def item_count(self, template: DutyTemplate) -> int:
        return len(template.items or [])


@admin.register(DutyRecord)
class DutyRecordAdmin(admin.ModelAdmin):
    """The enterprises' own records: shown, never changed here (a record is what its enterprise signed)."""

    list_display = ["organization", "kind", "period", "late", "signed_by", "time_filed"]
    list_filter = ["kind", "late"]
    search_fields = ["organization__name", "period"]
    date_hierarchy = "period_start"
    list_select_related = ["organization"]
    # "filed at" is the complaints' word in the catalogue (投诉时间): the time a record was filed has its own.
    fields = readonly_fields = [
        *(field.name for field in DutyRecord._meta.fields if field.name not in {"id", "filed_at"}),
        "time_filed",
    ]

    @admin.display(description=_("Time filed"), ordering="filed_at")
    def time_filed(self, record: DutyRecord):
        return record.filed_at

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# ── Inspection plans and tasks (检查任务) ────────────────────────────────────────────────────────────────────────

from supervision.models import EnforcementAction, InspectionPhoto, InspectionPlan, InspectionTask  # noqa: E402


@admin.register(InspectionPlan)
class InspectionPlanAdmin(admin.ModelAdmin):
    """Plans are made on the regulator's page (the service draws their first period); here a plan is renamed,
    stopped, or its checklist and deadline changed for the tasks to come. What it draws from stays as made."""

    list_display = ["name", "regulator", "region_code", "frequency", "sample_size", "risk_weighted", "active"]
    list_filter = ["frequency", "risk_weighted", "active"]
    search_fields = ["name", "regulator__name", "region_code"]
    list_select_related = ["regulator"]
    fields = [
        "name",
        "active",
        "checklist",
        "due_days",
        "regulator",
        "region_code",
        "kinds",
        "frequency",
        "sample_size",
        "risk_weighted",
        "created_by",
        "created_at",
    ]
    readonly_fields = [
        "regulator",
        "region_code",
        "kinds",
        "frequency",
        "sample_size",
        "risk_weighted",
        "created_by",
        "created_at",
    ]
    actions = ["draw_now"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description=_("Draw the current period now (a period drawn already adds nothing)"))
    def draw_now(self, request, queryset):
        from supervision.draw import inspection_plan_draw

        created = sum(inspection_plan_draw(plan=plan) for plan in queryset)
        self.message_user(request, _("%(n)d tasks drawn.") % {"n": created})


class EnforcementActionInline(admin.TabularInline):
    model = EnforcementAction
    fields = ["kind", "amount_yuan", "quantity", "note", "taken_at", "taken_by"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class InspectionPhotoInline(admin.TabularInline):
    model = InspectionPhoto
    fields = ["file", "content_type", "uploaded_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(InspectionTask)
class InspectionTaskAdmin(admin.ModelAdmin):
    """Tasks and their results are the inspectors' record: shown, never changed here."""

    list_display = ["organization", "plan", "period", "status", "due_at", "performed_at", "hazards_found"]
    list_filter = ["status", "plan__frequency"]
    search_fields = ["organization__name", "plan__name", "period"]
    date_hierarchy = "due_at"
    list_select_related = ["organization", "plan"]
    readonly_fields = [field.name for field in InspectionTask._meta.fields]
    inlines = [EnforcementActionInline, InspectionPhotoInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(EnforcementAction)
class EnforcementActionAdmin(admin.ModelAdmin):
    list_display = ["taken_at", "organization", "kind", "amount_yuan", "quantity", "task"]
    list_filter = ["kind"]
    search_fields = ["organization__name", "note"]
    date_hierarchy = "taken_at"
    list_select_related = ["organization", "task"]
    readonly_fields = [field.name for field in EnforcementAction._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# ── Supervisory sampling (监督抽查) and recalls (召回): read here, recorded through the pages and the API ──────────

from supervision.models import Recall, SamplingBatch  # noqa: E402  (kept with its block)


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SamplingBatch)
class SamplingBatchAdmin(_ReadOnly):
    list_display = ["sampled_at", "batch_no", "organization", "model_kind", "model_code", "result", "regulator"]
    list_filter = ["result", "model_kind"]
    search_fields = ["batch_no", "model_code", "organization__name", "lab_report_no"]
    date_hierarchy = "sampled_at"
    list_select_related = ["organization", "regulator"]


@admin.register(Recall)
class RecallAdmin(_ReadOnly):
    list_display = ["created_at", "model_kind", "model_code", "maker", "affected", "remedied", "status"]
    list_filter = ["status", "model_kind"]
    search_fields = ["model_code", "maker__name", "reason"]
    date_hierarchy = "created_at"
    list_select_related = ["maker"]
