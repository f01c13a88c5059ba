"""The shared cache over Redis, best-effort: when Redis is down or restarting, reads miss and
writes are dropped (with a warning in the log), so that a Redis restart costs rate-limit counts
and cached pages, never a failed request. Sessions are `cached_db`: a miss reads the database.

Counting calls (`add`, `incr`, `decr`) still raise `cache_errors()`: their callers decide
(khutwa/ratelimit.py lets the request through and logs it, rather than refuse everyone).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)


def cache_errors() -> tuple[type[Exception], ...]:
    """Redis' connection and timeout errors, for `except cache_errors():`, which Python evaluates
    only when an exception is being caught: redis (with redis.asyncio, about 0.8 s of CPU) is
    imported by a process that uses it, not by every `khutwa` command at start (Django's
    RedisCache imports it when it first connects)."""
    import redis.exceptions

    return (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def _unavailable(operation: str) -> None:
    logger.warning("shared cache unavailable", extra={"operation": operation})


class ResilientRedisCache(RedisCache):
    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        try:
            return super().get(key, default, version)
        except cache_errors():
            _unavailable("get")
            return default

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        try:
            return super().get_many(keys, version)
        except cache_errors():
            _unavailable("get_many")
            return {}

    def set(self, key: Any, value: Any, timeout: Any = None, version: int | None = None) -> None:
        try:
            super().set(key, value, timeout, version)
        except cache_errors():
            _unavailable("set")

    def set_many(self, data: dict[Any, Any], timeout: Any = None, version: int | None = None) -> list[Any]:
        try:
            return super().set_many(data, timeout, version)
        except cache_errors():
            _unavailable("set_many")
            return list(data)

    def delete(self, key: Any, version: int | None = None) -> bool:
        try:
            return super().delete(key, version)
        except cache_errors():
            _unavailable("delete")
            return False

    def has_key(self, key: Any, version: int | None = None) -> bool:
        try:
            return super().has_key(key, version)
        except cache_errors():
            _unavailable("has_key")
            return False

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        try:
            super().delete_many(keys, version)
        except cache_errors():
            _unavailable("delete_many")
