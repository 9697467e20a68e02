"""The enterprise's own credit record page, and the credit section of the regulator's enterprise page."""

from __future__ import annotations

from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from core.exports import csv_response
from core.models import ENTERPRISE_KINDS, Organization, User
from core.pages import pages_for
from core.replica import reading_from_replica
from core.scoping import viewer_of
from supervision import credit

DESKTOP_KINDS = frozenset({"manufacturer", "battery_maker", "charging_operator", "recycler"})
enterprise_page = pages_for(*ENTERPRISE_KINDS)


def credit_for_regulator(user: User, organization: Organization) -> list[credit.CreditRow] | None:
    """The enterprise's credit rows for the cockpit's enterprise page, or None for a viewer that may not read them
    (a department sees the cockpit, not credit records)."""
    viewer = viewer_of(user)
    org = viewer.organization
    if not (viewer.is_platform or (org is not None and org.is_regulator)):
        return None
    with reading_from_replica():
        return credit.credit_rows(organization)


@require_GET
@enterprise_page
def credit_mine(request):
    """What the public credit platform receives about the enterprise: violations closed, actions, failed sampling."""
    organization = request.user.organization
    with reading_from_replica():
        rows = credit.credit_rows(organization)
    if request.GET.get("export") == "csv":
        header = [_("Date"), _("Source"), _("Code"), _("Description"), _("Penalty (¥)")]
        lines = (
            [r.date, r.source_label, r.code, r.description, "" if r.penalty_yuan is None else r.penalty_yuan]
            for r in rows
        )
        return csv_response("credit.csv", header, lines)
    layout = "desktop" if organization.kind in DESKTOP_KINDS else "phone"
    return render(request, "supervision/credit.html", {"rows": rows, "layout": layout, "organization": organization})
