"""Notices the platform leaves for an organization: shown on its home page, and e-mailed to its members who have
an address (a courtesy: a mail server that is down never fails the work that sent the notice)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMessage

from core.models import Notice, Organization, User

log = logging.getLogger(__name__)
SHOWN = 5


def notice_send(*, organization: Organization, title: str, url: str = "", body: str = "") -> Notice:
    notice = Notice.objects.create(organization=organization, title=title[:200], url=url[:300])
    to = list(
        User.objects.filter(organization=organization, is_active=True)
        .exclude(email="")
        .order_by("pk")
        .values_list("email", flat=True)
        .distinct()
    )
    if to:
        link = f"{settings.SITE_URL.rstrip('/')}{url}" if url and settings.SITE_URL else url
        try:
            EmailMessage(subject=title, body="\n\n".join(p for p in (body, link) if p), to=to).send()
        except Exception:  # the notice on the home page is the record; the mail is a courtesy
            log.warning("notice %s not mailed", notice.pk, exc_info=True)
    return notice


def notices_for(user: User) -> list[Notice]:
    if user.organization_id is None:
        return []
    return list(Notice.objects.filter(organization_id=user.organization_id)[:SHOWN])
