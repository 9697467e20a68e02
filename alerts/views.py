"""Alert pages: who sees them, the alert detail with the steps the state allows, the enterprise's
own alerts on a phone. Every step goes through `alerts.services.alert_transition`; every list is scoped by
`alerts.selectors`."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Case, IntegerField, OuterRef, Subquery, Value, When
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from alerts import selectors, services
from alerts.complaints import complaint_of_alert
from alerts.forms import (
    PHOTO_TYPES,
    ActionForm,
    PhoneUnmaskForm,
    action_label,
)
from alerts.models import (
    Alert,
    AlertAttachment,
    AlertTransition,
)
from alerts.presentation import evidence_rows, local_text, region_names, rule_name, sla_of
from alerts.rules import REGISTRY
from core.audit import unmask_audited_once
from core.errors import DomainError, NotFound
from core.exports import csv_response, xlsx_response
from core.pages import at_desk, page_of, query_without
from core.personal_data import decrypt
from core.replica import reading_from_replica
from core.submissions import form_token_new, form_token_of, submission_claim, submission_done
from vehicles import selectors as vehicle_selectors

STATUS_LABELS = dict(Alert.Status.choices)

# ---------------------------------------------------------------------------------------------------------------
# Who sees which page


def in_enterprise(user) -> bool:
    org = user.organization
    return org is not None and org.is_active and org.is_enterprise


def allowed_actions(user, alert: Alert) -> list[str]:
    """The steps this user may take on this alert now: the buttons to show (the service decides again on POST).

    A department that has already acknowledged its copy is not offered the button again."""
    actions = services.allowed_actions(user, alert)
    if "acknowledge" in actions and _acknowledged_at(user, alert) is not None:
        actions.remove("acknowledge")
    return actions


def _acknowledged_at(user, alert: Alert):
    deliveries = [d for d in alert.deliveries.all() if d.organization_id == user.organization_id]
    times = [d.acknowledged_at for d in deliveries if d.acknowledged_at]
    return min(times) if deliveries and len(times) == len(deliveries) else None


# ---------------------------------------------------------------------------------------------------------------
# Detail and its steps


def _next_url(request) -> str | None:
    target = request.POST.get("next", "")
    if (
        target
        and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})
        and target.startswith("/")
    ):
        return target
    return None


def _requested_note(alert: Alert) -> str:
    """What the regulator asked to rectify: the note of the latest request."""
    requests = [t for t in alert.transitions.all() if t.action == "request_rectification"]
    return requests[-1].note if requests else ""


@require_http_methods(["GET", "POST"])
@login_required
def detail(request, pk: int):
    """The evidence, the subject and its ledger, the enterprise, who received it, every step so far, and the
    steps the user may take now. A refusal (wrong role, wrong state) is shown in words."""
    user = request.user
    alert = selectors.alert_detail(user, pk)
    if alert is None:
        raise Http404
    form, status = None, 200
    if request.method == "POST":
        form = ActionForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                with transaction.atomic():
                    first = submission_claim(request)
                    if first:
                        return redirect(first)
                    services.alert_transition(
                        user=user, alert_id=alert.pk, action=data["action"], note=data["note"], files=data["photos"]
                    )
                    url = _next_url(request) or reverse("alert-detail", args=[alert.pk])
                    submission_done(request, url)
            except NotFound:
                raise Http404 from None
            except DomainError as refusal:
                form.add_domain_error(refusal)
                if refusal.status in {403, 409}:  # wrong role, wrong state: said above the form
                    form.refusal, status = refusal, refusal.status
                alert = selectors.alert_detail(user, pk) or alert  # it may have moved on meanwhile
            else:
                messages.success(
                    request, _("Done: %(step)s (alert #%(id)d).") % {"step": action_label(data["action"]), "id": pk}
                )
                return redirect(url)
    return render(request, "alerts/detail.html", _detail_context(request, alert, form), status=status)


def _detail_context(request, alert: Alert, form, *, phone_form=None, complaint_phone_full: str = "") -> dict:
    user = request.user
    desk = at_desk(user)
    vehicle = None
    if alert.vehicle_id:
        vehicle = vehicle_selectors.vehicles_visible_to(user).filter(pk=alert.vehicle_id).first()
    regions = region_names([alert.region_code, alert.organization.region_id if alert.organization else ""])
    steps = [
        {
            "step": step,
            "label": action_label(step.action),
            "to_label": STATUS_LABELS.get(step.to_status, step.to_status),
            "attachments": [a for a in step.attachments.all() if a.content_type in PHOTO_TYPES],
        }
        for step in alert.transitions.all()
    ]
    actions = allowed_actions(user, alert)
    refusal = getattr(form, "refusal", None) if form is not None else None
    complaint = complaint_of_alert(user, alert)
    return {
        "complaint": complaint,
        "complaint_photos": list(complaint.photos.all()) if complaint else [],
        "complaint_phone": complaint_phone_full or (complaint.contact_phone_masked if complaint else ""),
        "complaint_phone_full": bool(complaint_phone_full),
        "may_unmask_phone": bool(complaint and complaint.contact_phone_enc and vehicle_selectors.may_unmask(user)),
        "phone_form": phone_form or PhoneUnmaskForm(),
        "layout": "desktop" if desk else "phone",
        "desk": desk,
        "alert": alert,
        "rule": REGISTRY.get(alert.rule),
        "rule_name": rule_name(alert.rule),
        "region": regions.get(alert.region_code, ""),
        "enterprise_region": regions.get(alert.organization.region_id, "") if alert.organization else "",
        "sla": sla_of(alert, timezone.now()),
        "evidence": evidence_rows(alert, desk=desk, complaint_shown=complaint is not None),
        "vehicle": vehicle,
        "events": vehicle_selectors.vehicle_timeline(vehicle) if vehicle else [],
        "deliveries": list(alert.deliveries.all()) if desk else [],
        "steps": steps,
        "requested_note": _requested_note(alert),
        "actions": [
            {"name": a, "label": action_label(a), "note_required": a in services.NOTE_REQUIRED} for a in actions
        ],
        "photos_allowed": "submit_rectification" in actions,
        "note_required_names": ", ".join(action_label(a) for a in actions if a in services.NOTE_REQUIRED),
        "acknowledged_at": _acknowledged_at(user, alert) if user.organization_id else None,
        "form": form if form is not None else ActionForm(),
        "refusal": refusal,
        "token": form_token_of(request),
        "next": _next_url(request) or "",
    }


@require_GET
@login_required
def attachment(request, pk: int, attachment_pk: int):
    """A photo of a step, to whoever may see the alert (never from a public media URL)."""
    if not selectors.alerts_visible_to(request.user).filter(pk=pk).exists():
        raise Http404
    found = AlertAttachment.objects.filter(pk=attachment_pk, transition__alert_id=pk).first()
    if found is None:
        raise Http404
    return _photo_response(found, f"alert-{pk}-{found.pk}")


def _photo_response(photo, filename: str) -> FileResponse:
    """A stored photo, inline, cached by the browser only; a missing file is a 404."""
    try:
        handle = photo.file.open("rb")
    except (FileNotFoundError, ValueError):
        raise Http404 from None
    content_type = photo.content_type if photo.content_type in PHOTO_TYPES else "application/octet-stream"
    response = FileResponse(handle, content_type=content_type)
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, max-age=3600"
    return response


@require_POST
@login_required
def complaint_phone(request, pk: int):
    """The complainant's phone in full, to call them back: regulators and police only, with a reason that goes
    into the audit log. The number is in this one response only."""
    user = request.user
    alert = selectors.alert_detail(user, pk)
    complaint = complaint_of_alert(user, alert) if alert is not None else None
    if complaint is None or not complaint.contact_phone_enc:
        raise Http404
    if not vehicle_selectors.may_unmask(user):
        raise PermissionDenied
    form = PhoneUnmaskForm(request.POST)
    full, shown = "", False
    if form.is_valid():
        answered = unmask_audited_once(
            request,
            target=complaint,
            reason=form.cleaned_data["reason"],
            data={"via": "alert page", "alert": alert.pk, "field": "contact_phone"},
            done_url=reverse("alert-detail", args=[pk]),
        )
        if answered:
            messages.info(request, _("Already answered. To see the number again, give a reason."))
            return redirect(answered)
        full, shown = decrypt(complaint.contact_phone_enc), True
    context = _detail_context(request, alert, None, phone_form=form, complaint_phone_full=full)
    if shown:
        context["token"] = form_token_new()  # this page's token is spent; the action form needs its own
    response = render(request, "alerts/detail.html", context, status=200 if shown else 400)
    add_never_cache_headers(response)  # personal data: not kept by the browser or any proxy
    return response


@require_GET
@login_required
def complaint_photo(request, pk: int, photo_pk: int):
    """A photo sent with the complaint behind an alert, to whoever may see the alert and the complaint."""
    visible = selectors.alerts_visible_to(request.user).select_related(None)
    alert = visible.filter(pk=pk).only("id", "rule", "evidence").first()
    complaint = complaint_of_alert(request.user, alert) if alert is not None else None
    found = complaint.photos.filter(pk=photo_pk).first() if complaint else None
    if found is None:
        raise Http404
    return _photo_response(found, f"complaint-{complaint.ticket}-{found.pk}")


# ---------------------------------------------------------------------------------------------------------------
# The enterprise's own alerts (phone)

MINE_TABS = ("todo", "open", "all")


@require_GET
@login_required
def mine(request):
    """Alerts about the user's enterprise: what to rectify first, each with the form to submit the rectification."""
    user = request.user
    if not in_enterprise(user):
        if at_desk(user):
            return redirect("alerts-inbox")
        raise Http404
    visible = selectors.alerts_visible_to(user).filter(organization=user.organization)
    to_rectify = visible.filter(status=Alert.Status.RECTIFICATION_REQUESTED)
    counts = {"todo": to_rectify.count(), "open": visible.filter(status__in=services.OPEN).count()}
    counts["all"] = visible.count()
    tab = request.GET.get("show")
    if tab not in MINE_TABS:
        tab = "todo" if counts["todo"] else "open"
    queryset = {"todo": to_rectify, "open": visible.filter(status__in=services.OPEN), "all": visible}[tab]
    request_note = AlertTransition.objects.filter(alert=OuterRef("pk"), action="request_rectification").order_by(
        "-at", "-id"
    )
    queryset = queryset.annotate(
        requested_note=Subquery(request_note.values("note")[:1]),
        to_do=Case(
            When(status=Alert.Status.RECTIFICATION_REQUESTED, then=Value(0)), default=1, output_field=IntegerField()
        ),
    ).order_by("to_do", "-created_at", "-id")

    export = request.GET.get("export")
    if export in {"csv", "xlsx"}:
        header = [
            _("Alert"),
            _("Created at"),
            _("Rule"),
            _("Status"),
            _("Frame number"),
            _("Battery code"),
            _("Due at"),
        ]

        def rows(when):
            for a in queryset.iterator(chunk_size=500):
                status = a.get_status_display()
                yield [
                    a.pk,
                    when(a.created_at),
                    rule_name(a.rule),
                    status,
                    a.frame_no,
                    a.battery_serial,
                    when(a.due_at),
                ]

        name = f"my-alerts-{timezone.localdate().isoformat()}"
        with reading_from_replica():
            if export == "xlsx":
                return xlsx_response(f"{name}.xlsx", header, rows(lambda at: at), title=_("Alerts"))
            return csv_response(f"{name}.csv", header, rows(local_text))

    page = page_of(request, queryset, 20)
    now = timezone.now()
    rows = [
        {
            "alert": alert,
            "rule_name": rule_name(alert.rule),
            "sla": sla_of(alert, now),
            "to_rectify": alert.status == Alert.Status.RECTIFICATION_REQUESTED,
            "token": form_token_new(),
        }
        for alert in page.object_list
    ]
    return render(
        request,
        "alerts/mine.html",
        {"tab": tab, "counts": counts, "page": page, "rows": rows, "query": query_without(request)},
    )
