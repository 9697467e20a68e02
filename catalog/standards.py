"""The standards' limits as data: loaded by migration, editable in the admin, each with its source."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

STANDARDS = [
    {
        "code": "GB17761-2018",
        "title": "电动自行车安全技术规范 (2018)",
        "kind": "vehicle",
        "in_force_from": dt.date(2019, 4, 15),
        "sale_cutoff": dt.date(2025, 12, 1),
        "max_design_speed_kmh": Decimal("25"),
        "max_nominal_voltage_v": Decimal("48"),
        "max_output_voltage_v": None,
        "max_motor_power_w": 400,
        "max_mass_kg": Decimal("55"),
        "max_mass_lead_acid_kg": None,
        "source": "GB 17761-2018 电动自行车安全技术规范, in force 2019-04-15: design speed ≤ 25 km/h, mass with "
        "battery ≤ 55 kg, battery nominal voltage ≤ 48 V, motor continuous rated power ≤ 400 W. Old-standard CCC "
        "certificates cancelled 2025-12-01: selling such bikes after that date is illegal.",
    },
    {
        "code": "GB17761-2024",
        "title": "电动自行车安全技术规范 (2024)",
        "kind": "vehicle",
        "in_force_from": dt.date(2025, 9, 1),
        "sale_cutoff": None,
        "max_design_speed_kmh": Decimal("25"),
        "max_nominal_voltage_v": Decimal("48"),
        "max_output_voltage_v": Decimal("60"),
        "max_motor_power_w": 400,
        "max_mass_kg": Decimal("55"),
        "max_mass_lead_acid_kg": Decimal("63"),
        "source": "GB 17761-2024 电动自行车安全技术规范, in force 2025-09-01: design speed ≤ 25 km/h and no motor "
        "assist above 25 km/h; battery nominal voltage ≤ 48 V, max output ≤ 60 V; motor continuous rated power "
        "≤ 400 W; mass with battery ≤ 55 kg, or ≤ 63 kg with a lead-acid battery.",
    },
    {
        "code": "GB43854-2024",
        "title": "电动自行车用锂离子蓄电池安全技术规范",
        "kind": "battery",
        "in_force_from": dt.date(2024, 11, 1),
        "sale_cutoff": None,
        "max_design_speed_kmh": None,
        "max_nominal_voltage_v": Decimal("48"),
        "max_output_voltage_v": Decimal("60"),
        "max_motor_power_w": None,
        "max_mass_kg": None,
        "max_mass_lead_acid_kg": None,
        "source": "GB 43854-2024 电动自行车用锂离子蓄电池安全技术规范, in force 2024-11-01: max output ≤ 60 V with a "
        "BMS, a unique code on every pack, a stated safe service life, no retired EV cells. Nominal voltage "
        "≤ 48 V from GB 17761-2024. CCC required for lithium batteries and chargers from 2025-11-01.",
    },
]

# CCC became compulsory for lithium batteries and chargers on this day (DOMAIN: CCC).
BATTERY_CCC_REQUIRED_FROM = dt.date(2025, 11, 1)


def load_standards(standard_model) -> None:
    """Create missing standards; leave existing ones alone, since an administrator may have edited them."""
    for spec in STANDARDS:
        standard_model.objects.get_or_create(code=spec["code"], defaults={k: v for k, v in spec.items() if k != "code"})
