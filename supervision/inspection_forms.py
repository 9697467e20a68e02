"""Forms of the inspection pages: a task's result on the inspector's phone, a plan on the desk, and the filters of
the work ledger and the enforcement table; the services' refusals put next to the fields they name."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.errors import DomainError
from core.forms import domain_error_place
from core.models import ENTERPRISE_KINDS, OrganizationKind
from core.submissions import form_token_valid
from supervision.inspections import (
    MAX_CHECKLIST_ITEMS,
    MAX_CONFISCATED,
    MAX_DUE_DAYS,
    MAX_FINE_YUAN,
    MAX_HAZARDS,
    MAX_ITEM_CHARS,
    MAX_NOTE_CHARS,
    MAX_SAMPLE,
)
from supervision.models import EnforcementAction, InspectionPlan

STALE_FORM = _("This form was out of date. Check it and submit it again.")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
Kind = EnforcementAction.Kind
ENTERPRISE_KIND_CHOICES = [(kind.value, kind.label) for kind in OrganizationKind if kind in ENTERPRISE_KINDS]


class _Once(forms.Form):
    form_token = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        if not form_token_valid(cleaned.get("form_token") or ""):
            raise forms.ValidationError(STALE_FORM, code="stale_form")
        return cleaned


class ResultForm(_Once):
    """The result of one inspection: each checklist item in order or not (with a note), the hazards found, the
    actions taken, photos. The checklist is the plan's; the service decides what a valid result is."""

    performed_at = forms.DateTimeField(label=_("Inspected at"), required=False, input_formats=DATETIME_FORMATS)
    hazards_found = forms.IntegerField(label=_("Hazards found"), min_value=0, max_value=MAX_HAZARDS, initial=0)
    note = forms.CharField(label=_("Note"), required=False, max_length=MAX_NOTE_CHARS, widget=forms.Textarea)
    fine_amount = forms.DecimalField(
        label=_("Fine (¥)"),
        required=False,
        min_value=Decimal("0.01"),
        max_value=MAX_FINE_YUAN,
        max_digits=12,
        decimal_places=2,
    )
    confiscation_quantity = forms.IntegerField(
        label=_("Units confiscated"), required=False, min_value=1, max_value=MAX_CONFISCATED
    )

    def __init__(self, *args, checklist: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.checklist = list(checklist)
        self.photo_errors: list[str] = []
        self.taken: list[str] = []  # the kinds of the actions sent to the service, in order
        for index, item in enumerate(self.checklist):
            self.fields[f"item_{index}"] = forms.ChoiceField(
                label=item,
                choices=[("ok", _("in order")), ("bad", _("not in order"))],
                widget=forms.RadioSelect,
                error_messages={"required": _("Check this item: in order or not.")},
            )
            self.fields[f"item_{index}_note"] = forms.CharField(
                label=_("Note"), required=False, max_length=MAX_NOTE_CHARS
            )
        for kind in Kind.values:
            self.fields[f"action_{kind}"] = forms.BooleanField(label=Kind(kind).label, required=False)
            self.fields[f"action_{kind}_note"] = forms.CharField(
                label=_("Note"), required=False, max_length=MAX_NOTE_CHARS
            )

    def clean(self):
        cleaned = super().clean()
        # Said here too, so that the form shows every missing figure at once with the checklist's.
        for kind, field, message in (
            (Kind.FINE, "fine_amount", _("A fine needs its amount in yuan.")),
            (Kind.CONFISCATION, "confiscation_quantity", _("A confiscation needs the number of units taken.")),
        ):
            if cleaned.get(f"action_{kind}") and cleaned.get(field) is None and field not in self.errors:
                self.add_error(field, message)
        return cleaned

    def items(self) -> list[dict]:
        """The checklist's rows for the template: the item, its radio choice and its note."""
        return [
            {"index": i, "text": item, "choice": self[f"item_{i}"], "note": self[f"item_{i}_note"]}
            for i, item in enumerate(self.checklist)
        ]

    def actions(self) -> list[dict]:
        figure = {Kind.FINE: self["fine_amount"], Kind.CONFISCATION: self["confiscation_quantity"]}
        return [
            {
                "kind": kind,
                "label": Kind(kind).label,
                "taken": self[f"action_{kind}"],
                "note": self[f"action_{kind}_note"],
                "figure": figure.get(kind),
            }
            for kind in Kind.values
        ]

    def service_data(self) -> dict:
        data = self.cleaned_data
        findings = [
            {"item": item, "ok": data[f"item_{i}"] == "ok", "note": data.get(f"item_{i}_note", "")}
            for i, item in enumerate(self.checklist)
        ]
        actions, self.taken = [], []
        for kind in Kind.values:
            amount = data.get("fine_amount") if kind == Kind.FINE else None
            quantity = data.get("confiscation_quantity") if kind == Kind.CONFISCATION else None
            # An amount or a number of units typed in says the action was taken, ticked or not.
            if data.get(f"action_{kind}") or amount is not None or quantity is not None:
                actions.append(
                    {"kind": kind, "amount_yuan": amount, "quantity": quantity, "note": data[f"action_{kind}_note"]}
                )
                self.taken.append(kind)
        return {
            "performed_at": data.get("performed_at"),
            "findings": findings,
            "hazards_found": data["hazards_found"],
            "actions": actions,
            "note": data.get("note", ""),
        }

    def add_domain_error(self, error: DomainError) -> None:
        """Put a service's refusal next to the field it names (its message is already in words)."""
        placed = False
        for key, details in (error.fields or {}).items():
            if key == "photos":
                self.photo_errors.extend(str(d) for d in details)
            elif key in {"performed_at", "hazards_found", "note"}:
                self.add_error(key, [str(d) for d in details])
            elif key == "findings" and isinstance(details, dict):
                for index, problem in details.items():
                    self.add_error(f"item_{index}", _messages(problem))
            elif key == "actions" and isinstance(details, dict):
                for index, problem in details.items():
                    kind = self.taken[int(index)]
                    field = {Kind.FINE: "fine_amount", Kind.CONFISCATION: "confiscation_quantity"}.get(kind)
                    self.add_error(field or f"action_{kind}_note", _messages(problem))
            else:
                continue
            placed = True
        if not placed:
            self.add_error(None, error.message)


def _messages(problem) -> list[str]:
    if isinstance(problem, dict):
        return [str(m) for messages in problem.values() for m in messages]
    return [str(m) for m in problem]


class PlanForm(_Once):
    """A plan as the regulator types it; the checklist one item per line."""

    name = forms.CharField(label=_("Name of the plan"), max_length=200)
    region_code = forms.ChoiceField(label=_("Where"))
    kinds = forms.MultipleChoiceField(
        label=_("Kinds of enterprise"), choices=ENTERPRISE_KIND_CHOICES, widget=forms.CheckboxSelectMultiple
    )
    frequency = forms.ChoiceField(label=_("How often"), choices=InspectionPlan.Frequency.choices)
    sample_all = forms.BooleanField(label=_("Inspect every enterprise"), required=False)
    sample_size = forms.IntegerField(label=_("Enterprises to draw"), required=False, min_value=1, max_value=MAX_SAMPLE)
    risk_weighted = forms.BooleanField(label=_("Risk enterprises first (三分)"), required=False)
    checklist = forms.CharField(label=_("Checklist, one item per line"), widget=forms.Textarea)
    due_days = forms.IntegerField(label=_("Days to complete"), min_value=1, max_value=MAX_DUE_DAYS, initial=14)

    field_map = {"sample": "sample_size"}

    def __init__(self, *args, regions: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region_code"].choices = regions

    def clean_checklist(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["checklist"].splitlines() if line.strip()]
        if len(lines) > MAX_CHECKLIST_ITEMS:
            raise forms.ValidationError(_("At most %(n)d items.") % {"n": MAX_CHECKLIST_ITEMS})
        if any(len(line) > MAX_ITEM_CHARS for line in lines):
            raise forms.ValidationError(_("Each item at most %(n)d characters.") % {"n": MAX_ITEM_CHARS})
        return lines

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("sample_all") and cleaned.get("sample_size") is None and "sample_size" not in self.errors:
            self.add_error("sample_size", _("How many enterprises to draw each time, or tick “every enterprise”."))
        return cleaned

    def service_data(self) -> dict:
        data = self.cleaned_data
        return {
            "name": data["name"],
            "region_code": data["region_code"],
            "kinds": data["kinds"],
            "frequency": data["frequency"],
            "sample_size": None if data["sample_all"] else data["sample_size"],
            "risk_weighted": data["risk_weighted"],
            "checklist": data["checklist"],
            "due_days": data["due_days"],
        }

    def add_domain_error(self, error: DomainError) -> None:
        domain_error_place(self, error, self.field_map)


class LedgerFilterForm(forms.Form):
    STATUSES = [
        ("", _("All")),
        ("open", pgettext_lazy("inspection task", "open")),
        ("overdue", _("overdue")),
        ("done", _("done")),
    ]

    status = forms.ChoiceField(label=_("Status"), required=False, choices=STATUSES)
    plan = forms.TypedChoiceField(label=_("Plan"), required=False, coerce=int, empty_value=None)
    district = forms.ChoiceField(label=_("District"), required=False)
    enterprise = forms.CharField(label=_("Enterprise"), required=False, max_length=100)
    hazards = forms.BooleanField(label=_("With hazards only"), required=False)
    date_from = forms.DateField(label=_("Inspected from"), required=False, input_formats=["%Y-%m-%d"])
    date_to = forms.DateField(label=_("Inspected to"), required=False, input_formats=["%Y-%m-%d"])

    def __init__(self, *args, plans, districts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["plan"].choices = [("", _("All plans")), *plans]
        self.fields["district"].choices = [("", _("All districts")), *districts]

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end date is before the start date."))
        return cleaned
