"""HTTP plumbing shared by every fetch: one retry policy bounded by a deadline, a rate limiter shared by a pool
of threads, and a breaker that stops retrying once an outage is plain."""

from __future__ import annotations

import math
import threading
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from urllib3.exceptions import HTTPError, InvalidHeader
from urllib3.util.retry import Retry

RETRY_STATUSES = (429, 500, 502, 503, 504)


class GaveUp(HTTPError):
    """The retry policy stops here. Raised from `Retry.increment` itself (not wrapped in MaxRetryError, which urllib3
    swallows on a retried status), so its reason reaches the caller. `rate_limited`: the API was pacing us (429)."""

    def __init__(self, message: str, rate_limited: bool = False) -> None:
        super().__init__(message)
        self.rate_limited = rate_limited


class DeadlineReached(GaveUp):
    """The fetch's deadline passed: no further attempt or wait is started."""


class RateLimited(GaveUp):
    """The API asked us (Retry-After) to wait longer than this client ever waits."""


class NotRetried(GaveUp):
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

    def why_not_retry(self, paced: bool = False) -> str | None:
        """Why no retry is made, or None. A 429 says the API is up, so a run of failures does not stop its retry."""
        if self.stopped:
            return f"the fetch stopped: {self.failed} models failed, more than the {self.max_failed} allowed"
        if self.in_a_row >= self.trip_after and not paced:
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
        # A 429 is the API pacing us, not a failure: it costs no retry and trips no breaker; the deadline alone
        # bounds how long we follow it (a 20 s burst of 429s must not lose the models asked during it).
        paced = response is not None and response.status == 429
        counted = self.new(total=self.total + 1) if paced and isinstance(self.total, int) else self
        retry = Retry.increment(counted, method, url, response, error, _pool, _stacktrace)
        stop = self.breaker.why_not_retry(paced) if self.breaker is not None else None
        if stop:
            raise NotRetried(stop)
        asked = _retry_after(response)
        if asked is not None and asked > self.retry_after_max:
            raise RateLimited(
                f"{_limited(response)}: the API asked to wait {asked:g}s (Retry-After), more than the "
                f"{self.retry_after_max:g}s this client waits",
                rate_limited=paced,
            )
        if asked is not None and self.limiter is not None:
            self.limiter.pause(asked)
        wait = retry.get_backoff_time() if asked is None else asked
        if self.deadline is not None and time.monotonic() + wait >= self.deadline:
            why = f"{_limited(response)} until" if paced else "the next try would start past"
            raise DeadlineReached(f"{why} the fetch's deadline", rate_limited=paced)
        return retry


def _limited(response: Any) -> str:
    return "rate limited (HTTP 429)" if response.status == 429 else f"HTTP {response.status}"


def _retry_after(response: Any) -> float | None:
    """The wait a response's Retry-After asks for, in seconds, uncapped; None when it names none (or nonsense)."""
    if response is None:
        return None
    try:
        return Retry(retry_after_max=math.inf).get_retry_after(response)
    except InvalidHeader:
        return None


def redact_url(url: str) -> str:
    """The URL without any user:password part, for logs and errors."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        parts = parts._replace(netloc=f"{host}:{parts.port}" if parts.port else host)
    return urlunsplit(parts)
