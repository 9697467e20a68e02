"""factory_boy factories for the catalog: makers and certified models that pass every filing check.

VehicleModelFactory()                                    # GB17761-2024, CCC to 2030, with a 48 V lithium 标配
VehicleModelFactory(compatible_battery_models=[bm])      # your own battery models (or [] for none)
VehicleModelFactory(compatible_battery_models__lead_acid=True)  # the 标配 battery is lead-acid
VehicleModelFactory(old_standard=True)                   # GB17761-2018, past its sale cut-off
VehicleModelFactory(ccc_expired=True) / (uncertified=True)
BatteryModelFactory()                                    # lithium-ion 48 V 20 Ah, CCC to 2030
BatteryModelFactory(lead_acid=True)                      # lead-acid, no CCC
ChargerModelFactory()
ManufacturerFactory() / BatteryMakerFactory()            # organizations of the right kind
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory

from catalog.models import BatteryModel, ChargerModel, Chemistry, Standard, VehicleModel
from core.models import OrganizationKind
from tests.factories import OrganizationFactory

CCC_VALID_UNTIL = dt.date(2030, 12, 31)
CCC_EXPIRED_ON = dt.date(2025, 6, 30)


def standard(code: str = "GB17761-2024") -> Standard:
    """The Standard row (loaded by migration; tests/conftest.py puts it back after a flush)."""
    return Standard.objects.get(code=code)


class ManufacturerFactory(OrganizationFactory):
    name = factory.Sequence(lambda n: f"测试电动车制造有限公司{n}")
    kind = OrganizationKind.MANUFACTURER
    # The 4-digit code that opens the maker's frame numbers; unique among makers.
    enterprise_code = factory.Sequence(lambda n: f"{9000 + n % 1000:04d}")


class BatteryMakerFactory(OrganizationFactory):
    name = factory.Sequence(lambda n: f"测试新能源电池有限公司{n}")
    kind = OrganizationKind.BATTERY_MAKER


class BatteryModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = BatteryModel

    class Params:
        lead_acid = factory.Trait(
            chemistry=Chemistry.LEAD_ACID, name="48V 20Ah 铅酸蓄电池", ccc_cert_no="", ccc_valid_until=None
        )
        ccc_expired = factory.Trait(ccc_valid_until=CCC_EXPIRED_ON)
        uncertified = factory.Trait(ccc_cert_no="", ccc_valid_until=None)

    code = factory.Sequence(lambda n: f"TEST-BM{n:05d}")
    name = "48V 20Ah 锂离子蓄电池"
    maker = factory.SubFactory(BatteryMakerFactory)
    chemistry = Chemistry.LITHIUM_ION
    nominal_voltage_v = Decimal("48")
    capacity_ah = Decimal("20")
    ccc_cert_no = factory.Sequence(lambda n: f"2025011119{n:06d}")
    ccc_valid_until = CCC_VALID_UNTIL


class ChargerModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ChargerModel

    class Params:
        ccc_expired = factory.Trait(ccc_valid_until=CCC_EXPIRED_ON)

    code = factory.Sequence(lambda n: f"TEST-CH{n:05d}")
    name = "48V 锂电池充电器"
    maker = factory.SubFactory(BatteryMakerFactory)
    output_voltage_v = Decimal("54.6")
    ccc_cert_no = factory.Sequence(lambda n: f"2025010907{n:06d}")
    ccc_valid_until = CCC_VALID_UNTIL


class VehicleModelFactory(factory.django.DjangoModelFactory):
    """A vehicle model within GB17761-2024, with one compatible 48 V lithium battery model (标配)."""

    class Meta:
        model = VehicleModel
        skip_postgeneration_save = True  # only many-to-many rows are added afterwards

    class Params:
        old_standard = factory.Trait(standard=factory.LazyFunction(lambda: standard("GB17761-2018")))
        ccc_expired = factory.Trait(ccc_valid_until=CCC_EXPIRED_ON)
        uncertified = factory.Trait(ccc_cert_no="", ccc_valid_until=None)

    code = factory.Sequence(lambda n: f"TEST-TDT{n:05d}")
    name = factory.Sequence(lambda n: f"测试电动自行车{n}")
    maker = factory.SubFactory(ManufacturerFactory)
    standard = factory.LazyFunction(standard)
    ccc_cert_no = factory.Sequence(lambda n: f"2024011119{n:06d}")
    ccc_valid_until = CCC_VALID_UNTIL
    max_speed_kmh = Decimal("25")
    mass_kg = Decimal("50")
    nominal_voltage_v = Decimal("48")
    motor_power_w = 350

    @factory.post_generation
    def compatible_battery_models(obj, create, extracted, **kwargs):
        if not create:
            return
        if extracted is None:  # default 标配: one battery model of the vehicle's voltage
            kwargs.setdefault("nominal_voltage_v", obj.nominal_voltage_v)
            extracted = [BatteryModelFactory(**kwargs)]
        obj.compatible_battery_models.set(extracted)

    @factory.post_generation
    def compatible_charger_models(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.compatible_charger_models.set(extracted)
