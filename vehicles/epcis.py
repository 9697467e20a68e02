"""A bike's ledger as a GS1 EPCIS 2.0 JSON-LD `EPCISDocument`: each step an ObjectEvent, a battery fitted or removed
an AggregationEvent of the battery (child) in the bike (parent), with the CBV's bizStep and disposition.

Identifiers (EPCIS 2.0 takes any URI; GS1's `urn:epc:id:…` need a GS1 company prefix the makers do not have):
- a bike or battery: its QR page, `<origin>/v/<public code>`, a Digital-Link-style web URI that resolves to what
  anyone may know about it;
- a read point: the organization that recorded the step, `<origin>/epcis/org/<USCC>` (统一社会信用代码, the
  national identifier of every enterprise and department), or the swap cabinet, `<origin>/epcis/station/<id>`;
- a business location: the region, `<origin>/epcis/region/<GB/T 2260 code>`;
- a step the CBV has no word for (registration, its transfer and cancellation, a trade-in, a found bike):
  `<origin>/epcis/voc/bizstep/<name>`; the platform's own fields use the prefix `ebike:` = `<origin>/epcis/voc#`;
- an event: `urn:uuid:` derived from the ledger hash of its step (stable across exports), with that hash in
  `ebike:ledgerHash` so that an auditor can check it against GET /api/v1/vehicles/{frame_no}/verify/.

`<origin>` is settings.SITE_URL when set, else the host asked. No payload is copied: payloads name owners and
plates. Complaints are not supply-chain steps and are left out.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.utils import timezone

from core.models import Region
from vehicles.models import EventType, LifecycleEvent, Vehicle
from vehicles.selectors import vehicle_events

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
SCHEMA_VERSION = "2.0"
VTYPE_READ_POINT = "urn:epcglobal:epcis:vtype:ReadPoint"
VTYPE_LOCATION = "urn:epcglobal:epcis:vtype:BusinessLocation"
MDA_NAME = "urn:epcglobal:cbv:mda#name"
_EVENT_IDS = uuid.UUID("5f0c1e2a-6b7d-4c8e-9a1b-2c3d4e5f6a7b")  # the namespace of the uuid5 event ids


@dataclass(frozen=True)
class Step:
    """How a ledger step reads in EPCIS: bizStep (a CBV word, or a name under the platform's vocabulary when the
    CBV has none) and disposition (CBV) of an ObjectEvent, or the action of an AggregationEvent."""

    biz_step: str
    disposition: str | None = None
    action: str = "OBSERVE"
    own_step: bool = False  # not a CBV bizStep: a name under <origin>/epcis/voc/bizstep/
    aggregation: bool = False
    persistent: dict | None = None


STEPS: dict[str, Step] = {
    EventType.PRODUCED: Step("commissioning", "active", action="ADD"),
    EventType.SHIPPED: Step("shipping", "in_transit"),
    EventType.RECEIVED: Step("receiving", "sellable_accessible"),
    EventType.RECEIPT_REJECTED: Step("inspecting", "non_conformant"),
    EventType.SOLD: Step("retail_selling", "retail_sold"),
    EventType.REGISTERED: Step("registering", "active", own_step=True),
    EventType.BATTERY_FITTED: Step("installing", "active", action="ADD", aggregation=True),
    EventType.BATTERY_REMOVED: Step("removing", None, action="DELETE", aggregation=True),
    EventType.REPAIRED: Step("repairing", "in_progress"),
    EventType.TRANSFERRED: Step("transferring_ownership", "active", own_step=True),
    EventType.REGISTRATION_CANCELLED: Step("deregistering", "inactive", own_step=True),
    EventType.SCRAPPED: Step("decommissioning", "damaged"),
    EventType.RECYCLED: Step("destroying", "destroyed", action="DELETE"),
    EventType.HANDED_OVER: Step("collecting", "non_sellable_other"),
    EventType.SWAPPED: Step("sensor_reporting", None),
    EventType.TRADED_IN: Step("trading_in", "non_sellable_other", own_step=True),
    EventType.STOLEN_REPORTED: Step("reporting_stolen", "stolen", own_step=True, persistent={"set": ["stolen"]}),
    EventType.FOUND: Step("recovering", "active", own_step=True, persistent={"unset": ["stolen"]}),
}
LEFT_OUT = frozenset({EventType.COMPLAINT})
# A recycler's hazardous-waste transfer hands the item on to a licensed disposer rather than destroying it there.
HAZARDOUS_TRANSFER = Step("shipping", "disposed")
# Cabinet alarms as the CBV's sensor exceptions.
ALARM_READINGS = {"over_temperature": "Temperature", "smoke": "Temperature", "over_voltage": "Voltage"}


def origin_of(request) -> str:
    """The origin the identifiers live under: SITE_URL when set (stable whoever asks), else the host asked."""
    site = (getattr(settings, "SITE_URL", "") or "").rstrip("/")
    return site or request.build_absolute_uri("/").rstrip("/")


class Identifiers:
    def __init__(self, origin: str):
        self.origin = origin

    def item(self, code: str) -> str:
        return f"{self.origin}/v/{code}"

    def organization(self, org) -> str:
        return f"{self.origin}/epcis/org/{org.uscc}"

    def station(self, station_id) -> str:
        return f"{self.origin}/epcis/station/{station_id}"

    def region(self, code: str) -> str:
        return f"{self.origin}/epcis/region/{code}"

    def own_step(self, name: str) -> str:
        return f"{self.origin}/epcis/voc/bizstep/{name}"

    @property
    def vocabulary(self) -> str:
        return f"{self.origin}/epcis/voc#"


def _local(moment: dt.datetime) -> dt.datetime:
    return timezone.localtime(moment)


def _offset(moment: dt.datetime) -> str:
    text = _local(moment).strftime("%z")  # +0800
    return f"{text[:3]}:{text[3:]}"


def _number(value) -> float | None:
    if value in (None, ""):
        return None
    try:
        return float(Decimal(str(value)))
    except (InvalidOperation, ValueError):
        return None


def _sensor_elements(payload: dict) -> list[dict]:
    """A cabinet's readings of a swapped battery as EPCIS sensor reports, its alarm as the CBV's alarm condition."""
    alarmed = ALARM_READINGS.get(payload.get("alarm") or "")
    reports = []
    for kind, key, uom in (("Temperature", "temperature_c", "CEL"), ("Voltage", "voltage_v", "VLT")):
        value = _number(payload.get(key))
        if value is not None:
            report = {"type": kind, "value": value, "uom": uom}
            if alarmed == kind:
                report["exception"] = "ALARM_CONDITION"
            reports.append(report)
    return [{"sensorReport": reports}] if reports else []


def epcis_event(event: LifecycleEvent, vehicle: Vehicle, ids: Identifiers) -> dict | None:
    """One ledger step as an EPCIS event, or None for a step left out."""
    if event.type in LEFT_OUT or event.type not in STEPS:
        return None
    step = STEPS[event.type]
    if event.type == EventType.RECYCLED and (event.payload or {}).get("disposal") == "hazardous_transfer":
        step = Step(HAZARDOUS_TRANSFER.biz_step, HAZARDOUS_TRANSFER.disposition, action="DELETE")
    bike = ids.item(vehicle.code)
    battery = ids.item(event.battery.code) if event.battery_id else None
    out: dict = {"type": "AggregationEvent" if step.aggregation and battery else "ObjectEvent"}
    out["eventTime"] = _local(event.occurred_at).isoformat()
    out["recordTime"] = _local(event.recorded_at).isoformat()
    out["eventTimeZoneOffset"] = _offset(event.occurred_at)
    out["eventID"] = f"urn:uuid:{uuid.uuid5(_EVENT_IDS, event.hash)}"
    if out["type"] == "AggregationEvent":
        out["parentID"], out["childEPCs"] = bike, [battery]
        out["action"] = step.action
    else:
        out["epcList"] = [battery] if battery and event.type != EventType.BATTERY_FITTED else [bike]
        out["action"] = step.action
    out["bizStep"] = ids.own_step(step.biz_step) if step.own_step else step.biz_step
    if step.disposition:
        out["disposition"] = step.disposition
    if step.persistent and out["type"] == "ObjectEvent":
        out["persistentDisposition"] = step.persistent
    payload = event.payload or {}
    if event.type == EventType.SWAPPED and payload.get("station"):
        out["readPoint"] = {"id": ids.station(payload["station"])}
    elif event.organization_id:
        out["readPoint"] = {"id": ids.organization(event.organization)}
    out["bizLocation"] = {"id": ids.region(event.region_code)}
    if event.type == EventType.SWAPPED and (sensors := _sensor_elements(payload)):
        out["sensorElementList"] = sensors
    if event.type == EventType.PRODUCED and out["type"] == "ObjectEvent":
        out["ilmd"] = {"ebike:model": vehicle.model.code, "ebike:producedOn": vehicle.produced_on.isoformat()}
    out["ebike:eventType"] = event.type
    out["ebike:ledgerSeq"] = event.seq
    out["ebike:ledgerHash"] = event.hash
    if event.type == EventType.REPAIRED and payload.get("kind"):
        out["ebike:repairKind"] = payload["kind"]
    return out


def _master_data(events: list[LifecycleEvent], ids: Identifiers) -> list[dict]:
    """Names of the read points (organizations) and business locations (regions) the events name."""
    orgs = {e.organization_id: e.organization for e in events if e.organization_id}
    codes = {e.region_code for e in events}
    regions = dict(Region.objects.filter(code__in=codes).values_list("code", "name")) if codes else {}

    def element(identifier: str, name: str) -> dict:
        return {"id": identifier, "attributes": [{"id": MDA_NAME, "attribute": name}]}

    vocabularies = []
    if orgs:
        vocabularies.append(
            {
                "type": VTYPE_READ_POINT,
                "vocabularyElementList": [
                    element(ids.organization(org), org.name) for _pk, org in sorted(orgs.items())
                ],
            }
        )
    if regions:
        vocabularies.append(
            {
                "type": VTYPE_LOCATION,
                "vocabularyElementList": [element(ids.region(code), name) for code, name in sorted(regions.items())],
            }
        )
    return vocabularies


def epcis_document(vehicle: Vehicle, *, origin: str, now: dt.datetime | None = None) -> dict:
    """The bike's ledger (its own chain, with the steps of batteries while fitted), oldest first, as an EPCIS 2.0
    JSON-LD document. The caller has checked that the viewer may see the bike (the dossier's scope)."""
    ids = Identifiers(origin)
    events = list(vehicle_events(vehicle).select_related("organization", "battery"))
    body = [out for event in events if (out := epcis_event(event, vehicle, ids)) is not None]
    document = {
        "@context": [EPCIS_CONTEXT, {"ebike": ids.vocabulary}],
        "type": "EPCISDocument",
        "schemaVersion": SCHEMA_VERSION,
        "creationDate": _local(now or timezone.now()).isoformat(),
        "instanceIdentifier": f"{vehicle.frame_no}-{vehicle.ledger_seq}",
        "epcisBody": {"eventList": body},
    }
    vocabularies = _master_data(events, ids)
    if vocabularies:
        document["epcisHeader"] = {"epcisMasterData": {"vocabularyList": vocabularies}}
    return document
