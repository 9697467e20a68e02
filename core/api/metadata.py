"""`OPTIONS` on any API view: what it accepts and renders, and the fields of its input where the view names one."""

from rest_framework.metadata import SimpleMetadata


class Metadata(SimpleMetadata):
    """DRF's metadata describes a generic view's writes from `get_serializer()`. Views here parse their input with
    their own serializers (and list views need none), so the write fields are described only for a view that
    names a `serializer_class`; every other view answers with its name, description, renderers and parsers."""

    def determine_actions(self, request, view):
        if getattr(view, "serializer_class", None) is None:
            return {}
        return super().determine_actions(request, view)

    def determine_metadata(self, request, view):
        metadata = super().determine_metadata(request, view)
        if not metadata.get("actions"):
            metadata.pop("actions", None)
        return metadata
