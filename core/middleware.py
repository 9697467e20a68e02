"""Request guards that hold for every endpoint."""

from django.http import HttpResponseBadRequest, JsonResponse

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
