"""Owns the "may lag" scope: reads a view lets the streaming replica serve, and whether the replica is fit to."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from typing import TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

REPLICA = "replica"
# Seconds a verdict on the replica (reachable, lag within REPLICA_MAX_LAG_SECONDS) is trusted by this process
# before the next probe: one cheap query per process every few seconds, not one per request.
CHECK_INTERVAL = 5.0

# Lag as the time since the last transaction the replica replayed, but only while WAL it received is still waiting
# to be replayed: an idle primary sends nothing, and a replica that has replayed all it received is current however
# old its last transaction. A server not in recovery (a test mirror, or a promoted standby) has no lag.
LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN pg_last_wal_replay_lsn() >= pg_last_wal_receive_lsn() THEN 0
    ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
END::float8
"""

logger = logging.getLogger(__name__)
T = TypeVar("T")


class _Scope:
    """One "may lag" block; once it has written, its later reads stay on the primary."""

    __slots__ = ("wrote",)

    def __init__(self) -> None:
        self.wrote = False


_scope: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar("replica_scope", default=None)


@contextlib.contextmanager
def reading_from_replica() -> Iterator[None]:
    """Reads inside may be served by the replica, up to REPLICA_MAX_LAG_SECONDS old; writes still go to the primary.

    For reads that may show figures seconds old (cockpit, reports, exports, feeds), never for one that follows a
    write. Also a decorator: ``@reading_from_replica()``. Wrap everything that queries: a streamed CSV keeps the scope
    (core.exports), but a TemplateResponse rendered after the view returns would not.
    """
    token = _scope.set(_Scope())
    try:
        yield
    finally:
        _scope.reset(token)


def keep_scope(rows: Iterable[T]) -> Iterator[T]:
    """``rows`` consumed later (a streaming response, after the view returned) inside the scope it was made in."""
    scope = _scope.get()
    if scope is None:
        return iter(rows)
    return _iterate_in(scope, iter(rows))


def _iterate_in(scope: _Scope, rows: Iterator[T]) -> Iterator[T]:
    # Set around each step, never across a yield: the response's consumer must not find itself in the scope.
    while True:
        token = _scope.set(scope)
        try:
            row = next(rows)
        except StopIteration:
            return
        finally:
            _scope.reset(token)
        yield row


def configured() -> bool:
    return REPLICA in connections.settings


def read_alias() -> str:
    """The database a read made now goes to: the replica only inside the scope, and only while it is fit."""
    scope = _scope.get()
    if scope is None or scope.wrote or not configured():
        return DEFAULT_DB_ALIAS
    if connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS  # inside a transaction on the primary, reads see its writes
    return REPLICA if _usable() else DEFAULT_DB_ALIAS


def note_write() -> None:
    scope = _scope.get()
    if scope is not None:
        scope.wrote = True


# ------------------------------------------------------------------------------------------------ replica health

_health = {"fit": None, "until": 0.0}  # fit: None until first probed
_health_lock = threading.Lock()


def reset() -> None:
    """Forget the last verdict on the replica: the next scoped read probes it again."""
    with _health_lock:
        _health.update(fit=None, until=0.0)


def _judge(fit: bool, why: str = "") -> None:
    if fit != _health["fit"]:
        if fit:
            logger.info("Read replica in use")
        else:
            logger.warning("Read replica unfit (%s): scoped reads go to the primary", why)
    _health.update(fit=fit, until=time.monotonic() + CHECK_INTERVAL)


def _usable() -> bool:
    # One thread probes while the others go on with the last verdict rather than wait for it.
    if time.monotonic() >= _health["until"] and _health_lock.acquire(blocking=False):
        try:
            _judge(*_probe())
        finally:
            _health_lock.release()
    if not _health["fit"]:
        return False
    # Between probes, this thread's own connection may have broken since (the replica restarted): check it once per
    # request, as Django's health checks do, before a query can fail on it.
    connection = connections[REPLICA]
    try:
        connection.close_if_health_check_failed()
        connection.ensure_connection()
    except Exception as exc:  # whatever keeps us from the replica, the primary answers instead
        with contextlib.suppress(Exception):
            connection.close()
        with _health_lock:
            _judge(False, f"unreachable: {exc}")
        return False
    return True


def _probe() -> tuple[bool, str]:
    """Whether the replica answers and lags no more than REPLICA_MAX_LAG_SECONDS, and if not, why."""
    connection = connections[REPLICA]
    try:
        with connection.cursor() as cursor:
            cursor.execute(LAG_SQL)
            (lag,) = cursor.fetchone()
    except Exception as exc:
        with contextlib.suppress(Exception):
            connection.close()
        return False, f"unreachable: {exc}"
    limit = getattr(settings, "REPLICA_MAX_LAG_SECONDS", 30)
    if lag > limit:
        return False, f"{lag:.1f} s behind, more than {limit} s"
    return True, ""
