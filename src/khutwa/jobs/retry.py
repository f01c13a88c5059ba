"""Retries with exponential backoff and dead letters, which django-tasks does not have.

    @task()
    @retrying()
    def document_pdf_render(public_id: str) -> None: ...

A failing attempt re-enqueues the same task with `run_after` = now + base × 2^(attempt-1)
(at most an hour), counting attempts in two private keyword arguments, and raises, so that the
attempt's own row shows FAILED with its traceback. After the last attempt the task becomes a
`DeadLetter`. A worker stopped in the middle of an attempt (a second Ctrl-C) re-enqueues it at
once, without counting it. Every task so decorated must be idempotent: it runs at least once.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import traceback
from collections.abc import Callable
from typing import Any, TypeVar, cast

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

ATTEMPT = "_attempt"
FIRST_FAILURE = "_first_failed_at"
MAX_BACKOFF_SECONDS = 3600


def backoff_seconds(attempt: int, base: int | None = None) -> int:
    """The wait after failed attempt number `attempt` (1, 2, ...): base, 2×base, 4×base..."""
    base = settings.KHUTWA_TASK_RETRY_SECONDS if base is None else base
    return int(min(base * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS))


def retrying(*, attempts: int | None = None, base_seconds: int | None = None) -> Callable[[F], F]:
    """Decorate a task function (under `@task`) so that failures are retried, then dead-lettered.
    `attempts` defaults to KHUTWA_TASK_MAX_ATTEMPTS, `base_seconds` to KHUTWA_TASK_RETRY_SECONDS."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, _attempt: int = 1, _first_failed_at: str = "", **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except (KeyboardInterrupt, SystemExit):
                # The worker was stopped in the middle: this attempt does not count.
                _enqueue_again(wrapper, args, kwargs, _attempt, _first_failed_at, delay=0)
                raise
            except Exception as exc:
                now = timezone.now()
                first = _first_failed_at or now.isoformat()
                limit = settings.KHUTWA_TASK_MAX_ATTEMPTS if attempts is None else attempts
                task_path = f"{func.__module__}.{func.__qualname__}"
                if _attempt >= limit or not _can_defer(wrapper):
                    from khutwa.jobs.services import dead_letter_record

                    dead_letter_record(
                        task_path=task_path,
                        args=list(args),
                        kwargs=kwargs,
                        attempts=_attempt,
                        error="".join(traceback.format_exception(exc)),
                        first_failed_at=dt.datetime.fromisoformat(first),
                        last_failed_at=now,
                    )
                    logger.error("task %s failed %d times: dead letter", task_path, _attempt)
                    raise
                delay = backoff_seconds(_attempt, base_seconds)
                logger.warning(
                    "task %s failed (attempt %d of %d); again in %d s", task_path, _attempt, limit, delay
                )
                _enqueue_again(wrapper, args, kwargs, _attempt + 1, first, delay=delay)
                raise

        return cast(F, wrapper)

    return decorate


def _task_of(wrapper: Callable[..., Any]) -> Any:
    """The module-level Task that wraps this function (the `@task` above `@retrying`)."""
    return import_string(f"{wrapper.__module__}.{wrapper.__qualname__}")


def _can_defer(wrapper: Callable[..., Any]) -> bool:
    """The immediate backend cannot run anything later: there a failure is dead at once."""
    return bool(_task_of(wrapper).get_backend().supports_defer)


def _enqueue_again(
    wrapper: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    attempt: int,
    first_failed_at: str,
    *,
    delay: int,
) -> None:
    task = _task_of(wrapper)
    if delay:
        if not task.get_backend().supports_defer:
            return
        task = task.using(run_after=timezone.now() + dt.timedelta(seconds=delay))
    task.enqueue(*args, **kwargs, **{ATTEMPT: attempt, FIRST_FAILURE: first_failed_at})
