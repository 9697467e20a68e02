"""Pages of makers (desktop) for their production uploads: upload a CSV/XLSX, watch its progress, read its bad rows.

The work itself is vehicles/uploads.py; these pages store the file, show how far it got, and put the bad rows and
the file's problems into words.
"""

from __future__ import annotations

import csv
import io

from django import forms
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from core.errors import DomainError
from core.exports import csv_response, xlsx_response
from core.models import OrganizationKind
from core.pages import page_of, pages_for, query_without
from core.scoping import scoped
from core.submissions import form_token_of, submit_once
from dealers.forms import CounterForm
from vehicles import uploads
from vehicles.models import ProductionUpload

maker_page = pages_for(OrganizationKind.MANUFACTURER, OrganizationKind.BATTERY_MAKER)
Status = ProductionUpload.Status
POLL_SECONDS = 1
BAD_ROWS_PER_PAGE = 100

COLUMN_LABEL = {
    "frame_no": gettext_lazy("Frame number"),
    "motor_no": gettext_lazy("Motor number"),
    "produced_on": gettext_lazy("Produced on"),
    "serial": gettext_lazy("Battery code"),
}
EXAMPLE = {
    ProductionUpload.Kind.VEHICLE: lambda org: [
        f"{org.enterprise_code or '0000'}22600000001",
        "DQM00000001",
        "2026-03-01",
    ],
    ProductionUpload.Kind.BATTERY: lambda org: ["LD48V20AH00000001", "2026-03-01"],
}

# Why a row was refused (the codes of vehicles/production.py), in words; %(...)s are the row's cells.
REASON_TEXT = {
    "missing_frame_no": gettext_lazy("No frame number."),
    "malformed_frame_no": gettext_lazy(
        "Not a frame number: 15 digits, your 4-digit enterprise code, 2, the year's last two digits, an 8-digit serial."
    ),
    "wrong_enterprise_code": gettext_lazy("The frame number does not start with your enterprise code %(enterprise)s."),
    "future_year": gettext_lazy("The year in the frame number is in the future."),
    "duplicate_in_request": gettext_lazy("Listed twice in this file."),
    "already_registered": gettext_lazy("Already registered on the platform."),
    "missing_motor_no": gettext_lazy("No motor number."),
    "malformed_motor_no": gettext_lazy("The motor number is longer than 40 characters or holds control characters."),
    "missing_produced_on": gettext_lazy("No production date."),
    "malformed_produced_on": gettext_lazy("“%(produced_on)s” is not a date; write it as 2026-03-01."),
    "future_date": gettext_lazy("The production date %(produced_on)s is in the future."),
    "date_too_early": gettext_lazy("The production date %(produced_on)s is before 2000."),
    "missing_serial": gettext_lazy("No battery code."),
    "malformed_serial": gettext_lazy("Not a battery code: 6 to 48 letters, digits and dashes."),
}

# Why a whole file was refused or failed, in words.
PROBLEM_TEXT = {
    "unreadable": gettext_lazy("The file could not be read. Save it as CSV (UTF-8) or XLSX and upload it again."),
    "no_rows": gettext_lazy("The file has no rows under its heading row."),
    "too_many_rows": gettext_lazy("The file has more than %(max)s rows. Split it into several files."),
    "missing_columns": gettext_lazy(
        "The first row must name the columns; these are missing: %(columns)s. Download the template to see how."
    ),
    "invalid_items": gettext_lazy("Some rows are wrong. Correct them and upload the whole file again."),
    "already_registered": gettext_lazy(
        "Some rows were registered meanwhile by another upload. Upload the file again to see which."
    ),
    "unknown_model": gettext_lazy("Your organization has no model with this code any more."),
    "error": gettext_lazy("The upload failed on the platform's side. Upload it again later."),
}


def reason_text(code: str, cells: dict, enterprise_code: str) -> str:
    text = REASON_TEXT.get(code)
    if text is None:
        return code
    return str(text) % {"enterprise": enterprise_code, **{k: cells.get(k, "") for k in COLUMN_LABEL}}


def problem_text(upload: ProductionUpload) -> str:
    text = PROBLEM_TEXT.get(upload.problem)
    if text is None:
        return upload.message
    detail = upload.problem_detail or {}
    columns = _(", ").join(str(COLUMN_LABEL.get(c, c)) for c in detail.get("columns", []))
    return str(text) % {"max": f"{detail.get('max', uploads.MAX_ROWS):,}", "columns": columns}


class UploadForm(CounterForm):
    model = forms.ChoiceField(label=gettext_lazy("Model"))
    file = forms.FileField(label=gettext_lazy("File (CSV or XLSX)"))

    field_map = {"model": "model", "file": "file"}

    def __init__(self, *args, models: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["model"].choices = [("", _("Choose the model")), *models]
        self.fields["model"].error_messages["invalid_choice"] = _("Choose one of your models.")


def _models(org, kind: str) -> list[tuple[str, str]]:
    own = uploads.MODEL_OF_KIND[kind].objects.filter(maker=org).order_by("code")
    return [(m.code, f"{m.code} · {m.name}") for m in own]


def _uploads_of(request):
    return scoped(ProductionUpload.objects.all(), request.user).filter(organization=request.user.organization)


def _upload_or_404(request, pk: int) -> ProductionUpload:
    upload = _uploads_of(request).filter(pk=pk).select_related("uploaded_by").first()
    if upload is None:
        raise Http404
    return upload


@require_http_methods(["GET", "POST"])
@maker_page
def upload_list(request):
    """Upload a file of produced units; below, every upload of the maker with its status."""
    user = request.user
    kind = uploads.upload_kind_for(user)
    models = _models(user.organization, kind)
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES, models=models)
        if form.is_valid():
            try:

                def upload() -> str:
                    created = uploads.production_upload_create(
                        actor=user, model_code=form.cleaned_data["model"], file=form.cleaned_data["file"]
                    )
                    return reverse("maker-upload", args=[created.pk])

                return redirect(submit_once(request, upload))
            except DomainError as error:
                form.add_domain_error(error)
    else:
        form = UploadForm(initial={"model": request.GET.get("model", "")}, models=models)

    queryset = _uploads_of(request)
    status = request.GET.get("status", "")
    if status in Status.values:
        queryset = queryset.filter(status=status)
    page = page_of(request, queryset.select_related("uploaded_by"))
    for shown in page.object_list:
        shown.rows_shown = f"{shown.rows_total:,}" if shown.rows_total is not None else ""
        shown.created_shown = f"{shown.created_count:,}"
    return render(
        request,
        "production/uploads.html",
        {
            "form": form,
            "token": form_token_of(request),
            "kind": kind,
            "columns": [COLUMN_LABEL[c] for c in uploads.COLUMNS[kind]],
            "example": EXAMPLE[kind](user.organization),
            "max_rows": f"{uploads.MAX_ROWS:,}",
            "page": page,
            "statuses": Status.choices,
            "status": status,
            "query": query_without(request),
            "busy": any(not u.finished for u in page.object_list),
        },
    )


def _status_context(request, upload: ProductionUpload) -> dict:
    bad = page_of(request, upload.bad_rows, BAD_ROWS_PER_PAGE) if upload.bad_rows else None
    enterprise = request.user.organization.enterprise_code
    primary = uploads.COLUMNS[upload.kind][0]
    return {
        "upload": upload,
        "numbers": {
            "created": f"{upload.created_count:,}",
            "bad": f"{upload.bad_count:,}",
            "kept": f"{len(upload.bad_rows):,}",
            "read": f"{upload.rows_read:,}",
            "total": f"{upload.rows_total or 0:,}",
        },
        "poll_seconds": POLL_SECONDS,
        "problem": problem_text(upload) if upload.problem else "",
        "primary_label": COLUMN_LABEL[primary],
        "bad_page": bad,
        "bad_rows": [
            {
                "row": row["row"],
                "value": row["cells"].get(primary, ""),
                "reasons": [reason_text(code, row["cells"], enterprise) for code in row["reasons"]],
            }
            for row in (bad.object_list if bad else [])
        ],
        "bad_not_shown": max(0, upload.bad_count - len(upload.bad_rows)),
        "query": query_without(request),
    }


@require_GET
@maker_page
def upload_detail(request, pk: int):
    """One upload: its progress while it runs, then what was registered, or the bad rows (CSV/XLSX to fix them)."""
    upload = _upload_or_404(request, pk)
    export = request.GET.get("export")
    if export in {"csv", "xlsx"} and upload.bad_rows:
        enterprise = request.user.organization.enterprise_code
        columns = uploads.COLUMNS[upload.kind]
        header = [_("Row"), *[COLUMN_LABEL[c] for c in columns], _("What is wrong")]
        rows = (
            [
                row["row"],
                *[row["cells"].get(c, "") for c in columns],
                " ".join(reason_text(code, row["cells"], enterprise) for code in row["reasons"]),
            ]
            for row in upload.bad_rows
        )
        name = f"upload-{upload.pk}-bad-rows"
        if export == "xlsx":
            return xlsx_response(f"{name}.xlsx", header, rows, title=_("Bad rows"))
        return csv_response(f"{name}.csv", header, rows)
    return render(request, "production/upload.html", _status_context(request, upload))


@require_GET
@maker_page
def upload_status(request, pk: int):
    """htmx: the progress fragment, polled while the upload runs; once it is finished it stops asking."""
    upload = _upload_or_404(request, pk)
    uploads.production_upload_nudge(upload)
    return render(request, "production/_status.html", _status_context(request, upload))


@require_GET
@maker_page
def upload_file(request, pk: int):
    """The file as it was uploaded."""
    upload = _upload_or_404(request, pk)
    try:
        handle = upload.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    return FileResponse(handle, as_attachment=True, filename=upload.file_name)


@require_GET
@maker_page
def upload_template(request):
    """A CSV with the heading row for this maker's kind of upload, in the page's language."""
    kind = uploads.upload_kind_for(request.user)
    buffer = io.StringIO()
    csv.writer(buffer).writerow([str(COLUMN_LABEL[c]) for c in uploads.COLUMNS[kind]])
    response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="production-{kind}-template.csv"'
    return response
