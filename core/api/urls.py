from django.urls import path, re_path

from core.api import views

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("auth/logout/", views.LogoutView.as_view(), name="api-logout"),
    path("auth/tokens/", views.ApiTokenListView.as_view(), name="api-tokens"),
    path("auth/tokens/<int:pk>/", views.ApiTokenDetailView.as_view(), name="api-token-detail"),
    path("me/", views.MeView.as_view(), name="api-me"),
    path("organizations/", views.OrganizationListView.as_view(), name="api-organizations"),
    path("organizations/<int:pk>/", views.OrganizationDetailView.as_view(), name="api-organization"),
    path("users/", views.UserListView.as_view(), name="api-users"),
    path("users/<int:pk>/", views.UserDetailView.as_view(), name="api-user"),
    path("users/<int:pk>/unlock/", views.UserUnlockView.as_view(), name="api-user-unlock"),
    path("audit/", views.AuditLogView.as_view(), name="api-audit"),
    path("regions/", views.RegionListView.as_view(), name="api-regions"),
    re_path(r"^regions/(?P<code>\d{2,12})/$", views.RegionDetailView.as_view(), name="api-region"),
]
