"""API routes of repairs (mounted under /api/v1/)."""

urlpatterns: list = []
