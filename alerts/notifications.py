"""E-mail to the regulator when a high-severity alert is dispatched to it.

`notify_dispatched(alert_ids)` runs after the dispatch has committed (from a Celery task). E-mail is a courtesy
next to the inbox, which is the record: a mail server that is down, slow or refusing never fails the caller, and
each alert is mailed at most once, however often the task is retried.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMessage
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from alerts.models import Alert, Severity
from alerts.rules import REGISTRY
from core.models import User

log = logging.getLogger(__name__)

SENT_KEY = "alerts:mailed:{}"
SENT_TTL = 30 * 24 * 3600


def _recipients(organization_ids: set[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    users = (
        User.objects.filter(organization_id__in=organization_ids, is_active=True)
        .exclude(email="")
        .order_by("pk")
        .values_list("organization_id", "email")
    )
    for org_id, email in users:
        if email not in found.setdefault(org_id, []):
            found[org_id].append(email)
    return found


def _link(alert: Alert) -> str:
    base = getattr(settings, "SITE_URL", "").rstrip("/")
    return f"{base}{reverse('alert-detail', args=[alert.pk])}" if base else reverse("alert-detail", args=[alert.pk])


def _message(alert: Alert, to: list[str]) -> EmailMessage:
    rule = REGISTRY.get(alert.rule)
    name = str(rule.name) if rule else alert.rule
    subject_of = alert.frame_no or alert.battery_serial or (alert.organization.name if alert.organization else "")
    subject = _("[High-severity alert #%(id)d] %(rule)s %(subject)s") % {
        "id": alert.pk,
        "rule": name,
        "subject": subject_of,
    }
    lines = [
        _("A high-severity alert was dispatched to %(regulator)s.") % {"regulator": alert.regulator.name},
        "",
        _("Rule: %(rule)s (%(code)s)") % {"rule": name, "code": alert.rule},
        _("Region: %(region)s") % {"region": alert.region_code},
    ]
    if alert.frame_no:
        lines.append(_("Frame number: %(v)s") % {"v": alert.frame_no})
    if alert.battery_serial:
        lines.append(_("Battery code: %(v)s") % {"v": alert.battery_serial})
    if alert.organization:
        lines.append(_("Enterprise concerned: %(v)s") % {"v": alert.organization.name})
    lines += [
        _("Closure due: %(at)s") % {"at": timezone.localtime(alert.due_at).strftime("%Y-%m-%d %H:%M")},
        "",
        _("Open it: %(url)s") % {"url": _link(alert)},
    ]
    return EmailMessage(
        subject=subject.replace("\n", " ")[:200],
        body="\n".join(lines),
        from_email=None,  # DEFAULT_FROM_EMAIL
        to=to,
    )


def notify_dispatched(alert_ids: Iterable[int]) -> int:
    """Mail the regulator of each high-severity alert among `alert_ids` (its users with an address).

    Returns how many messages were sent. Never raises: a failure is logged, and the alert stays in the inbox."""
    try:
        return _notify(list(alert_ids))
    except Exception:  # e-mail must never break dispatch, a task, or a request
        log.warning("alert e-mail failed", exc_info=True)
        return 0


def _claim(alert_id: int) -> bool:
    try:
        return bool(cache.add(SENT_KEY.format(alert_id), 1, SENT_TTL))
    except Exception:  # with the cache down, rather a rare duplicate than a missed mail
        log.warning("could not record alert e-mail %s; sending anyway", alert_id, exc_info=True)
        return True


def _release(alert_id: int) -> None:
    try:
        cache.delete(SENT_KEY.format(alert_id))
    except Exception:
        log.warning("could not release alert e-mail %s", alert_id, exc_info=True)


def _notify(alert_ids: list[int]) -> int:
    if not alert_ids:
        return 0
    alerts = list(
        Alert.objects.select_related("regulator", "organization").filter(
            pk__in=alert_ids, severity=Severity.HIGH, regulator__isnull=False
        )
    )
    recipients = _recipients({a.regulator_id for a in alerts})
    alerts = [a for a in alerts if recipients.get(a.regulator_id)]
    if not alerts:
        return 0
    sent = 0
    # Plain EmailMessage.send(): the default mailer on Django 6.1+ (MAILERS), EMAIL_BACKEND on 5.2.
    with translation.override(settings.LANGUAGE_CODE):
        for alert in alerts:
            if not _claim(alert.pk):
                continue
            try:
                sent += _message(alert, recipients[alert.regulator_id]).send()
            except Exception:  # one refused message, or a server that is down, must not stop the others
                _release(alert.pk)  # a retry of the task may send it
                log.warning("could not mail alert %s", alert.pk, exc_info=True)
    return sent
