"""HTTP plumbing shared by every fetch: one retry policy bounded by a deadline, a rate limiter shared by a pool
of threads, and a breaker that stops retrying once an outage is plain."""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from urllib3.exceptions import InvalidHeader, MaxRetryError
from urllib3.util.retry import Retry

RETRY_STATUSES = (429, 500, 502, 503, 504)


class DeadlineReached(Exception):
    """The fetch's deadline passed: no further attempt or wait is started."""


class NotRetried(Exception):
    """The fetch already knows how this ends (the API is down, or too many models failed): no retry is made."""


class Breaker:
    """What an endpoints fetch has learnt of the API, shared by its threads.

    After `trip_after` models in a row have failed (each after the whole retry policy), the API is taken to be
    down: the next requests are made once, without retries, until one succeeds. Once more than `max_failed`
    models have failed, the outcome is known and the fetch stops asking.
    """

    def __init__(self, trip_after: int, max_failed: int | None) -> None:
        self.trip_after, self.max_failed = trip_after, max_failed
        self.in_a_row = self.failed = 0
        self._lock = threading.Lock()

    def record(self, ok: bool, models: int = 1) -> None:
        with self._lock:
            self.in_a_row = 0 if ok else self.in_a_row + 1
            self.failed += 0 if ok else models

    @property
    def stopped(self) -> bool:
        return self.max_failed is not None and self.failed > self.max_failed

    def why_not_retry(self) -> str | None:
        if self.stopped:
            return f"the fetch stopped: {self.failed} models failed, more than the {self.max_failed} allowed"
        if self.in_a_row >= self.trip_after:
            return f"not retried: the last {self.in_a_row} models failed too"
        return None


class RateLimiter:
    """Spaces requests at least 1/rate seconds apart across threads; a pause (a 429's Retry-After) holds them all."""

    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self.interval
        if start > now:
            time.sleep(start - now)

    def pause(self, seconds: float) -> None:
        with self._lock:
            self._next = max(self._next, time.monotonic() + seconds)


class DeadlineRetry(Retry):
    """urllib3's Retry, bounded by a deadline (a time.monotonic() value): a retry whose wait would end past it is
    not made, so a dead or rate-limiting API fails within the fetch's deadline. With a rate limiter, every retry
    waits its turn too, and a Retry-After pauses every request that shares the limiter."""

    deadline: float | None = None
    limiter: RateLimiter | None = None
    breaker: Breaker | None = None

    def new(self, **kw: Any) -> DeadlineRetry:
        retry = super().new(**kw)
        retry.deadline, retry.limiter, retry.breaker = self.deadline, self.limiter, self.breaker
        return retry

    def sleep(self, response=None) -> None:  # noqa: ANN001
        super().sleep(response)
        if self.limiter is not None:
            self.limiter.acquire()

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):  # noqa: ANN001
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
        stop = self.breaker.why_not_retry() if self.breaker is not None else None
        if stop:
            raise MaxRetryError(_pool, url, NotRetried(stop))
        wait = None
        if response is not None and retry.respect_retry_after_header:
            try:
                wait = retry.get_retry_after(response)
            except InvalidHeader:
                wait = None
        if wait is not None and self.limiter is not None:
            self.limiter.pause(wait)
        wait = retry.get_backoff_time() if wait is None else wait
        if self.deadline is not None and time.monotonic() + wait >= self.deadline:
            raise MaxRetryError(_pool, url, DeadlineReached("the next try would start past the fetch's deadline"))
        return retry


def redact_url(url: str) -> str:
    """The URL without any user:password part, for logs and errors."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        parts = parts._replace(netloc=f"{host}:{parts.port}" if parts.port else host)
    return urlunsplit(parts)
