"""Pages of the recycler, under /recycler/."""

urlpatterns: list = []
