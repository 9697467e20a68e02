"""The demo chain: certified models, a few thousand bikes and batteries produced, received, sold and transferred.

It runs through the same services as real users (production, incoming inspection, sale, transfer), so the demo
data has ledgers that verify. Idempotent: it does nothing once the demo maker has produced bikes.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.utils import timezone
from stdnum.cn import ric

from catalog.models import BatteryModel, Chemistry, Standard, VehicleModel
from core.models import Organization, User
from dealers.services import receipt_inspect, sale_register
from vehicles.models import Vehicle
from vehicles.production import batteries_produce, vehicles_produce
from vehicles.registration import BuyerData, registration_transfer

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰建国志红春梅海燕立新文博宇浩然思雨欣怡子涵"

# (dealer key, counties its buyers live in, bikes received, bikes sold)
DEALERS = [
    ("dealer_dc", ["371402", "371403", "371425"], 800, 600),
    ("dealer_lc", ["371403", "371402", "371481"], 700, 520),
    ("dealer_bl", ["330206", "330203", "330212"], 500, 360),
]


def _battery_model(maker, code, name, chemistry, volts, ah, ccc=True) -> BatteryModel:
    model, _ = BatteryModel.objects.get_or_create(
        code=code,
        defaults={
            "name": name,
            "maker": maker,
            "chemistry": chemistry,
            "nominal_voltage_v": Decimal(volts),
            "capacity_ah": Decimal(ah),
            "ccc_cert_no": f"2025011{abs(hash(code)) % 10**6:06d}" if ccc else "",
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
            "ccc_cert_no": f"2024011{abs(hash(code)) % 10**6:06d}",
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


def _buyer(rng: random.Random, county: str) -> BuyerData:
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    phone = rng.choice(["138", "139", "150", "158", "186", "177"]) + f"{rng.randrange(0, 10**8):08d}"
    from core.models import Region

    return BuyerData(name=name, id_number=_id_number(rng), phone=phone, region=Region.objects.get(code=county))


def seed(orgs: dict[str, Organization]) -> int:
    """Build the demo chain; returns how many bikes were sold (0 when it was already there)."""
    if Vehicle.objects.filter(manufacturer=orgs["maker_dz"]).exists():
        return 0
    rng = random.Random(20261122)  # the same demo world on every machine
    models = seed_catalog(orgs)
    users = {u.organization_id: u for u in User.objects.filter(organization__in=orgs.values(), role="admin")}
    maker_dz, maker_bl, battery_maker = (users[orgs[k].pk] for k in ("maker_dz", "maker_bl", "battery_maker"))

    today = timezone.localdate()
    produced_on = (today - dt.timedelta(days=400)).isoformat()
    dz_count, bl_count = 1600, 520
    frames_dz = [f"{orgs['maker_dz'].enterprise_code}225{n:08d}" for n in range(1, dz_count + 1)]
    frames_bl = [f"{orgs['maker_bl'].enterprise_code}225{n:08d}" for n in range(1, bl_count + 1)]
    half = dz_count // 2
    vehicles_produce(
        actor=maker_dz,
        model_code="DQ-S1",
        items=[{"frame_no": f, "motor_no": f"DQM{f[-8:]}", "produced_on": produced_on} for f in frames_dz[:half]],
    )
    vehicles_produce(
        actor=maker_dz,
        model_code="DQ-S2",
        items=[{"frame_no": f, "motor_no": f"DQM{f[-8:]}", "produced_on": produced_on} for f in frames_dz[half:]],
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

    frame_pool = {"dealer_dc": frames_dz[:800], "dealer_lc": frames_dz[800:1500], "dealer_bl": frames_bl[:500]}
    battery_pool = iter(serials)
    sold = 0
    for key, counties, received, selling in DEALERS:
        dealer_user = users[orgs[key].pk]
        frames = frame_pool[key][:received]
        batteries = [next(battery_pool) for _ in frames]
        supplier = orgs["maker_bl"] if key == "dealer_bl" else orgs["maker_dz"]
        received_at = timezone.now() - dt.timedelta(days=370)
        receipt_inspect(
            user=dealer_user, supplier_id=supplier.pk, frame_nos=frames, battery_serials=[], received_at=received_at
        )
        receipt_inspect(
            user=dealer_user,
            supplier_id=orgs["battery_maker"].pk,
            frame_nos=[],
            battery_serials=batteries,
            received_at=received_at,
        )
        for frame_no, serial in zip(frames[:selling], batteries[:selling], strict=True):
            sold_at = timezone.now() - dt.timedelta(days=rng.randrange(1, 360), minutes=rng.randrange(0, 600))
            sale_register(
                user=dealer_user,
                frame_no=frame_no,
                battery_serials=[serial],
                buyer=_buyer(rng, rng.choice(counties)),
                sold_at=sold_at,
            )
            sold += 1

    # A delivery of old-standard bikes after the cut-off: refused at the door, and an alert request raised.
    old_frames = frames_dz[1500:1510]
    Vehicle.objects.filter(frame_no__in=old_frames).update(model=models["dq_old"])
    receipt_inspect(
        user=users[orgs["dealer_lc"].pk], supplier_id=orgs["maker_dz"].pk, frame_nos=old_frames, battery_serials=[]
    )

    # Ownership transfers (过户) handled by the police.
    police = users.get(orgs["dz_police"].pk) or User.objects.filter(organization=orgs["dz_police"]).first()
    for vehicle in Vehicle.objects.filter(status="registered", region__code__startswith="3714").order_by("pk")[:40]:
        registration_transfer(
            user=police,
            frame_no=vehicle.frame_no,
            new_owner=_buyer(rng, "371402"),
            transferred_at=timezone.now() - dt.timedelta(hours=rng.randrange(1, 48)),
        )
    return sold
