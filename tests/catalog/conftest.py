"""Makers for the catalog tests: two manufacturers and two battery makers, each with an administrator."""

import pytest

from tests.catalog.factories import BatteryMakerFactory, ManufacturerFactory
from tests.factories import UserFactory


@pytest.fixture
def maker(db):
    return UserFactory(organization=ManufacturerFactory(name="德州德骑电动车有限公司"), role="admin")


@pytest.fixture
def other_maker(db):
    return UserFactory(organization=ManufacturerFactory(name="另一家电动车有限公司"), role="admin")


@pytest.fixture
def battery_maker(db):
    return UserFactory(organization=BatteryMakerFactory(name="山东鲁电新能源电池有限公司"), role="admin")


@pytest.fixture
def other_battery_maker(db):
    return UserFactory(organization=BatteryMakerFactory(name="另一家电池有限公司"), role="admin")
