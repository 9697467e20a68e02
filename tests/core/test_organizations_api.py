"""Provisioning organizations (superuser) and who may see them (API.md "Provisioning")."""

import pytest

from core.codes import make_uscc
from core.models import AuditEntry, Organization
from tests.conftest import api_client

URL = "/api/v1/organizations/"


def _payload(**overrides):
    body = {
        "name": "德城区新开电动车行",
        "kind": "dealer",
        "uscc": make_uscc("91371402MA3C00001"),
        "region_code": "371402",
        "qualification_no": "DZ-2026-001",
        "qualification_valid_until": "2028-06-30",
    }
    body.update(overrides)
    return body


def test_superuser_registers_an_organization(world):
    response = api_client(world.superuser).post(URL, _payload(), format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["id"] and body["kind"] == "dealer" and body["region_code"] == "371402"
    assert body["region_name"] == "德城区" and body["status"] == "active"
    org = Organization.objects.get(pk=body["id"])
    assert org.qualification_valid_until.isoformat() == "2028-06-30"
    assert AuditEntry.objects.filter(
        action="organization.create", target_id=str(org.pk), actor=world.superuser
    ).exists()


def test_uscc_is_normalised_to_upper_case(world):
    uscc = make_uscc("91371402MA3C00002")
    response = api_client(world.superuser).post(URL, _payload(uscc=uscc.lower()), format="json")
    assert response.status_code == 201
    assert response.json()["uscc"] == uscc


@pytest.mark.parametrize("uscc", ["91371402MA3C000010", "123", "91371402MA3C0000I" + "1", ""])
def test_bad_uscc_is_400_and_writes_nothing(world, uscc):
    before = Organization.objects.count()
    response = api_client(world.superuser).post(URL, _payload(uscc=uscc), format="json")

    assert response.status_code == 400
    assert "uscc" in response.json()["error"]["fields"]
    assert Organization.objects.count() == before


@pytest.mark.parametrize("code", ["999999", "371499", "37140", "abc", 371402])
def test_unknown_region_is_400(world, code):
    response = api_client(world.superuser).post(URL, _payload(region_code=code), format="json")
    if code == 371402:  # a number where a string is expected is still a known region
        assert response.status_code == 201
        return
    assert response.status_code == 400
    assert "region_code" in response.json()["error"]["fields"]


def test_unknown_kind_and_bad_date_are_400(world):
    client = api_client(world.superuser)
    assert client.post(URL, _payload(kind="bank"), format="json").json()["error"]["fields"].keys() == {"kind"}
    response = client.post(URL, _payload(qualification_valid_until="next year"), format="json")
    assert response.status_code == 400
    assert "qualification_valid_until" in response.json()["error"]["fields"]


def test_duplicate_uscc_is_409(world):
    client = api_client(world.superuser)
    assert client.post(URL, _payload(), format="json").status_code == 201
    response = client.post(URL, _payload(name="另一家"), format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "uscc_taken"


@pytest.mark.parametrize("who", ["city_regulator", "dealer", "police"])
def test_only_the_platform_administrator_registers_organizations(world, who):
    response = api_client(getattr(world, who)).post(URL, _payload(), format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert not Organization.objects.filter(name="德城区新开电动车行").exists()


def test_anonymous_cannot_register(world):
    assert api_client().post(URL, _payload(), format="json").status_code == 401


def _names(user):
    response = api_client(user).get(URL, {"page_size": 500})
    assert response.status_code == 200
    return {org["name"] for org in response.json()["results"]}


def test_city_regulator_sees_its_whole_subtree_and_nothing_outside(world):
    names = _names(world.city_regulator)
    assert {"德城区车行", "陵城区车行", "德城区市场监督管理局", "德州市公安局"} <= names
    assert "北仑区车行" not in names and "北仑区市场监督管理局" not in names


def test_district_regulator_does_not_see_the_next_district(world):
    names = _names(world.district_regulator)
    assert "德城区车行" in names
    assert "陵城区车行" not in names
    assert "德州市市场监督管理局" not in names  # its parent is outside its subtree


def test_enterprise_sees_only_itself(world):
    assert _names(world.dealer) == {"德城区车行"}


def test_department_sees_the_directory_of_its_region(world):
    names = _names(world.police)
    assert "陵城区车行" in names and "北仑区车行" not in names


def test_superuser_sees_everything(world):
    assert {"北仑区车行", "德城区车行"} <= _names(world.superuser)


def test_other_regions_organization_is_404_not_403(world):
    target = world.org("dealer")
    assert api_client(world.district_regulator).get(f"{URL}{target.pk}/").status_code == 200
    for outsider in (world.other_city_regulator, world.other_district_regulator, world.other_dealer):
        response = api_client(outsider).get(f"{URL}{target.pk}/")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert api_client().get(f"{URL}{target.pk}/").status_code == 401


def test_list_filters_by_kind_and_region_prefix(world):
    response = api_client(world.city_regulator).get(URL, {"kind": "dealer"})
    assert {o["name"] for o in response.json()["results"]} == {"德城区车行", "陵城区车行"}
    response = api_client(world.superuser).get(URL, {"region_prefix": "3302"})
    assert {o["name"] for o in response.json()["results"]} == {"北仑区车行", "北仑区市场监督管理局"}


def test_pagination_shape_and_page_size_cap(world):
    body = api_client(world.superuser).get(URL, {"page_size": 2}).json()
    assert len(body["results"]) == 2 and body["next"] and body["count"] >= 8
    body = api_client(world.superuser).get(URL, {"page_size": 100000}).json()
    assert body["next"] is None


def test_superuser_suspends_an_organization(world):
    target = world.org("dealer")
    response = api_client(world.superuser).patch(f"{URL}{target.pk}/", {"status": "suspended"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "suspended"
    target.refresh_from_db()
    assert target.status == "suspended"
    response = api_client(world.city_regulator).patch(f"{URL}{target.pk}/", {"status": "active"}, format="json")
    assert response.status_code == 403
    target.refresh_from_db()
    assert target.status == "suspended"
