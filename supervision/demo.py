"""The demo's supervision work, one small function per concern; `seed(orgs)` runs them all.

- Duties (日管控、周排查、月调度): every demo manufacturer, battery maker and dealer has kept its records since the
  first day of last month, most on time, some filed a few days late, some never; an enterprise or two files
  hardly at all. Today's, this week's and this month's records are left to do. The sweep then raises the
  DUTY_OVERDUE alerts of the last days' missing records (the rule engine's drain turns them into alerts).

- Inspections (检查任务): 德城区's monthly 双随机 plan of its dealers and repair shops, risk first, drawn last month
  (every task done, hazards and actions taken, one hazard rectified and verified) and this month (one done, the
  rest to do); 德州市's one-off check of repair shops made twelve days ago, three done and two overdue.

- Sampling and recall (监督抽查、召回): four batches sampled in the last weeks, one of 德骑 S2 failed at a 乐陵市
  dealer; 德骑 recalled every S2 a fortnight ago, and the 德城区 dealer and repair shop have remedied some since.

Deterministic and idempotent: which records are late or missing follows from the enterprise and the period, and
a record already there is kept; a second run adds nothing.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterable
from decimal import Decimal

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
    return {
        **seed_duties(orgs, today=today),
        **seed_inspections(orgs, today=today),
        **seed_sampling(orgs, today=today),
        **seed_recall(orgs, today=today),
    }


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


# ── Inspections (检查任务) ───────────────────────────────────────────────────────────────────────────────────────

DEMO_PLANS = ("德城区电动自行车经销与维修企业月度双随机抽查", "德州市电动自行车维修企业专项检查")
DEALER_CHECKLIST = [
    "进货查验记录是否齐全（合格证、CCC 证书、标配电池）",
    "是否销售无 CCC 认证或旧国标超标车",
    "是否提供非法改装、拆除限速服务",
    "日管控、周排查、月调度记录是否按时填报",
]
SHOP_CHECKLIST = [
    "维修资质是否在有效期内",
    "是否为车辆更换非标配电池或超功率电机",
    "是否拆除或改装限速装置",
    "拆下的废旧电池是否按期交回收",
]
# What an inspection found and did, by its place in the round: (hazards, the item not in order, its note, actions).
OUTCOMES = [
    (0, None, "", []),
    (1, 1, "店内 2 台电动自行车无 CCC 标志", [("order_correction", None, None), ("confiscation", None, 2)]),
    (0, None, "", [("interview", None, None)]),
    (2, 2, "为 1 台车拆除限速器，另有 1 台提速改装在修", [("case", None, None), ("fine", "5000.00", None)]),
]


def _outcome(index: int, checklist: list[str]) -> dict:
    hazards, bad, note, actions = OUTCOMES[index % len(OUTCOMES)]
    return {
        "findings": [
            {"item": item, "ok": i != bad, "note": note if i == bad else ""} for i, item in enumerate(checklist)
        ],
        "hazards_found": hazards,
        "actions": [
            {"kind": kind, "amount_yuan": Decimal(amount) if amount else None, "quantity": quantity, "note": ""}
            for kind, amount, quantity in actions
        ],
    }


def seed_inspections(orgs: dict[str, Organization], *, today: dt.date | None = None) -> dict[str, int]:
    """The demo's two inspection plans with their tasks, results and actions, and one hazard's closed loop."""
    from alerts.engine import drain_alert_requests
    from alerts.models import Alert, RuleCode
    from alerts.services import alert_transition
    from supervision.draw import inspection_plan_draw
    from supervision.inspections import inspection_plan_create, inspection_result_record
    from supervision.models import InspectionPlan, InspectionTask

    if InspectionPlan.objects.filter(name__in=DEMO_PLANS).exists():
        return {}
    today = today or timezone.localdate()
    district = User.objects.filter(username="dc_regulator").first()
    city = User.objects.filter(username="dz_regulator").first()
    if district is None or city is None:
        return {}
    last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    monthly, _ = inspection_plan_create(
        user=district,
        name=DEMO_PLANS[0],
        region_code="371402",
        kinds=["dealer", "repair_shop"],
        frequency=InspectionPlan.Frequency.MONTHLY,
        sample_size=4,
        risk_weighted=True,
        checklist=DEALER_CHECKLIST,
        due_days=20,
        now=_moment(last_month, 9),
        seed=f"demo:{DEMO_PLANS[0]}",
    )
    # Beat's draw of this month. The demo's draws have a seed of their own, so that every machine draws the same
    # enterprises and the demo's story (its hazards, its map) is the same everywhere.
    inspection_plan_draw(plan=monthly, now=_moment(today.replace(day=1), 1), seed=f"demo:{DEMO_PLANS[0]}")
    one_off, _ = inspection_plan_create(
        user=city,
        name=DEMO_PLANS[1],
        region_code="371400",
        kinds=["repair_shop"],
        frequency=InspectionPlan.Frequency.ONCE,
        sample_size=5,
        risk_weighted=True,
        checklist=SHOP_CHECKLIST,
        due_days=10,
        now=_moment(today - dt.timedelta(days=12), 9),
        seed=f"demo:{DEMO_PLANS[1]}",
    )
    done = 0
    rounds = [
        (monthly, f"{last_month:%Y-%m}", district, last_month + dt.timedelta(days=3), None),
        (monthly, f"{today:%Y-%m}", district, today.replace(day=1), 1),
        (one_off, None, city, today - dt.timedelta(days=11), 3),
    ]
    for plan, period, inspector, first_day, how_many in rounds:
        tasks = InspectionTask.objects.filter(plan=plan).order_by("pk")
        if period:
            tasks = tasks.filter(period=period)
        for index, task in enumerate(list(tasks)[:how_many]):
            day = min(first_day + dt.timedelta(days=2 * index), today)
            inspection_result_record(
                user=inspector,
                task_id=task.pk,
                performed_at=min(_moment(day, 10), timezone.now() - dt.timedelta(hours=1)),
                note="",
                **_outcome(index + (1 if plan is one_off else 0), plan.checklist),
            )
            done += 1
    while drain_alert_requests():
        pass
    # One hazard of last month rectified by its enterprise and verified by the district.
    alert = (
        Alert.objects.filter(rule=RuleCode.INSPECTION_HAZARD, region_code__startswith="371402")
        .order_by("created_at")
        .first()
    )
    rectified = 0
    owner = User.objects.filter(organization_id=alert.organization_id).order_by("pk").first() if alert else None
    if alert is not None and owner is not None and alert.status == Alert.Status.DISPATCHED:
        alert_transition(user=district, alert_id=alert.pk, action="request_rectification", note="限期 7 日内整改")
        alert_transition(user=owner, alert_id=alert.pk, action="submit_rectification", note="无证车辆已下架退回厂家")
        alert_transition(user=district, alert_id=alert.pk, action="verify", note="复查确认已整改")
        rectified = 1
    return {
        "inspection_plans": 2,
        "inspection_tasks": InspectionTask.objects.filter(plan__in=[monthly, one_off]).count(),
        "inspections_done": done,
        "hazards_rectified": rectified,
    }


# ── Supervisory sampling (监督抽查) and a recall (召回) ─────────────────────────────────────────────────────────

# (regulator's login, enterprise key, kind, model, batch number, days ago, failed items, lab report number)
DEMO_BATCHES = [
    ("dc_regulator", "maker_dz", "vehicle", "DQ-S1", "DC-CC-2026-031", 40, [], "SDQI-2026-0412"),
    ("dz_regulator", "battery_maker", "battery", "LD-4820L", "DZ-CC-2026-017", 33, [], "SDQI-2026-0388"),
    (
        "dz_regulator",
        "dealer_ll",
        "vehicle",
        "DQ-S2",
        "DZ-CC-2026-044",
        21,
        ["最高车速（实测 31 km/h，限值 25 km/h）", "防篡改设计（控制器限速参数可被改写）"],
        "SDQI-2026-0527",
    ),
    ("bl_regulator", "dealer_bl", "vehicle", "AX-M3", "BL-CC-2026-009", 15, [], "ZJQI-2026-1130"),
]
DEMO_RECALL_REASON = (
    "控制器限速程序缺陷：部分车辆最高车速可超过 25 km/h（监督抽查批次 DZ-CC-2026-044 不合格）。"
    "请到销售商或维修点刷写控制器程序并复测车速，费用由生产企业承担。"
)
DEMO_REMEDIES = 40  # of the recall's units, remedied by the dealer and the repair shop of 德城区 so far


def seed_sampling(orgs: dict[str, Organization], *, today: dt.date | None = None) -> dict[str, int]:
    """The demo's sampled batches: three passed, one of 德骑 S2 failed at a 乐陵市 dealer (its alert raised, the vehicle
    category raised to high)."""
    from alerts.engine import drain_alert_requests
    from supervision.models import SamplingBatch
    from supervision.sampling import sampling_record

    today = today or timezone.localdate()
    users = {u.username: u for u in User.objects.filter(username__in={b[0] for b in DEMO_BATCHES})}
    recorded = set(SamplingBatch.objects.values_list("batch_no", flat=True))
    made = 0
    for login, key, kind, model, batch_no, days_ago, failed, report in DEMO_BATCHES:
        user, org = users.get(login), orgs.get(key)
        if user is None or org is None or batch_no in recorded:
            continue
        sampling_record(
            user=user,
            organization_id=org.pk,
            model_kind=kind,
            model_code=model,
            batch_no=batch_no,
            sampled_at=today - dt.timedelta(days=days_ago),
            result=SamplingBatch.Result.FAIL if failed else SamplingBatch.Result.PASS,
            failed_items=failed,
            lab_report_no=report,
        )
        made += 1
    while drain_alert_requests():
        pass
    return {"sampling_batches": made} if made else {}


def seed_recall(orgs: dict[str, Organization], *, today: dt.date | None = None) -> dict[str, int]:
    """德骑's recall of every S2 after the failed batch, started a fortnight ago, with some units remedied by the
    德城区 dealer and repair shop since."""
    from supervision.models import Recall, RecallItem
    from supervision.recalls import recall_remedy, recall_start
    from vehicles.models import Vehicle

    today = today or timezone.localdate()
    maker, dealer, shop = (User.objects.filter(username=name).first() for name in ("maker", "dealer", "repair"))
    if maker is None or dealer is None or shop is None or Recall.objects.filter(model_code="DQ-S2").exists():
        return {}
    if not Vehicle.objects.filter(model__code="DQ-S2").exists():
        return {}
    started = _moment(today - dt.timedelta(days=14), 9)
    recall = recall_start(
        user=maker,
        model_kind="vehicle",
        model_code="DQ-S2",
        produced_from=today - dt.timedelta(days=3 * 365),
        produced_to=today,
        reason=DEMO_RECALL_REASON,
    )
    Recall.objects.filter(pk=recall.pk).update(created_at=started)
    items = RecallItem.objects.filter(recall=recall, region_code__startswith="371402").select_related("vehicle")
    remedied = 0
    for index, item in enumerate(items.order_by("pk")[:DEMO_REMEDIES]):
        done = recall_remedy(user=dealer if index % 3 else shop, recall=recall, ref=item.vehicle.frame_no)
        at = started + dt.timedelta(days=1 + index * 12 // DEMO_REMEDIES, hours=index % 8)
        RecallItem.objects.filter(pk=done.pk).update(remedied_at=min(at, timezone.now()))
        remedied += 1
    return {"recall_affected": recall.affected, "recall_remedied": remedied}
