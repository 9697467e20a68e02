"""API routes of repairs (mounted under /api/v1/)."""

from django.urls import path

from repairs.api import views

urlpatterns = [
    path("repairs/", views.RepairListView.as_view(), name="api-repairs"),
    path("repairs/<int:pk>/", views.RepairDetailView.as_view(), name="api-repair"),
    path("repairs/<int:pk>/photos/", views.RepairPhotoListView.as_view(), name="api-repair-photos"),
    path("repairs/<int:pk>/photos/<int:photo_pk>/", views.RepairPhotoFileView.as_view(), name="api-repair-photo-file"),
]
