"""Shared fixtures: a small world of jurisdictions and enterprises, and API clients that log in for real.

Isolation is tested everywhere: every endpoint test has an outsider — a regulator of another region, another
enterprise, and the anonymous public.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from catalog.models import Standard
from catalog.standards import load_standards
from core.models import Organization, OrganizationKind, Region, User
from core.regions import load_regions
from core.tokens import token_issue
from reports.models import ColourThreshold, ProductCategory, RiskSetting, RiskSignal
from reports.risk_reference import risk_reference_load
from supervision.duty_reference import duty_reference_load
from supervision.models import DutyTemplate
from tests.factories import OrganizationFactory, UserFactory

K = OrganizationKind

pytest_plugins = ["tests.chain"]  # the `chain` fixture: certified models, bikes and batteries on top of `world`


@pytest.fixture(autouse=True)
def _test_settings(settings):
    """Production settings with a fast password hasher, plain static storage, and no throttle counts left over."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed; not under test
    cache.clear()


@pytest.fixture(autouse=True)
def _reference_data(django_db_setup, django_db_blocker):
    """Transactional tests (live server, worker processes) end with a flush that also empties the tables that
    data migrations filled (regions, standards, the reference data of the risk grading and of the duties); put
    them back before the next test, whatever fixtures it uses."""
    with django_db_blocker.unblock():
        if not Region.objects.exists():
            load_regions(Region)
        if not Standard.objects.exists():
            load_standards(Standard)
        if not RiskSetting.objects.exists():
            risk_reference_load(ProductCategory, RiskSignal, RiskSetting, ColourThreshold)
        if not DutyTemplate.objects.exists():
            duty_reference_load(DutyTemplate, RiskSignal)
    yield


@dataclass
class World:
    """德州市 (city) → 德城区 / 陵城区 (districts); 宁波市北仑区 is another jurisdiction entirely."""

    city_regulator: User
    district_regulator: User
    other_district_regulator: User
    other_city_regulator: User
    police: User
    dealer: User
    other_dealer: User
    far_dealer: User
    superuser: User

    def org(self, name: str) -> Organization:
        return getattr(self, name).organization


def _member(kind: str, region: str, *, role: str = User.Role.ADMIN, **org_fields) -> User:
    org = OrganizationFactory(kind=kind, region=Region.objects.get(code=region), **org_fields)
    return UserFactory(organization=org, role=role)


@pytest.fixture
def world(db) -> World:
    superuser = User.objects.create_superuser("root", "root@example.com", "correct-horse-battery")
    return World(
        city_regulator=_member(K.REGULATOR, "371400", name="德州市市场监督管理局"),
        district_regulator=_member(K.REGULATOR, "371402", name="德城区市场监督管理局"),
        other_district_regulator=_member(K.REGULATOR, "371403", name="陵城区市场监督管理局"),
        other_city_regulator=_member(K.REGULATOR, "330206", name="北仑区市场监督管理局"),
        police=_member(K.POLICE, "371400", name="德州市公安局"),
        dealer=_member(K.DEALER, "371402", name="德城区车行"),
        other_dealer=_member(K.DEALER, "371403", name="陵城区车行"),
        far_dealer=_member(K.DEALER, "330206", name="北仑区车行"),
        superuser=superuser,
    )


def api_client(user: User | None = None, *, keyword: str = "Bearer") -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"{keyword} {token_issue(user=user)}")
    return client


@pytest.fixture
def api():
    """`api(user)` gives a client holding a real bearer token for that user; `api()` is anonymous."""
    return api_client
