"""三分 risk grading: each signal counted from real alerts, repairs and qualifications; grades with their reasons;
thresholds, weights and colours as data; the history; what turned risk or red in a period; the task, the command
and the admin."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alerts.models import Alert, Severity
from alerts.services import alert_transition
from core.models import OrganizationKind, QualificationState
from repairs.services import repair_record
from reports import risk
from reports.models import ColourThreshold, EnterpriseGrade, RegionGrade, RiskSetting, RiskSignal
from reports.risk_reference import SIGNAL_WEIGHTS
from reports.tasks import grade_risk
from supervision.duty_reference import SIGNAL_WEIGHTS as SUPERVISION_WEIGHTS
from tests.alerts.conftest import drain
from tests.conftest import _member

if TYPE_CHECKING:
    from tests.reports.risk_world import RiskWorld

K = OrganizationKind
pytestmark = pytest.mark.django_db
pytest_plugins = ["tests.reports.risk_world"]  # `risky`, and the reference data put back after a flush


def current(organization) -> EnterpriseGrade:
    return EnterpriseGrade.objects.get(organization=organization, current=True)


def colour(code: str) -> str:
    return RegionGrade.objects.get(region_code=code, current=True).colour


# ── Signals ──────────────────────────────────────────────────────────────────────────────────────────────────


def test_every_registered_signal_has_a_weight_with_its_reason_and_every_weight_a_signal():
    weights = [*SIGNAL_WEIGHTS, *SUPERVISION_WEIGHTS]  # the duties' and sampling's are loaded by supervision
    assert {row["code"] for row in weights} == set(risk.SIGNALS)
    assert all(row["note"] for row in weights)
    assert set(RiskSignal.objects.values_list("code", flat=True)) == set(risk.SIGNALS)


def test_signals_count_each_enterprises_alerts_repairs_and_qualification(risky: RiskWorld):
    moment = risky.moment()
    shop, dealer = risky.shop.organization_id, risky.world.dealer.organization_id
    counts = {code: signal.count(moment) for code, signal in risk.SIGNALS.items()}

    # The shop: repair 1 raised three MOD_* alerts (motor, speed, battery), repair 2 one (speed, then dismissed as
    # unfounded), a repair of an unqualified day one SHOP_UNQUALIFIED; one high alert is past its deadline.
    assert counts["open_alerts"][shop] == 4  # 3 of repair 1 + SHOP_UNQUALIFIED; the dismissed one is not open
    assert counts["recent_alerts_high"][shop] == 3
    assert counts["recent_alerts_medium"][shop] == 1
    assert counts["modification_repairs"][shop] == 1  # one repair, however many of its modifications were found
    assert counts["overdue_rectifications"][shop] == 1
    assert counts["qualification_lapsed"][shop] == 1  # its qualification expired yesterday

    # The dealer: a complaint about a bike it sold, and an old alert outside the window (still open).
    assert counts["complaints"][dealer] == 1
    assert counts["open_alerts"][dealer] == 2
    assert counts["recent_alerts_medium"][dealer] == 1
    assert counts["recent_alerts_low"] == {}  # no rule of today is low
    assert dealer not in counts["modification_repairs"] and dealer not in counts["qualification_lapsed"]

    # Outsiders: another district's dealer and a dealer in another city have nothing.
    for outsider in (risky.world.other_dealer, risky.world.far_dealer):
        assert all(outsider.organization_id not in found for found in counts.values())


def test_low_severity_alerts_in_the_window_count_in_their_own_signal(risky: RiskWorld):
    # No rule raises low alerts today; a bureau's own rule may. The dealer's two complaints, made low:
    Alert.objects.filter(organization=risky.world.dealer.organization).update(severity=Severity.LOW)
    counts = {code: risk.SIGNALS[code].count(risky.moment()) for code in ("recent_alerts_low", "recent_alerts_medium")}
    dealer = risky.world.dealer.organization_id
    assert counts["recent_alerts_low"] == {dealer: 1} and dealer not in counts["recent_alerts_medium"]
    longer = risk.SIGNALS["recent_alerts_low"].count(risky.moment(window_days=120))
    assert longer == {dealer: 2}  # the 100-day-old one too


def test_qualification_signal_agrees_with_the_directory_for_every_state(world):
    today = timezone.localdate()
    shops = {
        "missing": _member(K.REPAIR_SHOP, "371402", qualification_no=""),
        "expired": _member(K.RECYCLER, "371402", qualification_valid_until=today - dt.timedelta(days=1)),
        "expiring": _member(K.REPAIR_SHOP, "371402", qualification_valid_until=today + dt.timedelta(days=3)),
        "valid": _member(K.REPAIR_SHOP, "371402", qualification_valid_until=today),
        "no_end": _member(K.RECYCLER, "371402"),
        "dealer": _member(K.DEALER, "371402", qualification_no=""),  # not a kind that files one
    }
    lapsed = risk.SIGNALS["qualification_lapsed"].count(risk.Moment(now=timezone.now(), since=timezone.now()))
    for name, user in shops.items():
        state = user.organization.qualification_state(today)
        expected = state in (QualificationState.MISSING, QualificationState.EXPIRED)
        assert (user.organization_id in lapsed) is expected, name
    assert {n for n, u in shops.items() if u.organization_id in lapsed} == {"missing", "expired"}


def test_one_query_per_signal_whatever_the_number_of_enterprises(risky: RiskWorld):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            risk.risk_grade_all()
        return len(captured)

    few = queries()
    for n in range(30):
        _member(K.DEALER, "371403" if n % 2 else "330206", qualification_no="")
        _member(K.REPAIR_SHOP, "371402", qualification_no="")
    assert queries() == few
    assert EnterpriseGrade.objects.filter(current=True).count() > 60


# ── Grades ───────────────────────────────────────────────────────────────────────────────────────────────────


def test_grade_is_risk_from_the_threshold_and_keeps_its_reasons(risky: RiskWorld):
    grading = risk.risk_grade_all(now=risky.now)
    weights = dict(RiskSignal.objects.values_list("code", "weight"))

    shop = current(risky.shop.organization)
    assert shop.grade == EnterpriseGrade.Grade.RISK
    assert shop.reasons == [
        {"code": "open_alerts", "weight": "1.00", "count": 4},
        {"code": "overdue_rectifications", "weight": "3.00", "count": 1},
        {"code": "recent_alerts_high", "weight": "3.00", "count": 3},
        {"code": "recent_alerts_medium", "weight": "1.50", "count": 1},
        {"code": "modification_repairs", "weight": "5.00", "count": 1},
        {"code": "qualification_lapsed", "weight": "10.00", "count": 1},
    ]
    assert shop.score == sum(weights[r["code"]] * r["count"] for r in shop.reasons) == Decimal("32.50")
    assert shop.region_code == "371402" and shop.graded_at == risky.now

    dealer = current(risky.world.dealer.organization)
    assert dealer.grade == EnterpriseGrade.Grade.NON_RISK and dealer.score == Decimal("4.50")
    assert {r["code"] for r in dealer.reasons} == {"open_alerts", "recent_alerts_medium", "complaints"}

    quiet = current(risky.world.far_dealer.organization)
    assert (quiet.grade, quiet.score, quiet.reasons) == (EnterpriseGrade.Grade.NON_RISK, 0, [])
    # Regulators and departments are not graded; every enterprise is.
    assert not EnterpriseGrade.objects.filter(organization=risky.world.city_regulator.organization).exists()
    assert not EnterpriseGrade.objects.filter(organization=risky.world.police.organization).exists()
    assert grading.enterprises == EnterpriseGrade.objects.filter(current=True).count() == 6
    assert grading.risk_enterprises == 1


def test_regions_are_coloured_by_their_subtrees_share_of_risk_enterprises(risky: RiskWorld):
    risk.risk_grade_all(now=risky.now)
    # 德城区: dealer, shop (risk), maker → 1 in 3; 陵城区: 1 dealer; 禹城市: the battery maker; 北仑区: 1 dealer.
    district = RegionGrade.objects.get(region_code="371402", current=True)
    assert (district.risk_enterprises, district.enterprises, district.risk_share_pct) == (1, 3, Decimal("33.33"))
    assert district.colour == "red"
    city = RegionGrade.objects.get(region_code="371400", current=True)
    assert (city.risk_enterprises, city.enterprises, city.colour) == (1, 5, "red")  # 20% is red (≥)
    assert RegionGrade.objects.get(region_code="370000", current=True).enterprises == 5
    assert colour("371403") == colour("330206") == colour("330200") == colour("330000") == "green"
    graded = set(RegionGrade.objects.filter(current=True).values_list("region_code", flat=True))
    assert graded == {"370000", "371400", "371402", "371403", "371482", "330000", "330200", "330206"}


def test_thresholds_weights_and_settings_are_data(risky: RiskWorld):
    risk.risk_grade_all(now=risky.now)
    assert colour("371400") == "red"

    ColourThreshold.objects.filter(colour="red").update(min_share_pct=Decimal("25"))
    risk.risk_grade_all(now=risky.now)
    assert colour("371400") == "orange"  # 20% is now below red
    assert colour("371402") == "red"  # 33%

    RiskSetting.objects.filter(code="risk_score_threshold").update(value=Decimal("40"))
    risk.risk_grade_all(now=risky.now)
    assert current(risky.shop.organization).grade == EnterpriseGrade.Grade.NON_RISK
    assert colour("371402") == "green"

    RiskSetting.objects.filter(code="risk_score_threshold").update(value=Decimal("10"))
    RiskSignal.objects.filter(code="qualification_lapsed").update(active=False)
    RiskSignal.objects.filter(code="modification_repairs").update(weight=Decimal("20"))
    risk.risk_grade_all(now=risky.now)
    shop = current(risky.shop.organization)
    assert "qualification_lapsed" not in {r["code"] for r in shop.reasons}
    assert {"code": "modification_repairs", "weight": "20.00", "count": 1} in shop.reasons
    assert shop.score == Decimal("37.50")

    RiskSetting.objects.filter(code="window_days").update(value=Decimal("0"))  # nothing is recent any more
    risk.risk_grade_all(now=risky.now)
    assert {r["code"] for r in current(risky.shop.organization).reasons} == {"open_alerts", "overdue_rectifications"}


def test_each_grading_is_kept_as_history_and_only_the_latest_is_current(risky: RiskWorld):
    first_at = risky.now
    risk.risk_grade_all(now=first_at)
    for alert in Alert.objects.filter(organization=risky.shop.organization).exclude(status="dismissed"):
        alert_transition(user=risky.world.district_regulator, alert_id=alert.pk, action="dismiss", note="复核无问题")
    risky.shop.organization.qualification_valid_until = timezone.localdate() + dt.timedelta(days=365)
    risky.shop.organization.save()
    second_at = first_at + dt.timedelta(hours=1)
    risk.risk_grade_all(now=second_at)

    history = list(EnterpriseGrade.objects.filter(organization=risky.shop.organization).order_by("graded_at"))
    assert [(g.graded_at, g.grade, g.current) for g in history] == [
        (first_at, "risk", False),
        (second_at, "non_risk", True),
    ]
    assert history[0].score == Decimal("32.50")  # the old grade is kept as it was, reasons and all
    assert EnterpriseGrade.objects.count() == 2 * 6
    assert EnterpriseGrade.objects.filter(current=True).count() == 6
    assert list(
        RegionGrade.objects.filter(region_code="371402").order_by("graded_at").values_list("colour", "current")
    ) == [
        ("red", False),
        ("green", True),
    ]


def test_turned_risk_and_turned_red_in_a_period(risky: RiskWorld):
    before = risky.now - dt.timedelta(days=40)
    risk.risk_grade_all(now=before)  # the shop's alerts did not exist yet: all non-risk, all green
    assert current(risky.shop.organization).grade == "non_risk"
    risk.risk_grade_all(now=risky.now)

    month = risk.risk_changes(start=risky.now - dt.timedelta(days=30), end=risky.now + dt.timedelta(seconds=1))
    assert [(c.key, c.before, c.after) for c in month.turned_risk] == [(risky.shop.organization_id, "non_risk", "risk")]
    assert {c.key for c in month.turned_red} == {"370000", "371400", "371402"}
    assert all(c.before == "green" for c in month.regions)
    assert month.enterprises == month.turned_risk  # nobody else changed

    jurisdiction = risk.risk_changes(
        start=risky.now - dt.timedelta(days=30), end=risky.now + dt.timedelta(seconds=1), region_code="330200"
    )
    assert jurisdiction.enterprises == [] and jurisdiction.regions == []  # 北仑 saw none of it

    earlier = risk.risk_changes(start=before - dt.timedelta(days=30), end=before - dt.timedelta(days=1))
    assert earlier.enterprises == [] and earlier.regions == []  # nothing graded yet then


def test_region_colours_lists_every_child_with_the_calm_colour_when_not_graded(risky: RiskWorld):
    risk.risk_grade_all(now=risky.now)
    children = risk.region_colours("371400")
    assert list(children) == sorted(children) and "371402" in children and "371425" in children
    assert children["371402"]["colour"] == "red" and children["371402"]["enterprises"] == 3
    assert children["371425"] == {
        "region_code": "371425",
        "name": "齐河县",
        "colour": "green",
        "risk_enterprises": 0,
        "enterprises": 0,
        "risk_share_pct": Decimal("0.00"),
        "graded_at": None,
    }
    provinces = risk.region_colours(None)
    assert provinces["370000"]["colour"] == "red" and provinces["110000"]["enterprises"] == 0


# ── Task, command, admin ─────────────────────────────────────────────────────────────────────────────────────


@pytest.fixture
def eager_in_test_transaction():
    """Run tasks in-process inside the test's transaction: like the request signals in Django's test client,
    keep Celery's task signals from closing the test's database connection (config/celery.py)."""
    from celery.signals import task_postrun, task_prerun

    from config.celery import _database_connections_checked

    task_prerun.disconnect(_database_connections_checked)
    task_postrun.disconnect(_database_connections_checked)
    yield
    task_prerun.connect(_database_connections_checked)
    task_postrun.connect(_database_connections_checked)


def test_beat_grades_nightly_and_the_task_is_idempotent(risky: RiskWorld, eager_in_test_transaction):
    entry = settings.CELERY_BEAT_SCHEDULE["reports-grade-risk"]
    assert entry["task"] == grade_risk.name == "reports.tasks.grade_risk"
    assert entry["schedule"].hour == {1}  # a crontab: once a night

    first = grade_risk.apply().get()
    once = {g.organization_id: (g.grade, g.score, g.reasons) for g in EnterpriseGrade.objects.filter(current=True)}
    second = grade_risk.apply().get()
    twice = {g.organization_id: (g.grade, g.score, g.reasons) for g in EnterpriseGrade.objects.filter(current=True)}
    assert first == second == {"enterprises": 6, "risk": 1, "regions": 8}
    assert once == twice
    assert EnterpriseGrade.objects.filter(current=True).count() == 6
    assert RegionGrade.objects.filter(current=True).count() == 8


def test_grade_risk_command(risky: RiskWorld, capsys):
    call_command("grade_risk", "--at", risky.now.isoformat())
    assert "graded 6 enterprises (1 risk) and 8 regions" in capsys.readouterr().out
    assert current(risky.shop.organization).graded_at == risky.now


def test_admin_edits_the_data_reads_the_grades_and_grades_on_demand(world):
    client = Client()
    client.force_login(world.superuser)
    signal = RiskSignal.objects.get(code="complaints")
    assert client.get(f"/admin/reports/risksignal/{signal.pk}/change/").status_code == 200
    response = client.post(
        "/admin/reports/risksignal/",
        {"action": "grade_now", "_selected_action": [signal.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert EnterpriseGrade.objects.filter(current=True, organization=world.dealer.organization).exists()

    grade = EnterpriseGrade.objects.filter(current=True).first()
    assert client.get(f"/admin/reports/enterprisegrade/{grade.pk}/change/").status_code == 200  # view only
    assert client.get("/admin/reports/enterprisegrade/add/").status_code == 403
    assert client.post(f"/admin/reports/enterprisegrade/{grade.pk}/delete/").status_code == 403

    unknown = client.post("/admin/reports/risksignal/add/", {"code": "no_such_signal", "weight": "1", "note": ""})
    assert unknown.status_code == 200 and not RiskSignal.objects.filter(code="no_such_signal").exists()
    assert Client().get("/admin/reports/risksignal/").status_code == 302  # the public is sent to log in
    staff_less = Client()
    staff_less.force_login(world.dealer)
    assert staff_less.get("/admin/reports/risksignal/").status_code == 302  # an enterprise's user is not staff


def test_a_repair_with_several_modifications_counts_once_per_repair(world, chain):
    from tests.reports.risk_world import sell

    shop = _member(K.REPAIR_SHOP, "371402", name="德城区改装店")
    bikes = [sell(chain, world.dealer) for _ in range(2)]
    drain()
    for bike in bikes:
        repair_record(
            user=shop,
            frame_no=bike.frame_no,
            vehicle_code=bike.code,
            kind="motor_replacement",
            fitted_motor_power_w=800,
            measured_max_speed_kmh="41",
        )
    drain()
    assert Alert.objects.filter(organization=shop.organization, severity=Severity.HIGH).count() == 4
    moment = risk.Moment(now=timezone.now(), since=timezone.now() - dt.timedelta(days=90))
    assert risk.SIGNALS["modification_repairs"].count(moment) == {shop.organization_id: 2}
