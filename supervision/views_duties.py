"""The enterprise's duty pages (phone-sized): 每日检查, 每周排查, 每月调度 filed from the checklist, and the duty
ledger (履职台账) with the missing periods, exportable for an on-site inspection."""

from __future__ import annotations

import datetime as dt

from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from core.errors import DomainError
from core.exports import xlsx_response
from core.pages import page_of, pages_for, query_without
from core.replica import reading_from_replica
from core.submissions import form_token_of, submit_once
from supervision import duties
from supervision.duty_forms import PERIOD_INPUT, DutyLedgerFilterForm, DutyRecordForm
from supervision.duty_periods import Period, period_of
from supervision.duty_selectors import (
    duty_periods_missing,
    duty_records_overlapping,
    duty_records_visible_to,
    duty_standing,
)
from supervision.models import DutyKind, DutyRecord

PAGE_SIZE = 30
MISSING_DAYS = 30  # without a start date, the ledger lists the periods missing in the last month
TITLES = {
    DutyKind.DAILY: gettext_lazy("Daily check"),
    DutyKind.WEEKLY: gettext_lazy("Weekly review"),
    DutyKind.MONTHLY: gettext_lazy("Monthly scheduling"),
}

duty_page = pages_for(*duties.DUTY_HOLDER_KINDS)  # a duty holder in good standing; anyone else gets 404


@require_http_methods(["GET", "POST"])
@duty_page
def duty_file(request, kind: str):
    """This day's (week's, month's) checklist, every item in order by default; `?period=` fills an earlier one."""
    if kind not in DutyKind.values:
        raise Http404
    user, org = request.user, request.user.organization
    checklist = duties.checklist_for(org.kind, kind) or []
    today = timezone.localdate()
    if request.method == "POST":
        form = DutyRecordForm(request.POST, checklist=checklist)
        if form.is_valid():
            try:

                def file() -> str:
                    record = duties.duty_record_file(
                        user=user,
                        kind=kind,
                        period=form.cleaned_data["period"],
                        items=form.answers(),
                        signed_by=form.cleaned_data["signed_by"],
                    )
                    return f"{reverse('duty-ledger')}?filed={record.pk}"

                return redirect(submit_once(request, file))
            except DomainError as error:
                form.add_domain_error(error)
    else:
        signer = DutyRecord.objects.filter(organization=org).order_by("-filed_at").values_list("signed_by", flat=True)
        period = request.GET.get("period", "")[:10] or period_of(kind, today).code
        form = DutyRecordForm(initial={"period": period, "signed_by": signer.first()}, checklist=checklist)
    period_code = str(form["period"].value() or "")
    filed = DutyRecord.objects.filter(organization=org, kind=kind, period=period_code.upper()).first()
    return render(
        request,
        "supervision/duty_form.html",
        {
            "form": form,
            "rows": form.rows(),
            "token": form_token_of(request),
            "kind": kind,
            "title": TITLES[kind],
            "duty_label": DutyKind(kind).label,
            "period_input": PERIOD_INPUT[kind],
            "current": period_of(kind, today),
            "filed": filed,
        },
    )


def _answers_text(record: DutyRecord) -> str:
    return "\n".join(
        f"{'✓' if answer.get('ok') else '✗'} {answer.get('item', '')}"
        + (f"：{answer['note']}" if answer.get("note") else "")
        for answer in record.items
    )


def _not_in_order(record: DutyRecord) -> list[dict]:
    return [answer for answer in record.items if not answer.get("ok")]


@require_GET
@duty_page
def duty_ledger(request):
    """The enterprise's duty records and the periods it has not filed, by duty and dates; XLSX for an inspection."""
    org = request.user.organization
    today = timezone.localdate()
    filters = DutyLedgerFilterForm(request.GET or None)
    values = filters.cleaned_data if filters.is_bound and filters.is_valid() else {}
    kind, first, last = values.get("kind") or "", values.get("date_from"), values.get("date_to")
    records = duty_records_visible_to(request.user).filter(organization=org)
    if kind:
        records = records.filter(kind=kind)
    records = duty_records_overlapping(records, first=first, last=last).order_by("-period_start", "kind", "-id")
    missing = duty_periods_missing(
        org,
        today=today,
        first=first or today - dt.timedelta(days=MISSING_DAYS),
        last=last or today,
        kinds=(kind,) if kind else tuple(DutyKind.values),
    )

    if request.GET.get("export") == "xlsx":
        with reading_from_replica():
            return _ledger_xlsx(org, records, missing, today)

    page = page_of(request, records, PAGE_SIZE)
    filed_id = request.GET.get("filed", "")
    just_filed = records.filter(pk=int(filed_id)).first() if filed_id.isdigit() and len(filed_id) < 19 else None
    return render(
        request,
        "supervision/duty_ledger.html",
        {
            "filters": filters,
            "page": page,
            "rows": [{"record": r, "not_in_order": _not_in_order(r)} for r in page.object_list],
            "missing": [{"period": period, "label": DutyKind(period.kind).label} for period in missing],
            "standing": [{"title": TITLES[s.kind], "s": s} for s in duty_standing(org, today)],
            "query": query_without(request, "filed"),
            "filtered": bool(kind or first or last),
            "just_filed": just_filed,
        },
    )


def _ledger_xlsx(org, records, missing: list[Period], today: dt.date):
    header = [
        _("Period"),
        _("Duty"),
        _("Period starts"),
        _("Period ends"),
        _("Status"),
        _("Signed by"),
        _("Time filed"),
        _("Items not in order"),
        _("Checklist and notes"),
    ]
    rows = [
        (
            record.period_start,
            [
                record.period,
                str(DutyKind(record.kind).label),
                record.period_start,
                record.period_end,
                _("filed late") if record.late else _("filed on time"),
                record.signed_by,
                record.filed_at,
                len(_not_in_order(record)),
                _answers_text(record),
            ],
        )
        for record in records.iterator(chunk_size=500)
    ]
    for period in missing:
        label = str(DutyKind(period.kind).label)
        rows.append((period.start, [period.code, label, period.start, period.end, _("missing"), "", None, None, ""]))
    rows.sort(key=lambda row: row[0], reverse=True)
    return xlsx_response(
        f"duties-{org.pk}-{today.isoformat()}.xlsx",
        header,
        (row for _start, row in rows),
        title=str(_("Duty ledger")),
    )
