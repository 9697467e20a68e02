"""Repair shops on top of the `chain`: registered bikes to repair, and photos kept out of the real media folder."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from django.db import transaction
from django.utils import timezone

from core.models import OrganizationKind, Region, User
from tests.chain import BUYER, Chain
from tests.conftest import _member
from vehicles.models import Battery, Vehicle
from vehicles.registration import BuyerData, registration_create

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 64


@dataclass
class Workshop:
    chain: Chain
    shop: User  # 德城区 (371402), qualified
    other_shop: User  # 陵城区 (371403), qualified

    @property
    def world(self):
        return self.chain.world

    def bike(
        self,
        *,
        region: str = "371402",
        batteries: int = 1,
        registered_at: dt.datetime | None = None,
    ) -> tuple[Vehicle, list[Battery]]:
        """A bike sold by the district dealer and registered to a buyer living in `region`, with its batteries."""
        dealer = self.world.dealer.organization
        vehicle = self.chain.vehicle(holder=dealer, status=Vehicle.Status.IN_STOCK)
        packs = [self.chain.battery(holder=dealer, status=Battery.Status.IN_STOCK) for _ in range(batteries)]
        buyer = BuyerData.clean({**BUYER, "region_code": region})
        with transaction.atomic():
            registration_create(
                vehicle=vehicle,
                batteries=packs,
                buyer=buyer,
                dealer=dealer,
                registered_at=registered_at or timezone.now() - dt.timedelta(days=90),
            )
        vehicle.refresh_from_db()
        for pack in packs:
            pack.refresh_from_db()
        return vehicle, packs

    def spare_battery(self, **kwargs) -> Battery:
        """A new battery, as a shop buys it: produced, in no bike."""
        return self.chain.battery(**kwargs)


def repair_shop(region: str, **org_fields) -> User:
    return _member(OrganizationKind.REPAIR_SHOP, region, **org_fields)


@pytest.fixture
def workshop(chain) -> Workshop:
    assert Region.objects.filter(code="371403").exists()
    return Workshop(
        chain=chain,
        shop=repair_shop("371402", name="德城区诚信电动车维修部"),
        other_shop=repair_shop("371403", name="陵城区电动车维修点"),
    )


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
