"""API routes of recycling (mounted under /api/v1/)."""

urlpatterns: list = []
