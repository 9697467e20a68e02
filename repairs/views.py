"""Pages of the repair workshop (phone-sized): upload a repair, my repairs, batteries to hand over (回收首站)."""

from __future__ import annotations

import datetime as dt

from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from core.errors import DomainError
from core.exports import csv_response, xlsx_response
from core.models import OrganizationKind
from core.pages import page_of, pages_for, query_without
from core.replica import reading_from_replica
from core.submissions import form_token_of, submit_once
from repairs import selectors, services
from repairs.forms import RepairFilterForm, RepairForm, flag_text
from repairs.models import HANDOVER_DAYS, MAX_PHOTOS, RepairFlag, RepairKind
from vehicles.proof import failed_proofs_counted

PAGE_SIZE = 50


shop_page = pages_for(OrganizationKind.REPAIR_SHOP)  # a repair shop in good standing; anyone else gets 404


def _own_repairs(request):
    return selectors.repairs_visible_to(request.user).filter(shop=request.user.organization)


# ---------------------------------------------------------------------------------------------------------------
# Upload a repair


@require_http_methods(["GET", "POST"])
@shop_page
def repair_new(request):
    """Scan the bike, choose the repair, scan the removed and fitted batteries, take photos, submit."""
    user = request.user
    if request.method == "POST":
        form = RepairForm(request.POST)
        uploads = request.FILES.getlist("photos")
        if len(uploads) > MAX_PHOTOS:
            form.photo_errors.append(_("At most %(n)d photos per repair.") % {"n": MAX_PHOTOS})
        if form.is_valid() and not form.photo_errors:
            data = form.service_data()
            try:

                def record() -> str:
                    repair = services.repair_record(user=user, **data)
                    if uploads:
                        services.repair_photos_add(user=user, repair=repair, uploads=uploads, field="photos")
                    return reverse("repair-detail", args=[repair.pk])

                with failed_proofs_counted(request):  # outside the write's transaction: the count outlives it
                    return redirect(submit_once(request, record))
            except DomainError as error:
                form.add_domain_error(error)
    else:
        form = RepairForm(
            initial={
                "frame_no": request.GET.get("frame_no", "")[:32],
                "performed_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            }
        )
    return render(
        request,
        "repairs/repair_form.html",
        {"form": form, "token": form_token_of(request), "max_photos": MAX_PHOTOS},
    )


@require_GET
@shop_page
def repair_detail(request, pk: int):
    """The success screen of an upload (and the record of any past repair of this shop): flags in plain words."""
    repair = _own_repairs(request).filter(pk=pk).first()
    if repair is None:
        raise Http404
    flags = [{"code": code, "text": flag_text(code, repair.flag_serials.get(code))} for code in repair.flags]
    not_here = set(repair.flag_serials.get("battery_not_fitted_here", []))
    return render(
        request,
        "repairs/repair_done.html",
        {
            "repair": repair,
            "flags": flags,
            "removed_here": [s for s in repair.removed_battery_serials if s not in not_here],
            "handover_days": HANDOVER_DAYS,
            "speed": services.speed_text(repair.measured_max_speed_kmh),
        },
    )


@require_GET
@shop_page
def repair_photo(request, pk: int, photo_pk: int):
    if not _own_repairs(request).filter(pk=pk).exists():
        raise Http404
    try:
        photo = selectors.repair_photo_visible(request.user, pk, photo_pk)
    except DomainError:
        raise Http404 from None
    response = FileResponse(photo.file.open("rb"), content_type=photo.content_type)
    response["Cache-Control"] = "private, max-age=3600"
    return response


# ---------------------------------------------------------------------------------------------------------------
# My repairs


def _kind_label(kind: str) -> str:
    return str(dict(RepairKind.choices).get(kind, kind))


@require_GET
@shop_page
def repair_list(request):
    """This shop's repairs, filterable by bike, kind and date; CSV and XLSX for the work ledger (工作台账)."""
    queryset = _own_repairs(request)
    filters = RepairFilterForm(request.GET or None)
    if filters.is_bound and filters.is_valid():
        data = filters.cleaned_data
        queryset = selectors.repairs_filtered(queryset, frame_no=data["frame_no"], kind=data["kind"])
        if data["date_from"]:
            queryset = queryset.filter(performed_at__date__gte=data["date_from"])
        if data["date_to"]:
            queryset = queryset.filter(performed_at__date__lte=data["date_to"])

    export = request.GET.get("export")
    if export in {"csv", "xlsx"}:
        header = [
            _("Repair time"),
            _("Frame number"),
            _("Kind of repair"),
            _("Removed battery codes"),
            _("Fitted battery codes"),
            _("Motor power fitted (W)"),
            _("Measured max speed (km/h)"),
            _("Flags"),
            _("Notes"),
        ]

        def rows(when):
            for repair in queryset.iterator(chunk_size=500):
                yield [
                    when(repair.performed_at),
                    repair.vehicle.frame_no,
                    _kind_label(repair.kind),
                    " ".join(repair.removed_battery_serials),
                    " ".join(repair.fitted_battery_serials),
                    repair.fitted_motor_power_w if repair.fitted_motor_power_w is not None else "",
                    services.speed_text(repair.measured_max_speed_kmh) or "",
                    " ".join(repair.flags),
                    repair.notes,
                ]

        stamp = timezone.localdate().isoformat()
        with reading_from_replica():
            if export == "xlsx":
                return xlsx_response(f"repairs-{stamp}.xlsx", header, rows(lambda at: at), title=_("Repairs"))
            return csv_response(
                f"repairs-{stamp}.csv", header, rows(lambda at: timezone.localtime(at).strftime("%Y-%m-%d %H:%M"))
            )

    page = page_of(request, queryset, PAGE_SIZE)
    labels = dict(RepairFlag.choices)
    return render(
        request,
        "repairs/repair_list.html",
        {
            "filters": filters,
            "page": page,
            "rows": [
                {"repair": r, "flags": [(code, labels.get(code, code)) for code in r.flags]} for r in page.object_list
            ],
            "query": query_without(request),
            "filtered": any(request.GET.get(k) for k in ("frame_no", "kind", "date_from", "date_to")),
        },
    )


# ---------------------------------------------------------------------------------------------------------------
# Batteries to hand over (回收首站)


@require_GET
@shop_page
def batteries(request):
    """Removed batteries the shop still holds, each with the days left to hand it to recycling; overdue first."""
    queryset = selectors.batteries_to_hand_over(request.user)
    today = timezone.localdate()
    overdue_only = request.GET.get("overdue") == "1"
    if overdue_only:
        # Overdue: the removal day plus HANDOVER_DAYS is already behind us.
        first_day_in_time = today - dt.timedelta(days=HANDOVER_DAYS)
        queryset = queryset.filter(
            removed_at__lt=timezone.make_aware(dt.datetime.combine(first_day_in_time, dt.time.min))
        )

    def row(battery) -> dict:
        return {"battery": battery, "handover": selectors.handover_of(battery.removed_at, today)}

    if request.GET.get("export") == "csv":
        header = [_("Battery code"), _("Model"), _("Removed from"), _("Removed at"), _("Hand over by"), _("Days left")]

        def rows():
            for battery in queryset.iterator(chunk_size=500):
                handover = row(battery)["handover"]
                yield [
                    battery.serial,
                    battery.model.code,
                    battery.removed_from or "",
                    timezone.localtime(battery.removed_at).strftime("%Y-%m-%d %H:%M") if battery.removed_at else "",
                    handover.due_on or "",
                    handover.days_left if handover.days_left is not None else "",
                ]

        with reading_from_replica():
            return csv_response(f"batteries-to-hand-over-{today.isoformat()}.csv", header, rows())

    page = page_of(request, queryset, PAGE_SIZE)
    return render(
        request,
        "repairs/batteries.html",
        {
            "page": page,
            "rows": [row(b) for b in page.object_list],
            "query": query_without(request),
            "overdue_only": overdue_only,
            "handover_days": HANDOVER_DAYS,
        },
    )
