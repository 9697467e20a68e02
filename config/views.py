"""Platform-wide pages: the error pages (the JSON envelope under /api/; elsewhere the platform's own page, in the
user's language, with a way back), the favicon, and the API reference in words."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.templatetags.static import static
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import requires_csrf_token

from core.api.errors import envelope, json_404, json_500


def _api(request) -> bool:
    return request.path.startswith("/api/")


def _back_url(request) -> str | None:
    """The page the user came from, if it is one of ours (never an open redirect to another site)."""
    referer = request.META.get("HTTP_REFERER", "")
    same_site = url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()})
    itself = request.method == "GET" and referer == request.build_absolute_uri()  # a form's page is its own way back
    return referer if referer and same_site and not itself else None


def _page(request, status: int, title: str, explanation: str):
    desk = getattr(request, "user", None) is not None and request.user.is_authenticated
    org = getattr(request.user, "organization", None) if desk else None
    context = {
        "status": status,
        "title": title,
        "explanation": explanation,
        "back_url": _back_url(request),
        "layout": "desktop" if org is not None and (org.is_regulator or org.is_department) else "phone",
    }
    return render(request, "errors/page.html", context, status=status)


@requires_csrf_token
def bad_request(request, exception=None):
    if _api(request):
        return JsonResponse(envelope("malformed_request", _("The request could not be understood.")), status=400)
    return _page(
        request, 400, _("The request could not be understood"), _("Check the address, or go back and try again.")
    )


@requires_csrf_token
def permission_denied(request, exception=None):
    if _api(request):
        return JsonResponse(envelope("permission_denied", _("You may not do this.")), status=403)
    return _page(
        request,
        403,
        _("You may not open this page"),
        _(
            "Your organization's role on the platform does not include this page. Log in with another account, or "
            "ask your administrator."
        ),
    )


@requires_csrf_token
def not_found(request, exception=None):
    if _api(request):
        return json_404(request, exception)
    return _page(
        request,
        404,
        _("This page does not exist"),
        _("The address may be mistyped, or the record is not one your organization may see."),
    )


def server_error(request):
    if _api(request):
        return json_500(request)
    return HttpResponseServerError(loader.get_template("errors/500.html").render({}))


def csrf_failure(request, reason: str = ""):
    """A form sent from a page that has expired (or with cookies blocked): say so, and offer the way back."""
    if _api(request):
        return JsonResponse(envelope("csrf_failed", _("The form was out of date; reload the page.")), status=403)
    return _page(
        request,
        403,
        _("This form has expired"),
        _(
            "The page was open too long, or cookies are blocked. Go back, reload the page and send the form again: "
            "nothing was saved."
        ),
    )


@cache_control(max_age=3600, public=True)
def api_reference(request):
    """docs/api.md, the API reference in words (the OpenAPI schema holds the fields), served as it is written."""
    return _markdown("api.md")


@cache_control(max_age=3600, public=True)
def api_additions(request):
    """docs/api-additions.md (the feeds' records), beside the reference that links to it."""
    return _markdown("api-additions.md")


def _markdown(name: str) -> HttpResponse:
    text = (settings.BASE_DIR / "docs" / name).read_text(encoding="utf-8")
    return HttpResponse(text, content_type="text/markdown; charset=utf-8")


@cache_control(max_age=86400, public=True)
def favicon(request):
    return HttpResponseRedirect(static("favicon.ico"))
