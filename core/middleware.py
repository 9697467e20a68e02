"""Request guards that hold for every endpoint."""

from django.conf import settings
from django.http import HttpResponseBadRequest, JsonResponse
from django.utils import translation

from core.api.errors import envelope


class RejectNulBytesMiddleware:
    """NUL bytes cannot be stored in PostgreSQL text; refuse them at the door rather than fail deep inside."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any("\x00" in value for _, values in request.GET.lists() for value in values):
            if request.path.startswith("/api/"):
                return JsonResponse(envelope("malformed_request", "NUL bytes are not allowed."), status=400)
            return HttpResponseBadRequest("NUL bytes are not allowed.")
        return self.get_response(request)


class LanguageMiddleware:
    """Chinese unless the user chose otherwise: the language cookie decides, not the browser's Accept-Language.

    Bureau staff use whatever browser the office has; the platform speaks zh-hans until someone switches.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response
