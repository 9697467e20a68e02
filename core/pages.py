"""What the pages of the platform share: who may open an organization's pages, a list's page, and the query
string its links keep."""

from __future__ import annotations

import functools

from django.contrib.auth.decorators import login_required
from django.http import Http404

from core.pagination import Paginator

PAGE_SIZE = 50


def pages_for(*kinds: str):
    """A view decorator: logged in, and a member of an active organization of one of these kinds. Anyone else is
    told nothing exists here (404)."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            org = request.user.organization
            if org is None or org.kind not in kinds or not org.is_active:
                raise Http404
            return view(request, *args, **kwargs)

        return login_required(wrapper)

    return decorate


def at_desk(user) -> bool:
    """Regulators and departments work at a desk (desktop pages, the alert inbox, the figures); the platform
    administrator sees everything."""
    org = user.organization
    return user.is_superuser or (org is not None and org.is_active and (org.is_regulator or org.is_department))


def desk_page(view):
    """A view decorator: logged in and at a desk (at_desk); anyone else is told nothing exists here (404)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not at_desk(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return login_required(wrapper)


def query_without(request, *names: str) -> str:
    """The page's query string for its links, without the page number, the export switch and `names`."""
    query = request.GET.copy()
    for name in ("page", "export", *names):
        query.pop(name, None)
    return query.urlencode()


def page_of(request, queryset, size: int = PAGE_SIZE):
    """The page of the list the request asks for (`?page=`); a page past the end shows the last one."""
    return Paginator(queryset, size).get_page(request.GET.get("page"))
