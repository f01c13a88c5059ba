"""With the shared cache (Redis) away, rate limits let the attempt through and the log says so:
Redis' connection errors are caught where they are counted (khutwa/ratelimit.py), although
redis itself is imported only by a process that uses it (khutwa/ops/cache.py)."""

from unittest import mock

import pytest
from bench.harness import free_port

from khutwa import ratelimit


@pytest.mark.django_db
def test_rate_limits_let_attempts_through_and_log_while_redis_is_away(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "khutwa.ops.cache.ResilientRedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    with mock.patch.object(ratelimit.logger, "warning") as warning:
        assert ratelimit.allow("verify", "203.0.113.7") is True
        ratelimit.hit("verify", "203.0.113.7")
    assert [c.args[0] for c in warning.call_args_list] == [
        "rate limit not counted: the shared cache is unavailable"
    ] * 2
    assert [c.kwargs["extra"] for c in warning.call_args_list] == [{"purpose": "verify"}] * 2
