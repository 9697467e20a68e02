"""The default checklists of the three duty records of SAMR Orders 75 (producers) and 76 (sellers): 日管控 (daily),
周排查 (weekly), 月调度 (monthly), per kind of enterprise, as first loaded; an administrator edits them afterwards
(supervision.models.DutyTemplate). Also the weights of the two risk signals the duties and the sampling feed."""

from __future__ import annotations

from decimal import Decimal

DUTY_CHECKLISTS = {
    "dealer": {
        "daily": [
            "当日进货均已查验 CCC 证书和检验报告，并录入平台（进货查验）",
            "在售整车、电池、充电器均有有效 CCC 认证，无旧国标或无证产品",
            "无私自改装、拼装、解除限速等行为",
            "销售的整车与电池符合认证配置（标配）",
            "当日销售已在平台登记（卖车即备案）",
            "店内充电区域、消防器材完好，无违规充电",
        ],
        "weekly": [
            "本周进货查验记录与销售台账一致",
            "本周发现的问题均已整改并留存记录",
            "本周消费者投诉已处理并反馈",
            "已排查质量安全风险隐患并制定整改措施",
            "员工已接受质量安全培训",
        ],
        "monthly": [
            "质量安全总监已主持召开月度调度会议",
            "已总结本月质量安全工作和风险隐患整改情况",
            "已研究部署下月质量安全重点工作",
            "质量安全员履职情况已评估",
        ],
    },
    "manufacturer": {
        "daily": [
            "原材料和关键零部件（电机、控制器、电池）已进货检验",
            "关键工序受控，防篡改设计（限速、控制器、电池）已落实",
            "出厂检验：最高车速不超过 25 km/h、电机功率不超过 400 W、整车质量合格",
            "产品与 CCC 认证型式一致",
            "不合格品已隔离并处置",
            "当日产品已按车架号在平台登记",
        ],
        "weekly": [
            "本周质量安全风险已排查",
            "出厂检验不合格项已分析原因",
            "产品一致性已抽查",
            "上周整改措施已落实",
        ],
        "monthly": [
            "质量安全总监已主持召开月度调度会议",
            "已分析本月质量安全风险及防控措施",
            "已研究部署下月重点工作",
            "已向企业主要负责人报告质量安全情况",
        ],
    },
    "battery_maker": {
        "daily": [
            "电芯来料已检验，未使用退役动力电池（梯次利用）电芯",
            "电池管理系统（BMS）功能已检测",
            "每个电池包已赋唯一编码并在平台登记",
            "出厂检验：标称电压、容量与认证一致，最高输出电压不超过 60 V",
            "产品与 CCC 认证型式一致",
        ],
        "weekly": [
            "本周质量安全风险已排查",
            "热失控等安全性能抽测结果已分析",
            "上周整改措施已落实",
        ],
        "monthly": [
            "质量安全总监已主持召开月度调度会议",
            "已分析本月质量安全风险及防控措施",
            "已研究部署下月重点工作",
        ],
    },
}

SIGNAL_WEIGHTS = [
    {
        "code": "duty_overdue",
        "weight": Decimal("1.00"),
        "note": "日管控、周排查、月调度记录缺失（逾期未填报）：企业主体责任落实不到位，每缺一次计 1 分。",
    },
    {
        "code": "sampling_failed",
        "weight": Decimal("10.00"),
        "note": "近期监督抽查不合格：产品质量存在实证问题，一批次即计 10 分（达到风险企业分值）。",
    },
]


def duty_reference_load(duty_template, risk_signal) -> int:
    """Create the checklists and weights that are missing (historical models passed in by the migration)."""
    created = 0
    for organization_kind, duties in DUTY_CHECKLISTS.items():
        for kind, items in duties.items():
            created += duty_template.objects.get_or_create(
                organization_kind=organization_kind, kind=kind, defaults={"items": items}
            )[1]
    for row in SIGNAL_WEIGHTS:
        values = {name: value for name, value in row.items() if name != "code"}
        created += risk_signal.objects.get_or_create(code=row["code"], defaults=values)[1]
    return created


def duty_reference_unload(duty_template, risk_signal) -> None:
    duty_template.objects.filter(organization_kind__in=DUTY_CHECKLISTS).delete()
    risk_signal.objects.filter(code__in=[row["code"] for row in SIGNAL_WEIGHTS]).delete()
