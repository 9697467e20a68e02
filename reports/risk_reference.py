"""The 三分 reference data as first loaded: product categories, signal weights, the risk threshold, the colours.

Each value has its reason beside it, in the words a bureau reads in the admin, where it is edited afterwards. A
migration loads it (reports/migrations/0002); loading never overwrites a row an administrator already has.
"""

from __future__ import annotations

from decimal import Decimal

PRODUCT_CATEGORIES = [
    {
        "code": "battery_lithium_ion",
        "name": "锂离子蓄电池",
        "grade": "high",
        "reasons": [
            {
                "code": "fire",
                "text": "热失控起火、爆燃：电动自行车火灾多由锂电池引发，室内、楼道充电时危害最大。",
            },
            {
                "code": "modification",
                "text": "私自加装、更换大容量电池和拼装电池（退役动力电池）常见，超出车型认证的电压和容量。",
            },
            {
                "code": "standard",
                "text": "GB 43854-2024 强制要求 BMS、唯一编码和安全使用年限；2025-11-01 起纳入 CCC 认证。",
            },
        ],
    },
    {
        "code": "charger",
        "name": "充电器",
        "grade": "medium",
        "reasons": [
            {"code": "fire", "text": "与电池不匹配或劣质的充电器过充，是充电起火的常见原因。"},
            {"code": "standard", "text": "2025-11-01 起纳入 CCC 认证。"},
        ],
    },
    {
        "code": "vehicle",
        "name": "电动自行车整车",
        "grade": "medium",
        "reasons": [
            {
                "code": "modification",
                "text": "解除限速、更换超功率电机等非法改装，带来交通事故风险"
                "（GB 17761-2024：车速不超过 25 km/h，电机功率不超过 400 W）。",
            },
            {"code": "standard", "text": "旧国标（GB 17761-2018）车辆 2025-12-01 起不得销售。"},
        ],
    },
    {
        "code": "battery_sodium_ion",
        "name": "钠离子蓄电池",
        "grade": "medium",
        "reasons": [
            {
                "code": "new_technology",
                "text": "热稳定性优于锂电池，但上市时间短、使用数据少，质量参差，需抽检积累数据。",
            },
        ],
    },
    {
        "code": "battery_lead_acid",
        "name": "铅酸蓄电池",
        "grade": "low",
        "reasons": [
            {"code": "fire", "text": "起火风险低。"},
            {
                "code": "environment",
                "text": "含铅和硫酸，属危险废物：风险在回收环节，须追溯到持证处置单位。",
            },
        ],
    },
]

# The weight of each signal of reports.risk (its code) in an enterprise's score, and why.
SIGNAL_WEIGHTS = [
    {
        "code": "open_alerts",
        "weight": Decimal("1"),
        "note": "每条未办结的预警计 1 分：问题尚在，尚未整改到位。",
    },
    {
        "code": "overdue_rectifications",
        "weight": Decimal("3"),
        "note": "超过办结期限仍未整改：不配合监管，比问题本身更说明风险。",
    },
    {
        "code": "recent_alerts_high",
        "weight": Decimal("3"),
        "note": "近期高风险预警（非法改装、无证产品、回收电池回流）：直接关系火灾和交通安全。",
    },
    {
        "code": "recent_alerts_medium",
        "weight": Decimal("1.5"),
        "note": "近期中风险预警（电池重号、无资质维修、进销存不符、投诉）。",
    },
    {
        "code": "recent_alerts_low",
        "weight": Decimal("0.5"),
        "note": "近期低风险预警：单独不足以定为风险企业，多了说明管理松散。",
    },
    {
        "code": "modification_repairs",
        "weight": Decimal("5"),
        "note": "每次维修被查出非法改装（解除限速、超功率电机、非标电池）：改装是电动自行车火灾和事故的主要来源。",
    },
    {
        "code": "qualification_lapsed",
        "weight": Decimal("10"),
        "note": "维修、回收资质未备案或已过期：无资质经营本身即应重点监管。",
    },
    {
        "code": "complaints",
        "weight": Decimal("1"),
        "note": "近期消费者投诉：群众反映的问题，每件计 1 分。",
    },
]

SETTINGS = [
    {
        "code": "risk_score_threshold",
        "value": Decimal("10"),
        "reason": "风险分达到 10 分即为风险企业：例如资质过期（10 分），或两次改装维修，或两条超期未整改的高风险预警。",
    },
    {
        "code": "window_days",
        "value": Decimal("90"),
        "reason": "近期预警、改装维修和投诉只计最近 90 天（一个季度）：整改到位的企业一个季度后可退出风险名单。",
    },
]

COLOUR_THRESHOLDS = [
    {
        "colour": "red",
        "min_share_pct": Decimal("20"),
        "reason": "风险企业占比达 20%：五家中就有一家，辖区需集中整治，优先安排检查和抽检。",
    },
    {
        "colour": "orange",
        "min_share_pct": Decimal("10"),
        "reason": "风险企业占比达 10%：风险较高，需加大检查频次。",
    },
    {
        "colour": "yellow",
        "min_share_pct": Decimal("5"),
        "reason": "风险企业占比达 5%：存在风险，需关注并跟进整改。",
    },
    {
        "colour": "green",
        "min_share_pct": Decimal("0"),
        "reason": "风险企业占比低于 5%：总体平稳，日常监管。",
    },
]


def risk_reference_load(product_category, risk_signal, risk_setting, colour_threshold) -> int:
    """Create the rows that are missing (models passed in, so a migration can pass its historical ones); returns
    how many were created. Rows already there, as an administrator edited them, are left alone."""
    created = 0
    for model, key, rows in (
        (product_category, "code", PRODUCT_CATEGORIES),
        (risk_signal, "code", SIGNAL_WEIGHTS),
        (risk_setting, "code", SETTINGS),
        (colour_threshold, "colour", COLOUR_THRESHOLDS),
    ):
        for row in rows:
            values = {name: value for name, value in row.items() if name != key}
            created += model.objects.get_or_create(**{key: row[key]}, defaults=values)[1]
    return created


def risk_reference_unload(product_category, risk_signal, risk_setting, colour_threshold) -> None:
    product_category.objects.filter(code__in=[row["code"] for row in PRODUCT_CATEGORIES]).delete()
    risk_signal.objects.filter(code__in=[row["code"] for row in SIGNAL_WEIGHTS]).delete()
    risk_setting.objects.filter(code__in=[row["code"] for row in SETTINGS]).delete()
    colour_threshold.objects.filter(colour__in=[row["colour"] for row in COLOUR_THRESHOLDS]).delete()
