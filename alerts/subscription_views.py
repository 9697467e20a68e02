"""Pages of a department's alert subscriptions (数据推送): the list, a new one, and one subscription with its
settings, its signing secret (shown once) and the log of its webhook deliveries. The rules and the writes are
alerts.subscriptions', as for the API: members read, the department's administrator writes."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from alerts import subscriptions as service
from alerts.models import Category, WebhookDelivery
from alerts.webhooks import MAX_ATTEMPTS, SIGNATURE_HEADER, error_label
from core.client_ip import client_ip
from core.errors import DomainError, NotFound
from core.exports import csv_response
from core.forms import domain_error_place
from core.models import DEPARTMENT_KINDS
from core.pages import page_of, pages_for, query_without
from core.submissions import TOKEN_FIELD, form_token_new, form_token_of, form_token_valid, submit_once

department_page = pages_for(*DEPARTMENT_KINDS)  # a member of an active department; anyone else gets 404

SECRET_KEY = "alerts.subscription_secret"  # in the session: the secret to show once, on the next page
STALE_FORM = gettext_lazy("This form was out of date. Check it and submit it again.")
STATUS_LABELS = dict(WebhookDelivery.Status.choices)


class SubscriptionForm(forms.Form):
    """The fields as typed; alerts.subscriptions decides what is allowed and says it next to the field."""

    form_token = forms.CharField(required=False, widget=forms.HiddenInput)
    categories = forms.MultipleChoiceField(
        label=gettext_lazy("Categories"), choices=Category.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    webhook_url = forms.CharField(label=gettext_lazy("Webhook URL"), required=False)
    active = forms.BooleanField(label=gettext_lazy("Active"), required=False)

    def clean(self):
        cleaned = super().clean()
        if not form_token_valid(cleaned.get("form_token") or ""):
            raise forms.ValidationError(STALE_FORM, code="stale_form")
        return cleaned

    def add_domain_error(self, error: DomainError) -> None:
        domain_error_place(self, error)


def _subscription_or_404(request, pk: int):
    try:
        return service.subscription_get(user=request.user, subscription_id=pk)
    except NotFound:
        raise Http404 from None


def _writer_only(request) -> None:
    if not service.may_change(request.user):
        raise PermissionDenied(_("Only an administrator of the department may change its subscriptions."))


def _show_secret_once(request, subscription) -> None:
    request.session[SECRET_KEY] = {"id": subscription.pk, "secret": subscription.secret}


def _secret_to_show(request, subscription) -> str:
    """The secret just issued for this subscription, if any; taken out of the session, so shown once."""
    held = request.session.get(SECRET_KEY)
    if not held or held.get("id") != subscription.pk:
        return ""
    del request.session[SECRET_KEY]
    return held.get("secret", "")


def _values(form: SubscriptionForm) -> dict:
    data = form.cleaned_data
    return {"categories": data["categories"], "webhook_url": data["webhook_url"], "active": data["active"]}


# ---------------------------------------------------------------------------------------------------------------
# The list


@require_GET
@department_page
def subscription_list(request):
    """The department's subscriptions: what each shares, where it pushes, how its deliveries stand."""
    subscriptions = (
        service.subscriptions_of(request.user)
        .annotate(
            pending=Count("deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.PENDING)),
            failed=Count("deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.FAILED)),
        )
        .order_by("pk")
    )
    rows = [{"subscription": s, "categories": _category_labels(s.categories)} for s in subscriptions]
    return render(
        request,
        "alerts/subscriptions.html",
        {"rows": rows, "may_change": service.may_change(request.user), "max_attempts": MAX_ATTEMPTS},
    )


def _category_labels(values: list[str]) -> list[str]:
    labels = dict(Category.choices)
    return [str(labels.get(value, value)) for value in values]


@require_http_methods(["GET", "POST"])
@department_page
def subscription_new(request):
    _writer_only(request)
    if request.method == "POST":
        form = SubscriptionForm(request.POST)
        if form.is_valid():
            try:

                def create() -> str:
                    subscription = service.subscription_create(
                        user=request.user, ip_address=client_ip(request), **_values(form)
                    )
                    _show_secret_once(request, subscription)
                    return reverse("alerts-subscription", args=[subscription.pk])

                return redirect(submit_once(request, create))
            except DomainError as error:
                form.add_domain_error(error)
    else:
        form = SubscriptionForm(initial={"active": True})
    return render(
        request,
        "alerts/subscriptions_new.html",
        {"form": form, "token": form_token_of(request), "signature_header": SIGNATURE_HEADER},
    )


# ---------------------------------------------------------------------------------------------------------------
# One subscription


@require_http_methods(["GET", "POST"])
@department_page
def subscription_detail(request, pk: int):
    """Its settings (the administrator changes them here), the secret if one was just issued, and its log."""
    subscription = _subscription_or_404(request, pk)
    if request.method == "POST":
        _writer_only(request)
        form = SubscriptionForm(request.POST)
        if form.is_valid():
            try:

                def change() -> str:
                    service.subscription_change(
                        user=request.user, subscription_id=pk, ip_address=client_ip(request), **_values(form)
                    )
                    messages.success(request, _("The subscription is saved."))
                    return reverse("alerts-subscription", args=[pk])

                return redirect(submit_once(request, change))
            except NotFound:
                raise Http404 from None
            except DomainError as error:
                form.add_domain_error(error)
    else:
        form = SubscriptionForm(
            initial={
                "categories": subscription.categories,
                "webhook_url": subscription.webhook_url,
                "active": subscription.active,
            }
        )

    deliveries = service.deliveries_of(subscription).select_related("alert")
    status = request.GET.get("status", "")
    if status in STATUS_LABELS:
        deliveries = deliveries.filter(status=status)
    else:
        status = ""
    if request.GET.get("export") == "csv":
        return _deliveries_csv(subscription, deliveries)
    page = page_of(request, deliveries)
    secret = _secret_to_show(request, subscription)
    response = render(
        request,
        "alerts/subscriptions_detail.html",
        {
            "subscription": subscription,
            "categories": _category_labels(subscription.categories),
            "form": form,
            "may_change": service.may_change(request.user),
            "token": form_token_of(request),
            "rotate_token": form_token_new(),
            "delete_token": form_token_new(),
            "secret": secret,
            "signature_header": SIGNATURE_HEADER,
            "page": page,
            "rows": [_delivery_row(delivery) for delivery in page.object_list],
            "status": status,
            "statuses": WebhookDelivery.Status.choices,
            "query": query_without(request),
            "max_attempts": MAX_ATTEMPTS,
        },
    )
    if secret:
        add_never_cache_headers(response)  # the secret stays out of every cache, the browser's included
    return response


def _delivery_row(delivery: WebhookDelivery) -> dict:
    return {
        "delivery": delivery,
        "status_label": STATUS_LABELS.get(delivery.status, delivery.status),
        "error": error_label(delivery.last_error) if delivery.last_error else "",
    }


def _deliveries_csv(subscription, deliveries):
    def when(value):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""

    header = [
        _("Alert"),
        _("Status"),
        _("Attempts"),
        _("Last answer"),
        _("Error"),
        _("Next attempt"),
        _("Delivered at"),
        _("Queued at"),
    ]
    rows = (
        [
            d.alert_id,
            STATUS_LABELS.get(d.status, d.status),
            d.attempts,
            d.last_status_code or "",
            error_label(d.last_error) if d.last_error else "",
            when(d.next_attempt_at) if d.status == WebhookDelivery.Status.PENDING else "",
            when(d.delivered_at),
            when(d.created_at),
        ]
        for d in deliveries.iterator()
    )
    return csv_response(f"webhook-deliveries-{subscription.pk}.csv", header, rows)


def _stale(request) -> bool:
    if form_token_valid(request.POST.get(TOKEN_FIELD, "")):
        return False
    messages.error(request, STALE_FORM)
    return True


@require_POST
@department_page
def subscription_rotate(request, pk: int):
    """A new signing secret, shown once on the next page; the old one stops working at once."""
    subscription = _subscription_or_404(request, pk)
    _writer_only(request)
    if _stale(request):
        return redirect("alerts-subscription", pk=subscription.pk)

    def rotate() -> str:
        changed = service.subscription_change(
            user=request.user, subscription_id=pk, rotate_secret=True, ip_address=client_ip(request)
        )
        _show_secret_once(request, changed)
        return reverse("alerts-subscription", args=[pk])

    try:
        return redirect(submit_once(request, rotate))
    except NotFound:
        raise Http404 from None


@require_POST
@department_page
def subscription_delete(request, pk: int):
    """The subscription and its delivery log are gone; its categories are no longer shared with the department.
    Not looked up first: a second click finds it gone and is sent where the first one went."""
    _writer_only(request)
    if _stale(request):
        return redirect("alerts-subscription", pk=pk)

    def delete() -> str:
        service.subscription_delete(user=request.user, subscription_id=pk, ip_address=client_ip(request))
        messages.success(request, _("The subscription is deleted."))
        return reverse("alerts-subscriptions")

    try:
        return redirect(submit_once(request, delete))
    except NotFound:
        raise Http404 from None
