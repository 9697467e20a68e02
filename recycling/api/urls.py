"""API routes of recycling (mounted under /api/v1/)."""

from django.urls import path

from recycling.api import views

urlpatterns = [
    path("recycling/", views.RecyclingListView.as_view(), name="api-recycling"),
    path("recycling/<int:pk>/", views.RecyclingDetailView.as_view(), name="api-recycling-record"),
]
