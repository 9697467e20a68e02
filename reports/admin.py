"""Admin of the 三分 risk grading: the reference data is edited here (product categories, signal weights, settings,
colour thresholds); the grades are the grading's own and only shown. Any of these pages can re-grade now."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from reports import risk
from reports.models import (
    ColourThreshold,
    EnterpriseGrade,
    ProductCategory,
    RegionGrade,
    RiskSetting,
    RiskSignal,
)


@admin.action(description=_("Grade all enterprises and regions now"), permissions=["grade"])
def grade_now(modeladmin, request, queryset):
    """The selection does not matter: a grading is always of every enterprise and region (nightly otherwise)."""
    grading = risk.risk_grade_all()
    modeladmin.message_user(
        request,
        _("Graded %(enterprises)d enterprises (%(risk)d risk enterprises) and %(regions)d regions.")
        % {"enterprises": grading.enterprises, "risk": grading.risk_enterprises, "regions": grading.regions},
        messages.SUCCESS,
    )


class Grades:
    """May re-grade: whoever may edit the weights."""

    def has_grade_permission(self, request) -> bool:
        return request.user.has_perm("reports.change_risksignal")


class ProductCategoryForm(forms.ModelForm):
    class Meta:
        model = ProductCategory
        fields = ["code", "name", "grade", "reasons"]
        help_texts = {"reasons": _('A list of {"code": …, "text": …}, e.g. [{"code": "fire", "text": "热失控起火"}].')}

    def clean_reasons(self):
        reasons = self.cleaned_data["reasons"]
        well_formed = isinstance(reasons, list) and all(
            isinstance(r, dict) and set(r) == {"code", "text"} and all(isinstance(v, str) and v for v in r.values())
            for r in reasons
        )
        if not well_formed:
            raise forms.ValidationError(_('Each reason is {"code": …, "text": …}, both filled in.'))
        return reasons


@admin.register(ProductCategory)
class ProductCategoryAdmin(admin.ModelAdmin):
    form = ProductCategoryForm
    list_display = ["code", "name", "grade", "updated_at"]
    list_filter = ["grade"]
    search_fields = ["code", "name"]


class RiskSignalForm(forms.ModelForm):
    class Meta:
        model = RiskSignal
        fields = ["code", "weight", "active", "note"]

    def clean_code(self):
        code = self.cleaned_data["code"]
        if code not in risk.SIGNALS:
            raise forms.ValidationError(
                _("No signal has this code; the signals are: %(codes)s.") % {"codes": ", ".join(risk.SIGNALS)}
            )
        return code


@admin.register(RiskSignal)
class RiskSignalAdmin(Grades, admin.ModelAdmin):
    form = RiskSignalForm
    list_display = ["code", "signal_name", "weight", "active", "note"]
    list_editable = ["weight", "active"]
    actions = [grade_now]

    @admin.display(description=_("signal"))
    def signal_name(self, row):
        registered = risk.SIGNALS.get(row.code)
        return registered.name if registered else "—"


@admin.register(RiskSetting)
class RiskSettingAdmin(Grades, admin.ModelAdmin):
    list_display = ["code", "value", "reason"]
    list_editable = ["value"]
    actions = [grade_now]


class ColourThresholdForm(forms.ModelForm):
    class Meta:
        model = ColourThreshold
        fields = ["colour", "min_share_pct", "reason"]

    def clean_min_share_pct(self):
        value = self.cleaned_data["min_share_pct"]
        if not 0 <= value <= 100:
            raise forms.ValidationError(_("A share is between 0 and 100%."))
        return value


@admin.register(ColourThreshold)
class ColourThresholdAdmin(Grades, admin.ModelAdmin):
    form = ColourThresholdForm
    list_display = ["colour", "min_share_pct", "reason"]
    list_editable = ["min_share_pct"]
    actions = [grade_now]


class ReadOnly(Grades):
    """Grades are written by the grading alone."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(EnterpriseGrade)
class EnterpriseGradeAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["organization", "region_code", "grade", "score", "graded_at", "current"]
    list_filter = ["current", "grade", "organization__kind"]
    list_select_related = ["organization"]
    search_fields = ["organization__name", "region_code"]
    date_hierarchy = "graded_at"
    actions = [grade_now]


@admin.register(RegionGrade)
class RegionGradeAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["region_code", "colour", "risk_enterprises", "enterprises", "risk_share_pct", "graded_at"]
    list_filter = ["current", "colour"]  # current: the latest grading; the others are the history
    search_fields = ["region_code"]
    date_hierarchy = "graded_at"
    actions = [grade_now]
