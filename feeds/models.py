"""The department data feeds' one table (数据共享): every entry a department's system reads, in the order the
transactions that wrote it can be known to be finished (docs/decisions/013-feeds.md).

Entries are written by the database itself, in the transaction of the write they record, by triggers on the
tables concerned (migration 0001): the ledger for the police, recycling records of lead-acid packs for the
environment department, cabinet alarms and battery alerts for the fire brigade, swap cabinets for housing.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Func
from django.db.models.functions import Now
from django.utils.translation import gettext_lazy as _

from core.models import OrganizationKind
from core.scoping import ScopeRule


class TransactionId(models.Field):
    """A PostgreSQL `xid8`: the 64-bit id of the transaction that wrote the row (it never wraps around)."""

    description = "PostgreSQL full transaction id"

    def db_type(self, connection) -> str:
        return "xid8"

    def from_db_value(self, value, expression, connection):
        return None if value is None else int(value)

    def get_prep_value(self, value):
        return None if value is None else str(value)


class Feed(models.TextChoices):
    """Each feed and the kind of department that reads it."""

    POLICE = "police", _("registrations, transfers, cancellations and stolen reports")
    ENVIRONMENT = "environment", _("lead-acid batteries' manifests and disposals")
    FIRE = "fire", _("cabinet alarms and battery alerts")
    HOUSING = "housing", _("charging and swap cabinets")


READER_KIND = {
    Feed.POLICE: OrganizationKind.POLICE,
    Feed.ENVIRONMENT: OrganizationKind.ENVIRONMENT,
    Feed.FIRE: OrganizationKind.FIRE,
    Feed.HOUSING: OrganizationKind.HOUSING,
}


class FeedEntry(models.Model):
    """One record of a feed: what happened (`kind`), where and when, and the record's fields as they were then."""

    id = models.BigAutoField(primary_key=True)
    # The writer's transaction, taken at insert: entries are read in (txid, id) order, and only below the oldest
    # transaction still running, so that a transaction committing late can never land behind a reader's cursor.
    txid = TransactionId(db_default=Func(function="pg_current_xact_id"), editable=False)
    feed = models.CharField(_("feed"), max_length=16, choices=Feed.choices)
    kind = models.CharField(_("kind"), max_length=32)
    region_code = models.CharField(_("region"), max_length=12)
    occurred_at = models.DateTimeField(_("occurred at"))
    recorded_at = models.DateTimeField(_("recorded at"), db_default=Now())
    record = models.JSONField(_("record"), default=dict)

    # A department reads its own kind's feed of its region (feeds.selectors); the platform reads every one.
    scope = ScopeRule(region="region_code", department_sees_region=True)

    class Meta:
        verbose_name = _("feed entry")
        verbose_name_plural = _("feed entries")
        indexes = [
            # A page is one range of this index in (txid, id) order; the region is checked on the index entry, so
            # a district reading a city's feed fetches only its own rows from the table.
            models.Index(
                fields=["feed", "txid", "id", "region_code"],
                name="feed_entry_position",
                opclasses=["", "", "", "varchar_pattern_ops"],
            )
        ]

    def __str__(self) -> str:
        return f"{self.feed} {self.kind} #{self.pk}"
