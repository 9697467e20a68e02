"""Pages of the vehicles app: the public QR page, the regulator search and dossier."""

from django.urls import path

from vehicles import public
from vehicles import views as record_pages

urlpatterns = [
    # The public QR page (no login) and its QR codes.
    path("v/<str:code>/qr.svg", public.qr_svg_page, name="public-qr-svg"),
    path("v/<str:code>/qr.png", public.qr_png_page, name="public-qr-png"),
    path("v/<str:code>", public.record_page, name="public-record"),
    # Anything else under /v/ is a mangled or forged label: the same warning page, and the scan is logged.
    path("v/<path:code>", public.record_page, name="public-record-any"),
]

# Record pages (一车一档): the regulator's search and the dossier with audited unmasking; a dealer opens the
# dossier of a bike it sold.
urlpatterns += [
    path("records/", record_pages.search, name="records-search"),
    path("records/vehicles/<str:frame_no>/", record_pages.dossier, name="records-dossier"),
]
