from django.urls import path

from dealers.api import shipments, views

urlpatterns = [
    path("receipts/", views.ReceiptListView.as_view(), name="api-receipts"),
    path("receipts/<int:pk>/", views.ReceiptDetailView.as_view(), name="api-receipt"),
    path("sales/", views.SaleListView.as_view(), name="api-sales"),
    path("stock/", views.StockView.as_view(), name="api-stock"),
    path("shipments/", shipments.ShipmentListView.as_view(), name="api-shipments"),
    path("shipments/<int:pk>/", shipments.ShipmentDetailView.as_view(), name="api-shipment"),
]

# Trade-in (以旧换新) at the dealer's counter.
from dealers.api import trade_ins  # noqa: E402  (kept with its route, in this block)

urlpatterns += [path("trade-ins/", trade_ins.TradeInListView.as_view(), name="api-trade-ins")]
