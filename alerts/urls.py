"""Alert pages, under /alerts/."""

from django.urls import path

from alerts import subscription_views, views, views_inbox

urlpatterns = [
    path("", views_inbox.inbox, name="alerts-inbox"),
    path("rows/", views_inbox.inbox_rows, name="alerts-inbox-rows"),
    path("bulk/", views_inbox.bulk, name="alerts-bulk"),
    path("mine/", views.mine, name="alerts-mine"),
    path("<int:pk>/", views.detail, name="alert-detail"),
    path("<int:pk>/photos/<int:attachment_pk>/", views.attachment, name="alert-attachment"),
    path("<int:pk>/complaint/phone/", views.complaint_phone, name="alert-complaint-phone"),
    path("<int:pk>/complaint/photos/<int:photo_pk>/", views.complaint_photo, name="alert-complaint-photo"),
    # A department's subscriptions and their webhooks (数据推送).
    path("subscriptions/", subscription_views.subscription_list, name="alerts-subscriptions"),
    path("subscriptions/new/", subscription_views.subscription_new, name="alerts-subscription-new"),
    path("subscriptions/<int:pk>/", subscription_views.subscription_detail, name="alerts-subscription"),
    path("subscriptions/<int:pk>/secret/", subscription_views.subscription_rotate, name="alerts-subscription-rotate"),
    path("subscriptions/<int:pk>/delete/", subscription_views.subscription_delete, name="alerts-subscription-delete"),
]
