"""Pages of the repair shop, under /repair/."""

from django.urls import path
from django.views.generic import RedirectView

from repairs import views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="home", permanent=False)),
    path("new/", views.repair_new, name="repair-new"),
    path("repairs/", views.repair_list, name="repair-list"),
    path("repairs/<int:pk>/", views.repair_detail, name="repair-detail"),
    path("repairs/<int:pk>/photos/<int:photo_pk>/", views.repair_photo, name="repair-photo"),
    path("batteries/", views.batteries, name="repair-batteries"),
]
