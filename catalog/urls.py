"""Pages of makers, under /maker/: their certified models (catalog) and their production uploads (vehicles)."""

from django.urls import path
from django.views.generic import RedirectView

from catalog import views
from vehicles import upload_pages

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="home", permanent=False)),
    path("models/", views.model_list, name="maker-models"),
    path("models/<slug:slug>/new/", views.model_new, name="maker-model-new"),
    path("models/<slug:slug>/<str:code>/renew/", views.model_renew, name="maker-model-renew"),
    path("production/", upload_pages.upload_list, name="maker-uploads"),
    path("production/template.csv", upload_pages.upload_template, name="maker-upload-template"),
    path("production/<int:pk>/", upload_pages.upload_detail, name="maker-upload"),
    path("production/<int:pk>/status/", upload_pages.upload_status, name="maker-upload-status"),
    path("production/<int:pk>/file/", upload_pages.upload_file, name="maker-upload-file"),
]
