"""`Idempotency-Key`: the same key and body replay the first response; another body gets 409 (for a logged-in
caller; for an anonymous one it is simply another request, see `principal_of`).

One mechanism for every write endpoint: decorate the handler with `@idempotent`. The key row is inserted in the
same transaction as the write, so a crash or an error leaves neither behind, and a concurrent retry waits on
the unique index until the first request has committed, then replays it.
"""

from __future__ import annotations

import functools
import hashlib
import json

from django.db import connection, transaction
from django.utils.translation import gettext as _
from rest_framework.response import Response

from core.api.rendering import JSONRenderer
from core.client_ip import client_ip
from core.errors import Conflict, InvalidInput
from core.models import IdempotencyKey

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255


def principal_of(request, fingerprint: str | None = None) -> str:
    """Whose key this is. A user's keys are their own. An address is not a person (phones behind one NAT, a
    bureau behind one proxy), so an anonymous API caller's key is bound to its address and to the request itself:
    only a byte-identical request from the same address replays, and no client ever sees another's answer or a
    409 for another's request. Page forms (core.submissions) pass no fingerprint: their random form token already
    tells clients apart."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    if fingerprint is None:
        return f"anon:{client_ip(request)}"
    return "anon:" + hashlib.sha256(f"{client_ip(request)}\n{fingerprint}".encode()).hexdigest()[:59]


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str)  # ASCII escapes: even lone surrogates hash
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def claim_key(principal: str, key: str, fingerprint: str) -> bool:
    """Insert the key row; False when another request already holds the key (after it committed)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {IdempotencyKey._meta.db_table} (principal, key, fingerprint, created_at) "
            "VALUES (%s, %s, %s, now()) ON CONFLICT (principal, key) DO NOTHING RETURNING id",
            [principal, key, fingerprint],
        )
        return cursor.fetchone() is not None


def idempotent(handler=None, *, secret_answer: bool = False):
    """Run a write handler in one transaction, honouring `Idempotency-Key`.

    `secret_answer=True` (the login, whose answer is a bearer token): the key is checked but nothing is stored
    or replayed, since storing the answer would keep the token's secret, and the fingerprint a fast hash of the
    password. A retry is simply another login.
    """
    if handler is None:
        return functools.partial(idempotent, secret_answer=secret_answer)

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is not None:
            key = key.strip()
            if not key or len(key) > MAX_KEY_LENGTH:
                raise InvalidInput(
                    _("Idempotency-Key must be 1 to %(n)d characters.") % {"n": MAX_KEY_LENGTH},
                    code="invalid_idempotency_key",
                )
        if key is None or secret_answer:
            with transaction.atomic():
                return handler(view, request, *args, **kwargs)
        fingerprint = _fingerprint(request)
        principal = principal_of(request, fingerprint)
        with transaction.atomic():
            if not claim_key(principal, key, fingerprint):
                first = IdempotencyKey.objects.get(principal=principal, key=key)
                if first.fingerprint != fingerprint:
                    raise Conflict(
                        _("This Idempotency-Key was already used for a different request."),
                        code="idempotency_key_reused",
                    )
                return Response(first.response_body, status=first.status_code, headers={"Idempotent-Replayed": "true"})
            response = handler(view, request, *args, **kwargs)
            # Stored as rendered, so the replay is byte-for-byte what the first caller got (dates included).
            rendered = json.loads(JSONRenderer().render(response.data)) if response.data is not None else None
            IdempotencyKey.objects.filter(principal=principal, key=key).update(
                status_code=response.status_code, response_body=rendered
            )
            return response

    wrapper.idempotent = True
    return wrapper
