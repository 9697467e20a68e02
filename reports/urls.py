"""Pages and files of the reports app under /reports/ (the cockpit's pages take /dashboard/)."""

from django.urls import path, re_path

from reports import maps, monthly_pages

urlpatterns = [
    re_path(r"^maps/(?P<region_code>[0-9]{6,12})\.json$", maps.region_map_geojson, name="region-map"),
    path("monthly/", monthly_pages.archive, name="reports-monthly"),
    path("monthly/<int:pk>/progress/", monthly_pages.progress, name="reports-monthly-progress"),
    re_path(
        r"^monthly/(?P<region_code>[0-9]{6,12})/(?P<month>[0-9]{4}-[0-9]{2})\.html$",
        monthly_pages.report_html,
        name="reports-monthly-html",
    ),
    re_path(
        r"^monthly/(?P<region_code>[0-9]{6,12})/(?P<month>[0-9]{4}-[0-9]{2})\.pdf$",
        monthly_pages.report_pdf,
        name="reports-monthly-pdf",
    ),
]

# The weekly trade-in (以旧换新) progress by street; the page lives with the trade-ins.
from dealers import trade_in_views  # noqa: E402  (kept with its route, in this block)

urlpatterns += [path("trade-ins/", trade_in_views.trade_in_report_page, name="reports-trade-ins")]
