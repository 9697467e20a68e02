"""The demo world: agencies and enterprises in 德州市 (in each of its 11 counties) and 宁波市北仑区, with a login for
each role, and the demo's clock (the moment its year of history ends).

Idempotent: every row is looked up by its natural key (USCC, username) and created only when missing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from core.codes import make_uscc
from core.models import Organization, OrganizationKind, Region, User

DEMO_PASSWORD = "demo-2026"

K = OrganizationKind


@dataclass(frozen=True)
class DemoOrg:
    key: str
    name: str
    kind: str
    region: str
    qualification: bool = False
    enterprise_code: str = ""  # vehicle makers: the first 4 digits of their frame numbers
    account: bool = False  # an enterprise login named after its key (the main logins are in DEMO_USERS)


DEMO_ORGS = [
    # Market regulators at city and district level, and the departments alerts are shared with.
    DemoOrg("dz_msa", "德州市市场监督管理局", K.REGULATOR, "371400"),
    DemoOrg("dc_msa", "德州市德城区市场监督管理局", K.REGULATOR, "371402"),
    DemoOrg("lc_msa", "德州市陵城区市场监督管理局", K.REGULATOR, "371403"),
    DemoOrg("dz_police", "德州市公安局", K.POLICE, "371400"),
    DemoOrg("dz_fire", "德州市消防救援支队", K.FIRE, "371400"),
    DemoOrg("dz_env", "德州市生态环境局", K.ENVIRONMENT, "371400"),
    DemoOrg("nb_msa", "宁波市市场监督管理局", K.REGULATOR, "330200"),
    DemoOrg("bl_msa", "宁波市北仑区市场监督管理局", K.REGULATOR, "330206"),
    DemoOrg("bl_fire", "宁波市北仑区消防救援大队", K.FIRE, "330206"),
    # Producers.
    DemoOrg("maker_dz", "德州德骑电动车有限公司", K.MANUFACTURER, "371402", qualification=True, enterprise_code="1402"),
    DemoOrg(
        "maker_bl", "宁波北仑安行车业有限公司", K.MANUFACTURER, "330206", qualification=True, enterprise_code="2206"
    ),
    DemoOrg("battery_maker", "山东鲁电新能源电池有限公司", K.BATTERY_MAKER, "371482", qualification=True),
    # The chain in each city.
    DemoOrg("dealer_dc", "德城区新湖电动车专卖店", K.DEALER, "371402", qualification=True),
    DemoOrg("dealer_lc", "陵城区顺达电动车商行", K.DEALER, "371403", qualification=True),
    DemoOrg("dealer_bl", "北仑区新碶电动车经营部", K.DEALER, "330206", qualification=True),
    DemoOrg("repair_dc", "德城区诚信电动车维修部", K.REPAIR_SHOP, "371402", qualification=True),
    DemoOrg("repair_yc", "禹城市老王电动车维修店", K.REPAIR_SHOP, "371482"),  # never filed its qualification
    DemoOrg("repair_bl", "北仑区大碶电动车修理铺", K.REPAIR_SHOP, "330206", qualification=True, account=True),
    DemoOrg("recycler_dz", "德州市绿源再生资源回收有限公司", K.RECYCLER, "371425", qualification=True),
    # More of 德州's enterprises, so that every county has some and the risk map has something to colour. Appended
    # only: an organization's USCC comes from its place in this list.
    *(
        DemoOrg(key, name, kind, region, qualification=kind != K.CHARGING_OPERATOR, account=True)
        for key, name, kind, region in (
            ("dealer_dc2", "德城区天衢东路电动车商行", K.DEALER, "371402"),
            ("dealer_dc3", "德城区运河电动车销售部", K.DEALER, "371402"),
            ("dealer_dc4", "德城区长河电动车专营店", K.DEALER, "371402"),
            ("repair_dc2", "德城区湖滨北路电动车维修店", K.REPAIR_SHOP, "371402"),
            ("repair_dc3", "德城区广川电动车快修部", K.REPAIR_SHOP, "371402"),
            ("repair_dc4", "德城区新华电动车维修服务中心", K.REPAIR_SHOP, "371402"),
            ("recycler_dc", "德州市德城区恒通再生资源回收站", K.RECYCLER, "371402"),
            ("charging_dc", "德州市安充智能充电服务有限公司", K.CHARGING_OPERATOR, "371481"),
            ("dealer_lc2", "陵城区丰华电动车销售部", K.DEALER, "371403"),
            ("repair_lc", "陵城区安达电动车维修部", K.REPAIR_SHOP, "371403"),
            ("dealer_nj", "宁津县永兴电动车行", K.DEALER, "371422"),
            ("repair_nj", "宁津县大柳镇老张电动车维修点", K.REPAIR_SHOP, "371422"),
            ("dealer_qy", "庆云县顺心电动车商行", K.DEALER, "371423"),
            ("dealer_ly", "临邑县恒源电动车销售中心", K.DEALER, "371424"),
            ("repair_ly", "临邑县邢侗街道电动车维修部", K.REPAIR_SHOP, "371424"),
            ("dealer_qh", "齐河县晏城电动车商行", K.DEALER, "371425"),
            ("repair_qh", "齐河县安顺电动车维修部", K.REPAIR_SHOP, "371425"),
            ("dealer_py", "平原县龙门电动车行", K.DEALER, "371426"),
            ("dealer_xj", "夏津县银城电动车销售部", K.DEALER, "371427"),
            ("repair_xj", "夏津县新盛电动车维修部", K.REPAIR_SHOP, "371427"),
            ("dealer_wc", "武城县广运电动车行", K.DEALER, "371428"),
            ("dealer_ll", "乐陵市金丝电动车行", K.DEALER, "371481"),
            ("dealer_ll2", "乐陵市鑫源电动车商行", K.DEALER, "371481"),
            ("repair_ll", "乐陵市速达电动车维修部", K.REPAIR_SHOP, "371481"),
            ("recycler_ll", "乐陵市宏达再生资源回收站", K.RECYCLER, "371481"),
            ("dealer_yc", "禹城市福瑞电动车行", K.DEALER, "371482"),
            ("dealer_yc2", "禹城市惠民电动车销售部", K.DEALER, "371482"),
            ("repair_yc2", "禹城市市中电动车维修部", K.REPAIR_SHOP, "371482"),
            ("repair_yc3", "禹城市长城电动车维修店", K.REPAIR_SHOP, "371482"),
            ("repair_dc5", "德城区新河路电动车维修部", K.REPAIR_SHOP, "371402"),
        )
    ),
]

# (username, organization key or None for the platform administrator, role, what the login shows)
DEMO_USERS = [
    ("admin", None, "admin", "platform administrator (Django admin, provisioning)"),
    ("dz_regulator", "dz_msa", "admin", "德州市市场监督管理局: city regulator"),
    ("dc_regulator", "dc_msa", "staff", "德城区市场监督管理局: district regulator"),
    ("lc_regulator", "lc_msa", "staff", "陵城区市场监督管理局: district regulator"),
    ("dz_police", "dz_police", "staff", "德州市公安局: police department (stolen bikes)"),
    ("dz_fire", "dz_fire", "admin", "德州市消防救援支队: fire department"),
    ("bl_regulator", "bl_msa", "admin", "北仑区市场监督管理局: district regulator in 宁波"),
    ("maker", "maker_dz", "admin", "德州德骑电动车: vehicle manufacturer"),
    ("maker_bl", "maker_bl", "admin", "宁波北仑安行车业: vehicle manufacturer"),
    ("battery_maker", "battery_maker", "admin", "山东鲁电新能源: battery maker"),
    ("dealer", "dealer_dc", "admin", "德城区新湖电动车专卖店: dealer"),
    ("dealer_lc", "dealer_lc", "admin", "陵城区顺达电动车商行: dealer"),
    ("dealer_bl", "dealer_bl", "admin", "北仑区新碶电动车经营部: dealer"),
    ("repair", "repair_dc", "admin", "德城区诚信电动车维修部: repair shop"),
    ("repair_yc", "repair_yc", "admin", "禹城市老王电动车维修店: repair shop without a filed qualification"),
    ("recycler", "recycler_dz", "admin", "德州市绿源再生资源回收: recycler"),
    ("repair_ll", "repair_ll", "admin", "乐陵市速达电动车维修部: repair shop that turned risk in the last month"),
    ("charging_dc", "charging_dc", "admin", "德州市安充智能充电: charging and swap operator"),
]

DEMO_LOGINS = [(username, DEMO_PASSWORD, description) for username, _, _, description in DEMO_USERS]

_AGENCY_KINDS = {K.REGULATOR, K.POLICE, K.FIRE, K.ENVIRONMENT, K.HOUSING, K.LOCAL_GOVERNMENT}


def demo_uscc(index: int, org: DemoOrg) -> str:
    # 11 = government agency (机关), 91 = enterprise (企业); then the region, then a made-up organization code.
    category = "11" if org.kind in _AGENCY_KINDS else "91"
    return make_uscc(f"{category}{org.region}MA{index:07d}")


@transaction.atomic
def seed_organizations() -> dict[str, Organization]:
    orgs = {}
    for index, spec in enumerate(DEMO_ORGS, start=1):
        org, _ = Organization.objects.get_or_create(
            uscc=demo_uscc(index, spec),
            defaults={
                "name": spec.name,
                "kind": spec.kind,
                "region": Region.objects.get(code=spec.region),
                "qualification_no": f"DZWX-{index:04d}" if spec.qualification else "",
                "qualification_valid_until": dt.date(2028, 12, 31) if spec.qualification else None,
                "enterprise_code": spec.enterprise_code,
            },
        )
        orgs[spec.key] = org
    return orgs


def _accounts() -> list[tuple[str, str | None, str]]:
    """(username, organization key, role) of every demo login: the main ones, then one per other enterprise."""
    listed = [(username, org_key, role) for username, org_key, role, _ in DEMO_USERS]
    taken = {username for username, _, _ in listed}
    return listed + [(spec.key, spec.key, "admin") for spec in DEMO_ORGS if spec.account and spec.key not in taken]


@transaction.atomic
def seed_users(orgs: dict[str, Organization]) -> None:
    existing = set(User.objects.values_list("username", flat=True))
    missing = [account for account in _accounts() if account[0] not in existing]
    if not missing:
        return
    # One hash for every login: the password is public, and hashing it once per user cost seconds on each first start.
    password = make_password(DEMO_PASSWORD)
    for username, org_key, role in missing:
        user = User(username=username, organization=orgs.get(org_key) if org_key else None, role=role)
        if org_key is None:
            user.is_superuser = user.is_staff = True
        user.password = password
        user.save()


def seed() -> dict[str, Organization]:
    orgs = seed_organizations()
    seed_users(orgs)
    return orgs


@dataclass(frozen=True)
class Clock:
    """The demo's "now": its year of history ends there, and every date of it is counted back from there."""

    now: dt.datetime

    @classmethod
    def start(cls) -> Clock:
        return cls(timezone.now())

    @property
    def today(self) -> dt.date:
        return timezone.localdate(self.now)

    def day(self, days_ago: int) -> dt.date:
        return self.today - dt.timedelta(days=days_ago)

    def at(self, day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
        """A local time of a day, never later than an hour before now (the demo writes no future)."""
        moment = timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))
        return min(moment, self.now - dt.timedelta(hours=1))

    def month_first(self, months_ago: int) -> dt.date:
        first = self.today.replace(day=1)
        for _ in range(months_ago):
            first = (first - dt.timedelta(days=1)).replace(day=1)
        return first
