"""Jurisdiction scoping: one function decides what each kind of viewer sees of any model."""

import pytest
from django.contrib.auth.models import AnonymousUser

from core.models import AuditEntry, Organization, Region
from core.scoping import ScopeNotDeclared, in_jurisdiction, scoped


def _names(user):
    return set(scoped(Organization.objects.all(), user).values_list("name", flat=True))


def test_regulator_prefix_follows_the_region_level(db):
    assert Region.objects.get(code="370000").prefix == "37"
    assert Region.objects.get(code="371400").prefix == "3714"
    assert Region.objects.get(code="371402").prefix == "371402"


def test_anonymous_and_suspended_see_nothing(world):
    assert _names(AnonymousUser()) == set()
    Organization.objects.filter(pk=world.city_regulator.organization_id).update(status="suspended")
    world.city_regulator.refresh_from_db()
    assert _names(world.city_regulator) == set()


def test_a_model_without_a_scope_rule_cannot_be_shown(world):
    with pytest.raises(ScopeNotDeclared):
        scoped(Region.objects.all(), world.dealer)


def test_in_jurisdiction(world):
    assert in_jurisdiction(world.city_regulator, "371482")
    assert not in_jurisdiction(world.district_regulator, "371403")
    assert not in_jurisdiction(world.dealer, "371402")  # enterprises have no jurisdiction
    assert in_jurisdiction(world.superuser, "330206")


def test_audit_log_is_scoped_like_the_organizations_that_wrote_it(world):
    from core.audit import audit_record

    audit_record(actor=world.dealer, action="test.read", target=world.dealer)
    audit_record(actor=world.far_dealer, action="test.read", target=world.far_dealer)
    seen = set(scoped(AuditEntry.objects.all(), world.city_regulator).values_list("actor_id", flat=True))
    assert world.dealer.pk in seen and world.far_dealer.pk not in seen
    assert set(scoped(AuditEntry.objects.all(), world.other_dealer).values_list("actor_id", flat=True)) == set()


def test_audit_log_api_shows_each_viewer_its_own_share(world):
    from core.audit import audit_record
    from tests.conftest import api_client

    audit_record(actor=world.dealer, action="personal_data.unmask", target=world.dealer, reason="投诉核查")
    audit_record(actor=world.far_dealer, action="personal_data.unmask", target=world.far_dealer, reason="x")

    body = api_client(world.city_regulator).get("/api/v1/audit/", {"action": "personal_data.unmask"}).json()
    assert [(e["actor"], e["reason"]) for e in body["results"]] == [(world.dealer.username, "投诉核查")]
    assert body["results"][0]["actor_organization"]["id"] == world.dealer.organization_id
    assert api_client(world.other_dealer).get("/api/v1/audit/").json()["results"] == []
    far = api_client(world.other_city_regulator).get("/api/v1/audit/", {"action": "personal_data.unmask"}).json()
    assert [e["actor"] for e in far["results"]] == [world.far_dealer.username]
    assert api_client().get("/api/v1/audit/").status_code == 401
