"""Pages of the recycler (and the repair shop's handover), under /recycler/."""

from django.urls import path
from django.views.generic import RedirectView

from recycling import views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="home", permanent=False)),
    path("new/", views.record_new, name="recycling-new"),
    path("records/", views.records, name="recycling-records"),
    path("records/<int:pk>/", views.record, name="recycling-record"),
]
