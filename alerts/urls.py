"""Alert pages, under /alerts/."""

from django.urls import path

from alerts import views

urlpatterns = [
    path("", views.inbox, name="alerts-inbox"),
    path("rows/", views.inbox_rows, name="alerts-inbox-rows"),
    path("bulk/", views.bulk, name="alerts-bulk"),
    path("mine/", views.mine, name="alerts-mine"),
    path("<int:pk>/", views.detail, name="alert-detail"),
    path("<int:pk>/photos/<int:attachment_pk>/", views.attachment, name="alert-attachment"),
    path("<int:pk>/complaint/phone/", views.complaint_phone, name="alert-complaint-phone"),
    path("<int:pk>/complaint/photos/<int:photo_pk>/", views.complaint_photo, name="alert-complaint-photo"),
]
