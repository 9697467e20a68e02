"""JSON out: UTF-8, Chinese as is, and every time in the platform's local offset (2026-12-06T14:05:00+08:00)."""

import datetime as dt

from django.utils import timezone
from rest_framework import renderers
from rest_framework.utils.encoders import JSONEncoder


class LocalTimeJSONEncoder(JSONEncoder):
    """DRF's encoder writes a UTC datetime as "…Z"; serializer fields write local time with its offset. One form
    for integrators: aware datetimes are converted to the local time zone (TIME_ZONE) first."""

    def default(self, obj):
        if isinstance(obj, dt.datetime) and timezone.is_aware(obj):
            return timezone.localtime(obj).isoformat()
        return super().default(obj)


class JSONRenderer(renderers.JSONRenderer):
    encoder_class = LocalTimeJSONEncoder
