"""Department subscriptions (一方预警、多方联动): which categories of alerts a department receives in its region, and
the webhook that pushes each one to the department's own system, with the log of those pushes.

Only departments (police, fire, environment, housing, local government) have subscriptions. Their members read
them; their administrators create, change and delete them. Another organization's subscription is a 404.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

import django_filters
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from alerts.models import Category, DepartmentSubscription, WebhookDelivery
from alerts.webhooks import MAX_ATTEMPTS, SIGNATURE_HEADER
from core.api.idempotency import idempotent
from core.audit import audit_record
from core.client_ip import client_ip
from core.errors import NotFound
from core.models import User
from core.scoping import scoped

SIGNATURE_DOC = f"""
**Webhook.** With a `webhook_url`, every alert shared with the department is POSTed there as JSON
(`id`, `rule`, `category`, `severity`, `status`, `region_code`, `subject` {{`frame_no`, `battery_serial`,
`organization`}}, `evidence`, `created_at`, `dispatched_at`, `due_at`).

Each request carries the header `{SIGNATURE_HEADER}: t=<unix time>,v1=<hex>`, where
`<hex> = HMAC-SHA256(secret, "<t>.<raw body>")`. Check it on the raw bytes of the body before parsing, compare
in constant time, and refuse timestamps more than a few minutes old (replays). The `secret` is returned once,
by the create call (and by `PATCH` with `"rotate_secret": true`); the platform never shows it again.

Any 2xx answer counts as delivered. Anything else (or no answer within 5 s) is retried with backoff (30 s, 1 min,
2 min … at most 1 h apart); after {MAX_ATTEMPTS} attempts the delivery is marked failed.
`GET …/{{id}}/deliveries/` shows the log.
"""


def _department_of(user: User):
    org = getattr(user, "organization", None)
    if org is None or not org.is_active or not org.is_department:
        return None
    return org


class IsDepartmentMember(BasePermission):
    """Members of a department read; its administrators write."""

    message = "Only departments (police, fire, environment, housing, local government) have alert subscriptions."

    def has_permission(self, request, view):
        user = request.user
        if not user.is_authenticated or _department_of(user) is None:
            return False
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        if user.role != User.Role.ADMIN:
            self.message = "Only an administrator of the department may change its subscriptions."
            return False
        return True


def subscriptions_visible_to(user: User):
    """The caller's own organization's subscriptions (scoped: another organization's are not found)."""
    return scoped(DepartmentSubscription.objects.select_related("organization"), user).filter(
        organization=user.organization
    )


def validate_webhook_url(value: str) -> str:
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise serializers.ValidationError(_("A webhook URL starts with http:// or https:// and names a host."))
    if parts.username or parts.password:
        raise serializers.ValidationError(_("Put no user name or password in the URL; the signature authenticates."))
    return value


class CategoriesField(serializers.ListField):
    child = serializers.ChoiceField(choices=Category.choices)

    def to_internal_value(self, data):
        values = super().to_internal_value(data)
        return sorted(set(values), key=list(Category.values).index)


class SubscriptionIn(serializers.Serializer):
    categories = CategoriesField(allow_empty=False, max_length=len(Category.values) * 2)
    webhook_url = serializers.URLField(
        max_length=200, required=False, allow_blank=True, default="", validators=[validate_webhook_url]
    )
    active = serializers.BooleanField(required=False, default=True)


class SubscriptionUpdate(serializers.Serializer):
    categories = CategoriesField(allow_empty=False, max_length=len(Category.values) * 2, required=False)
    webhook_url = serializers.URLField(
        max_length=200, required=False, allow_blank=True, validators=[validate_webhook_url]
    )
    active = serializers.BooleanField(required=False)
    rotate_secret = serializers.BooleanField(required=False, default=False, help_text="Issue a new signing secret.")


class SubscriptionOrganization(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class SubscriptionOut(serializers.ModelSerializer):
    organization = SubscriptionOrganization(read_only=True)
    pending = serializers.SerializerMethodField()
    failed = serializers.SerializerMethodField()

    class Meta:
        model = DepartmentSubscription
        fields = ["id", "organization", "categories", "webhook_url", "active", "created_at", "pending", "failed"]

    def get_pending(self, subscription) -> int:
        return subscription.deliveries.filter(status=WebhookDelivery.Status.PENDING).count()

    def get_failed(self, subscription) -> int:
        return subscription.deliveries.filter(status=WebhookDelivery.Status.FAILED).count()


class SubscriptionCreated(SubscriptionOut):
    secret = serializers.CharField(help_text="The signing secret, shown this once only.")

    class Meta(SubscriptionOut.Meta):
        fields = [*SubscriptionOut.Meta.fields, "secret"]


class SubscriptionChanged(SubscriptionOut):
    secret = serializers.CharField(required=False, help_text="Only after `rotate_secret`: the new secret, shown once.")

    class Meta(SubscriptionOut.Meta):
        fields = [*SubscriptionOut.Meta.fields, "secret"]


class WebhookDeliveryOut(serializers.ModelSerializer):
    alert = serializers.IntegerField(source="alert_id")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "alert",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "next_attempt_at",
            "delivered_at",
            "created_at",
        ]


class WebhookDeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=WebhookDelivery.Status.choices)
    alert = django_filters.NumberFilter(field_name="alert_id")

    class Meta:
        model = WebhookDelivery
        fields = ["status", "alert"]


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


def _audit(request, action: str, subscription, data: dict | None = None) -> None:
    audit_record(actor=request.user, action=action, target=subscription, data=data or {}, ip_address=client_ip(request))


@extend_schema_view(
    get=extend_schema(summary="The department's alert subscriptions", description=SIGNATURE_DOC),
)
class SubscriptionListView(generics.ListAPIView):
    serializer_class = SubscriptionOut
    permission_classes = [IsDepartmentMember]
    filter_backends = []

    def get_queryset(self):
        return subscriptions_visible_to(self.request.user).order_by("pk")

    @extend_schema(
        summary="Subscribe the department to categories of alerts (and a signed webhook)",
        description=SIGNATURE_DOC,
        request=SubscriptionIn,
        responses={201: SubscriptionCreated},
        examples=[
            OpenApiExample(
                "Fire brigade",
                value={"categories": ["battery"], "webhook_url": "https://119.example.gov.cn/hooks/ebike"},
                request_only=True,
            )
        ],
    )
    @idempotent
    def post(self, request):
        data = SubscriptionIn(data=request.data)
        data.is_valid(raise_exception=True)
        subscription = DepartmentSubscription.objects.create(
            organization=request.user.organization, secret=_new_secret(), **data.validated_data
        )
        _audit(request, "alerts.subscription_created", subscription, {"categories": subscription.categories})
        return Response(SubscriptionCreated(subscription).data, status=status.HTTP_201_CREATED)


class SubscriptionDetailView(generics.GenericAPIView):
    serializer_class = SubscriptionOut
    permission_classes = [IsDepartmentMember]

    def _get(self, pk, *, lock=False):
        queryset = subscriptions_visible_to(self.request.user)
        if lock:
            queryset = queryset.select_for_update(of=("self",))
        subscription = queryset.filter(pk=pk).first()
        if subscription is None:
            raise NotFound(_("No such subscription, or not one of your organization's."))
        return subscription

    @extend_schema(summary="One subscription", description=SIGNATURE_DOC)
    def get(self, request, pk):
        return Response(SubscriptionOut(self._get(pk)).data)

    @extend_schema(
        summary="Change a subscription (categories, webhook, active), or rotate its secret",
        description=SIGNATURE_DOC,
        request=SubscriptionUpdate,
        responses={200: SubscriptionChanged},
    )
    @idempotent
    def patch(self, request, pk):
        subscription = self._get(pk, lock=True)
        data = SubscriptionUpdate(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        rotate = values.pop("rotate_secret", False)
        for name, value in values.items():
            setattr(subscription, name, value)
        if rotate:
            subscription.secret = _new_secret()
        subscription.save()
        _audit(request, "alerts.subscription_changed", subscription, {**values, "secret_rotated": rotate})
        if rotate:  # the new secret is shown this once, like on creation
            return Response(SubscriptionCreated(subscription).data)
        return Response(SubscriptionOut(subscription).data)

    @extend_schema(summary="Delete a subscription and its delivery log", responses={204: None})
    @idempotent
    def delete(self, request, pk):
        subscription = self._get(pk, lock=True)
        _audit(request, "alerts.subscription_deleted", subscription, {"categories": subscription.categories})
        subscription.delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


class SubscriptionDeliveriesView(generics.ListAPIView):
    """The webhook delivery log of one subscription, newest first."""

    serializer_class = WebhookDeliveryOut
    permission_classes = [IsDepartmentMember]
    filterset_class = WebhookDeliveryFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no caller
            return WebhookDelivery.objects.none()
        subscription = subscriptions_visible_to(self.request.user).filter(pk=self.kwargs["pk"]).first()
        if subscription is None:
            raise NotFound(_("No such subscription, or not one of your organization's."))
        return subscription.deliveries.order_by("-created_at", "-id")

    @extend_schema(summary="Webhook delivery log of a subscription", description=SIGNATURE_DOC)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
