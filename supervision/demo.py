"""The demo's supervision work, one small function per concern; `seed(orgs)` runs them all.

- Duties (日管控、周排查、月调度): every demo manufacturer, battery maker and dealer has kept its records since the
  first day of last month, most on time, some filed a few days late, some never; an enterprise or two files
  hardly at all. Today's, this week's and this month's records are left to do. The sweep then raises the
  DUTY_OVERDUE alerts of the last days' missing records (the rule engine's drain turns them into alerts).

Deterministic and idempotent: which records are late or missing follows from the enterprise and the period, and
a record already there is kept; a second run adds nothing.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from core.models import Organization, User
from supervision.duties import DUTY_HOLDER_KINDS, checklist_for, duty_overdue_sweep
from supervision.duty_periods import Period, periods_between
from supervision.models import DutyKind, DutyRecord

SIGNERS = ["王建国", "李秀英", "张伟", "刘芳", "陈静", "杨磊"]
# Findings an enterprise writes when an item is not in order, by duty.
FINDINGS = {
    DutyKind.DAILY: "发现 1 台在售车辆合格证缺失，已下架并联系厂家补发",
    DutyKind.WEEKLY: "本周消费者投诉 1 件尚未反馈，已安排专人跟进",
    DutyKind.MONTHLY: "上月整改事项 1 项未完成，已明确责任人和完成时限",
}
NEGLECTFUL = {"dealer_yc2", "dealer_ll2"}  # the demo's enterprises that hardly keep their records


def seed(orgs: dict[str, Organization], *, today: dt.date | None = None) -> dict[str, int]:
    """Everything of the supervision demo, for the demo organizations keyed as core.demo names them."""
    return seed_duties(orgs, today=today)


def _roll(*parts) -> int:
    """0–99, the same for the same enterprise and period on every run."""
    return zlib.crc32(":".join(map(str, parts)).encode()) % 100


def _moment(day: dt.date, hour: int) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 0)))


def _owed(first: dt.date, today: dt.date) -> list[Period]:
    """Every period from `first` that ended before today."""
    return [
        period
        for kind in DutyKind.values
        for period in periods_between(kind, first, today - dt.timedelta(days=1))
        if period.start >= first and period.end < today
    ]


def _record(org: Organization, key: str, period: Period, filer: User, checklist: list[str], today: dt.date):
    """The record this enterprise kept of this period, or None if it never did."""
    roll = _roll(org.uscc, period.code)
    if roll < (60 if key in NEGLECTFUL else 8):
        return None
    late = roll < (80 if key in NEGLECTFUL else 20)
    filed_on = period.end + dt.timedelta(days=1 + roll % 3) if late else period.end
    filed_on = min(filed_on, today)
    late = filed_on > period.end
    odd = roll % 17 == 0 and checklist  # now and then an item not in order, with what was done about it
    items = [
        {
            "item": item,
            "ok": not (odd and index == len(checklist) - 1),
            "note": FINDINGS[period.kind] if odd and index == len(checklist) - 1 else "",
        }
        for index, item in enumerate(checklist)
    ]
    record = DutyRecord(
        organization=org,
        region_code=org.region_id,
        kind=period.kind,
        period=period.code,
        period_start=period.start,
        period_end=period.end,
        items=items,
        signed_by=SIGNERS[zlib.crc32(org.uscc.encode()) % len(SIGNERS)],
        late=late,
        filed_by=filer,
    )
    record.demo_filed_at = _moment(filed_on, 10 if late else 17 + roll % 3)
    return record


@transaction.atomic
def seed_duties(orgs: dict[str, Organization], *, today: dt.date | None = None) -> dict[str, int]:
    """The duty records of the demo's duty holders since the first day of last month, and the overdue sweep."""
    today = today or timezone.localdate()
    first = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    holders = {key: org for key, org in orgs.items() if org.kind in DUTY_HOLDER_KINDS}
    # They have been on the platform all along (the demo's year of history): owing records from `first` on.
    Organization.objects.filter(pk__in=[o.pk for o in holders.values()], created_at__gt=_moment(first, 9)).update(
        created_at=_moment(first, 9)
    )
    filers = {}
    for user in User.objects.filter(organization__in=holders.values()).order_by("pk"):
        filers.setdefault(user.organization_id, user)
    kept = set(
        DutyRecord.objects.filter(organization__in=holders.values()).values_list("organization_id", "kind", "period")
    )
    owed = _owed(first, today)
    new = []
    for key, org in holders.items():
        filer = filers.get(org.pk)
        if filer is None:
            continue
        checklists = {kind: checklist_for(org.kind, kind) or [] for kind in DutyKind.values}
        for period in owed:
            if (org.pk, period.kind, period.code) in kept:
                continue
            record = _record(org, key, period, filer, checklists[period.kind], today)
            if record is not None:
                new.append(record)
    _create_with_their_times(new)
    return {"duty_records": len(new), "duty_overdue_raised": duty_overdue_sweep(today=today)}


def _create_with_their_times(records: Iterable[DutyRecord]) -> None:
    """filed_at is set on insert (auto_now_add); the demo's records were filed at their own times."""
    records = DutyRecord.objects.bulk_create(list(records), batch_size=1000)
    for record in records:
        record.filed_at = record.demo_filed_at
    DutyRecord.objects.bulk_update(records, ["filed_at"], batch_size=1000)
