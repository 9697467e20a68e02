from django.urls import path

from catalog.api import views

urlpatterns = [
    path("catalog/standards/", views.StandardListView.as_view(), name="api-catalog-standards"),
    path("catalog/standards/<str:code>/", views.StandardDetailView.as_view(), name="api-catalog-standard"),
    path("catalog/vehicle-models/", views.VehicleModelListView.as_view(), name="api-catalog-vehicle-models"),
    path(
        "catalog/vehicle-models/<str:code>/", views.VehicleModelDetailView.as_view(), name="api-catalog-vehicle-model"
    ),
    path("catalog/battery-models/", views.BatteryModelListView.as_view(), name="api-catalog-battery-models"),
    path(
        "catalog/battery-models/<str:code>/", views.BatteryModelDetailView.as_view(), name="api-catalog-battery-model"
    ),
    path("catalog/charger-models/", views.ChargerModelListView.as_view(), name="api-catalog-charger-models"),
    path(
        "catalog/charger-models/<str:code>/", views.ChargerModelDetailView.as_view(), name="api-catalog-charger-model"
    ),
]
