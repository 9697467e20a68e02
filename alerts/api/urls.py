from django.urls import path

from alerts.api import views

urlpatterns = [
    path("alerts/", views.AlertListView.as_view(), name="api-alerts"),
    path("alerts/<int:pk>/", views.AlertDetailView.as_view(), name="api-alert"),
    path("alerts/<int:pk>/actions/", views.AlertActionView.as_view(), name="api-alert-actions"),
]
