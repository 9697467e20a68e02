"""The demo's trade-ins (以旧换新) in 北仑区: a dozen old bikes traded in at 北仑区新碶电动车经营部 across the
district's streets over the past six weeks, most of them old-standard bikes on record (备案非标车) registered in 2024
and 2025, a few new-standard ones; a recycler of 北仑区 takes back the older ones today, and the two past their 30
days raise the dealer's STOCK_MISMATCH alert.

It runs through the same services as the counter (production, incoming inspection, sale, trade-in, take-back), each
given the date its fact happened; the take-backs happen today, as recycling takes no date. Call it after the demo
chain (vehicles/demo.py), whose stock of new bikes it sells: `dealers.demo_trade_ins.seed(orgs, clock)`. Idempotent:
nothing happens once the dealer has a trade-in, or without the demo chain.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.utils import timezone
from stdnum.cn import ric

from catalog.models import BatteryModel, Chemistry, Standard, VehicleModel
from core.codes import make_uscc
from core.demo import Clock
from core.models import Organization, OrganizationKind, Region, User
from dealers.models import TradeIn
from dealers.selectors import stock_batteries, stock_vehicles
from dealers.services import receipt_inspect, sale_register
from dealers.trade_ins import old_bike_find, trade_in_register
from recycling.services import recycling_record
from vehicles.models import Battery, Registration, Vehicle
from vehicles.production import batteries_produce, vehicles_produce
from vehicles.registration import BuyerData

OLD_MODEL = "AX-2019"
OLD_BATTERY_MODEL = "LD-4812Q"  # the demo's lead-acid pack (vehicles/demo.py)
# Days ago of each trade-in and whether the old bike is old-standard; the first two are past their 30 days.
TRADE_INS = [
    (40, True),
    (36, True),
    (30, False),
    (27, True),
    (23, True),
    (20, False),
    (16, True),
    (13, True),
    (9, False),
    (6, True),
    (3, False),
    (1, True),
]
HANDED_OVER = {30, 27, 23, 20, 16, 13}  # days ago of the trade-ins whose old bike a recycler takes back today
RECYCLER_USCC = make_uscc("91330206MA0090001")
NAMES = ["王海波", "李静", "张伟", "陈丽", "杨帆", "赵敏", "周杰", "吴芳", "徐明", "孙燕"]


def _owner(rng: random.Random, index: int, region: Region) -> BuyerData:
    """An owner of 北仑区 with a valid resident ID number (check character) and a mobile number."""
    while True:  # a birth place code that existed on the birth date (北仑区 from 1987)
        born = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 45))
        body = f"{rng.choice(('330206', '330203', '330211'))}{born:%Y%m%d}{rng.randrange(0, 1000):03d}"
        id_number = body + ric.calc_check_digit(body + "0")
        if ric.is_valid(id_number):
            break
    phone = f"139{rng.randrange(0, 10**8):08d}"
    return BuyerData(name=NAMES[index % len(NAMES)], id_number=id_number, phone=phone, region=region)


def _user(org: Organization) -> User | None:
    return User.objects.filter(organization=org).order_by("pk").first()


def _recycler() -> User:
    """北仑区's recycler (the demo world has none of its own there): an enterprise with an account nobody logs in to."""
    org, _ = Organization.objects.get_or_create(
        uscc=RECYCLER_USCC,
        defaults={
            "name": "宁波市北仑区绿港再生资源回收有限公司",
            "kind": OrganizationKind.RECYCLER,
            "region": Region.objects.get(code="330206"),
            "qualification_no": "BLHS-0001",
            "qualification_valid_until": dt.date(2028, 12, 31),
        },
    )
    user = _user(org)
    if user is None:
        user = User(username="recycler_bl", organization=org, role=User.Role.ADMIN)
        user.set_unusable_password()
        user.save()
    return user


def _old_standard_bikes(orgs, clock: Clock, rng: random.Random, streets: list[Region], count: int) -> list[Vehicle]:
    """Old-standard bikes sold and registered to owners of 北仑区's streets before the 2025-12-01 cut-off."""
    maker, battery_maker, dealer = (_user(orgs[k]) for k in ("maker_bl", "battery_maker", "dealer_bl"))
    model, created = VehicleModel.objects.get_or_create(
        code=OLD_MODEL,
        defaults={
            "name": "安行 2019 款（旧国标）",
            "maker": orgs["maker_bl"],
            "standard": Standard.objects.get(code="GB17761-2018"),
            "ccc_cert_no": "2019011119000001",
            "ccc_valid_until": dt.date(2025, 11, 30),
            "max_speed_kmh": Decimal(25),
            "mass_kg": Decimal(55),
            "nominal_voltage_v": Decimal(48),
            "motor_power_w": 400,
        },
    )
    battery_model = BatteryModel.objects.get(code=OLD_BATTERY_MODEL)
    if created:
        model.compatible_battery_models.set([battery_model])
    frames = [f"{orgs['maker_bl'].enterprise_code}224{n:08d}" for n in range(1, count + 1)]
    serials = [f"LD3302Q{n:09d}" for n in range(1, count + 1)]
    produced_on = dt.date(2024, 3, 1).isoformat()
    vehicles_produce(
        actor=maker,
        model_code=OLD_MODEL,
        items=[{"frame_no": f, "motor_no": f"AXM{f[-8:]}", "produced_on": produced_on} for f in frames],
    )
    batteries_produce(
        actor=battery_maker,
        model_code=OLD_BATTERY_MODEL,
        items=[{"serial": s, "produced_on": produced_on} for s in serials],
    )
    received_at = clock.at(dt.date(2024, 4, 1), 9)
    receipt_inspect(
        user=dealer, supplier_id=orgs["maker_bl"].pk, frame_nos=frames, battery_serials=[], received_at=received_at
    )
    receipt_inspect(
        user=dealer,
        supplier_id=orgs["battery_maker"].pk,
        frame_nos=[],
        battery_serials=serials,
        received_at=received_at,
    )
    for index, (frame_no, serial) in enumerate(zip(frames, serials, strict=True)):
        sold_on = dt.date(2024, 4, 15) + dt.timedelta(days=50 * index + rng.randrange(0, 20))
        sale_register(
            user=dealer,
            frame_no=frame_no,
            battery_serials=[serial],
            buyer=_owner(rng, index, streets[index % len(streets)]),
            sold_at=clock.at(sold_on, 10 + index % 7, rng.randrange(0, 60)),
        )
    return list(Vehicle.objects.filter(frame_no__in=frames).order_by("frame_no"))


def seed(orgs: dict[str, Organization], clock: Clock | None = None) -> int:
    """Trade in a dozen old bikes at 北仑区's demo dealer; returns how many (0 when done before or no chain)."""
    dealer_org = orgs["dealer_bl"]
    if TradeIn.objects.filter(dealer=dealer_org).exists() or not stock_vehicles(dealer_org.pk).exists():
        return 0
    clock = clock or Clock.start()
    rng = random.Random(20260206)
    dealer = _user(dealer_org)
    streets = list(Region.objects.filter(parent_id="330206", level=Region.Level.TOWNSHIP).order_by("code"))
    old_standard = _old_standard_bikes(orgs, clock, rng, streets, sum(1 for _, old in TRADE_INS if old))
    newest = clock.now - dt.timedelta(days=60)
    new_standard = list(
        Vehicle.objects.filter(
            status=Vehicle.Status.REGISTERED,
            dealer=dealer_org,
            region__code__startswith="330206",
            registered_at__lt=newest,
        )
        .exclude(model__code=OLD_MODEL)
        .order_by("registered_at")[: sum(1 for _, old in TRADE_INS if not old)]
    )
    in_stock = stock_vehicles(dealer_org.pk).order_by("frame_no")
    new_bikes = list(in_stock.values_list("frame_no", flat=True))
    certified = in_stock.first().model.compatible_battery_models.all()
    batteries = list(
        stock_batteries(dealer_org.pk).filter(model__in=certified).order_by("serial").values_list("serial", flat=True)
    )
    done: list[tuple[int, TradeIn]] = []
    olds, news = iter(old_standard), iter(new_standard)
    for index, (days_ago, is_old) in enumerate(TRADE_INS):
        old = next(olds if is_old else news, None)
        if old is None or index >= len(new_bikes) or index >= len(batteries):
            break
        registration = Registration.objects.get(vehicle=old, status=Registration.Status.ACTIVE)
        sold_at = clock.at(clock.day(days_ago), 9 + index % 8, rng.randrange(0, 60))
        day = timezone.localdate(sold_at)
        found = old_bike_find(dealer=dealer_org, frame_no=old.frame_no, vehicle_code=old.code, day=day)
        # An owner registered by county only is placed in a street this time (the dealer asks where they live).
        street = (
            registration.region if registration.region.level == Region.Level.TOWNSHIP else streets[index % len(streets)]
        )
        trade_in = trade_in_register(
            user=dealer,
            old={"frame_no": old.frame_no, "vehicle_code": old.code},
            subsidy_yuan=found.subsidy_yuan,
            frame_no=new_bikes[index],
            battery_serials=[batteries[index]],
            buyer={"region_code": street.code},
            sold_at=sold_at,
        )
        done.append((days_ago, trade_in))
    recycler = _recycler()
    for days_ago, trade_in in done:
        if days_ago in HANDED_OVER:
            old = trade_in.old_vehicle
            record = recycling_record(
                user=recycler, kind="vehicle", ref=old.frame_no, disposal="dismantle", vehicle_code=old.code
            )
            for battery in Battery.objects.filter(serial__in=record.batteries_released).select_related("model"):
                lead = battery.model.chemistry == Chemistry.LEAD_ACID  # hazardous waste: its transfer manifest
                recycling_record(
                    user=recycler,
                    kind="battery",
                    ref=battery.serial,
                    disposal="hazardous_transfer" if lead else "dismantle",
                    manifest_no=f"3302{trade_in.pk:08d}" if lead else "",
                )
    from alerts.services import traded_in_bikes_sweep

    traded_in_bikes_sweep(now=clock.now)
    return len(done)
