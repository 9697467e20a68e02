"""The demo's shipments (发货) in 德州: the battery maker ships packs to the vehicle maker, which receives them and
produces bikes with them fitted at the factory; it ships the bikes to 德城区新湖电动车专卖店, which has received the
first delivery (the bikes with their batteries) and has the second on its way; and packs are on their way to the
charging operator of 德城区.

It runs through the same services as the API (production, shipment, incoming inspection). The batteries travel a
fortnight ago; the bikes are produced, fitted and shipped today, since the fitting is recorded when the maker
registers it. Call it after the demo chain (vehicles/demo.py), whose catalog it uses:
`dealers.demo_shipments.seed(orgs)` (or `seed(orgs, clock)`). Idempotent: nothing happens once the battery maker
has shipped to the vehicle maker, or without the demo catalog.
"""

from __future__ import annotations

from catalog.models import BatteryModel, VehicleModel
from core.demo import Clock
from core.models import Organization, User
from dealers.models import Shipment
from dealers.services import receipt_inspect
from dealers.shipments import shipment_create
from vehicles.production import batteries_produce, vehicles_produce

BATTERY_MODEL = "LD-4820L"  # the demo's lithium pack, a certified pair of DQ-S1 (vehicles/demo.py)
VEHICLE_MODEL = "DQ-S1"
RECEIVED, ON_ITS_WAY, TO_OPERATOR = 12, 8, 20
FIRST_SERIAL = 60_000_001  # of this demo's frame numbers and battery codes; the demo chain's stay below


def _admin(org: Organization) -> User | None:
    return User.objects.filter(organization=org, role=User.Role.ADMIN, is_active=True).order_by("pk").first()


def seed(orgs: dict[str, Organization], clock: Clock | None = None) -> int:
    """Ship, receive and produce as above; returns how many bikes were produced with their batteries (0 when the
    demo shipments are already there)."""
    battery_maker, maker, dealer = orgs["battery_maker"], orgs["maker_dz"], orgs["dealer_dc"]
    operator = orgs.get("charging_dc")
    if Shipment.objects.filter(sender=battery_maker, receiver=maker).exists():
        return 0
    catalog = (
        BatteryModel.objects.filter(code=BATTERY_MODEL, maker=battery_maker).exists()
        and VehicleModel.objects.filter(code=VEHICLE_MODEL, maker=maker).exists()
    )
    users = {org.pk: _admin(org) for org in (battery_maker, maker, dealer)}
    if not catalog or None in users.values():
        return 0
    clock = clock or Clock.start()
    bikes = RECEIVED + ON_ITS_WAY
    packs = bikes + (TO_OPERATOR if operator is not None else 0)
    serials = [f"LD3714F{n:09d}" for n in range(FIRST_SERIAL, FIRST_SERIAL + packs)]
    batteries_produce(
        actor=users[battery_maker.pk],
        model_code=BATTERY_MODEL,
        items=[{"serial": serial, "produced_on": clock.day(21).isoformat()} for serial in serials],
    )

    # The packs for the bikes travel to the vehicle maker, which inspects them at its door.
    shipment_create(
        user=users[battery_maker.pk],
        to=maker.pk,
        frame_nos=[],
        battery_serials=serials[:bikes],
        shipped_at=clock.at(clock.day(15), 9, 30),
    )
    receipt_inspect(
        user=users[maker.pk],
        supplier_id=battery_maker.pk,
        frame_nos=[],
        battery_serials=serials[:bikes],
        received_at=clock.at(clock.day(14), 10, 15),
    )
    if operator is not None and operator.is_active:  # shared packs for the swap cabinets, not yet arrived
        shipment_create(
            user=users[battery_maker.pk],
            to=operator.pk,
            frame_nos=[],
            battery_serials=serials[bikes:],
            shipped_at=clock.at(clock.day(1), 16, 0),
        )

    produced_on = clock.today
    frame_nos = [
        f"{maker.enterprise_code}2{produced_on.year % 100:02d}{n:08d}"
        for n in range(FIRST_SERIAL, FIRST_SERIAL + bikes)
    ]
    vehicles_produce(
        actor=users[maker.pk],
        model_code=VEHICLE_MODEL,
        items=[
            {
                "frame_no": frame_no,
                "motor_no": f"DQM{frame_no[-8:]}",
                "produced_on": produced_on.isoformat(),
                "battery_serials": [serial],
            }
            for frame_no, serial in zip(frame_nos, serials, strict=False)
        ],
    )

    # Two deliveries to the dealer: the first received with their batteries, the second on its way.
    first = frame_nos[:RECEIVED]
    shipment_create(user=users[maker.pk], to=dealer.pk, frame_nos=first, battery_serials=[])
    receipt_inspect(user=users[dealer.pk], supplier_id=maker.pk, frame_nos=first, battery_serials=[])
    shipment_create(user=users[maker.pk], to=dealer.pk, frame_nos=frame_nos[RECEIVED:], battery_serials=[])
    return bikes
