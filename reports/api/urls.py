from django.urls import path

from reports.api import summary

urlpatterns: list = [
    path("reports/summary/", summary.SummaryView.as_view(), name="api-reports-summary"),
    path("reports/trend/", summary.TrendView.as_view(), name="api-reports-trend"),
]
