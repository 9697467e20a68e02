"""Every route of the URL conf as a concrete path: the converters filled with sample values, so that tests can
knock on every door as every role."""

from __future__ import annotations

import re

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

# Sample values per converter; a record that does not exist is what a stranger would try first.
SAMPLES = {"int": "999999", "str": "X", "slug": "x", "path": "a/b", "uuid": "00000000-0000-0000-0000-000000000000"}
_REGEX_CANDIDATES = ("371400", "999999", "X", "a", "2026-01", "1")
_ROUTE_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")


def _route_part(pattern) -> str | None:
    if isinstance(pattern, RoutePattern):
        return _ROUTE_PARAM.sub(lambda m: SAMPLES.get(m.group("converter") or "str", "X"), str(pattern))
    if isinstance(pattern, RegexPattern):
        regex = pattern.regex
        text = regex.pattern.lstrip("^").rstrip("$").replace("\\Z", "")
        groups = re.findall(r"\(\?P<\w+>[^)]*\)", text)
        for candidate in _REGEX_CANDIDATES:
            concrete = text
            for group in groups:
                concrete = concrete.replace(group, candidate)
            concrete = concrete.replace("\\", "")
            if regex.match(concrete):
                return concrete
        return None
    return None


def _walk(resolver, prefix: str = ""):
    for entry in resolver.url_patterns:
        part = _route_part(entry.pattern)
        if part is None:
            continue
        if isinstance(entry, URLResolver):
            yield from _walk(entry, prefix + part)
        elif isinstance(entry, URLPattern):
            yield prefix + part, entry.name or ""


def every_route() -> list[tuple[str, str]]:
    """(path, route name) for every route, each path once; static and media files excluded."""
    seen, routes = set(), []
    for path, name in _walk(get_resolver()):
        path = "/" + path
        if path not in seen and not path.startswith(("/static/", "/media/")):
            seen.add(path)
            routes.append((path, name))
    return routes
