"""Outbound webhooks for departments: each alert POSTed as JSON, signed with HMAC-SHA256, retried with backoff."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from alerts.models import WebhookDelivery

SIGNATURE_HEADER = "X-Ebike-Signature"  # "t=<unix time>,v1=<hex hmac of 't.body'>"
MAX_ATTEMPTS = 8
TIMEOUT = 5


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


def _post(url: str, body: bytes, signature: str) -> int:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            SIGNATURE_HEADER: signature,
            "User-Agent": "ebike-supervision-webhook/1",
        },
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        return response.status


def webhooks_send_due(limit: int = 100) -> int:
    """Send the webhook deliveries that are due; each claimed row is updated in its own short transaction."""
    sent = 0
    for _ in range(limit):
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
            body = json.dumps(alert_payload(delivery.alert), cls=DjangoJSONEncoder, ensure_ascii=False).encode()
            delivery.attempts += 1
            try:
                code = _post(
                    delivery.subscription.webhook_url, body, sign(delivery.subscription.secret, body, int(time.time()))
                )
                error = ""
            except urllib.error.HTTPError as exc:
                code, error = exc.code, str(exc.reason)[:300]
            except (urllib.error.URLError, OSError, ValueError) as exc:
                code, error = None, str(exc)[:300]
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
