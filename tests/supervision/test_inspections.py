"""Inspection plans and tasks (检查任务): a regulator's plan draws its period's enterprises at once (双随机: random,
reproducible per plan and period, risk enterprises first when weighted, once per period), the tasks are listed to
the jurisdiction, and a result is recorded once with its actions; a hazard raises INSPECTION_HAZARD, which runs
the closed loop. Outsiders (another district, another city, an enterprise, a department, the public) see and do
nothing."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from alerts.models import Alert, AlertRequest, RuleCode
from alerts.services import alert_transition
from core.models import Organization, OrganizationKind
from supervision.draw import draw_seed, inspection_plan_draw, inspection_plans_draw_due
from supervision.models import EnforcementAction, InspectionPlan, InspectionTask
from supervision.tasks import inspections_draw
from tests.alerts.conftest import drain
from tests.conftest import _member
from tests.supervision.inspection_world import (
    CHECKLIST,
    grade,
    make_plan,
    moment,
    plan_body,
    result_body,
    week_of,
)

pytestmark = pytest.mark.django_db

PLANS, TASKS = "/api/v1/inspection-plans/", "/api/v1/inspection-tasks/"


def result_url(task) -> str:
    return f"{TASKS}{task.pk}/result/"


def drawn(plan, period: str | None = None) -> set[int]:
    tasks = InspectionTask.objects.filter(plan=plan)
    if period:
        tasks = tasks.filter(period=period)
    return set(tasks.values_list("organization_id", flat=True))


# ── Plans ────────────────────────────────────────────────────────────────────────────────────────────────────


def test_a_regulator_makes_a_plan_and_its_current_period_is_drawn_at_once(town, api):
    response = api(town.regulator).post(PLANS, plan_body(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert set(body) == {"id", "tasks_created"} and body["tasks_created"] == 3
    plan = InspectionPlan.objects.get(pk=body["id"])
    assert (plan.regulator, plan.created_by) == (town.regulator.organization, town.regulator)
    assert plan.sample_size == 3 and plan.checklist == CHECKLIST and plan.kinds == ["dealer"]

    tasks = list(InspectionTask.objects.filter(plan=plan))
    today = timezone.localdate()
    assert len(tasks) == 3
    assert {t.organization_id for t in tasks} <= {d.pk for d in town.dealers}  # 德城区's active dealers only
    assert {t.period for t in tasks} == {week_of(today)}
    assert {t.status for t in tasks} == {"open"}
    due = timezone.localtime(tasks[0].due_at)
    assert (due.date(), due.time()) == (today + dt.timedelta(days=7), dt.time(23, 59, 59))
    assert {t.region_code for t in tasks} == {"371402"}


def test_sample_all_draws_every_active_enterprise_of_the_kinds_in_the_subtree(town, api):
    body = plan_body(region_code="371400", kinds=["dealer", "repair_shop"], sample={"all": True}, frequency="once")
    response = api(town.world.city_regulator).post(PLANS, body, format="json")
    assert response.status_code == 201
    plan = InspectionPlan.objects.get(pk=response.json()["id"])
    expected = {o.pk for o in town.dealers + town.shops} | {town.world.other_dealer.organization_id}  # 陵城区 too
    assert drawn(plan) == expected and response.json()["tasks_created"] == len(expected)
    assert town.suspended.pk not in drawn(plan)  # a suspended enterprise is not drawn
    assert town.world.far_dealer.organization_id not in drawn(plan)  # 北仑区 is another city
    assert plan.sample_size is None
    assert {t.period for t in plan.tasks.all()} == {timezone.localdate().isoformat()}  # a one-off's day


@pytest.mark.parametrize(
    ("overrides", "status", "code", "field"),
    [
        ({"region_code": "371403"}, 403, "outside_jurisdiction", "region_code"),  # the other district
        ({"region_code": "330206"}, 403, "outside_jurisdiction", "region_code"),  # another city
        ({"region_code": "999999"}, 400, "unknown_region", "region_code"),
        ({"kinds": ["regulator"]}, 400, "invalid", "kinds"),
        ({"kinds": []}, 400, "invalid", "kinds"),
        ({"sample": {"size": 3, "all": True}}, 400, "invalid", "sample"),
        ({"sample": {}}, 400, "invalid", "sample"),
        ({"sample": {"size": 0}}, 400, "invalid", "sample"),
        ({"checklist": []}, 400, "invalid", "checklist"),
        ({"checklist": ["  "]}, 400, "invalid", "checklist"),
        ({"due_days": 0}, 400, "invalid", "due_days"),
        ({"frequency": "daily"}, 400, "invalid", "frequency"),
    ],
)
def test_a_plan_outside_the_jurisdiction_or_malformed_is_refused(town, api, overrides, status, code, field):
    response = api(town.regulator).post(PLANS, plan_body(**overrides), format="json")
    assert response.status_code == status, response.json()
    error = response.json()["error"]
    assert error["code"] == code and field in error["fields"]
    assert not InspectionPlan.objects.exists() and not InspectionTask.objects.exists()


def test_only_a_regulator_makes_plans_and_reads_them(town, api):
    police = _member(OrganizationKind.POLICE, "371400")
    for outsider in (town.world.dealer, police, town.world.superuser):
        assert api(outsider).post(PLANS, plan_body(), format="json").status_code == 403
    assert api().post(PLANS, plan_body(), format="json").status_code == 401
    assert not InspectionPlan.objects.exists()

    make_plan(town.regulator)
    assert [p["name"] for p in api(town.regulator).get(PLANS).json()["results"]] == [plan_body()["name"]]
    assert api(town.world.city_regulator).get(PLANS).json()["results"][0]["tasks_total"] == 3
    assert api(town.world.other_district_regulator).get(PLANS).json()["results"] == []
    assert api(town.world.other_city_regulator).get(PLANS).json()["results"] == []
    assert api(town.world.dealer).get(PLANS).status_code == 403
    assert api(police).get(PLANS).status_code == 403
    assert api().get(PLANS).status_code == 401


def test_a_plan_post_with_the_same_idempotency_key_makes_one_plan(town, api):
    client = api(town.regulator)
    first = client.post(PLANS, plan_body(), format="json", HTTP_IDEMPOTENCY_KEY="plan-1")
    again = client.post(PLANS, plan_body(), format="json", HTTP_IDEMPOTENCY_KEY="plan-1")
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert InspectionPlan.objects.count() == 1 and InspectionTask.objects.count() == 3


# ── The draw ─────────────────────────────────────────────────────────────────────────────────────────────────


def test_the_draw_is_idempotent_per_period_and_draws_again_the_next(town):
    monday = timezone.localdate() - dt.timedelta(days=timezone.localdate().weekday() + 14)
    plan, created = make_plan(town.regulator, now=moment(monday))
    first = drawn(plan, week_of(monday))
    assert created == 3 and len(first) == 3

    # Later the same week: nothing is added, even after the grades changed what a draw would pick.
    for org in town.dealers:
        grade(org, risk=org.pk not in first)
    assert inspection_plan_draw(plan=plan, now=moment(monday + dt.timedelta(days=4))) == 0
    plan.risk_weighted = True
    plan.save()
    assert inspection_plan_draw(plan=plan, now=moment(monday + dt.timedelta(days=6), 23)) == 0
    assert drawn(plan) == first

    # The next week draws its own three; its deadline counts from its Monday.
    next_monday = monday + dt.timedelta(days=7)
    assert inspection_plans_draw_due(now=moment(next_monday, 0)) == {plan.pk: 3}
    assert inspection_plans_draw_due(now=moment(next_monday, 12)) == {}
    second = InspectionTask.objects.filter(plan=plan, period=week_of(next_monday))
    assert second.count() == 3
    assert {timezone.localdate(t.due_at) for t in second} == {next_monday + dt.timedelta(days=7)}


def test_a_one_off_plan_draws_once_and_beat_leaves_it(town):
    plan, created = make_plan(town.regulator, frequency="once", sample={"size": 4})
    assert created == 4
    assert inspection_plans_draw_due(now=timezone.now() + dt.timedelta(days=40)) == {}
    assert inspection_plan_draw(plan=plan, now=timezone.now() + dt.timedelta(days=40)) == 0
    assert plan.tasks.count() == 4


def test_a_stopped_plan_draws_nothing(town):
    monday = timezone.localdate() - dt.timedelta(days=timezone.localdate().weekday() + 7)
    plan, _ = make_plan(town.regulator, now=moment(monday))
    InspectionPlan.objects.filter(pk=plan.pk).update(active=False)
    assert inspection_plans_draw_due() == {}
    assert plan.tasks.count() == 3


def test_risk_enterprises_are_drawn_first_when_the_plan_is_weighted(town):
    risky = town.dealers[4:7]
    for org in town.dealers:
        grade(org, risk=org in risky)
    weighted, _ = make_plan(town.regulator, risk_weighted=True, sample={"size": 5})
    assert {o.pk for o in risky} <= drawn(weighted)  # all three risk dealers, then two others at random
    fewer, _ = make_plan(town.regulator, risk_weighted=True, sample={"size": 2})
    assert drawn(fewer) < {o.pk for o in risky}  # fewer places than risk enterprises: risk ones only

    # Unweighted, over many periods every dealer comes up, risk or not.
    plan, _ = make_plan(town.regulator, sample={"size": 2})
    monday = timezone.localdate() - dt.timedelta(days=timezone.localdate().weekday())
    for week in range(1, 30):
        inspection_plan_draw(plan=plan, now=moment(monday + dt.timedelta(weeks=week)))
    assert drawn(plan) == {o.pk for o in town.dealers}


def test_the_draw_is_random_but_the_same_period_draws_the_same_again(town):
    plan, _ = make_plan(town.regulator, sample={"size": 1})
    monday = timezone.localdate() - dt.timedelta(days=timezone.localdate().weekday())
    weeks = [monday + dt.timedelta(weeks=n) for n in range(200)]
    picks = {}
    for day in weeks:
        inspection_plan_draw(plan=plan, now=moment(day))
        (picks[week_of(day)],) = drawn(plan, week_of(day))
    # Random: over 200 weekly draws of one of ten dealers each is drawn near its share (20), none far from it.
    counts = Counter(picks.values())
    assert set(counts) == {o.pk for o in town.dealers}
    assert all(5 <= n <= 40 for n in counts.values()), counts
    # Reproducible: the same plan and period draw the same enterprise again.
    some = weeks[17]
    InspectionTask.objects.filter(plan=plan, period=week_of(some)).delete()
    inspection_plan_draw(plan=plan, now=moment(some + dt.timedelta(days=3)))
    assert drawn(plan, week_of(some)) == {picks[week_of(some)]}
    # The seed is the platform's secret with the plan and the period: nobody can tell in advance.
    assert draw_seed(plan.pk, week_of(some)) != draw_seed(plan.pk, week_of(weeks[18]))
    assert settings.SECRET_KEY not in draw_seed(plan.pk, week_of(some))


def test_a_draw_with_a_seed_of_its_own_is_the_same_on_every_machine(town, settings):
    """The demo's draws: the same seed and period draw the same enterprises whatever the platform's secret and the
    row ids, because the order comes from the seed, the period and each enterprise's credit code alone."""
    settings.SECRET_KEY = "this machine's own secret"
    plan, _ = make_plan(town.regulator, sample={"size": 3})
    week = week_of(timezone.localdate())
    InspectionTask.objects.filter(plan=plan).delete()
    inspection_plan_draw(plan=plan, now=moment(timezone.localdate()), seed="demo")
    candidates = Organization.objects.filter(kind="dealer", region_id="371402", status="active")
    by_code = sorted(candidates, key=lambda o: hashlib.md5(f"demo:{week}:{o.uscc}".encode()).hexdigest())
    assert drawn(plan, week) == {o.pk for o in by_code[:3]}


def test_beat_runs_the_draw_every_hour_and_the_task_takes_a_frozen_clock(town, eager_in_test_transaction):
    entry = settings.CELERY_BEAT_SCHEDULE["supervision-inspections-draw"]
    assert entry["task"] == inspections_draw.name == "supervision.tasks.inspections_draw"
    assert entry["schedule"].minute == {5} and len(entry["schedule"].hour) == 24
    monday = timezone.localdate() - dt.timedelta(days=timezone.localdate().weekday() + 7)
    plan, _ = make_plan(town.regulator, now=moment(monday), frequency="monthly")
    next_month = (monday.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    at = moment(next_month, 1).isoformat()
    assert inspections_draw.apply(kwargs={"at": at}).get() == {plan.pk: 3}
    assert inspections_draw.apply(kwargs={"at": at}).get() == {}
    assert drawn(plan, f"{next_month:%Y-%m}") and len(drawn(plan, f"{next_month:%Y-%m}")) == 3


# ── Tasks ────────────────────────────────────────────────────────────────────────────────────────────────────


def test_the_tasks_are_listed_to_the_jurisdiction_with_their_status(town, api):
    monday = timezone.localdate() - dt.timedelta(days=timezone.localdate().weekday() + 14)
    old, _ = make_plan(town.regulator, now=moment(monday), due_days=3)  # overdue by now
    new, _ = make_plan(town.regulator, name="本月维修企业检查", kinds=["repair_shop"], frequency="monthly")
    done = new.tasks.first()
    assert api(town.regulator).post(result_url(done), result_body(), format="json").status_code == 201

    listed = api(town.regulator).get(TASKS).json()["results"]
    assert len(listed) == 5
    statuses = Counter(t["status"] for t in listed)
    assert statuses == {"overdue": 3, "done": 1, "open": 1}
    row = next(t for t in listed if t["id"] == done.pk)
    assert row["plan"] == new.pk and row["plan_name"] == "本月维修企业检查"
    assert row["organization"] == {
        "id": done.organization_id,
        "name": done.organization.name,
        "kind": "repair_shop",
        "region_code": "371402",
    }
    assert row["result"]["hazards_found"] == 1 and row["result"]["actions"][1]["amount_yuan"] == "5000.00"
    assert all(t["result"] is None for t in listed if t["id"] != done.pk)

    def ids(query, user=town.regulator):
        return {t["id"] for t in api(user).get(TASKS + query).json()["results"]}

    assert ids("?status=overdue") == set(old.tasks.values_list("pk", flat=True))
    assert ids("?status=done") == {done.pk}
    assert ids("?status=open") == set(new.tasks.exclude(pk=done.pk).values_list("pk", flat=True))
    assert ids(f"?plan={new.pk}") == set(new.tasks.values_list("pk", flat=True))
    assert ids(f"?organization={done.organization_id}") == {done.pk}
    assert len(ids("", town.world.city_regulator)) == 5
    assert api(town.regulator).get(TASKS + "?status=late").status_code == 400
    assert api(town.regulator).get(TASKS + "?plan=abc").status_code == 400

    # Outsiders: the other district and city see none; an enterprise (even one drawn), a department, nobody else.
    assert ids("", town.world.other_district_regulator) == set()
    assert ids("", town.world.other_city_regulator) == set()
    drawn_dealer = next(t.organization for t in old.tasks.all())
    assert api(_member(OrganizationKind.DEALER, "371402", name="x")).get(TASKS).status_code == 403
    assert api(town.world.dealer).get(TASKS).status_code == 403
    assert api(_member(OrganizationKind.POLICE, "371400")).get(TASKS).status_code == 403
    assert api().get(TASKS).status_code == 401
    assert drawn_dealer.pk in {t["organization"]["id"] for t in listed}


# ── Results ──────────────────────────────────────────────────────────────────────────────────────────────────


@pytest.fixture
def task(town):
    plan, _ = make_plan(town.regulator, sample={"size": 1})
    return plan.tasks.get()


def test_an_inspector_records_a_result_with_a_hazard_a_fine_and_a_confiscation(task, town, api):
    regulator = town.regulator
    response = api(regulator).post(result_url(task), result_body(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["id"] == task.pk and body["status"] == "done"
    result = body["result"]
    assert result["hazards_found"] == 1 and result["performed_by"] == regulator.username
    assert [f["ok"] for f in result["findings"]] == [True, False, True]
    assert [(a["kind"], a["amount_yuan"], a["quantity"]) for a in result["actions"]] == [
        ("order_correction", None, None),
        ("fine", "5000.00", None),
        ("confiscation", None, 2),
    ]

    task.refresh_from_db()
    assert task.status == "done" and task.performed_by == regulator and task.done_at is not None
    actions = EnforcementAction.objects.filter(task=task).order_by("pk")
    assert [a.kind for a in actions] == ["order_correction", "fine", "confiscation"]
    assert {a.organization_id for a in actions} == {task.organization_id}
    assert {a.region_code for a in actions} == {"371402"} and {a.taken_by for a in actions} == {regulator}
    assert actions[1].amount_yuan == Decimal("5000.00") and actions[2].quantity == 2


def test_a_hazard_raises_an_alert_about_the_enterprise_that_runs_the_closed_loop(task, town, api):
    assert api(town.regulator).post(result_url(task), result_body(hazards_found=2), format="json").status_code == 201
    drain()
    alert = Alert.objects.get(rule=RuleCode.INSPECTION_HAZARD)
    assert alert.organization_id == task.organization_id and alert.region_code == "371402"
    assert alert.regulator == town.regulator.organization and alert.status == "dispatched"
    assert alert.evidence["hazards_found"] == 2 and alert.evidence["task"] == task.pk
    assert alert.evidence["reasons"] == ["是否销售无 CCC 产品：货架上有 2 台无 CCC 标志的电动自行车"]
    assert alert.evidence["source"] == f"inspection:{task.pk}"

    # The enterprise sees it and rectifies; the regulator verifies and closes: the loop that every alert runs.
    enterprise = _member(OrganizationKind.DEALER, "371402")
    enterprise.organization = task.organization
    enterprise.save()
    assert [a["id"] for a in api(enterprise).get("/api/v1/alerts/").json()["results"]] == [alert.pk]
    alert_transition(user=town.regulator, alert_id=alert.pk, action="request_rectification", note="限期整改")
    alert_transition(user=enterprise, alert_id=alert.pk, action="submit_rectification", note="已下架并退回")
    alert_transition(user=town.regulator, alert_id=alert.pk, action="verify", note="复查通过")
    alert_transition(user=town.regulator, alert_id=alert.pk, action="close")
    assert Alert.objects.get(pk=alert.pk).status == "closed"
    # Outsiders never see it: the other district, the other enterprise.
    assert api(town.world.other_district_regulator).get("/api/v1/alerts/").json()["results"] == []
    assert api(town.world.other_dealer).get("/api/v1/alerts/").json()["results"] == []


def test_no_hazard_raises_no_alert(task, town, api):
    body = result_body(hazards_found=0, actions=[])
    assert api(town.regulator).post(result_url(task), body, format="json").status_code == 201
    assert not AlertRequest.objects.exists()
    assert not EnforcementAction.objects.exists()


def test_a_task_is_done_once_a_second_result_is_409(task, town, api):
    client = api(town.regulator)
    first = client.post(result_url(task), result_body(), format="json", HTTP_IDEMPOTENCY_KEY="r-1")
    replay = client.post(result_url(task), result_body(), format="json", HTTP_IDEMPOTENCY_KEY="r-1")
    assert first.status_code == replay.status_code == 201 and replay["Idempotent-Replayed"] == "true"
    second = api(town.world.city_regulator).post(result_url(task), result_body(hazards_found=0), format="json")
    assert second.status_code == 409 and second.json()["error"]["code"] == "task_already_done"
    assert EnforcementAction.objects.count() == 3 and AlertRequest.objects.count() == 1
    task.refresh_from_db()
    assert task.hazards_found == 1 and task.performed_by == town.regulator


@pytest.mark.parametrize(
    ("actions", "code", "field"),
    [
        ([{"kind": "fine"}], "amount_required", "amount_yuan"),
        ([{"kind": "fine", "amount_yuan": "0"}], "amount_required", "amount_yuan"),
        ([{"kind": "confiscation"}], "quantity_required", "quantity"),
        ([{"kind": "interview", "amount_yuan": "100"}], "invalid", "amount_yuan"),
        ([{"kind": "case", "quantity": 3}], "invalid", "quantity"),
    ],
)
def test_actions_are_validated_and_nothing_is_recorded_when_one_is_wrong(task, town, api, actions, code, field):
    body = result_body(actions=[{"kind": "interview", "note": "约谈负责人"}, *actions])
    response = api(town.regulator).post(result_url(task), body, format="json")
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == code and field in error["fields"]["actions"]["1"]
    task.refresh_from_db()
    assert task.status == "open" and not EnforcementAction.objects.exists() and not AlertRequest.objects.exists()


@pytest.mark.parametrize(
    "overrides",
    [
        {"actions": [{"kind": "seizure"}]},
        {"actions": [{"kind": "fine", "amount_yuan": "12.345"}]},
        {"hazards_found": -1},
        {"performed_at": (timezone.now() + dt.timedelta(days=2)).isoformat()},
        {"findings": [{"item": "", "ok": True}]},
        {"findings": [{"item": "x"}]},
    ],
)
def test_a_malformed_result_is_400(task, town, api, overrides):
    response = api(town.regulator).post(result_url(task), result_body(**overrides), format="json")
    assert response.status_code == 400, response.json()
    task.refresh_from_db()
    assert task.status == "open"


def test_outsiders_cannot_record_a_result(task, town, api):
    police = _member(OrganizationKind.POLICE, "371400")
    inspected = _member(OrganizationKind.DEALER, "371402")
    inspected.organization = task.organization
    inspected.save()
    for outsider in (town.world.other_district_regulator, town.world.other_city_regulator, inspected, police):
        response = api(outsider).post(result_url(task), result_body(), format="json")
        assert response.status_code == 404, (outsider, response.json())
    assert api(town.world.superuser).post(result_url(task), result_body(), format="json").status_code == 403
    assert api().post(result_url(task), result_body(), format="json").status_code == 401
    assert api(town.regulator).post(f"{TASKS}99999999/result/", result_body(), format="json").status_code == 404
    task.refresh_from_db()
    assert task.status == "open" and not EnforcementAction.objects.exists()


def test_the_city_regulator_records_a_result_in_its_district(task, town, api):
    response = api(town.world.city_regulator).post(result_url(task), result_body(actions=[]), format="json")
    assert response.status_code == 201
    assert response.json()["result"]["performed_by"] == town.world.city_regulator.username


# ── Demo ─────────────────────────────────────────────────────────────────────────────────────────────────────


def test_the_demo_has_two_plans_with_done_and_open_tasks_and_their_actions(db):
    from core import demo
    from supervision.demo import seed_inspections

    orgs = demo.seed()
    made = seed_inspections(orgs)
    assert made["inspection_plans"] == 2 and made["inspections_done"] >= 4
    assert seed_inspections(orgs) == {}  # a second run adds nothing
    tasks = InspectionTask.objects.all()
    assert tasks.filter(status="done").count() == made["inspections_done"]
    assert tasks.filter(status="open").exists()
    assert tasks.filter(status="open", due_at__lt=timezone.now()).exists()  # the one-off's, overdue
    assert set(EnforcementAction.objects.values_list("kind", flat=True)) >= {"fine", "confiscation", "case"}
    assert Alert.objects.filter(rule=RuleCode.INSPECTION_HAZARD).exists()
