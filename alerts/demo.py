"""The demo's year of alerts: department subscriptions, repairs through the year (some of them modifications),
consumer complaints, the sweep for batteries not handed over, and the closed loop in every state (closed, late,
dismissed, reopened, overdue, open), so that the inbox, the cockpit and the reports look like a bureau's year.

Repairs are recorded through the real services with the time they were done, and the real rule engine raises the
alerts. The services stamp "now" where they take no date (an alert's creation and dispatch, each step of the loop, a
complaint's filing): the demo, and only the demo, moves those stamps of its own rows to the dates of its story
afterwards, consistently (dispatched seconds after the fact, steps after the dispatch, deadlines from the rules'
SLAs). It never touches the ledger. Idempotent: nothing happens once there are repairs.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.db.models import Count, OuterRef, Subquery

from alerts.complaints import complaint_file
from alerts.engine import drain_alert_requests, drain_outbox
from alerts.models import Alert, AlertDelivery, AlertRequest, AlertTransition, Complaint, DepartmentSubscription
from alerts.rules import DISPATCH_SLA, REGISTRY
from alerts.services import alert_transition, removed_batteries_sweep
from core.demo import Clock
from core.models import Organization, User
from dealers.models import Receipt
from recycling.services import recycling_record
from repairs.models import Repair
from repairs.services import repair_record
from vehicles.models import Battery, Vehicle
from vehicles.production import batteries_produce

S = Alert.Status

# Ordinary repairs a month per shop (brakes, tyres, lights, a controller of the certified type).
ORDINARY = {
    "repair_dc": 2,
    "repair_dc2": 1,
    "repair_dc3": 1,
    "repair_dc4": 1,
    "repair_lc": 1,
    "repair_nj": 1,
    "repair_ly": 1,
    "repair_qh": 1,
    "repair_xj": 1,
    "repair_ll": 1,
    "repair_yc": 1,  # never filed its qualification: each of its repairs is an alert
    "repair_yc2": 1,
    "repair_yc3": 1,
    "repair_bl": 2,
}
ORDINARY_WORK = [
    ("brake_tyre", "更换刹车片"),
    ("brake_tyre", "补胎"),
    ("brake_tyre", "更换外胎"),
    ("other", "更换大灯"),
]
ORDINARY_WORK += [("other", "调整链条"), ("controller_replacement", "更换控制器（原厂同型号）")]

# Modifications (days ago, what): 德城区's 诚信 keeps doing them; most shops did one in the spring and stopped.
MODIFICATIONS = {
    "repair_dc": [
        *[(d, "speed") for d in (325, 300, 262, 221, 170, 128, 75, 33, 9, 3)],
        *[(d, "motor") for d in (312, 280, 240, 190, 150, 90, 52, 20, 1)],
        *[(d, "battery") for d in (96, 64, 44, 26, 12)],
    ],
    "repair_yc": [(200, "speed")],
    "repair_dc2": [(290, "speed")],
    "repair_dc3": [(205, "motor")],
    "repair_lc": [(240, "motor")],
    "repair_nj": [(180, "speed")],
    "repair_ly": [(265, "motor")],
    "repair_qh": [(150, "speed")],
    "repair_xj": [(215, "speed")],
    "repair_yc2": [(305, "motor")],
    "repair_yc3": [(140, "speed")],
    "repair_ll": [(230, "speed")],
    "repair_bl": [(150, "speed"), (60, "motor")],
}
KEPT_PACKS = {44, 12}  # days ago of the battery swaps whose removed packs 诚信 still holds (the rest go today)
# 乐陵's 速达 turned to modifications last month: (day of last month, what, how its loop went).
TURNED = [(8, "speed", "closed"), (16, "speed", "requested"), (24, "motor", "requested")]
# The shops that let their alerts run over (their loops drag); everyone else answers in time.
DRAGGING = {"repair_dc", "repair_yc"}

# (days ago, dealer whose buyer complains (a battery label scanned) or None, county picked, category, text)
COMPLAINTS = [
    (326, "dealer_dc", "", "quality", "新车骑了不到一周刹车就失灵，店家说是正常磨损。"),
    (318, None, "371424", "uncertified_product", "县城有店铺在卖没有 CCC 标志的电动车。"),
    (306, "dealer_lc", "", "battery_fire_risk", "电池充电时发烫，有焦糊味。"),
    (301, None, "371402", "illegal_modification", "小区门口的维修点给人解除限速。"),
    (287, "dealer_ll", "", "dealer_conduct", "买车时店家拒绝开具发票。"),
    (270, "dealer_yc", "", "quality", "电机异响，店家不给保修。"),
    (255, None, "371481", "battery_fire_risk", "楼道里有人给电动车电池充电，存在火灾隐患。"),
    (241, "dealer_dc2", "", "quality", "仪表盘显示的电量不准，骑行中突然断电。"),
    (228, "dealer_nj", "", "dealer_conduct", "店家承诺的赠品头盔没有兑现。"),
    (214, None, "371425", "other", "回收站收购旧电池不开具回收凭证。"),
    (199, "dealer_dc", "", "dealer_conduct", "店家以不买大电池就不给上牌为由搭售。"),
    (186, "dealer_qh", "", "battery_fire_risk", "电池外壳鼓包，店家让自行更换。"),
    (170, None, "371403", "illegal_modification", "街边有人售卖提速器和大功率电机。"),
    (158, "dealer_lc", "", "quality", "车把松动，返修两次仍未解决。"),
    (143, "dealer_xj", "", "quality", "刹车异响，维修后仍未解决。"),
    (131, None, "371482", "uncertified_product", "市场上有无牌无证的电动车出售。"),
    (117, "dealer_wc", "", "dealer_conduct", "店家私自收取上牌服务费。"),
    (103, "dealer_dc", "", "battery_fire_risk", "充电器与电池不匹配，充电时冒烟。"),
    (92, None, "371426", "other", "小区充电桩收费不透明。"),
    (79, "dealer_ly", "", "quality", "车架焊点开裂。"),
    (66, "dealer_lc", "", "dealer_conduct", "店家拒绝按三包规定退换。"),
    (55, None, "371422", "illegal_modification", "快递员的电动车普遍被改装提速。"),
    (41, "dealer_yc2", "", "quality", "电池续航不到宣传的一半。"),
    (30, "dealer_dc", "", "quality", "新车前轮漏气，店家推诿。"),
    (21, "dealer_py", "", "dealer_conduct", "店家未告知车辆需要登记上牌。"),
    (14, None, "371423", "battery_fire_risk", "有人在家中拆装锂电池。"),
    (8, "dealer_ll2", "", "quality", "车辆异响，怀疑是翻新车。"),
    (4, "dealer_lc2", "", "quality", "车灯不亮，店家不予处理。"),
]

NOTES = {  # rule → (request, submit, verify)
    "MOD_SPEED_UNLOCK": ("请于 3 日内恢复限速装置并提交整改照片", "已恢复限速器，照片见附件", "现场核验：限速已恢复"),
    "MOD_MOTOR_POWER": ("请恢复原厂电机（400 W）并提交整改照片", "已换回原厂电机", "现场核验：电机已恢复"),
    "MOD_BATTERY_NONSTANDARD": (
        "请拆除非标配电池，恢复标配电池",
        "已拆除扩容电池，恢复原厂电池",
        "现场核验：已恢复标配",
    ),
    "SHOP_UNQUALIFIED": ("请于 7 日内办理维修资质备案", "已提交备案材料", "核验备案材料：已备案"),
    "STOCK_MISMATCH": ("请将拆下的电池交回收企业并提交回收联单", "已移交回收企业，联单见附件", "核对回收记录：已移交"),
    "PRODUCT_UNCERTIFIED": ("请召回旧国标车辆并说明发货原因", "已全部召回，旧国标车型已下架", "核验召回记录"),
    "PRODUCT_UNREGISTERED": ("请说明该批产品的来源", "该编码非我司产品，已配合调查", "核查完毕，已移交执法"),
    "COMPLAINT": ("请于 7 日内答复消费者并反馈处理结果", "已与消费者协商处理", "电话回访：消费者确认已解决"),
}
NOTE_CLOSE, NOTE_DISMISS, NOTE_REOPEN = "整改完成，结案", "核实为误报", "复查发现仍未整改"
NOTE_DIRECT = "已转属地处理并答复投诉人"


def _drain() -> None:
    while drain_outbox() + drain_alert_requests():
        pass


def _member(org_id: int) -> User:
    return User.objects.filter(organization_id=org_id).order_by("pk").first()


def seed(orgs: dict[str, Organization], clock: Clock | None = None) -> int:
    """Returns how many alerts the demo has (0 changes when it was already seeded)."""
    if Repair.objects.exists():
        return Alert.objects.count()
    clock = clock or Clock.start()
    rng = random.Random(20261205)
    DepartmentSubscription.objects.get_or_create(organization=orgs["dz_fire"], defaults={"categories": ["battery"]})
    DepartmentSubscription.objects.get_or_create(
        organization=orgs["dz_police"], defaults={"categories": ["speed", "motor"]}
    )
    DepartmentSubscription.objects.get_or_create(organization=orgs["dz_env"], defaults={"categories": ["battery"]})
    _drain()  # the chain's own events first (its refused deliveries raise alerts)

    bikes = Bikes.load(clock, rng)
    _complaints(orgs, bikes, clock, rng)  # first: each needs a bike of one particular dealer
    spares = iter(_spare_batteries(orgs, clock))
    work = []  # (when, shop, what, ordinary work or days ago); done in the order of time, as the bikes age
    for key, per_month in ORDINARY.items():
        for _ in range(per_month * 12):
            when = clock.at(clock.day(rng.randrange(2, 330)), rng.randrange(9, 18), rng.randrange(60))
            work.append((when, key, "ordinary", rng.choice(ORDINARY_WORK)))
    for key, done in MODIFICATIONS.items():
        for days_ago, what in done:
            work.append((clock.at(clock.day(days_ago), rng.randrange(9, 18), rng.randrange(60)), key, what, days_ago))
    last_month = clock.month_first(1)
    for day, what, _fate in TURNED:
        work.append((clock.at(last_month.replace(day=day), 15, 20), "repair_ll", what, "turned"))
    kept, turned = set(), []
    for when, key, what, detail in sorted(work, key=lambda w: w[0]):
        if what == "ordinary":
            _repair(orgs[key], bikes, when, kind=detail[0], notes=detail[1])
            continue
        done = _modify(orgs[key], bikes, when, what, spares)
        if what == "battery" and detail in KEPT_PACKS:
            kept.add(done)
        if detail == "turned":
            turned.append(done)
    _drain()
    for when in sorted(r.performed_at for r in Repair.objects.filter(kind="battery_replacement")):
        if when + dt.timedelta(days=31) < clock.now:  # the hourly sweep finds a pack 30 days after its removal
            removed_batteries_sweep(now=when + dt.timedelta(days=30, minutes=50))
    _drain()

    raised = list(Alert.objects.filter(created_at__gte=clock.now).values_list("pk", flat=True))  # all of them
    _backdate_raised(raised, rng)
    _handed_over_today(orgs, kept)
    fates = {alert_id: fate for (_day, _what, fate), alert_id in zip(TURNED, _alerts_of(turned), strict=True)}
    _close_the_loop(raised, orgs, clock, rng, fates)
    return Alert.objects.count()


# ── The work ─────────────────────────────────────────────────────────────────────────────────────────────────


@dataclass
class Bikes:
    """Registered bikes of one owner each (never transferred or cancelled), handed out once each, by county."""

    by_county: dict[str, list[tuple]]
    rng: random.Random

    @classmethod
    def load(cls, clock: Clock, rng: random.Random) -> Bikes:
        rows = (
            Vehicle.objects.filter(status="registered", registered_at__lt=clock.now)
            .annotate(owners=Count("registrations"))
            .filter(owners=1)
            .order_by("registered_at", "pk")
            .values_list("pk", "frame_no", "code", "region_id", "registered_at", "model__code", "dealer_id")
        )
        by_county: dict[str, list[tuple]] = {}
        for row in rows:
            by_county.setdefault(row[3], []).append(row)
        return cls(by_county, rng)

    def take(self, county: str, before: dt.datetime, *, model: str = "", dealer_id: int | None = None) -> tuple:
        """A bike of the county (else of its city) registered at least two days before `before`, rather one of
        the last months than an old one."""
        latest, recent = before - dt.timedelta(days=2), before - dt.timedelta(days=120)
        for counties in ([county], [c for c in self.by_county if c[:4] == county[:4]]):
            found = [
                (code, row)
                for code in counties
                for row in self.by_county.get(code, [])
                if row[4] < latest and (not model or row[5] == model) and dealer_id in (None, row[6])
            ]
            if found:
                code, row = self.rng.choice([f for f in found if f[1][4] > recent] or found)
                self.by_county[code].remove(row)
                return row
        raise LookupError(f"no demo bike left in {county} before {before}")


def _spare_batteries(orgs, clock: Clock) -> list[str]:
    """The larger packs that 诚信 fits in bikes not certified for them."""
    spares = [f"LD3714S{n:09d}" for n in range(1, 9)]
    batteries_produce(
        actor=_member(orgs["battery_maker"].pk),
        model_code="LD-4830L",
        items=[{"serial": s, "produced_on": clock.day(200).isoformat()} for s in spares],
    )
    return spares


def _repair(shop: Organization, bikes: Bikes, performed_at: dt.datetime, *, model: str = "", **work) -> Repair:
    bike = bikes.take(shop.region_id, performed_at, model=model)
    return repair_record(
        user=_member(shop.pk), frame_no=bike[1], vehicle_code=bike[2], performed_at=performed_at, **work
    )  # the bike is in the workshop: its QR label is scanned


def _modify(shop: Organization, bikes: Bikes, performed_at: dt.datetime, what: str, spares) -> Repair | str:
    """A modification; for a battery swap, the serial of the pack taken out."""
    if what == "speed":
        return _repair(
            shop, bikes, performed_at, kind="speed_limiter", measured_max_speed_kmh="42.0", notes="客户要求解除限速"
        )
    if what == "motor":
        return _repair(shop, bikes, performed_at, kind="motor_replacement", fitted_motor_power_w=800, notes="换大电机")
    bike = bikes.take(shop.region_id, performed_at, model="DQ-S1")  # certified for 20 Ah packs, not 30 Ah
    current = list(Battery.objects.filter(vehicle_id=bike[0]).values_list("serial", flat=True))
    repair_record(
        user=_member(shop.pk),
        frame_no=bike[1],
        vehicle_code=bike[2],
        kind="battery_replacement",
        removed_battery_serials=current,
        fitted_battery_serials=[next(spares)],
        notes="扩容换大电池",
        performed_at=performed_at,
    )
    return current[0]


def _complaints(orgs, bikes: Bikes, clock: Clock, rng: random.Random) -> None:
    """Consumers' complaints through the year: about a bike's battery label (the dealer that sold it answers), or
    about a county with no code. Today's names the bike itself."""
    for days_ago, dealer_key, county, category, text in COMPLAINTS:
        filed_at = clock.at(clock.day(days_ago), rng.randrange(8, 21), rng.randrange(60))
        if dealer_key is None:
            complaint = complaint_file(category=category, description=text, region_code=county)
        else:
            dealer = orgs[dealer_key]
            bike = bikes.take(dealer.region_id, filed_at, dealer_id=dealer.pk)
            battery = Battery.objects.filter(vehicle_id=bike[0]).values_list("code", flat=True).first()
            complaint = complaint_file(category=category, description=text, vehicle_code=battery)
        Complaint.objects.filter(pk=complaint.pk).update(created_at=filed_at)
        Alert.objects.filter(dedup_key=complaint.alert_dedup_key).update(event_at=filed_at)
    bike = bikes.take(orgs["dealer_dc"].region_id, clock.now, dealer_id=orgs["dealer_dc"].pk)
    complaint_file(category="battery_fire_risk", description="电池充电时冒烟，已停止使用。", vehicle_code=bike[2])


def _handed_over_today(orgs, kept: set[str]) -> None:
    """诚信 finally hands the packs it took out to the recycler, which dismantles them; it keeps two."""
    shop, recycler = _member(orgs["repair_dc"].pk), _member(orgs["recycler_dz"].pk)
    held = Battery.objects.filter(status="removed", holder=orgs["repair_dc"]).exclude(serial__in=kept).order_by("pk")
    for serial in held.values_list("serial", flat=True):
        recycling_record(user=shop, kind="battery", ref=serial, disposal="handover", handed_to=orgs["recycler_dz"].pk)
        recycling_record(user=recycler, kind="battery", ref=serial, disposal="dismantle")


def _alerts_of(repairs: list[Repair]) -> list[int]:
    return [Alert.objects.get(dedup_key__endswith=f":repair:{repair.pk}").pk for repair in repairs]


# ── The year's timestamps ────────────────────────────────────────────────────────────────────────────────────


def _backdate_raised(raised: list[int], rng: random.Random) -> None:
    """The alerts raised as the engine raises them live: dispatched seconds after their fact (a few minutes, now
    and then past the 10-minute promise), their closure deadline the rule's SLA from then. A refused delivery's
    fact is its inspection."""
    received = dict(Receipt.objects.values_list("pk", "received_at"))
    alerts = list(Alert.objects.filter(pk__in=raised))
    for alert in alerts:
        source = str((alert.evidence or {}).get("source", ""))
        if source.startswith("receipt:"):
            alert.event_at = received[int(source.split(":")[1])]
            AlertRequest.objects.filter(source=source).update(
                created_at=alert.event_at, processed_at=alert.event_at + dt.timedelta(seconds=5)
            )
        late = rng.random() < 0.04
        delay = dt.timedelta(minutes=rng.randrange(11, 40)) if late else dt.timedelta(seconds=rng.randrange(3, 180))
        alert.created_at = alert.dispatched_at = min(alert.event_at + delay, alert.created_at)
        alert.dispatch_due_at = alert.event_at + DISPATCH_SLA
        alert.due_at = alert.dispatched_at + REGISTRY[alert.rule].closure_sla
    Alert.objects.bulk_update(
        alerts, ["event_at", "created_at", "dispatched_at", "dispatch_due_at", "due_at"], batch_size=500
    )
    dispatched = Subquery(Alert.objects.filter(pk=OuterRef("alert_id")).values("dispatched_at")[:1])
    AlertDelivery.objects.filter(alert_id__in=raised).update(delivered_at=dispatched)
    AlertTransition.objects.filter(alert_id__in=raised, action="dispatch").update(at=dispatched)


@dataclass(frozen=True)
class Step:
    action: str
    at: dt.datetime | None  # None: today, as it happens


def _fate(alert: Alert, age: dt.timedelta, sla: dt.timedelta, rng: random.Random, dragging: bool) -> str:
    """How far the loop of an alert got, by its age and whether the enterprise drags its feet."""
    if age < dt.timedelta(hours=12):
        return "open"  # today's: not handled yet
    if alert.organization_id is None:
        return "closed_direct" if age > dt.timedelta(days=3) else "open"
    if alert.rule == "STOCK_MISMATCH" and alert.battery_id:
        handed = Battery.objects.filter(pk=alert.battery_id, holder__kind="recycler").exists()
        return "handed_over_today" if handed else "requested"
    if alert.rule.startswith("PRODUCT_"):
        return "closed"
    if age < sla:
        return rng.choice(["open", "requested", "requested", "submitted"])
    if dragging:
        if age < dt.timedelta(days=30):
            return rng.choice(["requested", "requested", "submitted", "reopened", "closed_late"])
        return rng.choices(["closed", "closed_late", "dismissed", "requested"], [50, 20, 10, 20])[0]
    if age < dt.timedelta(days=21):
        return rng.choice(["closed", "closed", "verified"])
    return rng.choices(["closed", "closed_late", "dismissed"], [75, 12, 13])[0]


def _script(fate: str, start: dt.datetime, age: dt.timedelta, sla: dt.timedelta, rng: random.Random) -> list[Step]:
    """The steps of a fate, each at its time after the dispatch `start`."""

    def hours(low: float, high: float) -> dt.timedelta:
        return dt.timedelta(hours=rng.uniform(low, high))

    requested = start + min(hours(1, 5), age * 0.3)
    if fate in ("open", "overdue"):
        return []
    if fate == "requested":
        return [Step("request_rectification", requested)]
    if fate == "submitted":
        return [Step("request_rectification", requested), Step("submit_rectification", start + age * 0.7)]
    if fate == "closed_direct":
        return [Step("close", start + hours(20, 70))]
    if fate == "dismissed":
        return [Step("dismiss", start + hours(4, 30))]
    if fate == "reopened":
        dismissed = start + hours(20, 30)
        return [
            Step("dismiss", dismissed),
            Step("reopen", dismissed + (start + age - dismissed) * rng.uniform(0.3, 0.8)),
        ]
    if fate == "handed_over_today":
        return [Step("request_rectification", requested)] + [
            Step(action, None) for action in ("submit_rectification", "verify", "close")
        ]
    submitted = start + sla * rng.uniform(0.25, 0.5)
    if fate == "closed_late":
        submitted = start + sla + hours(24, 80)
    verified = submitted + hours(2, 6)
    steps = [
        Step("request_rectification", requested),
        Step("submit_rectification", submitted),
        Step("verify", verified),
    ]
    return steps if fate == "verified" else [*steps, Step("close", verified + hours(0.5, 2))]


def _note(rule: str, action: str) -> str:
    request, submit, verify = NOTES[rule]
    return {
        "request_rectification": request,
        "submit_rectification": submit,
        "verify": verify,
        "close": NOTE_CLOSE,
        "dismiss": NOTE_DISMISS,
        "reopen": NOTE_REOPEN,
    }[action]


def _close_the_loop(raised: list[int], orgs, clock: Clock, rng: random.Random, fates: dict[int, str]) -> None:
    """Each alert's loop through the real service, then its steps moved to their days."""
    dragging = {orgs[key].pk for key in DRAGGING}
    members: dict[int | None, User | None] = {None: None}
    for alert in Alert.objects.filter(pk__in=raised).order_by("dispatched_at", "pk"):
        sla = REGISTRY[alert.rule].closure_sla
        age = clock.now - alert.dispatched_at
        fate = fates.get(alert.pk) or _fate(alert, age, sla, rng, alert.organization_id in dragging)
        steps = _script(fate, alert.dispatched_at, age, sla, rng)
        if any(step.at is not None and step.at > clock.now - dt.timedelta(minutes=5) for step in steps):
            steps = _script("requested", alert.dispatched_at, age, sla, rng)  # too young for more
        for step in steps:
            who = alert.organization_id if step.action == "submit_rectification" else alert.regulator_id
            if who not in members:
                members[who] = _member(who)
            if members[who] is None:  # nobody to take the step (a region without a regulator's login)
                steps = steps[: steps.index(step)]
                break
            note = NOTE_DIRECT if fate == "closed_direct" else _note(alert.rule, step.action)
            alert_transition(user=members[who], alert_id=alert.pk, action=step.action, note=note)
        _backdate_steps(alert, steps, sla)


def _backdate_steps(alert: Alert, steps: list[Step], sla: dt.timedelta) -> None:
    """Move the steps just taken (and the alert's deadline and closure) to the times of the script."""
    # The steps just taken, the last of their kinds: not the engine's repeats or a sweep's escalations before them.
    taken = list(alert.transitions.filter(action__in={step.action for step in steps}).order_by("-id")[: len(steps)])
    taken.reverse()
    due, closed_at = alert.dispatched_at + sla, None
    for transition, step in zip(taken, steps, strict=True):
        if step.at is None:  # today's steps keep their time
            closed_at = transition.at if transition.to_status in (S.CLOSED, S.DISMISSED) else None
            continue
        if step.action == "reopen":
            due = step.at + sla
        closed_at = step.at if transition.to_status in (S.CLOSED, S.DISMISSED) else None
        AlertTransition.objects.filter(pk=transition.pk).update(at=step.at, due_at=due)
    if taken:
        Alert.objects.filter(pk=alert.pk).update(due_at=due, closed_at=closed_at)
