"""Input and output shapes of the provisioning and auth endpoints (API.md "Provisioning"), and API tokens."""

from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.models import ApiToken, AuditEntry, Organization, OrganizationKind, QualificationState, Region, User
from core.tokens import token_is


class TokenRequest(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)


class OrganizationBrief(serializers.ModelSerializer):
    region_code = serializers.CharField(source="region_id")

    class Meta:
        model = Organization
        fields = ["id", "name", "kind", "region_code"]


class TokenResponse(serializers.Serializer):
    token = serializers.CharField()
    role = serializers.CharField()
    organization = OrganizationBrief(allow_null=True)


class MeOut(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.CharField(help_text="admin, staff, or platform_admin")
    organization = OrganizationBrief(allow_null=True)


class OrganizationIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    kind = serializers.ChoiceField(choices=OrganizationKind.choices)
    uscc = serializers.CharField(max_length=32)
    region_code = serializers.RegexField(
        r"^\d{6}(\d{3})?$", max_length=12, error_messages={"invalid": _("A region code is 6 or 9 digits.")}
    )
    qualification_no = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    qualification_valid_until = serializers.DateField(required=False, allow_null=True, default=None)
    enterprise_code = serializers.RegexField(
        r"^\d{4}$",
        required=False,
        allow_blank=True,
        default="",
        help_text="Vehicle makers: the 4-digit enterprise code that opens their frame numbers.",
    )


class OrganizationUpdate(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    status = serializers.ChoiceField(choices=Organization.Status.choices, required=False)
    region_code = serializers.RegexField(r"^\d{6}(\d{3})?$", max_length=12, required=False)
    qualification_no = serializers.CharField(max_length=64, required=False, allow_blank=True)
    qualification_valid_until = serializers.DateField(required=False, allow_null=True)


class OrganizationOut(serializers.ModelSerializer):
    region_code = serializers.CharField(source="region_id")
    region_name = serializers.CharField(source="region.name")
    qualification_status = serializers.SerializerMethodField(
        help_text="repair shops and recyclers: valid, expiring (within 30 days), expired or missing; others: "
        "not_required"
    )

    class Meta:
        model = Organization
        fields = [
            "id",
            "name",
            "kind",
            "uscc",
            "region_code",
            "region_name",
            "qualification_no",
            "qualification_valid_until",
            "enterprise_code",
            "qualification_status",
            "status",
            "created_at",
        ]

    @extend_schema_field(serializers.ChoiceField(choices=QualificationState.choices))
    def get_qualification_status(self, org: Organization) -> str:
        return org.qualification_state(timezone.localdate())


class UserIn(serializers.Serializer):
    username = serializers.RegexField(r"^[\w.@+-]{3,150}$", max_length=150)
    password = serializers.CharField(max_length=256, trim_whitespace=False)
    organization = serializers.IntegerField(min_value=1)
    role = serializers.ChoiceField(choices=User.Role.choices)
    email = serializers.EmailField(required=False, allow_blank=True, default="")


class UserOut(serializers.ModelSerializer):
    locked_at = serializers.DateTimeField(
        read_only=True,
        allow_null=True,
        help_text="Since when the account is locked after too many wrong passwords; null when it is not. "
        "POST /api/v1/users/{id}/unlock/ lifts it.",
    )

    class Meta:
        model = User
        fields = ["id", "username", "email", "organization", "role", "is_active", "date_joined", "locked_at"]


class ApiTokenOut(serializers.ModelSerializer):
    """One of the caller's tokens. The secret is shown once, at login, and never again."""

    current = serializers.SerializerMethodField(help_text="the token this request was sent with")

    class Meta:
        model = ApiToken
        fields = ["id", "created_at", "last_used_at", "expires_at", "current"]

    def get_current(self, token) -> bool:
        return token_is(token, self.context.get("raw_token"))


class RegionOut(serializers.ModelSerializer):
    parent_code = serializers.CharField(source="parent_id", allow_null=True)

    class Meta:
        model = Region
        fields = ["code", "name", "level", "parent_code"]


class AuditEntryOut(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", allow_null=True, default=None)
    actor_organization = OrganizationBrief(allow_null=True)

    class Meta:
        model = AuditEntry
        fields = ["id", "at", "actor", "actor_organization", "action", "target_type", "target_id", "reason", "data"]
