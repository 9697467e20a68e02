"""Write paths of alerts. For now: recording alert requests raised by the chain."""

from __future__ import annotations

from alerts.models import AlertRequest
from core.models import Organization


def alert_request_record(
    *,
    rule: str,
    region_code: str,
    source: str,
    organization: Organization | None = None,
    frame_no: str = "",
    battery_serial: str = "",
    evidence: dict | None = None,
) -> AlertRequest:
    """Store a finding once per source and subject (a replayed request does not raise it twice)."""
    request, _ = AlertRequest.objects.get_or_create(
        source=source,
        rule=rule,
        frame_no=frame_no,
        battery_serial=battery_serial,
        defaults={"region_code": region_code, "organization": organization, "evidence": evidence or {}},
    )
    return request
