"""Pages of the charging app (mounted under /charging/)."""

from django.urls import path

from charging import views

urlpatterns = [
    path("", views.operator_home, name="charging-operator"),
    path("cabinets/", views.cabinets, name="charging-cabinets"),
    path("cabinets/<int:pk>/", views.cabinet, name="charging-cabinet"),
]
