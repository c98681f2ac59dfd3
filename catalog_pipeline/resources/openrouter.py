"""OpenRouter catalog client: every model the API lists, through one retrying HTTP session, shape-checked."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from typing import Any, NamedTuple
from urllib.parse import quote, urlencode, urljoin

import requests
import urllib3
from dagster import ConfigurableResource, get_dagster_logger
from pydantic import Field, PrivateAttr
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, MaxRetryError, NewConnectionError, ReadTimeoutError

from catalog_pipeline.resources.http import (
    RETRY_STATUSES,
    Breaker,
    DeadlineRetry,
    GaveUp,
    NotRetried,
    RateLimiter,
    redact_url,
)
from catalog_pipeline.secrets import scrub

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
# The default listing holds text-output models only; this asks for every output modality.
MODELS_PATH = "/models?output_modalities=all"
EMBEDDINGS_PATH = "/embeddings/models"
PROVIDERS_PATH = "/providers"
ZERO_RETENTION_PATH = "/endpoints/zdr"
PAGE_LIMIT = 1000  # the largest page OpenRouter serves (`limit`, at most 1000)
MAX_PAGES = 100

log = get_dagster_logger(__name__)


class OpenRouterError(RuntimeError):
    """The catalog could not be fetched, or was not the shape the sync needs."""


class ApiUnavailable(OpenRouterError):
    """The API did not answer within the fetch's deadline, or kept asking us to wait (429): the run's budget for it
    is spent, and its other fetches are not started. `rate_limited`: it was answering, with 429s."""

    def __init__(self, message: str, rate_limited: bool = False) -> None:
        super().__init__(message)
        self.rate_limited = rate_limited


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


class CatalogPage(NamedTuple):
    """One answer of a listing: its models, and what it says of the rest (OpenRouter's offset/limit paging)."""

    models: list[Any]
    total_count: int | None  # how many the listing holds in all, when the answer says
    next: str | None  # links.next: where the next page is, when there is one


def parse_catalog_body(body: bytes, *, status: int, content_type: str, where: str) -> CatalogPage:
    """The `data` list of a catalog response and its paging, or an OpenRouterError that says what was wrong."""
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
    total = payload.get("total_count")
    links = payload.get("links")
    following = links.get("next") if isinstance(links, dict) else None
    return CatalogPage(
        data,
        total if isinstance(total, int) and not isinstance(total, bool) else None,
        following if isinstance(following, str) and following else None,
    )


def _hint(status: int) -> str:
    """What to check when the listing itself is refused or not found."""
    if status in (401, 403):
        return " Check OPENROUTER_API_KEY."
    if status == 404:  # the usual cause: a base URL without its /api/v1 (https://openrouter.ai)
        return " Check OPENROUTER_BASE_URL: it should end in /api/v1."
    return ""


def models_of(bodies: dict[str, bytes]) -> list[Any]:
    """The model objects of listings' raw bodies, in order, repeats included."""
    return [
        model
        for url, body in bodies.items()
        for model in parse_catalog_body(body, status=200, content_type="application/json", where=url).models
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

    # Why the API was found dead or rate limiting in this run, once it was: Dagster initialises a resource once per
    # run (every step of a run shares one process here), so every later fetch of the run fails at once, saying why,
    # instead of starting a fresh wait.
    _unavailable: list[str] = PrivateAttr(default_factory=list)

    def setup_for_execution(self, context: Any) -> None:
        self._unavailable = []

    def not_asked_because(self) -> str | None:
        """Why a fetch is not started: this run's budget for the API is spent (an earlier fetch found it dead or rate
        limiting), or None."""
        return f"not asked: earlier in this run, {self._unavailable[0]}" if self._unavailable else None

    @contextmanager
    def within_the_runs_budget(self) -> Iterator[None]:
        """Fail at once when an earlier fetch of this run found the API dead or rate limiting; note it when this
        one does."""
        if why := self.not_asked_because():
            raise ApiUnavailable(why)
        try:
            yield
        except ApiUnavailable as exc:
            self._unavailable.append(str(exc))
            raise

    def url(self, path: str) -> str:
        return self.base_url.rstrip("/") + path

    def scrub(self, text: str) -> str:
        """The text without the API key."""
        return scrub(text, self.api_key)

    @contextmanager
    def session(
        self,
        deadline: float | None = None,
        limiter: RateLimiter | None = None,
        pool: int = 1,
        breaker: Breaker | None = None,
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
        retry.deadline, retry.limiter, retry.breaker = deadline, limiter, breaker
        with requests.Session() as session:
            adapter = HTTPAdapter(max_retries=retry, pool_connections=pool, pool_maxsize=pool)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers.update(
                {"Accept": "application/json", "User-Agent": f"catalog_pipeline/{version('catalog_pipeline')}"}
            )
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
                    raise OpenRouterError(f"GET {shown} failed after {attempts} attempts: HTTP {response.status_code}")
                return response.status_code, response.headers.get("Content-Type", ""), self._read(response, deadline)
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            retried = exc.args[0] if exc.args and isinstance(exc.args[0], MaxRetryError) else None
            reason = retried.reason if retried else exc
            if isinstance(reason, NotRetried):
                raise OpenRouterError(f"GET {shown} failed: {reason}") from None
            if isinstance(reason, GaveUp):
                raise ApiUnavailable(f"GET {shown} gave up: {reason}", reason.rate_limited) from None
            # Before the timeouts: urllib3's NewConnectionError (refused, unreachable) subclasses ConnectTimeoutError.
            if isinstance(reason, NewConnectionError):
                raise ApiUnavailable(
                    self.scrub(f"GET {shown} failed after {self.max_retries + 1} attempts: cannot connect ({reason})")
                ) from None
            if isinstance(reason, TimeoutError | requests.Timeout | ReadTimeoutError | ConnectTimeoutError):
                attempts = f"after {self.max_retries + 1} attempts" if retried else "mid-answer"
                raise ApiUnavailable(
                    f"GET {shown} failed {attempts}: no answer within {self.timeout_seconds:g}s"
                ) from None
            if retried:  # refused or reset connections, every try: nobody is answering
                raise ApiUnavailable(
                    self.scrub(
                        f"GET {shown} failed after {self.max_retries + 1} attempts: {type(reason).__name__}: {reason}"
                    )
                ) from None
            # the answer broke off mid-body: not a request the policy can send again
            raise OpenRouterError(self.scrub(f"GET {shown} failed mid-answer: {type(exc).__name__}: {exc}")) from None

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
        """Every model OpenRouter lists: all output modalities, then the embeddings listing, every page of each."""
        catalog = FetchedCatalog()
        deadline = time.monotonic() + self.fetch_deadline_seconds
        with self.within_the_runs_budget(), self.session(deadline) as session:
            for path, optional in ((MODELS_PATH, False), (EMBEDDINGS_PATH, True)):
                self._fetch_listing(session, path, optional, deadline, catalog)
        return catalog

    def fetch_optional(self, path: str) -> tuple[bytes | None, str | None]:
        """(body, None), or (None, why) for an answer whose failure must not fail the run (after the retry policy)."""
        deadline = time.monotonic() + self.fetch_deadline_seconds
        try:
            with self.within_the_runs_budget(), self.session(deadline) as session:
                status, _, body = self.get(session, path, deadline)
        except OpenRouterError as exc:
            return None, str(exc)
        if status >= 400:
            hint = " (it may need a management key in OPENROUTER_API_KEY)" if status in (401, 403) else ""
            return None, f"GET {redact_url(self.url(path))} answered HTTP {status}{hint}"
        return body, None

    def _fetch_listing(
        self, session: requests.Session, path: str, optional: bool, deadline: float, catalog: FetchedCatalog
    ) -> None:
        """One listing, page after page: `links.next` when the answer gives it, else the next `offset` while
        `total_count` says more remain. Its models are added to the catalog only once they all add up."""
        first, models, pages = redact_url(self.url(path)), [], {}
        total: int | None = None
        while path is not None:
            shown = redact_url(self.url(path))
            status, content_type, body = self.get(session, path, deadline)
            if status == 404 and optional and not pages:
                catalog.notes.append(f"{shown} answered 404; used the main listing only")
                log.warning("GET %s answered 404; continuing with the main listing", shown)
                return
            if status >= 400:
                detail = self.scrub(body.decode("utf-8", "replace"))[:200]  # scrubbed whole, then cut
                raise OpenRouterError(f"GET {shown} failed with HTTP {status}: {detail!r}.{_hint(status)}")
            page = parse_catalog_body(body, status=status, content_type=content_type, where=shown)
            if shown in pages or len(pages) >= MAX_PAGES:
                raise OpenRouterError(f"{first} pages without end: {shown} again after {len(pages)} pages")
            pages[shown] = body
            models += page.models
            total = page.total_count if page.total_count is not None else total
            path = self._next_page(path, page, len(models), total)
        if total is not None and len(models) != total:
            raise OpenRouterError(
                f"{first} said it holds {total} models but its {len(pages)} pages held {len(models)}; "
                "nothing was stored"
            )
        catalog.bodies.update(pages)
        catalog.models += models
        catalog.listed[first] = len(models)

    def _next_page(self, path: str, page: CatalogPage, count: int, total: int | None) -> str | None:
        """The path of the page after this one, or None when the listing is complete."""
        if page.next:
            url = urljoin(self.url(path), page.next)
            root = self.base_url.rstrip("/")
            if not url.startswith(root + "/"):  # the API key is sent along: never to another host
                raise OpenRouterError(f"links.next points outside {redact_url(root)}: {redact_url(url)[:200]}")
            return url.removeprefix(root)
        if total is None or count >= total:
            return None
        if not page.models:
            raise OpenRouterError(f"{redact_url(self.url(path))} is empty at {count} of {total} models")
        base, _, query = path.partition("?")
        kept = [part for part in query.split("&") if part and not part.startswith(("offset=", "limit="))]
        return f"{base}?{'&'.join([*kept, urlencode({'offset': count, 'limit': PAGE_LIMIT})])}"


def endpoints_path(model_id: str, listed_path: str | None) -> str:
    """The API path of a model's endpoints: its links.details (less the /api/v1 root), else built from its id."""
    if listed_path:
        return "/" + listed_path.split("/api/v1/", 1)[-1].lstrip("/")
    return f"/models/{quote(model_id, safe='/~:')}/endpoints"


@dataclass
class FetchedEndpoints:
    """Each endpoints path's raw answer, or why it could not be had; and which models asked for which path."""

    asked: dict[str, str] = field(default_factory=dict)  # model id -> its endpoints path
    bodies: dict[str, bytes] = field(default_factory=dict)  # path -> answer
    failed: dict[str, str] = field(default_factory=dict)  # path -> why
    stopped: str | None = None  # why the fetch stopped asking before the end, if it did
    fetched_at: datetime = field(default_factory=lambda: datetime.now(UTC))


def fetch_endpoints(
    client: OpenRouterClient,
    paths: dict[str, str],
    *,
    pool: int,
    per_second: float,
    deadline_seconds: float,
    max_failed: int | None = None,
    on_progress: Any = None,
) -> FetchedEndpoints:
    """GET every distinct endpoints path once (a variant shares its base's) through one retrying session: `pool`
    requests at once, at most `per_second` started per second. A failed path (after the retry policy) is set aside
    with its reason; once more than `max_failed` models have failed, the rest are not asked."""
    fetched = FetchedEndpoints(asked=dict(paths))
    askers = Counter(paths.values())
    if why := client.not_asked_because():
        fetched.stopped, fetched.failed = why, dict.fromkeys(askers, why)
        return fetched
    limiter, breaker = RateLimiter(per_second), Breaker(trip_after=pool, max_failed=max_failed)
    deadline = time.monotonic() + deadline_seconds
    lock = threading.Lock()
    progress = _progress(on_progress, len(askers), len(paths))

    def one(path: str) -> None:
        if breaker.stopped:
            with lock:
                fetched.failed[path] = f"not asked: {breaker.why_not_retry()}"
            return
        limiter.acquire()
        try:
            status, _, body = client.get(session, path, deadline)
            if status >= 400:
                raise OpenRouterError(f"HTTP {status}")
        except OpenRouterError as exc:
            if not getattr(exc, "rate_limited", False):  # the API pacing us is not an outage
                breaker.record(False, askers[path])
            with lock:
                fetched.failed[path] = str(exc)[:300]
        else:
            breaker.record(True)
            with lock:
                fetched.bodies[path] = body
        with lock:
            progress(len(fetched.bodies) + len(fetched.failed), len(fetched.failed))

    with client.session(deadline, limiter, pool, breaker) as session, ThreadPoolExecutor(max_workers=pool) as executor:
        list(executor.map(one, askers))
    if breaker.stopped:
        fetched.stopped = breaker.why_not_retry()
    return fetched


def _progress(report: Any, total: int, models: int) -> Any:
    """A callback logging every tenth of the answers (and the last) through `report`, with the rate so far."""
    started, step = time.monotonic(), max(1, total // 10)

    def progress(done: int, failed: int) -> None:
        if report and (done % step == 0 or done == total):
            rate = done / max(time.monotonic() - started, 1e-9)
            shared = f" ({models} models: a variant asks its base's path)" if models != total else ""
            report(f"endpoints: {done}/{total} requests done{shared}, {failed} failed, {rate:.1f} requests/s")

    return progress
