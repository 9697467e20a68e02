"""Django's Redis cache, with one client object per connection pool.

Django's `RedisCacheClient.get_client()` builds a new `redis.Redis` around the pool for every cache operation;
redis-py 8 fills a table of some 170 response callbacks each time, about a fifth of a cached public page's
Python time. A client is thread-safe and shares the pool's connections (which redis-py resets after a fork), so
one per pool does the same work once.
"""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient as DjangoRedisCacheClient


class RedisCacheClient(DjangoRedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
