"""OpenRouter catalog client: every model the API lists, through one retrying HTTP session, shape-checked."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

import requests
import urllib3
from dagster import ConfigurableResource, get_dagster_logger
from pydantic import Field
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, InvalidHeader, MaxRetryError, ReadTimeoutError
from urllib3.util.retry import Retry

from catalog_pipeline.secrets import scrub

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
# The default listing holds text-output models only; this asks for every output modality.
MODELS_PATH = "/models?output_modalities=all"
EMBEDDINGS_PATH = "/embeddings/models"
RETRY_STATUSES = (429, 500, 502, 503, 504)

log = get_dagster_logger(__name__)


class OpenRouterError(RuntimeError):
    """The catalog could not be fetched, or was not the shape the sync needs."""


class DeadlineReached(Exception):
    """The fetch's deadline passed: no further attempt or wait is started."""


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

    def new(self, **kw: Any) -> DeadlineRetry:
        retry = super().new(**kw)
        retry.deadline, retry.limiter = self.deadline, self.limiter
        return retry

    def sleep(self, response=None) -> None:  # noqa: ANN001
        super().sleep(response)
        if self.limiter is not None:
            self.limiter.acquire()

    def increment(self, method=None, url=None, response=None, error=None, _pool=None, _stacktrace=None):  # noqa: ANN001
        retry = super().increment(method, url, response, error, _pool, _stacktrace)
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


@dataclass
class FetchedCatalog:
    """What the listings answered: their models in order (repeats included), and each raw body by URL."""

    models: list[Any] = field(default_factory=list)
    bodies: dict[str, bytes] = field(default_factory=dict)
    listed: dict[str, int] = field(default_factory=dict)  # models per listing URL
    notes: list[str] = field(default_factory=list)
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def sources(self) -> list[str]:
        return list(self.bodies)


def redact_url(url: str) -> str:
    """The URL without any user:password part, for logs and errors."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        parts = parts._replace(netloc=f"{host}:{parts.port}" if parts.port else host)
    return urlunsplit(parts)


def parse_catalog_body(body: bytes, *, status: int, content_type: str, where: str) -> list[Any]:
    """The `data` list of a catalog response, or an OpenRouterError that says what was wrong."""
    if "html" in content_type.lower() or body.lstrip()[:1] == b"<":
        raise OpenRouterError(
            f"{where} returned HTML (status {status}), expected JSON with a data list. "
            "Check OPENROUTER_BASE_URL: it should end in /api/v1."
        )
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise OpenRouterError(f"{where} returned invalid JSON (status {status}, {len(body)} bytes): {exc}") from None
    if not isinstance(payload, dict):
        raise OpenRouterError(f"{where} returned a JSON {type(payload).__name__}, expected an object with a data list")
    if "error" in payload and "data" not in payload:
        error = payload["error"]
        message = error.get("message") if isinstance(error, dict) else error
        code = error.get("code") if isinstance(error, dict) else None
        raise OpenRouterError(f"{where} returned an error instead of models: {message!r} (code {code})")
    if "data" not in payload:
        raise OpenRouterError(f"{where} returned JSON without a 'data' key (keys: {sorted(payload)[:10]})")
    data = payload["data"]
    if data is None:
        raise OpenRouterError(f"{where} returned 'data': null, expected a list of models")
    if not isinstance(data, list):
        raise OpenRouterError(f"{where} returned 'data' as a {type(data).__name__}, expected a list of models")
    # Individual bad models are set aside later; a list with no model object at all is a broken response.
    if data and not any(isinstance(m, dict) and isinstance(m.get("id"), str) for m in data):
        raise OpenRouterError(f"{where} returned {len(data)} entries, none of them a model object with a string id")
    return data


def models_of(bodies: dict[str, bytes]) -> list[Any]:
    """The model objects of listings' raw bodies, in order, repeats included."""
    return [
        model
        for url, body in bodies.items()
        for model in parse_catalog_body(body, status=200, content_type="application/json", where=url)
    ]


class OpenRouterClient(ConfigurableResource):
    """OpenRouter's model catalog over HTTP.

    Retry policy: a request that meets a network error, a timeout, 429 or a 5xx is tried again up to
    `max_retries` times, waiting `backoff_seconds` × 2ⁿ⁻¹ (the first retry at once) or the answer's Retry-After,
    never more than `max_retry_wait_seconds`, and never past the fetch's deadline; any other failure, and an answer
    that breaks off mid-body, ends the fetch at once.
    """

    base_url: str = Field(default=DEFAULT_BASE_URL, description="OpenRouter API root (OPENROUTER_BASE_URL).")
    api_key: str | None = Field(default=None, description="Optional bearer token (OPENROUTER_API_KEY).")
    timeout_seconds: float = Field(default=30.0, description="Longest wait for a connection or for the next bytes.")
    max_retries: int = Field(default=4, description="Retries on 429, 5xx, timeouts and network errors.")
    backoff_seconds: float = Field(default=1.0, description="Retry n waits this × 2ⁿ⁻¹ (the first retry at once).")
    max_retry_wait_seconds: int = Field(default=60, description="Cap on any wait, Retry-After included.")
    request_deadline_seconds: float = Field(default=120.0, description="Longest time one answer may take to arrive.")
    fetch_deadline_seconds: float = Field(default=180.0, description="Longest time the whole fetch may take.")
    max_response_bytes: int = Field(default=64 * 2**20, description="Largest answer read (decoded bytes).")
    endpoints_pool: int = Field(default=8, description="Endpoints requests in flight at once.")
    endpoints_per_second: float = Field(default=10.0, description="Endpoints requests started per second, at most.")
    endpoints_deadline_seconds: float = Field(default=900.0, description="Longest time the endpoints fetch may take.")

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def scrub(self, text: str) -> str:
        """The text without the API key."""
        return scrub(text, self.api_key)

    @contextmanager
    def session(
        self, deadline: float | None = None, limiter: RateLimiter | None = None, pool: int = 1
    ) -> Iterator[requests.Session]:
        """A requests.Session with the retry policy mounted and the headers set."""
        retry = DeadlineRetry(
            total=self.max_retries,
            status_forcelist=RETRY_STATUSES,
            backoff_factor=self.backoff_seconds,
            backoff_max=self.max_retry_wait_seconds,
            retry_after_max=self.max_retry_wait_seconds,
            respect_retry_after_header=True,
            raise_on_status=False,
        )
        retry.deadline, retry.limiter = deadline, limiter
        with requests.Session() as session:
            adapter = HTTPAdapter(max_retries=retry, pool_connections=pool, pool_maxsize=pool)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers.update({"Accept": "application/json", "User-Agent": "catalog_pipeline/0.2"})
            if self.api_key:
                session.headers["Authorization"] = f"Bearer {self.api_key}"
            yield session

    def get(self, session: requests.Session, path: str, deadline: float) -> tuple[int, str, bytes]:
        """(status, content type, body) of a GET after the retry policy; an OpenRouterError for what it could not
        get past. The body is read as it arrives, within the deadline and the size cap."""
        shown = redact_url(self.url(path))
        started = time.monotonic()
        deadline = min(deadline, started + self.request_deadline_seconds)
        timeout = (min(10.0, self.timeout_seconds), self.timeout_seconds)
        try:
            with session.get(self.url(path), timeout=timeout, stream=True) as response:
                attempts = len(response.raw.retries.history) + 1 if response.raw.retries else 1
                if response.status_code in RETRY_STATUSES:
                    early = (
                        f", at the fetch's deadline ({self.fetch_deadline_seconds:g}s)"
                        if attempts <= self.max_retries
                        else ""
                    )
                    raise OpenRouterError(
                        f"GET {shown} failed after {attempts} attempts{early}: HTTP {response.status_code}"
                    )
                return response.status_code, response.headers.get("Content-Type", ""), self._read(response, deadline)
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            retried = exc.args[0] if exc.args and isinstance(exc.args[0], MaxRetryError) else None
            reason = retried.reason if retried else exc
            attempts = f"after {self.max_retries + 1} attempts" if retried else "mid-answer"
            if isinstance(reason, DeadlineReached):
                problem = f"gave up: {reason} ({self.fetch_deadline_seconds:g}s)"
            elif isinstance(reason, TimeoutError | requests.Timeout | ReadTimeoutError | ConnectTimeoutError):
                problem = f"failed {attempts}: no answer within {self.timeout_seconds:g}s"
            elif retried:
                problem = f"failed after {self.max_retries + 1} attempts: {type(reason).__name__}: {reason}"
            else:  # the answer broke off mid-body: not a request the policy can send again
                problem = f"failed mid-answer: {type(exc).__name__}: {exc}"
            raise OpenRouterError(self.scrub(f"GET {shown} {problem}")) from None

    def _read(self, response: requests.Response, deadline: float) -> bytes:
        """The whole body, a chunk at a time as it arrives: past the deadline or the size cap, an OpenRouterError."""
        shown = redact_url(response.url)
        length = response.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > self.max_response_bytes:
            raise OpenRouterError(
                f"GET {shown} announced {int(length):,} bytes, over the cap of {self.max_response_bytes:,}"
            )
        chunks, size = [], 0
        while chunk := response.raw.read1(65536, decode_content=True):
            size += len(chunk)
            if size > self.max_response_bytes:
                raise OpenRouterError(f"GET {shown} sent more than the cap of {self.max_response_bytes:,} bytes")
            if time.monotonic() > deadline:
                raise OpenRouterError(f"GET {shown} took longer than its deadline ({size:,} bytes so far)")
            chunks.append(chunk)
        return b"".join(chunks)

    def fetch_catalog(self) -> FetchedCatalog:
        """Every model OpenRouter lists: all output modalities, then the embeddings listing."""
        catalog = FetchedCatalog()
        deadline = time.monotonic() + self.fetch_deadline_seconds
        with self.session(deadline) as session:
            for path, optional in ((MODELS_PATH, False), (EMBEDDINGS_PATH, True)):
                shown = redact_url(self.url(path))
                status, content_type, body = self.get(session, path, deadline)
                if status == 404 and optional:
                    catalog.notes.append(f"{shown} answered 404; used the main listing only")
                    log.warning("GET %s answered 404; continuing with the main listing", shown)
                    continue
                if status >= 400:
                    detail = self.scrub(body.decode("utf-8", "replace"))[:200]  # scrubbed whole, then cut
                    hint = " Check OPENROUTER_API_KEY." if status in (401, 403) else ""
                    raise OpenRouterError(f"GET {shown} failed with HTTP {status}: {detail!r}.{hint}")
                models = parse_catalog_body(body, status=status, content_type=content_type, where=shown)
                catalog.models += models
                catalog.bodies[shown] = body
                catalog.listed[shown] = len(models)
        return catalog


def endpoints_path(model_id: str, listed_path: str | None) -> str:
    """The API path of a model's endpoints: its links.details (less the /api/v1 root), else built from its id."""
    if listed_path:
        return "/" + listed_path.split("/api/v1/", 1)[-1].lstrip("/")
    return f"/models/{quote(model_id, safe='/~:')}/endpoints"


@dataclass
class FetchedEndpoints:
    """Each model's raw endpoints answer, or why it could not be had."""

    bodies: dict[str, bytes] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def fetch_endpoints(
    client: OpenRouterClient,
    paths: dict[str, str],
    *,
    pool: int,
    per_second: float,
    deadline_seconds: float,
    on_progress: Any = None,
) -> FetchedEndpoints:
    """GET every model's endpoints through one retrying session: `pool` requests at once, at most `per_second`
    started per second; a failed model (after the retry policy) is set aside with its reason."""
    fetched = FetchedEndpoints()
    limiter = RateLimiter(per_second)
    deadline = time.monotonic() + deadline_seconds
    started = time.monotonic()
    step = max(1, len(paths) // 10)
    lock = threading.Lock()

    def one(model_id: str) -> None:
        limiter.acquire()
        try:
            status, _, body = client.get(session, paths[model_id], deadline)
            if status >= 400:
                raise OpenRouterError(f"HTTP {status}")
        except OpenRouterError as exc:
            with lock:
                fetched.failed[model_id] = str(exc)[:300]
        else:
            with lock:
                fetched.bodies[model_id] = body
        with lock:
            done = len(fetched.bodies) + len(fetched.failed)
            if on_progress and (done % step == 0 or done == len(paths)):
                rate = done / max(time.monotonic() - started, 1e-9)
                on_progress(
                    f"endpoints: {done}/{len(paths)} models done, {len(fetched.failed)} failed, {rate:.1f} requests/s"
                )

    with client.session(deadline, limiter, pool) as session, ThreadPoolExecutor(max_workers=pool) as executor:
        list(executor.map(one, paths))
    return fetched
