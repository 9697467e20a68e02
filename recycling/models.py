"""Recycling records: the first-station handover (回收首站) and the take-back and disposal of bikes and batteries.

Hazardous-waste transfers carry the transfer manifest number (危险废物转移联单号).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.models import Organization, OrganizationKind, User
from core.scoping import ScopeRule
from vehicles.models import Battery, Vehicle


class RecyclingRecord(models.Model):
    """One step at the end of the chain: a battery handed to a recycler, or a vehicle or battery taken back and
    disposed of. The item's state changes, and its ledger events, are written in the same transaction."""

    class Kind(models.TextChoices):
        VEHICLE = "vehicle", _("vehicle")
        BATTERY = "battery", _("battery")

    class Disposal(models.TextChoices):
        HANDOVER = "handover", _("handed over to a recycler")
        DISMANTLE = "dismantle", _("dismantled")
        HAZARDOUS_TRANSFER = "hazardous_transfer", _("hazardous-waste transfer")
        CASCADE_REFUSED = "cascade_refused", _("cascade use refused, dismantled")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    ref = models.CharField(_("frame number or battery code"), max_length=64)
    vehicle = models.ForeignKey(
        Vehicle, verbose_name=_("vehicle"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    battery = models.ForeignKey(
        Battery, verbose_name=_("battery"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The recycler or repair shop that recorded it; its region is the record's jurisdiction. Indexed with
    # recorded_at below.
    organization = models.ForeignKey(
        Organization, verbose_name=_("recorded by"), on_delete=models.PROTECT, related_name="+", db_index=False
    )
    disposal = models.CharField(_("disposal"), max_length=20, choices=Disposal.choices)
    manifest_no = models.CharField(_("manifest number"), max_length=40, blank=True)
    # For a handover: the recycler that receives the battery.
    handed_to = models.ForeignKey(
        Organization,
        verbose_name=_("handed to"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,  # led by the (handed_to, recorded_at) index
    )
    # The item's status once this step was recorded (a vehicle's or a battery's status).
    status = models.CharField(_("status after"), max_length=16)
    # Batteries a vehicle taken back still carried: released to the recycler, each to be disposed of in turn.
    batteries_released = models.JSONField(_("batteries released"), default=list, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    created_by = models.ForeignKey(User, verbose_name=_("recorded by user"), on_delete=models.PROTECT, related_name="+")

    # The recording enterprise and the receiving recycler see their records; regulators see the records made or
    # received in their jurisdiction; the environment department follows hazardous waste (危险废物) there too.
    scope = ScopeRule(
        region=("organization__region__code", "handed_to__region__code"),
        organizations=("organization_id", "handed_to_id"),
        department_sees_region=frozenset({OrganizationKind.ENVIRONMENT}),
    )

    class Meta:
        ordering = ["-recorded_at", "-pk"]
        verbose_name = _("recycling record")
        verbose_name_plural = _("recycling records")
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="vehicle", vehicle__isnull=False, battery__isnull=True))
                | Q(kind="battery", battery__isnull=False, vehicle__isnull=True),
                name="recycling_record_names_its_item",
            ),
            models.CheckConstraint(
                condition=~Q(disposal="handover") | Q(handed_to__isnull=False),
                name="recycling_handover_names_the_recycler",
            ),
            models.CheckConstraint(
                condition=~Q(disposal="hazardous_transfer") | ~Q(manifest_no=""),
                name="recycling_hazardous_transfer_has_manifest",
            ),
            # An item is disposed of once; handovers before that are free.
            models.UniqueConstraint(
                fields=["vehicle"], condition=~Q(disposal="handover"), name="recycling_vehicle_disposed_once"
            ),
            models.UniqueConstraint(
                fields=["battery"], condition=~Q(disposal="handover"), name="recycling_battery_disposed_once"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "recorded_at"], name="recycling_org_recorded"),
            models.Index(fields=["handed_to", "recorded_at"], name="recycling_handed_to_recorded"),
            models.Index(fields=["recorded_at"], name="recycling_recorded_at"),
        ]

    def __str__(self) -> str:
        return f"{self.ref} {self.get_disposal_display()}"

    def status_label(self) -> str:
        """The item's status after this record, in words."""
        statuses = Vehicle.Status if self.kind == self.Kind.VEHICLE else Battery.Status
        return str(dict(statuses.choices).get(self.status, self.status))
