"""The records of the bureau's planned work and of the duties it supervises (SAMR Orders 75 and 76, DOMAIN.md):

- the enterprises' duty records (日管控、周排查、月调度) from checklist templates that are data;
- inspection plans (检查计划) drawing enterprises at random (双随机), their tasks (检查任务) with findings, photos,
  hazards and the enforcement actions taken (责令改正、约谈、立案、罚款、没收);
- supervisory sampling batches (监督抽查) and recalls (召回) with the items they match and their remedies.

Every row carries the region code of the enterprise (or item) it is about, so that jurisdictions scope it by prefix.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.models import Organization, User
from core.scoping import ScopeRule

PREFIX_OPS = ["varchar_pattern_ops", ""]


class DutyKind(models.TextChoices):
    DAILY = "daily", _("daily check record (日管控)")
    WEEKLY = "weekly", _("weekly risk review report (周排查)")
    MONTHLY = "monthly", _("monthly scheduling minutes (月调度)")


class DutyTemplate(models.Model):
    """The checklist of one duty for one kind of enterprise (a default per kind; an administrator edits it)."""

    organization_kind = models.CharField(_("kind of enterprise"), max_length=32)
    kind = models.CharField(_("duty"), max_length=8, choices=DutyKind.choices)
    items = models.JSONField(_("checklist items"), default=list)  # ["…", …]
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("duty checklist")
        verbose_name_plural = _("duty checklists")
        constraints = [models.UniqueConstraint(fields=["organization_kind", "kind"], name="duty_template_once")]

    def __str__(self) -> str:
        return f"{self.organization_kind} {self.kind}"


class DutyRecord(models.Model):
    """One duty done: the day's check, the week's review or the month's minutes, with each checklist item's
    answer, signed by the quality-safety officer or director; late when filed after its period."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="duty_records")
    region_code = models.CharField(_("region"), max_length=12)
    kind = models.CharField(_("duty"), max_length=8, choices=DutyKind.choices)
    period = models.CharField(_("period"), max_length=10)  # YYYY-MM-DD | YYYY-Www | YYYY-MM
    period_start = models.DateField(_("period starts"))
    period_end = models.DateField(_("period ends"))
    items = models.JSONField(_("answers"), default=list)  # [{"item", "ok", "note"}]
    signed_by = models.CharField(_("signed by"), max_length=50)
    late = models.BooleanField(_("filed late"), default=False)
    filed_at = models.DateTimeField(_("filed at"), auto_now_add=True)
    filed_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")

    scope = ScopeRule(region="region_code", organizations=("organization_id",))

    class Meta:
        ordering = ["-period_start", "kind"]
        verbose_name = _("duty record")
        verbose_name_plural = _("duty records")
        constraints = [models.UniqueConstraint(fields=["organization", "kind", "period"], name="duty_record_once")]
        indexes = [
            models.Index(fields=["region_code", "period_start"], name="duty_region_period", opclasses=PREFIX_OPS)
        ]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.kind} {self.period}"


class InspectionPlan(models.Model):
    """A regulator's plan (检查计划): which kinds of enterprise, where, how often, how many, with what checklist and
    how many days to complete; each period it draws its enterprises at random (双随机)."""

    class Frequency(models.TextChoices):
        ONCE = "once", _("once")
        WEEKLY = "weekly", _("every week")
        MONTHLY = "monthly", _("every month")

    regulator = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="inspection_plans")
    name = models.CharField(_("name"), max_length=200)
    region_code = models.CharField(_("region"), max_length=12)
    kinds = models.JSONField(_("kinds of enterprise"), default=list)
    frequency = models.CharField(_("frequency"), max_length=8, choices=Frequency.choices)
    sample_size = models.PositiveIntegerField(_("enterprises per period"), null=True, blank=True)  # null: all
    risk_weighted = models.BooleanField(_("risk enterprises first"), default=False)
    checklist = models.JSONField(_("checklist"), default=list)
    due_days = models.PositiveSmallIntegerField(_("days to complete"))
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    scope = ScopeRule(region="region_code")

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("inspection plan")
        verbose_name_plural = _("inspection plans")

    def __str__(self) -> str:
        return self.name


class InspectionTask(models.Model):
    """One enterprise to inspect under a plan in one period (检查任务), and, once done, its result."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        DONE = "done", _("done")

    plan = models.ForeignKey(InspectionPlan, on_delete=models.PROTECT, related_name="tasks")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="inspection_tasks")
    region_code = models.CharField(_("region"), max_length=12)
    period = models.CharField(_("period"), max_length=10)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    due_at = models.DateTimeField(_("due"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    performed_at = models.DateTimeField(_("performed at"), null=True, blank=True)
    performed_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    findings = models.JSONField(_("findings"), default=list, blank=True)  # [{"item", "ok", "note"}]
    hazards_found = models.PositiveIntegerField(_("hazards found"), default=0)
    note = models.TextField(_("note"), blank=True)
    done_at = models.DateTimeField(_("recorded at"), null=True, blank=True)

    scope = ScopeRule(region="region_code")

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("inspection task")
        verbose_name_plural = _("inspection tasks")
        constraints = [models.UniqueConstraint(fields=["plan", "organization", "period"], name="inspection_task_once")]
        indexes = [
            models.Index(
                fields=["region_code", "status", "due_at"],
                name="task_region_status",
                opclasses=["varchar_pattern_ops", "", ""],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan_id} {self.organization_id} {self.period}"


class InspectionPhoto(models.Model):
    task = models.ForeignKey(InspectionTask, on_delete=models.CASCADE, related_name="photos")
    file = models.FileField(_("file"), upload_to="inspections/%Y/%m/", max_length=200)
    content_type = models.CharField(_("content type"), max_length=16)
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)

    scope = ScopeRule(region="task__region_code")

    class Meta:
        ordering = ["id"]
        verbose_name = _("inspection photo")
        verbose_name_plural = _("inspection photos")

    def __str__(self) -> str:
        return self.file.name


class EnforcementAction(models.Model):
    """An action taken against an enterprise (责令改正、约谈、立案、罚款、没收), in an inspection task or beside one."""

    class Kind(models.TextChoices):
        ORDER_CORRECTION = "order_correction", _("order to correct (责令改正)")
        INTERVIEW = "interview", _("interview (约谈)")
        CASE = "case", _("case filed (立案)")
        FINE = "fine", _("fine (罚款)")
        CONFISCATION = "confiscation", _("confiscation (没收)")

    task = models.ForeignKey(InspectionTask, null=True, blank=True, on_delete=models.PROTECT, related_name="actions")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="enforcement_actions")
    region_code = models.CharField(_("region"), max_length=12)
    kind = models.CharField(_("action"), max_length=20, choices=Kind.choices)
    amount_yuan = models.DecimalField(_("amount (¥)"), max_digits=12, decimal_places=2, null=True, blank=True)
    quantity = models.PositiveIntegerField(_("units"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    taken_at = models.DateTimeField(_("taken at"))
    taken_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")

    scope = ScopeRule(region="region_code", organizations=("organization_id",))

    class Meta:
        ordering = ["-taken_at", "-id"]
        verbose_name = _("enforcement action")
        verbose_name_plural = _("enforcement actions")
        indexes = [models.Index(fields=["region_code", "taken_at"], name="action_region_taken", opclasses=PREFIX_OPS)]

    def __str__(self) -> str:
        return f"{self.organization_id} {self.kind}"


class ModelKind(models.TextChoices):
    VEHICLE = "vehicle", _("vehicle")
    BATTERY = "battery", _("battery")
    CHARGER = "charger", _("charger")


class SamplingBatch(models.Model):
    """A supervisory sampling batch (监督抽查): one model of one enterprise tested by a lab, pass or fail."""

    class Result(models.TextChoices):
        PASS = "pass", _("pass")
        FAIL = "fail", _("fail")

    regulator = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="sampling_batches")
    region_code = models.CharField(_("region"), max_length=12)
    model_kind = models.CharField(_("kind of product"), max_length=8, choices=ModelKind.choices)
    model_code = models.CharField(_("model"), max_length=64)
    batch_no = models.CharField(_("batch number"), max_length=64)
    sampled_at = models.DateField(_("sampled on"))
    result = models.CharField(_("result"), max_length=4, choices=Result.choices)
    failed_items = models.JSONField(_("failed items"), default=list, blank=True)
    lab_report_no = models.CharField(_("lab report number"), max_length=64)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    scope = ScopeRule(region="region_code", organizations=("organization_id",))

    class Meta:
        ordering = ["-sampled_at", "-id"]
        verbose_name = _("sampling batch")
        verbose_name_plural = _("sampling batches")
        constraints = [models.UniqueConstraint(fields=["regulator", "batch_no"], name="sampling_batch_once")]
        indexes = [models.Index(fields=["region_code", "sampled_at"], name="sampling_region_day", opclasses=PREFIX_OPS)]

    def __str__(self) -> str:
        return f"{self.batch_no} {self.result}"


class Recall(models.Model):
    """A recall (召回) of every unit of a model produced in a date range, followed until each is remedied."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", _("in progress")
        DONE = "done", _("done")

    initiated_by = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="+")
    region_code = models.CharField(_("region of whoever initiated it"), max_length=12)
    model_kind = models.CharField(_("kind of product"), max_length=8, choices=ModelKind.choices)
    model_code = models.CharField(_("model"), max_length=64)
    maker = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="recalls")
    produced_from = models.DateField(_("produced from"))
    produced_to = models.DateField(_("produced to"))
    reason = models.TextField(_("reason"))
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.IN_PROGRESS)
    affected = models.PositiveIntegerField(_("units affected"), default=0)
    remedied = models.PositiveIntegerField(_("units remedied"), default=0)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    # The regulators of the initiator's region, the maker and the initiator. The regulators of the regions its units
    # are in see it through its items (RecallItem), each of which carries its own region.
    scope = ScopeRule(region="region_code", organizations=("maker_id", "initiated_by_id"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("recall")
        verbose_name_plural = _("recalls")

    def __str__(self) -> str:
        return f"{self.model_kind} {self.model_code} {self.produced_from}–{self.produced_to}"


class RecallItem(models.Model):
    """One unit a recall matched, where it is, and when and by whom it was remedied."""

    # A recall inserts its units by the hundred thousand: each index here is one every insert pays for, so the
    # foreign keys lean on the composite and partial indexes below instead of one index each.
    recall = models.ForeignKey(Recall, on_delete=models.CASCADE, related_name="items", db_index=False)
    vehicle = models.ForeignKey(
        "vehicles.Vehicle", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    battery = models.ForeignKey(
        "vehicles.Battery", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    region_code = models.CharField(_("region"), max_length=12)
    remedied_at = models.DateTimeField(_("remedied at"), null=True, blank=True)
    remedied_by = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )

    scope = ScopeRule(region="region_code", organizations=("remedied_by_id",))

    class Meta:
        verbose_name = _("recalled unit")
        verbose_name_plural = _("recalled units")
        constraints = [
            models.UniqueConstraint(
                fields=["recall", "vehicle"], condition=models.Q(vehicle__isnull=False), name="recall_vehicle_once"
            ),
            models.UniqueConstraint(
                fields=["recall", "battery"], condition=models.Q(battery__isnull=False), name="recall_battery_once"
            ),
        ]
        indexes = [
            models.Index(fields=["vehicle"], condition=models.Q(remedied_at__isnull=True), name="recall_open_vehicle"),
            models.Index(fields=["battery"], condition=models.Q(remedied_at__isnull=True), name="recall_open_battery"),
            models.Index(fields=["recall", "region_code"], name="recall_item_region"),
            models.Index(
                fields=["remedied_by"], condition=models.Q(remedied_by__isnull=False), name="recall_remedied_by"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.recall_id}: {self.vehicle_id or self.battery_id}"
