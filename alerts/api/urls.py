from django.urls import path

from alerts.api import complaints, views

urlpatterns = [
    path("alerts/", views.AlertListView.as_view(), name="api-alerts"),
    path("alerts/<int:pk>/", views.AlertDetailView.as_view(), name="api-alert"),
    path("alerts/<int:pk>/actions/", views.AlertActionView.as_view(), name="api-alert-actions"),
]

# Consumer complaints, no login (API.md "Public"): file one, check it by ticket, add photos soon after filing.
urlpatterns += [
    path("public/complaints/", complaints.ComplaintCreateView.as_view(), name="api-public-complaints"),
    path("public/complaints/<str:ticket>/", complaints.ComplaintStatusView.as_view(), name="api-public-complaint"),
    path(
        "public/complaints/<str:ticket>/photos/",
        complaints.ComplaintPhotosView.as_view(),
        name="api-public-complaint-photos",
    ),
]

# Department alert subscriptions (categories, signed webhook) and their webhook delivery log.
from alerts.api import subscriptions  # noqa: E402  (kept with its routes, in this block)

urlpatterns += [
    path("alert-subscriptions/", subscriptions.SubscriptionListView.as_view(), name="api-alert-subscriptions"),
    path(
        "alert-subscriptions/<int:pk>/",
        subscriptions.SubscriptionDetailView.as_view(),
        name="api-alert-subscription",
    ),
    path(
        "alert-subscriptions/<int:pk>/deliveries/",
        subscriptions.SubscriptionDeliveriesView.as_view(),
        name="api-alert-subscription-deliveries",
    ),
]
