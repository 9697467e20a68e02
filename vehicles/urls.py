"""Pages of the vehicles app: the public QR page, the regulator search and dossier."""

from django.urls import path

from vehicles import public_pages, stolen_pages
from vehicles import views as record_pages

urlpatterns = [
    # The public QR page (no login) and its QR codes.
    path("v/<str:code>/qr.svg", public_pages.qr_svg_page, name="public-qr-svg"),
    path("v/<str:code>/qr.png", public_pages.qr_png_page, name="public-qr-png"),
    path("v/<str:code>", public_pages.record_page, name="public-record"),
    # Complaints (我要投诉): the page's form posts here; the ticket's status page, and a lookup by ticket number.
    path("v/<str:code>/complaint", public_pages.complaint_post, name="public-complaint"),
    path("complaints/", public_pages.complaint_lookup_page, name="public-complaint-lookup"),
    path("complaints/<str:ticket>", public_pages.complaint_status_page, name="public-complaint-status"),
    path("complaints/<str:ticket>/filed", public_pages.complaint_filed_page, name="public-complaint-filed"),
    # Anything else under /v/ is a mangled or forged label: the same warning page, and the scan is logged.
    path("v/<path:code>", public_pages.record_page, name="public-record-any"),
]

# Record pages (一车一档): the regulator's search and the dossier with audited unmasking; a dealer opens the
# dossier of a bike it sold.
urlpatterns += [
    path("records/", record_pages.search, name="records-search"),
    path("records/vehicles/<str:frame_no>/", record_pages.dossier, name="records-dossier"),
    path("records/repairs/<int:pk>/", record_pages.repair_record, name="records-repair"),
]

# Stolen bikes: the hot sheet (police and regulators), the police's report and find.
urlpatterns += [
    path("records/stolen/", stolen_pages.hot_sheet, name="stolen-hot-sheet"),
    path("records/stolen/new/", stolen_pages.report_new, name="stolen-new"),
    path("records/stolen/<str:frame_no>/found/", stolen_pages.report_found, name="stolen-found"),
]
