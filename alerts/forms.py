"""Forms of the alert pages: the inbox filters, one step of the closed loop (with photos), bulk steps."""

from __future__ import annotations

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from alerts import services
from alerts.models import Alert, RuleCode, Severity
from alerts.rules import REGISTRY
from dealers.forms import CounterForm

MAX_PHOTOS = 4
MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_BULK = 200

# What a file really is, read from its first bytes (the phone's declared type is not trusted).
_SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg", "jpg"), (b"\x89PNG\r\n\x1a\n", "image/png", "png"))
PHOTO_TYPES = {"image/jpeg", "image/png", "image/webp"}

ACTION_LABELS = {
    "request_rectification": _("Request rectification"),
    "submit_rectification": _("Submit rectification"),
    "verify": _("Verify the rectification"),
    "close": _("Close"),
    "dismiss": _("Dismiss"),
    "reopen": _("Reopen"),
    "acknowledge": _("Acknowledge"),
    "dispatch": _("Dispatched"),
    "escalate": _("Escalated"),
    "repeat": _("Seen again"),
    "resolved": _("Closed: the cause is resolved"),
}

# The steps the inbox applies to several alerts at once, by the part the user plays.
BULK_ACTIONS = {"regulator": ("request_rectification", "dismiss"), "department": ("acknowledge",)}


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def photo_kind(upload: UploadedFile) -> tuple[str, str] | None:
    """(content type, extension) of an uploaded photo from its first bytes, or None if it is no JPEG/PNG/WebP."""
    upload.seek(0)
    head = upload.read(12)
    upload.seek(0)
    for signature, content_type, extension in _SIGNATURES:
        if head.startswith(signature):
            return content_type, extension
    if len(head) == 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


def rule_choices() -> list[tuple[str, str]]:
    return [(code, str(REGISTRY[code].name)) for code in RuleCode.values if code in REGISTRY]


class InboxFilterForm(forms.Form):
    """GET filters of the inbox. An invalid value is ignored (and shown), the valid ones still apply."""

    OPEN = "open"

    q = forms.CharField(label=_("Frame number or battery code"), required=False, max_length=64)
    rule = forms.ChoiceField(label=_("Rule"), required=False)
    status = forms.ChoiceField(label=_("Status"), required=False)
    severity = forms.ChoiceField(label=_("Severity"), required=False)
    district = forms.ChoiceField(label=_("District"), required=False)
    enterprise = forms.ChoiceField(label=_("Enterprise"), required=False)

    def __init__(self, data=None, *, districts=(), enterprises=()):
        super().__init__(data)
        self.fields["rule"].choices = [("", _("All rules")), *rule_choices()]
        self.fields["status"].choices = [
            ("", _("All statuses")),
            (self.OPEN, _("Open (not closed or dismissed)")),
            *Alert.Status.choices,
        ]
        self.fields["severity"].choices = [("", _("All severities")), *Severity.choices]
        self.fields["district"].choices = [("", _("All districts")), *districts]
        self.fields["enterprise"].choices = [("", _("All enterprises")), *[(str(pk), n) for pk, n in enterprises]]

    def values(self) -> dict:
        """The filters that are valid, whatever else was typed."""
        self.is_valid()
        return {key: value for key, value in getattr(self, "cleaned_data", {}).items() if value}


class MultiplePhotoInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultiplePhotoField(forms.FileField):
    """Several files under one name (Django's documented pattern for `<input type=file multiple>`)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultiplePhotoInput(attrs={"accept": ",".join(sorted(PHOTO_TYPES))}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        one = super().clean
        if isinstance(data, list | tuple):
            return [one(item, initial) for item in data if item]
        return [one(data, initial)] if data else []


class ActionForm(CounterForm):
    """One step of the closed loop on one alert; the photos go with a submitted rectification only."""

    action = forms.ChoiceField(label=_("Step"), choices=[(a, a) for a in services.ACTIONS])
    note = forms.CharField(label=_("Note"), required=False, max_length=2000, widget=forms.Textarea)
    photos = MultiplePhotoField(label=_("Photos"), required=False)

    field_map = {"note": "note", "action": "action", "photos": "photos"}

    def clean_photos(self):
        uploads = self.cleaned_data.get("photos") or []
        problems, photos = [], []
        if len(uploads) > MAX_PHOTOS:
            problems.append(_("At most %(n)d photos.") % {"n": MAX_PHOTOS})
        for upload in uploads[:MAX_PHOTOS]:
            if upload.size > MAX_PHOTO_BYTES:
                problems.append(
                    _("%(name)s is larger than %(mb)d MB.") % {"name": upload.name, "mb": MAX_PHOTO_BYTES // 2**20}
                )
                continue
            kind = photo_kind(upload)
            if kind is None:
                problems.append(_("%(name)s is not a JPEG, PNG or WebP photo.") % {"name": upload.name})
                continue
            # Stored under a plain name and the type it really is, not what the phone called it.
            upload.content_type, upload.name = kind[0], f"rectification.{kind[1]}"
            photos.append(upload)
        if problems:
            raise forms.ValidationError(problems)
        return photos

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("photos") and cleaned.get("action") != "submit_rectification":
            self.add_error("photos", _("Photos go with a submitted rectification only."))
        return cleaned


class BulkForm(CounterForm):
    """The same step on several alerts of the inbox: each goes through the closed loop on its own."""

    action = forms.ChoiceField(label=_("Step"))
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)

    def __init__(self, data=None, *, actions=(), ids=()):
        super().__init__(data)
        self.fields["action"].choices = [(a, action_label(a)) for a in actions]
        self.raw_ids = list(ids)

    def clean(self):
        cleaned = super().clean()
        ids = []
        for raw in self.raw_ids:
            try:
                value = int(raw)
            except (TypeError, ValueError):
                continue
            if 0 < value < 2**63 and value not in ids:
                ids.append(value)
        if not ids:
            self.add_error(None, _("Select at least one alert."))
        elif len(ids) > MAX_BULK:
            self.add_error(None, _("At most %(n)d alerts at once.") % {"n": MAX_BULK})
        action = cleaned.get("action")
        if action in services.NOTE_REQUIRED and not (cleaned.get("note") or "").strip():
            self.add_error("note", _("Add a note for this step."))
        cleaned["ids"] = ids
        return cleaned


class PhoneUnmaskForm(CounterForm):
    """The reason for showing a complainant's phone in full; it goes into the audit log."""

    reason = forms.CharField(label=_("Reason"), max_length=500)
