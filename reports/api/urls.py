from django.urls import path

from reports.api import monthly, summary

urlpatterns: list = [
    path("reports/summary/", summary.SummaryView.as_view(), name="api-reports-summary"),
    path("reports/trend/", summary.TrendView.as_view(), name="api-reports-trend"),
    path("reports/monthly/", monthly.MonthlyReportListView.as_view(), name="api-reports-monthly"),
    path("reports/monthly/<int:pk>/", monthly.MonthlyReportDetailView.as_view(), name="api-reports-monthly-detail"),
]

# 三分 risk grading: enterprises graded, product categories, region colours, colour thresholds.
from reports.api import risk  # noqa: E402  (kept with its routes, in this block)

urlpatterns += [
    path("risk/enterprises/", risk.EnterpriseGradeListView.as_view(), name="api-risk-enterprises"),
    path("risk/products/", risk.ProductCategoryListView.as_view(), name="api-risk-products"),
    path("risk/regions/", risk.RegionColourListView.as_view(), name="api-risk-regions"),
    path("risk/thresholds/", risk.ColourThresholdListView.as_view(), name="api-risk-thresholds"),
]

# The weekly trade-in (以旧换新) progress by street; the view lives with the trade-ins.
from dealers.api import trade_ins  # noqa: E402  (kept with its route, in this block)

urlpatterns += [path("reports/trade-ins/", trade_ins.TradeInReportView.as_view(), name="api-reports-trade-ins")]
