"""The cache is Django's Redis cache on the real Redis, keeping one client per connection pool."""

from django.core.cache import cache, caches

from core.cache import RedisCache


def test_one_client_serves_every_operation_and_the_cache_works():
    assert isinstance(caches["default"], RedisCache)
    backend = caches["default"]._cache
    assert backend.get_client("a") is backend.get_client("b", write=True)
    cache.set("cache-test", {"n": 1}, 30)
    assert cache.get("cache-test") == {"n": 1}
    assert cache.add("cache-test", 2, 30) is False and cache.add("cache-test-2", 2, 30) is True
    cache.delete_many(["cache-test", "cache-test-2"])
    assert cache.get("cache-test") is None
