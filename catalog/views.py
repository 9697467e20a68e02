"""Pages of makers (desktop) for their certified models: the list, filing a model, renewing its CCC certificate.

Thin: a form parses what was typed, one catalog service decides, its refusals land next to the fields.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from catalog import selectors, services
from catalog.forms import BatteryModelForm, CertificateForm, ChargerModelForm, ModelFilterForm, VehicleModelForm
from core.errors import DomainError, NotFound
from core.exports import csv_response, xlsx_response
from core.models import OrganizationKind as K
from core.pages import page_of, pages_for, query_without
from core.submissions import form_token_of, submit_once

maker_page = pages_for(K.MANUFACTURER, K.BATTERY_MAKER)  # an active maker; anyone else gets 404


@dataclass(frozen=True)
class ModelKind:
    """A kind of certified model as the pages handle it: who files it, its form, its services, its table."""

    slug: str
    title: str
    makers: frozenset[str]
    models: Callable  # the selector listing every model of the kind
    form: type
    create: Callable
    renew: Callable
    columns: Callable[[], list[str]]
    cells: Callable[[object], list]


def _number(value) -> str:
    return f"{value.normalize():f}" if value is not None else ""


KINDS = {
    "vehicle": ModelKind(
        "vehicle",
        gettext_lazy("Vehicle models"),
        frozenset({K.MANUFACTURER}),
        selectors.vehicle_models,
        VehicleModelForm,
        services.vehicle_model_create,
        services.vehicle_model_certificate_update,
        lambda: [
            _("Standard"),
            _("Speed (km/h)"),
            _("Mass (kg)"),
            _("Voltage (V)"),
            _("Power (W)"),
            _("Certified batteries"),
        ],
        lambda m: [
            m.standard.code,
            _number(m.max_speed_kmh),
            _number(m.mass_kg),
            _number(m.nominal_voltage_v),
            m.motor_power_w,
            " ".join(b.code for b in m.compatible_battery_models.all()),
        ],
    ),
    "battery": ModelKind(
        "battery",
        gettext_lazy("Battery models"),
        frozenset({K.BATTERY_MAKER}),
        selectors.battery_models,
        BatteryModelForm,
        services.battery_model_create,
        services.battery_model_certificate_update,
        lambda: [_("Chemistry"), _("Voltage (V)"), _("Capacity (Ah)")],
        lambda m: [m.get_chemistry_display(), _number(m.nominal_voltage_v), _number(m.capacity_ah)],
    ),
    "charger": ModelKind(
        "charger",
        gettext_lazy("Charger models"),
        frozenset({K.MANUFACTURER, K.BATTERY_MAKER}),
        selectors.charger_models,
        ChargerModelForm,
        services.charger_model_create,
        services.charger_model_certificate_update,
        lambda: [_("Output voltage (V)")],
        lambda m: [_number(m.output_voltage_v)],
    ),
}

CERTIFICATE_STATE = {
    "valid": gettext_lazy("valid"),
    "expiring": gettext_lazy("expiring soon"),
    "expired": gettext_lazy("expired"),
    "uncertified": gettext_lazy("no certificate"),
}


def kinds_for(org) -> list[ModelKind]:
    return [kind for kind in KINDS.values() if org.kind in kind.makers]


def _kind_of(request, slug: str) -> ModelKind:
    kind = KINDS.get(slug)
    if kind is None or request.user.organization.kind not in kind.makers:
        raise Http404
    return kind


def _list_url(kind: ModelKind, **params) -> str:
    return f"{reverse('maker-models')}?{urlencode({'kind': kind.slug, **params})}"


@require_GET
@maker_page
def model_list(request):
    """The maker's own models of one kind, with their certificate's state; filters, CSV and XLSX."""
    org = request.user.organization
    kinds = kinds_for(org)
    kind = next((k for k in kinds if k.slug == request.GET.get("kind")), kinds[0])
    filters = ModelFilterForm(request.GET or None)
    search, certificate = "", ""
    if filters.is_bound and filters.is_valid():
        search, certificate = filters.cleaned_data["q"].strip(), filters.cleaned_data["certificate"]
    today = timezone.localdate()
    queryset = selectors.models_of_maker(kind.models(), maker_id=org.pk, search=search, certificate=certificate)
    header = [_("Model code"), _("Name"), *kind.columns(), _("CCC certificate"), _("Valid until"), _("Certificate")]

    export = request.GET.get("export")
    if export in {"csv", "xlsx"}:
        rows = (
            [
                m.code,
                m.name,
                *kind.cells(m),
                m.ccc_cert_no,
                m.ccc_valid_until or "",
                str(CERTIFICATE_STATE[selectors.certificate_state(m, today)]),
            ]
            for m in queryset.iterator(chunk_size=500)
        )
        filename = f"{kind.slug}-models-{today.isoformat()}"
        if export == "xlsx":
            return xlsx_response(f"{filename}.xlsx", header, rows, title=str(kind.title))
        return csv_response(f"{filename}.csv", header, rows)

    page = page_of(request, queryset)
    rows = [
        {"model": m, "cells": kind.cells(m), "state": selectors.certificate_state(m, today)} for m in page.object_list
    ]
    for row in rows:
        row["state_text"] = CERTIFICATE_STATE[row["state"]]
    return render(
        request,
        "catalog/models.html",
        {
            "kind": kind,
            "filters": filters,
            "header": header,
            "page": page,
            "rows": rows,
            "query": query_without(request, "filed", "renewed"),
            "filtered": bool(search or certificate),
            "filed": request.GET.get("filed", "")[:64],
            "renewed": request.GET.get("renewed", "")[:64],
        },
    )


@require_http_methods(["GET", "POST"])
@maker_page
def model_new(request, slug: str):
    """File a new certified model of this kind; the catalog service checks it against the standard."""
    kind = _kind_of(request, slug)
    if request.method == "POST":
        form = kind.form(request.POST)
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k != "form_token"}
            try:

                def file() -> str:
                    model = kind.create(actor=request.user, **data)
                    return _list_url(kind, filed=model.code)

                return redirect(submit_once(request, file))
            except DomainError as error:
                form.add_domain_error(error)
    else:
        form = kind.form()
    return render(
        request,
        "catalog/model_form.html",
        {"kind": kind, "form": form, "token": form_token_of(request)},
    )


@require_http_methods(["GET", "POST"])
@maker_page
def model_renew(request, slug: str, code: str):
    """Renew or correct the CCC certificate of one of the maker's own models; another maker's is not found."""
    kind = _kind_of(request, slug)
    model = kind.models().filter(maker=request.user.organization, code=code).first()
    if model is None:
        raise Http404
    if request.method == "POST":
        form = CertificateForm(request.POST)
        if form.is_valid():
            try:

                def renew() -> str:
                    kind.renew(
                        actor=request.user,
                        code=model.code,
                        ccc_cert_no=form.cleaned_data["ccc_cert_no"],
                        ccc_valid_until=form.cleaned_data["ccc_valid_until"],
                    )
                    return _list_url(kind, renewed=model.code)

                return redirect(submit_once(request, renew))
            except NotFound:
                raise Http404 from None
            except DomainError as error:
                form.add_domain_error(error)
    else:
        form = CertificateForm(initial={"ccc_cert_no": model.ccc_cert_no, "ccc_valid_until": model.ccc_valid_until})
    today = timezone.localdate()
    return render(
        request,
        "catalog/renew.html",
        {
            "kind": kind,
            "model": model,
            "cells": list(zip(kind.columns(), kind.cells(model), strict=True)),
            "state": selectors.certificate_state(model, today),
            "state_text": CERTIFICATE_STATE[selectors.certificate_state(model, today)],
            "form": form,
            "token": form_token_of(request),
        },
    )
