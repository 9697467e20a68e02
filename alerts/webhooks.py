"""Outbound webhooks for departments: each alert POSTed as JSON, signed with HMAC-SHA256, retried with backoff.

Each attempt connects only to addresses alerts.webhook_targets has just checked (the connection is pinned to them;
the Host header and the TLS server name stay the URL's), follows no redirect, and logs a generic error: the raw
exception, which can describe the platform's own network, goes to the server log only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import json
import logging
import re
import socket
import ssl
import time

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from alerts.models import WebhookDelivery
from alerts.webhook_targets import ADDRESS_NOT_ALLOWED, HOST_NOT_FOUND, INVALID_URL, Target, TargetRefused, target_vet
from core.api.rendering import LocalTimeJSONEncoder

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Ebike-Signature"  # "t=<unix time>,v1=<hex hmac of 't.body'>"
MAX_ATTEMPTS = 8
TIMEOUT = 5

# What the delivery log may say about a failed attempt (besides "HTTP <status>"), with its words on the pages.
REDIRECT_NOT_FOLLOWED = "redirect not followed"
DELIVERY_FAILED = "delivery failed"
ERRORS = {
    ADDRESS_NOT_ALLOWED: _("address not allowed"),
    HOST_NOT_FOUND: _("host not found"),
    INVALID_URL: _("invalid URL"),
    "connection refused": _("connection refused"),
    "timed out": _("timed out"),
    "connection failed": _("connection failed"),
    "TLS certificate not valid": _("TLS certificate not valid"),
    "TLS error": _("TLS error"),
    "invalid response": _("invalid response"),
    REDIRECT_NOT_FOLLOWED: _("redirect not followed"),
    DELIVERY_FAILED: _("delivery failed"),
}
_HTTP_STATUS = re.compile(r"^HTTP [1-5][0-9]{2}$")


def error_shown(value: str) -> str:
    """The delivery log's error as shown: one of ERRORS or "HTTP <status>"; anything else (rows written before
    errors were generic) is "delivery failed"."""
    if not value or value in ERRORS or _HTTP_STATUS.match(value):
        return value
    return DELIVERY_FAILED


def error_label(value: str) -> str:
    """error_shown in the reader's language."""
    shown = error_shown(value)
    return str(ERRORS.get(shown, shown))


def backoff(attempts: int) -> dt.timedelta:
    """30 s, 1 min, 2 min, 4 min … capped at 1 hour."""
    return dt.timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


def sign(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def alert_payload(alert) -> dict:
    return {
        "id": alert.pk,
        "rule": alert.rule,
        "category": alert.category,
        "severity": alert.severity,
        "status": alert.status,
        "region_code": alert.region_code,
        "subject": {
            "frame_no": alert.frame_no or None,
            "battery_serial": alert.battery_serial or None,
            "organization": alert.organization_id,
        },
        "evidence": alert.evidence,
        "created_at": alert.created_at,
        "dispatched_at": alert.dispatched_at,
        "due_at": alert.due_at,
    }


def tls_context() -> ssl.SSLContext:
    """Certificates checked against the system's CAs and the URL's host name."""
    return ssl.create_default_context()


def _connect(target: Target, timeout: float) -> socket.socket:
    """A TCP connection to the first of the checked addresses that answers; no other name look-up."""
    error: OSError = ConnectionError("no address")
    for address in target.addresses:
        try:
            return socket.create_connection((address, target.port), timeout)
        except OSError as failed:
            error = failed
    raise error


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Plain HTTP to a checked address; the request still names the URL's host."""

    def __init__(self, target: Target, timeout: float):
        super().__init__(target.host, target.port, timeout=timeout)
        self._target = target

    def connect(self):
        self.sock = _connect(self._target, self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a checked address; SNI and the certificate check use the URL's host name."""

    def __init__(self, target: Target, timeout: float, context: ssl.SSLContext):
        super().__init__(target.host, target.port, timeout=timeout, context=context)
        self._target, self._tls = target, context

    def connect(self):
        self.sock = self._tls.wrap_socket(_connect(self._target, self.timeout), server_hostname=self._target.host)


def _post(url: str, body: bytes, signature: str) -> int:
    """POST once and return the status; http.client follows no redirect (a 3xx is returned like any status)."""
    target = target_vet(url)
    if target.scheme == "https":
        connection = _PinnedHTTPSConnection(target, TIMEOUT, tls_context())
    else:
        connection = _PinnedHTTPConnection(target, TIMEOUT)
    try:
        connection.request(
            "POST",
            target.path,
            body=body,
            headers={
                "Content-Type": "application/json",
                SIGNATURE_HEADER: signature,
                "User-Agent": "ebike-supervision-webhook/1",
            },
        )
        return connection.getresponse().status
    finally:
        connection.close()


def _attempt(url: str, body: bytes, signature: str) -> tuple[int | None, str]:
    """(status, generic error) of one attempt; the error is "" when it was delivered (2xx)."""
    try:
        code = _post(url, body, signature)
    except TargetRefused as refused:
        return None, refused.reason
    except Exception as error:
        log.info("webhook to %s failed: %r", url, error)  # the detail for operators, not for the delivery log
        return None, _generic(error)
    if 200 <= code < 300:
        return code, ""
    if 300 <= code < 400:
        return code, REDIRECT_NOT_FOLLOWED
    return code, f"HTTP {code}"


def _generic(error: Exception) -> str:
    if isinstance(error, ssl.SSLCertVerificationError):
        return "TLS certificate not valid"
    if isinstance(error, ssl.SSLError):
        return "TLS error"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, http.client.HTTPException):
        return "invalid response"
    if isinstance(error, OSError):
        return "connection failed"
    return DELIVERY_FAILED


def webhooks_send_due(limit: int = 100) -> int:
    """Send the webhook deliveries that are due; each claimed row is updated in its own short transaction."""
    sent = 0
    for _n in range(limit):
        with transaction.atomic():
            delivery = (
                WebhookDelivery.objects.select_for_update(skip_locked=True)
                .select_related("subscription", "alert")
                .filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=timezone.now())
                .order_by("next_attempt_at")
                .first()
            )
            if delivery is None:
                return sent
            body = json.dumps(alert_payload(delivery.alert), cls=LocalTimeJSONEncoder, ensure_ascii=False).encode()
            delivery.attempts += 1
            signature = sign(delivery.subscription.secret, body, int(time.time()))
            code, error = _attempt(delivery.subscription.webhook_url, body, signature)
            delivery.last_status_code, delivery.last_error = code, error
            if code is not None and 200 <= code < 300:
                delivery.status, delivery.delivered_at = WebhookDelivery.Status.DELIVERED, timezone.now()
                sent += 1
            elif delivery.attempts >= MAX_ATTEMPTS:
                delivery.status = WebhookDelivery.Status.FAILED
            else:
                delivery.next_attempt_at = timezone.now() + backoff(delivery.attempts)
            delivery.save()
    return sent
