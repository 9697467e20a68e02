"""The catalog factories give models that pass the filing checks, so other tests can rely on them."""

import datetime as dt

from catalog import services
from catalog.models import Chemistry
from core.models import OrganizationKind
from tests.catalog.factories import BatteryModelFactory, ChargerModelFactory, VehicleModelFactory

TODAY = dt.date(2026, 11, 22)


def test_vehicle_model_factory_is_certified_within_the_standard_with_a_compatible_battery(db):
    model = VehicleModelFactory()

    assert model.maker.kind == OrganizationKind.MANUFACTURER and len(model.maker.enterprise_code) == 4
    assert model.standard.code == "GB17761-2024" and model.ccc_valid_until == dt.date(2030, 12, 31)
    assert model.sellable_on(TODAY)
    (battery,) = model.compatible_battery_models.all()
    assert battery.chemistry == Chemistry.LITHIUM_ION and battery.nominal_voltage_v == model.nominal_voltage_v
    assert battery.maker.kind == OrganizationKind.BATTERY_MAKER and battery.ccc_valid_on(TODAY)
    spec = {f: getattr(model, f) for f in ("max_speed_kmh", "mass_kg", "nominal_voltage_v", "motor_power_w")}
    assert services.vehicle_limit_breaches(standard=model.standard, spec=spec, battery_models=[battery]) == {}


def test_factory_traits(db):
    assert not VehicleModelFactory(old_standard=True).sellable_on(TODAY)
    assert not VehicleModelFactory(ccc_expired=True).sellable_on(TODAY)
    assert VehicleModelFactory(compatible_battery_models=[]).compatible_battery_models.count() == 0
    lead = VehicleModelFactory(compatible_battery_models__lead_acid=True).compatible_battery_models.get()
    assert lead.chemistry == Chemistry.LEAD_ACID and lead.ccc_cert_no == ""
    assert BatteryModelFactory().nominal_voltage_v == 48
    assert ChargerModelFactory().ccc_valid_on(TODAY)
