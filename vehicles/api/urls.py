from django.urls import path, re_path

from vehicles.api import exports, production, public, record, stolen

urlpatterns: list = []

# Production (出厂登记): makers register what they produced, in bulk.
urlpatterns += [
    path("vehicles/bulk/", production.VehicleBulkView.as_view(), name="api-vehicles-bulk"),
    path("batteries/bulk/", production.BatteryBulkView.as_view(), name="api-batteries-bulk"),
]

# The vehicle record (一车一档), the trace, and registration changes.
FRAME = r"(?P<frame_no>[0-9]{1,20})"
urlpatterns += [
    # Frame numbers are digits, so these never shadow word routes such as vehicles/bulk/.
    re_path(rf"^vehicles/{FRAME}/$", record.VehicleDetailView.as_view(), name="api-vehicle"),
    re_path(rf"^vehicles/{FRAME}/events/$", record.VehicleEventsView.as_view(), name="api-vehicle-events"),
    re_path(rf"^vehicles/{FRAME}/verify/$", record.VehicleVerifyView.as_view(), name="api-vehicle-verify"),
    re_path(rf"^vehicles/{FRAME}/transfer/$", record.TransferView.as_view(), name="api-vehicle-transfer"),
    re_path(
        rf"^vehicles/{FRAME}/cancel-registration/$",
        record.CancelRegistrationView.as_view(),
        name="api-vehicle-cancel-registration",
    ),
    path("trace/", record.TraceView.as_view(), name="api-trace"),
]

# Public lookup of a QR code (no login).
urlpatterns += [
    path("public/vehicles/<str:code>/", public.PublicRecordView.as_view(), name="api-public-record"),
]

# Stolen bikes (police) and the hot sheet; the exports of a bike's ledger (EPCIS) and of a battery (its passport).
urlpatterns += [
    re_path(rf"^vehicles/{FRAME}/stolen/$", stolen.StolenView.as_view(), name="api-vehicle-stolen"),
    re_path(rf"^vehicles/{FRAME}/found/$", stolen.FoundView.as_view(), name="api-vehicle-found"),
    path("stolen/", stolen.HotSheetView.as_view(), name="api-stolen"),
    re_path(rf"^vehicles/{FRAME}/epcis/$", exports.EpcisView.as_view(), name="api-vehicle-epcis"),
    path("batteries/<str:serial>/passport/", exports.PassportView.as_view(), name="api-battery-passport"),
]
