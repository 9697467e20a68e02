"""API routes of the charging app (mounted under /api/v1/)."""

from django.urls import path

from charging.api import views

urlpatterns = [
    path("swap-stations/", views.StationListView.as_view(), name="api-swap-stations"),
    path("swap-stations/<int:pk>/", views.StationDetailView.as_view(), name="api-swap-station"),
    path("swap-events/", views.SwapEventBatchView.as_view(), name="api-swap-events"),
]
