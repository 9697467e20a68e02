"""The demo's trade-ins in 北仑区 (dealers/demo_trade_ins.py), seeded once on top of the demo world and chain."""

import pytest
from django.db.models import Count

from alerts.models import Alert
from core import demo
from core.models import Region
from dealers import demo_trade_ins
from dealers.models import TradeIn
from dealers.trade_in_report import week_of, weekly
from vehicles import demo as chain_demo
from vehicles.ledger import chain_verify
from vehicles.models import Registration

pytestmark = pytest.mark.django_db


def test_a_dozen_trade_ins_across_beiluns_streets_over_the_past_weeks(world):
    clock = demo.Clock.start()
    orgs = demo.seed()
    chain_demo.seed(orgs, clock)

    assert demo_trade_ins.seed(orgs, clock) == 12
    assert demo_trade_ins.seed(orgs, clock) == 0  # once

    trade_ins = TradeIn.objects.filter(dealer=orgs["dealer_bl"])
    assert trade_ins.count() == 12
    assert dict(trade_ins.values_list("old_kind").annotate(n=Count("pk"))) == {"old_standard": 8, "new_standard": 4}
    streets = set(trade_ins.values_list("region_code", flat=True))
    assert len(streets) >= 6 and all(len(code) == 9 and code.startswith("330206") for code in streets)
    assert {t.subsidy_yuan for t in trade_ins} == {500, 200}  # the demo policy of 北仑区 (migration dealers 0003)
    assert trade_ins.filter(handed_over_at__isnull=False).count() == 6
    for trade_in in trade_ins:
        assert Registration.objects.get(pk=trade_in.old_registration_id).status == "cancelled"
        assert chain_verify(trade_in.old_vehicle).valid
    late = Alert.objects.filter(rule="STOCK_MISMATCH", evidence__reason="trade_in_not_handed_over")
    assert late.count() == 2 and {a.organization_id for a in late} == {orgs["dealer_bl"].pk}

    beilun = Region.objects.get(code="330206")
    weeks = [weekly(beilun, week_of(clock.today).shifted(-n)) for n in range(7)]
    assert sum(w["total"]["trade_ins"] for w in weeks) == 12
    assert weeks[0]["total"]["handed_to_recycler"] == 6  # taken back today
