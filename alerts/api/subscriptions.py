"""Department subscriptions (一方预警、多方联动): which categories of alerts a department receives in its region, and
the webhook that pushes each one to the department's own system, with the log of those pushes.

Only departments (police, fire, environment, housing, local government) have subscriptions. Their members read
them; their administrators create, change and delete them. Another organization's subscription is a 404.
"""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import generics, serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from alerts import subscriptions as service
from alerts.models import Category, DepartmentSubscription, WebhookDelivery
from alerts.webhooks import ERRORS, MAX_ATTEMPTS, SIGNATURE_HEADER, error_shown
from core.api.idempotency import idempotent
from core.client_ip import client_ip

SIGNATURE_DOC = f"""
**Webhook.** With a `webhook_url`, every alert shared with the department is POSTed there as JSON
(`id`, `rule`, `category`, `severity`, `status`, `region_code`, `subject` {{`frame_no`, `battery_serial`,
`organization`}}, `evidence`, `created_at`, `dispatched_at`, `due_at`).

Each request carries the header `{SIGNATURE_HEADER}: t=<unix time>,v1=<hex>`, where
`<hex> = HMAC-SHA256(secret, "<t>.<raw body>")`. Check it on the raw bytes of the body before parsing, compare
in constant time, and refuse timestamps more than a few minutes old (replays). The `secret` is returned once,
by the create call (and by `PATCH` with `"rotate_secret": true`); the platform never shows it again.

Any 2xx answer counts as delivered. Anything else (or no answer within 5 s) is retried with backoff (30 s, 1 min,
2 min … at most 1 h apart); after {MAX_ATTEMPTS} attempts the delivery is marked failed. Redirects are not
followed: a 3xx answer is a failed attempt. `GET …/{{id}}/deliveries/` shows the log, with a generic error per
attempt (`last_error`), never the details of the failure.

**Where a webhook may point.** The host must be reachable on the Internet: a URL whose host is, or resolves to, a
loopback, private, link-local, shared (carrier NAT), multicast, reserved or unspecified address (IPv4 or IPv6,
IPv4-mapped included) is refused with 400 and the code `webhook_url_not_allowed` (field `webhook_url`). A name
that does not resolve yet is accepted. Every delivery resolves the host again, refuses the same addresses
("address not allowed" in the log) and connects only to the address it checked. On a closed government network
the platform's administrator allow-lists hosts and networks with the `WEBHOOK_ALLOWED_HOSTS` setting.
"""

_WRITE_ERRORS = {
    400: OpenApiResponse(
        description="`webhook_url_not_allowed`: the webhook's host is an internal address; `invalid`: a field "
        "is wrong (the envelope's `fields` says which)"
    ),
    403: OpenApiResponse(description="`permission_denied`: not an administrator of a department"),
}


class IsDepartmentMember(BasePermission):
    """Members of a department read; its administrators write."""

    message = gettext_lazy(
        "Only departments (police, fire, environment, housing, local government) have alert subscriptions."
    )

    def has_permission(self, request, view):
        user = request.user
        if service.department_of(user) is None:
            return False
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        if not service.may_change(user):
            self.message = _("Only an administrator of the department may change its subscriptions.")
            return False
        return True


class CategoriesField(serializers.ListField):
    """The types only (and the enum for the schema); alerts.subscriptions holds the rules."""

    child = serializers.ChoiceField(choices=Category.choices)


@extend_schema_field(OpenApiTypes.URI)
class WebhookUrlField(serializers.CharField):
    """A string here; alerts.subscriptions checks its shape, its length and where it points."""


_URL_HELP = "http(s) URL of at most 200 characters, on the Internet (see above); empty: no webhook."


class SubscriptionIn(serializers.Serializer):
    categories = CategoriesField(max_length=len(Category.values) * 2, help_text="At least one.")
    webhook_url = WebhookUrlField(required=False, allow_blank=True, default="", help_text=_URL_HELP)
    active = serializers.BooleanField(required=False, default=True)


class SubscriptionUpdate(serializers.Serializer):
    categories = CategoriesField(max_length=len(Category.values) * 2, required=False, help_text="At least one.")
    webhook_url = WebhookUrlField(required=False, allow_blank=True, help_text=_URL_HELP)
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
    last_error = serializers.SerializerMethodField(
        help_text="Why the last attempt failed, in generic words: "
        + ", ".join(f'"{value}"' for value in ERRORS)
        + ', or "HTTP <status>" (e.g. "HTTP 500"); empty once delivered.'
    )

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

    def get_last_error(self, delivery) -> str:
        return error_shown(delivery.last_error)


class WebhookDeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=WebhookDelivery.Status.choices)
    alert = django_filters.NumberFilter(field_name="alert_id")

    class Meta:
        model = WebhookDelivery
        fields = ["status", "alert"]


@extend_schema_view(
    get=extend_schema(summary="The department's alert subscriptions", description=SIGNATURE_DOC),
)
class SubscriptionListView(generics.ListAPIView):
    serializer_class = SubscriptionOut
    permission_classes = [IsDepartmentMember]
    filter_backends = []

    def get_queryset(self):
        return service.subscriptions_of(self.request.user).order_by("pk")

    @extend_schema(
        summary="Subscribe the department to categories of alerts (and a signed webhook)",
        description=SIGNATURE_DOC,
        request=SubscriptionIn,
        responses={201: SubscriptionCreated, **_WRITE_ERRORS},
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
        subscription = service.subscription_create(
            user=request.user, ip_address=client_ip(request), **data.validated_data
        )
        return Response(SubscriptionCreated(subscription).data, status=status.HTTP_201_CREATED)


class SubscriptionDetailView(generics.GenericAPIView):
    serializer_class = SubscriptionOut
    permission_classes = [IsDepartmentMember]

    @extend_schema(summary="One subscription", description=SIGNATURE_DOC)
    def get(self, request, pk):
        return Response(SubscriptionOut(service.subscription_get(user=request.user, subscription_id=pk)).data)

    @extend_schema(
        summary="Change a subscription (categories, webhook, active), or rotate its secret",
        description=SIGNATURE_DOC,
        request=SubscriptionUpdate,
        responses={200: SubscriptionChanged, **_WRITE_ERRORS, 404: OpenApiResponse(description="`not_found`")},
    )
    @idempotent
    def patch(self, request, pk):
        service.subscription_get(user=request.user, subscription_id=pk)  # another's is 404 before its input is read
        data = SubscriptionUpdate(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        rotate = values.get("rotate_secret", False)
        subscription = service.subscription_change(
            user=request.user,
            subscription_id=pk,
            categories=values.get("categories"),
            webhook_url=values.get("webhook_url"),
            active=values.get("active"),
            rotate_secret=rotate,
            ip_address=client_ip(request),
        )
        if rotate:  # the new secret is shown this once, like on creation
            return Response(SubscriptionCreated(subscription).data)
        return Response(SubscriptionOut(subscription).data)

    @extend_schema(summary="Delete a subscription and its delivery log", responses={204: None})
    @idempotent
    def delete(self, request, pk):
        service.subscription_delete(user=request.user, subscription_id=pk, ip_address=client_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class SubscriptionDeliveriesView(generics.ListAPIView):
    """The webhook delivery log of one subscription, newest first."""

    serializer_class = WebhookDeliveryOut
    permission_classes = [IsDepartmentMember]
    filterset_class = WebhookDeliveryFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no caller
            return WebhookDelivery.objects.none()
        subscription = service.subscription_get(user=self.request.user, subscription_id=self.kwargs["pk"])
        return service.deliveries_of(subscription)

    @extend_schema(summary="Webhook delivery log of a subscription", description=SIGNATURE_DOC)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
