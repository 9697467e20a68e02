"""GET /api/v1/feeds/{name}/?after=<cursor>: a department's data feed (docs/api.md "Department data feeds"; each
kind's record: docs/api-additions.md)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import query_invalid
from feeds.models import Feed
from feeds.selectors import MAX_PAGE_SIZE, PAGE_SIZE, cursor_of, feed_page


class FeedEntryOut(serializers.Serializer):
    id = serializers.IntegerField(help_text="the entry's id, unique across feeds")
    cursor = serializers.CharField(help_text="resume after this entry: ?after=<cursor>")
    kind = serializers.CharField(
        help_text="police: registered, transferred, registration_cancelled, stolen_reported, found; environment: "
        "handover, dismantle, hazardous_transfer, cascade_refused; fire: swap_alarm, battery_alert; housing: "
        "station_added, station_changed"
    )
    region_code = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    recorded_at = serializers.DateTimeField()
    record = serializers.DictField(help_text="the fields of the record, by feed and kind (/api/api-additions.md)")


class FeedPageOut(serializers.Serializer):
    feed = serializers.ChoiceField(choices=Feed.choices)
    results = FeedEntryOut(many=True, help_text="oldest first, in the order the writes can be known to be complete")
    cursor = serializers.CharField(help_text="after the last result (or where you were, if none): poll from here")
    next = serializers.URLField(allow_null=True, help_text="the next page, when this one was full; else null")


class FeedQuery(serializers.Serializer):
    after = serializers.CharField(required=False, max_length=200)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=MAX_PAGE_SIZE)


class FeedView(APIView):
    """A department's feed of its region, resumable from a cursor: no entry skipped, none given twice."""

    @extend_schema(
        parameters=[
            OpenApiParameter("after", str, description="a cursor this feed gave; none: from the first entry"),
            OpenApiParameter("page_size", int, description=f"up to {MAX_PAGE_SIZE} (default {PAGE_SIZE})"),
        ],
        responses={
            200: FeedPageOut,
            400: OpenApiResponse(description="`invalid_cursor`: not a cursor this feed gave out"),
            404: OpenApiResponse(description="no such feed, or not one your department reads"),
        },
    )
    def get(self, request, name):
        query = FeedQuery(data=request.query_params)
        if not query.is_valid():
            raise query_invalid(query, _("A parameter is invalid."))
        values = query.validated_data
        page = feed_page(request.user, name, after=values.get("after"), limit=values.get("page_size", PAGE_SIZE))
        cursor = cursor_of(page)
        following = None
        if page.full:
            params = {"after": cursor, **({"page_size": values["page_size"]} if "page_size" in values else {})}
            following = request.build_absolute_uri(f"{request.path}?{urlencode(params)}")
        return Response(
            {
                "feed": name,
                "results": [
                    {
                        "id": entry.id,
                        "cursor": cursor_of(page, entry),
                        "kind": entry.kind,
                        "region_code": entry.region_code,
                        "occurred_at": entry.occurred_at,
                        "recorded_at": entry.recorded_at,
                        "record": entry.record,
                    }
                    for entry in page.entries
                ],
                "cursor": cursor,
                "next": following,
            }
        )
