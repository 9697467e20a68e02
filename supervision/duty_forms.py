"""Forms of the duty pages: one record's checklist (each item in order by default, with a note), and the ledger's
filters."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError
from dealers.forms import CounterForm
from supervision import duties
from supervision.models import DutyKind

# How each kind's period is picked in the browser: <input type="date|week|month"> write exactly its code.
PERIOD_INPUT = {DutyKind.DAILY: "date", DutyKind.WEEKLY: "week", DutyKind.MONTHLY: "month"}


class DutyRecordForm(CounterForm):
    """The checklist as the page shows it: per item a switch (in order, on by default) and a note; the item's own
    words travel with the form, so that a checklist edited meanwhile is noticed instead of misread."""

    period = forms.CharField(label=_("Period"), max_length=10)
    signed_by = forms.CharField(label=_("Signed by"), max_length=duties.SIGNED_BY_MAX)

    field_map = {"period": "period", "signed_by": "signed_by", "kind": "period"}
    error_text = {("duty_already_recorded", "period"): _("This period is recorded already: it is in the ledger.")}

    def __init__(self, *args, checklist: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.checklist = checklist
        for index, item in enumerate(checklist):
            self.fields[f"item_{index}"] = forms.CharField(widget=forms.HiddenInput, initial=item)
            self.fields[f"ok_{index}"] = forms.BooleanField(required=False, initial=True)
            self.fields[f"note_{index}"] = forms.CharField(
                required=False, max_length=duties.NOTE_MAX, label=_("Note"), widget=forms.TextInput
            )

    def rows(self) -> list[dict]:
        """Per checklist item: its words and its two fields, for the template."""
        return [
            {
                "index": index,
                "item": self[f"item_{index}"],
                "text": item,
                "ok": self[f"ok_{index}"],
                "checked": self._checked(index),
                "note": self[f"note_{index}"],
            }
            for index, item in enumerate(self.checklist)
        ]

    def _checked(self, index: int) -> bool:
        if self.is_bound:  # as sent: an unchecked switch is not in the data at all
            return bool(self.data.get(f"ok_{index}"))
        return True

    def answers(self) -> list[dict]:
        return [
            {
                "item": self.cleaned_data.get(f"item_{index}", ""),
                "ok": bool(self.cleaned_data.get(f"ok_{index}")),
                "note": self.cleaned_data.get(f"note_{index}", ""),
            }
            for index in range(len(self.checklist))
        ]

    def add_domain_error(self, error: DomainError, refs=()) -> None:
        """Refusals about single answers land next to their item's note; the rest as the counter forms do."""
        per_item = (error.fields or {}).get("items")
        if isinstance(per_item, dict):
            for index, messages in per_item.items():
                name = f"note_{index}"
                if name in self.fields:
                    for message in messages:
                        self.add_error(name, str(message))
            if error.code == "unknown_item":
                self.add_error(None, _("The checklist was changed meanwhile. Check it and submit it again."))
            return
        if per_item is not None:  # items_missing, or the list itself
            self.add_error(None, error.message)
            return
        super().add_domain_error(error, refs)


class DutyLedgerFilterForm(forms.Form):
    kind = forms.ChoiceField(label=_("Duty"), required=False, choices=[("", _("All duties")), *DutyKind.choices])
    date_from = forms.DateField(label=_("From"), required=False)
    date_to = forms.DateField(label=_("To"), required=False)

    def clean(self):
        cleaned = super().clean()
        first, last = cleaned.get("date_from"), cleaned.get("date_to")
        if first and last and first > last:
            self.add_error("date_to", _("The end is before the start."))
        return cleaned
