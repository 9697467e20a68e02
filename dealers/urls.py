"""Pages of the dealer counter, under /dealer/."""

from django.urls import path
from django.views.generic import RedirectView

from dealers import shipment_views, views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="home", permanent=False)),
    path("stock/", views.stock, name="dealer-stock"),
    path("receive/", views.receive, name="dealer-receive"),
    path("receive/check/", views.receive_check, name="dealer-receive-check"),
    path("receipts/<int:pk>/", views.receipt, name="dealer-receipt"),
    path("shipments/", shipment_views.shipment_list, name="dealer-shipments"),
    path("shipments/<int:pk>/", shipment_views.shipment_detail, name="dealer-shipment"),
    path("shipments/<int:pk>/receive/", shipment_views.shipment_receive, name="dealer-shipment-receive"),
    path("sales/", views.sales, name="dealer-sales"),
    path("sales/new/", views.sale_new, name="dealer-sale-new"),
    path("sales/check/", views.sale_check, name="dealer-sale-check"),
    path("sales/<int:pk>/", views.sale_done, name="dealer-sale"),
]

# Trade-in (以旧换新) at the counter.
from dealers import trade_in_views  # noqa: E402  (kept with its routes, in this block)

urlpatterns += [
    path("trade-ins/new/", trade_in_views.trade_in_new, name="dealer-trade-in-new"),
    path("trade-ins/<int:pk>/", trade_in_views.trade_in_done, name="dealer-trade-in"),
]
