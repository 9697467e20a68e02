"""Request guards that hold for every endpoint."""

from django.conf import settings
from django.core.exceptions import BadRequest
from django.http import JsonResponse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import trans_real

from core.api.errors import envelope

_NUL_MESSAGE = _("The address contains a NUL character, which is not allowed.")


class RejectNulBytesMiddleware:
    """NUL bytes cannot be stored in PostgreSQL text; refuse them at the door rather than fail deep inside."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any("\x00" in value for _, values in request.GET.lists() for value in values):
            if request.path.startswith("/api/"):
                return JsonResponse(envelope("malformed_request", str(_NUL_MESSAGE)), status=400)
            raise BadRequest(str(_NUL_MESSAGE))  # the platform's 400 page (config.views.bad_request)
        return self.get_response(request)


class LanguageMiddleware:
    """Chinese unless the user chose otherwise.

    Pages: the language cookie decides, not the browser's Accept-Language. Bureau staff use whatever browser the
    office has; the platform speaks zh-hans until someone switches. The API: the caller's Accept-Language decides
    (an integrator's system asks for its language explicitly), zh-hans when it asks for none the platform speaks.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if chosen in dict(settings.LANGUAGES):
            language = chosen
        elif request.path.startswith("/api/"):
            language = _accepted_language(request.META.get("HTTP_ACCEPT_LANGUAGE", ""))
        else:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response


def _accepted_language(header: str) -> str:
    """The first language of an Accept-Language header that the platform speaks (zh, zh-CN → zh-hans)."""
    for code, _quality in trans_real.parse_accept_lang_header(header[:255]):
        if code == "*":
            break
        try:
            return translation.get_supported_language_variant(_ALIASES.get(code.lower(), code))
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


_ALIASES = {"zh": "zh-hans", "zh-cn": "zh-hans", "zh-sg": "zh-hans", "zh-hans-cn": "zh-hans"}
