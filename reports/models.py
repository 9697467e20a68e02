"""What the regulator's figures are read from: daily rollups of the ledger and the alerts, the 三分 risk grades of
products, enterprises and regions with their history, the monthly reports, and the maps of the jurisdictions.

Every rollup key starts with the region code as recorded (a county's 6 digits, or a street's 9), so that a
region's figures are a prefix match on an index, and a deployment sharded by province (Citus) can distribute the
rollups with the ledger.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import Organization, User
from core.scoping import ScopeRule

PREFIX_OPS = ["varchar_pattern_ops", ""]  # region prefix (LIKE '3714%') then the day, on one index
# The rollups' unique keys are their prefix indexes too (varchar_pattern_ops has the same equality, so the upkeep's
# ON CONFLICT still finds them): one index less to write on every upsert. Their tables keep 30% of each page free
# (fillfactor 70, migration 0003) so that adding to a row of the day rewrites it in place, without index entries.


class RegionDay(models.Model):
    """The chain's figures of one region and day (local date of the fact): kept current by the outbox drain,
    re-derived from the raw rows every night (reports.rollups)."""

    region_code = models.CharField(_("region"), max_length=12)
    day = models.DateField(_("day"))
    sales = models.PositiveIntegerField(_("sales"), default=0)
    registrations = models.PositiveIntegerField(_("registrations"), default=0)
    transfers = models.PositiveIntegerField(_("transfers"), default=0)
    cancellations = models.PositiveIntegerField(_("cancellations"), default=0)
    repairs = models.PositiveIntegerField(_("repairs"), default=0)
    vehicles_recycled = models.PositiveIntegerField(_("vehicles recycled"), default=0)
    batteries_recycled = models.PositiveIntegerField(_("batteries recycled"), default=0)
    receipts_rejected = models.PositiveIntegerField(_("items refused at incoming inspection"), default=0)
    complaints = models.PositiveIntegerField(_("complaints"), default=0)

    class Meta:
        verbose_name = _("daily figures of a region")
        verbose_name_plural = _("daily figures of regions")
        constraints = [
            models.UniqueConstraint(fields=["region_code", "day"], name="region_day_once", opclasses=PREFIX_OPS)
        ]

    def __str__(self) -> str:
        return f"{self.region_code} {self.day}"


class EnterpriseDay(models.Model):
    """One enterprise's figures of one day in one region: what its page in the cockpit and its risk grade read."""

    region_code = models.CharField(_("region"), max_length=12)
    day = models.DateField(_("day"))
    # Indexed by enterprise_day_org below (organization first): no index of its own.
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+", db_index=False)
    sales = models.PositiveIntegerField(_("sales"), default=0)
    repairs = models.PositiveIntegerField(_("repairs"), default=0)
    recycled = models.PositiveIntegerField(_("recycled"), default=0)
    receipts_rejected = models.PositiveIntegerField(_("items refused at incoming inspection"), default=0)
    alerts_raised = models.PositiveIntegerField(_("alerts raised"), default=0)

    class Meta:
        verbose_name = _("daily figures of an enterprise")
        verbose_name_plural = _("daily figures of enterprises")
        constraints = [
            models.UniqueConstraint(
                fields=["region_code", "day", "organization"], name="enterprise_day_once", opclasses=[*PREFIX_OPS, ""]
            )
        ]
        indexes = [models.Index(fields=["organization", "day"], name="enterprise_day_org")]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.region_code} {self.day}"


class AlertDay(models.Model):
    """Alerts of one region, day, rule and severity.

    Two kinds of columns, both kept by the alert services and re-derived nightly:
    - the alerts *raised* that day (a cohort): how many, how many dispatched within the SLA, the event→alert
      seconds of each, and where each of them stands now (one column per status, moved on every step);
    - the alerts *closed or dismissed* that day: how many, how many within their deadline, the seconds from
      dispatch to closure of each.
    The second-lists make medians exact from the rollups.
    """

    region_code = models.CharField(_("region"), max_length=12)
    day = models.DateField(_("day"))
    rule = models.CharField(_("rule"), max_length=40)
    severity = models.CharField(_("severity"), max_length=8)
    raised = models.PositiveIntegerField(_("raised"), default=0)
    dispatched_within_sla = models.PositiveIntegerField(_("dispatched within the SLA"), default=0)
    event_to_alert_s = ArrayField(models.IntegerField(), default=list, blank=True)
    status_new = models.IntegerField(default=0)
    status_dispatched = models.IntegerField(default=0)
    status_rectification_requested = models.IntegerField(default=0)
    status_rectification_submitted = models.IntegerField(default=0)
    status_verified = models.IntegerField(default=0)
    status_closed = models.IntegerField(default=0)
    status_dismissed = models.IntegerField(default=0)
    status_reopened = models.IntegerField(default=0)
    closed = models.PositiveIntegerField(_("closed or dismissed"), default=0)
    closed_within_sla = models.PositiveIntegerField(_("closed within the deadline"), default=0)
    alert_to_closed_s = ArrayField(models.IntegerField(), default=list, blank=True)

    class Meta:
        verbose_name = _("daily figures of alerts")
        verbose_name_plural = _("daily figures of alerts")
        constraints = [
            models.UniqueConstraint(
                fields=["region_code", "day", "rule", "severity"],
                name="alert_day_once",
                opclasses=[*PREFIX_OPS, "", ""],
            )
        ]

    def __str__(self) -> str:
        return f"{self.region_code} {self.day} {self.rule}"


# ── 三分: risk grading of products, enterprises and regions (Jiaxing) ────────────────────────────────────────


class ProductRiskGrade(models.TextChoices):
    HIGH = "high", _("high risk")
    MEDIUM = "medium", _("medium risk")
    LOW = "low", _("low risk")


class ProductCategory(models.Model):
    """A category of product graded high, medium or low risk: data an administrator edits; failed sampling raises
    it (the supervision work)."""

    code = models.CharField(_("code"), max_length=32, unique=True)
    name = models.CharField(_("name"), max_length=100)
    grade = models.CharField(_("risk grade"), max_length=8, choices=ProductRiskGrade.choices)
    reasons = models.JSONField(_("reasons"), default=list, blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("product category")
        verbose_name_plural = _("product categories")

    def __str__(self) -> str:
        return self.name


class RiskSignal(models.Model):
    """The weight of one signal in an enterprise's risk score (the signal itself is a registered function,
    reports.risk); data, so that a bureau tunes its grading without a release."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    weight = models.DecimalField(_("weight"), max_digits=6, decimal_places=2)
    active = models.BooleanField(_("active"), default=True)
    note = models.CharField(_("why this weight"), max_length=300, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("risk signal")
        verbose_name_plural = _("risk signals")

    def __str__(self) -> str:
        return self.code


class RiskSetting(models.Model):
    """A number the grading reads, with the reason beside it: e.g. the score from which an enterprise is a risk
    enterprise."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    value = models.DecimalField(_("value"), max_digits=8, decimal_places=2)
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("risk setting")
        verbose_name_plural = _("risk settings")

    def __str__(self) -> str:
        return f"{self.code} = {self.value}"


class EnterpriseGrade(models.Model):
    """An enterprise graded risk or non-risk, with its score and reasons, at one grading. Every grading is kept
    (the history); `current` marks the latest of each enterprise."""

    class Grade(models.TextChoices):
        RISK = "risk", _("risk enterprise")
        NON_RISK = "non_risk", _("non-risk enterprise")

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="risk_grades")
    region_code = models.CharField(_("region"), max_length=12)
    grade = models.CharField(_("grade"), max_length=8, choices=Grade.choices)
    score = models.DecimalField(_("score"), max_digits=10, decimal_places=2)
    reasons = models.JSONField(_("reasons"), default=list, blank=True)  # [{"code", "weight", "count"}]
    graded_at = models.DateTimeField(_("graded at"))
    current = models.BooleanField(default=True)

    # Regulators see the grades of their subtree, departments of their region; enterprises none, not even their own.
    scope = ScopeRule(region="region_code", department_sees_region=True)

    class Meta:
        ordering = ["-graded_at", "-id"]
        verbose_name = _("enterprise risk grade")
        verbose_name_plural = _("enterprise risk grades")
        constraints = [
            models.UniqueConstraint(
                fields=["organization"], condition=models.Q(current=True), name="enterprise_grade_current_once"
            )
        ]
        indexes = [
            models.Index(
                fields=["region_code", "grade"],
                condition=models.Q(current=True),
                name="enterprise_grade_region",
                opclasses=["varchar_pattern_ops", ""],
            ),
            models.Index(fields=["organization", "graded_at"], name="enterprise_grade_history"),
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.grade} {self.graded_at:%Y-%m-%d}"


class RegionColour(models.TextChoices):
    RED = "red", _("red")
    ORANGE = "orange", _("orange")
    YELLOW = "yellow", _("yellow")
    GREEN = "green", _("green")


class ColourThreshold(models.Model):
    """A region is coloured by its share of risk enterprises: at least `min_share_pct` → this colour (the highest
    threshold met wins; green has 0). Data, with the reason written beside it."""

    colour = models.CharField(_("colour"), max_length=8, choices=RegionColour.choices, unique=True)
    min_share_pct = models.DecimalField(_("from a share of risk enterprises of (%)"), max_digits=5, decimal_places=2)
    reason = models.CharField(_("reason"), max_length=300, blank=True)

    class Meta:
        ordering = ["-min_share_pct"]
        verbose_name = _("colour threshold")
        verbose_name_plural = _("colour thresholds")

    def __str__(self) -> str:
        return f"{self.colour} ≥ {self.min_share_pct}%"


class RegionGrade(models.Model):
    """A region's colour at one grading, from its enterprises' grades; every grading kept, `current` the latest."""

    region_code = models.CharField(_("region"), max_length=12)
    colour = models.CharField(_("colour"), max_length=8, choices=RegionColour.choices)
    risk_enterprises = models.PositiveIntegerField(_("risk enterprises"), default=0)
    enterprises = models.PositiveIntegerField(_("enterprises"), default=0)
    risk_share_pct = models.DecimalField(_("share of risk enterprises (%)"), max_digits=5, decimal_places=2)
    graded_at = models.DateTimeField(_("graded at"))
    current = models.BooleanField(default=True)

    scope = ScopeRule(region="region_code", department_sees_region=True)

    class Meta:
        ordering = ["region_code", "-graded_at"]
        verbose_name = _("region risk colour")
        verbose_name_plural = _("region risk colours")
        constraints = [
            models.UniqueConstraint(
                fields=["region_code"], condition=models.Q(current=True), name="region_grade_current_once"
            )
        ]
        indexes = [models.Index(fields=["region_code", "graded_at"], name="region_grade_history", opclasses=PREFIX_OPS)]

    def __str__(self) -> str:
        return f"{self.region_code} {self.colour}"


# ── The monthly safety-governance report (月度电动自行车安全治理报告) and the maps ────────────────────────────────


class MonthlyReport(models.Model):
    """One region's report of one month, as generated (archived): its HTML and, where the system can render
    it, its PDF. Regenerated in the background on request, with its progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("being generated")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    region_code = models.CharField(_("region"), max_length=12)
    month = models.DateField(_("month"))  # its first day
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    html = models.TextField(_("HTML"), blank=True)
    pdf = models.FileField(_("PDF"), upload_to="reports/%Y/%m/", blank=True, max_length=200)
    pdf_error = models.CharField(_("why there is no PDF"), max_length=300, blank=True)
    requested_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    generated_at = models.DateTimeField(_("generated at"), null=True, blank=True)
    created_at = models.DateTimeField(_("requested at"), auto_now_add=True)

    class Meta:
        ordering = ["-month", "region_code"]
        verbose_name = _("monthly report")
        verbose_name_plural = _("monthly reports")
        constraints = [models.UniqueConstraint(fields=["region_code", "month"], name="monthly_report_once")]
        indexes = [models.Index(fields=["region_code", "month"], name="monthly_report_prefix", opclasses=PREFIX_OPS)]

    def __str__(self) -> str:
        return f"{self.region_code} {self.month:%Y-%m}"


class RegionMap(models.Model):
    """The boundaries of a region's subdivisions (GeoJSON), loaded by an administrator from a file
    (`manage.py load_region_map`); the demo cities' maps are vendored under static/ instead."""

    region_code = models.CharField(_("region"), max_length=12, unique=True)
    geojson = models.JSONField(_("GeoJSON"))
    source = models.CharField(_("source"), max_length=300, blank=True)
    loaded_at = models.DateTimeField(_("loaded at"), auto_now=True)

    class Meta:
        verbose_name = _("region map")
        verbose_name_plural = _("region maps")

    def __str__(self) -> str:
        return self.region_code
