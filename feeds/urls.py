from django.urls import path

from feeds.api import FeedView

urlpatterns = [path("feeds/<str:name>/", FeedView.as_view(), name="api-feed")]
