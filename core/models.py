"""Regions, organizations, users, API tokens, the audit log and stored idempotent responses."""

from __future__ import annotations

import datetime as dt

from django.contrib.auth.hashers import check_password
from django.contrib.auth.models import AbstractUser
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from core.scoping import ScopeRule


class Region(models.Model):
    """A GB/T 2260 administrative division (行政区划). Its code is the key every jurisdiction is cut by."""

    class Level(models.IntegerChoices):
        PROVINCE = 1, _("province")
        PREFECTURE = 2, _("prefecture")
        COUNTY = 3, _("county")
        TOWNSHIP = 4, _("township")

    code = models.CharField(_("code"), max_length=12, primary_key=True)
    name = models.CharField(_("name"), max_length=64)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("parent"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        indexes = [models.Index(fields=["code"], name="region_code_prefix", opclasses=["varchar_pattern_ops"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def prefix(self) -> str:
        """The significant digits: every region below this one has a code starting with them."""
        return region_prefix(self.code, self.level)

    def full_name(self) -> str:
        names, node = [], self
        while node is not None:
            names.append(node.name)
            node = node.parent
        return "".join(reversed(names))


_PREFIX_LENGTH = {1: 2, 2: 4, 3: 6, 4: 9}


def region_prefix(code: str, level: int) -> str:
    return code[: _PREFIX_LENGTH[level]]


class OrganizationKind(models.TextChoices):
    MANUFACTURER = "manufacturer", _("vehicle manufacturer")
    BATTERY_MAKER = "battery_maker", _("battery maker")
    DEALER = "dealer", _("dealer")
    REPAIR_SHOP = "repair_shop", _("repair shop")
    RECYCLER = "recycler", _("recycler")
    CHARGING_OPERATOR = "charging_operator", _("charging operator")
    REGULATOR = "regulator", _("market regulator")
    POLICE = "police", _("public security (police)")
    FIRE = "fire", _("fire and rescue")
    ENVIRONMENT = "environment", _("ecology and environment")
    HOUSING = "housing", _("housing and urban-rural development")
    LOCAL_GOVERNMENT = "local_government", _("local government")


ENTERPRISE_KINDS = frozenset(
    {
        OrganizationKind.MANUFACTURER,
        OrganizationKind.BATTERY_MAKER,
        OrganizationKind.DEALER,
        OrganizationKind.REPAIR_SHOP,
        OrganizationKind.RECYCLER,
        OrganizationKind.CHARGING_OPERATOR,
    }
)
DEPARTMENT_KINDS = frozenset(
    {
        OrganizationKind.POLICE,
        OrganizationKind.FIRE,
        OrganizationKind.ENVIRONMENT,
        OrganizationKind.HOUSING,
        OrganizationKind.LOCAL_GOVERNMENT,
    }
)


class Organization(models.Model):
    """Every enterprise and agency on the platform, identified by its unified social credit code (统一社会信用代码)."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        SUSPENDED = "suspended", _("suspended")

    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=32, choices=OrganizationKind.choices)
    uscc = models.CharField(_("unified social credit code"), max_length=18, unique=True)
    region = models.ForeignKey(Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="+")
    qualification_no = models.CharField(_("qualification number"), max_length=64, blank=True)
    # The 4-digit enterprise code that opens each frame number a vehicle maker stamps (DOMAIN: frame number).
    enterprise_code = models.CharField(
        _("frame-number enterprise code"), max_length=4, blank=True, validators=[RegexValidator(r"^\d{4}$")]
    )
    qualification_valid_until = models.DateField(_("qualification valid until"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    # A regulator sees the organizations of its region subtree; an enterprise sees itself.
    scope = ScopeRule(region="region__code", organizations=("pk",), department_sees_region=True)

    class Meta:
        ordering = ["region_id", "name"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        constraints = [
            models.UniqueConstraint(
                fields=["enterprise_code"], condition=~models.Q(enterprise_code=""), name="org_enterprise_code_unique"
            )
        ]
        indexes = [
            models.Index(fields=["region"], name="org_region_prefix", opclasses=["varchar_pattern_ops"]),
            models.Index(fields=["kind", "region"], name="org_kind_region"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_enterprise(self) -> bool:
        return self.kind in ENTERPRISE_KINDS

    @property
    def is_regulator(self) -> bool:
        return self.kind == OrganizationKind.REGULATOR

    @property
    def is_department(self) -> bool:
        return self.kind in DEPARTMENT_KINDS

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    def qualification_valid_on(self, day: dt.date) -> bool:
        return bool(self.qualification_no) and (
            self.qualification_valid_until is None or self.qualification_valid_until >= day
        )

    def qualification_state(self, day: dt.date) -> str:
        """One of QualificationState: what the directory and the API say of the enterprise's filed qualification."""
        if self.kind not in QUALIFICATION_KINDS:
            return QualificationState.NOT_REQUIRED
        if not self.qualification_no:
            return QualificationState.MISSING
        if not self.qualification_valid_on(day):
            return QualificationState.EXPIRED
        until = self.qualification_valid_until
        if until is not None and (until - day).days < QUALIFICATION_WARNING_DAYS:
            return QualificationState.EXPIRING
        return QualificationState.VALID


class QualificationState(models.TextChoices):
    VALID = "valid", _("valid")
    EXPIRING = "expiring", _("expiring soon")
    EXPIRED = "expired", _("expired")
    MISSING = "missing", _("not filed")
    NOT_REQUIRED = "not_required", _("not required")


# The kinds whose work needs a qualification filed with the regulator: repair shops (维修资质备案, DOMAIN: "repair
# shops must file their qualification") and recyclers (回收经营备案, hazardous-waste permits for lead-acid packs).
QUALIFICATION_KINDS = frozenset({OrganizationKind.REPAIR_SHOP, OrganizationKind.RECYCLER})
QUALIFICATION_WARNING_DAYS = 30


class User(AbstractUser):
    """A person who logs in. Everyone but the platform administrator belongs to one organization."""

    class Role(models.TextChoices):
        ADMIN = "admin", _("administrator")
        STAFF = "staff", _("staff")

    organization = models.ForeignKey(
        Organization,
        verbose_name=_("organization"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
    )
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.STAFF)
    # The lock-out (core.login): wrong passwords in a row, and when they locked the account.
    failed_logins = models.PositiveIntegerField(_("consecutive failed logins"), default=0)
    locked_at = models.DateTimeField(_("locked since"), null=True, blank=True)

    scope = ScopeRule(region="organization__region__code", organizations=("organization_id",))

    class Meta(AbstractUser.Meta):
        ordering = ["username"]
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(is_superuser=True) | models.Q(organization__isnull=False),
                name="user_belongs_to_organization",
            )
        ]

    @property
    def is_locked(self) -> bool:
        return self.locked_at is not None

    def check_password(self, raw_password):
        """Django re-hashes a password at login when the hasher settings changed. That is not a new password, so
        the API tokens, which die with the password they were issued under (core.tokens), follow the new hash."""
        from core.tokens import tokens_follow_rehash

        def setter(raw):
            old_hash = self.password
            self.set_password(raw)
            self._password = None  # not a password change: no password_changed() for the validators
            self.save(update_fields=["password"])
            tokens_follow_rehash(user=self, old_hash=old_hash)

        return check_password(raw_password, self.password, setter)

    async def acheck_password(self, raw_password):
        from asgiref.sync import sync_to_async

        return await sync_to_async(self.check_password)(raw_password)


class ApiToken(models.Model):
    """A bearer token for integrations (dealer POS, maker ERP). Only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    # A digest of the password hash it was issued under: a changed password, by any path, ends the token.
    password_stamp = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.user} ({self.created_at:%Y-%m-%d})"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


class AuditEntry(models.Model):
    """Who did what, when, to which record, and why. Append-only (PIPL: every unmasking is here)."""

    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        User, verbose_name=_("actor"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_organization = models.ForeignKey(
        Organization,
        verbose_name=_("actor organization"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=64)
    target_type = models.CharField(_("record type"), max_length=64)
    target_id = models.CharField(_("record"), max_length=64)
    reason = models.TextField(_("reason"), blank=True)
    data = models.JSONField(_("details"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    scope = ScopeRule(region="actor_organization__region__code", organizations=("actor_organization_id",))

    class Meta:
        ordering = ["-at"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        indexes = [models.Index(fields=["target_type", "target_id", "at"], name="audit_target")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.target_type}:{self.target_id}"


class IdempotencyKey(models.Model):
    """The first response to a write sent with an `Idempotency-Key`, replayed for a retry of the same request."""

    principal = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("idempotency key")
        verbose_name_plural = _("idempotency keys")
        constraints = [models.UniqueConstraint(fields=["principal", "key"], name="idempotency_key_unique")]

    def __str__(self) -> str:
        return f"{self.principal}:{self.key}"


class Notice(models.Model):
    """A message the platform leaves for an organization in its home page (e.g. "the monthly report of 2026-11 is
    ready"), beside the e-mail where one is configured."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="notices")
    title = models.CharField(_("title"), max_length=200)
    url = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    scope = ScopeRule(organizations=("organization_id",))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        indexes = [models.Index(fields=["organization", "-created_at"], name="notice_org_newest")]

    def __str__(self) -> str:
        return self.title
