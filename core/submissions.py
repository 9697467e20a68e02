"""Once-only submission of page forms, on the same Idempotency-Key table as the API.

Each rendered form carries a random token. The POST claims it inside the transaction of the write: a second
POST with the same token waits for the first to commit and is then sent to the first one's result; an error
rolls the claim back, so the corrected form can be sent again with the same token.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable

from django.db import transaction

from core.api.idempotency import claim_key, principal_of
from core.models import IdempotencyKey

TOKEN_FIELD = "form_token"
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def form_token_new() -> str:
    return secrets.token_urlsafe(18)


def form_token_of(request) -> str:
    """The token to render: the one posted (a form shown again after an error), or a new one."""
    posted = request.POST.get(TOKEN_FIELD, "") if request.method == "POST" else ""
    return posted if form_token_valid(posted) else form_token_new()


def form_token_valid(token: str) -> bool:
    return bool(_TOKEN_SHAPE.match(token))


def _key(request) -> tuple[str, str]:
    return principal_of(request), f"form:{request.POST.get(TOKEN_FIELD, '')}"


def submission_claim(request) -> str | None:
    """Call inside the write's transaction. None: this is the first submission of the form, go ahead.
    A URL: the form was already submitted; redirect there (the first submission's result)."""
    principal, key = _key(request)
    fingerprint = hashlib.sha256(f"form {request.path}".encode()).hexdigest()
    if claim_key(principal, key, fingerprint):
        return None
    first = IdempotencyKey.objects.filter(principal=principal, key=key).first()
    body = (first.response_body if first else None) or {}
    return body.get("redirect") or request.path


def submission_result(request) -> str | None:
    """Where an earlier submission of this form led, or None. A page whose checks read the state the write changes
    (a sold bike is no longer in stock) sends a resubmission there before checking its input again."""
    principal, key = _key(request)
    body = IdempotencyKey.objects.filter(principal=principal, key=key).values_list("response_body", flat=True).first()
    return (body or {}).get("redirect")


def submission_done(request, url: str) -> None:
    """Record where the first submission led, for any resubmission of the same form."""
    principal, key = _key(request)
    IdempotencyKey.objects.filter(principal=principal, key=key).update(status_code=303, response_body={"redirect": url})


def submit_once(request, write: Callable[[], str]) -> str:
    """A page form's write, run once per form: in one transaction, the first submission runs `write` (which
    returns the page to show next) and a resubmission gets the first one's page. Refusals from `write` roll the
    claim back with it."""
    with transaction.atomic():
        first = submission_claim(request)
        if first:
            return first
        url = write()
        submission_done(request, url)
        return url
