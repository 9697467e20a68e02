"""Reading a feed: the next entries after a cursor, of the caller's region, with no gap and no repeat.

The entries are ordered by (txid, id): the writer's transaction id, then the row id. A page holds only entries
whose transaction is below the oldest one still running (`pg_snapshot_xmin(pg_current_snapshot())`, leaving out
transactions of other databases on the same server): every such transaction has ended, so no entry can later
appear behind a position already read. A transaction that started
early and commits late holds the page back until it ends; it is never skipped (docs/decisions/013-feeds.md).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db import connections
from django.utils import timezone
from django.utils.translation import gettext as _

from core.errors import NotFound
from core.models import User
from core.replica import read_alias, reading_from_replica
from feeds.cursor import Position, cursor_decode, cursor_encode
from feeds.models import READER_KIND, Feed, FeedEntry

PAGE_SIZE = 100
MAX_PAGE_SIZE = 500

# The horizon: entries below it were written by transactions that have ended. It is the oldest transaction running
# when the statement's snapshot was taken (or the snapshot's xmax when none is), leaving out those known to run in
# another database of the server (they cannot write this table, and a long one elsewhere, such as a bulk load,
# would otherwise hold every feed back). A transaction not found running anywhere any more counts as running here:
# its rows are not in this snapshot, so it must hold the page back. On a standby, which sees none of the primary's
# sessions, nothing is left out: the horizon is the snapshot's xmin.
HORIZON_SQL = """
WITH snapshot AS (SELECT pg_current_snapshot() AS s),
elsewhere AS (
    SELECT backend_xid::text::bigint AS xid FROM pg_stat_activity
    WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM current_database()
    UNION ALL
    SELECT transaction::text::bigint FROM pg_prepared_xacts WHERE database <> current_database()
)
SELECT COALESCE(
    (SELECT min(x) FROM snapshot, pg_snapshot_xip(snapshot.s) AS x
     WHERE mod(x::text::bigint, 4294967296) NOT IN (SELECT xid FROM elsewhere)),
    (SELECT pg_snapshot_xmax(s) FROM snapshot)) AS h
"""

# The horizon is a scalar subquery (computed once, before the scan), so the page is one ordered range of the
# feed's index that stops at the page's last entry; joined instead, it would cost a sort of the whole rest of the feed.
PAGE_SQL = f"""
SELECT id, txid::text AS txid_text, kind, region_code, occurred_at, recorded_at, record
FROM {FeedEntry._meta.db_table}
WHERE feed = %s AND region_code LIKE %s AND (txid, id) > (%s::text::xid8, %s) AND txid < ({HORIZON_SQL})
ORDER BY txid, id
LIMIT %s
"""


@dataclass(frozen=True)
class Entry:
    id: int
    position: Position
    kind: str
    region_code: str
    occurred_at: str  # ISO 8601 in local time with its offset, as every time of the API
    recorded_at: str
    record: dict


@dataclass(frozen=True)
class Page:
    feed: str
    entries: list[Entry]
    position: Position  # after the last entry (or where the reader stood, if none)
    full: bool  # as many entries as asked: more may be waiting


def feed_region_prefix(user: User, feed: str) -> str:
    """The region prefix the caller reads this feed for: its own region if it is a department of the feed's kind,
    everything for the platform. Anyone else: 404 (a feed is not a department's to know of)."""
    if feed not in Feed.values:
        raise NotFound(_("No such feed."))
    if user.is_superuser:
        return ""
    org = user.organization
    if org is None or not org.is_active or org.kind != READER_KIND[feed]:
        raise NotFound(_("No such feed."))
    return org.region.prefix


def feed_page(user: User, feed: str, *, after: str | None = None, limit: int = PAGE_SIZE) -> Page:
    """The next `limit` entries of `feed` after the cursor `after`, in the caller's region (from the replica when one
    is configured and current: a lagging replica shows fewer entries, never different ones)."""
    prefix = feed_region_prefix(user, feed)
    start = cursor_decode(feed, after)
    limit = max(1, min(int(limit), MAX_PAGE_SIZE))
    with reading_from_replica(), connections[read_alias()].cursor() as cursor:
        cursor.execute(PAGE_SQL, [feed, f"{prefix}%", str(start.txid), start.id, limit])
        rows = cursor.fetchall()
    zone = timezone.get_current_timezone()  # formatted here: 1,000 times a page through the renderer cost more
    entries = [
        Entry(
            pk,
            Position(int(txid), pk),
            kind,
            region,
            occurred_at.astimezone(zone).isoformat(),
            recorded_at.astimezone(zone).isoformat(),
            _json(record),
        )
        for pk, txid, kind, region, occurred_at, recorded_at, record in rows
    ]
    return Page(feed, entries, entries[-1].position if entries else start, full=len(entries) == limit)


def _json(value) -> dict:
    return json.loads(value) if isinstance(value, str) else value


def cursor_of(page: Page, entry: Entry | None = None) -> str:
    return cursor_encode(page.feed, entry.position if entry is not None else page.position)
