"""List pagination: `{"count", "results", "next", "previous"}`, `?page_size=` up to 500."""

from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from core.pagination import Paginator


class Pagination(PageNumberPagination):
    django_paginator_class = Paginator
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_paginated_response(self, data):
        return Response(
            {
                "count": self.page.paginator.count,
                "results": data,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
            }
        )

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {
                "count": {"type": "integer"},
                "results": schema,
                "next": {"type": "string", "format": "uri", "nullable": True},
                "previous": {"type": "string", "format": "uri", "nullable": True},
            },
        }
