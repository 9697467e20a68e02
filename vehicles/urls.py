"""Pages of the vehicles app: the public QR page, the regulator search and dossier."""

from django.urls import path  # noqa: F401

urlpatterns: list = []
