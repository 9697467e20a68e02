"""One paginator for every list, pages and API alike, that stays fast on lists of a hundred thousand rows.

Two costs grow with a list: counting it, and knowing whether another page follows (Django's paginator derives
that from the count). Here a page is fetched with one row more than it shows, so "next" never depends on the
count; and the count is exact, live, up to EXACT_UP_TO rows. Above that it is still exact, but counted at most
once every COUNT_SECONDS per query (the same filters in the same scope share it): a city's inbox of 100,000
alerts says "100,234 alerts" for a few seconds after the 100,235th arrives, and pages through all of them.
"""

from __future__ import annotations

import hashlib
import logging

from django.core import paginator
from django.core.cache import cache
from django.db.models import QuerySet
from django.utils.functional import cached_property

EXACT_UP_TO = 1_000
COUNT_SECONDS = 30
LAG_PAGES = 10  # pages past a cached count that are still looked for (rows that arrived since it was counted)
log = logging.getLogger(__name__)


class Page(paginator.Page):
    def __init__(self, object_list, number, paginator, *, more: bool):
        super().__init__(object_list, number, paginator)
        self._more = more

    def has_next(self) -> bool:
        return self._more

    def next_page_number(self) -> int:
        if not self._more:
            raise paginator.EmptyPage(self.paginator.error_messages["no_results"])
        return self.number + 1  # the extra row says so, whatever the count (a row may have arrived since)


class Paginator(paginator.Paginator):
    @cached_property
    def count(self) -> int:
        self.count_cached = False
        if not isinstance(self.object_list, QuerySet):  # a list in memory: its length
            return len(self.object_list)
        queryset = self.object_list.order_by()  # any order counts the same
        upto = queryset[: EXACT_UP_TO + 1].count()
        if upto <= EXACT_UP_TO:
            return upto
        self.count_cached = True
        sql, params = queryset.query.sql_with_params()
        key = "count:" + hashlib.sha256(repr((queryset.db, sql, params)).encode()).hexdigest()
        try:
            total = cache.get(key)
        except Exception:  # Redis down: count every time rather than fail the list
            log.warning("count cache unavailable", exc_info=True)
            return queryset.count()
        if total is None:
            total = queryset.count()
            try:
                cache.set(key, total, COUNT_SECONDS)
            except Exception:
                log.warning("count cache unavailable", exc_info=True)
        return total

    def validate_number(self, number):
        try:
            return super().validate_number(number)
        except paginator.EmptyPage:
            number = int(number)
            if getattr(self, "count_cached", False) and 1 < number <= self.num_pages + LAG_PAGES:
                return number  # the count may lag behind the rows: the rows decide whether the page exists
            raise

    def page(self, number) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not rows and number > 1:
            raise paginator.EmptyPage(self.error_messages["no_results"])
        return Page(rows[: self.per_page], number, self, more=len(rows) > self.per_page)

    def get_page(self, number) -> Page:
        """The pages' lenient lookup: a page past the end shows the last one (as Django's paginator does)."""
        try:
            return super().get_page(number)
        except paginator.EmptyPage:  # the count was cached: a page it allowed turned out empty
            try:
                return self.page(self.num_pages)
            except paginator.EmptyPage:
                return self.page(1)
