"""URLs: pages, the API (v1), its schema and docs, admin, language switch."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config import views as platform_views
from core import views as core_views
from core.login import LoginForm
from reports import views as reports_views

admin.site.site_header = admin.site.site_title = "电动自行车全链条监管平台"

urlpatterns = [
    path("", core_views.home, name="home"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="registration/login.html", redirect_authenticated_user=True, authentication_form=LoginForm
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("organizations/", core_views.organizations, name="organizations"),
    path("healthz", core_views.healthz, name="healthz"),
    path("favicon.ico", platform_views.favicon, name="favicon"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/reference.md", platform_views.api_reference, name="api-reference"),
    path("api/api-additions.md", platform_views.api_additions, name="api-additions"),
    path("api/v1/", include("core.api.urls")),
    path("api/v1/", include("catalog.api.urls")),
    path("api/v1/", include("vehicles.api.urls")),
    path("api/v1/", include("dealers.api.urls")),
    path("api/v1/", include("repairs.api.urls")),
    path("api/v1/", include("recycling.api.urls")),
    path("api/v1/", include("alerts.api.urls")),
    path("api/v1/", include("reports.api.urls")),
    path("api/v1/", include("supervision.api.urls")),
    path("api/v1/", include("charging.api.urls")),
    path("api/v1/", include("feeds.urls")),
    path("", include("vehicles.urls")),
    path("dealer/", include("dealers.urls")),
    path("repair/", include("repairs.urls")),
    path("recycler/", include("recycling.urls")),
    path("alerts/", include("alerts.urls")),
    path("maker/", include("catalog.urls")),
    path("charging/", include("charging.urls")),
    path("reports/", include("reports.urls")),
    path("work/", include("supervision.urls")),
    path("dashboard/", reports_views.dashboard, name="dashboard"),
    path("dashboard/enterprises/<int:pk>/", reports_views.enterprise, name="dashboard-enterprise"),
]

handler400 = "config.views.bad_request"
handler403 = "config.views.permission_denied"
handler404 = "config.views.not_found"
handler500 = "config.views.server_error"
