"""The closed loop (整改—核验—反馈): actions by role, state checks, history; escalation of overdue alerts."""

import datetime as dt

import pytest
from django.utils import timezone

from alerts.models import Alert, AlertDelivery
from alerts.services import alerts_escalate, allowed_actions
from tests.alerts.conftest import drain, fit
from tests.conftest import api_client


@pytest.fixture
def alert(chain, sold, fire, shop):
    fit(sold, chain.battery(model=chain.other_battery_model), shop)
    drain()
    return Alert.objects.get()


def _act(user, alert, action, note="", **extra):
    return api_client(user).post(
        f"/api/v1/alerts/{alert.pk}/actions/", {"action": action, "note": note}, format="json", **extra
    )


def test_the_loop_from_request_to_close_keeps_every_step(chain, alert, shop):
    regulator = chain.world.district_regulator
    assert (
        _act(regulator, alert, "request_rectification", "更换为标配电池").json()["status"] == "rectification_requested"
    )
    assert _act(shop, alert, "submit_rectification", "已更换为标配电池，旧电池移交回收").json()["status"] == (
        "rectification_submitted"
    )
    assert _act(regulator, alert, "verify", "现场核验通过").json()["status"] == "verified"
    response = _act(regulator, alert, "close")
    assert response.status_code == 200 and response.json()["status"] == "closed" and response.json()["closed_at"]

    history = api_client(regulator).get(f"/api/v1/alerts/{alert.pk}/").json()["history"]
    assert [(h["action"], h["to"]) for h in history] == [
        ("dispatch", "dispatched"),
        ("request_rectification", "rectification_requested"),
        ("submit_rectification", "rectification_submitted"),
        ("verify", "verified"),
        ("close", "closed"),
    ]
    assert history[2]["organization"] == shop.organization.name and history[2]["note"].startswith("已更换")
    assert history[1]["actor"] == regulator.username


def test_wrong_role_is_403_and_wrong_state_is_409(chain, alert, shop, fire):
    regulator = chain.world.district_regulator
    response = _act(shop, alert, "request_rectification")
    assert response.status_code == 403 and response.json()["error"]["code"] == "wrong_role"
    assert _act(fire, alert, "close").status_code == 403
    response = _act(regulator, alert, "verify")
    assert response.status_code == 409 and response.json()["error"]["code"] == "wrong_state"
    assert _act(shop, alert, "submit_rectification", "x").status_code == 409  # nothing was requested yet
    alert.refresh_from_db()
    assert alert.status == "dispatched"


def test_outsiders_cannot_see_or_act(chain, alert):
    for outsider in (chain.world.other_district_regulator, chain.world.other_city_regulator, chain.world.other_dealer):
        assert _act(outsider, alert, "dismiss", "x").status_code == 404
        assert api_client(outsider).get(f"/api/v1/alerts/{alert.pk}/").status_code == 404
    assert _act(None, alert, "dismiss").status_code == 401


def test_city_regulator_may_act_on_its_districts_alerts(chain, alert):
    assert _act(chain.world.city_regulator, alert, "dismiss", "误报：电池型号已补充备案").status_code == 200


def test_dismiss_needs_a_note_and_reopen_restarts_the_deadline(chain, alert):
    regulator = chain.world.district_regulator
    assert _act(regulator, alert, "dismiss").status_code == 400
    assert _act(regulator, alert, "dismiss", "误报").status_code == 200
    response = _act(regulator, alert, "reopen", "复查发现仍未整改")
    assert response.status_code == 200 and response.json()["status"] == "reopened"
    assert response.json()["closed_at"] is None
    assert _act(regulator, alert, "request_rectification").json()["status"] == "rectification_requested"


def test_department_acknowledges_without_changing_the_state(chain, alert, fire):
    assert _act(fire, alert, "acknowledge").json()["status"] == "dispatched"
    assert AlertDelivery.objects.get(organization=fire.organization).acknowledged_at is not None


def test_bad_actions_are_400(chain, alert):
    client = api_client(chain.world.district_regulator)
    url = f"/api/v1/alerts/{alert.pk}/actions/"
    for body in ({}, {"action": "explode"}, {"action": ["close"]}, {"action": "close", "note": {"a": 1}}):
        assert client.post(url, body, format="json").status_code == 400
    assert client.post("/api/v1/alerts/999999/actions/", {"action": "close"}, format="json").status_code == 404


def test_actions_are_idempotent(chain, alert):
    client = api_client(chain.world.district_regulator)
    url = f"/api/v1/alerts/{alert.pk}/actions/"
    first = client.post(url, {"action": "request_rectification"}, format="json", HTTP_IDEMPOTENCY_KEY="a1")
    second = client.post(url, {"action": "request_rectification"}, format="json", HTTP_IDEMPOTENCY_KEY="a1")
    assert first.status_code == second.status_code == 200
    assert alert.transitions.filter(action="request_rectification").count() == 1


def test_allowed_actions_follow_role_and_state(chain, alert, shop, fire):
    assert set(allowed_actions(chain.world.district_regulator, alert)) == {"request_rectification", "dismiss"}
    assert allowed_actions(shop, alert) == []
    assert allowed_actions(fire, alert) == ["acknowledge"]


def test_list_filters(chain, alert):
    client = api_client(chain.world.city_regulator)
    assert client.get("/api/v1/alerts/", {"rule": "MOD_BATTERY_NONSTANDARD"}).json()["count"] == 1
    assert client.get("/api/v1/alerts/", {"status": "closed"}).json()["count"] == 0
    assert client.get("/api/v1/alerts/", {"frame_no": alert.frame_no}).json()["count"] == 1
    assert client.get("/api/v1/alerts/", {"severity": "nope"}).status_code == 400
    body = client.get("/api/v1/alerts/").json()["results"][0]
    assert body["rule"]["code"] == "MOD_BATTERY_NONSTANDARD" and body["rule"]["name"]
    assert body["rule"]["departments"] == ["fire"]
    assert body["subject"]["frame_no"] == alert.frame_no and body["due_at"]


def test_overdue_alerts_escalate_to_the_parent_jurisdiction(chain, alert):
    Alert.objects.filter(pk=alert.pk).update(due_at=timezone.now() - dt.timedelta(hours=1))
    assert alerts_escalate() == 1
    alert.refresh_from_db()
    assert alert.escalation_level == 1 and alert.due_at > timezone.now()
    escalation = AlertDelivery.objects.get(alert=alert, reason="escalation")
    assert escalation.organization == chain.world.city_regulator.organization
    assert alerts_escalate() == 0  # not overdue any more


def test_an_alert_about_no_enterprise_is_closed_directly_once_handled(chain, alert):
    Alert.objects.filter(pk=alert.pk).update(organization=None)
    response = _act(chain.world.district_regulator, alert, "close", "已处理")
    assert response.status_code == 200 and response.json()["status"] == "closed"
