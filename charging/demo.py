"""The demo's charging and swap operators (以芯智控): one in 德州, one in 宁波北仑, each with its cabinets, a pool of
batteries bought from the demo's battery maker, a week of swaps reported through the swap service, and a few
thermal alarms (one battery twice in a day, so its alert escalates) and an unregistered battery seen in a cabinet.

Idempotent: operators, logins and cabinets are looked up by their natural keys; an operator that has swaps already
gets no more. Call it after the chain's demo (it needs the battery maker's lithium model): `seed(orgs, clock)`.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from catalog.models import BatteryModel, Chemistry
from charging.models import SwapEvent, SwapStation
from core.codes import make_uscc
from core.models import Organization, OrganizationKind, Region, User
from vehicles.ledger import event_append
from vehicles.models import Battery, EventType
from vehicles.production import batteries_produce

POOL = 40  # batteries per operator
SWAPS_PER_DAY = 24  # per cabinet
DAYS = 7


@dataclass(frozen=True)
class Operator:
    key: str
    username: str
    name: str
    region: str
    prefix: str  # of its cabinet codes and battery serials
    cabinets: tuple[tuple[str, str, str, Decimal, Decimal], ...]  # (region, name, address, latitude, longitude)


OPERATORS = (
    Operator(
        "charging_dc",
        "charging_dc",
        "德州市安充智能充电服务有限公司",
        "371481",
        "AC",
        (
            ("371402", "新湖大街换电柜", "德城区新湖大街 1 号", Decimal("37.4360"), Decimal("116.3000")),
            ("371402", "天衢东路换电柜", "德城区天衢东路 88 号", Decimal("37.4521"), Decimal("116.3342")),
            ("371402", "运河经济开发区换电柜", "德城区运河经济开发区 6 号", Decimal("37.4012"), Decimal("116.3261")),
            ("371403", "陵城区政府东换电柜", "陵城区东方红路 12 号", Decimal("37.3358"), Decimal("116.5763")),
            ("371481", "乐陵市金丝大道换电柜", "乐陵市金丝大道 20 号", Decimal("37.7296"), Decimal("117.2318")),
            ("371482", "禹城市汉槐街换电柜", "禹城市汉槐街 35 号", Decimal("36.9341"), Decimal("116.6383")),
        ),
    ),
    Operator(
        "charging_bl",
        "charging_bl",
        "宁波北仑快换能源科技有限公司",
        "330206",
        "KH",
        (
            ("330206", "新碶街道换电柜", "北仑区新碶街道明州路 500 号", Decimal("29.9063"), Decimal("121.8443")),
            ("330206", "大碶街道换电柜", "北仑区大碶街道庐山东路 18 号", Decimal("29.8725"), Decimal("121.7852")),
            ("330206", "小港街道换电柜", "北仑区小港街道红联路 6 号", Decimal("29.9536"), Decimal("121.7512")),
            ("330206", "春晓换电柜", "北仑区春晓街道春晓大道 9 号", Decimal("29.8107"), Decimal("121.8702")),
        ),
    ),
)


def _operator(spec: Operator, index: int, orgs: dict[str, Organization]) -> Organization:
    if spec.key in orgs and orgs[spec.key].kind == OrganizationKind.CHARGING_OPERATOR:
        return orgs[spec.key]  # the demo world's own operator, when it has one
    org, _ = Organization.objects.get_or_create(
        uscc=make_uscc(f"91{spec.region}CH{index:07d}"),
        defaults={"name": spec.name, "kind": OrganizationKind.CHARGING_OPERATOR, "region_id": spec.region},
    )
    return org


def _login(spec: Operator, org: Organization) -> User:
    from core.demo import DEMO_PASSWORD

    user = User.objects.filter(organization=org).order_by("pk").first()
    if user is None:
        user = User.objects.filter(username=spec.username).first() or User(username=spec.username)
        user.organization, user.role, user.password = org, User.Role.ADMIN, make_password(DEMO_PASSWORD)
        user.save()
    return user


def _cabinets(spec: Operator, org: Organization) -> list[SwapStation]:
    stations = []
    for number, (region, name, address, latitude, longitude) in enumerate(spec.cabinets, start=1):
        station, _ = SwapStation.objects.get_or_create(
            operator=org,
            code=f"{spec.prefix}-{region[-2:]}-{number:03d}",
            defaults={
                "name": name,
                "region": Region.objects.get(code=region),
                "address": address,
                "latitude": latitude,
                "longitude": longitude,
            },
        )
        stations.append(station)
    return stations


def _pool(spec: Operator, org: Organization, maker: Organization, today: dt.date, now: dt.datetime) -> list[str]:
    """The operator's shared batteries: produced by the battery maker, then received by the operator."""
    serials = [f"{spec.prefix}48V{n:08d}" for n in range(1, POOL + 1)]
    have = set(Battery.objects.filter(serial__in=serials).values_list("serial", flat=True))
    missing = [serial for serial in serials if serial not in have]
    if missing:
        model = BatteryModel.objects.filter(maker=maker, chemistry=Chemistry.LITHIUM_ION).order_by("code").first()
        maker_user = User.objects.filter(organization=maker).order_by("pk").first()
        if model is None or maker_user is None:
            return []
        produced_on = (today - dt.timedelta(days=60)).isoformat()
        batteries_produce(
            actor=maker_user, model_code=model.code, items=[{"serial": s, "produced_on": produced_on} for s in missing]
        )
        for serial in missing:
            with transaction.atomic():
                battery = Battery.objects.select_for_update().get(serial=serial)
                Battery.objects.filter(pk=battery.pk).update(
                    holder=org, status=Battery.Status.IN_STOCK, region=org.region_id
                )
                event_append(
                    battery=battery,
                    type=EventType.RECEIVED,
                    occurred_at=now - dt.timedelta(days=30),
                    region_code=org.region_id,
                    organization_id=org.pk,
                    payload={"supplier": maker.pk},
                )
    return serials


def _week(rng: random.Random, stations: list[SwapStation], pool: list[str], now: dt.datetime) -> list[dict]:
    """A week of swaps at each cabinet, 07:00 to 22:00, never later than an hour ago."""
    items = []
    latest = now - dt.timedelta(hours=1)
    for days_ago in range(DAYS, 0, -1):
        day = timezone.localdate(now) - dt.timedelta(days=days_ago - 1)
        opening = timezone.make_aware(dt.datetime.combine(day, dt.time(7)))
        for station in stations:
            for _ in range(SWAPS_PER_DAY):
                at = opening + dt.timedelta(minutes=rng.randrange(0, 15 * 60), seconds=rng.randrange(0, 60))
                if at > latest:
                    continue
                battery_in, battery_out = rng.sample(pool, 2)
                items.append(
                    {
                        "station": station.code,
                        "battery_in": battery_in,
                        "battery_out": battery_out,
                        "occurred_at": at.isoformat(),
                        "temperature_c": str(Decimal(rng.randrange(180, 380)) / 10),
                        "voltage_v": str(Decimal(rng.randrange(4900, 5400)) / 100),
                        "alarm": "none",
                    }
                )
    return items


def _alarms(stations: list[SwapStation], pool: list[str], now: dt.datetime, *, repeat: bool) -> list[dict]:
    """A few thermal alarms; with `repeat`, one battery twice within five hours (its alert escalates), and a
    battery no maker registered."""
    first, second = stations[0], stations[-1]
    yesterday = now - dt.timedelta(days=1)

    def alarm(station, serial, at, kind, temperature, voltage, battery_out=None):
        return {
            "station": station.code,
            "battery_in": serial,
            "battery_out": battery_out or pool[-1],
            "occurred_at": at.isoformat(),
            "temperature_c": temperature,
            "voltage_v": voltage,
            "alarm": kind,
        }

    items = [
        alarm(first, pool[0], now - dt.timedelta(days=3, hours=2), "over_temperature", "68.5", "53.10"),
        alarm(second, pool[1], yesterday - dt.timedelta(hours=4), "over_voltage", "41.0", "61.80"),
    ]
    if repeat:
        items += [
            alarm(first, pool[2], yesterday, "over_temperature", "72.0", "52.80"),
            alarm(stations[1], pool[2], yesterday + dt.timedelta(hours=5), "smoke", "95.5", "50.20"),
            alarm(first, f"{pool[0][:2]}XX00000001", now - dt.timedelta(hours=6), "none", "30.5", "52.00"),
        ]
    return items


def seed(orgs: dict[str, Organization], clock=None) -> str:
    """Both operators with their cabinets, pools and a week of swaps; the alerts raised at once. Returns a line
    saying what was written."""
    from alerts.engine import drain_alert_requests, drain_outbox
    from charging.alarms import alarm_escalations_apply
    from charging.swaps import swap_events_record

    now = clock.now if clock is not None else timezone.now()
    maker = orgs.get("battery_maker")
    if maker is None:
        return "no battery maker in the demo world: no swaps"
    rng = random.Random(2026)
    written = []
    for index, spec in enumerate(OPERATORS, start=1):
        org = _operator(spec, index, orgs)
        orgs.setdefault(spec.key, org)
        user = _login(spec, org)
        stations = _cabinets(spec, org)
        if SwapEvent.objects.filter(operator=org).exists():
            continue
        pool = _pool(spec, org, maker, timezone.localdate(now), now)
        if len(pool) < 3:
            continue
        items = _week(rng, stations, pool[3:], now) + _alarms(stations, pool, now, repeat=index == 1)
        accepted = 0
        for start in range(0, len(items), 5_000):
            accepted += swap_events_record(user=user, items=items[start : start + 5_000]).accepted
        written.append(f"{org.name}: {len(stations)} cabinets, {accepted} swaps")
    while drain_outbox() + drain_alert_requests():
        pass
    alarm_escalations_apply(now=now)
    return "; ".join(written) or "swaps already there"
