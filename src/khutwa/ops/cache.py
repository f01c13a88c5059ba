"""The shared cache over Redis, best-effort: when Redis is down or restarting, reads miss and
writes are dropped (with a warning in the log), so that a Redis restart costs rate-limit counts
and cached pages, never a failed request. Sessions are `cached_db`: a miss reads the database.

Counting calls (`add`, `incr`, `decr`) still raise `CACHE_ERRORS`: their callers decide
(khutwa/ratelimit.py lets the request through and logs it, rather than refuse everyone).
"""

from __future__ import annotations

import logging
from typing import Any

import redis.exceptions
from django.core.cache.backends.redis import RedisCache

CACHE_ERRORS: tuple[type[Exception], ...] = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
logger = logging.getLogger(__name__)


def _unavailable(operation: str) -> None:
    logger.warning("shared cache unavailable", extra={"operation": operation})


class ResilientRedisCache(RedisCache):
    def get(self, key: Any, default: Any = None, version: int | None = None) -> Any:
        try:
            return super().get(key, default, version)
        except CACHE_ERRORS:
            _unavailable("get")
            return default

    def get_many(self, keys: Any, version: int | None = None) -> dict[Any, Any]:
        try:
            return super().get_many(keys, version)
        except CACHE_ERRORS:
            _unavailable("get_many")
            return {}

    def set(self, key: Any, value: Any, timeout: Any = None, version: int | None = None) -> None:
        try:
            super().set(key, value, timeout, version)
        except CACHE_ERRORS:
            _unavailable("set")

    def set_many(self, data: dict[Any, Any], timeout: Any = None, version: int | None = None) -> list[Any]:
        try:
            return super().set_many(data, timeout, version)
        except CACHE_ERRORS:
            _unavailable("set_many")
            return list(data)

    def delete(self, key: Any, version: int | None = None) -> bool:
        try:
            return super().delete(key, version)
        except CACHE_ERRORS:
            _unavailable("delete")
            return False

    def has_key(self, key: Any, version: int | None = None) -> bool:
        try:
            return super().has_key(key, version)
        except CACHE_ERRORS:
            _unavailable("has_key")
            return False

    def delete_many(self, keys: Any, version: int | None = None) -> None:
        try:
            super().delete_many(keys, version)
        except CACHE_ERRORS:
            _unavailable("delete_many")
