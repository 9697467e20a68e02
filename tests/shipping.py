"""Moving goods between enterprises through the API, as the tests of shipments, factory fitting and the whole chain
do it: ship, receive, produce bikes with batteries fitted at the factory."""

from __future__ import annotations

import itertools

from core.models import User
from tests.chain import Chain
from tests.conftest import api_client

SHIPMENTS = "/api/v1/shipments/"
RECEIPTS = "/api/v1/receipts/"
BULK = "/api/v1/vehicles/bulk/"

_frames = itertools.count(70_000_001)


def ship(user: User, to, frame_nos=(), serials=(), **headers):
    body = {"to": getattr(to, "pk", to), "frame_nos": list(frame_nos), "battery_serials": list(serials)}
    return api_client(user).post(SHIPMENTS, body, format="json", **headers)


def receive(user: User, supplier, frame_nos=(), serials=(), **headers):
    body = {
        "supplier": getattr(supplier, "pk", supplier),
        "frame_nos": list(frame_nos),
        "battery_serials": list(serials),
    }
    return api_client(user).post(RECEIPTS, body, format="json", **headers)


def frame_no_new(chain: Chain) -> str:
    return f"{chain.maker.organization.enterprise_code}226{next(_frames):08d}"


def batteries_at_the_maker(chain: Chain, count: int = 1, **battery) -> list[str]:
    """Batteries made by the battery maker, shipped to the vehicle maker and received into its stock."""
    serials = [chain.battery(**battery).serial for _ in range(count)]
    shipped = ship(chain.battery_maker, chain.maker.organization, serials=serials)
    assert shipped.status_code == 201, shipped.json()
    received = receive(chain.maker, chain.battery_maker.organization, serials=serials)
    assert received.status_code == 201, received.json()
    assert {item["verdict"] for item in received.json()["items"]} == {"accepted"}
    return serials


def produce(chain: Chain, items: list[dict], model: str | None = None):
    body = {"model": model or chain.model.code, "items": items}
    return api_client(chain.maker).post(BULK, body, format="json")


def item(frame_no: str, serials=(), produced_on: str = "2026-03-01") -> dict:
    row = {"frame_no": frame_no, "motor_no": f"M{frame_no}", "produced_on": produced_on}
    if serials:
        row["battery_serials"] = list(serials)
    return row


def fitted_bike(chain: Chain, batteries: int = 1) -> tuple[str, list[str]]:
    """A bike produced by the vehicle maker with batteries it received and fitted at the factory."""
    serials = batteries_at_the_maker(chain, batteries)
    frame_no = frame_no_new(chain)
    response = produce(chain, [item(frame_no, serials)])
    assert response.status_code == 201, response.json()
    return frame_no, serials
