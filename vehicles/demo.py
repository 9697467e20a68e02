"""The demo chain over the past year: certified models, about 2,200 bikes and batteries produced, delivered to the
dealers month by month, sold with the seasons (more in spring and summer, and more as the year goes on),
transferred and cancelled, a few deliveries refused at the door, and today's take-backs at the recyclers.

It runs through the same services as real users (production, incoming inspection, sale, transfer, cancellation,
recycling), each given the date its fact happened, so the ledgers verify and the rollups re-derive from them.
Recycling takes no date: the take-backs happen today. Idempotent: nothing happens once the demo maker has produced
bikes.
"""

from __future__ import annotations

import datetime as dt
import random
import zlib
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from stdnum.cn import ric

from catalog.models import BatteryModel, Chemistry, Standard, VehicleModel
from core.demo import Clock
from core.models import Organization, Region, User
from dealers.services import receipt_inspect, sale_register
from recycling.services import recycling_record
from vehicles.models import Vehicle
from vehicles.production import batteries_produce, vehicles_produce
from vehicles.registration import BuyerData, registration_cancel, registration_transfer

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国志红春梅海燕立新文博宇浩然思雨欣怡子涵"

# (dealer key, counties its buyers live in (a county named twice is twice as likely), bikes received, bikes sold)
DEALERS = [
    ("dealer_dc", ["371402", "371402", "371402", "371403", "371425", "371426"], 620, 470),
    ("dealer_lc", ["371403", "371403", "371402", "371422", "371424"], 540, 400),
    ("dealer_bl", ["330206", "330206", "330203", "330212"], 500, 360),
    ("dealer_dc2", ["371402", "371402", "371428"], 40, 30),
    ("dealer_dc3", ["371402", "371427"], 36, 26),
    ("dealer_dc4", ["371402"], 30, 22),
    ("dealer_lc2", ["371403"], 30, 22),
    ("dealer_nj", ["371422"], 30, 22),
    ("dealer_qy", ["371423"], 30, 22),
    ("dealer_ly", ["371424"], 30, 22),
    ("dealer_qh", ["371425"], 30, 22),
    ("dealer_py", ["371426"], 30, 22),
    ("dealer_xj", ["371427"], 30, 22),
    ("dealer_wc", ["371428"], 30, 22),
    ("dealer_ll", ["371481"], 36, 26),
    ("dealer_ll2", ["371481", "371423"], 30, 22),
    ("dealer_yc", ["371482"], 36, 26),
    ("dealer_yc2", ["371482", "371424"], 30, 22),
]
# How a month sells against the year's average: e-bikes sell in spring and summer, little around the Spring Festival.
SEASON = {1: 0.55, 2: 0.45, 3: 0.85, 4: 1.15, 5: 1.35, 6: 1.45, 7: 1.5, 8: 1.4, 9: 1.1, 10: 1.0, 11: 0.8, 12: 0.65}
SALE_DAYS = 360  # sales from this many days ago up to yesterday
GROWTH = 0.6  # the last day sells this much more than the first (the platform's reach grows over the year)
OLD_STANDARD_REFUSED_DAYS_AGO = 330  # after the 2025-12-01 cut-off of GB 17761-2018
TRANSFERS, CANCELLATIONS = 40, 12
CANCELLATION_REASONS = ["车辆报废", "车主申请注销", "车辆损毁无法修复", "车主迁出本市"]


def _battery_model(maker, code, name, chemistry, volts, ah, ccc=True) -> BatteryModel:
    model, _ = BatteryModel.objects.get_or_create(
        code=code,
        defaults={
            "name": name,
            "maker": maker,
            "chemistry": chemistry,
            "nominal_voltage_v": Decimal(volts),
            "capacity_ah": Decimal(ah),
            "ccc_cert_no": f"2025011{zlib.crc32(code.encode()) % 10**6:06d}" if ccc else "",
            "ccc_valid_until": dt.date(2030, 10, 31) if ccc else None,
        },
    )
    return model


def _vehicle_model(maker, code, name, standard, batteries, *, speed=25, mass=54, power=400, valid=dt.date(2030, 6, 30)):
    model, created = VehicleModel.objects.get_or_create(
        code=code,
        defaults={
            "name": name,
            "maker": maker,
            "standard": Standard.objects.get(code=standard),
            "ccc_cert_no": f"2024011{zlib.crc32(code.encode()) % 10**6:06d}",
            "ccc_valid_until": valid,
            "max_speed_kmh": Decimal(speed),
            "mass_kg": Decimal(mass),
            "nominal_voltage_v": Decimal("48"),
            "motor_power_w": power,
        },
    )
    if created:
        model.compatible_battery_models.set(batteries)
    return model


def seed_catalog(orgs: dict[str, Organization]) -> dict[str, object]:
    lithium = _battery_model(
        orgs["battery_maker"], "LD-4820L", "鲁电 48V20Ah 锂离子电池", Chemistry.LITHIUM_ION, 48, 20
    )
    lead = _battery_model(
        orgs["battery_maker"], "LD-4812Q", "鲁电 48V12Ah 铅酸电池", Chemistry.LEAD_ACID, 48, 12, ccc=False
    )
    lithium_big = _battery_model(
        orgs["battery_maker"], "LD-4830L", "鲁电 48V30Ah 锂离子电池", Chemistry.LITHIUM_ION, 48, 30
    )
    return {
        "lithium": lithium,
        "lead": lead,
        "lithium_big": lithium_big,
        "dq_s1": _vehicle_model(orgs["maker_dz"], "DQ-S1", "德骑 S1 新国标电动自行车", "GB17761-2024", [lithium, lead]),
        "dq_s2": _vehicle_model(orgs["maker_dz"], "DQ-S2", "德骑 S2 长续航版", "GB17761-2024", [lithium, lithium_big]),
        "dq_old": _vehicle_model(
            orgs["maker_dz"], "DQ-2018", "德骑 2018 款（旧国标）", "GB17761-2018", [lead], valid=dt.date(2025, 11, 30)
        ),
        "ax_m3": _vehicle_model(orgs["maker_bl"], "AX-M3", "安行 M3 城市通勤车", "GB17761-2024", [lithium]),
    }


# Where buyers were born: an ID number carries the birth place's code as it was then (陵县 before 陵城区).
BIRTH_PLACES = ["371402", "371421", "371425", "371481", "371482", "370102", "330206", "330203", "330281"]


def _id_number(rng: random.Random) -> str:
    """A valid resident ID number (check character, and a birth place whose code existed on the birth date)."""
    while True:
        born = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 45))
        body = f"{rng.choice(BIRTH_PLACES)}{born:%Y%m%d}{rng.randrange(0, 1000):03d}"
        number = body + ric.calc_check_digit(body + "0")
        if ric.is_valid(number):
            return number


def _buyer(rng: random.Random, region: Region) -> BuyerData:
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    phone = rng.choice(["138", "139", "150", "158", "186", "177"]) + f"{rng.randrange(0, 10**8):08d}"
    return BuyerData(name=name, id_number=_id_number(rng), phone=phone, region=region)


def sale_moments(rng: random.Random, clock: Clock, count: int) -> list[dt.datetime]:
    """`count` sale times over the past year, in opening hours, weighted by the season and the year's growth."""
    ages = range(1, SALE_DAYS + 1)
    weights = [SEASON[clock.day(age).month] * (1 + GROWTH * (SALE_DAYS - age) / SALE_DAYS) for age in ages]
    days = rng.choices(ages, weights=weights, k=count)
    return sorted(
        clock.at(clock.day(age), 9) + dt.timedelta(minutes=rng.randrange(0, 600), seconds=rng.randrange(0, 60))
        for age in days
    )


def _deliveries(clock: Clock, sales: list[dt.datetime], unsold: int) -> list[tuple[dt.datetime, int]]:
    """(received at, bikes) per delivery: each month's bikes arrive on its first morning, the unsold stock with the
    last delivery."""
    by_month: dict[dt.date, int] = defaultdict(int)
    for sold_at in sales:
        by_month[sold_at.date().replace(day=1)] += 1
    months = sorted(by_month) or [clock.today.replace(day=1)]
    by_month[months[-1]] += unsold
    return [(clock.at(month, 8, 30), by_month[month]) for month in months]


@dataclass(frozen=True)
class Year:
    """What every dealer's year is drawn from."""

    rng: random.Random
    clock: Clock
    regions: dict[str, Region]
    battery_maker: Organization


def _deliver_and_sell(year: Year, dealer_user: User, supplier: Organization, frames, serials, counties, selling) -> int:
    """One dealer's year: monthly deliveries (bikes from their maker, batteries from theirs), then its sales."""
    sales = sale_moments(year.rng, year.clock, selling)
    start = 0
    for received_at, count in _deliveries(year.clock, sales, len(frames) - selling):
        batch = slice(start, start + count)
        receipt_inspect(
            user=dealer_user,
            supplier_id=supplier.pk,
            frame_nos=frames[batch],
            battery_serials=[],
            received_at=received_at,
        )
        receipt_inspect(
            user=dealer_user,
            supplier_id=year.battery_maker.pk,
            frame_nos=[],
            battery_serials=serials[batch],
            received_at=received_at,
        )
        start += count
    for frame_no, serial, sold_at in zip(frames, serials, sales, strict=False):
        buyer = _buyer(year.rng, year.regions[year.rng.choice(counties)])
        sale_register(user=dealer_user, frame_no=frame_no, battery_serials=[serial], buyer=buyer, sold_at=sold_at)
    return len(sales)


def seed(orgs: dict[str, Organization], clock: Clock | None = None) -> int:
    """Build the demo chain; returns how many bikes were sold (0 when it was already there)."""
    if Vehicle.objects.filter(manufacturer=orgs["maker_dz"]).exists():
        return 0
    clock = clock or Clock.start()
    rng = random.Random(20261122)  # the same demo world on every machine
    models = seed_catalog(orgs)
    users = {u.organization_id: u for u in User.objects.filter(organization__in=orgs.values(), role="admin")}
    maker_dz, maker_bl, battery_maker = (users[orgs[k].pk] for k in ("maker_dz", "maker_bl", "battery_maker"))
    regions = {r.code: r for r in Region.objects.filter(code__regex=r"^(3714|3302)")}

    produced_on = clock.day(400).isoformat()
    dz_received = sum(received for key, _, received, _ in DEALERS if key != "dealer_bl")
    dz_count, bl_count = dz_received + 60, 520  # the maker keeps some; 10 of them are the refused old models
    frames_dz = [f"{orgs['maker_dz'].enterprise_code}225{n:08d}" for n in range(1, dz_count + 1)]
    frames_bl = [f"{orgs['maker_bl'].enterprise_code}225{n:08d}" for n in range(1, bl_count + 1)]
    for model_code, frames in (("DQ-S1", frames_dz[0::2]), ("DQ-S2", frames_dz[1::2])):
        vehicles_produce(
            actor=maker_dz,
            model_code=model_code,
            items=[{"frame_no": f, "motor_no": f"DQM{f[-8:]}", "produced_on": produced_on} for f in frames],
        )
    vehicles_produce(
        actor=maker_bl,
        model_code="AX-M3",
        items=[{"frame_no": f, "motor_no": f"AXM{f[-8:]}", "produced_on": produced_on} for f in frames_bl],
    )
    serials = [f"LD3714{n:010d}" for n in range(1, dz_count + bl_count + 1)]
    batteries_produce(
        actor=battery_maker, model_code="LD-4820L", items=[{"serial": s, "produced_on": produced_on} for s in serials]
    )

    year = Year(rng, clock, regions, orgs["battery_maker"])
    pools = {"dz": iter(frames_dz), "bl": iter(frames_bl)}
    battery_pool = iter(serials)
    sold = 0
    for key, counties, received, selling in DEALERS:
        pool = "bl" if key == "dealer_bl" else "dz"
        frames = [next(pools[pool]) for _ in range(received)]
        supplier = orgs["maker_bl"] if pool == "bl" else orgs["maker_dz"]
        batteries = [next(battery_pool) for _ in frames]
        sold += _deliver_and_sell(year, users[orgs[key].pk], supplier, frames, batteries, counties, selling)

    _refused_deliveries(orgs, users, models, clock, [next(pools["dz"]) for _ in range(10)])
    police = users.get(orgs["dz_police"].pk) or User.objects.filter(organization=orgs["dz_police"]).first()
    _transfers_and_cancellations(rng, clock, regions, police)
    _take_backs(orgs)
    return sold


def _refused_deliveries(orgs, users, models, clock: Clock, old_frames: list[str]) -> None:
    """Deliveries refused at the door; each refusal raises an alert request against the supplier."""
    # Old-standard bikes after the cut-off (无 CCC / 旧国标).
    Vehicle.objects.filter(frame_no__in=old_frames).update(model=models["dq_old"])
    receipt_inspect(
        user=users[orgs["dealer_lc"].pk],
        supplier_id=orgs["maker_dz"].pk,
        frame_nos=old_frames,
        battery_serials=[],
        received_at=clock.at(clock.day(OLD_STANDARD_REFUSED_DAYS_AGO), 10, 20),
    )
    # Frame numbers that no maker registered: labels copied onto bikes from elsewhere (未在平台登记).
    code = orgs["maker_dz"].enterprise_code
    receipt_inspect(
        user=users[orgs["dealer_ly"].pk],
        supplier_id=orgs["maker_dz"].pk,
        frame_nos=[f"{code}225{n:08d}" for n in (99990017, 99990018)],
        battery_serials=[],
        received_at=clock.at(clock.day(200), 14, 5),
    )
    # Battery packs under serials the battery maker never registered.
    receipt_inspect(
        user=users[orgs["dealer_yc"].pk],
        supplier_id=orgs["battery_maker"].pk,
        frame_nos=[],
        battery_serials=["LD3714X000000071", "LD3714X000000072"],
        received_at=clock.at(clock.day(108), 9, 40),
    )


def _transfers_and_cancellations(rng: random.Random, clock: Clock, regions, police: User) -> None:
    """Ownership transfers (过户) and cancellations (注销) through the year, handled by the police."""
    dezhou = sorted(code for code in regions if code.startswith("3714") and code != "371400")
    sold = list(
        Vehicle.objects.filter(status="registered", region__code__startswith="3714", registered_at__lt=clock.now)
        .order_by("pk")
        .values_list("frame_no", "registered_at")
    )
    chosen = rng.sample([s for s in sold if (clock.now - s[1]).days > 100], TRANSFERS + CANCELLATIONS)
    for frame_no, registered_at in chosen[:TRANSFERS]:
        span = (clock.today - registered_at.date()).days
        day = registered_at.date() + dt.timedelta(days=rng.randrange(20, span))
        registration_transfer(
            user=police,
            frame_no=frame_no,
            new_owner=_buyer(rng, regions[rng.choice(dezhou)]),
            transferred_at=clock.at(day, rng.randrange(9, 17), rng.randrange(0, 60)),
        )
    for frame_no, registered_at in chosen[TRANSFERS:]:
        span = (clock.today - registered_at.date()).days
        day = registered_at.date() + dt.timedelta(days=rng.randrange(60, span - 2))
        registration_cancel(
            user=police,
            frame_no=frame_no,
            reason=rng.choice(CANCELLATION_REASONS),
            cancelled_at=clock.at(day, rng.randrange(9, 17), rng.randrange(0, 60)),
        )


def _take_backs(orgs: dict[str, Organization]) -> None:
    """Today's work at the recyclers: cancelled bikes taken back and dismantled, and their batteries with them."""
    cancelled = list(Vehicle.objects.filter(status="cancelled").order_by("pk"))
    for recycler_key, bikes in (("recycler_dz", cancelled[:6]), ("recycler_ll", cancelled[6:8])):
        recycler = User.objects.filter(organization=orgs[recycler_key]).order_by("pk").first()
        for bike in bikes:
            record = recycling_record(
                user=recycler, kind="vehicle", ref=bike.frame_no, disposal="dismantle", vehicle_code=bike.code
            )
            for serial in record.batteries_released:
                recycling_record(user=recycler, kind="battery", ref=serial, disposal="dismantle")
