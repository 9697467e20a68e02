"""Pages of the repair shop, under /repair/."""

urlpatterns: list = []
